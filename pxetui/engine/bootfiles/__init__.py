"""Boot files on disk: the atomic per-MAC store and the loader programs."""

from pxetui.engine.bootfiles.loaders import install_loaders
from pxetui.engine.bootfiles.store import BootFileStore, StoreError, per_mac_paths

__all__ = ["BootFileStore", "StoreError", "install_loaders", "per_mac_paths"]
