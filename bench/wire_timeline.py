"""A boot's exchange on the wire, as a short text timeline (from ``boot_timings --capture``).

    python3 bench/wire_timeline.py DIR/uefi-ipxe-pxetui-1 [...]
    python3 bench/wire_timeline.py --phases DIR/uefi-ipxe-*.pcap   # UEFI phases, medians

Reads ``<name>.pcap`` (tcpdump on the lab bridge) and ``<name>.serial.txt`` (the serial
console with offsets from QEMU's start, and QEMU's start on the wall clock), and prints every
DHCP/TFTP request and answer, HTTP request, TCP retransmission and ARP that involves the VM,
the first/last frame of each bulk transfer, the frames the VM sends after its last download
and the serial lines — all in seconds since QEMU started. Then the network phase as
:class:`pxetui.lab.wire.PhaseTracker` measures it (replayed from the pcap) next to the old
"last frame the VM sent" measure. Needs ``tshark`` for the protocol labels.

``--phases`` (UEFI scenario ``uefi-ipxe`` only) instead prints a Markdown table of the
phases of the boot, medians and ranges per server (pxetui / dnsmasq from the file names).
"""

from __future__ import annotations

import argparse
import re
import statistics
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxetui.core.mac import MacAddress
from pxetui.lab.scenarios import BIOS_MAC
from pxetui.lab.wire import PhaseTracker

BULK = "tftp.opcode==3 or tftp.opcode==4 or (tcp.len==0 and not tcp.flags.syn==1 "
BULK += "and not tcp.flags.fin==1) or (tcp.len>0 and not http.request "
BULK += "and not tcp.analysis.retransmission)"


def read_pcap(path: Path) -> list[tuple[float, bytes]]:
    """(epoch seconds, frame) of a classic little- or big-endian pcap (tcpdump -w)."""
    data = path.read_bytes()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    frames = []
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[pos : pos + 16])
        pos += 16
        frames.append((sec + frac / (1e9 if nano else 1e6), data[pos : pos + incl]))
        pos += incl
    return frames


def qemu_start(serial: Path) -> float | None:
    for line in serial.read_text(errors="replace").splitlines():
        if line.startswith("# QEMU started at "):
            return float(line.split()[4])
    return None


def tshark(pcap: Path, display_filter: str) -> list[tuple[float, str, str]]:
    """(epoch, source MAC, summary) of the frames matching *display_filter*."""
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", display_filter, "-T", "fields", "-e",
         "frame.time_epoch", "-e", "eth.src", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    rows = []
    for line in out.splitlines():
        epoch, src, proto, info = [*line.split("\t"), "", "", ""][:4]
        rows.append((float(epoch), src, f"{proto} {info}"))
    return rows


def timeline(base: Path, mac: MacAddress) -> str:
    pcap, serial = Path(f"{base}.pcap"), Path(f"{base}.serial.txt")
    start = qemu_start(serial)
    if start is None:
        raise SystemExit(f"{serial}: no '# QEMU started at' line")
    vm = mac.colon
    about_vm = f"(eth.src=={vm} or eth.dst=={vm} or eth.dst==ff:ff:ff:ff:ff:ff)"
    events: list[tuple[float, str]] = []
    for epoch, src, text in tshark(pcap, f"{about_vm} and not icmpv6 and not ({BULK})"):
        who = "VM " if src == vm else "srv" if src else "?  "
        events.append((epoch - start, f"wire   {who} {text}"))
    tracker = PhaseTracker(mac)
    bulk_to_vm = [
        (e, f) for e, f in read_pcap(pcap) if f[0:6] == mac.packed or f[6:12] == mac.packed
    ]
    for epoch, frame in bulk_to_vm:
        tracker.see(frame, epoch - start)
    # Transfers: first and last bulk frame of each run of bulk frames (gap > 0.5 s splits).
    bulk = tshark(pcap, f"(eth.src=={vm} or eth.dst=={vm}) and ({BULK})")
    # ... except those after the end of the network phase: shown one by one.
    end = tracker.last if tracker.last is not None else float("inf")
    for epoch, src, text in bulk:
        if epoch - start > end + 0.5:
            events.append((epoch - start, f"wire   {'VM ' if src == vm else 'srv'} {text}"))
    bulk = [row for row in bulk if row[0] - start <= end + 0.5]
    run: list[float] = []
    for epoch, _, _ in [*bulk, (float("inf"), "", "")]:
        if run and epoch - run[-1] > 0.5:
            events.append(
                (run[0] - start, f"wire   ... {len(run)} bulk frames (data/ACK) until "
                 f"{run[-1] - start:.3f}")
            )  # fmt: skip
            run = []
        run.append(epoch)
    for line in serial.read_text(errors="replace").splitlines():
        if line.startswith("#"):
            continue
        at, _, text = line.strip().partition(" ")
        text = text.strip()
        if text:
            events.append((float(at), f"serial {text[:110]}"))
    last_sent_frames = [e - start for e, f in bulk_to_vm if f[6:12] == mac.packed]
    events.sort(key=lambda item: item[0])
    out = [f"# {base.name}: seconds since QEMU start (host clock)"]
    out += [f"{at:8.3f}  {text}" for at, text in events]
    t = tracker.times()
    if t.first is not None and t.last is not None and t.last_sent is not None:
        out.append(
            f"# network phase: first DHCP request {t.first:.3f}, end {t.last:.3f} -> "
            f"{t.last - t.first:.2f} s (old measure, VM's last frame {t.last_sent:.3f} -> "
            f"{t.last_sent - t.first:.2f} s); VM frames: {len(last_sent_frames)}"
        )
    return "\n".join(out)


