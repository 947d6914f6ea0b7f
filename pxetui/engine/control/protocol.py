"""The control API's wire format, shared by the server, the Python client and the tests.

One JSON object per line, UTF-8. A request is ``{"id": 1, "op": "state", ...args}``; a reply
is ``{"id": 1, "ok": true, "result": …}`` or ``{"id": 1, "ok": false, "error": "text"}``.
After ``subscribe`` the server writes ``{"event": {...}}`` lines in ticks (several a second,
the newest row per client), each tick followed by ``{"tick": {"coalesced": n, "skipped": n}}``
when events were replaced by newer ones or log lines were left out (a reader that does not
know it ignores it), and a final ``{"error": "too slow"}`` if the subscriber could not keep
up even so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from pxetui.core.sanitize import clean

MAX_LINE = 1 << 20  # a request larger than 1 MiB is not a request
MAX_DEPTH = 32  # no op takes more than two levels; deeper is an attack on the decoder
MAX_INT_DIGITS = 20  # 64-bit integers; a 4,300-digit one would only cost CPU
OPS = frozenset(
    {
        "state",
        "subscribe",
        "assign",
        "unassign",
        "set_default",
        "preview",
        "explain",
        "client",
        "history",
        "reload",
        "stop",
    }
)
TOO_SLOW = "too slow"

RequestId = int | str | None


class ProtocolError(ValueError):
    """A line that is not a valid request; ``request_id`` is echoed when it could be read."""

    def __init__(self, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class ControlError(RuntimeError):
    """The engine answered ``ok: false`` (or the connection broke); the text says why."""


VIA_MAX = 60  # characters of a client's "via" kept in records


@dataclass(frozen=True, slots=True)
class Request:
    id: RequestId
    op: str
    args: dict[str, Any] = field(default_factory=dict)
    via: str = ""
    """The client's own word for how a person reached it (``web console``): recorded after
    the kernel's name for the peer, never instead of it."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ProtocolError(f"number {text[:24]}... is too large (at most {MAX_INT_DIGITS} digits)")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(f"number {text[:24]} is out of range")
    return value


def _constant(text: str) -> Any:
    raise ProtocolError(f"{text} is not a JSON number")


def _depth(data: Any) -> int:
    """Nesting depth of decoded JSON, without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    return deepest


def parse_request(line: bytes) -> Request:
    """Decode one request line; raise :class:`ProtocolError` with a sentence otherwise.

    Bounded: at most :data:`MAX_LINE` bytes, :data:`MAX_DEPTH` levels of nesting, integers
    of at most :data:`MAX_INT_DIGITS` digits and finite floats (no ``1e400``, ``NaN``).
    """
    if len(line) > MAX_LINE:
        raise ProtocolError(f"request too long (at most {MAX_LINE} bytes)")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"not UTF-8: {exc}") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _bracket_depth(text) > MAX_DEPTH:
        raise ProtocolError(f"JSON nested too deeply (at most {MAX_DEPTH} levels)")
    try:
        data = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(f"JSON nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # ProtocolError from the hooks, or int() limits
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError(f"bad number: {exc}") from None
    if _depth(data) > MAX_DEPTH:
        raise ProtocolError(f"JSON nested too deeply (at most {MAX_DEPTH} levels)")
    if not isinstance(data, dict):
        raise ProtocolError("a request is a JSON object")
    request_id = data.pop("id", None)
    if not isinstance(request_id, int | str) and request_id is not None:
        raise ProtocolError("id must be a number or a string")
    op = data.pop("op", None)
    if not isinstance(op, str):
        raise ProtocolError("missing op", request_id)
    if op not in OPS:
        raise ProtocolError(f"unknown op {op[:40]!r}; ops: {', '.join(sorted(OPS))}", request_id)
    via = data.pop("via", "")
    if not isinstance(via, str):
        raise ProtocolError("via must be a string", request_id)
    return Request(request_id, op, data, clean(via, VIA_MAX))


def _bracket_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting outside strings: refuse before the decoder recurses."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def encode(message: dict[str, Any]) -> bytes:
    """One line of compact JSON (non-ASCII kept as UTF-8)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def ok_reply(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: RequestId, text: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": text}
