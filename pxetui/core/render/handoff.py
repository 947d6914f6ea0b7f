"""What pxelinux and GRUB boot when an entry needs iPXE (a ``chain`` or an http:// kernel).

They load iPXE, which asks DHCP again with user class ``iPXE``, gets ``boot.ipxe`` and then
the same entry's per-MAC iPXE script — so the entry still boots, just one loader later.
``ipxe.lkrn`` is iPXE in Linux-kernel format: pxelinux loads it like any kernel (no PXE
stack hand-over quirks); UEFI GRUB chainloads ``ipxe.efi``.
"""

from __future__ import annotations

IPXE_LKRN = "ipxe.lkrn"  # copied into the TFTP root by engine.bootfiles.loaders
IPXE_EFI = "ipxe.efi"
