"""``pxetui import``: layouts found, files copied world-readable, the entry printed or written
to a new file, the profile never touched, clear refusals; and the bounded progress line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from pxetui.cli.main import main
from pxetui.cli.progress_line import STEP_PERCENT, ProgressLine, human
from pxetui.core.iso_layout import config_args
from tests.unit.live_isos import make_iso

DATA = Path(__file__).resolve().parents[1] / "data" / "live"
TREE = (DATA / "tree-gzip.sqfs").read_bytes()
BIG = 9 << 20  # over the progress threshold

PROFILE = """\
name: t
network: {interface: br0, server: 10.250.77.1, dhcp: {mode: proxy, subnet: 10.250.77.0/24}}
tftp: {root: tftp}
http: {port: 8080}
entries:
  old: {kind: local}
hosts: {}
unknown: local
"""

AZURE = {
    "boot/vmlinuz": b"kernel",
    "boot/initrd.img": b"\0" * BIG,
    "efi/boot/bootx64.efi": b"MZ shim",
    "efi/boot/grubx64.efi": b"MZ grub",
    "boot/grub2/grub-pxe.cfg": (
        b"menuentry 'x' {\n  linux /boot/vmlinuz root=live:http://h/x.iso rd.live.image "
        b"console=ttyS0,115200 rd.live.dir=LiveOS $extra\n  initrd /boot/initrd.img\n}\n"
    ),
    "LiveOS/squashfs.img": TREE,
}
FEDORA = {
    "images/pxeboot/vmlinuz": b"kernel",
    "images/pxeboot/initrd.img": b"initrd",
    "EFI/BOOT/grub.cfg": (
        b"linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=F rd.live.image quiet\n"
    ),
    "LiveOS/squashfs.img": TREE,
}
INSTALLER = {
    "images/pxeboot/vmlinuz": b"kernel",
    "images/pxeboot/initrd.img": b"initrd",
    "images/install.img": b"stage2",
    ".treeinfo": b"[general]\n",
    "EFI/BOOT/grub.cfg": b"linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=F quiet\n",
}
DEBIAN = {
    "live/vmlinuz-6.1.0-1-amd64": b"kernel",
    "live/initrd.img-6.1.0-1-amd64": b"initrd",
    "live/filesystem.squashfs": TREE,
    "isolinux/live.cfg": b"label live\n  append initrd=/live/initrd.img boot=live components\n",
}


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(PROFILE)
    (tmp_path / "tftp").mkdir()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["import", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_azure_linux_iso(tmp_path: Path, profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    iso = make_iso(tmp_path / "Azure Linux 3.0.iso", AZURE)
    code, out, err = run(capsys, str(iso), "--profile", str(profile))
    assert code == 0, err
    assert profile.read_text() == PROFILE, "the profile was rewritten"
    name = "Azure-Linux-3.0"
    entry = yaml.safe_load(out)["entries"][name]
    assert entry == {
        "description": "Azure Linux LiveOS (pxetui import)",
        "arch": "x86",
        "kind": "live",
        "kernel": f"{name}/vmlinuz",
        "initrds": [f"{name}/initrd.img"],
        "image": f"{name}/Azure Linux 3.0.iso",
        "args": "console=ttyS0,115200 rd.live.dir=LiveOS",
    }
    root = tmp_path / "tftp" / name
    assert (root / "vmlinuz").read_bytes() == b"kernel"
    assert (root / "initrd.img").stat().st_size == BIG
    assert (root / "efi" / "bootx64.efi").read_bytes() == b"MZ shim"
    assert (root / "efi" / "grubx64.efi").read_bytes() == b"MZ grub"
    assert (root / "Azure Linux 3.0.iso").read_bytes() == iso.read_bytes()
    for path in root.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o644, path
    assert "Azure Linux LiveOS layout" in err
    assert "copying boot/initrd.img  100%  9.0 MiB / 9.0 MiB" in err


def test_fedora_liveos_iso_written_to_a_new_file(
    tmp_path: Path, profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iso = make_iso(tmp_path / "f.iso", FEDORA)
    out_file = tmp_path / "entry.yaml"
    code, out, err = run(
        capsys, str(iso), "--profile", str(profile), "--name", "fedora", "--out", str(out_file)
    )
    assert code == 0, err
    assert out == ""
    entry = yaml.safe_load(out_file.read_text())["entries"]["fedora"]
    assert entry["kind"] == "live" and entry["image"] == "fedora/f.iso"
    assert entry["args"] == "console=ttyS0,115200 quiet"
    code, _, err = run(capsys, str(iso), "--profile", str(profile), "--out", str(out_file))
    assert code == 1 and f"{out_file} exists" in err


def test_installer_iso_copies_stage2_for_anaconda(
    tmp_path: Path, profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iso = make_iso(tmp_path / "netinst.iso", INSTALLER)
    code, out, err = run(capsys, str(iso), "--profile", str(profile), "--name", "inst")
    assert code == 0, err
    assert "Fedora/RHEL installer layout" in err
    entry = yaml.safe_load(out)["entries"]["inst"]
    assert entry["kind"] == "linux" and "image" not in entry
    assert entry["args"] == "inst.stage2={http}/inst console=ttyS0,115200 quiet"
    root = tmp_path / "tftp" / "inst"
    assert (root / "images" / "install.img").read_bytes() == b"stage2"
    assert (root / ".treeinfo").read_bytes() == b"[general]\n"
    assert not (root / "netinst.iso").exists()


def test_debian_live_iso_copies_the_squashfs_for_live_boot(
    tmp_path: Path, profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iso = make_iso(tmp_path / "debian-live.iso", DEBIAN)
    code, out, err = run(capsys, str(iso), "--profile", str(profile), "--name", "deb")
    assert code == 0, err
    entry = yaml.safe_load(out)["entries"]["deb"]
    assert entry["kind"] == "linux" and "image" not in entry
    assert entry["args"] == (
        "boot=live fetch={http}/deb/filesystem.squashfs console=ttyS0,115200 components"
    )
    assert (tmp_path / "tftp" / "deb" / "filesystem.squashfs").read_bytes() == TREE
    assert not (tmp_path / "tftp" / "deb" / "debian-live.iso").exists()


def test_refusals_name_what_was_seen(
    tmp_path: Path, profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\0" * 40000)
    code, _, err = run(capsys, str(junk), "--profile", str(profile))
    assert code == 1 and "not an ISO9660 image (no 'CD001' at byte 0x8001)" in err

    odd = make_iso(tmp_path / "odd.iso", {"README": b"hello"})
    code, _, err = run(capsys, str(odd), "--profile", str(profile))
    assert code == 1
    assert "no known boot layout; looked for Azure Linux: boot/vmlinuz" in err
    assert "images/pxeboot/vmlinuz" in err and "live/filesystem.squashfs" in err

    fedora = make_iso(tmp_path / "f.iso", FEDORA)
    code, _, err = run(capsys, str(fedora), "--profile", str(profile), "--name", "old")
    assert code == 1 and "already has an entry 'old'" in err
    (tmp_path / "tftp" / "taken").mkdir()
    code, _, err = run(capsys, str(fedora), "--profile", str(profile), "--name", "taken")
    assert code == 1 and "taken already exists" in err
    code, _, err = run(capsys, str(tmp_path / "missing.iso"), "--profile", str(profile))
    assert code == 1 and "no such file" in err
    assert not list((tmp_path / "tftp").glob("*/*")), "a refused import left files behind"


def test_a_truncated_iso_leaves_nothing_behind(
    tmp_path: Path, profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iso = make_iso(tmp_path / "f.iso", {**FEDORA, "images/pxeboot/initrd.img": b"i" * BIG})
    data = iso.read_bytes()
    iso.write_bytes(data[: len(data) - BIG // 2])  # the initrd's extent runs past the end
    code, _, err = run(capsys, str(iso), "--profile", str(profile), "--name", "cut")
    assert code == 1 and "past the image's end" in err, err
    assert not (tmp_path / "tftp" / "cut").exists()
    iso.write_bytes(data)
    code, _, err = run(capsys, str(iso), "--profile", str(profile), "--name", "cut")
    assert code == 0, err


def test_a_copy_failing_half_way_removes_what_the_import_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The TFTP copies succeed, the HTTP root cannot take files (it is a plain file here):
    the import fails with the OS's reason and the TFTP side is cleaned up."""
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE.replace("http: {port: 8080}", "http: {port: 8080, root: web}"))
    (tmp_path / "tftp").mkdir()
    (tmp_path / "web").write_text("not a directory")
    iso = make_iso(tmp_path / "f.iso", FEDORA)
    code, _, err = run(capsys, str(iso), "--profile", str(profile), "--name", "half")
    assert code == 1 and "web" in err, err
    assert "-> " in err, "nothing was copied before the failure: the test proves nothing"
    assert not (tmp_path / "tftp" / "half").exists()


