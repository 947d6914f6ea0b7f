"""`python -m pxetui` is the same as the `pxetui` console script."""

from pxetui.cli.main import main

raise SystemExit(main())
