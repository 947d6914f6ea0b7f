"""MacAddress: one strict type for every MAC."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxetui.core.mac import MacAddress, MacAddressError


@pytest.mark.parametrize(
    "text",
    [
        "52:54:00:E2:E0:01",
        "52-54-00-e2-e0-01",
        "525400e2e001",
        "5254.00e2.e001",
        "01-52-54-00-e2-e0-01",
    ],
)
def test_common_spellings_parse_to_one_value(text: str) -> None:
    """Every usual spelling is the same MAC."""
    mac = MacAddress.parse(text)
    assert mac.colon == "52:54:00:e2:e0:01"
    assert mac.hexhyp == "52-54-00-e2-e0-01"
    assert mac.pxelinux == "01-52-54-00-e2-e0-01"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "52:54:00:e2:e0",
        "52:54-00:e2:e0:01",
        "zz:54:00:e2:e0:01",
        "../../etc",
        "52:54:00:e2:e0:01/",
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    """Anything else raises MacAddressError."""
    with pytest.raises(MacAddressError):
        MacAddress.parse(text)


@given(st.text(max_size=40))
def test_any_accepted_text_yields_only_hex_digits(text: str) -> None:
    """Whatever is accepted renders as 12 hex digits: nothing path-like survives."""
    try:
        mac = MacAddress.parse(text)
    except MacAddressError:
        return
    assert all(c in "0123456789abcdef" for c in mac.hex12) and len(mac.hex12) == 12
    assert "/" not in mac.pxelinux and ".." not in mac.pxelinux


@given(st.binary(min_size=6, max_size=6))
def test_bytes_round_trip(raw: bytes) -> None:
    """from_bytes and packed are inverses."""
    assert MacAddress.from_bytes(raw).packed == raw
