"""Fuzzing the control protocol decoder: any line is a Request or a ProtocolError, nothing else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pxetui.engine.control.protocol import MAX_DEPTH, OPS, ProtocolError, Request, parse_request

JSON: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


def _decodes_or_refuses(line: bytes) -> None:
    try:
        request = parse_request(line)
    except ProtocolError as exc:
        assert str(exc)  # always a sentence
        return
    assert isinstance(request, Request) and request.op in OPS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes(line: bytes) -> None:
    """Random bytes never raise anything but ProtocolError."""
    _decodes_or_refuses(line)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(OPS)), st.dictionaries(st.text(max_size=8), JSON, max_size=5))
def test_requests_with_any_arguments(op: str, args: dict[str, Any]) -> None:
    """Well-formed requests with arbitrary JSON arguments decode (or are refused) cleanly."""
    _decodes_or_refuses(json.dumps({"id": 1, "op": op, **args}).encode())


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=0, max_value=5000),
    st.sampled_from(["[", '{"a":', '[[{"b":']),
    st.sampled_from(["1e400", "-1e999", "9" * 50, "NaN", "Infinity", "1", '"x"']),
)
def test_hostile_nesting_and_numbers(depth: int, opener: str, leaf: str) -> None:
    """Deep nesting and out-of-range numbers are refused with a sentence, never a traceback."""
    closer = "".join("]" if c == "[" else "}" for c in opener if c in "[{")[::-1]
    body = opener * depth + leaf + closer * depth
    line = ('{"id": 1, "op": "state", "x": ' + body + "}").encode()
    try:
        parse_request(line)
    except ProtocolError as exc:
        assert str(exc)
    else:
        assert depth * opener.count("[") + depth * opener.count("{") < MAX_DEPTH
