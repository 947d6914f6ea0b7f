"""The ':' command line's parsing and completion (pure: no app)."""

from __future__ import annotations

import pytest

from pxetui.core.mac import MacAddress
from pxetui.ui.commands import COMMANDS, Command, CommandError, Known, complete, parse

MACS = [MacAddress.parse(f"52:54:00:e2:00:{i:02x}") for i in range(3)] + [
    MacAddress.parse("aa:bb:cc:00:00:01")
]
KNOWN = Known(
    macs=MACS,
    hosts={"node001": MACS[1]},
    entries=["centos8", "diskless", "local"],
    kinds=("dhcp", "tftp", "errors"),
    columns=("mac", "hostname", "phase"),
)


def test_a_client_is_named_by_any_spelling_of_its_mac_or_a_unique_part() -> None:
    assert parse(":assign 52-54-00-E2-00-01 centos8", KNOWN) == Command(
        "assign", mac=MACS[1], entry="centos8"
    )
    assert parse("once diskless e2:00:02", KNOWN) == Command("once", mac=MACS[2], entry="diskless")
    assert parse("detail cc:00", KNOWN) == Command("detail", mac=MACS[3])
    assert parse("unassign", KNOWN) == Command("unassign")  # the selected client
    assert parse("unassign node001", KNOWN) == Command("unassign", mac=MACS[1])  # host name
    with pytest.raises(CommandError, match="matches 4 clients"):
        parse("detail 00:0", KNOWN)
    with pytest.raises(CommandError, match="no client with a MAC like 'ff:ff'"):
        parse("select ff:ff", KNOWN)
    with pytest.raises(CommandError, match="usage: select MAC"):
        parse("select", KNOWN)


def test_bad_lines_say_what_is_wrong() -> None:
    with pytest.raises(CommandError, match="no entry 'fedora' \\(entries: centos8, diskless"):
        parse("assign e2:00:01 fedora", KNOWN)
    with pytest.raises(CommandError, match="no command 'frobnicate'"):
        parse("frobnicate", KNOWN)
    with pytest.raises(CommandError, match="could be: events, entries"):
        parse("e", KNOWN)
    with pytest.raises(CommandError, match="KIND is one of dhcp, tftp, errors"):
        parse("events smtp", KNOWN)
    with pytest.raises(CommandError, match="COLUMN is one of mac, hostname, phase"):
        parse("sort colour", KNOWN)
    with pytest.raises(CommandError, match="'reload' takes no arguments"):
        parse("reload now", KNOWN)
    with pytest.raises(CommandError, match="type a command"):
        parse(":", KNOWN)


def test_every_command_parses_with_a_unique_prefix() -> None:
    assert parse("ev tftp", KNOWN) == Command("events", words=("tftp",))
    assert parse("sort phase reverse", KNOWN) == Command("sort", words=("phase", "reverse"))
    assert parse("filter s390x node", KNOWN) == Command("filter", words=("s390x", "node"))
    assert parse("default local", KNOWN) == Command("default", entry="local")
    for spec in COMMANDS:  # each one, bare (select needs its MAC)
        line = spec.name if spec.name != "select" else "select e2:00:01"
        assert parse(line, KNOWN).name == spec.name


def test_completion_of_commands_macs_entries_kinds_and_columns() -> None:
    assert complete(":as", KNOWN) == ":assign"
    assert complete("unas", KNOWN) == "unassign"
    assert complete("assign 52:54:00:e2:00:0", KNOWN) == "assign 52:54:00:e2:00:00"
    assert complete("assign aa", KNOWN) == "assign aa:bb:cc:00:00:01"
    assert complete("detail cc:00:00", KNOWN) == "detail aa:bb:cc:00:00:01"  # from a part
    assert complete("assign 52:54:00:e2:00:01 dis", KNOWN) == "assign 52:54:00:e2:00:01 diskless"
    assert complete("events er", KNOWN) == "events errors"
    assert complete("sort ho", KNOWN) == "sort hostname"
    assert complete("detail node", KNOWN) == "detail node001"
    assert complete("default ce", KNOWN) == "default centos8"
    assert complete("reload x", KNOWN) is None
    assert complete("zz", KNOWN) is None
