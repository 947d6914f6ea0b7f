"""``pxetui init`` → the unit it writes → ``serve`` → the console's lookup finds the service.

The unit is checked by ``systemd-analyze verify`` where it exists; then its ExecStart and
ExecReload lines are run the way systemd would (``%i`` and ``$MAINPID`` expanded, its
Environment=, LimitNOFILE, StateDirectory and RuntimeDirectory created with their modes) on
a loopback-only profile (DHCP off, high ports), and ``pxetui status`` finds the engine by the
same lookup the console and ``pxetui attach NAME`` use.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pxetui.cli.control_target import service_target
from pxetui.cli.tui import socket_for
from pxetui.engine.runtime_paths import SERVICE_RUNTIME_DIR, SERVICE_STATE_DIR
from tests.helpers.ports import free_port

PXETUI = [sys.executable, "-m", "pxetui"]



def init(tmp: Path, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *PXETUI,
            "init",
            "--name",
            name,
            "--etc-dir",
            str(tmp / "etc"),
            "--srv-dir",
            str(tmp / "srv"),
            "--unit-dir",
            str(tmp / "unit"),
            *extra,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def loopback_init(tmp: Path, name: str) -> subprocess.CompletedProcess[str]:
    return init(
        tmp,
        name,
        "--interface",
        "lo",
        "--dhcp-mode",
        "off",
        "--tftp-port",
        str(free_port(socket.SOCK_DGRAM)),
        "--http-port",
        str(free_port(socket.SOCK_STREAM)),
    )


def unit_service(unit: Path) -> dict[str, list[str]]:
    """The [Service] section: each key's values in order (Environment= repeats)."""
    section, found = "", {}
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_init_without_a_terminal_needs_the_interface(tmp_path: Path) -> None:
    """No tty and no --interface: exit 2 naming the flag and this machine's interfaces."""
    proc = init(tmp_path, "lab")
    assert proc.returncode == 2
    assert "--interface" in proc.stderr and "lo (127.0.0.1)" in proc.stderr
    assert not (tmp_path / "etc" / "lab.yaml").exists()


