"""RFC 2347/2348/2349/7440 option negotiation: what the OACK says and what the transfer uses."""

from __future__ import annotations

from pxetui.engine.tftp.options import DEFAULT_BLKSIZE, negotiate


def test_no_options_means_no_oack_and_rfc1350_defaults() -> None:
    """A plain RRQ gets 512-byte blocks, window 1 and no OACK."""
    result = negotiate({}, size=100)
    assert result.oack == {}
    assert (result.blksize, result.windowsize, result.timeout) == (DEFAULT_BLKSIZE, 1, None)


def test_option_names_are_case_insensitive() -> None:
    """BLKSIZE, TSize and WindowSize are the same options as their lower-case names."""
    result = negotiate({"BLKSIZE": "1432", "TSize": "0", "WindowSize": "8"}, size=4096)
    assert result.oack == {"blksize": "1432", "tsize": "4096", "windowsize": "8"}
    assert (result.blksize, result.windowsize, result.tsize_asked) == (1432, 8, True)


def test_oack_carries_only_what_was_asked_and_accepted() -> None:
    """Unknown options are dropped; tsize appears only when asked."""
    result = negotiate({"blksize": "1024", "multicast": "", "utimeout": "5"}, size=10)
    assert result.oack == {"blksize": "1024"}


def test_blksize_is_capped_by_the_path() -> None:
    """A blksize above the path's capacity is answered with the path's maximum."""
    result = negotiate({"blksize": "65464"}, size=1, max_blksize=1468)
    assert result.blksize == 1468
    assert result.oack["blksize"] == "1468"


def test_blksize_range_is_8_to_65464() -> None:
    """Below 8 is ignored; above 65464 is lowered to 65464."""
    assert negotiate({"blksize": "7"}, size=1).oack == {}
    assert negotiate({"blksize": "8"}, size=1).blksize == 8
    assert negotiate({"blksize": "70000"}, size=1).blksize == 65464


def test_malformed_values_are_ignored_not_fatal() -> None:
    """Junk values fall back to defaults and are left out of the OACK."""
    junk = {"blksize": "abc", "tsize": "-1", "timeout": "0x10", "windowsize": " 4"}
    result = negotiate(junk, size=10)
    assert result.oack == {}
    assert (result.blksize, result.windowsize, result.timeout) == (512, 1, None)


def test_huge_values_are_ignored() -> None:
    """A 30-digit number is junk, not an overflow."""
    assert negotiate({"blksize": "9" * 30, "windowsize": "9" * 30}, size=1).oack == {}


def test_timeout_accepts_1_to_255() -> None:
    """RFC 2349: timeout 1..255 is echoed; 0 and 256 are ignored."""
    assert negotiate({"timeout": "1"}, size=1).timeout == 1
    assert negotiate({"timeout": "255"}, size=1).oack == {"timeout": "255"}
    assert negotiate({"timeout": "0"}, size=1).oack == {}
    assert negotiate({"timeout": "256"}, size=1).oack == {}


def test_windowsize_is_capped() -> None:
    """RFC 7440 windowsize above our cap is answered with the cap; 0 is ignored."""
    assert negotiate({"windowsize": "1000"}, size=1, max_windowsize=64).windowsize == 64
    assert negotiate({"windowsize": "0"}, size=1).oack == {}
    assert negotiate({"windowsize": "65536"}, size=1).oack == {}


def test_tsize_reports_the_size_the_client_will_receive() -> None:
    """tsize answers with the given size, and is omitted if the size is unknown."""
    assert negotiate({"tsize": "0"}, size=12345).oack == {"tsize": "12345"}
    assert negotiate({"tsize": "0"}, size=None).oack == {}
