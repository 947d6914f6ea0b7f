"""The benchmark's C TFTP client (bench/tftp_client.c) against a scripted server on loopback.

Why: the bench's numbers are only as good as its client. These check that it ACKs once per
window (RFC 7440), recovers from a lost DATA block, and refuses wrong bytes or an ERROR, so a
server cannot look fast by sending garbage.
"""

from __future__ import annotations

import array
import json
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def pattern(size: int) -> bytes:
    """The bench file format: the u64 little-endian value o at every aligned offset o."""
    return array.array("Q", range(0, size + 8, 8)).tobytes()[:size]


@dataclass
class ScriptedServer:
    """A minimal windowed TFTP server with knobs for misbehaving; records the ACKs it gets."""

    content: bytes
    drop_once: int | None = None  # never send this block the first time
    error: bool = False  # answer the RRQ with ERROR 1
    acks: list[int] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)

    def start(self) -> int:
        self.listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.listen.bind(("127.0.0.1", 0))
        self.listen.settimeout(10)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        port: int = self.listen.getsockname()[1]
        return port

    def _serve(self) -> None:
        with self.listen, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as xfer:
            rrq, client = self.listen.recvfrom(1024)
            fields = rrq[2:].split(b"\0")
            self.options = {
                fields[i].decode().lower(): fields[i + 1].decode()
                for i in range(2, len(fields) - 1, 2)
            }
            xfer.bind(("127.0.0.1", 0))
            xfer.settimeout(2)
            if self.error:
                xfer.sendto(b"\0\5\0\1File not found\0", client)
                return
            bs = int(self.options.get("blksize", 512))
            ws = int(self.options.get("windowsize", 1))
            oack = f"blksize\0{bs}\0windowsize\0{ws}\0tsize\0{len(self.content)}\0".encode()
            blocks = len(self.content) // bs + 1
            self._exchange(xfer, client, b"\0\6" + oack)
            nxt, dropped = 1, False
            for _ in range(10 * blocks):
                for b in range(nxt, min(nxt + ws - 1, blocks) + 1):
                    if b == self.drop_once and not dropped:
                        dropped = True
                        continue
                    data = self.content[(b - 1) * bs : b * bs]
                    xfer.sendto(b"\0\3" + b.to_bytes(2, "big") + data, client)
                acked = self._await_ack(xfer)
                if acked is None:
                    continue  # resend the window
                if acked >= blocks:
                    return
                nxt = acked + 1

    def _exchange(self, xfer: socket.socket, client: tuple[str, int], packet: bytes) -> None:
        for _ in range(5):
            xfer.sendto(packet, client)
            if self._await_ack(xfer) == 0:
                return
        raise TimeoutError("no ACK 0")

    def _await_ack(self, xfer: socket.socket) -> int | None:
        try:
            pkt, _ = xfer.recvfrom(64)
        except TimeoutError:
            return None
        if pkt[:2] != b"\0\4":
            return None
        block = int.from_bytes(pkt[2:4], "big")
        self.acks.append(block)
        return block


@pytest.fixture(scope="module")
def client_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-client") / "pxb-tftpc"
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out), "bench/tftp_client.c"],
        cwd=REPO,
        check=True,
        timeout=120,
    )
    return out


def run_client(
    binary: Path, port: int, size: int, bs: int, ws: int
) -> tuple[int, dict[str, object]]:
    proc = subprocess.run(
        [str(binary), "-H", "127.0.0.1", "-p", str(port), "-f", "f", "-s", str(size),
         "-b", str(bs), "-w", str(ws), "-z", "-t", "300", "-d", "20"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.returncode, json.loads(proc.stdout)


def test_client_acks_once_per_window(client_binary: Path) -> None:
    """With windowsize 4 the client ACKs blocks 4, 8, … and the short last block, nothing else."""
    size = 512 * 10 + 100  # 11 blocks, the last one short
    server = ScriptedServer(pattern(size))
    code, out = run_client(client_binary, server.start(), size, 512, 4)
    server.thread.join(10)
    assert code == 0 and out["ok"] == 1 and out["bytes"] == size
    assert server.options == {"blksize": "512", "windowsize": "4", "tsize": "0"}
    assert server.acks == [0, 4, 8, 11]


def test_client_recovers_a_lost_block_by_acking_before_the_gap(client_binary: Path) -> None:
    """A missing block 6 makes the client ACK 5, and the re-sent window completes the file."""
    size = 512 * 12
    server = ScriptedServer(pattern(size), drop_once=6)
    code, out = run_client(client_binary, server.start(), size, 512, 4)
    server.thread.join(10)
    assert code == 0 and out["bytes"] == size
    assert server.acks[:3] == [0, 4, 5]
    assert server.acks[-1] == 13


def test_client_rejects_wrong_bytes(client_binary: Path) -> None:
    """One flipped byte in the middle of the file fails the run: speed from garbage is no win."""
    size = 512 * 8
    content = bytearray(pattern(size))
    content[2000] ^= 0xFF
    server = ScriptedServer(bytes(content))
    code, out = run_client(client_binary, server.start(), size, 512, 1)
    assert code == 1 and out["failed"] == 1
    assert out["error"] == "content mismatch"


def test_client_reports_a_server_error(client_binary: Path) -> None:
    """An ERROR packet in answer to the RRQ fails the transfer and names the code."""
    server = ScriptedServer(b"", error=True)
    code, out = run_client(client_binary, server.start(), 100, 512, 1)
    assert code == 1
    assert out["error"] == "ERROR 1 from server"
