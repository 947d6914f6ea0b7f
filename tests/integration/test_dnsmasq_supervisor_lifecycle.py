"""Supervisor lifecycle: back-off growth and reset, exit-code words, dying with the engine.

The back-off tests run a stand-in ``dnsmasq`` (a shell script that passes ``--test``, says
``started`` like dnsmasq, then exits with a chosen code) so the crash pattern is exact; the
parent-death test runs the real dnsmasq. All inside a ``pxd-`` namespace.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import psutil
import pytest
from dnsmasq_lab import SERVER_IP, Lab, entered, lab

from pxetui.core.events import Event, ServiceEvent
from pxetui.core.profile.model import Profile
from pxetui.engine.dnsmasq.config import dnsmasq_args
from pxetui.engine.dnsmasq.exits import explain_exit
from pxetui.engine.dnsmasq.supervisor import DnsmasqSupervisor

pytestmark = pytest.mark.netns


@pytest.fixture
def server_ns(tmp_path: Path) -> Iterator[Lab]:
    with lab(tmp_path, router=False) as the_lab, entered(the_lab.server):
        yield the_lab


def stand_in(tmp: Path, *, code: int, runs_for: float, helper: bool = False) -> str:
    """A fake dnsmasq binary: ``--test`` passes; otherwise it starts, lingers, then fails.

    With *helper*, it leaves a background process holding its stderr open (as a
    ``--dhcp-script`` helper would), so EOF never comes when it dies.
    """
    script = tmp / "dnsmasq"
    background = "sleep 20 &" if helper else ""
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            [ "$1" = "--test" ] && {{ echo "dnsmasq: syntax check OK." >&2; exit 0; }}
            echo "dnsmasq[$$]: started, version 2.90 DNS disabled" >&2
            {background}
            sleep {runs_for}
            echo "dnsmasq: failed to bind DHCP server socket: Address already in use" >&2
            exit {code}
            """
        )
    )
    script.chmod(0o755)
    return str(script)


def service_events(events: list[Event]) -> list[ServiceEvent]:
    return [e for e in events if isinstance(e, ServiceEvent)]


async def run_until(events: list[Event], count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(service_events(events)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def test_back_off_grows_while_dnsmasq_keeps_dying(server_ns: Lab) -> None:
    """0.5 s, 1 s, 2 s …: each death is reported with the exit code's meaning and last line."""
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=server_ns.tmp / "state",
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=stand_in(server_ns.tmp, code=2, runs_for=0.05),
        backoff=(0.1, 0.2, 0.4),
    )
    await sup.start()
    try:
        await run_until(events, 2 + 2 * 4, timeout=15)
    finally:
        await sup.stop()
    restarting = [e for e in service_events(events) if e.state == "restarting"]
    assert [e.message.rsplit("restarting in ", 1)[1] for e in restarting[:4]] == [
        "0.1 s",
        "0.2 s",
        "0.4 s",
        "0.4 s",
    ]
    assert [e.restarts for e in restarting[:4]] == [1, 2, 3, 4]
    first = restarting[0].message
    assert "exited with code 2: network access problem" in first
    assert "failed to bind DHCP server socket: Address already in use" in first
    assert service_events(events)[-1].state == "stopped"


async def test_back_off_resets_after_a_stable_run(server_ns: Lab) -> None:
    """A child that ran longer than the stable period restarts after the shortest delay again."""
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=server_ns.tmp / "state",
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=stand_in(server_ns.tmp, code=5, runs_for=0.4),
        backoff=(0.1, 3.0),
        stable_after=0.3,
    )
    await sup.start()
    try:
        await run_until(events, 2 + 2 * 3, timeout=15)
    finally:
        await sup.stop()
    restarting = [e for e in service_events(events) if e.state == "restarting"]
    assert len(restarting) >= 3
    assert all(e.message.endswith("restarting in 0.1 s") for e in restarting[:3])
    assert "code 5: other problem" in restarting[0].message


async def test_stop_during_a_long_back_off_does_not_wait_it_out(server_ns: Lab) -> None:
    """stop() wakes the supervisor out of a 30 s back-off at once."""
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=server_ns.tmp / "state",
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=stand_in(server_ns.tmp, code=2, runs_for=0.05),
        backoff=(30.0,),
        stop_timeout=20.0,
    )
    await sup.start()
    await run_until(events, 3, timeout=10)
    assert service_events(events)[-1].message.endswith("restarting in 30 s")
    await asyncio.wait_for(sup.stop(), timeout=10)  # far below the 30 s back-off
    assert [e.state for e in service_events(events)] == [
        "starting",
        "running",
        "restarting",
        "stopped",
    ]


async def test_configuration_problem_exit_is_final(server_ns: Lab) -> None:
    """Exit code 1 (configuration) after a good start is reported as failed, not retried."""
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=server_ns.tmp / "state",
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=stand_in(server_ns.tmp, code=1, runs_for=0.05),
        backoff=(0.1,),
    )
    await sup.start()
    try:
        await run_until(events, 3, timeout=10)
        await asyncio.sleep(0.3)
    finally:
        await sup.stop()
    assert [e.state for e in service_events(events)] == ["starting", "running", "failed", "stopped"]
    assert "code 1: configuration problem" in service_events(events)[2].message


