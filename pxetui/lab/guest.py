"""The lab's guest: a Debian kernel and a tiny busybox initrd that proves a boot happened.

Kernel and busybox come from Debian packages fetched on first use into a cache outside the
repository (``/var/cache/pxetui-lab``, or ``$PXETUI_LAB_CACHE``) with ``apt-get download``;
nothing is installed on the host. Only the files the guest needs are extracted from each
package (the kernel image, a handful of modules, the static busybox), so the cache stays
small. The initrd's ``/init`` prints a marker line and ``/proc/cmdline`` to the console and
powers off, so a test (or the lab) can tell from the serial line alone that *this* kernel
booted with *these* arguments.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pxetui.lab.cpio import CpioEntry, write_newc

GuestArch = Literal["amd64", "s390x"]
Say = Callable[[str], None]

INIT_VERSION = 5  # bump when init_script changes: cached initrds are rebuilt
MARKER_PREFIX = "PXETUI-BOOTED"
CMDLINE_PREFIX = "PXETUI-CMDLINE:"
SQUASHFS_PREFIX = "PXETUI-SQUASHFS:"

# The package ships no modules.dep (depmod runs at install time), so this order is checked
# against each module's own ``depends=`` by :func:`module_load_order` when the initrd is built.
DISKLESS_MODULES = (
    "virtio_ring",
    "virtio",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
    "loop",
    "squashfs",
)

_APPLETS = (
    *("sh", "cat", "echo", "mount", "umount", "mkdir", "ls", "insmod", "poweroff", "sleep"),
    *("udhcpc", "wget", "ifconfig", "route", "ip", "uname", "losetup", "tr", "head", "wc"),
    "sed",
)


def default_cache() -> Path:
    return Path(os.environ.get("PXETUI_LAB_CACHE", "/var/cache/pxetui-lab"))


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class GuestKernel:
    """A kernel image and (x86 only) the modules the diskless init loads, all in the cache."""

    arch: GuestArch
    version: str
    vmlinuz: Path
    modules: dict[str, Path]


class GuestFetchError(RuntimeError):
    """apt could not provide a package (no network, unknown version, …)."""


class AptCache:
    """``apt-get`` with a private state directory per architecture.

    A private ``Dir::State::Lists`` means the host's own apt state is never touched, and the
    s390x package lists (APT::Architecture=s390x) live next to the amd64 ones.
    """

    def __init__(self, cache: Path, arch: GuestArch, say: Say = _quiet) -> None:
        self.root = cache / arch
        self.arch = arch
        self.say = say
        self._lists = self.root / "lists"
        self._aptcache = self.root / "aptcache"

    def _options(self) -> list[str]:
        return [
            "-o",
            f"APT::Architecture={self.arch}",
            "-o",
            f"APT::Architectures={self.arch}",
            "-o",
            f"Dir::State::Lists={self._lists}",
            "-o",
            f"Dir::Cache={self._aptcache}",
        ]

    def _run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        cmd = [tool, "-q", *self._options(), *args]
        proc = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
        )
        if proc.returncode != 0:
            raise GuestFetchError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
        return proc.stdout

    def update(self) -> None:
        """Fetch the package lists once (they are reused until the cache is removed)."""
        if any(self._lists.glob("*Packages*")):
            return
        for d in (self._lists / "partial", self._aptcache / "archives" / "partial"):
            d.mkdir(parents=True, exist_ok=True)
        self.say(f"apt-get update for {self.arch} into {self._lists}")
        self._run("apt-get", "update")

    def kernel_package(self) -> str:
        """``linux-image-6.1.0-NN-<flavour>``: what the metapackage depends on today."""
        flavour = "amd64" if self.arch == "amd64" else "s390x"
        out = self._run("apt-cache", "depends", f"linux-image-{flavour}")
        for line in out.splitlines():
            name = line.strip().removeprefix("Depends:").strip()
            if line.strip().startswith("Depends:") and name.startswith("linux-image-"):
                return name
        raise GuestFetchError(f"no kernel package behind linux-image-{flavour}")

    def download(self, package: str, version: str | None = None) -> Path:
        """The ``.deb`` of *package* (of exactly *version* if given), downloaded into the
        cache unless already there."""
        debs = self.root / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        pattern = f"{package}_{version.replace(':', '%3a') if version else '*'}_*.deb"
        found = sorted(debs.glob(pattern))
        if found:
            return found[-1]
        self.say(f"apt-get download {package} ({self.arch}) into {debs}")
        spec = f"{package}:{self.arch}" + (f"={version}" if version else "")
        self._run("apt-get", "download", spec, cwd=debs)
        found = sorted(debs.glob(pattern))
        if not found:
            raise GuestFetchError(f"apt-get download {package} left no .deb in {debs}")
        return found[-1]


def _extract(deb: Path, wanted: Callable[[str], str | None], dest: Path) -> list[Path]:
    """Extract members whose name *wanted* maps to a destination name (flattened)."""
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                target = wanted(member.name)
                if target is None or not member.isfile():
                    continue
                src = tar.extractfile(member)
                if src is None:
                    continue
                path = dest / target
                tmp = path.with_suffix(path.suffix + ".part")
                with tmp.open("wb") as fh:
                    shutil.copyfileobj(src, fh)
                tmp.replace(path)
                out.append(path)
    if proc.returncode not in (0, None):
        raise GuestFetchError(f"dpkg-deb --fsys-tarfile {deb} exited {proc.returncode}")
    return out


def fetch_kernel(arch: GuestArch, cache: Path | None = None, say: Say = _quiet) -> GuestKernel:
    """The Debian kernel for *arch* (downloaded and extracted on first use)."""
    apt = AptCache(cache or default_cache(), arch, say)
    done = sorted(apt.root.glob("kernel-*/.complete"))
    if done:
        kdir = done[-1].parent
    else:
        apt.update()
        package = apt.kernel_package()
        deb = apt.download(package)
        kdir = apt.root / f"kernel-{package.removeprefix('linux-image-')}"
        want_mods = {f"{m}.ko" for m in DISKLESS_MODULES} if arch == "amd64" else set()

        def wanted(name: str) -> str | None:
            base = name.rsplit("/", 1)[-1]
            if name.startswith("./boot/vmlinu"):
                return "vmlinuz"
            if "/lib/modules/" in name and base in want_mods:
                return base
            return None

        say(f"extracting the kernel and {len(want_mods)} modules from {deb.name}")
        got = {p.name for p in _extract(deb, wanted, kdir)}
        missing = ({"vmlinuz"} | want_mods) - got
        if missing:
            raise GuestFetchError(f"{deb.name} lacks {sorted(missing)}")
        (kdir / ".complete").write_text(package + "\n")
    version = kdir.name.removeprefix("kernel-")
    modules = {p.stem: p for p in kdir.glob("*.ko")}
    return GuestKernel(arch, version, kdir / "vmlinuz", modules)


def fetch_busybox(arch: GuestArch, cache: Path | None = None, say: Say = _quiet) -> Path:
    """A static busybox for *arch* from Debian's busybox-static (cached)."""
    apt = AptCache(cache or default_cache(), arch, say)
    path = apt.root / "busybox" / "busybox"
    if path.exists():
        return path
    apt.update()
    deb = apt.download("busybox-static")
    got = _extract(deb, lambda n: "busybox" if n == "./bin/busybox" else None, path.parent)
    if not got:
        raise GuestFetchError(f"{deb.name} has no ./bin/busybox")
    path.chmod(0o755)
    return path


