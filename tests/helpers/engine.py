"""A real ``pxetui serve --profile`` as its own process, for tests (and the UI bench).

:func:`start_serve` waits (bounded) for the control socket and fails with the engine's own
output when it exits or never listens; :meth:`ServedEngine.stop` is TERM, then KILL. The
process runs in its own session, so a signal to the test's process group never reaches it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.profiles import loopback_profile, write_loopback_profile
from tests.helpers.wait import wait_for

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ServedEngine:
    process: subprocess.Popen[bytes]
    socket_path: Path
    log: Path

    def output(self, tail: int = 2000) -> str:
        """The end of what the engine wrote (its event lines, its errors)."""
        try:
            return self.log.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, wait up to *grace* seconds, then SIGKILL; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_serve(
    profile: Path,
    *,
    socket_path: Path | None = None,
    log: Path | None = None,
    timeout: float = 30.0,
) -> ServedEngine:
    """Start the engine on *profile*; return once its control socket exists.

    The socket is *socket_path* (``--socket``) or the profile's ``state/control.sock``
    (``state_dir: state``, as :func:`tests.helpers.profiles.loopback_profile` writes)."""
    argv = [sys.executable, "-m", "pxetui", "serve", "--profile", str(profile)]
    if socket_path is not None:
        argv += ["--socket", str(socket_path)]
    control = socket_path or profile.parent / "state" / "control.sock"
    log = log or profile.parent / "engine.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    engine = ServedEngine(process, control, log)
    try:
        wait_for(
            lambda: control.exists() or process.poll() is not None,
            timeout,
            f"the engine's control socket {control}",
            engine.output,
        )
        if not control.exists():
            raise AssertionError(f"the engine exited {process.returncode}:\n{engine.output()}")
    except BaseException:
        engine.stop()
        raise
    return engine


@contextmanager
def serving_on_loopback(tmp_path: Path, name: str) -> Iterator[Path]:
    """A real engine on a loopback-only profile named *name* in *tmp_path*: its socket."""
    profile = write_loopback_profile(
        tmp_path, loopback_profile(name, interface="lo"), filename=f"{name}.yaml"
    )
    engine = start_serve(profile, socket_path=tmp_path / "control.sock")
    try:
        yield engine.socket_path
    finally:
        engine.stop()
