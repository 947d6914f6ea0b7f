"""Operators who are not root: the socket's group lets them in, and the engine says who did what.

Real users and a real group are created for the test (``useradd``/``groupadd``) and removed
after; each client runs as that user (``runuser``) with Debian's stdlib-only Python, so the
kernel's ``SO_PEERCRED`` — not anything the client says — names the operator.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.profiles import loopback_profile, write_loopback_profile

MAC = "52:54:00:aa:bb:07"

# A control client with nothing but the standard library: one request, print the reply.
CLIENT = r"""
import json, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    sock.connect(sys.argv[1])
except PermissionError:
    print("EACCES"); sys.exit(3)
request = json.loads(sys.argv[2]); request["id"] = 1
sock.sendall(json.dumps(request).encode() + b"\n")
print(sock.makefile().readline().strip())
"""


@dataclass(frozen=True)
class Operators:
    group: str
    member: str
    outsider: str


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@pytest.fixture
def operators() -> Iterator[Operators]:
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("creating users needs root, useradd and runuser")
    tag = uuid.uuid4().hex[:6]
    ops = Operators(group=f"pxg{tag}", member=f"pxm{tag}", outsider=f"pxo{tag}")
    _run("groupadd", ops.group)
    try:
        _run("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-G", ops.group, ops.member)
        _run("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", ops.outsider)
        yield ops
    finally:
        for user in (ops.member, ops.outsider):
            subprocess.run(["userdel", user], capture_output=True, timeout=30)
        subprocess.run(["groupdel", ops.group], capture_output=True, timeout=30)



@pytest.fixture
def engine_dir() -> Iterator[Path]:
    # World-traversable like /run/pxetui/NAME (RuntimeDirectoryMode=0755): only the socket's
    # own mode and group may keep users out.
    path = Path(tempfile.mkdtemp(prefix="pxetui-ops-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_profile(directory: Path) -> Path:
    tree = directory / "tftp" / "tiny"
    tree.mkdir(parents=True)
    (tree / "vmlinuz").write_bytes(b"k" * 64)
    tiny = "  tiny:\n    kind: linux\n    kernel: tiny/vmlinuz\n"
    text = loopback_profile("ops", interface="lo", entries=tiny)
    return write_loopback_profile(directory, text, filename="ops.yaml")


def as_user(user: str, sock: Path, request: dict[str, Any]) -> tuple[int, str]:
    proc = subprocess.run(
        ["runuser", "-u", user, "--", "/usr/bin/python3", "-c", CLIENT, str(sock),
         json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    return proc.returncode, proc.stdout.strip() + proc.stderr.strip()


def start_engine(profile: Path, sock: Path, group: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PXETUI_SOCKET_GROUP"}
    if group is not None:
        env["PXETUI_SOCKET_GROUP"] = group
    engine = subprocess.Popen(
        [sys.executable, "-m", "pxetui", "serve", "--profile", str(profile), "--socket", str(sock)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not sock.exists():
        if engine.poll() is not None:
            raise AssertionError(f"engine exited: {engine.communicate()[0][-2000:]}")
        time.sleep(0.1)
    assert sock.exists(), "the engine did not open its socket in 30 s"
    return engine


def stop(engine: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """Stop the engine; its JSON event lines (the journal's record)."""
    engine.terminate()
    try:
        out, _ = engine.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        engine.kill()
        out, _ = engine.communicate(timeout=10)
    events = []
    for line in out.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def test_group_member_may_assign_outsider_may_not_and_the_log_names_the_member(
    operators: Operators, engine_dir: Path
) -> None:
    """0660 + group: the member's assign/unassign/reload work and are recorded by name."""
    sock = engine_dir / "control.sock"
    engine = start_engine(write_profile(engine_dir), sock, operators.group)
    try:
        mode = sock.stat()
        assert stat.S_IMODE(mode.st_mode) == 0o660
        assert mode.st_gid == int(
            subprocess.run(["getent", "group", operators.group], capture_output=True,
                           text=True, check=True).stdout.split(":")[2]
        )
        code, out = as_user(operators.outsider, sock, {"op": "state"})
        assert (code, out) == (3, "EACCES")
        code, out = as_user(operators.member, sock, {"op": "assign", "mac": MAC, "entry": "tiny"})
        assert code == 0 and json.loads(out)["ok"] is True, out
        uid = int(subprocess.run(["id", "-u", operators.member], capture_output=True,
                                 text=True, check=True).stdout)
        who = f"{operators.member} (uid {uid})"
        # The assignment itself records who made it: in the state, the status text and
        # the MAC's history (which the client detail shows).
        state = subprocess.run(
            [sys.executable, "-m", "pxetui", "status", "--socket", str(sock)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert f"{MAC} -> tiny (operator by {who} at " in state.stdout, state.stdout
        code, out = as_user(
            operators.member, sock, {"op": "history", "mac": MAC, "limit": 50}
        )
        history = json.loads(out)["result"]
        assert any(e.get("kind") == "assignment" and e.get("by") == who for e in history), history
        # A console reached through the web says so; the kernel's name for the peer stays.
        code, out = as_user(
            operators.member, sock,
            {"op": "assign", "mac": MAC, "entry": "tiny", "via": "web console"},
        )  # fmt: skip
        assert code == 0 and json.loads(out)["ok"] is True, out
        code, out = as_user(operators.member, sock, {"op": "history", "mac": MAC, "limit": 50})
        assert any(
            e.get("kind") == "assignment" and e.get("by") == f"{who} via web console"
            for e in json.loads(out)["result"]
        ), out
        code, out = as_user(operators.member, sock, {"op": "unassign", "mac": MAC})
        assert code == 0 and json.loads(out)["ok"] is True, out
        code, out = as_user(operators.member, sock, {"op": "reload"})
        assert code == 0 and json.loads(out)["ok"] is True, out
        # `pxetui status` shows who did it (recent events in the engine's state).
        status = subprocess.run(
            [sys.executable, "-m", "pxetui", "status", "--json", "--socket", str(sock)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert status.returncode == 0, status.stderr
        texts = [e.get("text", "") for e in json.loads(status.stdout)["recent_events"]]
        assert f"{who} assigned {MAC} to tiny" in texts
        assert f"{who} unassigned {MAC}" in texts
        assert f"{who} reloaded the profile" in texts
        assert not any(operators.outsider in text for text in texts)
    finally:
        events = stop(engine)
    logged = [e.get("text", "") for e in events if e.get("kind") == "message"]
    assert f"{who} assigned {MAC} to tiny" in logged  # the journal keeps it too
    assert any(f"mode 0660, group {operators.group}" in text for text in logged)


def test_without_the_group_the_socket_is_owner_only_and_says_so(
    operators: Operators, engine_dir: Path
) -> None:
    """A group that does not exist: 0600, even a would-be member is refused, a warning says why."""
    sock = engine_dir / "control.sock"
    missing = operators.group + "x"
    engine = start_engine(write_profile(engine_dir), sock, missing)
    try:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert as_user(operators.member, sock, {"op": "state"}) == (3, "EACCES")
    finally:
        events = stop(engine)
    warnings = [e["text"] for e in events if e.get("kind") == "message"
                and e.get("level") == "warning"]
    assert any(f"no group {missing}" in text and "mode 0600" in text for text in warnings)
