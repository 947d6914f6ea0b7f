"""Two engines sharing one real PostgreSQL (store: postgresql://…).

Each engine is a real ``pxetui serve --profile`` process on loopback (its own TFTP/HTTP
ports and TFTP root: its own segment), both from one shared profile file (``engines:``
sections, README "One profile for the fleet"); the cluster is a throwaway one on a unix socket
(:mod:`pxetui.lab.postgres`). Checked: an assignment through A is written by B within a second and
B serves it; a client seen by B shows in A's status; PostgreSQL stopped → both keep serving
and say so, then catch up; one engine killed → the other unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from serve_process import ServeProcess

from pxetui.core.mac import MacAddress
from pxetui.engine.control.client import ControlClient
from pxetui.engine.fleet import STALE_AFTER_S
from pxetui.lab.postgres import PgCluster, pg_bin

pytestmark = [
    pytest.mark.netns,
    pytest.mark.timeout(120),  # each test; the killed-engine one waits ~16 s for "lost"
    pytest.mark.skipif(pg_bin("initdb") is None, reason="postgresql not installed"),
]

MAC = MacAddress.parse("52:54:00:f1:ee:01")
SEEN = MacAddress.parse("52:54:00:f1:ee:02")
ENTRIES = """\
entries:
  tiny:
    kind: chain
    url: http://192.0.2.9/tiny.ipxe
  other:
    kind: chain
    url: http://192.0.2.9/other.ipxe
"""


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    pg = PgCluster()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


SECTION = """\
  {name}:
    network: {{server: 127.0.0.1, dhcp: {{mode: "off"}}}}
    tftp: {{root: {name}/tftp, port: {tftp}, bind: 127.0.0.1}}
    http: {{port: {http}, bind: 127.0.0.1}}
    state_dir: {name}/state
"""


@pytest.fixture
async def engines(
    tmp_path: Path, cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServeProcess, ServeProcess]]:
    """Engines rack-a and rack-b from ONE shared profile file (``engines:`` sections), each
    a real ``pxetui serve --profile lab.yaml`` picked by ``PXETUI_ENGINE``."""
    servers = {}
    for name in ("rack-a", "rack-b"):
        (tmp_path / name).mkdir()
        servers[name] = ServeProcess(tmp_path / name, name)  # free ports, its tftp root
    shared = tmp_path / "lab.yaml"
    shared.write_text(
        f"name: lab\nstore: {cluster.url}\n{ENTRIES}engines:\n"
        + "".join(
            SECTION.format(name=name, tftp=server.tftp_port, http=server.http_port)
            for name, server in servers.items()
        )
    )
    async with contextlib.AsyncExitStack() as stack:
        for name, server in servers.items():
            server.profile = shared
            monkeypatch.setenv("PXETUI_ENGINE", name)  # what the spawned serve inherits
            await stack.enter_async_context(server)
        for server in servers.values():
            await server.until(_store_is("running"), 30)
            await server.until(lambda e: "serving profile" in str(e.get("text")), 30)
        yield servers["rack-a"], servers["rack-b"]


def _store_is(state: str) -> Any:
    return lambda e: (
        e.get("kind") == "service" and e.get("service") == "store" and (e.get("state") == state)
    )


def _socket(server: ServeProcess) -> Path:
    return server.workdir / "state" / "control.sock"


async def _request(server: ServeProcess, op: str, **args: Any) -> Any:
    async with ControlClient(_socket(server)) as control:
        return await asyncio.wait_for(control.request(op, **args), 10)


async def _http_get(server: ServeProcess, path: str) -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{server.http_port}/{path}"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(url) as response,
    ):
        return response.status, await response.read()


async def _eventually(check: Any, timeout: float, what: str) -> Any:
    """Poll *check* (async, returns a truthy value when done) until *timeout*; raise if not."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r:.300})")


def _script(server: ServeProcess, mac: MacAddress) -> Path:
    return server.root / "ipxe" / f"{mac.hexhyp}.ipxe"


async def test_assign_through_a_is_written_and_served_by_b_within_a_second(
    engines: tuple[ServeProcess, ServeProcess],
) -> None:
    """LISTEN/NOTIFY: B's TFTP root gets the MAC's script from A's assign, under 1 s."""
    a, b = engines
    assert not _script(b, MAC).exists()
    started = time.monotonic()
    await _request(a, "assign", mac=MAC.colon, entry="tiny")

    async def written() -> bool:
        path = _script(b, MAC)
        return path.exists() and "tiny.ipxe" in path.read_text()

    await _eventually(written, 1.0, "B wrote the MAC's iPXE script")
    took = time.monotonic() - started
    status, body = await _http_get(b, f"ipxe/{MAC.hexhyp}.ipxe")
    assert status == 200 and b"tiny.ipxe" in body, (took, status, body[:200])
    state = await _request(b, "state")
    assert state["assignments"][MAC.colon]["entry"] == "tiny"


