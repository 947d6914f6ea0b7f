"""Many engines, one PostgreSQL: replay N clients' boots into a shared store and time it.

    python3 bench/fleet_store.py [--clients 10000] [--engines 4] [--keep]

Root (a throwaway cluster run as user postgres: :mod:`pxetui.lab.postgres`). Each engine is a
process with its own :class:`~pxetui.engine.store.postgres.PostgresStore`, as ``pxetui serve``
would use it, replaying its share of the clients: one BIOS iPXE boot each through a real
:class:`~pxetui.core.tracker.ClientTracker` — DHCP DISCOVER/OFFER/REQUEST/ACK, then
undionly.kpxe and boot.ipxe over TFTP, the per-MAC script, kernel and initrd over HTTP
(14 history rows, exactly what the engine's history keeps of such a boot) — written the way the
engine writes: history in batches of ``HISTORY_BATCH`` rows, client rows (the tracker's JSON,
~2-6 KB) upserted once per second-long round, 3 times per boot. Prints boots/s, rows/s, the
database's size per client and the NOTIFY round trip (assign on one engine → seen by another).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxetui.core.boot_stage import StageMap
from pxetui.core.events import DhcpEvent, Event, TransferFinished, TransferStarted
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker
from pxetui.engine.batching import HISTORY_BATCH
from pxetui.engine.store.pg_link import CHANNEL
from pxetui.engine.store.postgres import PostgresStore
from pxetui.lab.postgres import PgCluster

ROUND = 200  # clients booting together in one "second" of the replay
FILES = (
    ("tftp", "undionly.kpxe", 70_000),
    ("tftp", "boot.ipxe", 800),
    ("http", "ipxe/{hyp}.ipxe", 540),
    ("http", "lab/vmlinuz-amd64", 8_247_232),
    ("http", "lab/initrd-amd64.gz", 1_400_000),
)


def boot_events(index: int, engine: int, t0: float) -> tuple[MacAddress, list[Event]]:
    """One client's BIOS iPXE boot as the engine sees it (DHCP, then five transfers)."""
    mac = MacAddress.parse(
        f"52:54:{engine:02x}:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:{index & 255:02x}"
    )
    ip = f"10.{engine}.{index >> 8 & 255}.{index & 255}"
    vendor = "PXEClient:Arch:00000:UNDI:002001"
    events: list[Event] = []
    for n, msg in enumerate(("DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK")):
        events.append(
            DhcpEvent(ts=t0 + n * 0.01, xid=index, msg_type=msg, interface="br0", mac=mac,
                      ip=None if msg == "DHCPDISCOVER" else ip, vendor_class=vendor, arch=0,
                      firmware="iPXE", user_class="iPXE")
        )  # fmt: skip
    for n, (proto, name, size) in enumerate(FILES):
        common: dict[str, Any] = {
            "transfer_id": f"{proto}-{engine}-{index}-{n}",
            "proto": proto,
            "client_ip": ip,
            "filename": name.format(hyp=mac.hexhyp),
        }
        ts = t0 + 0.1 + n
        events.append(TransferStarted(ts=ts, size=size, **common))
        events.append(TransferFinished(ts=ts + 0.5, bytes_sent=size, seconds=0.5, **common))
    return mac, events


def run_engine(url: str, engine: int, clients: int, out: Any) -> None:
    """One engine's share: history batched like HistoryBatcher, client rows 3x per boot."""
    store = PostgresStore(url, f"rack-{engine}")
    store.open()
    tracker = ClientTracker(StageMap.from_profile(Profile()))
    rows: list[tuple[MacAddress, Event]] = []
    started = time.perf_counter()
    history_rows = client_upserts = 0
    batch_s: list[float] = []
    upsert_s = 0.0
    for first in range(0, clients, ROUND):
        t0 = time.time()
        booting = [boot_events(i, engine, t0) for i in range(first, min(clients, first + ROUND))]
        for stage in (slice(0, 4), slice(4, 10), slice(10, None)):  # three client-row rounds
            dirty: dict[MacAddress, dict[str, Any]] = {}
            for mac, events in booting:
                for event in events[stage]:
                    tracker.apply(event)
                    rows.append((mac, event))
                    if len(rows) >= HISTORY_BATCH:
                        t = time.perf_counter()
                        store.record_many(rows)
                        batch_s.append(time.perf_counter() - t)
                        history_rows += len(rows)
                        rows = []
                state = tracker.get(mac)
                if state is not None:
                    dirty[mac] = state.to_dict(full=True)
            t = time.perf_counter()
            store.put_clients(dirty)
            upsert_s += time.perf_counter() - t
            client_upserts += len(dirty)
    if rows:
        store.record_many(rows)
        history_rows += len(rows)
    out.put(
        {
            "engine": engine,
            "seconds": time.perf_counter() - started,
            "history_rows": history_rows,
            "client_upserts": client_upserts,
            "db_s": sum(batch_s) + upsert_s,
            "batch_ms_median": 1000 * statistics.median(batch_s) if batch_s else 0.0,
            "batch_ms_p95": 1000 * sorted(batch_s)[int(len(batch_s) * 0.95)] if batch_s else 0.0,
        }
    )
    store.close()


async def notify_round_trip(url: str, tries: int = 20) -> list[float]:
    """ms from one engine's assign commit to another engine's LISTEN seeing it."""
    import psycopg

    writer = PostgresStore(url, "rack-w")
    writer.open()
    times: list[float] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        for n in range(tries):
            mac = MacAddress.parse(f"52:54:ff:00:00:{n:02x}")
            start = time.perf_counter()
            writer.assign(mac, "tiny")
            async for note in conn.notifies(timeout=5, stop_after=1):
                assert note.payload == f"a:{mac.hex12}"
            times.append(1000 * (time.perf_counter() - start))
    writer.close()
    return times


def replay(url: str, clients: int, engines: int) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    share = [clients // engines + (1 if e < clients % engines else 0) for e in range(engines)]
    start = time.perf_counter()
    procs = [ctx.Process(target=run_engine, args=(url, e, share[e], out)) for e in range(engines)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=1800) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    wall = time.perf_counter() - start
    return {"clients": clients, "engines": engines, "wall_s": wall, "per_engine": results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--engines", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    cluster = PgCluster()
    try:
        cluster.start()
        result = replay(cluster.url, args.clients, args.engines)
        rtt = asyncio.run(notify_round_trip(cluster.url))
        size = int(cluster.sql("SELECT pg_database_size('postgres')"))
        history = int(cluster.sql("SELECT COUNT(*) FROM history"))
        clients = int(cluster.sql("SELECT COUNT(*) FROM clients"))
        row_bytes = float(cluster.sql("SELECT AVG(pg_column_size(data)) FROM clients") or 0)
    finally:
        cluster.remove()
    rows = sum(r["history_rows"] for r in result["per_engine"])
    upserts = sum(r["client_upserts"] for r in result["per_engine"])
    wall = result["wall_s"]
    print(f"{args.clients} boots by {args.engines} engines into one PostgreSQL: {wall:.1f} s wall")
    per_boot = upserts / args.clients
    print(f"  {args.clients / wall:.0f} boots/s, {rows / wall:.0f} history rows/s "
          f"({rows} rows, {rows / args.clients:.0f} per boot), "
          f"{upserts / wall:.0f} client-row upserts/s ({per_boot:.0f} per boot)")  # fmt: skip
    db_s = sum(r["db_s"] for r in result["per_engine"])
    print(f"  time inside the store's calls: {db_s:.1f} s in all, {1000 * db_s / args.clients:.2f} "
          f"ms per boot (the rest is the replay's own tracker work)")  # fmt: skip
    for r in result["per_engine"]:
        print(f"  rack-{r['engine']}: {r['seconds']:.1f} s, batch of {HISTORY_BATCH} rows "
              f"median {r['batch_ms_median']:.1f} ms, p95 {r['batch_ms_p95']:.1f} ms")  # fmt: skip
    print(f"  database {size / 2**20:.0f} MiB for {history} history rows and {clients} client "
          f"rows ({size / max(1, clients) / 1024:.1f} KiB per client; a client row "
          f"{row_bytes / 1024:.1f} KiB stored)")  # fmt: skip
    print(f"  NOTIFY round trip (assign commit -> another engine's LISTEN): median "
          f"{statistics.median(rtt):.2f} ms, max {max(rtt):.2f} ms over {len(rtt)}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({**result, "notify_ms": rtt, "db_bytes": size}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
