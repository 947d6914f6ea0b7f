"""pxetui: a PXE boot console for lab operators."""

__version__ = "0.1.0"
