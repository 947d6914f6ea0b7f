"""Hints: what an odd-looking or stuck boot probably means, as facts with evidence.

A hint is not a guess in the air: it names what the tracker saw (``evidence``, with the
times), the likely causes in order (``causes``), and it lives only while its condition
holds — the tracker removes it when the condition stops holding and a new boot starts
with none. The tracker (:mod:`pxetui.core.tracker`) decides *when* a hint applies; every
wording lives here, in one catalogue, so the sentences are reviewed together and the README's
hint table is checked against :data:`CATALOGUE` by a test.

No hint may recommend something that breaks the boot: nothing here advises iPXE to a client
that boots through shim (Secure Boot), and none tells the operator to stop the LAN's DHCP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pxetui.core.wording import NOT_WORLD_READABLE, chmod_fix, clock

Severity = Literal["info", "warn", "error"]

# iPXE waits ~13-16 s in "Configuring (net0 …)" on a LAN without IPv6 router advertisements
# before it fetches anything; a gap longer than this after its DHCP answer is that wait.
RA_WAIT_MIN_S = 4.0
# ... and it never waits much longer than this: past it, the fetch itself is the problem.
RA_WAIT_MAX_S = 40.0
# A client that accepted our offer and fetched nothing for this long is not reaching us.
LOADER_WAIT_S = 10.0
# A loader fetched and then silence (no DHCP from it, no fetch) for this long. iPXE asks for
# DHCP within seconds of its download (6 s seen under QEMU's TCG emulation).
LOADER_SILENT_S = 15.0
# A new DISCOVER from the same firmware this soon after a loader download: refused it.
LOADER_REFUSED_S = 60.0
# We offered an address; no REQUEST for it within this time: the client took another offer.
RACE_WAIT_S = 6.0
# A live entry's kernel and initrds were delivered; no root image asked for this long.
ROOT_IMAGE_WAIT_S = 90.0
# Above this, a kernel/initrd/image over TFTP is worth moving to HTTP (measured 4-5x faster).
BIG_OVER_TFTP = 8_000_000


@dataclass(frozen=True, slots=True)
class HintInfo:
    """One catalogue line: what the hint means, for the README and the detail screen."""

    code: str
    severity: Severity
    title: str
    evidence: str
    causes: tuple[str, ...]


CATALOGUE: dict[str, HintInfo] = {
    h.code: h
    for h in (
        HintInfo(
            "ra_wait",
            "warn",
            "iPXE is waiting for an IPv6 router advertisement",
            "iPXE got our DHCP answer and has fetched nothing for 4-40 s",
            (
                "no IPv6 router advertisements on this LAN: iPXE waits ~15 s in "
                "'Configuring' before it goes on (the boot continues)",
                "to remove the wait, send RAs on the LAN (radvd, or dnsmasq --enable-ra "
                "on the router)",
            ),
        ),
        HintInfo(
            "no_loader_fetch",
            "warn",
            "answered, but the loader was never fetched",
            "the client took our DHCP answer and fetched nothing for 10 s (40 s for iPXE)",
            (
                "TFTP (udp/69) blocked between client and server (a firewall)",
                "the next-server address in the answer is not reachable from the client",
            ),
        ),
        HintInfo(
            "loader_refused",
            "error",
            "the firmware refused the loader",
            "the loader was downloaded in full, then the same firmware started over within "
            "60 s without fetching a config — or, on UEFI, nothing came from the loader for 15 s",
            (
                "UEFI Secure Boot is on and the loader is not signed by a key the firmware "
                "trusts (ipxe.efi is unsigned): `loader: shim` (Debian's signed shim and "
                "GRUB), or turn Secure Boot off",
                "the loader is for another architecture than the firmware (option 93)",
                "the file is damaged or truncated on disk",
            ),
        ),
        HintInfo(
            "loader_silent",
            "warn",
            "the loader was downloaded, then nothing",
            "a BIOS client downloaded the loader, which sent no DHCP and fetched nothing for 15 s",
            (
                "the loader crashed or hangs (its console says why)",
                "the loader is for another architecture than the firmware (option 93)",
            ),
        ),
        HintInfo(
            "file_missing",
            "error",
            "a file the boot needs is not there",
            "a loader, kernel, initrd or image request was answered 'not found'",
            (
                "the file is not under the TFTP/HTTP root: copy it there",
                "the entry's path in the profile is wrong (`pxetui check` lists the entry)",
            ),
        ),
        HintInfo(
            "file_unreadable",
            "error",
            "a file the boot needs is not readable",
            "the request was refused because the file is not world-readable",
            ("the file's mode: `chmod 0644 <file>` (pxetui serves world-readable files only)",),
        ),
        HintInfo(
            "no_root_image",
            "warn",
            "kernel and initrd sent, the root image never asked for",
            "a live entry's kernel and initrds were delivered and no root image request "
            "came for 90 s",
            (
                "the kernel arguments: root=live:<url> must name the image under our HTTP base",
                "the initrd lacks the NIC driver or dracut's livenet module, so the booted "
                "kernel has no network",
                "the booted kernel got no DHCP lease (look at its console)",
            ),
        ),
        HintInfo(
            "dhcp_race_lost",
            "error",
            "another DHCP server answered first",
            "we offered an address and the client never asked for it (no DHCPREQUEST "
            "within 6 s), or it asked for another server's",
            (
                "another DHCP server on this LAN answers full DHCP first; s390x firmware "
                "takes the first offer and cannot use proxyDHCP",
                "give the machine an address on that server pointing at us (next-server, "
                "boot file), or boot it on an isolated net with dhcp.mode: full",
            ),
        ),
        HintInfo(
            "size_probe",
            "info",
            "UEFI size probe (normal)",
            "the firmware asked a file's size (tsize) and aborted, as UEFI does before downloading",
            ("normal UEFI behaviour, not an error",),
        ),
        HintInfo(
            "lookup_trail",
            "info",
            "the loader searched for its config (normal)",
            "config names were not found before one was",
            ("normal: pxelinux, GRUB and s390x search several names in a fixed order",),
        ),
        HintInfo(
            "default_config",
            "info",
            "no per-MAC file: the default entry boots",
            "the per-MAC config was not found, then the default config was sent",
            (
                "the machine is not assigned (or its per-MAC file is missing): assign it to "
                "boot something specific",
            ),
        ),
        HintInfo(
            "wrong_arch",
            "error",
            "the entry is for another architecture",
            "the client's option 93 names an architecture the assigned entry does not boot",
            ("assign an entry for this architecture (the entry's arch: in the profile)",),
        ),
        HintInfo(
            "big_over_tftp",
            "info",
            "a big file came over TFTP",
            "a kernel, initrd or image of 8 MB or more was sent over TFTP",
            ("HTTP is 4-5x faster for big files where the loader can use it",),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Hint:
    """One hint as it applies to one boot: the catalogue line plus what was seen, when."""

    code: str
    severity: Severity
    text: str
    evidence: str
    causes: tuple[str, ...]
    since: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "text": self.text,
            "evidence": self.evidence,
            "causes": list(self.causes),
            "since": self.since,
        }


def _hint(
    code: str, since: float, evidence: str, text: str = "", causes: tuple[str, ...] = ()
) -> Hint:
    info = CATALOGUE[code]
    return Hint(code, info.severity, text or info.title, evidence, causes or info.causes, since)


def ra_wait(offer_ts: float) -> Hint:
    return _hint(
        "ra_wait",
        offer_ts,
        f"iPXE got our DHCP answer at {clock(offer_ts)} and has fetched nothing since "
        f"(over {RA_WAIT_MIN_S:.0f} s)",
    )


HTTP_BOOT_CAUSES = (
    "UEFI HTTP boot fetches the loader from the URL in our answer: TCP to pxetui's HTTP "
    "port blocked, or http.base_url not reachable from the client",
    "the firmware does not trust the URL's server (https without its CA enrolled)",
)


def no_loader_fetch(offer_ts: float, waited_s: float, http_boot: bool = False) -> Hint:
    """*http_boot*: the firmware asked as ``HTTPClient``, so its loader comes over HTTP."""
    return _hint(
        "no_loader_fetch",
        offer_ts,
        f"our DHCP answer was taken at {clock(offer_ts)}; no "
        f"{'HTTP' if http_boot else 'TFTP'} request since (over {waited_s:.0f} s)",
        causes=HTTP_BOOT_CAUSES if http_boot else (),
    )


def loader_refused(loader: str, fetched_ts: float, again_ts: float, firmware: str) -> Hint:
    who = firmware or "the firmware"
    return _hint(
        "loader_refused",
        again_ts,
        f"{loader} sent in full at {clock(fetched_ts)}, then {who} started over at "
        f"{clock(again_ts)} ({again_ts - fetched_ts:.0f} s later) without fetching a config",
        text=f"the firmware refused {loader}",
    )


def loader_not_run(loader: str, fetched_ts: float, firmware: str) -> Hint:
    """UEFI downloaded *loader* and nothing came from it: refused, most likely."""
    who = firmware or "the UEFI firmware"
    return _hint(
        "loader_refused",
        fetched_ts,
        f"{who} downloaded {loader} in full at {clock(fetched_ts)}; nothing came from it "
        f"since (no DHCP, no request, over {LOADER_SILENT_S:.0f} s)",
        text=f"the firmware did not run {loader}",
    )


def loader_silent(loader: str, fetched_ts: float) -> Hint:
    return _hint(
        "loader_silent",
        fetched_ts,
        f"{loader} sent at {clock(fetched_ts)}; no DHCP and no request from it since "
        f"(over {LOADER_SILENT_S:.0f} s)",
        text=f"{loader} was downloaded, then nothing",
    )


def file_missing(proto: str, name: str, ts: float, role: str) -> Hint:
    return _hint(
        "file_missing",
        ts,
        f"{proto.upper()} request for {name} at {clock(ts)}: not found",
        text=f"the {role} {name} is missing",
        causes=(
            f"{name} is not under the {proto.upper()} root: copy it there",
            "the entry's path in the profile is wrong (`pxetui check` lists the entry)",
        ),
    )


def file_unreadable(proto: str, name: str, ts: float) -> Hint:
    return _hint(
        "file_unreadable",
        ts,
        f"{proto.upper()} request for {name} at {clock(ts)}: refused, {NOT_WORLD_READABLE}",
        text=f"{name} is {NOT_WORLD_READABLE} ({chmod_fix(name)})",
        causes=(f"its mode: `{chmod_fix(name)}` (pxetui serves world-readable files only)",),
    )


def no_root_image(image: str, delivered_ts: float) -> Hint:
    return _hint(
        "no_root_image",
        delivered_ts,
        f"kernel and initrds delivered at {clock(delivered_ts)}; no request for {image} "
        f"since (over {ROOT_IMAGE_WAIT_S:.0f} s)",
    )


def dhcp_race_lost(offered_ip: str, offer_ts: float, detail: str) -> Hint:
    return _hint(
        "dhcp_race_lost",
        offer_ts,
        f"we offered {offered_ip} at {clock(offer_ts)}; {detail}",
    )


def size_probe(name: str, ts: float) -> Hint:
    return _hint(
        "size_probe",
        ts,
        f"asked the size of {name} at {clock(ts)} and aborted (normal before a UEFI download)",
    )


def lookup_trail(misses: list[str], found: str, ts: float) -> Hint:
    shown = ", ".join(misses[:4]) + (f" (+{len(misses) - 4} more)" if len(misses) > 4 else "")
    return _hint(
        "lookup_trail",
        ts,
        f"not found: {shown}; then {found} at {clock(ts)}",
    )


def default_config(missed: str, default: str, ts: float) -> Hint:
    return _hint(
        "default_config",
        ts,
        f"asked for {missed} (not found), then got {default} at {clock(ts)}",
    )


def wrong_arch(client_arch: str, code: int, entry: str, entry_arch: str, ts: float) -> Hint:
    return _hint(
        "wrong_arch",
        ts,
        f"option 93 = {code} ({client_arch}) at {clock(ts)}; entry {entry!r} is for {entry_arch}",
    )


def big_over_tftp(name: str, size: int, ts: float, loader: str) -> Hint:
    """*loader* names the boot chain ("pxelinux", "grub", "shim") so the advice fits it."""
    if loader == "shim":
        advice = (
            "this boot goes through shim (Secure Boot): keep it; GRUB loads over TFTP, "
            "so expect big files to take longer",
        )
    elif loader == "grub":
        advice = (
            "GRUB fetches files under pxetui's root over HTTP unless `grub.files: tftp`; "
            "otherwise its HTTP load failed (no http module in this GRUB, or the HTTP port "
            "unreachable) and it fell back to TFTP, one round trip per 1 KB block",
        )
    else:
        advice = ("`loader: ipxe` loads kernels and initrds over HTTP (pxelinux cannot)",)
    return _hint(
        "big_over_tftp",
        ts,
        f"{name} ({size / 1e6:.0f} MB) over TFTP at {clock(ts)}",
        causes=(*CATALOGUE["big_over_tftp"].causes, *advice),
    )
