"""The hint catalogue: one wording in code, the same table in the README."""

from __future__ import annotations

import re
from pathlib import Path

from pxetui.core import hints

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_documents_every_hint_with_its_severity() -> None:
    """Each catalogue code has a README row naming the same severity, and no row is stale."""
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (info|warn|error) \|", README.read_text(), re.M))
    assert rows == {code: info.severity for code, info in hints.CATALOGUE.items()}


def test_no_hint_advises_ipxe_to_a_secure_boot_chain() -> None:
    """Advice that would break a shim boot never appears where shim was used."""
    shim = hints.big_over_tftp("initrd.img", 40_000_000, 0.0, "shim")
    refused = hints.loader_refused("ipxe.efi", 1.0, 4.0, "EDK2")
    for hint in (shim, refused):
        assert not any("loader: ipxe" in cause for cause in hint.causes), hint


def test_every_hint_names_evidence_and_causes() -> None:
    """A hint without what was seen or without a likely cause is not one."""
    made = [
        hints.ra_wait(1.0),
        hints.no_loader_fetch(1.0, 10.0),
        hints.loader_refused("ipxe.efi", 1.0, 4.0, "EDK2"),
        hints.loader_silent("ipxe.efi", 1.0),
        hints.loader_not_run("ipxe.efi", 1.0, "EDK2"),
        hints.file_missing("tftp", "k", 1.0, "kernel"),
        hints.file_unreadable("tftp", "i", 1.0),
        hints.no_root_image("root.squashfs", 1.0),
        hints.dhcp_race_lost("10.0.0.9", 1.0, "no DHCPREQUEST for it within 6 s"),
        hints.size_probe("ipxe.efi", 1.0),
        hints.lookup_trail(["a", "b"], "c", 1.0),
        hints.default_config("a", "b", 1.0),
        hints.wrong_arch("UEFI x64", 7, "z", "s390x", 1.0),
        hints.big_over_tftp("i", 9_000_000, 1.0, "pxelinux"),
    ]
    assert {h.code for h in made} == set(hints.CATALOGUE)
    for hint in made:
        assert hint.evidence and hint.causes and hint.text, hint
        assert hint.severity == hints.CATALOGUE[hint.code].severity
