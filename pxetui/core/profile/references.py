"""Cross-references pydantic cannot see: entry names, menu items, MACs, templates.

These checks run on the raw YAML data (not the validated model) so they are reported
together with schema errors: an operator sees every problem of the file in one run.
"""

from __future__ import annotations

import difflib
from typing import Any

from pxetui.core.mac import MacAddress, MacAddressError
from pxetui.core.profile.template import template_problems

Problem = tuple[tuple[str, ...], str]
_TEMPLATED = ("kernel", "args", "url", "repo", "kickstart", "image")


def _undefined(name: str, known: set[str]) -> str:
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    did = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"'{name}' is not a defined entry{did}"


def reference_problems(data: dict[str, Any]) -> list[Problem]:
    """Every dangling or circular reference in the raw profile *data*."""
    problems: list[Problem] = []
    raw_entries = data.get("entries")
    entries: dict[str, Any] = raw_entries if isinstance(raw_entries, dict) else {}
    known = set(entries) | {"local"}

    def kind_of(name: str) -> Any:
        entry = entries.get(name)
        return entry.get("kind") if isinstance(entry, dict) else None

    unknown = data.get("unknown")
    if isinstance(unknown, str) and unknown not in known:
        problems.append((("unknown",), _undefined(unknown, known)))

    for name, entry in entries.items():
        if not isinstance(entry, dict):
            continue
        templated: list[tuple[tuple[str, ...], Any]] = [
            ((field,), entry.get(field)) for field in _TEMPLATED
        ]
        initrds = entry.get("initrds")
        if isinstance(initrds, list):
            templated += [(("initrds", str(i)), v) for i, v in enumerate(initrds)]
        for where, value in templated:
            if isinstance(value, str):
                for problem in template_problems(value):
                    problems.append((("entries", name, *where), f"entry '{name}': {problem}"))
        if entry.get("kind") != "menu":
            continue
        items = entry.get("items")
        items = items if isinstance(items, list) else []
        for index, item in enumerate(items):
            where = ("entries", name, "items", str(index))
            if not isinstance(item, str):
                continue
            if item not in known:
                problems.append((where, _undefined(item, known)))
            elif kind_of(item) == "menu":
                # Menus hold bootable entries only; this also rules out menu cycles.
                problems.append((where, f"'{item}' is a menu; a menu cannot contain a menu"))
        default = entry.get("default")
        if isinstance(default, str) and default not in items:
            problems.append((("entries", name, "default"), f"'{default}' is not in items"))

    problems.extend(_host_problems(data.get("hosts"), known))
    return problems


def _host_problems(raw_hosts: Any, known: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(raw_hosts, dict):
        return problems
    seen: dict[MacAddress, str] = {}
    for key, host in raw_hosts.items():
        try:
            mac: MacAddress | None = MacAddress.parse(key)
        except MacAddressError:
            mac = None  # pydantic reports the bad key itself
        if mac is not None:
            if mac in seen:
                problems.append((("hosts", key), f"same MAC as hosts.{seen[mac]}"))
            seen.setdefault(mac, key)
        if not isinstance(host, dict):
            continue
        entry = host.get("entry")
        if isinstance(entry, str) and entry not in known:
            problems.append((("hosts", key, "entry"), _undefined(entry, known)))
    for key, host in raw_hosts.items():
        others = host.get("macs") if isinstance(host, dict) else None
        for index, other in enumerate(others if isinstance(others, list) else []):
            try:
                other_mac = MacAddress.parse(str(other))
            except MacAddressError:
                continue
            owner = seen.get(other_mac)
            if owner is not None:
                problems.append(
                    (("hosts", key, "macs", str(index)), f"{other_mac} is also host {owner}")
                )
    return problems