def module_depends(ko: bytes) -> list[str]:
    """The ``depends=`` list from a module's .modinfo section."""
    match = re.search(rb"depends=([^\x00]*)", ko)
    if match is None or not match.group(1):
        return []
    return match.group(1).decode().split(",")


def module_load_order(modules: dict[str, bytes]) -> list[str]:
    """*modules* ordered so each comes after what it depends on (insmod does not resolve)."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in path:
            raise ValueError(f"module dependency cycle: {' -> '.join((*path, name))}")
        for dep in module_depends(modules[name]):
            if dep not in modules:
                raise ValueError(f"module {name} needs {dep}, which is not in the initrd")
            visit(dep, (*path, name))
        order.append(name)

    for name in modules:
        visit(name, ())
    return order


def init_script(
    marker: str, diskless: bool = False, modules: tuple[str, ...] = DISKLESS_MODULES
) -> str:
    """The guest's ``/init``: print the marker and the kernel command line, power off.

    The diskless variant first brings the NIC up (virtio modules from the kernel package,
    busybox udhcpc), fetches ``root=live:<url>`` (or ``pxetui.squashfs=<url>``) over HTTP,
    loop-mounts it and prints its ``marker.txt`` — a stand-in for dracut's livenet.
    """
    lines = [
        "#!/bin/sh",
        "/bin/busybox mkdir -p /proc /sys /tmp /mnt",
        "/bin/busybox mount -t proc proc /proc",
        "/bin/busybox mount -t sysfs sys /sys",
        "echo",  # the loader's last line may lack its newline ("... ok")
        f'echo "{MARKER_PREFIX} marker={marker} arch=$(uname -m) kernel=$(uname -r)"',
        f'echo "{CMDLINE_PREFIX} $(cat /proc/cmdline)"',
    ]
    if diskless:
        mods = " ".join(modules)
        lines += [
            f"for m in {mods}; do",
            f'  insmod /lib/modules/$m.ko 2>&1 | sed "s/^/{SQUASHFS_PREFIX} insmod $m: /"',
            "done",
            "url=",
            "for a in $(cat /proc/cmdline); do",
            "  case $a in root=live:*) url=${a#root=live:};; pxetui.squashfs=*) "
            "url=${a#pxetui.squashfs=};; esac",
            "done",
            "iface=",
            "for i in 1 2 3 4 5 6 7 8 9 10; do",
            "  for n in $(ls /sys/class/net); do [ $n != lo ] && iface=$n; done",
            '  [ -n "$iface" ] && break; sleep 0.5',
            "done",
            f'echo "{SQUASHFS_PREFIX} iface=$iface url=$url"',
            "ifconfig $iface up",
            "udhcpc -i $iface -s /bin/udhcpc.script -q -n -t 5 -T 2 2>&1 | "
            f'sed "s/^/{SQUASHFS_PREFIX} /"',
            f'wget -q -O /tmp/root.squashfs "$url" && echo "{SQUASHFS_PREFIX} downloaded '
            '$(wc -c < /tmp/root.squashfs) bytes"',
            "mount -t squashfs -o loop,ro /tmp/root.squashfs /mnt && "
            f'echo "{SQUASHFS_PREFIX} mounted $(cat /mnt/marker.txt)"',
        ]
    lines += ['echo "PXETUI-POWEROFF"', "poweroff -f", ""]
    return "\n".join(lines)


_UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
    [ -n "$router" ] && route add default gw "${router%% *}" dev "$interface"
    ;;
esac
exit 0
"""