async def test_death_is_noticed_even_if_a_helper_keeps_the_log_pipe_open(server_ns: Lab) -> None:
    """The exit status, not EOF on stderr, tells the supervisor that dnsmasq died."""
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=server_ns.tmp / "state",
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=stand_in(server_ns.tmp, code=2, runs_for=0.05, helper=True),
        backoff=(0.1,),
    )
    await sup.start()
    try:
        await run_until(events, 4, timeout=10)
    finally:
        await sup.stop()
    assert [e.state for e in service_events(events)][:4] == [
        "starting",
        "running",
        "restarting",
        "running",
    ]


async def test_restart_that_hangs_before_started_is_stopped_and_retried(server_ns: Lab) -> None:
    """Run 1 dies, run 2 never says "started" (stopped after the start timeout), run 3 runs."""
    counter = server_ns.tmp / "runs"
    script = server_ns.tmp / "dnsmasq-hangs-once"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            [ "$1" = "--test" ] && exit 0
            echo x >> {counter}
            runs=$(wc -l < {counter})
            [ "$runs" -eq 2 ] && exec sleep 30
            echo "dnsmasq[$$]: started, version 2.90 DNS disabled" >&2
            [ "$runs" -eq 1 ] && {{ sleep 0.05; exit 2; }}
            exec sleep 30
            """
        )
    )
    script.chmod(0o755)
    events: list[Event] = []
    sup = DnsmasqSupervisor(
        [],
        publish=events.append,
        state_dir=server_ns.tmp / "state",
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=str(script),
        backoff=(0.1,),
        start_timeout=0.5,
    )
    await sup.start()
    try:
        await run_until(events, 5, timeout=15)
    finally:
        await sup.stop()
    seen = service_events(events)
    assert [e.state for e in seen][:5] == [
        "starting",
        "running",
        "restarting",
        "restarting",
        "running",
    ]
    assert "killed by SIGTERM" in seen[3].message
    assert "no 'started' line within 0.5 s" in seen[3].message


async def test_failed_supervisor_recovers_with_a_fixed_configuration(server_ns: Lab) -> None:
    """After "failed" (exit 1), reconfigure() with good arguments starts dnsmasq afresh."""
    wrapper = server_ns.tmp / "dnsmasq-or-fail"
    wrapper.write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            case " $* " in *" --fail "*) ;; *) exec dnsmasq "$@" ;; esac
            [ "$1" = "--test" ] && exit 0
            echo "dnsmasq[$$]: started, version 2.90 DNS disabled" >&2
            sleep 0.05
            echo "dnsmasq: bad option (pretend)" >&2
            exit 1
            """
        )
    )
    wrapper.chmod(0o755)
    events: list[Event] = []
    state = server_ns.tmp / "state"
    sup = DnsmasqSupervisor(
        ["--fail"],
        publish=events.append,
        state_dir=state,
        interface="br0",
        lock_dir=server_ns.tmp / "lock",
        dnsmasq=str(wrapper),
    )
    await sup.start()
    try:
        await run_until(events, 3, timeout=10)
        assert [e.state for e in service_events(events)] == ["starting", "running", "failed"]
        profile = Profile.model_validate({"network": {"dhcp": {"subnet": "10.252.1.0/24"}}})
        good = dnsmasq_args(
            profile, server=IPv4Address(SERVER_IP), interface="br0", state_dir=state, tftp_port=69
        )
        await sup.reconfigure(good)
        assert [e.state for e in service_events(events)][3:] == ["starting", "running"]
        assert sup.pid is not None and psutil.Process(sup.pid).name() == "dnsmasq"
    finally:
        await sup.stop()


def test_exit_explanations_name_signals_and_codes() -> None:
    """Words for every dnsmasq exit: signals, codes 1-5, lease-script codes, last lines."""
    assert explain_exit(-9) == "dnsmasq was killed by SIGKILL"
    assert explain_exit(3, ["x", "cannot open lease file"]).endswith(
        "filesystem problem (missing file or directory, or permissions); last lines: x | "
        "cannot open lease file"
    )
    assert "memory" in explain_exit(4) and "lease script" in explain_exit(12)


ENGINE = """
import asyncio, sys
from pathlib import Path
from pxetui.engine.dnsmasq.supervisor import DnsmasqSupervisor
async def main():
    sup = DnsmasqSupervisor(sys.argv[3:], publish=lambda e: None, state_dir=Path(sys.argv[1]),
                            interface="br0", lock_dir=Path(sys.argv[2]))
    await sup.start()
    print(sup.pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


async def test_dnsmasq_that_keeps_its_user_dies_with_a_sigkilled_engine(server_ns: Lab) -> None:
    """PR_SET_PDEATHSIG takes the child down with a SIGKILLed engine (if it keeps its uid).

    The kernel forgets the parent-death signal when a process changes credentials, which
    dnsmasq does by default (to user nobody); that case is covered by the pid-file orphan
    check (test_orphaned_dnsmasq_from_a_killed_engine_is_stopped).
    """
    state = server_ns.tmp / "state"
    profile = Profile.model_validate({"network": {"dhcp": {"subnet": "10.252.1.0/24"}}})
    args = dnsmasq_args(
        profile, server=IPv4Address(SERVER_IP), interface="br0", state_dir=state, tftp_port=69
    )
    args += ["--user=root", "--group=root"]
    engine = subprocess.Popen(
        [sys.executable, "-c", ENGINE, str(state), str(server_ns.tmp / "lock"), *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    server_ns.extra.append(engine)
    assert engine.stdout is not None
    child = int(engine.stdout.readline())
    assert psutil.Process(child).name() == "dnsmasq"
    engine.kill()
    engine.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not alive(child)


def alive(pid: int) -> bool:
    """Running and not a zombie waiting for whichever init reaps orphans here."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
