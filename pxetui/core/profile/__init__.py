"""Profiles: the operator's YAML, validated into typed models."""

from pxetui.core.profile.errors import ProfileError
from pxetui.core.profile.loader import load_profile, load_profile_text
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
from pxetui.core.profile.template import TEMPLATE_VARIABLES, TemplateError

__all__ = [
    "TEMPLATE_VARIABLES",
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
    "ProfileError",
    "TemplateError",
    "TftpSettings",
    "load_profile",
    "load_profile_text",
]
