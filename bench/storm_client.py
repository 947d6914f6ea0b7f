"""N simulated PXE clients, run inside the boot storm's client namespace (bench/boot_storm.py).

Each client is what a booting machine does on the wire, minus the firmware: DHCP
DISCOVER → OFFER → REQUEST → ACK (as a PXE client: vendor class ``PXEClient``, arch 7,
its own MAC in ``chaddr``, broadcast replies), then — from the leased address, added to the
interface — the loader, its per-MAC config, a kernel and an initrd, fetched in that order by
one ``curl`` (TFTP with blksize 1468, or HTTP, as the setup's loader would use). All N
clients start at once. Prints one JSON line: per client the lease time, the finish time,
whether every file arrived whole and how long each file took (curl's ``time_total``). The
DHCP exchanges run on a thread of their own, so starting one client's download never delays
another's DHCP replies.

Bounded: DHCP retries 4 times per step (2, 4, 8, 16 s), everything ends at ``--deadline``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

_MAGIC = b"\x63\x82\x53\x63"
_RETRIES = (2.0, 4.0, 8.0, 16.0)  # PXE ROMs wait 4, 8, 16, 32 s; a little less here


@dataclass
class Client:
    mac: bytes
    xid: int
    state: str = "discover"  # discover → request → leased → fetching → done / failed
    sent_at: float = 0.0
    tries: int = 0
    offer: bytes = b""
    server_id: bytes = b""
    ip: str = ""
    leased_s: float = 0.0
    done_s: float = 0.0
    files_s: list[float] = field(default_factory=list)
    """curl's time for each file (``time_total``), in order: where the time went."""
    ok: bool = False
    detail: str = ""
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)


def _packet(c: Client, kind: int) -> bytes:
    head = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1, 1, 6, 0, c.xid, 0, 0x8000,  # BOOTREQUEST, ethernet, broadcast flag
        b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, c.mac.ljust(16, b"\0"), b"", b"",
    )  # fmt: skip
    opts = bytes([53, 1, kind])
    opts += bytes([60, 32]) + b"PXEClient:Arch:00007:UNDI:003016"
    opts += bytes([93, 2, 0, 7]) + bytes([94, 3, 1, 3, 16])
    opts += bytes([97, 17, 0]) + c.mac.ljust(16, b"\x5a")
    opts += bytes([55, 5, 1, 3, 43, 60, 66])
    if kind == 3:
        opts += bytes([50, 4]) + c.offer + bytes([54, 4]) + c.server_id
    return head + _MAGIC + opts + b"\xff"


