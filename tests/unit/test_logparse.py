"""dnsmasq --log-dhcp lines → events, on the lines captured from real boots."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pxetui.core.events import DhcpEvent, Event, RawLogEvent, event_from_dict, event_to_dict
from pxetui.core.mac import MacAddress
from pxetui.engine.dnsmasq.logparse import DhcpLogFolder, parse_line, requested_options

DATA = Path(__file__).resolve().parent.parent / "data" / "dnsmasq"
CLIENT = MacAddress.parse("52:54:00:e2:e0:01")
S390 = MacAddress.parse("52:54:00:e2:e3:90")


def fold(name: str) -> list[Event]:
    folder = DhcpLogFolder(clock=lambda: 1000.0)
    out: list[Event] = []
    for line in (DATA / name).read_text().splitlines():
        out.extend(folder.feed(line))
    out.extend(folder.flush())
    return out


def dhcp(events: list[Event]) -> list[DhcpEvent]:
    return [e for e in events if isinstance(e, DhcpEvent)]


def test_syslog_proxy_line_parses_into_its_parts() -> None:
    """The ARCHITECTURE.md example line: xid, PXE, interface, MAC, text."""
    line = parse_line(
        "Nov 22 01:59:47 dnsmasq-dhcp[5114]: 1461722186 PXE(br0) 52:54:00:e2:e0:01 proxy"
    )
    assert line is not None
    assert (line.kind, line.xid, line.msg_type, line.interface) == (
        "message",
        1461722186,
        "PXE",
        "br0",
    )
    assert (line.mac, line.ip, line.text, line.pid) == (CLIENT, None, "proxy", 5114)


def test_stderr_form_without_timestamp_parses_the_same() -> None:
    """Our child writes ``dnsmasq-dhcp[PID]: …`` to stderr without a syslog time stamp."""
    line = parse_line("dnsmasq-dhcp[9304]: 0 PXE(br0) 10.250.77.129 52:54:00:e2:e0:01 pxelinux.0")
    assert line is not None
    assert (line.xid, line.ip, line.mac, line.text) == (0, "10.250.77.129", CLIENT, "pxelinux.0")
    bare = parse_line("3683462687 DHCPDISCOVER(br0) 52:54:00:e2:e0:01 ")
    assert bare is not None and bare.msg_type == "DHCPDISCOVER" and bare.text == ""


def test_detail_lines_keep_name_and_value() -> None:
    """``<xid> vendor class: …`` is a detail of that xid."""
    line = parse_line("dnsmasq-dhcp[1]: 303250834 vendor class: PXEClient:Arch:00007:UNDI:003000")
    assert line is not None
    assert (line.kind, line.xid, line.name, line.value) == (
        "detail",
        303250834,
        "vendor class",
        "PXEClient:Arch:00007:UNDI:003000",
    )


def test_status_tftp_and_router_advert_lines_are_not_dhcp() -> None:
    """Lines outside a DHCP exchange return None (the folder keeps them as raw events)."""
    for text in (
        "Nov 22 01:59:44 dnsmasq[5114]: started, version 2.90 DNS disabled",
        "dnsmasq-dhcp[5114]: DHCP, proxy on subnet 10.250.77.0",
        "dnsmasq-tftp[4878]: sent /srv/lab/tftp-full/pxelinux.0 to 10.250.77.129",
        "dnsmasq-dhcp[9112]: RTR-ADVERT(br0) fd00:e2e::",
        "dnsmasq: failed to bind DHCP server socket: Address already in use",
        "",
    ):
        assert parse_line(text) is None, text


def test_requested_options_are_numbers_across_split_lines() -> None:
    """dnsmasq wraps the list; names after the colon are dropped."""
    assert requested_options("1:netmask, 3:router, 4, 5, ") == [1, 3, 4, 5]
    assert requested_options("67:bootfile-name, 93:client-arch, 209, 210") == [67, 93, 209, 210]


def test_bios_proxy_boot_folds_into_offer_and_pxebs_answer() -> None:
    """iPXE ROM behind proxyDHCP: the proxy offer, then the port-4011 answer (xid 0)."""
    events = dhcp(fold("bios-pxelinux-pxe-proxy.log"))
    assert [(e.xid, e.msg_type) for e in events] == [(1461722186, "PXE"), (0, "PXE")]
    offer, pxebs = events
    assert offer.mac == CLIENT and offer.text == "proxy" and offer.interface == "br0"
    assert offer.vendor_class == "PXEClient:Arch:00000:UNDI:002001"
    assert (offer.user_class, offer.arch, offer.firmware) == ("iPXE", 0, "iPXE")
    assert offer.tags == ("br0",) and offer.boot_file == ""
    assert (pxebs.ip, pxebs.boot_file, pxebs.next_server) == (
        "10.250.77.129",
        "pxelinux.0",
        "10.250.77.1",
    )
    assert pxebs.vendor_class == "PXEClient" and pxebs.firmware == "iPXE"
    assert all(e.ts == 1000.0 for e in events)


def test_status_lines_become_raw_events_in_order() -> None:
    """Nothing dnsmasq says is dropped: startup lines arrive as raw events before the DHCP ones."""
    events = fold("bios-pxelinux-pxe-proxy.log")
    assert isinstance(events[0], RawLogEvent)
    assert "started, version 2.90" in events[0].line
    raws = [e for e in events if isinstance(e, RawLogEvent)]
    assert len(raws) == 4


def test_uefi_proxy_exchange_shows_edk2_then_ipxe_efi() -> None:
    """EDK2 gets ipxe.efi; the same MAC then comes back as iPXE and gets its per-MAC script."""
    events = dhcp(fold("uefi-pxe-ipxe-proxy.log"))
    assert [e.msg_type for e in events] == ["PXE", "PXE", "PXE", "PXE"]
    first, edk2_file, ipxe_offer, ipxe_file = events
    assert (first.arch, first.firmware, first.tags) == (7, "EDK2", ("efi64", "br0"))
    assert first.boot_file == "" and first.next_server == "10.250.77.1"
    assert (edk2_file.xid, edk2_file.boot_file) == (660531886, "ipxe.efi")
    assert (ipxe_offer.firmware, ipxe_offer.tags) == ("iPXE", ("ipxe", "efi64", "br0"))
    assert ipxe_file.boot_file == "ipxe/${mac:hexhyp}.ipxe"


def test_full_mode_gives_request_and_reply_events_sharing_packet_details() -> None:
    """DISCOVER/OFFER/REQUEST/ACK: one event each; the reply carries the boot file."""
    events = dhcp(fold("bios-pxelinux-pxe-full.log"))
    assert [e.msg_type for e in events] == ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]
    discover, offer, request, ack = events
    assert discover.ip is None and discover.tags == ("br0",) and discover.boot_file == ""
    assert discover.firmware == "iPXE" and discover.arch == 0
    assert (offer.ip, offer.boot_file, offer.next_server) == (
        "10.250.77.129",
        "pxelinux.0",
        "10.250.77.1",
    )
    assert request.ip == "10.250.77.129" and ack.boot_file == "pxelinux.0"
    assert {e.mac for e in events} == {CLIENT}


def test_s390_full_exchange_is_recognised_from_requested_options() -> None:
    """s390-ccw sends no vendor class; its ACK asks for 209/210, which names the firmware."""
    events = dhcp(fold("s390x-pxe-dir.log"))
    assert [e.msg_type for e in events] == [
        "DHCPDISCOVER",
        "DHCPOFFER",
        "DHCPREQUEST",
        "DHCPACK",
        "DHCPRELEASE",
    ]
    assert {e.mac for e in events} == {S390}
    ack = events[3]
    assert (ack.firmware, ack.boot_file, ack.ip) == ("s390-ccw", "/", "10.250.77.107")
    assert events[0].vendor_class == ""


def test_proxy_stays_silent_for_s390_and_nothing_is_invented() -> None:
    """A packet the proxy ignored (no message line) yields no DhcpEvent."""
    assert dhcp(fold("s390x-pxe-proxy.log")) == []


def test_grub_full_mode_boot_file_comes_from_sent_option_67() -> None:
    """Without a ``bootfile name:`` line, the ``sent … option: 67`` line gives the boot file."""
    events = dhcp(fold("uefi-pxe-grub-full.log"))
    offer = events[1]
    assert (offer.msg_type, offer.boot_file, offer.arch, offer.firmware) == (
        "DHCPOFFER",
        "grubnetx64.efi",
        7,
        "EDK2",
    )


def test_router_adverts_between_blocks_do_not_break_folding() -> None:
    """RTR lines interleave with an xid's blocks; each DHCP line still yields one event."""
    events = fold("uefi-pxe-ipxe-full.log")
    kinds = [e.msg_type for e in dhcp(events)]
    assert kinds.count("DHCPACK") == 2 and kinds.count("DHCPDISCOVER") == 2
    assert any(isinstance(e, RawLogEvent) and "RTR-ADVERT" in e.line for e in events)
    assert [e.firmware for e in dhcp(events) if e.msg_type == "DHCPACK"] == ["EDK2", "iPXE"]


