"""The guest builder orders kernel modules by their own depends= and writes a working /init."""

from __future__ import annotations

import subprocess

import pytest

from pxetui.lab.guest import (
    CMDLINE_PREFIX,
    MARKER_PREFIX,
    init_script,
    module_depends,
    module_load_order,
)


def _ko(depends: str) -> bytes:
    return b"\x7fELF...\x00license=GPL\x00depends=" + depends.encode() + b"\x00vermagic=6.1\x00"


def test_depends_are_read_from_the_modinfo_strings() -> None:
    """The .modinfo ``depends=`` string is split into module names."""
    assert module_depends(_ko("virtio_ring,virtio,net_failover")) == [
        "virtio_ring",
        "virtio",
        "net_failover",
    ]
    assert module_depends(_ko("")) == []


def test_every_module_is_loaded_after_its_dependencies() -> None:
    """virtio_net comes after virtio, virtio_ring and net_failover (which needs failover)."""
    mods = {
        "virtio_net": _ko("virtio_ring,virtio,net_failover"),
        "virtio": _ko("virtio_ring"),
        "net_failover": _ko("failover"),
        "failover": _ko(""),
        "virtio_ring": _ko(""),
    }
    order = module_load_order(mods)
    assert sorted(order) == sorted(mods)
    for name, blob in mods.items():
        for dep in module_depends(blob):
            assert order.index(dep) < order.index(name), order


def test_a_missing_dependency_is_an_error_not_a_silent_boot_failure() -> None:
    """A module needing something the initrd lacks is refused at build time."""
    with pytest.raises(ValueError, match="needs virtio_ring"):
        module_load_order({"virtio": _ko("virtio_ring")})


def test_init_script_is_valid_shell_that_prints_marker_and_cmdline() -> None:
    """Both variants parse with sh -n and print the lines the tests wait for."""
    for diskless in (False, True):
        script = init_script("m-1", diskless, ("virtio_ring", "virtio"))
        subprocess.run(["sh", "-n"], input=script.encode(), check=True)
        assert f'echo "{MARKER_PREFIX} marker=m-1 ' in script
        assert CMDLINE_PREFIX in script
        assert script.rstrip().endswith("poweroff -f")
    assert "insmod" not in init_script("m", False)


def test_serial_text_loses_escapes_carriage_returns_and_spinner_backspaces() -> None:
    """iPXE's coloured, spinner-animated lines come out as plain text."""
    from pxetui.lab.qemu import strip_ansi

    raw = "\x1b[0;1miPXE\x1b[0m 1.0 ok\r\n... 64%\x08\x08\x08\x08 ok\x1b[2J"
    assert strip_ansi(raw) == "iPXE 1.0 ok\n... 64% ok"
