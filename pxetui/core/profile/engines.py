"""One profile for a fleet: the shared part, plus ``engines.<name>`` sections.

Entries, hosts, the loader, the store and the limits are written once; each engine's
section gives its network (its segment, its relays) and, if engines share a host, its ports,
roots and state dir. :func:`engine_profile` is what one engine serves: the shared part with
its section laid over it, named after the engine (its name in the shared store), and with the
section's line numbers where ``check`` and the engine look for them (``engines.rack-b.network
.dhcp.range`` in messages, its own line).
"""

from __future__ import annotations

from pxetui.core.profile.errors import ProfileError
from pxetui.core.profile.model import ENGINE_KEYS, Profile


def engine_profile(profile: Profile, name: str) -> Profile:
    """*profile* as engine *name* serves it; :class:`ProfileError` if there is no such engine."""
    section = profile.engines.get(name)
    if section is None:
        known = ", ".join(sorted(profile.engines)) or "none (the profile has no engines:)"
        raise ProfileError(
            [f"{profile.where('engines')}: engines: no engine {name!r}; known: {known}"]
        )
    state_dir = section.state_dir
    if state_dir is None and profile.state_dir is not None:
        state_dir = profile.state_dir / name
    view = profile.model_copy(
        update={
            "name": name,
            "network": section.network,
            "tftp": section.tftp or profile.tftp,
            "http": section.http or profile.http,
            "state_dir": state_dir,
            "engines": {},
        }
    )
    prefix = ("engines", name)
    lines = {
        path: line
        for path, line in profile._lines.items()
        if not (path and path[0] in ENGINE_KEYS and _overridden(section, path[0]))
    }
    for path, line in profile._lines.items():
        if path[:2] == prefix and len(path) > 2 and path[2] in ENGINE_KEYS:
            lines[path[2:]] = line
    view._lines = lines
    view._source = profile._source
    view._engine = name
    return view


def _overridden(section: object, key: str) -> bool:
    return getattr(section, key, None) is not None


def engine_views(profile: Profile) -> list[Profile]:
    """Every engine's view of a shared profile; the profile itself when it has no engines."""
    if not profile.engines:
        return [profile]
    return [engine_profile(profile, name) for name in profile.engines]
