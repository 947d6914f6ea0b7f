"""The console's ``:`` command line: every action by name, with its arguments, completed.

Pure (no Textual): the table of commands, :func:`parse` from a typed line to a
:class:`Command` with its client, entry and words, and :func:`complete` for the last word
(command names, client MACs, entries, event kinds, sort columns). The main screen runs what
:func:`parse` returns; the help screen and the README list :data:`COMMANDS`.

A client is named by its MAC in any spelling, by a part of it that only one known
client has (``:detail e2:00:05``), or by its host name; an entry by its name. Commands
that change what a machine boots go through the same dialogs and questions as their keys.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from pxetui.core.mac import MacAddress, MacAddressError


class CommandError(ValueError):
    """A typed line that is not a command; the message says what is wrong."""


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    does: str
    takes: str = ""
    """What the arguments are: ``client`` (a MAC and maybe an entry), ``entry``, ``events``,
    ``sort``, ``words`` (free text) or nothing."""


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("assign", "assign [MAC] [ENTRY]", "open the assign dialog with them", "client"),
    CommandSpec("once", "once [MAC] [ENTRY]", "the same, 'once' ticked (one boot)", "client"),
    CommandSpec("unassign", "unassign [MAC]", "back to the unknown entry (asks)", "client"),
    CommandSpec("default", "default [ENTRY]", "what unknown clients get", "entry"),
    CommandSpec("detail", "detail [MAC]", "client detail: timeline, hints", "client"),
    CommandSpec("select", "select MAC", "move the cursor to that client", "client"),
    CommandSpec("filter", "filter [WORDS]", "show matching clients; no words: all", "words"),
    CommandSpec("sort", "sort [COLUMN] [reverse]", "sort the clients; no column: arrival", "sort"),
    CommandSpec("events", "events [KIND|all|on|off]", "the all-events pane", "events"),
    CommandSpec("entries", "entries", "browse and edit boot entries"),
    CommandSpec("reload", "reload", "the engine re-reads its profile"),
    CommandSpec("screenshot", "screenshot", "save an SVG of the screen"),
    CommandSpec("help", "help", "keys and commands"),
    CommandSpec("quit", "quit", "leave the console (q)"),
)
BY_NAME = {spec.name: spec for spec in COMMANDS}
PANE_WORDS = ("all", "on", "off")
REVERSE = "reverse"


@dataclass(frozen=True)
class Command:
    """A parsed line: the command and what its arguments named."""

    name: str
    mac: MacAddress | None = None
    entry: str | None = None
    words: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Known:
    """What the console knows, to resolve and complete arguments against."""

    macs: Collection[MacAddress] = ()
    hosts: Mapping[str, MacAddress] = field(default_factory=dict)
    """Clients by host name (the table's Host column)."""
    entries: Collection[str] = ()
    kinds: Sequence[str] = ()
    columns: Sequence[str] = ()


_NOT_HEX = re.compile(r"[^0-9a-f]")


def command_named(word: str) -> CommandSpec:
    """The command *word* names: its name or a prefix only one command has."""
    word = word.lower()
    if word in BY_NAME:
        return BY_NAME[word]
    found = [spec for spec in COMMANDS if spec.name.startswith(word)]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(spec.name for spec in found)
        raise CommandError(f"'{word}' could be: {names}")
    raise CommandError(f"no command '{word}' (commands: {', '.join(BY_NAME)})")


def resolve_mac(
    word: str, macs: Collection[MacAddress], hosts: Mapping[str, MacAddress] | None = None
) -> MacAddress | None:
    """A MAC in any spelling, a part of one that a single known client has, or a host
    name; None when *word* looks like none of them."""
    if hosts and word in hosts:
        return hosts[word]
    try:
        return MacAddress.parse(word)
    except MacAddressError:
        pass
    digits = _NOT_HEX.sub("", word.lower())
    if not digits or len(digits) < len(re.sub(r"[:.\-]", "", word)):
        return None  # not hex digits and separators: not a MAC
    found = [mac for mac in macs if digits in mac.hex12]
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(f"'{word}' matches {len(found)} clients; type more of the MAC")
    raise CommandError(f"no client with a MAC like '{word}'")


def parse(line: str, known: Known) -> Command:
    """Parse a typed line (with or without the leading ``:``)."""
    words = line.strip().removeprefix(":").split()
    if not words:
        raise CommandError("type a command (help lists them)")
    spec = command_named(words[0])
    args = words[1:]
    if spec.takes == "client":
        return _client_command(spec, args, known)
    if spec.takes == "entry":
        if len(args) > 1:
            raise CommandError(f"usage: {spec.usage}")
        return Command(spec.name, entry=_entry(args[0], known) if args else None)
    if spec.takes == "events":
        if len(args) > 1 or (args and args[0] not in (*known.kinds, *PANE_WORDS)):
            raise CommandError(f"usage: {spec.usage}; KIND is one of {', '.join(known.kinds)}")
        return Command(spec.name, words=tuple(args))
    if spec.takes == "sort":
        column_words = args[:-1] if args and args[-1] == REVERSE else args
        if len(column_words) > 1 or (column_words and column_words[0] not in known.columns):
            columns = ", ".join(known.columns)
            raise CommandError(f"usage: {spec.usage}; COLUMN is one of {columns}")
        return Command(spec.name, words=tuple(args))
    if spec.takes == "words":
        return Command(spec.name, words=tuple(args))
    if args:
        raise CommandError(f"'{spec.name}' takes no arguments")
    return Command(spec.name)


def _entry(word: str, known: Known) -> str:
    if word in known.entries:
        return word
    raise CommandError(f"no entry '{word}' (entries: {', '.join(sorted(known.entries))})")


def _client_command(spec: CommandSpec, args: list[str], known: Known) -> Command:
    mac: MacAddress | None = None
    entry: str | None = None
    takes_entry = spec.name in ("assign", "once")
    for word in args:
        if takes_entry and entry is None and word in known.entries:
            entry = word
            continue
        if mac is None:
            found = resolve_mac(word, known.macs, known.hosts)
            if found is not None:
                mac = found
                continue
        if takes_entry and entry is None:
            _entry(word, known)  # raises, naming the entries
        raise CommandError(f"usage: {spec.usage}")
    if spec.name == "select" and mac is None:
        raise CommandError("usage: select MAC")
    return Command(spec.name, mac=mac, entry=entry)


def candidates(line: str, known: Known) -> list[str]:
    """What the last word of *line* may become."""
    words = line.removeprefix(":").split(" ")
    if len(words) == 1:
        return [spec.name for spec in COMMANDS]
    try:
        spec = command_named(words[0])
    except CommandError:
        return []
    macs = [*sorted(mac.colon for mac in known.macs), *sorted(known.hosts)]
    if spec.takes == "client":
        entries = sorted(known.entries) if spec.name in ("assign", "once") else []
        return [*macs, *entries] if len(words) <= 3 else []
    if spec.takes == "entry":
        return sorted(known.entries) if len(words) == 2 else []
    if spec.takes == "events":
        return [*known.kinds, *PANE_WORDS] if len(words) == 2 else []
    if spec.takes == "sort":
        return [*known.columns, REVERSE] if len(words) <= 3 else []
    return []


def complete(line: str, known: Known) -> str | None:
    """*line* with its last word completed (the first candidate it begins), or None.

    A MAC also completes from any part of it (``e2:00:05`` → ``52:54:00:e2:00:05``)."""
    if not line:
        return None
    head, _, last = line.rpartition(" ")
    prefix = head + " " if head else ""
    bare = last.removeprefix(":") if not head else last
    colon = ":" if not head and last.startswith(":") else ""
    options = candidates(line, known)
    for option in options:
        if bare and option.startswith(bare) and option != bare:
            return prefix + colon + option
    if len(bare) >= 2:
        inside = [option for option in options if bare in option and option != bare]
        if len(inside) == 1:
            return prefix + colon + inside[0]
    return None
