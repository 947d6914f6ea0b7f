"""The optional C fast path of the TFTP data thread (README "TFTP server", "Why C").

Everything else is in pyproject.toml. ``optional=True``: without a compiler or Python's
headers the build says so and installs the pure-Python path, which serves the same bytes.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pxetui.engine.tftp._fastpath",
            sources=["pxetui/engine/tftp/_fastpath.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-std=gnu11"],
            optional=True,
        )
    ]
)