async def test_a_client_seen_on_b_shows_in_a_status_with_its_engine(
    engines: tuple[ServeProcess, ServeProcess],
) -> None:
    """B's client row reaches A through the store, tagged ``engine: rack-b``."""
    a, b = engines
    await _request(a, "assign", mac=SEEN.colon, entry="other")
    await _eventually(lambda: asyncio.sleep(0, _script(b, SEEN).exists()), 2, "B has the file")
    status, _ = await _http_get(b, f"ipxe/{SEEN.hexhyp}.ipxe")  # the machine asks B
    assert status == 200

    async def in_a() -> dict[str, Any] | None:
        state = await _request(a, "state")
        for client in state["clients"]:
            if MacAddress.parse(client["mac"]) == SEEN:
                return dict(client)
        return None

    row = await _eventually(in_a, 10, "A's status lists B's client")
    assert row["engine"] == "rack-b", row

    async def both_running() -> bool:
        state = await _request(a, "state")
        names = {e["name"]: e["state"] for e in state["fleet"]["engines"]}
        return names == {"rack-a": "running", "rack-b": "running"}

    await _eventually(both_running, 5, "A's status lists both engines running")


OUTAGE_S = 30.0


async def test_postgresql_stopped_both_keep_serving_and_say_so_then_catch_up(
    engines: tuple[ServeProcess, ServeProcess], cluster: PgCluster
) -> None:
    """Store lost → service 'failed' + warning on both, files still served, assign refused;
    back → 'running' with what caught up, the outage's history lands, assigns flow again."""
    a, b = engines
    await _request(a, "assign", mac=MAC.colon, entry="tiny")
    await _eventually(lambda: asyncio.sleep(0, _script(b, MAC).exists()), 2, "B has the file")
    cluster.stop()
    for server in (a, b):
        lost = await server.until(_store_is("failed"), 10)
        assert "serving the last known 1 assignment(s)" in lost["message"], lost
    outage = time.monotonic()
    status, body = await _http_get(b, f"ipxe/{MAC.hexhyp}.ipxe")  # B serves on, history waits
    assert status == 200 and b"tiny.ipxe" in body
    with pytest.raises(Exception, match="unreachable"):
        await _request(a, "assign", mac=MAC.colon, entry="other")
    state = await _request(a, "state")
    assert state["services"]["store"]["state"] == "failed"
    assert state["assignments"][MAC.colon]["entry"] == "tiny"  # the last known
    served = 1
    while time.monotonic() - outage < OUTAGE_S:  # down for the 30 s: B serves on
        await asyncio.sleep(min(5.0, max(0.0, OUTAGE_S - (time.monotonic() - outage))))
        status, body = await _http_get(b, f"ipxe/{MAC.hexhyp}.ipxe")
        assert status == 200 and b"tiny.ipxe" in body, (status, body)
        served += 1
    assert served >= 6, served  # every ~5 s through the outage
    cluster.start()
    for server in (a, b):
        back = await server.until(_caught_up, 20)
        assert "caught up" in back["message"], back
    query = f"SELECT COUNT(*) FROM history WHERE engine = 'rack-b' AND ts > {time.time() - 60}"
    rows = int(cluster.sql(query))
    assert rows >= 1, "B's history from the outage did not reach the store"
    await _request(a, "assign", mac=MAC.colon, entry="other")

    async def rewritten() -> bool:
        return "other.ipxe" in _script(b, MAC).read_text()

    await _eventually(rewritten, 1.0, "B follows A's assign after the outage")


def _caught_up(event: dict[str, Any]) -> bool:
    return _store_is("running")(event) and "caught up" in str(event.get("message"))


