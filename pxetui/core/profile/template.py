"""Kernel-argument templates: ``console=ttyS0 ks={http}/ks/{hostname}.cfg``.

Templates use ``str.format`` syntax with a fixed set of variables. The loader rejects any
other name (so a typo is a ``check`` error naming the entry, not a broken boot), and the
renderers expand with a strict mapping, so nothing unknown can slip through either way.
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Mapping

TEMPLATE_VARIABLES: dict[str, str] = {
    "server": "our IPv4 address, e.g. 10.250.77.1",
    "http": "the HTTP base URL, e.g. http://10.250.77.1:8080",
    "mac": "the client's MAC, 52:54:00:12:34:56",
    "mac_hyp": "the client's MAC, 52-54-00-12-34-56",
    "hostname": "the host's hostname from the profile ('' if none)",
    "entry": "the boot entry's name",
}


class TemplateError(ValueError):
    """A template with a syntax error or an unknown variable."""


def template_problems(text: str) -> list[str]:
    """Every reason *text* cannot be expanded (empty when it is a valid template)."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"bad template ({exc}; write {{{{ and }}}} for literal braces)"]
    problems: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_VARIABLES:
            hint = difflib.get_close_matches(name, TEMPLATE_VARIABLES, n=1)
            did = f" (did you mean {{{hint[0]}}}?)" if hint else ""
            known = ", ".join("{" + k + "}" for k in TEMPLATE_VARIABLES)
            problems.append(f"unknown template variable {{{name}}}{did}; known: {known}")
        elif spec or conversion:
            problems.append(f"template variable {{{name}}} takes no format spec or conversion")
    return problems


class _Strict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise TemplateError(f"unknown template variable {{{key}}}")


def expand(text: str, values: Mapping[str, str]) -> str:
    """Fill *text* from *values*; raise :class:`TemplateError` on any problem."""
    problems = template_problems(text)
    if problems:
        raise TemplateError("; ".join(problems))
    return text.format_map(_Strict(values))
