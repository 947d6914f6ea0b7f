"""The engine's HTTP file server for kernels, initrds and images (aiohttp)."""

from pxetui.engine.http.server import HttpFileServer, HttpLimits

__all__ = ["HttpFileServer", "HttpLimits"]
