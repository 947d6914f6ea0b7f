"""Edit an entry's kernel, initrds and args in the operator's profile YAML, and save it.

Why edit the YAML *node tree* rather than ``safe_load`` + ``dump``: YAML 1.1 reads an
unquoted MAC as a sexagesimal integer and ``mode: off`` as ``False``; a load/dump round trip
would silently rewrite them. Composing to nodes keeps every other scalar exactly as the
operator wrote it (and the key order); only the three edited values change. PyYAML does not
keep comments, so a save drops them — the previous file is kept as ``<file>.bak``.

Every candidate text is checked with the real profile loader before it can be saved.
Pure apart from :func:`save_profile`, which writes atomically.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from pxetui.core.profile.audit import text_problems

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
KERNEL_KINDS = ("linux", "centos", "live")
"""Entry kinds with a kernel, initrds and args (the others have nothing to edit here)."""


@dataclass(frozen=True, slots=True)
class EntryFields:
    """The editable part of one entry, as written in the profile."""

    name: str
    kind: str
    description: str
    kernel: str
    initrds: tuple[str, ...]
    args: str

    @property
    def editable(self) -> bool:
        return self.kind in KERNEL_KINDS


def _root(text: str) -> yaml.MappingNode:
    node = yaml.compose(text)
    if not isinstance(node, yaml.MappingNode):
        raise ValueError("the profile is not a YAML mapping")
    return node


def _get(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found: yaml.Node = value_node
            return found
    return None


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) and node.value else ""


def _entries(root: yaml.MappingNode) -> yaml.MappingNode | None:
    node = _get(root, "entries")
    return node if isinstance(node, yaml.MappingNode) else None


def read_entries(text: str) -> list[EntryFields]:
    """Every entry of the profile text, in file order."""
    entries = _entries(_root(text))
    out: list[EntryFields] = []
    if entries is None:
        return out
    for key_node, value in entries.value:
        if not isinstance(key_node, yaml.ScalarNode) or not isinstance(value, yaml.MappingNode):
            continue
        initrds = _get(value, "initrds")
        items: tuple[str, ...] = ()
        if isinstance(initrds, yaml.SequenceNode):
            items = tuple(_scalar(i) for i in initrds.value)
        elif isinstance(initrds, yaml.ScalarNode) and initrds.value:
            items = (str(initrds.value),)
        out.append(
            EntryFields(
                name=str(key_node.value),
                kind=_scalar(_get(value, "kind")),
                description=_scalar(_get(value, "description")),
                kernel=_scalar(_get(value, "kernel")),
                initrds=items,
                args=_scalar(_get(value, "args")),
            )
        )
    return out


def _set(mapping: yaml.MappingNode, key: str, value: yaml.Node | None) -> None:
    """Replace (or append, or with ``None`` remove) *key* in *mapping*."""
    for index, (key_node, _) in enumerate(mapping.value):
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            if value is None:
                del mapping.value[index]
            else:
                mapping.value[index] = (key_node, value)
            return
    if value is not None:
        mapping.value.append((yaml.ScalarNode(_STR, key), value))


def _text_node(value: str) -> yaml.ScalarNode:
    # Quoted: an args string like `console=ttyS0,115200 ip=dhcp` or a path that looks like
    # a number must stay a string whatever YAML 1.1 would make of it plain.
    return yaml.ScalarNode(_STR, value, style='"')


def edit_entry(text: str, name: str, *, kernel: str, initrds: tuple[str, ...], args: str) -> str:
    """The profile text with entry *name*'s kernel, initrds and args replaced."""
    root = _root(text)
    entries = _entries(root)
    entry = _get(entries, name) if entries is not None else None
    if not isinstance(entry, yaml.MappingNode):
        raise KeyError(f"no entry {name!r} in the profile")
    _set(entry, "kernel", _text_node(kernel))
    seq = yaml.SequenceNode(_SEQ, [_text_node(i) for i in initrds], flow_style=False)
    _set(entry, "initrds", seq if initrds else None)
    _set(entry, "args", _text_node(args) if args else None)
    out = io.StringIO()
    yaml.serialize(root, out, width=100)
    return out.getvalue()


def problems(text: str, filename: str, base_dir: Path | None = None) -> str | None:
    """Why *text* must not be saved — exactly what ``pxetui check`` and the engine's reload
    would refuse (``file:line: field: message``) — or ``None``."""
    try:
        return text_problems(text, filename, base_dir)
    except yaml.YAMLError as exc:
        return f"{filename}: {exc}"


def split_initrds(value: str) -> tuple[str, ...]:
    """``a.img, b.img`` or ``a.img b.img`` → ``("a.img", "b.img")``."""
    return tuple(part for part in value.replace(",", " ").split() if part)


def save_profile(path: Path, text: str) -> Path:
    """Write *text* to *path* atomically, keeping the previous file as ``<file>.bak``."""
    backup = path.with_name(path.name + ".bak")
    if path.exists():
        shutil.copy2(path, backup)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup
