"""A real dracut initrd and tiny live root images, built from Debian packages for the lab.

``build_live_initrd()`` fetches Debian 12's dracut 059 (``dracut-core``, ``dracut-network``,
``dracut-live``) and the tools its modules need that a plain host lacks (``kmod``, ``udev``,
``isc-dhcp-client``, ``iputils-arping``) with ``apt-get download``, unpacks them into the
cache (``/var/cache/pxetui-dracut``, or ``$PXETUI_DRACUT_CACHE``) and runs the unpacked
dracut inside a private mount namespace whose ``/usr`` is a read-only overlay of the
unpacked packages over the host's ``/usr``: dracut sees its modules and tools where it
expects them, and nothing is installed on the host. The kernel and the handful of module
directories the initrd needs come from the lab's Debian kernel (:mod:`pxetui.lab.guest`).

The initrd has no systemd (``network-legacy livenet dmsquash-live``: with systemd in the
initrd, dracut 059 picks a networkd module that never runs livenet's hook); it is built
uncompressed (TCG decompresses slowly) and cached, keyed by the kernel and dracut versions.

``build_live_root(layout, dest)`` makes a live image whose ``/sbin/init`` prints
:data:`LIVE_MARKER` and the kernel command line to the console and powers off, so a serial
line alone proves "dracut mounted the live root and its init ran":

- ``squashfs-tree``: a squashfs holding the root tree directly (the modern layout);
- ``squashfs-rootfs``: a squashfs holding ``LiveOS/rootfs.img`` (ext4; the classic one);
- ``iso``: a LiveOS ISO (``LiveOS/squashfs.img`` with the root tree) made with xorriso.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pxetui.lab.guest import (
    AptCache,
    GuestFetchError,
    Say,
    fetch_busybox,
    fetch_kernel,
    module_depends,
)
from pxetui.lab.guest import default_cache as lab_cache

LiveLayout = Literal["squashfs-tree", "squashfs-rootfs", "iso"]
LIVE_LAYOUTS: tuple[LiveLayout, ...] = ("squashfs-tree", "squashfs-rootfs", "iso")

BUILD_VERSION = 2  # bump when the dracut command line changes: cached initrds are rebuilt
ROOT_VERSION = 1  # bump when the live root's init changes
LIVE_MARKER = "PXETUI-LIVE-ROOT"
"""What the live root's ``/sbin/init`` prints first: ``PXETUI-LIVE-ROOT layout=<layout>``."""

DRACUT_PACKAGES = ("dracut-core", "dracut-network", "dracut-live", "kmod")
"""dracut 059 itself, and kmod (depmod, modprobe: the kernel package ships no modules.dep)."""
TOOL_PACKAGES = ("isc-dhcp-client", "iputils-arping")
"""What network-legacy requires beyond the host (dhclient, arping); udev is added pinned to
the host's libudev1, whose libsystemd-shared it links against."""
DRACUT_MODULES = "bash base network-legacy livenet dmsquash-live"
DRIVERS = "virtio_net virtio_pci squashfs overlay loop isofs ext4 dm_mod dm_snapshot"
"""The NIC, the image filesystems and what dmsquash-live mounts them with."""
_MODULE_DIRS = (
    "kernel/drivers/virtio/",
    "kernel/drivers/net/virtio_net.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/block/loop.ko",
    "kernel/drivers/md/dm-",
    "kernel/drivers/cdrom/",
    "kernel/fs/",
    "kernel/lib/",
    "kernel/crypto/",
)
"""The parts of the kernel's module tree the drivers above (and their depends) live in."""
_MODULE_FILES = ("modules.order", "modules.builtin", "modules.builtin.modinfo")
_TIMEOUT = 300.0


def _quiet(_: str) -> None:
    return None


def default_cache() -> Path:
    return Path(os.environ.get("PXETUI_DRACUT_CACHE", "/var/cache/pxetui-dracut"))


class DracutBuildError(RuntimeError):
    """dracut (or a package it needs) failed; the text carries the tool's last output."""


@dataclass(frozen=True, slots=True)
class LiveInitrd:
    """A Debian kernel and a dracut initrd built for it (both world-readable, cached)."""

    kernel: Path
    initrd: Path
    kver: str


