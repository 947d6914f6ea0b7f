"""Option 93, vendor/user class → architecture and firmware guesses."""

from __future__ import annotations

import pytest

from pxetui.core.arch import (
    FW_EDK2,
    FW_IPXE,
    FW_LINUX,
    FW_PXE_ROM,
    FW_S390_CCW,
    arch_from_tags,
    arch_from_vendor_class,
    arch_name,
    client_arch,
    guess_firmware,
    profile_arch,
)


@pytest.mark.parametrize(
    ("vendor", "code"),
    [
        ("PXEClient:Arch:00000:UNDI:002001", 0),
        ("PXEClient:Arch:00007:UNDI:003016", 7),
        ("PXEClient:Arch:00009:UNDI:003000", 9),
        ("HTTPClient:Arch:00016:UNDI:003001", 16),
        ("PXEClient:Arch:00011", 11),
        ("PXEClient", None),
        ("udhcp 1.35.0", None),
        ("", None),
        ("PXEClient:Arch:99999:UNDI:003016", None),
    ],
)
def test_vendor_class_gives_option_93(vendor: str, code: int | None) -> None:
    """The Arch field of a PXE/HTTP vendor class is the client's option 93."""
    assert arch_from_vendor_class(vendor) == code


@pytest.mark.parametrize(
    ("code", "arch"),
    [
        (0, "bios"),
        (6, "uefi-ia32"),
        (7, "uefi-x64"),
        (9, "uefi-x64"),
        (11, "uefi-arm64"),
        (31, "s390x"),
        (32, "s390x"),
        (42, None),
        (None, None),
    ],
)
def test_option_93_maps_to_profile_arch_with_9_as_x64(code: int | None, arch: str | None) -> None:
    """Arch 9 ("EBC" in the registry) is what x64 firmware sends: it is x64."""
    assert profile_arch(code) == arch


def test_arch_names_never_hide_unknown_codes() -> None:
    """Unknown codes read as "arch N", None as "unknown"."""
    assert arch_name(7) == "UEFI x64"
    assert arch_name(31) == "s390 basic"
    assert arch_name(200) == "arch 200"
    assert arch_name(None) == "unknown"


def test_our_tags_give_the_arch_when_the_vendor_class_is_silent() -> None:
    """s390-ccw sends no vendor class; dnsmasq's option-93 tag still tells the arch."""
    assert arch_from_tags(["s390x", "br0"]) == 31
    assert arch_from_tags(["ipxe", "efi64", "br0"]) == 7
    assert arch_from_tags(["br0"]) is None
    assert client_arch("", ["s390x"]) == 31
    assert client_arch("PXEClient:Arch:00009:UNDI:003016", ["efi64"]) == 9


@pytest.mark.parametrize(
    ("vendor", "user", "requested", "firmware"),
    [
        ("PXEClient:Arch:00000:UNDI:002001", "iPXE", (), FW_IPXE),
        ("PXEClient:Arch:00000:UNDI:002001", "", (), FW_PXE_ROM),
        ("PXEClient:Arch:00007:UNDI:003000", "", (), FW_EDK2),
        ("PXEClient:Arch:00007:UNDI:003016", "", (), FW_EDK2),
        ("PXEClient:Arch:00007:UNDI:003010", "iPXE", (), FW_IPXE),
        ("PXEClient:Arch:00007:UNDI:003010", "", (), FW_IPXE),
        ("", "", (1, 3, 6, 66, 67, 93, 209, 210), FW_S390_CCW),
        ("udhcp 1.35.0", "", (1, 3, 6), FW_LINUX),
        ("", "", (1, 3, 6), ""),
    ],
)
def test_firmware_guess_from_real_client_clues(
    vendor: str, user: str, requested: tuple[int, ...], firmware: str
) -> None:
    """Vendor/user classes and requested options seen in the captured boots name the firmware."""
    assert guess_firmware(vendor, user, requested_options=requested) == firmware


def test_s390_request_with_arch_31_is_s390_ccw() -> None:
    """The s390-ccw REQUEST carries arch 31 (tagged by us) but no vendor class."""
    assert guess_firmware("", "", arch=31) == FW_S390_CCW
