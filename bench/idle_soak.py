"""Soak: idle TCP connections, control churn and fetches against a real engine on loopback.

    python3 bench/idle_soak.py [--minutes 2] [--idle 1100] [--fd-limit 1024]

Starts ``pxetui serve --profile`` (DHCP off, 127.0.0.1, free high ports) with its
RLIMIT_NOFILE pinned at ``--fd-limit``, then for ``--minutes`` keeps ``--idle`` silent HTTP
connections open (reopening those the engine closes), connects and disconnects control
clients, and fetches one file over TFTP and HTTP every round. Prints the engine's RSS, open
fds and threads at the start, middle and end, and how many fetches failed. Loopback only;
every loop is bounded by the duration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import tftpy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pxetui.engine.control.client import ControlClient  # noqa: E402

PROFILE = """\
name: soak
network:
  server: 127.0.0.1
  dhcp:
    mode: "off"
tftp:
  root: tftp
  port: {tftp}
  bind: 127.0.0.1
http:
  port: {http}
  bind: 127.0.0.1
state_dir: state
limits:
  http_idle_timeout: {idle_timeout}
"""


def _free(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _figures(pid: int) -> str:
    proc = psutil.Process(pid)
    rss = proc.memory_info().rss / 2**20
    return f"rss {rss:.1f} MiB, fds {proc.num_fds()}, threads {proc.num_threads()}"


def _top_up(socks: list[socket.socket], port: int, want: int) -> None:
    """Drop sockets the engine closed, open new ones up to *want* (bounded in time)."""
    alive: list[socket.socket] = []
    for sock in socks:
        try:
            closed = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            closed = False
        except OSError:
            closed = True
        if closed:
            sock.close()
        else:
            alive.append(sock)
    socks[:] = alive
    deadline = time.monotonic() + 5
    while len(socks) < want and time.monotonic() < deadline:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(0.2)
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        socks.append(sock)


async def soak(args: argparse.Namespace) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle + 500)), hard))
    work = Path(tempfile.mkdtemp(prefix="pxetui-soak-"))
    tftp_port, http_port = _free(socket.SOCK_DGRAM), _free(socket.SOCK_STREAM)
    (work / "lab.yaml").write_text(
        PROFILE.format(tftp=tftp_port, http=http_port, idle_timeout=args.idle_timeout)
    )
    (work / "tftp").mkdir()
    payload = bytes(range(256)) * 1024
    (work / "tftp" / "file.bin").write_bytes(payload)
    (work / "tftp" / "file.bin").chmod(0o644)

    def pin() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.fd_limit, args.fd_limit))

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pxetui",
        "serve",
        "--profile",
        str(work / "lab.yaml"),
        "--log-format",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        preexec_fn=pin,
    )
    lines: list[dict[str, Any]] = []

    async def read() -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))

    reader = asyncio.create_task(read())
    socks: list[socket.socket] = []
    failures = {"tftp": 0, "http": 0, "control": 0}
    rounds = 0
    try:
        for _ in range(300):
            if any("serving profile" in str(e.get("text", "")) for e in lines):
                break
            await asyncio.sleep(0.1)
        print("start :", _figures(proc.pid), flush=True)
        end = time.monotonic() + args.minutes * 60
        middle_done = False
        socket_path = work / "state" / "control.sock"
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < end:
                rounds += 1
                await asyncio.to_thread(_top_up, socks, http_port, args.idle)
                try:
                    dest = work / "got"
                    client = tftpy.TftpClient("127.0.0.1", tftp_port)
                    await asyncio.wait_for(
                        asyncio.to_thread(client.download, "file.bin", str(dest), timeout=3),
                        20,
                    )
                    assert dest.read_bytes() == payload
                except Exception:
                    failures["tftp"] += 1
                try:
                    url = f"http://127.0.0.1:{http_port}/file.bin"
                    timeout = aiohttp.ClientTimeout(total=args.idle_timeout + 5)
                    async with session.get(url, timeout=timeout) as resp:
                        assert await resp.read() == payload
                except Exception:
                    failures["http"] += 1
                try:
                    async with ControlClient(socket_path) as client:
                        await asyncio.wait_for(client.request("state"), 10)
                except Exception:
                    failures["control"] += 1
                if not middle_done and time.monotonic() > end - args.minutes * 30:
                    print("middle:", _figures(proc.pid), f"(idle open: {len(socks)})", flush=True)
                    middle_done = True
                await asyncio.sleep(0.5)
        print("end   :", _figures(proc.pid), f"(idle open: {len(socks)})", flush=True)
    finally:
        for sock in socks:
            sock.close()
        proc.terminate()
        assert proc.stderr is not None
        err = await asyncio.wait_for(proc.stderr.read(), 30)
        await asyncio.wait_for(proc.wait(), 30)
        await asyncio.wait_for(reader, 5)
    notices = [e["text"] for e in lines if str(e.get("text", "")).startswith("limit:")]
    print(f"rounds {rounds}, failed fetches {failures}, limit notices {len(notices)}")
    print(f"tracebacks on stderr: {err.count(b'Traceback')}")
    return 1 if any(failures.values()) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--idle", type=int, default=1100)
    parser.add_argument("--fd-limit", type=int, default=1024)
    parser.add_argument("--idle-timeout", type=float, default=5.0)
    return asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
