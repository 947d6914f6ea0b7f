"""The control API's wire format, shared by the server, the Python client and the tests.

One JSON object per line, UTF-8. A request is ``{"id": 1, "op": "state", ...args}``; a reply
is ``{"id": 1, "ok": true, "result": …}`` or ``{"id": 1, "ok": false, "error": "text"}``.
After ``subscribe`` the server writes ``{"event": {...}}`` lines, and a final
``{"error": "too slow"}`` if the subscriber could not keep up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_LINE = 1 << 20  # a request larger than 1 MiB is not a request
OPS = frozenset(
    {
        "state",
        "subscribe",
        "assign",
        "unassign",
        "set_default",
        "preview",
        "explain",
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


@dataclass(frozen=True, slots=True)
class Request:
    id: RequestId
    op: str
    args: dict[str, Any] = field(default_factory=dict)


def parse_request(line: bytes) -> Request:
    """Decode one request line; raise :class:`ProtocolError` with a sentence otherwise."""
    if len(line) > MAX_LINE:
        raise ProtocolError("request too long")
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
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
    return Request(request_id, op, data)


def encode(message: dict[str, Any]) -> bytes:
    """One line of compact JSON (non-ASCII kept as UTF-8)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def ok_reply(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: RequestId, text: str) -> dict[str, Any]:
    return {"id": request_id, "ok": False, "error": text}
