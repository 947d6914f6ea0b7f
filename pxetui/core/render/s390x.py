"""s390-ccw firmware configs: ``s390x/01-<mac>`` (file form) and the ``pxelinux.cfg`` form.

The firmware's parser (QEMU ``pc-bios/s390-ccw``) knows only DEFAULT, LABEL, KERNEL,
INITRD and APPEND; a file given as the boot file must start with ``# pxelinux``. There is no
menu (the default label wins), no LOCALBOOT (an empty config means "local"), ``initrd=`` in
APPEND is not loaded, and it does not add ``BOOTIF`` — so we do. Limits: 2048-byte file,
16 entries, 896-byte command line, each enforced with an error naming the entry.
"""

from __future__ import annotations

from pxetui.core.mac import MacAddress
from pxetui.core.render.context import RenderError
from pxetui.core.render.plan import KernelBoot, LocalBoot, Plan, is_url, tftp_path

MAGIC = "# pxelinux"
MAX_FILE = 2048
MAX_CMDLINE = 896
MAX_ENTRIES = 16
EMPTY = (MAGIC + "\n").encode()  # "local": no label to boot, the firmware moves on


def _kernel_labels(plan: Plan, mac: MacAddress) -> list[str]:
    lines: list[str] = []
    boots = [b for b in plan.boots if isinstance(b, KernelBoot)]
    if len(boots) > MAX_ENTRIES:
        raise RenderError(f"entry '{plan.entry}': s390x allows {MAX_ENTRIES} entries")
    for boot in boots:
        if is_url(boot.kernel) or any(is_url(i) for i in boot.initrds):
            raise RenderError(
                f"entry '{boot.name}': s390x firmware loads only TFTP paths under the root, "
                f"not URLs ({boot.kernel})"
            )
        if len(boot.initrds) > 1:
            raise RenderError(
                f"entry '{boot.name}': s390x firmware loads one INITRD, the entry has "
                f"{len(boot.initrds)}; combine them into one file"
            )
        cmdline = " ".join(p for p in (boot.cmdline, f"BOOTIF={mac.pxelinux}") if p)
        size = len(cmdline.encode())
        if size > MAX_CMDLINE:
            raise RenderError(
                f"entry '{boot.name}': s390x command line is {size} bytes, "
                f"the firmware limit is {MAX_CMDLINE}"
            )
        lines += [f"LABEL {boot.name}", f"KERNEL {tftp_path(boot.kernel)}"]
        lines += [f"INITRD {tftp_path(i)}" for i in boot.initrds]
        lines.append(f"APPEND {cmdline}")
    return lines


def render_s390x(plan: Plan, mac: MacAddress) -> bytes:
    """The s390-ccw config for *mac*: the same bytes serve the file and directory forms."""
    default = next(b for b in plan.boots if b.name == plan.default)
    if isinstance(default, LocalBoot):
        return EMPTY
    if not isinstance(default, KernelBoot):
        raise RenderError(f"entry '{default.name}': chain is iPXE-only; s390x cannot chain")
    labels = _kernel_labels(plan, mac)
    data = ("\n".join([MAGIC, f"DEFAULT {default.name}", *labels]) + "\n").encode()
    if len(data) > MAX_FILE:
        raise RenderError(
            f"entry '{plan.entry}': s390x config is {len(data)} bytes, "
            f"the firmware limit is {MAX_FILE}"
        )
    return data
