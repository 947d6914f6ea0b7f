"""Two engines, two segments, one PostgreSQL: a VM on B's segment boots what A assigned.

Each engine is a real ``pxetui serve`` in its own throwaway namespace (its own bridge, its own
dnsmasq in full mode: two isolated segments); both share a throwaway PostgreSQL over its unix
socket. The MAC is assigned through A's CLI only; B writes the files within a second, a BIOS
iPXE ROM on B's segment boots them, and A's status shows the client, tagged ``rack-b``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pxetui.core.mac import MacAddress
from pxetui.lab.boot_run import boot_vm, find_client
from pxetui.lab.netns import LabNetwork, create_lab_network, remove_stale
from pxetui.lab.postgres import PgCluster, pg_bin
from pxetui.lab.pxetui_server import PxetuiServer
from pxetui.lab.scenarios import X86_ARGS, Scenario
from pxetui.lab.tree import prepare_lab_dir

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(pg_bin("initdb") is None, reason="postgresql not installed"),
]

PREFIX = "pxfl-"
MAC = MacAddress.parse("52:54:00:e2:f1:0b")
SCENARIO = Scenario(
    "fleet-b",
    "BIOS iPXE ROM on engine B's segment boots what was assigned through engine A",
    "bios",
    MAC,
    "tiny",
    dhcp="full",
    expect_args=("pxetui.entry=tiny", X86_ARGS),
)


@pytest.fixture
def segments() -> Iterator[tuple[LabNetwork, LabNetwork, PgCluster]]:
    remove_stale(PREFIX)
    nets: list[LabNetwork] = []
    cluster = PgCluster()
    try:
        cluster.start()
        nets = [create_lab_network(PREFIX, router=False) for _ in range(2)]
        yield nets[0], nets[1], cluster
    finally:
        for net in nets:
            net.teardown()
        cluster.remove()


def _engine(net: LabNetwork, workdir: Path, name: str, url: str) -> PxetuiServer:
    overrides = {**SCENARIO.profile_overrides(), "name": name, "store": url}
    server = PxetuiServer(net, prepare_lab_dir(workdir, ("amd64",), overrides), workdir)
    server.start()
    return server


async def _until_listening(server: PxetuiServer, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(
            e.get("kind") == "service"
            and e.get("service") == "store"
            and e.get("state") == "running"
            for e in server.events()
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"store not running in {timeout} s:\n{server.output()}")


async def test_assigned_through_a_booted_on_b_and_shown_by_a(
    segments: tuple[LabNetwork, LabNetwork, PgCluster],
    amd64_files: dict[str, Path],
    tmp_path: Path,
) -> None:
    net_a, net_b, cluster = segments
    a = _engine(net_a, tmp_path / "a", "rack-a", cluster.url)
    try:
        b = _engine(net_b, tmp_path / "b", "rack-b", cluster.url)
        try:
            for server in (a, b):  # both listening to the store
                await _until_listening(server)
            a.assign(MAC, "tiny")  # only A is told
            script = tmp_path / "b" / "tftp" / "ipxe" / f"{MAC.hexhyp}.ipxe"
            deadline = time.monotonic() + 1.0
            while not script.exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert script.exists(), "B did not write the MAC's script within 1 s"
            result = await boot_vm(SCENARIO, net_b, tmp_path / "b")
            assert result.outcome == "expected", (
                f"{result.outcome} {result.matched}\n--- serial\n{result.tail()}"
                f"\n--- engine b\n{b.output()}"
            )
            deadline = time.monotonic() + 10.0
            row = None
            while row is None and time.monotonic() < deadline:
                row = find_client(a.status(), MAC)
                await asyncio.sleep(0.2)
            assert row is not None, "A's status does not show the client B booted"
            assert row["engine"] == "rack-b" and row["ip"].startswith("10.250.77."), row
            assert find_client(b.status(), MAC) is not None
        finally:
            b.stop()
    finally:
        a.stop()
