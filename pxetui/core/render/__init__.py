"""Renderers: the exact bytes pxelinux, iPXE, GRUB and the s390-ccw firmware read."""

from pxetui.core.render.bundle import render_defaults, render_entry_for, render_host
from pxetui.core.render.context import BootFiles, RenderContext, RenderError

__all__ = [
    "BootFiles",
    "RenderContext",
    "RenderError",
    "render_defaults",
    "render_entry_for",
    "render_host",
]
