"""The boot facts that come from time passing: waits that became hints, menus, stalls.

Called by :meth:`pxetui.core.tracker.ClientTracker.tick` for each running boot. A hint is
added when its wait crosses the threshold and removed when the condition stops holding (the
tracker clears the "nothing fetched" family on any request).
"""

from __future__ import annotations

from pxetui.core import hints
from pxetui.core.arch import FW_EDK2_HTTP
from pxetui.core.boot import Boot
from pxetui.core.boot_rules import MENU_GRACE_S, STALL_S
from pxetui.core.boot_stage import StageMap
from pxetui.core.wording import clock


def tick_boot(boot: Boot, stages: StageMap, now: float) -> bool:
    """Apply the time-based rules to one running *boot*; True if it changed."""
    if now - boot.last_event >= STALL_S:
        failed = any(h.severity == "error" for h in boot.hints.values())
        evidence = f"nothing from it since {clock(boot.last_event)}"
        boot.end("failed" if failed else "stalled", now, evidence)
        return True
    changed = _answer_waits(boot, now)
    changed |= _loader_silence(boot, now)
    changed |= _root_image_wait(boot, stages, now)
    changed |= _menu_timeout(boot, stages, now)
    return changed


def _answer_waits(boot: Boot, now: float) -> bool:
    """Our DHCP answer went out and nothing was fetched after it."""
    answered = boot.answered_at
    if answered is None or (boot.last_fetch is not None and boot.last_fetch >= answered):
        return False
    silent = now - answered
    if boot.ipxe_dhcp_at == answered:
        if hints.RA_WAIT_MIN_S <= silent < hints.RA_WAIT_MAX_S:
            return boot.add_hint(hints.ra_wait(answered))
        if silent >= hints.RA_WAIT_MAX_S:
            cleared = boot.clear("ra_wait")
            return boot.add_hint(hints.no_loader_fetch(answered, hints.RA_WAIT_MAX_S)) or cleared
        return False
    if boot.accepted_at is not None and boot.accepted_at >= answered:
        if silent >= hints.LOADER_WAIT_S:
            http_boot = boot.firmware == FW_EDK2_HTTP  # the loader is a URL: HTTP, not TFTP
            hint = hints.no_loader_fetch(answered, hints.LOADER_WAIT_S, http_boot)
            return boot.add_hint(hint)
        return False
    offered = boot.offered_at
    if offered is not None and boot.accepted_at is None and now - offered >= hints.RACE_WAIT_S:
        if boot.requested_other:
            detail = f"it asked for {boot.requested_other} instead (another server's offer)"
        else:
            detail = f"no DHCPREQUEST for it within {hints.RACE_WAIT_S:.0f} s"
        return boot.add_hint(hints.dhcp_race_lost(boot.offered_ip or "an address", offered, detail))
    return False


def _loader_silence(boot: Boot, now: float) -> bool:
    if boot.loader_done is None or boot.config_at is not None:
        return False
    name, done = boot.loader_done
    quiet_since_loader = (boot.last_fetch or 0.0) <= done and (boot.ipxe_dhcp_at or 0.0) < done
    if not quiet_since_loader or now - done < hints.LOADER_SILENT_S:
        return False
    if boot.arch_code is not None and boot.arch_code >= 6:  # UEFI: Secure Boot said no
        first = boot.firmwares[0] if boot.firmwares else ""
        return boot.add_hint(hints.loader_not_run(name, done, first))
    return boot.add_hint(hints.loader_silent(name, done))


def _root_image_wait(boot: Boot, stages: StageMap, now: float) -> bool:
    needs = stages.needs(boot.entry)
    if (
        boot.delivered_at is None
        or needs is None
        or needs.image is None
        or "root_image" in boot.phases
        or now - boot.delivered_at < hints.ROOT_IMAGE_WAIT_S
    ):
        return False
    return boot.add_hint(hints.no_root_image(needs.image, boot.delivered_at))


def _menu_timeout(boot: Boot, stages: StageMap, now: float) -> bool:
    """A menu with a timeout that fetched nothing after it: its one silent item was chosen."""
    needs = stages.needs(boot.entry)
    if needs is None or needs.kind != "menu" or boot.menu_at is None or boot.menu_item:
        return False
    if needs.timeout <= 0:
        return False  # it waits for a person: nothing to conclude from silence
    silent = [i for i in needs.items if (n := stages.needs(i)) is not None and n.silent]
    quiet_since = max(boot.menu_at, boot.last_fetch or 0.0)
    if not silent or now - quiet_since < needs.timeout + MENU_GRACE_S:
        return False
    boot.menu_item = " | ".join(silent)
    local = all((n := stages.needs(i)) is not None and n.kind == "local" for i in silent)
    evidence = (
        f"nothing fetched for {needs.timeout + MENU_GRACE_S:.0f} s after the menu "
        f"(timeout {needs.timeout} s): {'its item' if len(silent) == 1 else 'one of'} "
        f"{boot.menu_item}, which pxetui does not serve"
    )
    boot.end("local" if local else "handed_over", now, evidence)
    return True