def test_config_args_keep_the_isos_own_arguments_minus_what_pxetui_renders() -> None:
    text = (
        "set timeout=5\nmenuentry 'Live' {\n"
        "  linux /boot/vmlinuz root=live:CDLABEL=X rd.live.image rd.live.overlay.overlayfs=1 "
        "ip=dhcp rd.neednet=1 BOOT_IMAGE=/x console=ttyS0 selinux=0 ${extra} $x\n}\n"
    )
    assert config_args(text) == "console=ttyS0 selinux=0"
    assert config_args("append initrd=/i.img boot=live quiet\n") == "quiet"
    assert config_args("no kernel lines here\n") == ""


# --- the progress line ----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_into_a_log_writes_one_line_per_step_however_many_chunks() -> None:
    out = io.StringIO()
    clock = FakeClock()
    total = 4 << 30
    line = ProgressLine("big.iso", total, out, tty=False, clock=clock)
    chunk = total // 40_000
    for _ in range(40_000):
        clock.now += 0.001
        line.advance(chunk)
    line.advance(total - line.done)
    line.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) <= 100 // STEP_PERCENT + 1
    assert all(text.startswith("copying big.iso") for text in lines), lines
    assert lines[-1] == "copying big.iso  100%  4.0 GiB / 4.0 GiB  in 40.0 s"


def test_progress_on_a_terminal_redraws_at_most_every_quarter_second() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    clock = FakeClock()
    line = ProgressLine("x", 1000, out, clock=clock)
    for _ in range(1000):  # 10 s of 1-byte chunks every 10 ms
        clock.now += 0.01
        line.advance(1)
    line.finish()
    redraws = out.getvalue().count("\r")
    assert 30 <= redraws <= 10 / 0.25 + 2, redraws
    assert out.getvalue().endswith("copying x  100%  1000 B / 1000 B  in 10.0 s\n")


def test_human_sizes() -> None:
    assert [human(n) for n in (0, 1023, 1024, 5 << 20, 3 << 30)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "5.0 MiB",
        "3.0 GiB",
    ]
