"""Where every boot file lives under the TFTP root (the HTTP root defaults to the same tree).

One place for these names, because three parties must agree on them: the renderers and the
store write them, dnsmasq's configuration points firmware at them, and the explainer predicts
the firmware's requests for them.
"""

from __future__ import annotations

from pxetui.core.mac import MacAddress

# Network boot programs, copied into the TFTP root from Debian's packages.
PXELINUX = "pxelinux.0"  # pxelinux (BIOS); needs ldlinux.c32 next to it
PXELINUX_MODULES = ("ldlinux.c32", "libutil.c32", "menu.c32")
UNDIONLY = "undionly.kpxe"  # iPXE for BIOS PXE ROMs
IPXE_EFI = "ipxe.efi"  # iPXE for x64 UEFI
GRUB_EFI = "grub/grubnetx64.efi"  # Debian's signed GRUB netboot image, when installed
GRUB_HTTP_MOD = "grub/x86_64-efi/http.mod"  # what `insmod http` loads from GRUB's prefix

# Secure Boot (``loader: shim``): shim, signed by Microsoft's UEFI CA, loads its second stage
# as ``grubx64.efi`` from the directory of the BOOTP file field — Debian's signed
# grubnetx64.efi under that name (it trusts Debian's CA through shim). Its prefix is /grub,
# so it reads the same grub/grub.cfg dispatcher as ``loader: grub``.
SHIM_EFI = "shimx64.efi"
SHIM_GRUB = "grubx64.efi"
SHIM_HELPERS = ("mmx64.efi", "fbx64.efi")  # MokManager and fallback, beside shim
SHIM_SOURCES = {
    SHIM_EFI: ("/usr/lib/shim/shimx64.efi.signed", "shim-signed"),
    "mmx64.efi": ("/usr/lib/shim/mmx64.efi.signed", "shim-signed"),
    "fbx64.efi": ("/usr/lib/shim/fbx64.efi.signed", "shim-signed"),
    SHIM_GRUB: (
        "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
        "grub-efi-amd64-signed",
    ),
}
"""Where Debian's packages put each (installed by the engine, looked for by ``check``)."""
SHIM_PROBES = ("revocations_sku.efi", "revocations_sbat.efi", "shim_certificate_0.efi")
"""Files shim 16 asks for beside itself and normally misses: not errors."""

# The iPXE entry point every iPXE client is given by DHCP (user class "iPXE").
BOOT_IPXE = "boot.ipxe"
IPXE_DIR = "ipxe"
PXELINUX_DIR = "pxelinux.cfg"
GRUB_DIR = "grub"
S390X_DIR = "s390x"


def pxelinux_config(mac: MacAddress) -> str:
    """``pxelinux.cfg/01-aa-bb-…`` — read by pxelinux and by the s390-ccw directory form."""
    return f"{PXELINUX_DIR}/{mac.pxelinux}"


def ipxe_script(mac: MacAddress) -> str:
    """``ipxe/aa-bb-….ipxe`` — what boot.ipxe fetches as ``ipxe/${mac:hexhyp}.ipxe``."""
    return f"{IPXE_DIR}/{mac.hexhyp}.ipxe"


def grub_config(mac: MacAddress) -> str:
    """``grub/grub.cfg-01-aa-bb-…`` — sourced by our generic ``grub/grub.cfg`` dispatcher."""
    return f"{GRUB_DIR}/grub.cfg-{mac.pxelinux}"


def s390x_config(mac: MacAddress) -> str:
    """``s390x/01-aa-bb-…`` — the ``# pxelinux`` file form given as the s390x boot file."""
    return f"{S390X_DIR}/{mac.pxelinux}"


PXELINUX_DEFAULT = f"{PXELINUX_DIR}/default"
IPXE_DEFAULT = f"{IPXE_DIR}/default.ipxe"
GRUB_DISPATCHER = f"{GRUB_DIR}/grub.cfg"
GRUB_DEFAULT = f"{GRUB_DIR}/grub.cfg-default"
S390X_DEFAULT = f"{S390X_DIR}/default"
