"""`pxetui serve --root DIR` as a real process: serves TFTP + HTTP, prints events, stops."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from tftp_testkit import make_file, run_tool

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


async def _start(root: Path, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pxetui",
        "serve",
        "--root",
        str(root),
        "--bind",
        "127.0.0.1",
        "--tftp-port",
        "0",
        "--http-port",
        "0",
        "--dhcp",
        "off",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )


async def _json_line(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 15)
    assert line, "serve exited early"
    return dict(json.loads(line))


async def _stop(proc: asyncio.subprocess.Process) -> tuple[int, bytes]:
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 15)
    return proc.returncode or 0, out


async def test_serves_tftp_and_http_and_logs_json_lines(tmp_path: Path) -> None:
    """Both protocols serve the directory; every stdout line is a JSON event; SIGTERM -> 0."""
    data = make_file(tmp_path / "root" / "boot.ipxe", 70_000)
    proc = await _start(tmp_path / "root", "--log-format", "json", "--tftp-workers", "2")
    try:
        ports = {}
        first = [await _json_line(proc) for _ in range(4)]  # three services, one data path
        for event in first:
            if event["kind"] == "service" and event["state"] == "running":
                ports[event["service"]] = int(event["address"].rsplit(":", 1)[1])
        assert sorted(e["kind"] for e in first) == ["message", "service", "service", "service"]
        assert any("TFTP data path:" in e.get("text", "") for e in first)
        rc, _, err = await run_tool(
            "curl",
            "-sS",
            "--tftp-blksize",
            "1468",
            "-o",
            str(tmp_path / "t"),
            f"tftp://127.0.0.1:{ports['tftp']}/boot.ipxe",
        )
        assert rc == 0, err
        rc, _, err = await run_tool(
            "curl", "-sS", "-o", str(tmp_path / "h"), f"http://127.0.0.1:{ports['http']}/boot.ipxe"
        )
        assert rc == 0, err
        rc, _, _ = await run_tool("curl", "-s", f"tftp://127.0.0.1:{ports['tftp']}/missing")
    finally:
        code, rest = await _stop(proc)
    assert code == 0
    assert (tmp_path / "t").read_bytes() == data == (tmp_path / "h").read_bytes()
    events = [json.loads(line) for line in rest.decode().splitlines()]
    finished = [e for e in events if e["kind"] == "transfer_finished"]
    assert sorted(e["proto"] for e in finished) == ["http", "tftp"]
    assert any(e["kind"] == "file_not_found" and e["filename"] == "missing" for e in events)
    assert events[-1]["kind"] == "service" and events[-1]["state"] == "stopped"


async def test_human_format_prints_one_readable_line_per_event(tmp_path: Path) -> None:
    """The default format is short sentences, one per line, with the file names."""
    make_file(tmp_path / "root" / "pxelinux.0", 1000)
    proc = await _start(tmp_path / "root", "--tftp-workers", "1")
    try:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 15)).decode() for _ in range(2)]
        first = next(line for line in lines if "tftp running 127.0.0.1:" in line)  # and the path
        assert any("info: TFTP data path:" in line for line in lines), lines
        port = int(first.strip().rsplit(":", 1)[1])
        rc, _, _ = await run_tool(
            "curl", "-sS", "-o", "/dev/null", f"tftp://127.0.0.1:{port}/pxelinux.0"
        )
        assert rc == 0
    finally:
        code, rest = await _stop(proc)
    assert code == 0
    text = rest.decode()
    assert "tftp start pxelinux.0" in text and "tftp done pxelinux.0" in text


async def test_taken_port_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    """If the TFTP port is in use, serve says which address and exits 1."""
    (tmp_path / "root").mkdir()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pxetui",
            "serve",
            "--root",
            str(tmp_path / "root"),
            "--bind",
            "127.0.0.1",
            "--tftp-port",
            str(port),
            "--http-port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 1
    assert f"127.0.0.1:{port}" in err.decode()


async def test_root_must_be_a_directory(tmp_path: Path) -> None:
    """A missing root is a usage error (exit 2), not a traceback."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pxetui",
        "serve",
        "--root",
        str(tmp_path / "nope"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 2
    assert b"not a directory" in err
