"""Build and fetch what the bench runs that is not on the machine as-is.

Why a cache outside the repo: the C client and relay are compiled with gcc at bench time, and
atftpd cannot be apt-installed next to tftpd-hpa (the packages conflict), so its .deb is
downloaded and unpacked. None of that belongs in the git tree; it lives in ``CACHE`` and is
rebuilt only when a source file changes.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

CACHE = Path("/var/cache/pxetui-bench")
BENCH_DIR = Path(__file__).resolve().parent


def compiled(source_name: str, binary_name: str) -> Path:
    """The binary built from ``bench/<source_name>``, compiling it if the source changed."""
    source = BENCH_DIR / source_name
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    out = CACHE / "bin" / f"{binary_name}-{digest}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        proc = subprocess.run(
            ["gcc", "-O2", "-Wall", "-Wextra", "-o", str(tmp), str(source)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"gcc {source_name} failed:\n{proc.stderr}")
        tmp.rename(out)
    return out


def tftp_client() -> Path:
    """The fast multi-transfer TFTP client (bench/tftp_client.c)."""
    return compiled("tftp_client.c", "pxb-tftpc")


def relay() -> Path:
    """The tun relay that adds delay and ACK loss (bench/relay.c)."""
    return compiled("relay.c", "pxb-relay")


def atftpd() -> Path:
    """atftpd from its Debian package, unpacked into the cache (it conflicts with tftpd-hpa)."""
    binary = CACHE / "atftpd" / "usr" / "sbin" / "atftpd"
    if binary.exists():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    debs = sorted(CACHE.glob("atftpd_*.deb"))
    if not debs:
        subprocess.run(
            ["apt-get", "download", "-q", "atftpd"],
            cwd=CACHE,
            check=True,
            capture_output=True,
            timeout=180,
        )
        debs = sorted(CACHE.glob("atftpd_*.deb"))
    if not debs:
        raise RuntimeError("apt-get download atftpd produced no .deb")
    subprocess.run(["dpkg", "-x", str(debs[-1]), str(CACHE / "atftpd")], check=True, timeout=60)
    return binary
