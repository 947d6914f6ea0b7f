"""Boot stories: real firmware boots, and what the tracker says about each of them.

Every story runs real firmware under QEMU (TCG) in namespaces of its own, against one
``pxetui serve`` engine. The serial console says what really happened (the guest's marker,
iPXE's or the firmware's own failure text); then ``pxetui status --json`` must tell the same
story: one row per machine, one entry in ``boots`` per power-on, how each boot ended
(``outcome``), the menu item taken, and hints that are true while they are shown.

The stories, in priority order: a BIOS iPXE ROM booted twice; ``once`` then a local boot;
a two-NIC host booting from its second NIC; a menu's default after its timeout; ``once``
with a menu; an unknown MAC; UEFI (EDK2's PXE and its size probe); a missing kernel; an
initrd the server may not read (0600); a LAN without IPv6 router advertisements; a loader
refused by Secure Boot; an s390x guest losing the DHCP race to the LAN's server.

``PXETUI_CAPTURE_STORIES=1`` also writes each story's engine events to
``tests/data/tracker/stories/`` (see ``stories.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pxetui.core.mac import MacAddress
from pxetui.lab.lan import held, wait_lan_ack
from pxetui.lab.scenarios import (
    BIOS_MAC,
    MULTI_NIC_MAC,
    MULTI_NIC_SECOND,
    S390X_MAC,
    SCENARIOS,
    UNKNOWN_MAC,
    Scenario,
)
from tests.e2e.stories import (
    Client,
    all_hints,
    boots,
    find_hint,
    hint_codes,
    recommends_ipxe,
    replace_with_private_copy,
    transfer_names,
)

pytestmark = pytest.mark.e2e

KERNEL = "lab/vmlinuz-amd64"
INITRD = "lab/initrd-amd64.gz"
LOCAL = ["No bootable device"]
"""A BIOS VM whose iPXE script ran ``exit``: SeaBIOS finds nothing else to boot."""
BOOTED = ("PXETUI-BOOTED",)
"""As a failure string: a boot that must not reach the guest's init."""

TINY = Scenario(
    "story-bios",
    "BIOS iPXE ROM -> boot.ipxe -> per-MAC script -> kernel + initrd over HTTP, proxyDHCP",
    "bios",
    BIOS_MAC,
    "tiny",
    expect_args=("pxetui.entry=tiny",),
)
QUICK_MENU = replace(TINY, name="story-menu", entry="quick-menu")
UEFI = replace(SCENARIOS["uefi-ipxe"], name="story-uefi")
S390X_RESERVED = "10.250.77.60"
S390X_RACE = Scenario(
    "story-s390x-race",
    "s390x behind proxyDHCP with a reserved address; the LAN's DHCP server answers first",
    "s390x",
    S390X_MAC,
    "s390x-tiny",
    initrd="initrd-s390x.gz",
    overrides={
        "network": {"dhcp": {"s390x_addresses": {S390X_MAC.colon: S390X_RESERVED}}},
        "hosts": {S390X_MAC.colon: {"entry": "s390x-tiny", "arch": "s390x"}},
    },
    timeout=60.0,
)


def _mac(value: Any) -> MacAddress:
    return MacAddress.parse(str(value))


def _handed_over(boot: dict[str, Any]) -> None:
    assert boot["outcome"] == "handed_over", f"boot {boot.get('n')}: {boot['outcome']}"
    names = transfer_names(boot)
    assert KERNEL in names and INITRD in names, f"boot {boot.get('n')} transfers: {names}"


# --- 1. the same BIOS machine booted twice ------------------------------------------------


