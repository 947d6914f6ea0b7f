"""The windowsize offered to a client that asks for more than 64 (engine/tftp/window.py)."""

from __future__ import annotations

from pxetui.engine.tftp.window import MAX_OFFER, RttMemory, window_cap, window_for_rtt


def test_a_lan_round_trip_keeps_the_default_64() -> None:
    """At 0.2 ms, 17 blocks of 1468 bytes cover the RTT at 1 Gbit/s: 64 is already more."""
    assert window_for_rtt(0.0002, 1468) == 64


def test_a_far_client_gets_the_blocks_its_round_trip_needs() -> None:
    """2 ms x 125 MB/s / 1500 bytes = 166.7 -> 167 blocks; 50 ms is capped at MAX_OFFER."""
    assert window_for_rtt(0.002, 1468) == 167
    assert window_for_rtt(0.05, 1468) == MAX_OFFER


def test_the_cap_never_exceeds_what_was_asked_or_an_operators_choice() -> None:
    """Asked 100 at 2 ms: 100. Asked 64 or less: unchanged. An operator's 16: stays 16."""
    assert window_cap(64, 1468, 100, 0.002) == 100
    assert window_cap(64, 1468, 1000, 0.002) == 167
    assert window_cap(64, 1468, 64, 0.05) == 64
    assert window_cap(16, 1468, 1000, 0.05) == 16


def test_rtt_memory_is_bounded_and_forgets_the_oldest() -> None:
    """Three addresses in a memory of two: the first one is gone; junk RTTs are not kept."""
    memory = RttMemory(capacity=2)
    for i, ip in enumerate(("10.0.0.1", "10.0.0.2", "10.0.0.3")):
        memory.remember(ip, 0.001 * (i + 1))
    memory.remember("10.0.0.4", None)
    memory.remember("10.0.0.5", -1.0)
    assert memory.get("10.0.0.1") is None
    assert memory.get("10.0.0.3") == 0.003
    assert memory.get("10.0.0.4") is None and memory.get("10.0.0.5") is None
