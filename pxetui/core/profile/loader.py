"""Read a profile YAML into a :class:`Profile`, reporting every problem as ``file:line: field``.

Why not ``yaml.safe_load`` + ``Profile.model_validate``: plain loading loses line numbers,
and YAML 1.1 turns unquoted values into surprises — ``52:54:00:12:34:56`` is a sexagesimal
integer and ``mode: off`` is ``False``. So the loader composes the node tree itself, keeps
every mapping key as the text the operator wrote, keeps ``a:b`` scalars and yes/no/on/off as
strings, and remembers the line of every key for the error messages.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pxetui.core.profile.errors import ProfileError
from pxetui.core.profile.model import Profile
from pxetui.core.profile.references import reference_problems
from pxetui.core.profile.schema_walk import known_keys

YamlPath = tuple[str, ...]
# Aliases make YAML a graph: a self-referencing alias never ends and nested ones grow
# exponentially ("billion laughs"). No real profile comes near these bounds.
MAX_NODES = 200_000
MAX_DEPTH = 40
# Checked before parsing: a 50 MB profile took 40 s and 3.9 GB to compose. Real labs are
# kilobytes; PXETUI_PROFILE_MAX_BYTES raises the bound for an unusual one.
MAX_BYTES = 4 << 20
MAX_BYTES_ENV = "PXETUI_PROFILE_MAX_BYTES"
# libyaml's parser when present: ~10x faster on big labs, same nodes and line marks.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL_WORDS = {"true", "false"}


class _Builder:
    """Turn composed YAML nodes into plain data plus a path → line map."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[YamlPath, int] = {}
        self.errors: list[tuple[int, str]] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._nodes = 0
        self._open: set[int] = set()
        self._built: set[int] = set()  # collections seen: a second visit is an alias
        self._aliased = False

    def build(self, node: yaml.Node, path: YamlPath) -> Any:
        self._nodes += 1
        line = node.start_mark.line + 1
        if id(node) in self._open:
            raise _TooBig(line, "an alias refers to a node that contains it (cyclic); write it out")
        if len(path) > MAX_DEPTH:
            raise _TooBig(line, f"nested deeper than {MAX_DEPTH} levels (too deep)")
        if self._nodes > MAX_NODES:
            how = " once its aliases are expanded" if self._aliased else ""
            raise _TooBig(line, f"the profile has more than {MAX_NODES} values{how} (too large)")
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return self._scalar(node)
        if id(node) in self._built:
            self._aliased = True
        self._built.add(id(node))
        self._open.add(id(node))
        try:
            return self._collection(node, path)
        finally:
            self._open.discard(id(node))

    def _collection(self, node: yaml.Node, path: YamlPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        result: list[Any] = []
        for index, item in enumerate(node.value):
            self.lines.setdefault((*path, str(index)), item.start_mark.line + 1)
            result.append(self.build(item, (*path, str(index))))
        return result

    def _mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append((line, f"{_dotted(path) or '(top)'}: keys must be plain text"))
                continue
            key = str(key_node.value)  # the text as written: MACs stay MACs
            sub = (*path, key)
            if key in result:
                first = self.lines.get(sub, line)
                self.errors.append((line, f"{_dotted(sub)}: duplicate key (first at line {first})"))
                continue
            self.lines[sub] = line
            result[key] = self.build(value_node, sub)
        return result

    def _scalar(self, node: yaml.Node) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        tag = node.tag.rsplit(":", 1)[-1]
        text = str(node.value)
        if tag == "null":
            return None
        if tag == "bool":
            # yes/no/on/off stay words: `mode: off` must mean the DHCP mode "off".
            return text.lower() == "true" if text.lower() in _BOOL_WORDS else text
        if tag in ("int", "float"):
            if ":" in text:  # YAML 1.1 sexagesimal, i.e. an unquoted MAC or time
                return text
            if tag == "int":
                return self._constructor.construct_yaml_int(node)
            return self._constructor.construct_yaml_float(node)
        return text


class _TooBig(Exception):
    """The node graph is cyclic, too deep or too large; *why* says which, in words."""

    def __init__(self, line: int, why: str) -> None:
        self.line = line
        self.why = why


def _dotted(path: YamlPath) -> str:
    return ".".join(path)


def max_profile_bytes() -> int:
    """The profile size bound: ``$PXETUI_PROFILE_MAX_BYTES``, else :data:`MAX_BYTES`."""
    try:
        return max(1, int(os.environ.get(MAX_BYTES_ENV, MAX_BYTES)))
    except ValueError:
        return MAX_BYTES


def load_profile(path: Path, *, max_bytes: int | None = None) -> Profile:
    """Load and validate the profile at *path*; relative paths resolve against its directory.

    Raises :class:`ProfileError` listing every problem, each ``file:line: field: message``.
    A file over *max_bytes* (default :func:`max_profile_bytes`) is refused before parsing.
    """
    limit = max_profile_bytes() if max_bytes is None else max_bytes
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise ProfileError([f"{path}: cannot read profile: {exc}"]) from exc
    if len(raw) > limit:
        raise ProfileError(
            [
                f"{path}: the profile is larger than {limit} bytes, the limit "
                f"(real profiles are kilobytes; raise it with {MAX_BYTES_ENV})"
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError([f"{path}: cannot read profile: not UTF-8: {exc}"]) from exc
    return load_profile_text(text, str(path), base_dir=path.parent)


def load_profile_text(text: str, filename: str, base_dir: Path | None = None) -> Profile:
    """Validate profile YAML *text*; *filename* names it in messages."""
    base = (base_dir if base_dir is not None else Path(filename).parent).absolute()
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError([f"{filename}:{line}: YAML syntax error: {problem}"]) from exc
    builder = _Builder(filename)
    try:
        data: Any = {} if node is None else builder.build(node, ())
    except _TooBig as exc:
        raise ProfileError([f"{filename}:{exc.line}: {exc.why}"]) from None
    if not isinstance(data, dict):
        raise ProfileError([f"{filename}:1: the profile must be a mapping of settings"])
    problems: list[tuple[int, str]] = list(builder.errors)
    lines = builder.lines
    profile: Profile | None = None
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, data, lines))
    for ref_path, message in reference_problems(data):
        problems.append((_line_for(ref_path, lines), f"{_dotted(ref_path)}: {message}"))
    if problems or profile is None:
        ordered = sorted(set(problems), key=lambda p: (p[0], p[1]))
        raise ProfileError([f"{filename}:{line}: {message}" for line, message in ordered])
    profile = _resolve_paths(profile, base)
    profile._source = filename
    profile._lines = dict(lines)
    return profile


def _resolve_paths(profile: Profile, base: Path) -> Profile:
    """Make the filesystem settings absolute, relative to the profile's own directory."""

    def rooted(p: Path) -> Path:
        return p if p.is_absolute() else base / p

    tftp = profile.tftp.model_copy(update={"root": rooted(profile.tftp.root)})
    http_root = profile.http.root
    http = profile.http.model_copy(
        update={"root": rooted(http_root) if http_root is not None else None}
    )
    state = rooted(profile.state_dir) if profile.state_dir is not None else None
    engines = {
        name: section.model_copy(
            update={
                "tftp": section.tftp
                and section.tftp.model_copy(update={"root": rooted(section.tftp.root)}),
                "http": section.http
                and section.http.model_copy(
                    update={"root": rooted(section.http.root) if section.http.root else None}
                ),
                "state_dir": section.state_dir and rooted(section.state_dir),
            }
        )
        for name, section in profile.engines.items()
    }
    return profile.model_copy(
        update={"tftp": tftp, "http": http, "state_dir": state, "engines": engines}
    )


def _line_for(path: YamlPath, lines: Mapping[YamlPath, int]) -> int:
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return 1


def _pydantic_problems(
    exc: ValidationError, data: dict[str, Any], lines: Mapping[YamlPath, int]
) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        path = _data_path(loc, data)
        kind = error["type"]
        if kind == "extra_forbidden":
            key = path[-1]
            hint = difflib.get_close_matches(key, known_keys(loc[:-1]), n=1, cutoff=0.6)
            message = "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else "")
        elif kind == "missing":
            message = "is required"
        elif kind == "union_tag_invalid":
            ctx = error.get("ctx", {})
            path = (*path, "kind")
            tags = str(ctx.get("expected_tags", "")).replace("'", "")
            wanted = [t.strip() for t in tags.split(",")]
            hint = difflib.get_close_matches(str(ctx.get("tag")), wanted, n=1)
            did = f" (did you mean '{hint[0]}'?)" if hint else ""
            message = f"unknown entry kind '{ctx.get('tag')}'{did}; one of: {tags}"
        elif kind == "union_tag_not_found":
            path = (*path, "kind")
            message = "is required (linux, centos, live, local, menu or chain)"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            if kind in ("literal_error", "enum") or kind.endswith(("_type", "_parsing")):
                got = repr(error["input"])
                message += f" (got {got if len(got) <= 60 else got[:57] + '...'})"
        problems.append((_line_for(path, lines), f"{_dotted(path)}: {message}"))
    return problems


def _data_path(loc: tuple[str, ...], data: Any) -> YamlPath:
    """The YAML path for a pydantic location: drop union tags and ``[key]`` markers."""
    path: list[str] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if part == "[key]":
            continue
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            path.append(part)
            node = node[int(part)]
        elif last:
            path.append(part)
        # else: a discriminator tag pydantic inserts (entries.x.centos.kernel): not in YAML
    return tuple(path)
