"""The HTTP rows only: pxetui's HTTP file server against nginx (tftp_bench.py --only http).

Why a separate entry point: HTTP is what big boot files should use, and it is benchmarked on
its own while tuning the HTTP server. Same options as tftp_bench.py.
"""

from __future__ import annotations

import sys

import tftp_bench

if __name__ == "__main__":
    sys.exit(tftp_bench.main(["--only", "http", *sys.argv[1:]]))