async def test_one_engine_killed_the_other_is_unaffected(
    engines: tuple[ServeProcess, ServeProcess],
) -> None:
    """SIGKILL A: B keeps serving and assigning; A shows as lost once its heartbeat ages."""
    a, b = engines
    assert a._proc is not None
    a._proc.send_signal(signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(a._proc.wait(), 10)
    await _request(b, "assign", mac=MAC.colon, entry="tiny")
    assert "tiny.ipxe" in _script(b, MAC).read_text()
    status, _ = await _http_get(b, f"ipxe/{MAC.hexhyp}.ipxe")
    assert status == 200
    state = await _request(b, "state")
    assert state["services"]["store"]["state"] == "running"

    async def a_lost() -> Any:  # its heartbeat ages past STALE_AFTER_S (15 s)
        state = await _request(b, "state")
        engines = {e["name"]: e["state"] for e in state["fleet"]["engines"]}
        store = state["services"]["store"]
        lost = engines == {"rack-a": "lost", "rack-b": "running"}
        return lost and store["message"] == "1/2 ok, lost: rack-a"  # B's Fleet badge

    await _eventually(a_lost, STALE_AFTER_S + 10, "B shows A lost, in its status and badge")


async def test_the_console_on_a_shows_b_clients_live_and_each_engines_state(
    engines: tuple[ServeProcess, ServeProcess],
) -> None:
    """The console attached to A: B's client arrives live (filterable by engine), and the
    service bar's Fleet badge reads each engine's state."""
    from pxetui.ui.app import PxeConsole
    from pxetui.ui.client_rows import matches
    from pxetui.ui.connection import EngineLink
    from pxetui.ui.widgets.client_table import ClientTable
    from pxetui.ui.widgets.service_bar import ServiceBadge, service_text
    from tests.helpers.wait import pilot_wait_for as wait_for

    a, b = engines
    app = PxeConsole(EngineLink(_socket(a)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.link.connected)
        await _request(a, "assign", mac=SEEN.colon, entry="other")
        await _eventually(lambda: asyncio.sleep(0, _script(b, SEEN).exists()), 2, "B's file")
        status, _ = await _http_get(b, f"ipxe/{SEEN.hexhyp}.ipxe")  # after A's console attached
        assert status == 200
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: SEEN in table.states, timeout=10)
        row = table.states[SEEN]
        assert row.engine == "rack-b" and matches(row, "rack-b") and not matches(row, "rack-a")
        badge = app.screen.query_one("#service-store", ServiceBadge)

        def fleet_text() -> str:
            return service_text(badge.label, badge.data).plain

        await wait_for(pilot, lambda: fleet_text() == "Fleet 2/2 engines ok", timeout=10)


def test_the_fleet_bench_replays_every_boot_into_postgresql(cluster: PgCluster) -> None:
    """bench/fleet_store.py at its smallest: every boot's 14 history rows and its client row
    land, tagged with the engine that wrote them (the README's figure comes from this)."""
    from bench.fleet_store import replay

    result = replay(cluster.url, clients=60, engines=2)
    assert [r["history_rows"] for r in result["per_engine"]] == [420, 420]
    by_engine = cluster.sql("SELECT engine, COUNT(*) FROM history GROUP BY engine ORDER BY 1")
    assert by_engine.splitlines() == ["rack-0|420", "rack-1|420"]
    assert cluster.sql("SELECT COUNT(*) FROM clients") == "60"


async def test_an_engine_restarted_while_postgresql_is_down_serves_its_local_copy(
    engines: tuple[ServeProcess, ServeProcess],
    cluster: PgCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B restarts during the outage: it starts from its local copy (files rewritten, store
    'failed' saying so), and catches up when PostgreSQL returns."""
    a, b = engines
    await _request(a, "assign", mac=MAC.colon, entry="tiny")
    await _eventually(lambda: asyncio.sleep(0, _script(b, MAC).exists()), 2, "B has the file")
    cluster.stop()
    await b.until(_store_is("failed"), 10)
    await b.__aexit__(None, None, None)
    _script(b, MAC).unlink()  # proves the restarted engine writes it from its copy
    again = ServeProcess(b.workdir, "rack-b")
    again.profile, again.tftp_port, again.http_port = b.profile, b.tftp_port, b.http_port
    monkeypatch.setenv("PXETUI_ENGINE", "rack-b")
    async with again:
        lost = await again.until(_store_is("failed"), 30)
        assert "from the local copy" in lost["message"], lost
        status, body = await _http_get(again, f"ipxe/{MAC.hexhyp}.ipxe")
        assert status == 200 and b"tiny.ipxe" in body
        cluster.start()
        await again.until(_caught_up, 20)
        await a.until(_caught_up, 20)  # A lost the store too
        await _request(a, "assign", mac=MAC.colon, entry="other")

        async def followed() -> bool:
            return "other.ipxe" in _script(again, MAC).read_text()

        await _eventually(followed, 1.0, "the restarted B follows A's assign")