def test_init_writes_a_checked_profile_loaders_and_a_unit(tmp_path: Path) -> None:
    """The profile passes ``check``, loaders are copied, the unit says what the issue needs."""
    proc = loopback_init(tmp_path, "lab")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith(
        "systemctl enable --now pxetui@lab\n  pxetui attach lab"
    )
    profile = tmp_path / "etc" / "lab.yaml"
    check = subprocess.run(
        [*PXETUI, "check", "--profile", str(profile)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tftp = tmp_path / "srv" / "lab" / "tftp"
    if Path("/usr/lib/ipxe/undionly.kpxe").exists():
        assert (tftp / "undionly.kpxe").read_bytes() == Path(
            "/usr/lib/ipxe/undionly.kpxe"
        ).read_bytes()
    service = unit_service(tmp_path / "unit" / "pxetui@.service")
    (exec_start,) = service["ExecStart"]
    argv = shlex.split(exec_start.replace("%i", "lab"))
    assert argv[0] == sys.executable and Path(argv[0]).is_absolute()
    assert argv[1:4] == ["-m", "pxetui", "serve"]
    assert argv[argv.index("--profile") + 1] == str(profile)
    assert argv[argv.index("--socket") + 1] == str(SERVICE_RUNTIME_DIR / "lab" / "control.sock")
    assert argv[argv.index("--state-dir") + 1] == str(SERVICE_STATE_DIR / "lab")
    assert service["StateDirectory"] == ["pxetui/%i"]
    assert service["RuntimeDirectory"] == ["pxetui/%i"]
    assert service["LimitNOFILE"] == ["65536"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    (rw,) = service["ReadWritePaths"]
    assert tftp.is_relative_to(rw.replace("%i", "lab"))


def test_init_keeps_an_existing_profile(tmp_path: Path) -> None:
    """A second init never rewrites the operator's profile (unless --force)."""
    assert loopback_init(tmp_path, "lab").returncode == 0
    profile = tmp_path / "etc" / "lab.yaml"
    edited = profile.read_text() + "# the operator's own line\n"
    profile.write_text(edited)
    again = loopback_init(tmp_path, "lab")
    assert again.returncode == 0, again.stderr
    assert "kept" in again.stdout
    assert profile.read_text() == edited


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_written_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` accepts an instance of the unit with no warning at all."""
    assert loopback_init(tmp_path, "lab").returncode == 0
    instance = tmp_path / "verify" / "pxetui@lab.service"
    instance.parent.mkdir()
    shutil.copy(tmp_path / "unit" / "pxetui@.service", instance)
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(instance)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    mine = [line for line in proc.stderr.splitlines() if "pxetui@" in line]
    assert mine == []


@pytest.fixture
def service_name() -> Iterator[str]:
    """A name no real service has; its StateDirectory and RuntimeDirectory removed after."""
    if os.geteuid() != 0:
        pytest.skip("the unit's paths (/run/pxetui, /var/lib/pxetui) need root")
    name = f"pxt-{uuid.uuid4().hex[:8]}"
    yield name
    shutil.rmtree(SERVICE_RUNTIME_DIR / name, ignore_errors=True)
    shutil.rmtree(SERVICE_STATE_DIR / name, ignore_errors=True)


def status(*target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PXETUI, "status", "--json", *target], capture_output=True, text=True, timeout=30
    )


def wait_for_status(target: list[str], seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        proc = status(*target)
        if proc.returncode == 0:
            state: dict[str, Any] = json.loads(proc.stdout)
            return state
        last = proc.stderr
        time.sleep(0.2)
    raise AssertionError(f"no status in {seconds} s: {last}")


def test_unit_exec_start_serves_and_the_console_lookup_finds_it(
    tmp_path: Path, service_name: str
) -> None:
    """ExecStart as systemd runs it; status/attach/console find it; ExecReload re-reads."""
    name = service_name
    assert loopback_init(tmp_path, name).returncode == 0
    service = unit_service(tmp_path / "unit" / "pxetui@.service")
    # What systemd does before ExecStart: the directories, with their modes.
    state_dir = SERVICE_STATE_DIR / name
    runtime_dir = SERVICE_RUNTIME_DIR / name
    state_dir.mkdir(parents=True, mode=int(service["StateDirectoryMode"][0], 8))
    runtime_dir.mkdir(parents=True, mode=int(service["RuntimeDirectoryMode"][0], 8))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for assignment in service.get("Environment", []):
        key, _, value = assignment.partition("=")
        env[key] = value
    argv = shlex.split(service["ExecStart"][0].replace("%i", name))
    # LimitNOFILE, as far as this machine lets root raise it (containers cap the hard limit).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = min(int(service["LimitNOFILE"][0]), hard)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        os.umask(int(service["UMask"][0], 8))

    engine = subprocess.Popen(
        argv,
        env=env,
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=limits,
    )
    try:
        profile = tmp_path / "etc" / f"{name}.yaml"
        control = runtime_dir / "control.sock"
        # The console's lookup (pxetui --profile F), attach NAME's, and status --profile's.
        state = wait_for_status(["--profile", str(profile)])
        assert socket_for(profile) == control
        assert service_target(name) == control
        # Another profile that only shares the name keeps its own engine's socket.
        namesake = tmp_path / "elsewhere" / f"{name}.yaml"
        namesake.parent.mkdir()
        namesake.write_text(f"name: {name}\nnetwork:\n  server: 127.0.0.1\n")
        assert socket_for(namesake) == namesake.parent / "state" / "control.sock"
        served = state["profile"]
        assert isinstance(served, dict)
        assert (served["name"], served["path"]) == (name, str(profile))
        assert (state_dir / "engine.lock").exists()
        # ExecReload with $MAINPID: the profile gains an entry and a host.
        profile.write_text(
            profile.read_text()
            .replace(
                "entries: {}",
                "entries:\n  tiny:\n    kind: linux\n    kernel: tiny/vmlinuz\n",
            )
            .replace("hosts: {}", "hosts:\n  52:54:00:aa:bb:01:\n    entry: tiny\n")
        )
        (tmp_path / "srv" / name / "tftp" / "tiny").mkdir()
        (tmp_path / "srv" / name / "tftp" / "tiny" / "vmlinuz").write_bytes(b"k" * 64)
        reload = shlex.split(service["ExecReload"][0].replace("$MAINPID", str(engine.pid)))
        subprocess.run(reload, check=True, timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state = wait_for_status(["--profile", str(profile)])
            if "tiny" in state["entries"]:
                break
            time.sleep(0.2)
        assert "tiny" in state["entries"]
        assert "52:54:00:aa:bb:01" in state["assignments"]
    finally:
        engine.send_signal(signal.SIGTERM)  # KillSignal=SIGTERM
        try:
            out, _ = engine.communicate(timeout=20)  # TimeoutStopSec=20
        except subprocess.TimeoutExpired:
            engine.kill()
            out, _ = engine.communicate(timeout=10)
    assert engine.returncode == 0, out.decode(errors="replace")[-2000:]
    assert not (runtime_dir / "control.sock").exists()


def test_check_counts_one_entry_and_one_host_in_the_singular(tmp_path: Path) -> None:
    """``1 entry, 1 host``, not ``1 entries, 1 hosts``."""
    assert loopback_init(tmp_path, "lab").returncode == 0
    profile = tmp_path / "etc" / "lab.yaml"
    profile.write_text(
        profile.read_text()
        .replace("entries: {}", "entries:\n  disk:\n    kind: local\n")
        .replace("hosts: {}", "hosts:\n  52:54:00:aa:bb:02:\n    entry: disk\n")
    )
    check = subprocess.run(
        [*PXETUI, "check", "--profile", str(profile)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "OK (1 entry, 1 host, " in check.stdout


def test_init_on_a_terminal_asks_what_the_flags_did_not_say(tmp_path: Path) -> None:
    """stdin a tty: name, interface and DHCP mode are asked; Enter takes the default."""
    import pty
    import select

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*PXETUI, "init", "--etc-dir", str(tmp_path / "etc"), "--srv-dir", str(tmp_path / "srv"),
         "--unit-dir", str(tmp_path / "unit"), "--tftp-port", "16969", "--http-port", "18080"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    answers = [(b"service name", b"desk\n"), (b"interface", b"lo\n"), (b"DHCP mode", b"\n")]
    deadline = time.monotonic() + 60
    try:
        while answers and time.monotonic() < deadline:
            if not select.select([leader], [], [], 1.0)[0]:
                continue
            try:
                seen += os.read(leader, 4096)
            except OSError:  # EIO: init exited
                break
            prompt, answer = answers[0]
            if prompt in seen:
                os.write(leader, answer)
                seen = b""
                answers.pop(0)
        assert not answers, seen.decode(errors="replace")
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(leader)
    written = (tmp_path / "etc" / "desk.yaml").read_text()
    assert "name: desk" in written and "interface: lo" in written
    assert "mode: proxy" in written  # Enter took the default


@pytest.mark.parametrize("given", [None, "127.0.0.50,127.0.0.60"])
def test_full_dhcp_init_writes_a_range_dnsmasq_accepts(tmp_path: Path, given: str | None) -> None:
    """``--dhcp-mode full``: a lease range (given, or from the interface) the engine can run."""
    from ipaddress import IPv4Address

    from pxetui.core.profile.loader import load_profile
    from pxetui.engine.dnsmasq.config import dnsmasq_config

    extra = ["--range", given] if given else []
    proc = init(tmp_path, "iso", "--interface", "lo", "--dhcp-mode", "full", *extra)
    assert proc.returncode == 0, proc.stderr
    profile = load_profile(tmp_path / "etc" / "iso.yaml")
    first, last = profile.network.dhcp.range or (None, None)
    assert first is not None and last is not None
    if given:
        assert (str(first), str(last)) == ("127.0.0.50", "127.0.0.60")
    else:
        assert IPv4Address("127.0.0.1") < first <= last and int(last) - int(first) < 100
    config = dnsmasq_config(
        profile,
        server=IPv4Address("127.0.0.1"),
        interface="lo",
        state_dir=tmp_path / "state",
        tftp_port=69,
    )
    assert f"--dhcp-range={first},{last}" in " ".join(config.args)
