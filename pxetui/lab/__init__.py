"""The throwaway lab: namespaces, a tiny guest and QEMU, shared by `pxetui lab` and tests/e2e.

Engine-side code (no Textual): the lab console in :mod:`pxetui.ui.lab` and the e2e suite
both drive real firmware through these helpers, so the demo and CI exercise the same path.
"""
