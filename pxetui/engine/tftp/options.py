"""TFTP option negotiation (RFC 2347 framework, 2348 blksize, 2349 timeout/tsize, 7440 windowsize).

Pure: it sees the options a client asked for and the facts about the file and path, and
decides what the transfer uses and what the OACK says. Policy, chosen for firmware that is
old and odd rather than hostile:

* Option names are case-insensitive; the OACK uses lower-case names.
* The OACK carries only options the client asked for *and* we accepted; unknown options are
  silently left out (RFC 2347 says so).
* A malformed or out-of-range value (``blksize=abc``, ``timeout=0``, 30 digits) is **ignored**,
  not fatal: that option falls back to its RFC 1350 default and is left out of the OACK. A
  refusal (ERROR 8) would leave a PXE ROM with nothing; a plain transfer boots it.
* ``blksize`` above what the path carries is lowered to ``max_blksize`` (RFC 2348 lets the
  server answer smaller); ``windowsize`` above ``max_windowsize`` is lowered likewise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MIN_BLKSIZE = 8
MAX_BLKSIZE = 65464
DEFAULT_BLKSIZE = 512
MAX_WINDOWSIZE = 65535
DEFAULT_MAX_WINDOWSIZE = 64
MIN_TIMEOUT = 1
MAX_TIMEOUT = 255

_DECIMAL = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What one transfer uses, and the OACK (empty: no OACK, start with DATA 1)."""

    blksize: int = DEFAULT_BLKSIZE
    windowsize: int = 1
    timeout: int | None = None
    tsize_asked: bool = False
    oack: dict[str, str] = field(default_factory=dict)


def _number(value: str) -> int | None:
    """A plain non-negative decimal, or None (signs, spaces, hex and huge strings are junk)."""
    if not _DECIMAL.fullmatch(value):
        return None
    return int(value)


def negotiate(
    requested: Mapping[str, str],
    *,
    size: int | None,
    max_blksize: int = MAX_BLKSIZE,
    max_windowsize: int = DEFAULT_MAX_WINDOWSIZE,
) -> Negotiated:
    """Decide blksize, windowsize, timeout and tsize for a read request.

    *size* is the number of bytes the client will receive (after netascii conversion), or
    None when it is not known up front (then ``tsize`` is left out of the OACK).
    """
    max_blksize = max(MIN_BLKSIZE, min(max_blksize, MAX_BLKSIZE))
    max_windowsize = max(1, min(max_windowsize, MAX_WINDOWSIZE))
    lowered: dict[str, str] = {}
    for name, value in requested.items():
        lowered[name.lower()] = value

    blksize = DEFAULT_BLKSIZE
    windowsize = 1
    timeout: int | None = None
    tsize_asked = False
    oack: dict[str, str] = {}
    for name, value in lowered.items():
        number = _number(value)
        if number is None:
            continue
        if name == "blksize" and number >= MIN_BLKSIZE:
            blksize = min(number, max_blksize)
            oack[name] = str(blksize)
        elif name == "windowsize" and 1 <= number <= MAX_WINDOWSIZE:
            windowsize = min(number, max_windowsize)
            oack[name] = str(windowsize)
        elif name == "timeout" and MIN_TIMEOUT <= number <= MAX_TIMEOUT:
            timeout = number
            oack[name] = str(number)
        elif name == "tsize" and size is not None:
            tsize_asked = True
            oack[name] = str(size)
    return Negotiated(
        blksize=blksize,
        windowsize=windowsize,
        timeout=timeout,
        tsize_asked=tsize_asked,
        oack=oack,
    )
