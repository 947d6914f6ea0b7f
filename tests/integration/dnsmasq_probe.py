"""DHCP client probe run inside the client namespace (scapy, raw frames on one interface).

Usage: ``python3 dnsmasq_probe.py '<json spec>'`` (see ``dnsmasq_lab.probe``). Sends every
client's DISCOVER at once, then a REQUEST for the lease offered, then (where asked) a PXE
boot-server REQUEST to port 4011 naming the boot item of the proxy's menu; prints, per MAC,
the replies seen in each round as JSON.
"""

import json
import subprocess
import sys
import threading
import time

from scapy.all import BOOTP, DHCP, IP, UDP, AsyncSniffer, Ether, conf, mac2str, sendp

conf.verb = 0
spec = json.loads(sys.argv[1])
iface = spec["iface"]


def options(c, msg, stage, extra=()):
    o = [("message-type", msg)]
    if c.get("vendor"):
        o.append(("vendor_class_id", c["vendor"].encode()))
    if c.get("user"):
        o.append(("user_class", c["user"].encode()))
    if stage == "pxebs" and c.get("menu"):
        # Ask for the boot item the proxy's menu offered (PXE spec: option 43, sub 71).
        o.append(
            ("vendor_specific", b"\x47\x04" + c["menu"][0].to_bytes(2, "big") + b"\x00\x00\xff")
        )
    arch = c.get("arch_" + stage, c.get("arch"))
    if arch is not None:
        o.append(("pxe_client_architecture", int(arch).to_bytes(2, "big")))
    if c.get("uuid"):
        o.append(("pxe_client_machine_identifier", b"\x00" + bytes.fromhex(c["uuid"])))
    o.append(
        (
            "param_req_list",
            list(c.get("params_" + stage, c.get("params", [1, 3, 6, 43, 60, 66, 67]))),
        )
    )
    o.extend(extra)
    o.append("end")
    return o


def decode(p):
    opts = {}
    for o in p[DHCP].options if DHCP in p else []:
        if isinstance(o, tuple) and len(o) >= 2:
            v = o[1]
            opts[str(o[0])] = v.decode("latin-1") if isinstance(v, bytes) else str(v)
    menu = []
    raw43 = [
        o[1]
        for o in (p[DHCP].options if DHCP in p else [])
        if isinstance(o, tuple) and o[0] == "vendor_specific"
    ]
    if raw43:
        data, i = raw43[0], 0
        while i + 1 < len(data) and data[i] != 255:
            code, size = data[i], data[i + 1]
            if code == 9:  # PXE boot menu: type(2) len(1) text
                body, j = data[i + 2 : i + 2 + size], 0
                while j + 3 <= len(body):
                    menu.append(int.from_bytes(body[j : j + 2], "big"))
                    j += 3 + body[j + 2]
            i += 2 + size
    return {
        "menu": menu,
        "src": p[IP].src,
        "sport": p[UDP].sport,
        "yiaddr": p[BOOTP].yiaddr,
        "siaddr": p[BOOTP].siaddr,
        "file": p[BOOTP].file.rstrip(b"\0").decode("latin-1"),
        "type": opts.get("message-type", ""),
        "server_id": opts.get("server_id", ""),
        "vendor_class": opts.get("vendor_class_id", ""),
        "bootfile": opts.get("boot-file-name", ""),
    }


def round_(packets, wait):
    got = []
    ready = threading.Event()
    # No libpcap here, so no BPF filter: filter in Python.
    sniffer = AsyncSniffer(
        iface=iface,
        store=True,
        started_callback=ready.set,
        lfilter=lambda p: UDP in p and (p[UDP].dport == 68 or p[UDP].sport == 4011),
    )
    sniffer.start()
    ready.wait(5)
    for pkt in packets:
        sendp(pkt, iface=iface)
    time.sleep(wait)
    sniffer.stop()
    for p in sniffer.results or []:
        if BOOTP not in p and UDP in p and IP in p:
            # scapy decodes BOOTP only between ports 67/68; the boot server answers from 4011.
            ip, udp = p[IP], p[UDP]
            p = (
                IP(src=ip.src, dst=ip.dst)
                / UDP(sport=udp.sport, dport=udp.dport)
                / BOOTP(bytes(udp.payload))
            )
        if BOOTP in p and p[BOOTP].op == 2:
            got.append((p[BOOTP].xid, decode(p)))
    return got


def frame(
    c,
    dst_ip="255.255.255.255",
    src_ip="0.0.0.0",
    dport=67,
    ciaddr="0.0.0.0",
    opts=(),
    dst_mac="ff:ff:ff:ff:ff:ff",
):
    return (
        Ether(src=c["mac"], dst=dst_mac)
        / IP(src=src_ip, dst=dst_ip)
        / UDP(sport=68, dport=dport)
        / BOOTP(chaddr=mac2str(c["mac"]), xid=c["xid"], flags=0x8000, ciaddr=ciaddr)
        / DHCP(options=opts)
    )


out = {c["mac"]: {"discover": [], "request": [], "pxebs": []} for c in spec["clients"]}
by_xid = {c["xid"]: c for c in spec["clients"]}
for xid, r in round_(
    [frame(c, opts=options(c, "discover", "discover")) for c in spec["clients"]], spec["wait"]
):
    if xid in by_xid:
        out[by_xid[xid]["mac"]]["discover"].append(r)
requests = []
for c in spec["clients"]:
    leases = [
        r
        for r in out[c["mac"]]["discover"]
        if r["yiaddr"] != "0.0.0.0" and r["type"] in ("2", "offer")
    ]
    if not leases:
        continue
    lease = leases[0]
    menus = [r["menu"] for r in out[c["mac"]]["discover"] if r["menu"]]
    if menus:
        c["menu"] = menus[0]
    c["lease"] = lease["yiaddr"]
    extra = [("requested_addr", lease["yiaddr"]), ("server_id", lease["server_id"] or lease["src"])]
    requests.append(frame(c, opts=options(c, "request", "request", extra)))
for xid, r in round_(requests, spec["wait"]) if requests else []:
    if xid in by_xid:
        out[by_xid[xid]["mac"]]["request"].append(r)
for c in spec["clients"]:
    if c.get("pxebs") and c.get("lease"):
        # The boot server answers the client's address: make c0 own it so ARP works.
        subprocess.run(["ip", "addr", "add", c["lease"] + "/32", "dev", iface], check=False)
pxebs = [
    frame(
        c,
        dst_ip=spec["server"],
        src_ip=c["lease"],
        dport=4011,
        ciaddr=c["lease"],
        opts=options(c, "request", "pxebs"),
        dst_mac=spec["server_mac"],
    )
    for c in spec["clients"]
    if c.get("pxebs") and c.get("lease")
]
for xid, r in round_(pxebs, spec["wait"]) if pxebs else []:
    if xid in by_xid:
        out[by_xid[xid]["mac"]]["pxebs"].append(r)
print(json.dumps(out))
