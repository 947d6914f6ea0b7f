"""MAC↔IP correlation: the one pure function that names the client behind a file request."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pxetui.core.correlate import Pending, correlate, mac_in_filename
from pxetui.core.mac import MacAddress

A = MacAddress.parse("52:54:00:e2:e0:01")
B = MacAddress.parse("52:54:00:e2:e0:02")


def test_per_mac_file_names_reveal_their_mac() -> None:
    """pxelinux, iPXE, GRUB and s390x per-MAC names all carry the client's MAC."""
    for name in (
        "pxelinux.cfg/01-52-54-00-e2-e0-01",
        "/ipxe/52-54-00-e2-e0-01.ipxe",
        "grub/grub.cfg-01-52-54-00-e2-e0-01",
        "s390x/01-52-54-00-E2-E0-01",
        "\\pxelinux.cfg\\01-52-54-00-e2-e0-01",
    ):
        assert mac_in_filename(name) == A, name


def test_generic_names_reveal_nothing() -> None:
    """Loaders, defaults and hex-IP names do not name a MAC."""
    for name in ("pxelinux.0", "pxelinux.cfg/default", "pxelinux.cfg/0AFA4D81", "boot.ipxe"):
        assert mac_in_filename(name) is None


def test_filename_beats_a_stale_dhcp_pairing() -> None:
    """A client asking for its own per-MAC file is that MAC even if the IP was B's before."""
    verdict = correlate("10.0.0.9", "ipxe/52-54-00-e2-e0-01.ipxe", 100.0, known={"10.0.0.9": B})
    assert (verdict.mac, verdict.rule) == (A, "filename")


def test_dhcp_pairing_names_the_sender_of_a_generic_file() -> None:
    """An IP DHCP paired with a MAC maps back to that MAC."""
    verdict = correlate("10.0.0.9", "undionly.kpxe", 100.0, known={"10.0.0.9": B})
    assert (verdict.mac, verdict.rule) == (B, "dhcp")


def test_a_sole_recent_candidate_is_taken_behind_proxy_dhcp() -> None:
    """With one client answered recently and no IP known, the request is that client's."""
    verdict = correlate("10.0.0.9", "ipxe.efi", 100.0, known={}, pending=[Pending(A, 95.0)])
    assert (verdict.mac, verdict.rule) == (A, "sole-candidate")


def test_two_candidates_or_a_stale_one_stay_unknown() -> None:
    """Ambiguity and old answers never produce a guess."""
    two = correlate(
        "10.0.0.9", "ipxe.efi", 100.0, known={}, pending=[Pending(A, 95), Pending(B, 96)]
    )
    stale = correlate("10.0.0.9", "ipxe.efi", 500.0, known={}, pending=[Pending(A, 95.0)])
    assert two.mac is None and stale.mac is None


@given(st.text(max_size=300))
def test_any_filename_is_handled_without_raising(name: str) -> None:
    """Wire garbage in a file name never breaks correlation."""
    correlate("10.0.0.9", name, 1.0, known={})