async def test_bios_ipxe_rom_booted_twice_is_two_boots(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """Two power-ons of the same MAC (iPXE ROM, no PXE ROM DHCP in between): two boots."""
    story = story_factory("bios-twice", TINY)
    for _ in range(2):
        story.assert_booted(await story.boot(), "pxetui.entry=tiny")

    def check(c: Client) -> None:
        b = boots(c, 2)
        assert [x["n"] for x in b] == [1, 2], [x.get("n") for x in b]
        for boot in b:
            _handed_over(boot)
            assert _mac(boot["nic"]) == BIOS_MAC and boot["entry"] == "tiny", boot
            assert boot["firmware"] and boot["arch"], boot
        assert b[0]["ended"] is not None, "the first boot never ended"
        assert b[1]["started"] >= b[0]["ended"], "the two boots overlap"
        assert c["outcome"] == "handed_over" and c["phase"] == "handed_over"
        assert _mac(c["nic"]) == BIOS_MAC

    story.expect_client(check)


# --- 2. once, then the same machine boots locally -------------------------------------------


async def test_once_then_reboot_is_a_second_boot_that_goes_local(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """``assign --once``: the entry boots, the next power-on gets iPXE ``exit``."""
    story = story_factory("once-local", TINY, once=True)
    story.assert_booted(await story.boot(), "pxetui.entry=tiny")
    story.assert_serial(await story.boot(expect=LOCAL, failures=BOOTED))

    def check(c: Client) -> None:
        first, second = boots(c, 2)
        _handed_over(first)
        assert first["once"] is True and first["entry"] == "tiny", first
        assert second["outcome"] == "local", second["outcome"]
        assert KERNEL not in transfer_names(second), transfer_names(second)
        assert c["outcome"] == "local"

    story.expect_client(check)


# --- 3. a two-NIC host boots from its second NIC ---------------------------------------------


async def test_multi_nic_host_is_one_row_named_by_its_primary_mac(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """NIC 1 (the host's key in the profile) has no link; NIC 2 (``macs:``) boots."""
    scenario = replace(
        TINY, name="story-multi", mac=MULTI_NIC_SECOND, dead_nic=MULTI_NIC_MAC, timeout=150.0
    )
    story = story_factory("multi-nic", scenario, assign=False)
    # NIC 1's iPXE gives up ("No more network devices"), SeaBIOS tries floppy and CD-ROM
    # ("Boot failed: …"), then NIC 2's ROM boots: only the end of the line is a failure.
    result = await story.boot(failures=("No bootable device", "Kernel panic"))
    story.assert_booted(result, "pxetui.entry=tiny")
    story.assert_serial(result, contains=[f"Configuring (net1 {MULTI_NIC_SECOND.colon})"])

    def check(c: Client) -> None:
        assert _mac(c["mac"]) == MULTI_NIC_MAC
        assert {_mac(m) for m in c["macs"]} >= {MULTI_NIC_MAC, MULTI_NIC_SECOND}, c["macs"]
        assert _mac(c["nic"]) == MULTI_NIC_SECOND, c["nic"]
        (boot,) = boots(c, 1)
        assert _mac(boot["nic"]) == MULTI_NIC_SECOND, boot["nic"]
        assert boot["entry"] == "tiny", boot["entry"]
        _handed_over(boot)
        assert c["outcome"] == "handed_over"

    story.expect_client(check, mac=MULTI_NIC_MAC)
    rows = story.row_macs()
    assert MULTI_NIC_SECOND not in rows, f"the second NIC has a row of its own: {rows}"


# --- 4. a menu's default item after the timeout ------------------------------------------------


async def test_menu_default_after_timeout_names_the_item_and_hands_over(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """``quick-menu`` (2 s, default ``tiny``): nobody chooses, tiny boots."""
    story = story_factory("menu-default", QUICK_MENU)
    result = await story.boot()
    story.assert_booted(result, "pxetui.entry=tiny")
    story.assert_serial(result, contains=["pxetui quick menu"])

    def check(c: Client) -> None:
        (boot,) = boots(c, 1)
        assert boot["entry"] == "quick-menu", boot["entry"]
        assert boot["menu_item"] == "tiny", boot["menu_item"]
        _handed_over(boot)
        assert c["menu_item"] == "tiny" and c["outcome"] == "handed_over"

    story.expect_client(check)


# --- 5. once with a menu ----------------------------------------------------------------------


async def test_once_with_a_menu_boots_the_item_then_goes_local(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """``assign MAC quick-menu --once``: the menu's item boots, the next power-on is local."""
    story = story_factory("menu-once", QUICK_MENU, once=True)
    first = await story.boot()
    story.assert_booted(first, "pxetui.entry=tiny")
    story.assert_serial(first, contains=["pxetui quick menu"])
    second = await story.boot(expect=LOCAL, failures=BOOTED)
    story.assert_serial(second)
    assert "pxetui quick menu" not in second.text, story.context()

    def check(c: Client) -> None:
        one, two = boots(c, 2)
        assert one["once"] is True and one["entry"] == "quick-menu", one
        assert one["menu_item"] == "tiny", one["menu_item"]
        _handed_over(one)
        assert two["outcome"] == "local", two["outcome"]
        assert c["outcome"] == "local"

    story.expect_client(check)


# --- 6. an unknown MAC ------------------------------------------------------------------------


async def test_unknown_mac_boots_the_profiles_unknown_entry(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """A MAC the profile does not name gets ``unknown:`` (lab-menu, default tiny)."""
    scenario = replace(TINY, name="story-unknown", mac=UNKNOWN_MAC)
    story = story_factory("unknown-mac", scenario, assign=False)
    result = await story.boot()
    story.assert_booted(result, "pxetui.entry=tiny")
    story.assert_serial(result, contains=["pxetui lab menu"])

    def check(c: Client) -> None:
        assert c["entry"] == "lab-menu", c["entry"]
        (boot,) = boots(c, 1)
        assert boot["entry"] == "lab-menu" and boot["menu_item"] == "tiny", boot
        _handed_over(boot)
        assert c["menu_item"] == "tiny" and c["outcome"] == "handed_over"

    story.expect_client(check, mac=UNKNOWN_MAC)


# --- 7. UEFI: EDK2's own PXE, its size probe, ipxe.efi ------------------------------------------


async def test_uefi_boot_shows_the_size_probe_as_information(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """OVMF asks ipxe.efi's size first (RRQ + tsize, then ERROR 8): normal, said as info."""
    story = story_factory("uefi-size-probe", UEFI)
    result = await story.boot()
    story.assert_booted(result, "pxetui.entry=tiny")
    story.assert_serial(result, contains=["Start PXE over IPv4", "NBP file downloaded"])

    def check(c: Client) -> None:
        (boot,) = boots(c, 1)
        probe = find_hint(boot["hints"], "size_probe")
        assert probe["severity"] == "info", probe
        assert "ipxe.efi" in probe["text"] + probe["evidence"], probe
        assert boot["outcome"] == "handed_over", boot["outcome"]
        assert "ipxe.efi" in transfer_names(boot)
        bad = [h["code"] for h in boot["hints"] if h.get("severity") != "info"]
        assert not bad, f"a good UEFI boot got warnings: {bad}"

    story.expect_client(check)


# --- 8. the entry's kernel is missing ---------------------------------------------------------


async def test_missing_kernel_is_named_by_a_file_missing_hint(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """The kernel disappears after the engine started (check refuses it before)."""
    story = story_factory("missing-kernel", TINY)
    (story.tree / KERNEL).unlink()
    result = await story.boot(expect=LOCAL, failures=BOOTED)
    story.assert_serial(
        result, contains=["vmlinuz-amd64... No such file", "pxetui: entry tiny could not boot"]
    )

    def check(c: Client) -> None:
        (boot,) = boots(c, 1)
        hint = find_hint(c["hints"], "file_missing")
        assert KERNEL in hint["text"] + hint["evidence"], hint
        assert hint["severity"] in ("warn", "error"), hint
        assert boot["outcome"] != "handed_over", boot["outcome"]

    story.expect_client(check)


# --- 9. an initrd the server may not read -------------------------------------------------


async def test_initrd_0600_is_named_with_the_chmod_fix(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """The initrd is made 0600 after the engine started (as dracut writes it)."""
    story = story_factory("initrd-0600", TINY)
    initrd = story.tree / INITRD
    replace_with_private_copy(initrd)
    initrd.chmod(0o600)
    result = await story.boot(expect=LOCAL, failures=BOOTED)
    story.assert_serial(
        result, contains=["initrd-amd64.gz...", "pxetui: entry tiny could not boot"]
    )

    def check(c: Client) -> None:
        (boot,) = boots(c, 1)
        hint = find_hint(c["hints"], "file_unreadable")
        assert INITRD in hint["text"] + hint["evidence"], hint
        assert "chmod 0644" in hint["text"], hint["text"]
        assert boot["outcome"] != "handed_over", boot["outcome"]

    story.expect_client(check)


# --- 10. a LAN without IPv6 router advertisements --------------------------------------------


async def test_ra_wait_is_shown_while_ipxe_waits_and_gone_once_it_proceeds(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """No RAs: iPXE sits in "Configuring" ~15 s for IPv6, then boots normally."""
    story = story_factory("no-ra", TINY, net_kind="proxy-no-ra")

    def waiting(c: Client | None) -> bool:
        return c is not None and "ra_wait" in hint_codes(c.get("hints", []))

    seen_at: dict[str, float] = {}

    def timed(line: str, at: float) -> None:
        for key in ("[Link:up", "Configuring (net0"):
            if key in line:
                seen_at.setdefault(key, at)

    result, during = await story.boot_watching(waiting, on_line=timed)
    story.assert_booted(result, "pxetui.entry=tiny")
    # iPXE prints "Configuring (net0 …)" and its "... ok" on one line, once IPv6 gave up.
    assert len(seen_at) == 2, f"no link/configure lines: {seen_at}\n{story.context()}"
    configuring = seen_at["Configuring (net0"] - seen_at["[Link:up"]
    assert configuring > 8, f"iPXE configured in {configuring:.1f} s: no RA wait?"
    assert during is not None, (
        f"no ra_wait hint while iPXE waited for a router advertisement\n{story.context()}"
    )
    find_hint(during["hints"], "ra_wait")

    def check(c: Client) -> None:
        (boot,) = boots(c, 1)
        _handed_over(boot)
        assert "ra_wait" not in hint_codes(boot["hints"]), boot["hints"]
        assert "ra_wait" not in hint_codes(c["hints"]), c["hints"]
        assert "no_loader_fetch" not in hint_codes(boot["hints"]), boot["hints"]

    story.expect_client(check)


# --- 11. a loader refused by Secure Boot ----------------------------------------------------


async def test_loader_refused_by_secure_boot_and_no_hint_recommends_ipxe(
    amd64_files: dict[str, Path], story_factory: Any
) -> None:
    """OVMF with Microsoft's keys enforcing refuses the unsigned ipxe.efi it downloaded."""
    scenario = replace(UEFI, name="story-secure-boot", secure_boot=True)
    story = story_factory("secure-boot-refused", scenario)

    def refused(c: Client | None) -> bool:
        return c is not None and "loader_refused" in hint_codes(c.get("hints", []))

    result, _ = await story.boot_watching(
        refused, expect=["Access Denied"], failures=BOOTED, linger=20.0
    )
    story.assert_serial(result, contains=["NBP file downloaded successfully"])

    def check(c: Client) -> None:
        boot = boots(c)[-1]
        hint = find_hint(c["hints"], "loader_refused")
        assert hint["severity"] in ("warn", "error"), hint
        assert "ipxe.efi" in hint["text"] + hint["evidence"], hint
        assert boot["outcome"] != "handed_over", boot["outcome"]
        codes = hint_codes([*c["hints"], *boot["hints"]])
        assert "ra_wait" not in codes and "no_loader_fetch" not in codes, codes
        advising = [h["code"] for h in all_hints(c) if recommends_ipxe(h)]
        assert not advising, f"hints recommending iPXE under Secure Boot: {advising}"

    story.expect_client(check)


# --- 12. s390x loses the DHCP race to the LAN's server --------------------------------------


async def test_s390x_that_took_the_lans_offer_gets_a_race_lost_hint(
    s390x_files: dict[str, Path], story_factory: Any
) -> None:
    """pxetui reserves an address for the s390x (proxy mode); the LAN's offer arrives first,
    the firmware takes it and asks the LAN router for its boot files."""
    story = story_factory("s390x-race-lost", S390X_RACE)
    pid = story.run.server.dnsmasq_pid()
    assert pid is not None and story.lan is not None, "no dnsmasq pid / LAN server"
    with held(pid):
        boot = asyncio.create_task(
            story.boot(expect=["Failed to load OS from network"], failures=BOOTED)
        )
        try:
            await asyncio.to_thread(wait_lan_ack, story.lan, S390X_MAC, 40.0)
        except BaseException:
            boot.cancel()
            await asyncio.gather(boot, return_exceptions=True)
            raise
    result = await boot
    story.assert_serial(result, contains=["Using TFTP server: 10.250.77.2"])
    assert f"Using IPv4 address: {S390X_RESERVED}" not in result.text, story.context()

    def check(c: Client) -> None:
        boot = boots(c)[-1]
        hint = find_hint(c["hints"], "dhcp_race_lost")
        assert hint["severity"] in ("warn", "error"), hint
        assert boot["outcome"] != "handed_over", boot["outcome"]
        assert c.get("ip") != S390X_RESERVED, f"shows our reserved {S390X_RESERVED}"

    story.expect_client(check)
