"""Which keys the schema allows at a place in the profile, for "did you mean" hints.

pydantic reports an unknown key with its location only; to suggest the key the operator
meant we walk the model types along that location (through dicts, optionals and the
``kind``-tagged entry union) and list the fields found there.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from pxetui.core.profile.model import Profile


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` so only the interesting type remains."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _union_member(tp: Any, tag: str) -> Any | None:
    for member in get_args(tp):
        member = _unwrap(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            kind = member.model_fields.get("kind")
            literal = kind is not None and get_origin(kind.annotation) is Literal
            if literal and kind is not None and tag in get_args(kind.annotation):
                return member
    return None


def known_keys(loc: tuple[str, ...]) -> list[str]:
    """Field names valid at pydantic location *loc* (empty when it is not a model)."""
    tp: Any = Profile
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part)
            if field is None:
                return []
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (Union, types.UnionType):
            member = _union_member(tp, part)
            if member is None:
                return []
            tp = member
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []
