"""What each MAC boots: the profile's hosts as the baseline, the engine's decisions on top.

The operator's profile file is never rewritten. Runtime decisions (``pxetui assign``, a
one-shot that completed, ``set_default``) live in the database and are laid over the profile
here, producing the *effective* profile every renderer and the dnsmasq configuration use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Host, Profile
from pxetui.engine.persist import StoredAssignment

Source = Literal["profile", "operator"]


def known_entry(profile: Profile, entry: str) -> bool:
    """``local`` is built in; everything else must be one of the profile's entries."""
    return entry == "local" or entry in profile.entries


def check_entry(profile: Profile, entry: str) -> None:
    """Raise ``ValueError`` naming the entries there are, for the operator's typo."""
    if not isinstance(entry, str) or not known_entry(profile, entry):
        names = ", ".join(sorted({*profile.entries, "local"}))
        raise ValueError(f"no entry named {entry!r} (entries: {names})")


def effective_profile(
    profile: Profile, stored: Mapping[MacAddress, StoredAssignment], default: str | None
) -> Profile:
    """*profile* with the database's assignments (and runtime default) applied.

    A stored assignment whose entry vanished from a reloaded profile is ignored (the
    baseline applies) rather than breaking every render.
    """
    hosts = dict(profile.hosts)
    for mac, row in stored.items():
        if not known_entry(profile, row.entry):
            continue
        base = hosts.get(mac)
        if base is None:
            hosts[mac] = Host(entry=row.entry, once=row.once, hostname=row.hostname)
        else:
            hostname = row.hostname or base.hostname
            hosts[mac] = base.model_copy(
                update={"entry": row.entry, "once": row.once, "hostname": hostname}
            )
    update: dict[str, Any] = {"hosts": hosts}
    if default is not None and known_entry(profile, default):
        update["unknown"] = default
    return profile.model_copy(update=update)


def assignment_table(
    profile: Profile, stored: Mapping[MacAddress, StoredAssignment]
) -> dict[str, dict[str, Any]]:
    """The control API's ``assignments``: ``{mac: {entry, once, source, by, updated}}``
    (``by``/``updated``: who made a runtime assignment, and when)."""
    table: dict[str, dict[str, Any]] = {
        mac.colon: {"entry": host.entry, "once": host.once, "source": "profile"}
        for mac, host in profile.hosts.items()
    }
    for mac, row in stored.items():
        if known_entry(profile, row.entry):
            table[mac.colon] = {
                "entry": row.entry,
                "once": row.once,
                "source": row.reason,  # operator, or once: the engine ended a one-shot
                "by": row.by,
                "updated": row.updated,
            }
    return dict(sorted(table.items()))