def _options(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    i = 240
    while i < len(data):
        code = data[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            break
        n = data[i + 1]
        out[code] = data[i + 2 : i + 2 + n]
        i += 2 + n
    return out


def _dhcp(
    clients: list[Client],
    sock: socket.socket,
    t0: float,
    deadline: float,
    leased: queue.Queue[Client],
) -> None:
    """Every client's DISCOVER → ACK, on a thread of its own: a real client's DHCP does not
    wait while other machines start their downloads (this harness starting ``curl``s must
    not delay the replies it reads). Leased clients go to *leased*."""
    by_xid = {c.xid: c for c in clients}
    for c in clients:
        sock.sendto(_packet(c, 1), ("255.255.255.255", 67))
        c.sent_at = time.monotonic()
    while time.monotonic() < deadline:
        waiting = [c for c in clients if c.state in ("discover", "request")]
        if not waiting:
            return
        readable, _, _ = select.select([sock], [], [], 0.02)
        for _ in range(256 if readable else 0):
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                break
            if len(data) < 244 or data[0] != 2 or data[236:240] != _MAGIC:
                continue
            found = by_xid.get(struct.unpack_from("!I", data, 4)[0])
            if found is None:
                continue
            c = found
            opts = _options(data)
            kind = opts.get(53, b"\0")[0]
            if kind == 2 and c.state == "discover":
                c.offer, c.server_id = data[16:20], opts.get(54, b"\0" * 4)
                c.state, c.tries = "request", 0
                sock.sendto(_packet(c, 3), ("255.255.255.255", 67))
                c.sent_at = time.monotonic()
            elif kind == 5 and c.state == "request":
                c.ip = socket.inet_ntoa(data[16:20])
                c.leased_s = time.monotonic() - t0
                c.state = "leased"
                leased.put(c)
            elif kind == 6 and c.state == "request":
                c.state, c.detail = "failed", "DHCPNAK"
        now = time.monotonic()
        for c in waiting:
            if c.state in ("discover", "request") and now - c.sent_at > _RETRIES[c.tries]:
                c.tries += 1
                if c.tries >= len(_RETRIES):
                    c.state, c.detail = "failed", f"no DHCP answer ({c.state})"
                    continue
                sock.sendto(_packet(c, 1 if c.state == "discover" else 3), ("255.255.255.255", 67))
                c.sent_at = now


def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    clients = [
        Client(mac=bytes.fromhex(m.replace(":", "")), xid=rng.getrandbits(32))
        for m in args.macs.split(",")
    ]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.iface.encode())
    sock.bind(("0.0.0.0", 68))
    sock.setblocking(False)
    t0 = time.monotonic()
    deadline = t0 + args.deadline
    leased: queue.Queue[Client] = queue.Queue()
    dhcp = threading.Thread(target=_dhcp, args=(clients, sock, t0, deadline, leased), daemon=True)
    dhcp.start()
    while time.monotonic() < deadline:
        if all(c.state in ("done", "failed") for c in clients):
            break
        try:
            _start_fetch(leased.get(timeout=0.02), args)
            while True:
                _start_fetch(leased.get_nowait(), args)
        except queue.Empty:
            pass
        for c in clients:
            if c.state == "fetching" and c.proc is not None and c.proc.poll() is not None:
                _finish_fetch(c, args, t0)
    dhcp.join(timeout=1.0)
    for c in clients:
        if c.proc is not None and c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()
            c.state, c.detail = "failed", "deadline"
        elif c.state not in ("done", "failed"):
            c.state, c.detail = "failed", f"deadline ({c.state})"
    sock.close()
    return {
        "clients": [
            {
                "mac": c.mac.hex(":"),
                "ip": c.ip,
                "leased_s": round(c.leased_s, 4),
                "done_s": round(c.done_s, 4),
                "files_s": [round(x, 4) for x in c.files_s],
                "ok": c.state == "done" and c.ok,
                "detail": c.detail,
            }
            for c in clients
        ]
    }


def _start_fetch(c: Client, args: argparse.Namespace) -> None:
    subprocess.run(
        ["ip", "addr", "replace", f"{c.ip}/32", "dev", args.iface],
        check=False,
        capture_output=True,
        timeout=10,
    )
    mac_name = "01-" + c.mac.hex("-")
    argv = ["curl", "-sS", "--fail", "--interface", c.ip, "--tftp-blksize", "1468"]
    argv += ["--max-time", str(args.deadline)]
    argv += ["--write-out", "%{size_download} %{time_total}\\n"]
    for url in args.urls.split(","):
        argv += ["-o", "/dev/null", url.replace("{mac}", mac_name)]
    c.proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    c.state = "fetching"


def _finish_fetch(c: Client, args: argparse.Namespace, t0: float) -> None:
    assert c.proc is not None
    out, err = c.proc.communicate(timeout=10)
    c.done_s = time.monotonic() - t0
    pairs = [ln.split() for ln in out.splitlines() if ln.strip()]
    sizes = [int(p[0]) for p in pairs]
    c.files_s = [float(p[1]) for p in pairs if len(p) > 1]
    want = [int(x) for x in args.sizes.split(",")]
    c.ok = c.proc.returncode == 0 and sizes == want
    c.detail = "" if c.ok else f"curl rc={c.proc.returncode} sizes={sizes} {err.strip()[-160:]}"
    c.state = "done" if c.ok else "failed"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--iface", required=True)
    p.add_argument("--macs", required=True, help="comma-separated MACs, one per client")
    p.add_argument("--urls", required=True, help="comma-separated; {mac} = 01-aa-bb-..")
    p.add_argument("--sizes", required=True, help="expected size of each URL, in order")
    p.add_argument("--deadline", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=os.getpid())
    args = p.parse_args()
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
