"""A throwaway PostgreSQL cluster for the shared-store tests and bench: initdb on a temp dir,
a unix socket only (no TCP), run as the ``postgres`` user (PostgreSQL refuses root), no
system service touched.

Stopped and removed by :meth:`PgCluster.remove`, also after failures.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

BIN = Path("/usr/lib/postgresql")
USER = "postgres"


def pg_bin(tool: str) -> Path | None:
    """The newest installed PostgreSQL's *tool* (Debian keeps them off PATH)."""
    found = sorted(BIN.glob(f"*/bin/{tool}"), key=lambda p: int(p.parts[-3]))
    return found[-1] if found else None


class PgCluster:
    def __init__(self) -> None:
        initdb = pg_bin("initdb")
        if initdb is None or os.geteuid() != 0:
            raise RuntimeError("needs root and Debian's postgresql (.ci/setup-dev installs it)")
        self.bin = initdb.parent
        self.dir = Path(tempfile.mkdtemp(prefix="pxfl-pg-"))
        self.data = self.dir / "data"
        self.socket_dir = self.dir
        self.log = self.dir / "postgres.log"
        user = pwd.getpwnam(USER)
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._as_user(
            str(initdb), "-D", str(self.data), "-U", USER, "--auth=trust", "--no-sync",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@/postgres?host={self.socket_dir}"

    def _as_user(self, *argv: str, timeout: float = 60) -> str:
        proc = subprocess.run(
            ["runuser", "-u", USER, "--", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def start(self) -> None:
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off"
        self._as_user(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_user(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def sql(self, query: str) -> str:
        """Run *query* with psql; its unaligned, tuples-only output."""
        return self._as_user(
            str(self.bin / "psql"), "-h", str(self.socket_dir), "-U", USER, "-d", "postgres",
            "-At", "-c", query, timeout=20,
        ).strip()  # fmt: skip

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                self._as_user(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                )
        shutil.rmtree(self.dir, ignore_errors=True)