def _run(argv: list[str], what: str, timeout: float = _TIMEOUT) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise DracutBuildError(f"{what} failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def _deb_version(deb: Path) -> str:
    return _run(["dpkg-deb", "-f", str(deb), "Version"], f"dpkg-deb -f {deb}").strip()


def _host_udev_version() -> str:
    out = _run(["dpkg-query", "-W", "-f=${Version}", "libudev1"], "dpkg-query libudev1")
    return out.strip()


def _unpack_tools(apt: AptCache, dest: Path, say: Say) -> str:
    """dracut and its tools unpacked as a merged ``/usr`` under *dest*; dracut's version."""
    debs = [apt.download(p) for p in (*DRACUT_PACKAGES, *TOOL_PACKAGES)]
    try:  # udev links against the host's libsystemd-shared: the same version if apt has it
        debs.append(apt.download("udev", _host_udev_version()))
    except GuestFetchError as exc:
        say(f"udev of the host's version not downloadable ({exc}); taking apt's candidate")
        debs.append(apt.download("udev"))
    version = _deb_version(debs[0])
    done = dest / ".complete"
    if done.exists():
        return version
    shutil.rmtree(dest, ignore_errors=True)
    staging = dest.with_name(dest.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for deb in debs:
        say(f"unpacking {deb.name}")
        _run(["dpkg-deb", "-x", str(deb), str(staging)], f"dpkg-deb -x {deb.name}")
    usr = staging / "usr"
    for top in ("bin", "sbin", "lib"):  # Debian 12 is merged-/usr: /bin is usr/bin
        src = staging / top
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, usr / top, symlinks=True, dirs_exist_ok=True)
            shutil.rmtree(src)
    staging.rename(dest)
    done.write_text(version + "\n")
    return version


def _unpack_modules(deb: Path, kver: str, dest: Path, say: Say) -> Path:
    """The module directories the initrd needs, with ``modules.dep`` made by depmod."""
    moddir = dest / "lib" / "modules" / kver
    if (dest / ".complete").exists():
        return moddir
    shutil.rmtree(dest, ignore_errors=True)
    prefix = f"./lib/modules/{kver}/"
    say(f"extracting kernel modules from {deb.name}")
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for member in tar:
                rel = member.name.removeprefix(prefix)
                if rel == member.name or not member.isfile():
                    continue
                if not (rel in _MODULE_FILES or rel.startswith(_MODULE_DIRS)):
                    continue
                src = tar.extractfile(member)
                if src is None or ".." in rel.split("/"):
                    continue
                target = moddir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as fh:
                    shutil.copyfileobj(src, fh)
    if p.returncode not in (0, None):
        raise DracutBuildError(f"dpkg-deb --fsys-tarfile {deb} exited {p.returncode}")
    check_module_closure(moddir, DRIVERS.split())
    (dest / ".complete").write_text(kver + "\n")
    return moddir


def check_module_closure(moddir: Path, seeds: list[str]) -> None:
    """Every module *seeds* need (``depends=``, transitively) is in *moddir* or built in:
    a missing one would only show at boot (``isofs: Unknown symbol cdrom_…``)."""
    found = {p.stem.replace("-", "_"): p for p in moddir.rglob("*.ko")}
    builtin_file = moddir / "modules.builtin"
    builtin_text = builtin_file.read_text() if builtin_file.exists() else ""
    builtin = {Path(line).stem.replace("-", "_") for line in builtin_text.split()}
    todo, seen = list(seeds), set[str]()
    while todo:
        name = todo.pop().replace("-", "_")
        if name in seen or name in builtin:
            continue
        seen.add(name)
        if name not in found:
            raise DracutBuildError(f"kernel module {name} is not among those extracted")
        todo += [d for d in module_depends(found[name].read_bytes()) if d]


def _dracut_script(tools: Path, kmoddir: Path, kver: str, out: Path, conf: Path) -> str:
    """What runs inside the private mount namespace: the overlay, depmod, dracut."""
    return "\n".join(
        [
            "set -e",
            f"mount -t overlay pxetui-dracut -o lowerdir={tools}/usr:/usr /usr",
            f"depmod -b {kmoddir.parents[2]} {kver}",
            f"dracut --quiet --force --no-hostonly --no-early-microcode --no-compress "
            f"--conf /dev/null --confdir {conf} --kver {kver} --kmoddir {kmoddir} "
            f'-m "{DRACUT_MODULES}" --add-drivers "{DRIVERS}" {out}',
        ]
    )


def build_live_initrd(say: Say = _quiet, cache: Path | None = None) -> LiveInitrd:
    """The lab kernel and a real dracut initrd with livenet + dmsquash-live (cached).

    The first build downloads ~3 MB of packages and runs dracut (~6 s); later calls return
    the cached files. Needs root (a private mount namespace for the overlay). Concurrent
    callers (parallel test runs) wait for one another on a lock file in the cache.
    """
    root = cache or default_cache()
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:  # one builder at a time (parallel test runs)
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_live_initrd(root, say)


def _build_live_initrd(root: Path, say: Say) -> LiveInitrd:
    kernel = fetch_kernel("amd64", say=say)
    apt = AptCache(lab_cache(), "amd64", say)
    apt.update()
    tools_version = _unpack_tools(apt, root / "tools", say)
    kver = kernel.version
    out = root / f"initrd-{kver}-dracut{tools_version}-b{BUILD_VERSION}.img"
    if not out.exists():
        kdeb = apt.download(f"linux-image-{kver}")
        kmoddir = _unpack_modules(kdeb, kver, root / f"modules-{kver}-b{BUILD_VERSION}", say)
        conf = root / "empty.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        say(f"running dracut {tools_version} for {kver}")
        script = _dracut_script(root / "tools", kmoddir, kver, tmp, conf)
        _run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], "dracut")
        tmp.chmod(0o644)  # dracut writes 0600: the HTTP and TFTP servers would refuse it
        tmp.replace(out)
    return LiveInitrd(kernel.vmlinuz, out, kver)


