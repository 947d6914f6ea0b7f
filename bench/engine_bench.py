"""Engine internals under load: tracker folding, history writes, control API latency/fan-out.

    python3 bench/engine_bench.py [--clients 500]

No network beyond a unix socket in a temporary directory; no root needed. Prints one line
per measurement. These are the engine's own costs per event, which bound how many booting
clients one engine process can follow while also serving files.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxetui.core.boot_stage import StageMap
from pxetui.core.events import (
    DhcpEvent,
    EngineMessage,
    Event,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker
from pxetui.engine.bus import EventBus
from pxetui.engine.control.client import ControlClient
from pxetui.engine.control.server import ControlServer
from pxetui.engine.persist import EngineDatabase

PROFILE = Profile.model_validate(
    {"entries": {"c": {"kind": "linux", "kernel": "k/vmlinuz", "initrds": ["k/initrd.img"]}}}
)
FILES = ("undionly.kpxe", "boot.ipxe", "ipxe/{hyp}.ipxe", "k/vmlinuz", "k/initrd.img")


def boot_stream(clients: int) -> list[Event]:
    """One full iPXE boot per client: DHCP, five files with ten progress events each."""
    events: list[Event] = []
    ids = itertools.count()
    for n in range(clients):
        mac = MacAddress(f"5254{n:08x}")
        ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        events.append(DhcpEvent(msg_type="DHCPDISCOVER", mac=mac, arch=0))
        events.append(DhcpEvent(msg_type="DHCPACK", mac=mac, ip=ip, arch=0))
        for name in FILES:
            tid = f"t{next(ids)}"
            f = name.format(hyp=mac.hexhyp)
            common = {"transfer_id": tid, "proto": "tftp", "client_ip": ip, "filename": f}
            events.append(TransferStarted(size=100_000, **common))
            events += [
                TransferProgress(bytes_sent=i * 10_000, size=100_000, **common) for i in range(10)
            ]
            events.append(TransferFinished(bytes_sent=100_000, seconds=0.1, **common))
    return events


def bench_tracker(clients: int) -> None:
    events = boot_stream(clients)
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    for n in range(clients):
        tracker.set_assignment(MacAddress(f"5254{n:08x}"), "c", once=True)
    start = time.perf_counter()
    for event in events:
        tracker.apply(event)
    took = time.perf_counter() - start
    handed = sum(c.phase == "handed_over" for c in tracker.clients())
    print(
        f"tracker: {len(events)} events for {clients} boots in {took:.3f} s = "
        f"{len(events) / took:,.0f} events/s ({handed} handed over)"
    )
    start = time.perf_counter()
    rows = [c.to_dict() for c in tracker.clients()]
    print(f"tracker: {len(rows)} ClientState dicts in {(time.perf_counter() - start) * 1e3:.1f} ms")


def bench_history(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = EngineDatabase(Path(tmp) / "bench.db", history_per_mac=500)
        db.open()
        mac = MacAddress("525400000001")
        start = time.perf_counter()
        for i in range(count):
            db.record(mac, DhcpEvent(ts=float(i), msg_type="DHCPACK", mac=mac))
        took = time.perf_counter() - start
        batch = [(mac, DhcpEvent(ts=float(i), msg_type="DHCPACK", mac=mac)) for i in range(200)]
        start = time.perf_counter()
        for _ in range(count // 200):
            db.record_many(batch)
        batched = time.perf_counter() - start
        db.close()
    print(
        f"history: {count} single records (WAL, synchronous=FULL, ring 500/MAC) in {took:.2f} s"
        f" = {count / took:,.0f}/s, {took / count * 1e3:.2f} ms each"
    )
    print(
        f"history: {count} records in batches of 200 (the engine's way) in {batched:.2f} s = "
        f"{count / batched:,.0f}/s"
    )


class Handler:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def snapshot(self) -> dict[str, Any]:
        return {"clients": self.rows}

    async def dispatch(self, op: str, args: dict[str, Any]) -> Any:
        return None


async def bench_control(clients: int) -> None:
    tracker = ClientTracker(StageMap.from_profile(PROFILE))
    for event in boot_stream(clients):
        tracker.apply(event)
    rows = [c.to_dict() for c in tracker.clients()]
    with tempfile.TemporaryDirectory() as tmp:
        bus = EventBus()
        server = ControlServer(Path(tmp) / "c.sock", Handler(rows), bus)
        await server.start()
        try:
            async with ControlClient(server.path) as client:
                lat = []
                for _ in range(100):
                    t = time.perf_counter()
                    await client.request("state")
                    lat.append(time.perf_counter() - t)
            print(
                f"control: state with {clients} clients: median {statistics.median(lat) * 1e3:.1f}"
                f" ms, p95 {sorted(lat)[94] * 1e3:.1f} ms"
            )
            sub = ControlClient(server.path)
            _, stream = await sub.subscribe()
            total = 20_000
            start = time.perf_counter()

            got = 0

            async def produce() -> None:
                # Bursts of 500, never more than 1500 ahead of the reader (its queue holds
                # 2000): this measures the sustained rate, not the overflow guard.
                for i in range(total):
                    bus.publish(EngineMessage(text=f"m{i}"))
                    if i % 500 == 0:
                        while i - got > 1000:
                            await asyncio.sleep(0)

            producer = asyncio.create_task(produce())
            async for _event in stream:
                got += 1
                if got == total:
                    break
            await producer
            took = time.perf_counter() - start
            print(
                f"control: {total} events to one subscriber in {took:.2f} s = {total / took:,.0f}/s"
            )
            await sub.close()
        finally:
            await server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    args = parser.parse_args()
    bench_tracker(args.clients)
    bench_history(2000)
    asyncio.run(bench_control(args.clients))
    return 0


if __name__ == "__main__":
    sys.exit(main())