PHASES = {
    "EDK2 DHCP (DISCOVER -> REQUEST)": ("edk2_discover", "edk2_request"),
    "EDK2 proxyDHCP + wait -> ipxe.efi RRQ": ("edk2_request", "nbp_rrq"),
    "ipxe.efi over TFTP": ("nbp_rrq", "nbp_done"),
    "ipxe.efi starts (to its DISCOVER)": ("nbp_done", "ipxe_discover"),
    "iPXE: DHCP, script, kernel, initrd": ("ipxe_discover", "end"),
    "**net** (first DHCP request -> end)": ("first", "end"),
    "net, old measure (-> VM's last frame)": ("first", "last_sent"),
    "last download -> VM's last frame": ("end", "last_sent"),
    "last download -> guest's marker": ("end", "marker"),
    "QEMU start -> guest's marker (boot)": ("zero", "marker"),
}


def marks(lines: list[str]) -> dict[str, float]:
    """The moments :data:`PHASES` is made of, read back from a :func:`timeline`."""

    def at(pattern: str, nth: int = 0) -> float:
        return [float(x.split()[0]) for x in lines if re.search(pattern, x)][nth]

    net = next(x for x in lines if x.startswith("# network phase"))
    got = {
        "zero": 0.0,
        "first": float(re.findall(r"request ([\d.]+)", net)[0]),
        "end": float(re.findall(r"end ([\d.]+)", net)[0]),
        "last_sent": float(re.findall(r"last frame ([\d.]+)", net)[0]),
        "edk2_discover": at(r"VM  DHCP DHCP Discover"),
        "edk2_request": at(r"VM  DHCP DHCP Request"),
        "nbp_rrq": at(r"VM  TFTP Read Request, File: ipxe.efi", 1),  # after the size probe
        "ipxe_discover": at(r"VM  DHCP DHCP Discover", 1),
        "marker": at(r"serial PXETUI-BOOTED"),
    }
    bulk = [x for x in lines if "bulk frames" in x and float(x.split()[0]) >= got["nbp_rrq"]]
    got["nbp_done"] = float(re.findall(r"until ([\d.]+)", bulk[0])[0])
    return got


def phases_table(bases: list[Path], mac: MacAddress) -> str:
    runs: dict[str, list[dict[str, float]]] = {"pxetui": [], "dnsmasq": []}
    for base in bases:
        server = "pxetui" if "-pxetui-" in base.name else "dnsmasq"
        runs[server].append(marks(timeline(base, mac).splitlines()))
    out = [
        f"| phase (s, median and range) | pxetui ({len(runs['pxetui'])} boots) "
        f"| dnsmasq alone ({len(runs['dnsmasq'])} boots) |",
        "|---|---|---|",
    ]
    for name, (start, stop) in PHASES.items():
        cells = []
        for server in ("pxetui", "dnsmasq"):
            values = [run[stop] - run[start] for run in runs[server]]
            if not values:
                cells.append("-")
                continue
            med = statistics.median(values)
            cells.append(f"{med:.2f} ({min(values):.2f}-{max(values):.2f})")
        out.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("bases", nargs="+", type=Path, help="capture name (.pcap optional)")
    parser.add_argument("--mac", default=BIOS_MAC.colon, help="the VM's MAC")
    parser.add_argument("--phases", action="store_true", help="UEFI phase table, medians")
    args = parser.parse_args(argv)
    mac = MacAddress.parse(args.mac)
    bases = [b.with_suffix("") if b.suffix == ".pcap" else b for b in args.bases]
    if args.phases:
        print(phases_table(bases, mac))
        return 0
    for base in bases:
        print(timeline(base, mac))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
