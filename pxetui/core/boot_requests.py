"""What one request means for a boot: its phase, its entry, its end, its hints.

The tracker (:mod:`pxetui.core.tracker`) decides which machine and which boot a TFTP/HTTP
request belongs to; the functions here fold the request into that boot, by the rules of
README "The boot model". Pure: a :class:`~pxetui.core.boot.Boot`, the event, the profile's
:class:`~pxetui.core.boot_stage.StageMap`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pxetui.core import boot_rules as rules
from pxetui.core import hints, layout
from pxetui.core.arch import FW_GRUB, FW_S390_CCW
from pxetui.core.boot import Boot, TransferView
from pxetui.core.boot_stage import EntryFiles, Stage, StageMap, delivered
from pxetui.core.events import (
    FileNotFound,
    RequestRefused,
    SizeProbe,
    TransferEvent,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)

_MISSES_KEPT = 16
_ROLE = {"loader": "loader", "kernel": "kernel", "initrd": "initrd", "root_image": "root image"}


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a request is read against: the stage map, and what the machine is assigned now
    (a per-MAC config means this boot is that entry; the default config, the default's)."""

    stages: StageMap
    entry: str | None
    once: bool
    default: str | None


def transfer(
    boot: Boot, event: TransferEvent, name: str, stage: Stage, ctx: RequestContext
) -> None:
    """Fold one transfer event of a request already placed in *boot*."""
    view = next((t for t in boot.transfers if t.transfer_id == event.transfer_id), None)
    if view is None:
        view = TransferView(event.transfer_id, event.proto, event.filename, started=event.ts)
        boot.transfers.append(view)
    if isinstance(event, TransferStarted):
        view.size = event.size
        _started(boot, event, name, stage, ctx)
    elif isinstance(event, TransferProgress):
        view.bytes, view.rate_bps = event.bytes_sent, event.rate_bps
        view.size = event.size if event.size is not None else view.size
    elif isinstance(event, SizeProbe):
        view.state, view.size, view.finished = "probe", event.size, event.ts
        boot.add_hint(hints.size_probe(event.filename, event.ts))
    elif isinstance(event, TransferFinished):
        view.state, view.bytes, view.finished = "done", event.bytes_sent, event.ts
        view.rate_bps = event.bytes_sent / event.seconds if event.seconds > 0 else 0.0
        _finished(boot, name, stage, event.ts, ctx.stages)
    elif isinstance(event, TransferFailed):
        view.state, view.bytes, view.finished = "failed", event.bytes_sent, event.ts
        boot.last_error = f"{event.filename}: {event.reason}"


def _started(
    boot: Boot, event: TransferStarted, name: str, stage: Stage, ctx: RequestContext
) -> None:
    for code in ("file_missing", "file_unreadable"):
        hint = boot.hints.get(code)
        if hint is not None and name in hint.evidence:
            boot.clear(code)  # it is there now
    if stage == "loader":
        boot.reach("loader", event.ts)
        boot.first_loader = boot.first_loader or name
        boot.loaders.add(name)
        if boot.loaders - {boot.first_loader}:
            boot.clear("loader_refused")  # the firmware ran what we sent
    elif stage == "config":
        boot.reach("config", event.ts)
        boot.clear("loader_refused")
        if boot.config_at is None:
            boot.config_at, boot.first_config = event.ts, name
        if name not in rules.DISPATCHERS:
            # The files decide what this boot is: the MAC's file, or the default's.
            default = name in rules.DEFAULT_CONFIGS
            boot.entry = ctx.default if default else ctx.entry
            boot.once = False if default else ctx.once
            check_arch(boot, ctx.stages, event.ts)
    elif stage in ("kernel", "initrd", "root_image"):
        boot.reach(stage, event.ts)
        if stage == "root_image":
            boot.clear("no_root_image")
        _choose_menu_item(boot, name, event.ts, ctx.stages)
    big = event.size is not None and event.size >= hints.BIG_OVER_TFTP
    heavy = big and event.proto == "tftp" and stage in ("kernel", "initrd", "root_image")
    if heavy and FW_S390_CCW not in boot.firmwares:  # s390x firmware has no other way
        size = event.size or 0
        boot.add_hint(hints.big_over_tftp(event.filename, size, event.ts, _chain(boot)))


def _choose_menu_item(boot: Boot, name: str, ts: float, stages: StageMap) -> None:
    needs = stages.needs(boot.entry)
    if needs is None or needs.kind != "menu" or boot.menu_item is not None:
        return
    candidates = [i for i in needs.items if i in stages.entries_using(name)]
    if len(candidates) > 1 and needs.default in candidates:
        opened = boot.menu_at if boot.menu_at is not None else ts
        if ts - opened >= needs.timeout - 0.5 or not needs.timeout:
            candidates = [needs.default]  # after the timeout: the default
    if candidates:
        boot.menu_item = " | ".join(candidates) if len(candidates) > 1 else candidates[0]