def test_linux_udhcp_client_is_named() -> None:
    """The diskless initrd's udhcpc (vendor class ``udhcp 1.35.0``) is a Linux client."""
    events = [
        e for e in dhcp(fold("squashfs-lan-dnsmasq.log")) if e.vendor_class.startswith("udhcp")
    ]
    assert events and {e.firmware for e in events} == {"Linux DHCP client"}
    assert {e.arch for e in events} == {None}


def test_event_waits_for_its_block_until_flush() -> None:
    """A reply's detail lines follow it; the event is only complete at the block's end."""
    folder = DhcpLogFolder()
    assert folder.feed("dnsmasq-dhcp[1]: 0 vendor class: PXEClient") == []
    assert folder.feed("dnsmasq-dhcp[1]: 0 PXE(br0) 10.0.0.9 52:54:00:e2:e0:01 x.0") == []
    assert folder.feed("dnsmasq-dhcp[1]: 0 bootfile name: x.0") == []
    assert folder.has_pending
    (event,) = folder.flush()
    assert isinstance(event, DhcpEvent) and event.boot_file == "x.0" and not folder.has_pending


def test_client_controlled_strings_are_cleaned() -> None:
    """A vendor class with terminal escapes and markup never reaches an event raw."""
    folder = DhcpLogFolder()
    folder.feed("dnsmasq-dhcp[1]: 7 vendor class: PXEClient:Arch:00000\x1b[31m[bold]evil")
    folder.feed("dnsmasq-dhcp[1]: 7 DHCPDISCOVER(br0) 52:54:00:e2:e0:01 ")
    (event,) = folder.flush()
    assert isinstance(event, DhcpEvent)
    assert "\x1b" not in event.vendor_class and "[" not in event.vendor_class
    assert event.arch == 0


