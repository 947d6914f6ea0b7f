"""When a boot starts, when it ends, and which time-based hints hold: the boot model's rules.

Pure functions over a :class:`~pxetui.core.boot.Boot` and the facts of one event, so each
rule is tested on its own and on captured sequences (``tests/data/tracker``). The rules, as
the README's "The boot model" states them:

* **A new boot starts** on a DISCOVER from boot firmware (PXE ROM, iPXE, EDK2, s390-ccw, GRUB)
  when the running boot is over (handed over, local, stalled, failed), or when it cannot be
  part of the running boot: the running boot is past its DHCP exchange and the DISCOVER is
  not the iPXE we sent asking for its address (or trying the machine's next NIC), nor GRUB
  we sent. It also starts on a loader or config fetch that cannot belong to the running
  boot: any after the boot was handed over, the boot's first loader again after a config,
  its first config again after a kernel was asked for, or any after :data:`STALL_S` of
  silence (with ``dhcp.mode: off`` pxetui sees no DHCP at all). Never on a DHCP line that
  does not open an exchange (``boot_dhcp.first_step``), nor on one of an exchange the boot
  already saw (:func:`same_exchange`) or stamped before the boot ended: dnsmasq's lines can
  be read after the files they led to.
* **A boot ends** when pxetui's part is over: kernel + initrds (+ root image) delivered
  (``handed_over``), a local entry's config read (``local``), a chain entry's config read,
  a menu's chosen item delivered — or, with no request for :data:`STALL_S`, ``stalled``
  (``failed`` when an error hint was active). A running boot replaced by a new one is
  ``superseded`` (``failed`` with an error hint).
"""

from __future__ import annotations

from pxetui.core import layout
from pxetui.core.arch import FW_GRUB, FW_IPXE
from pxetui.core.boot import RANK, Boot
from pxetui.core.mac import MacAddress

# No event at all for this long: the boot is over, one way or another.
STALL_S = 180.0
# A menu with a timeout that fetched nothing this long after it: the silent item was chosen.
MENU_GRACE_S = 8.0
# The lines of one DHCP exchange (one xid) come within this of each other (same_exchange).
EXCHANGE_S = 4.0

DISPATCHERS = frozenset({layout.BOOT_IPXE, layout.GRUB_DISPATCHER})
IPXE_LOADERS = frozenset({layout.UNDIONLY, layout.IPXE_EFI})
DEFAULT_CONFIGS = frozenset(
    {layout.PXELINUX_DEFAULT, layout.IPXE_DEFAULT, layout.GRUB_DEFAULT, layout.S390X_DEFAULT}
)
# Names loaders probe for and normally miss: GRUB's module lists, iPXE's autoexec script,
# shim's revocation lists and extra certificate beside itself.
_PROBE_SUFFIXES = (".lst", ".mod")
_PROBE_DIRS = ("x86_64-efi/", "i386-efi/", "arm64-efi/", "i386-pc/")
_PROBE_NAMES = frozenset({"autoexec.ipxe", *layout.SHIM_PROBES})


def same_exchange(boot: Boot, xid: int | None, ts: float) -> bool:
    """Is a DHCP line with *xid* at *ts* part of an exchange *boot* already saw?

    One exchange (DISCOVER, OFFER, REQUEST, ACK, the proxy's replies) keeps its transaction
    id, and its lines come within :data:`EXCHANGE_S` of each other; firmware starting over
    starts a new exchange. dnsmasq's lines reach the engine in batches (up to
    ``engine/dnsmasq/logpipe.py``'s ``BATCH_S`` late, more on a loaded engine), so the proxy's
    reply to the REQUEST can be read after the files that reply led to: it is still that
    boot's, not a new one. (A ROM that derives its xid from the MAC and restarts reuses the
    id, but only after loading and running something: later than :data:`EXCHANGE_S`.)
    """
    if not xid:  # 0 is no evidence: every boot's port-4011 line from iPXE carries it
        return False
    return any(step.xid == xid and abs(ts - step.ts) <= EXCHANGE_S for step in boot.dhcp)


def dhcp_starts_boot(boot: Boot, nic: MacAddress, firmware: str, ts: float) -> bool:
    """Does a DISCOVER from boot *firmware* on *nic* at *ts* start a new boot?"""
    if boot.outcome != "running":
        # a line stamped before the end was logged before it (stamps are read times, never
        # earlier than dnsmasq wrote the line): it belongs to the boot that ended
        return boot.ended is None or ts > boot.ended
    if ts - boot.last_event >= STALL_S:
        return True
    if RANK[boot.phase] <= RANK["offered"]:
        return False  # still in the exchange: retries, proxyDHCP's second step
    if boot.last_fetch is not None and ts < boot.last_fetch:
        return False  # logged before a request this boot already made (dnsmasq batches)
    if firmware == FW_IPXE:
        ours = boot.ipxe_loaded_at is not None or FW_IPXE in boot.firmwares
        if nic not in boot.ipxe_nics and ours:
            return False  # the iPXE we sent asks for its address, or tries the next NIC
        answered = boot.ipxe_dhcp_at
        return not (answered is not None and (boot.last_fetch or 0.0) < answered)
    # GRUB we sent configures its network; else the first-stage firmware (PXE ROM, EDK2,
    # s390-ccw) started over.
    # (GRUB from a directory of its own too: an operator's shim loads <dir>/grubx64.efi.)
    ours = any(n.rsplit("/", 1)[-1].startswith("grub") for n in boot.loaders)
    return not (firmware == FW_GRUB and ours)


def fetch_starts_boot(boot: Boot, name: str, stage: str, probe: bool, ts: float) -> bool:
    """Does a request for *name* (a *stage* file) start a new boot?"""
    if stage not in ("loader", "config"):
        return False
    if boot.outcome != "running" or ts - boot.last_event >= STALL_S:
        return True
    if stage == "loader":
        return name == boot.first_loader and RANK[boot.phase] > RANK["loader"] and not probe
    return name == boot.first_config and RANK[boot.phase] >= RANK["kernel"]


def is_probe_miss(name: str, stage: str) -> bool:
    """A miss that is part of a normal search (config lookup order, GRUB modules)."""
    if stage == "config":
        return name not in DEFAULT_CONFIGS
    base = name.rsplit("/", 1)[-1]
    return (
        base in _PROBE_NAMES
        or base.endswith(_PROBE_SUFFIXES)
        or any(d in name for d in _PROBE_DIRS)
        or (base.endswith(".c32") and "/" in name)
    )


def loader_refused_by(boot: Boot, ts: float, window: float) -> tuple[str, float] | None:
    """The loader *boot* downloaded, if a restart at *ts* means the firmware refused it."""
    if boot.loader_done is None or boot.config_at is not None:
        return None
    name, done = boot.loader_done
    return (name, done) if 0.0 <= ts - done <= window else None


_ENTRY_ARCH_CODES: dict[str, frozenset[int]] = {
    "x86": frozenset({0, 6, 7, 9, 15, 16}),
    "s390x": frozenset({31, 32}),
    "arm64": frozenset({11, 19}),
}


def arch_mismatch(entry_arch: str, code: int | None) -> bool:
    """The client's option 93 is known and not one the entry's ``arch:`` boots."""
    codes = _ENTRY_ARCH_CODES.get(entry_arch)
    return code is not None and codes is not None and code not in codes
