"""The one MAC address type.

Every path that contains a MAC (``pxelinux.cfg/01-aa-bb-…``, ``grub.cfg-01-…``) is built
from a :class:`MacAddress`, never from a raw string, so no client- or operator-supplied text
can reach the filesystem unvalidated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_HEX12 = re.compile(r"[0-9a-f]{12}")
# Accepted spellings: aa:bb:cc:dd:ee:ff, aa-bb-…, aabb.ccdd.eeff, aabbccddeeff, and the
# pxelinux form 01-aa-bb-cc-dd-ee-ff (ARP hardware type 1 = Ethernet).
_SEPARATED = re.compile(r"([0-9a-f]{2})([:-])([0-9a-f]{2})(\2[0-9a-f]{2}){4}")
_CISCO = re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")


class MacAddressError(ValueError):
    """Raised for text that is not an Ethernet MAC address."""


@dataclass(frozen=True, slots=True, order=True)
class MacAddress:
    """A validated 48-bit Ethernet MAC address, stored as 12 lowercase hex digits."""

    hex12: str

    def __post_init__(self) -> None:
        if not isinstance(self.hex12, str) or not _HEX12.fullmatch(self.hex12):
            raise MacAddressError(f"not a MAC address: {self.hex12!r}")

    @classmethod
    def parse(cls, text: str) -> MacAddress:
        """Parse any common spelling; raise :class:`MacAddressError` otherwise."""
        if not isinstance(text, str):
            raise MacAddressError(f"not a MAC address: {text!r}")
        s = text.strip().lower()
        if len(s) == 20 and s.startswith("01-"):
            s = s[3:]
        if _SEPARATED.fullmatch(s):
            return cls(s.replace(":", "").replace("-", ""))
        if _CISCO.fullmatch(s):
            return cls(s.replace(".", ""))
        if _HEX12.fullmatch(s):
            return cls(s)
        raise MacAddressError(f"not a MAC address: {text[:40]!r}")

    @classmethod
    def from_bytes(cls, raw: bytes) -> MacAddress:
        if len(raw) != 6:
            raise MacAddressError(f"a MAC address is 6 bytes, got {len(raw)}")
        return cls(raw.hex())

    @property
    def octets(self) -> tuple[str, ...]:
        return tuple(self.hex12[i : i + 2] for i in range(0, 12, 2))

    @property
    def colon(self) -> str:
        """``52:54:00:e2:e0:01`` — dnsmasq's and the operator's spelling."""
        return ":".join(self.octets)

    @property
    def hexhyp(self) -> str:
        """``52-54-00-e2-e0-01`` — iPXE's ``${mac:hexhyp}``."""
        return "-".join(self.octets)

    @property
    def pxelinux(self) -> str:
        """``01-52-54-00-e2-e0-01`` — pxelinux/GRUB/s390-ccw per-MAC config name."""
        return "01-" + self.hexhyp

    @property
    def packed(self) -> bytes:
        return bytes.fromhex(self.hex12)

    @property
    def is_multicast(self) -> bool:
        return bool(int(self.hex12[:2], 16) & 1)

    def __str__(self) -> str:
        return self.colon

    def __repr__(self) -> str:
        return f"MacAddress({self.colon!r})"

    # pydantic v2 integration: a profile field typed MacAddress accepts any spelling.
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def validate(value: Any) -> MacAddress:
            if isinstance(value, MacAddress):
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                # YAML 1.1 reads some unquoted MACs (e.g. 52:54:00:12:34:56) as sexagesimal
                # ints; the loader quotes them first, this is the last line of defence.
                raise MacAddressError("write the MAC address in quotes")
            return cls.parse(str(value))

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.to_string_ser_schema()
        )
