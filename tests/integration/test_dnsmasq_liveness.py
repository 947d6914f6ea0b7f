"""A SIGSTOPped dnsmasq is noticed from its process state, reported, and restarted after a bound.

A stand-in ``dnsmasq`` (passes ``--test``, says ``started``, then sleeps) inside a ``pxd-``
namespace, as in the lifecycle tests; the supervisor polls every 0.1 s and gives up on a
stopped child after 0.6 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnsmasq_lab import Lab, entered, lab

from pxetui.core.events import Event, ServiceEvent
from pxetui.engine.dnsmasq.supervisor import DnsmasqSupervisor
from tests.helpers.wait import wait_for_async

pytestmark = [pytest.mark.netns, pytest.mark.timeout(60)]


@pytest.fixture
def server_ns(tmp_path: Path) -> Iterator[Lab]:
    with lab(tmp_path, router=False) as the_lab, entered(the_lab.server):
        yield the_lab


def _stand_in(tmp: Path, deaf: bool = False) -> str:
    """A dnsmasq stand-in: passes ``--test``, says ``started``, then sleeps.

    *deaf*: its main loop is stuck — it runs (state S) but never answers SIGHUP. A real
    dnsmasq cannot be made to hang while its process state says running (SIGSTOP and ptrace
    both show as stopped), so that one case uses a stand-in; the answering side is tested
    with the real dnsmasq below.
    """
    script = tmp / ("dnsmasq-deaf" if deaf else "dnsmasq")
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = "--test" ] && { echo "dnsmasq: syntax check OK." >&2; exit 0; }\n'
        + ("trap '' HUP\n" if deaf else "")
        + 'echo "dnsmasq[$$]: started, version 2.90 DNS disabled" >&2\n'
        "exec sleep 30\n"
    )
    script.chmod(0o755)
    return str(script)


def _states(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.state, e.message) for e in events if isinstance(e, ServiceEvent)]


async def _until(events: list[Event], predicate: object, timeout: float) -> None:
    await wait_for_async(
        lambda: any(predicate(s, m) for s, m in _states(events)),  # type: ignore[operator]
        timeout,
        "the service state",
        detail=lambda: _states(events),
    )


def _supervisor(lab_: Lab, events: list[Event]) -> DnsmasqSupervisor:
    return DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=lab_.tmp / "state",
        interface="br0",
        lock_dir=lab_.tmp / "lock",
        dnsmasq=_stand_in(lab_.tmp),
        backoff=(0.1,),
        liveness_interval=0.1,
        hung_after=0.6,
    )


async def test_stopped_dnsmasq_is_reported_then_restarted(server_ns: Lab) -> None:
    """SIGSTOP: state failed at once (not "running"), then killed and running again."""
    events: list[Event] = []
    sup = _supervisor(server_ns, events)
    await sup.start()
    try:
        first = sup.pid
        assert first is not None
        os.kill(first, signal.SIGSTOP)
        await _until(events, lambda s, m: s == "failed" and "SIGSTOP" in m, 10)
        assert sup.state == "failed"
        await _until(events, lambda s, m: s == "restarting" and "was stopped" in m, 10)
        await _until(events, lambda s, m: s == "running" and "again" in m, 10)
        assert sup.pid not in (None, first)
        assert sup.restarts == 1
    finally:
        await sup.stop()


async def test_a_resumed_dnsmasq_is_not_restarted(server_ns: Lab) -> None:
    """SIGSTOP then SIGCONT within the bound: reported, resumed, same process."""
    events: list[Event] = []
    sup = _supervisor(server_ns, events)
    sup._hung_after = 5.0
    await sup.start()
    try:
        pid = sup.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        await _until(events, lambda s, m: s == "failed", 10)
        os.kill(pid, signal.SIGCONT)
        await _until(events, lambda s, m: s == "running" and "resumed" in m, 10)
        assert sup.pid == pid and sup.restarts == 0
    finally:
        await sup.stop()


async def test_stop_while_stopped_is_quick(server_ns: Lab) -> None:
    """stop() on a SIGSTOPped child does not wait out the SIGKILL bound."""
    events: list[Event] = []
    sup = _supervisor(server_ns, events)
    sup._hung_after = 30.0
    await sup.start()
    pid = sup.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    await sup.stop()
    assert sup.pid is None
    assert time.monotonic() - started < sup._stop_timeout


async def test_a_dnsmasq_that_runs_but_never_answers_is_reported_then_restarted(
    server_ns: Lab,
) -> None:
    """No answer to the heartbeat: failed (with the reason) after one miss, restarted after two."""
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=server_ns.tmp / "state",
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=_stand_in(server_ns.tmp, deaf=True),
        backoff=(0.1,),
        liveness_interval=0.1,
        heartbeat_interval=0.3,
        heartbeat_timeout=0.3,
    )
    await sup.start()
    try:
        first = sup.pid
        await _until(events, lambda s, m: s == "failed" and "does not answer" in m, 10)
        await _until(events, lambda s, m: s == "restarting" and "2 times: killed" in m, 10)
        await _until(events, lambda s, m: s == "running" and "again" in m, 10)
        assert sup.pid not in (None, first) and sup.restarts >= 1
    finally:
        await sup.stop()


async def test_a_real_dnsmasq_answers_its_heartbeat_quietly(server_ns: Lab) -> None:
    """The real dnsmasq answers every SIGHUP heartbeat; nothing is reported, no log noise."""
    from ipaddress import IPv4Address

    from pxetui.core.events import RawLogEvent
    from pxetui.core.profile.model import Profile
    from pxetui.engine.dnsmasq.config import dnsmasq_config

    state = server_ns.tmp / "state"
    profile = Profile.model_validate(
        {"network": {"interface": "br0", "dhcp": {"mode": "proxy", "subnet": "10.252.1.0/24"}}}
    )
    cfg = dnsmasq_config(
        profile, server=IPv4Address("10.252.1.1"), interface="br0", state_dir=state, tftp_port=69
    )
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        cfg.args,
        publish=events.append,
        state_dir=state,
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        liveness_interval=0.1,
        heartbeat_interval=0.3,
        heartbeat_timeout=2.0,
    )
    await sup.start()
    try:
        pid = sup.pid
        await asyncio.sleep(3.0)  # ~8 heartbeats
        assert sup.pid == pid and sup.state == "running", _states(events)
        assert not [s for s, _ in _states(events) if s not in ("starting", "running")], _states(
            events
        )
        noise = [e for e in events if isinstance(e, RawLogEvent) and "heartbeat" in e.line]
        assert noise == []
    finally:
        await sup.stop()