# --- live root images -----------------------------------------------------------------------

_APPLETS = ("sh", "cat", "echo", "poweroff", "grep", "mount", "sleep")


def init_script(layout: str) -> str:
    """The live root's ``/sbin/init``: marker, the root mount, the command line, power off."""
    return "\n".join(
        [
            "#!/bin/sh",
            "exec >/dev/console 2>&1",
            "echo",
            f'echo "{LIVE_MARKER} layout={layout} pid=$$"',
            'echo "PXETUI-LIVE-MOUNT: $(grep " / " /proc/mounts | head -n 1)"',
            'echo "PXETUI-CMDLINE: $(cat /proc/cmdline)"',
            'echo "PXETUI-POWEROFF"',
            "poweroff -f",
            "",
        ]
    )


def _root_tree(tree: Path, layout: str) -> None:
    busybox = fetch_busybox("amd64")
    for d in ("bin", "sbin", "dev", "proc", "sys", "run", "tmp", "etc", "root"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(busybox, tree / "bin" / "busybox")
    (tree / "bin" / "busybox").chmod(0o755)
    for applet in _APPLETS:
        (tree / "bin" / applet).symlink_to("busybox")
    (tree / "usr").mkdir(exist_ok=True)
    (tree / "usr" / "bin").symlink_to("../bin")
    init = tree / "sbin" / "init"
    init.write_text(init_script(layout))
    init.chmod(0o755)
    (tree / "etc" / "os-release").write_text(f'NAME="pxetui live ({layout})"\nID=pxetui\n')


def _mksquashfs(src: Path, out: Path) -> None:
    out.unlink(missing_ok=True)
    _run(["mksquashfs", str(src), str(out), "-noappend", "-quiet", "-no-progress"], "mksquashfs")


def _mkext4(src: Path, out: Path, size_mb: int = 16) -> None:
    out.unlink(missing_ok=True)
    _run(["mkfs.ext4", "-q", "-F", "-d", str(src), str(out), f"{size_mb}M"], "mkfs.ext4")


def make_iso(stage: Path, out: Path, label: str) -> Path:
    """An ISO9660 (Rock Ridge + Joliet) image of *stage* made with xorriso."""
    out.unlink(missing_ok=True)
    argv = ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", label, "-o", str(out)]
    _run([*argv, str(stage)], "xorriso")
    out.chmod(0o644)
    return out


def build_live_root(
    layout: LiveLayout, dest: Path, extra: Callable[[Path], None] | None = None
) -> Path:
    """A live image of *layout* at *dest* (world-readable). *extra* may add files to the
    ISO's staging directory before it is written (``images/pxeboot/…`` for import tests)."""
    work = dest.with_name(dest.name + ".d")
    shutil.rmtree(work, ignore_errors=True)
    tree = work / "tree"
    _root_tree(tree, layout)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if layout == "squashfs-tree":
        _mksquashfs(tree, dest)
    elif layout == "squashfs-rootfs":
        stage = work / "stage"
        (stage / "LiveOS").mkdir(parents=True)
        _mkext4(tree, stage / "LiveOS" / "rootfs.img")
        _mksquashfs(stage, dest)
    else:
        stage = work / "iso"
        (stage / "LiveOS").mkdir(parents=True)
        _mksquashfs(tree, stage / "LiveOS" / "squashfs.img")
        if extra is not None:
            extra(stage)
        make_iso(stage, dest, "PXETUI-LIVE")
    dest.chmod(0o644)
    shutil.rmtree(work, ignore_errors=True)
    return dest


# --- ISOs in the layouts `pxetui import` reads --------------------------------------------

IsoKind = Literal["azure-linux", "fedora-liveos", "debian-live"]
ISO_KINDS: tuple[IsoKind, ...] = ("azure-linux", "fedora-liveos", "debian-live")
IMPORT_ARGS = "console=ttyS0,115200 no_timer_check panic=-1 rd.shell=0"
"""The kernel arguments the ISOs' own boot configs carry (``pxetui import`` keeps them)."""


def _put(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def build_import_iso(kind: IsoKind, dest: Path, live: LiveInitrd) -> Path:
    """An ISO laid out like *kind*'s, holding the lab kernel, the dracut initrd and a live
    root (``LiveOS/squashfs.img``, or ``live/filesystem.squashfs`` for Debian live)."""
    if kind == "debian-live":
        work = dest.with_name(dest.name + ".d")
        shutil.rmtree(work, ignore_errors=True)
        stage = work / "iso"
        _put(live.kernel, stage / "live" / f"vmlinuz-{live.kver}")
        _put(live.initrd, stage / "live" / f"initrd.img-{live.kver}")
        _root_tree(work / "tree", "debian-live")
        _mksquashfs(work / "tree", stage / "live" / "filesystem.squashfs")
        grub = stage / "boot" / "grub" / "grub.cfg"
        grub.parent.mkdir(parents=True)
        grub.write_text(
            f"linux /live/vmlinuz-{live.kver} boot=live components {IMPORT_ARGS}\n"
            f"initrd /live/initrd.img-{live.kver}\n"
        )
        make_iso(stage, dest, "PXETUI-DEBIAN")
        shutil.rmtree(work, ignore_errors=True)
        return dest

    def extra(stage: Path) -> None:
        if kind == "azure-linux":
            _put(live.kernel, stage / "boot" / "vmlinuz")
            _put(live.initrd, stage / "boot" / "initrd.img")
            for name in ("bootx64.efi", "grubx64.efi"):  # stand-ins: bytes, not loaders
                efi = stage / "efi" / "boot" / name
                efi.parent.mkdir(parents=True, exist_ok=True)
                efi.write_bytes(b"MZ pxetui stand-in for " + name.encode())
            cfg = stage / "boot" / "grub2" / "grub-pxe.cfg"
            cfg.parent.mkdir(parents=True)
            cfg.write_text(
                "menuentry 'Azure Linux LiveOS' {\n"
                "  linux /boot/vmlinuz root=live:http://192.0.2.1/azl.iso rd.live.image "
                f"{IMPORT_ARGS} pxetui.iso=azure-linux\n"
                "  initrd /boot/initrd.img\n}\n"
            )
        else:
            _put(live.kernel, stage / "images" / "pxeboot" / "vmlinuz")
            _put(live.initrd, stage / "images" / "pxeboot" / "initrd.img")
            cfg = stage / "EFI" / "BOOT" / "grub.cfg"
            cfg.parent.mkdir(parents=True)
            cfg.write_text(
                "menuentry 'Start Fedora Live' {\n"
                "  linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=PXETUI-LIVE "
                f"rd.live.image {IMPORT_ARGS} pxetui.iso=fedora-liveos\n"
                "  initrdefi /images/pxeboot/initrd.img\n}\n"
            )

    return build_live_root("iso", dest, extra)