def test_unknown_detail_lines_are_kept_as_raw_events() -> None:
    """A detail line we do not understand is not dropped."""
    folder = DhcpLogFolder()
    out = folder.feed("dnsmasq-dhcp[1]: 9 lease-script said: something new")
    assert [type(e) for e in out] == [RawLogEvent]
    assert isinstance(out[0], RawLogEvent) and "something new" in out[0].line


def test_host_name_the_client_provides_is_carried_cleaned() -> None:
    """``client provides name:`` (option 12) lands in every event of the packet, sanitised."""
    folder = DhcpLogFolder()
    out: list[Event] = []
    for line in (
        "dnsmasq-dhcp[1]: 9 client provides name: lab-node-1\x1b[2J",
        "dnsmasq-dhcp[1]: 9 DHCPREQUEST(br0) 10.0.0.9 52:54:00:e2:e0:01 ",
        "dnsmasq-dhcp[1]: 9 DHCPACK(br0) 10.0.0.9 52:54:00:e2:e0:01 lab-node-1",
    ):
        out.extend(folder.feed(line))
    events = dhcp(out + folder.flush())
    assert [e.msg_type for e in events] == ["DHCPREQUEST", "DHCPACK"]
    assert {e.hostname for e in events} == {"lab-node-1?(2J"}
    assert not [e for e in out if isinstance(e, RawLogEvent)]


def test_every_event_from_the_captured_logs_survives_json() -> None:
    """What the folder emits goes through the JSON log and the control API unchanged."""
    for path in sorted(DATA.glob("*.log")):
        for event in fold(path.name):
            back = event_from_dict(json.loads(json.dumps(event_to_dict(event))))
            assert back == event, path.name


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=8))
def test_parser_and_folder_never_raise_on_any_text(lines: list[str]) -> None:
    """Fuzz: arbitrary text (including control characters) never raises."""
    folder = DhcpLogFolder()
    for line in lines:
        parse_line(line)
        folder.feed(line)
    folder.flush()


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**40),
    st.sampled_from(["PXE", "DHCPACK", "DHCPNAK", "X", "RTR-ADVERT"]),
    st.text(alphabet="0123456789abcdef:.- ()[]\x00\x1b", max_size=60),
)
def test_parser_never_raises_on_near_miss_dnsmasq_lines(xid: int, kind: str, rest: str) -> None:
    """Fuzz: lines shaped like dnsmasq's with garbage fields never raise."""
    folder = DhcpLogFolder()
    for line in (f"dnsmasq-dhcp[3]: {xid} {kind}(br0) {rest}", f"{xid} vendor class: {rest}"):
        parse_line(line)
        folder.feed(line)
    folder.flush()
