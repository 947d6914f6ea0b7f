"""Profiles: the operator's YAML, validated into typed models."""

from pxetui.core.profile.model import (
    Arch,
    CentosEntry,
    ChainEntry,
    DhcpSettings,
    Entry,
    Host,
    HttpSettings,
    LinuxEntry,
    LiveEntry,
    Loader,
    LocalEntry,
    MenuEntry,
    NetworkSettings,
    Profile,
    TftpSettings,
)

__all__ = [
    "Arch",
    "CentosEntry",
    "ChainEntry",
    "DhcpSettings",
    "Entry",
    "Host",
    "HttpSettings",
    "LinuxEntry",
    "LiveEntry",
    "Loader",
    "LocalEntry",
    "MenuEntry",
    "NetworkSettings",
    "Profile",
    "TftpSettings",
]
