"""Loading the profile file again while serving: checked off the loop, within a budget.

A bad file is rejected in words and the old profile keeps serving; what a reload cannot
change without a restart (sockets, the interface, our address) is named.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from pathlib import Path

from pxetui.core.profile.audit import load_checked
from pxetui.core.profile.engines import engine_profile
from pxetui.core.profile.errors import ProfileError
from pxetui.core.profile.model import Profile

PROFILE_LOAD_BUDGET_S = 30.0  # a reload that takes longer is rejected (the file is bounded too)


class ProfileRejected(Exception):
    """The new profile file cannot be served; the message says why (file, line, field)."""


async def load_again(path: Path, server: IPv4Address, engine: str | None = None) -> Profile:
    """The checked profile at *path*, or :class:`ProfileRejected` with the reason.

    Off the event loop, within a time budget: TFTP, HTTP and control keep answering while a
    (size-bounded) profile is parsed and its files are checked. With *engine*, the file's
    ``engines.<engine>`` view (one profile shared by a fleet).
    """
    try:
        new = await asyncio.wait_for(
            asyncio.to_thread(load_checked, path, server), PROFILE_LOAD_BUDGET_S
        )
        return new if engine is None else engine_profile(new, engine)
    except TimeoutError:
        exc: Exception = ProfileError(
            [f"{path}: loading took longer than {PROFILE_LOAD_BUDGET_S:g} s"]
        )
        raise ProfileRejected(_rejected(path, exc)) from None
    except (ProfileError, OSError) as exc:
        raise ProfileRejected(_rejected(path, exc)) from exc


def _rejected(path: Path, exc: Exception) -> str:
    return f"profile {path} rejected, still serving the previous one:\n{exc}"


def restart_needed(old: Profile, new: Profile) -> list[str]:
    """The parts of the profile that changed but only take effect after a restart."""
    return [
        name
        for name, old_part, new_part in (
            ("tftp", old.tftp, new.tftp),
            ("http", old.http, new.http),
            ("network.interface", old.network.interface, new.network.interface),
            ("network.server", old.network.server, new.network.server),
        )
        if old_part != new_part
    ]