def _finished(boot: Boot, name: str, stage: Stage, ts: float, stages: StageMap) -> None:
    boot.finished.add(name)
    if stage == "loader":
        boot.loader_done = (name, ts)
        if name in rules.IPXE_LOADERS:
            boot.ipxe_loaded_at = ts
    if stage == "config" and boot.misses:
        own = [m for m in boot.misses if boot.nic.hexhyp in m]
        if name in rules.DEFAULT_CONFIGS:
            boot.add_hint(hints.default_config((own or boot.misses)[0], name, ts))
        else:
            boot.add_hint(hints.lookup_trail(boot.misses, name, ts))
    _check_end(boot, name, stage, ts, stages)


def _check_end(boot: Boot, name: str, stage: Stage, ts: float, stages: StageMap) -> None:
    """Did this finished request end pxetui's part of the boot (README, "The boot model")?"""
    needs = stages.needs(boot.entry)
    if needs is None or not boot.active:
        return
    own_config = stage == "config" and name not in rules.DISPATCHERS
    if needs.kind == "local" and own_config:
        boot.end("local", ts, f"{name} read: boot from the local disk")
    elif needs.kind == "chain" and own_config:
        boot.end("handed_over", ts, f"{name} read: chained to the entry's URL")
    elif needs.kind == "menu":
        if own_config and boot.menu_at is None:
            boot.menu_at = ts
        item = boot.menu_item.split(" | ")[0] if boot.menu_item else None
        item_needs = stages.needs(item)
        if item_needs is not None and delivered(item_needs, boot.finished):
            boot.end("handed_over", ts, f"menu item {boot.menu_item}: kernel and initrds sent")
    elif needs.kernel is not None:
        if delivered(needs, boot.finished):
            what = "kernel, initrds and root image" if needs.image else "kernel and initrds"
            boot.end("handed_over", ts, f"{what} sent")
        elif needs.image and delivered(_without_image(needs), boot.finished):
            boot.delivered_at = boot.delivered_at or ts


def miss(boot: Boot, event: FileNotFound, name: str, stage: Stage) -> None:
    """A not-found: the normal search trail, or a missing file the boot needs."""
    if rules.is_probe_miss(name, stage):
        if len(boot.misses) < _MISSES_KEPT and stage == "config":
            boot.misses.append(name)
        return  # the loader's normal search trail, not an error
    boot.transfers.append(_instant(event, "missing"))
    if stage == "config":
        boot.last_error = f"{name} not found (no default config)"
        return
    boot.last_error = f"{event.proto} {name}: not found"
    if stage in _ROLE:
        boot.add_hint(hints.file_missing(event.proto, name, event.ts, _ROLE[stage]))


def refused(boot: Boot, event: RequestRefused, name: str) -> None:
    """A request refused for safety; an unreadable file is named with its fix."""
    boot.last_error = f"refused {event.filename}: {event.reason}"
    boot.transfers.append(_instant(event, "refused"))
    if "readable" in event.reason:
        boot.add_hint(hints.file_unreadable(event.proto, name, event.ts))


def check_arch(boot: Boot, stages: StageMap, ts: float) -> None:
    """The wrong-arch hint holds while option 93 is one the boot's entry cannot boot."""
    needs = stages.needs(boot.entry)
    if needs is not None and rules.arch_mismatch(needs.arch, boot.arch_code):
        code = boot.arch_code if boot.arch_code is not None else -1
        boot.add_hint(hints.wrong_arch(boot.arch, code, boot.entry or "", needs.arch, ts))
    else:
        boot.clear("wrong_arch")


def _instant(event: FileNotFound | RequestRefused, state: str) -> TransferView:
    """A request answered at once with an error, shown among the boot's transfers."""
    view = TransferView(f"{state}-{event.ts}", event.proto, event.filename, started=event.ts)
    view.state, view.finished = state, event.ts  # type: ignore[assignment]
    return view


def _without_image(needs: EntryFiles) -> EntryFiles:
    return EntryFiles(kind=needs.kind, kernel=needs.kernel, initrds=needs.initrds)


def _chain(boot: Boot) -> str:
    """Which loader chain a boot went through, for advice that fits it."""
    # grubx64.efi is what shim loads (loader: grub hands out grub/grubnetx64.efi): an
    # operator's own shim (bootx64.efi) is a shim chain too.
    if any("shim" in name or name.endswith(layout.SHIM_GRUB) for name in boot.loaders):
        return "shim"
    if FW_GRUB in boot.firmwares or any(n.startswith("grub") for n in boot.loaders):
        return "grub"
    return "pxelinux"
