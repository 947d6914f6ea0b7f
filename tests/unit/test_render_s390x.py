"""s390-ccw configs obey the firmware's parser and limits, with errors naming the entry."""

from __future__ import annotations

import pytest
from render_profiles import CTX, profile

from pxetui.core.mac import MacAddress
from pxetui.core.render import RenderError, render_defaults, render_host

MAC = MacAddress.parse("52:54:00:e2:e3:90")


def _s390(args: str = "quiet", initrds: str = "[s390x/initrd.gz]", entry: str = "s") -> str:
    return (
        f"  s:\n    kind: linux\n    kernel: s390x/vmlinuz\n    initrds: {initrds}\n"
        f"    args: {args!r}\n"
        "  web:\n    kind: chain\n    url: http://x/y.ipxe\n"
    ), f"  {MAC}: {{entry: {entry}, arch: s390x}}\n"


def test_file_form_starts_with_magic_and_adds_bootif() -> None:
    """The boot-file form is parsed only after `# pxelinux`; BOOTIF=01-<mac> is appended."""
    files = render_host(profile(*_s390()), CTX, MAC)
    text = files.text(f"s390x/01-{MAC.hexhyp}").splitlines()
    assert text[0] == "# pxelinux"
    assert text[1:] == [
        "DEFAULT s",
        "LABEL s",
        "KERNEL s390x/vmlinuz",
        "INITRD s390x/initrd.gz",
        f"APPEND quiet BOOTIF=01-{MAC.hexhyp}",
    ]


def test_directory_form_gets_the_same_config_and_no_x86_files() -> None:
    """pxelinux.cfg/01-<mac> carries the s390x form; no iPXE/GRUB files for an s390x host."""
    files = render_host(profile(*_s390()), CTX, MAC)
    assert sorted(files) == [f"pxelinux.cfg/01-{MAC.hexhyp}", f"s390x/01-{MAC.hexhyp}"]
    assert files[f"pxelinux.cfg/01-{MAC.hexhyp}"] == files[f"s390x/01-{MAC.hexhyp}"]


def test_local_is_an_empty_config() -> None:
    """The firmware has no LOCALBOOT: local is a config with no label to boot."""
    entries, hosts = _s390(entry="local")
    files = render_host(profile(entries, hosts), CTX, MAC)
    assert files[f"s390x/01-{MAC.hexhyp}"] == b"# pxelinux\n"
    assert render_defaults(profile(entries), CTX)["s390x/default"] == b"# pxelinux\n"


def test_two_initrds_are_refused_naming_the_entry() -> None:
    """The firmware loads one INITRD line only; more is an error, not a silent drop."""
    with pytest.raises(RenderError, match=r"entry 's': s390x firmware loads one INITRD.*has 2"):
        render_host(profile(*_s390(initrds="[a.gz, b.gz]")), CTX, MAC)


def test_command_line_over_896_bytes_is_refused() -> None:
    """896 bytes including BOOTIF is the firmware's command-line limit."""
    bootif = len(f" BOOTIF=01-{MAC.hexhyp}")
    render_host(profile(*_s390(args="x" * (896 - bootif))), CTX, MAC)  # exactly at the limit
    with pytest.raises(RenderError, match=r"entry 's': s390x command line is 897 bytes"):
        render_host(profile(*_s390(args="x" * (897 - bootif))), CTX, MAC)


def test_file_over_2048_bytes_is_refused() -> None:
    """A menu of long entries can pass the command-line limit but not the 2048-byte file one."""
    entries = "".join(
        f"  s{i}:\n    kind: linux\n    kernel: k\n    args: {'y' * 600}\n" for i in range(4)
    )
    entries += "  m:\n    kind: menu\n    items: [s0, s1, s2, s3]\n"
    with pytest.raises(RenderError, match=r"entry 'm': s390x config is \d+ bytes, .* 2048"):
        render_host(profile(entries, f"  {MAC}: {{entry: m, arch: s390x}}\n"), CTX, MAC)


def test_chain_and_url_kernels_are_refused() -> None:
    """s390x firmware cannot chain or fetch URLs: say so with the entry's name."""
    with pytest.raises(RenderError, match="entry 'web': chain is iPXE-only"):
        render_host(profile(*_s390(entry="web")), CTX, MAC)
    entries = "  u:\n    kind: linux\n    kernel: http://10.250.77.1:8080/k\n"
    with pytest.raises(RenderError, match="entry 'u': s390x firmware loads only TFTP paths"):
        render_host(profile(entries, f"  {MAC}: {{entry: u, arch: s390x}}\n"), CTX, MAC)
