"""The engine's TFTP server: our own asyncio loop, tftpy for packet encoding/decoding."""

from pxetui.engine.tftp.server import TftpServer

__all__ = ["TftpServer"]