def build_initrd(
    busybox: Path,
    marker: str,
    out: Path,
    kernel: GuestKernel | None = None,
    padding: int = 0,
) -> Path:
    """Write a gzip'd initramfs to *out*; with *kernel* it is the diskless variant.

    *padding* adds that many bytes of incompressible data (``/padding.bin``) — the
    deliberate large initrd that shows the TFTP/HTTP difference.
    """
    entries = [CpioEntry.directory(d) for d in ("bin", "dev", "proc", "sys", "tmp", "mnt")]
    entries.append(CpioEntry.char_device("dev/console", 5, 1))
    entries.append(CpioEntry.file("bin/busybox", busybox.read_bytes(), executable=True))
    entries += [CpioEntry.symlink(f"bin/{a}", "busybox") for a in _APPLETS]
    entries.append(CpioEntry.file("init", init_script(marker, kernel is not None).encode(), True))
    if kernel is not None:
        entries.append(CpioEntry.file("bin/udhcpc.script", _UDHCPC_SCRIPT.encode(), True))
        entries += [CpioEntry.directory("lib"), CpioEntry.directory("lib/modules")]
        for name in DISKLESS_MODULES:
            entries.append(
                CpioEntry.file(f"lib/modules/{name}.ko", kernel.modules[name].read_bytes())
            )
    if padding:
        entries.append(CpioEntry.file("padding.bin", os.urandom(padding)))
    data = write_newc(entries)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(gzip.compress(data, compresslevel=1 if padding else 6, mtime=0))
    tmp.replace(out)
    return out


def build_squashfs(marker: str, out: Path, padding: int = 0) -> Path:
    """A squashfs image whose ``marker.txt`` holds *marker* (mksquashfs from squashfs-tools).

    It also has an ``etc/`` like a root tree, so ``pxetui check`` (which inspects live
    images) takes it for the modern live layout it stands in for."""
    src = out.with_name(out.name + ".d")
    shutil.rmtree(src, ignore_errors=True)
    (src / "etc").mkdir(parents=True)
    (src / "etc" / "os-release").write_text("NAME=\"pxetui lab stand-in root\"\n")
    (src / "marker.txt").write_text(marker + "\n")
    if padding:
        (src / "padding.bin").write_bytes(os.urandom(padding))
    out.unlink(missing_ok=True)
    subprocess.run(
        ["mksquashfs", str(src), str(out), "-noappend", "-quiet", "-no-progress"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    shutil.rmtree(src, ignore_errors=True)
    return out
