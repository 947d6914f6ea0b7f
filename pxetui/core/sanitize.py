"""Make client-controlled text safe for logs and screens.

Filenames from TFTP RRQs, HTTP paths, DHCP vendor/user classes and hostnames all come from
the wire. Before they reach a log line, a JSON event or a Textual widget they lose control
characters (terminal escapes), Rich/Textual markup brackets and excess length.
"""

from __future__ import annotations

import re

MAX_LEN = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean(text: str | bytes | None, max_len: int = MAX_LEN) -> str:
    """Return a printable, markup-free, length-capped rendering of *text*.

    Bytes are decoded as UTF-8 with undecodable bytes shown as ``\\xNN``; control characters
    become ``?``; ``[`` and ``]`` (Rich markup) become ``(`` and ``)``; text longer than
    *max_len* is cut and ends with ``…``.
    """
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="backslashreplace")
    text = _CONTROL.sub("?", text)
    text = text.replace("[", "(").replace("]", ")")
    if len(text) > max_len:
        text = text[: max(0, max_len - 1)] + "…"
    return text
