"""Preflight checks in real processes: privileges as a real non-root user, the interface lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pxetui.engine.dnsmasq.preflight import (
    InterfaceLock,
    PreflightError,
    check_privileges,
    missing_capabilities,
)

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)

CHECK = (
    "from pxetui.engine.dnsmasq.preflight import check_privileges, PreflightError\n"
    "try:\n    check_privileges()\nexcept PreflightError as e:\n    print(e)\n"
    "else:\n    print('OK')\n"
)


def as_nobody(ambient: str) -> str:
    """Run the privilege check as user nobody with *ambient* capabilities (setpriv).

    CAP_DAC_READ_SEARCH is always added so nobody can read a Python installed under /root;
    it is not one of the capabilities the check looks at.
    """
    wanted = ",".join(c for c in ("+dac_read_search", ambient) if c)
    caps = ["--inh-caps", wanted, "--ambient-caps", wanted]
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            *caps,
            sys.executable,
            "-c",
            CHECK,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=True,
    )
    return result.stdout.strip()


@needs_root
def test_non_root_with_only_bind_capability_is_told_what_is_missing() -> None:
    """dnsmasq would exit 5 with only CAP_NET_BIND_SERVICE: we name the two missing ones."""
    message = as_nobody("+net_bind_service")
    assert "CAP_NET_ADMIN" in message and "CAP_NET_RAW" in message
    assert "missing (ambient, inherited by the child): CAP_NET_ADMIN, CAP_NET_RAW" in message
    assert "AmbientCapabilities=" in message


@needs_root
def test_non_root_with_the_three_capabilities_passes() -> None:
    """Root is not required: the three ambient capabilities are enough."""
    assert as_nobody("+net_bind_service,+net_admin,+net_raw") == "OK"


@needs_root
def test_plain_user_is_refused_with_all_three_named() -> None:
    """No capabilities at all: every one is listed."""
    message = as_nobody("")
    for cap in ("CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW"):
        assert cap in message


def test_capability_mask_is_read_from_the_ambient_set() -> None:
    """``CapAmb`` bits 10, 12 and 13 are what a child keeps across exec."""
    status = "Name:\tx\nCapEff:\t000001ffffffffff\nCapAmb:\t0000000000003400\n"
    assert missing_capabilities(status) == []
    assert missing_capabilities("CapAmb:\t0000000000000400\n") == ["CAP_NET_ADMIN", "CAP_NET_RAW"]
    assert len(missing_capabilities("")) == 3
    check_privileges(euid=0, status_text="")  # root: nothing to check
    with pytest.raises(PreflightError):
        check_privileges(euid=1000, status_text="CapAmb:\t0000000000000000\n")


HOLD = (
    "import sys, time\nfrom pathlib import Path\n"
    "from pxetui.engine.dnsmasq.preflight import InterfaceLock\n"
    "InterfaceLock('lab0', Path(sys.argv[1])).acquire()\nprint('held', flush=True)\n"
    "time.sleep(30)\n"
)


def test_lock_held_by_another_process_names_it_and_frees_on_its_death(tmp_path: Path) -> None:
    """The lock names the holder's pid; once the holder is killed (even -9) it is free."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = InterfaceLock("lab0", tmp_path)
        with pytest.raises(PreflightError, match=f"process {holder.pid} \\(python"):
            lock.acquire()
        holder.kill()
        holder.wait(timeout=10)
        lock.acquire()
        assert lock.held
        lock.release()
        assert not lock.held
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)


def test_interface_names_with_a_slash_never_reach_the_filesystem(tmp_path: Path) -> None:
    """The interface name becomes part of a path: refuse anything path-like."""
    for bad in ("../etc", "a/b", "", ".."):
        with pytest.raises(PreflightError):
            InterfaceLock(bad, tmp_path)


def test_unusable_lock_directory_is_a_preflight_error(tmp_path: Path) -> None:
    """A lock directory that cannot be created is explained, not a traceback."""
    (tmp_path / "plainfile").write_text("")
    lock = InterfaceLock("lab0", tmp_path / "plainfile" / "locks")
    with pytest.raises(
        PreflightError, match=r"cannot create the interface lock .*RuntimeDirectory"
    ):
        lock.acquire()
