"""``check`` on boots through shim: what it refuses, what it warns about, naming file:line."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address
from pathlib import Path

from pxetui.core.profile.audit import profile_problems, profile_warnings
from pxetui.core.profile.loader import load_profile
from tests.unit.test_pe_signature import CERT, pe

SERVER = IPv4Address("10.250.77.1")
MAC = "52:54:00:00:00:07"


def _signed() -> bytes:
    head = pe(security=(0x1000, 0x600))
    return head + bytes(0x1000 - len(head)) + CERT + bytes(0x600 - 8)


def _lab(tmp_path: Path, extra: str = "", mode: str = "full", kernel: bytes | None = None) -> Path:
    root = tmp_path / "tftp"
    (root / "k").mkdir(parents=True)
    for name, data in (
        ("shimx64.efi", _signed()),
        ("grubx64.efi", _signed()),
        ("k/vmlinuz", kernel if kernel is not None else _signed()),
        ("k/initrd.img", b"initrd"),
    ):
        (root / name).write_bytes(data)
        (root / name).chmod(0o644)
    dhcp = (
        "{mode: full, range: [10.250.77.100, 10.250.77.150]}"
        if mode == "full"
        else "{mode: proxy, subnet: 10.250.77.0/24}"
    )
    text = (
        f"network: {{server: 10.250.77.1, dhcp: {dhcp}}}\n"
        "tftp: {root: tftp}\n"
        "entries:\n"
        "  sb: {kind: linux, kernel: k/vmlinuz, initrds: [k/initrd.img]}\n"
        "  web: {kind: linux, kernel: 'http://mirror.example.org/vmlinuz'}\n"
        "  ch: {kind: chain, url: 'http://10.250.77.1:8080/x.ipxe'}\n"
        f"hosts:\n  {MAC}: {{entry: sb, loader: shim}}\n{extra}"
    )
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return path


def test_a_signed_shim_grub_and_kernel_in_full_dhcp_pass_quietly(tmp_path: Path) -> None:
    profile = load_profile(_lab(tmp_path))
    assert profile_problems(profile, SERVER) == []
    assert profile_warnings(profile) == []


def test_an_unsigned_kernel_is_a_warning_naming_file_line_and_field(tmp_path: Path) -> None:
    profile = load_profile(_lab(tmp_path, kernel=pe()))
    assert profile_problems(profile, SERVER) == []
    (warning,) = profile_warnings(profile)
    assert warning.startswith(f"{tmp_path / 'lab.yaml'}:4: entries.sb.kernel: warning: ")
    assert "k/vmlinuz has no Authenticode signature" in warning


def test_entries_that_need_ipxe_or_http_warn_for_shim_hosts_only(tmp_path: Path) -> None:
    path = _lab(tmp_path)
    for entry, said in (("web", "is a URL"), ("ch", "chains through iPXE")):
        path.write_text(
            path.read_text().replace(
                "{entry: sb, loader: shim}", f"{{entry: {entry}, loader: shim}}"
            )
        )
        warnings = profile_warnings(load_profile(path))
        assert len(warnings) == 1 and said in warnings[0], warnings
        path.write_text(
            path.read_text().replace(
                f"{{entry: {entry}, loader: shim}}", "{entry: sb, loader: shim}"
            )
        )
    path.write_text(path.read_text().replace("loader: shim", "loader: grub"))
    assert profile_warnings(load_profile(path)) == []


def test_grub_missing_beside_the_operators_shim_is_refused(tmp_path: Path) -> None:
    path = _lab(tmp_path, extra="shim: {file: azl/efi/boot/bootx64.efi}\n")
    own = tmp_path / "tftp" / "azl" / "efi" / "boot"
    own.mkdir(parents=True)
    shutil.copyfile(tmp_path / "tftp" / "shimx64.efi", own / "bootx64.efi")
    (own / "bootx64.efi").chmod(0o644)
    problems = profile_problems(load_profile(path), SERVER)
    assert len(problems) == 1, problems
    assert (
        "shim.file: GRUB (shim loads grubx64.efi beside it): azl/efi/boot/grubx64.efi"
        in (problems[0])
    )
    shutil.copyfile(tmp_path / "tftp" / "grubx64.efi", own / "grubx64.efi")
    (own / "grubx64.efi").chmod(0o644)
    assert profile_problems(load_profile(path), SERVER) == []


def test_shim_behind_proxy_dhcp_warns_that_grub_will_not_find_its_config(
    tmp_path: Path,
) -> None:
    (warning,) = profile_warnings(load_profile(_lab(tmp_path, mode="proxy")))
    assert "network.dhcp.mode: warning:" in warning and "GRUB 2.06" in warning


def test_a_bios_host_given_shim_is_refused(tmp_path: Path) -> None:
    path = _lab(tmp_path)
    path.write_text(path.read_text().replace("loader: shim}", "loader: shim, arch: bios}"))
    problems = profile_problems(load_profile(path), SERVER)
    assert any("shim is UEFI-only" in p for p in problems), problems
