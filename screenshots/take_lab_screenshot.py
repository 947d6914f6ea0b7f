"""Screenshots of the `pxetui lab` console from a real run (root: creates namespaces).

Run: ``python3 screenshots/take_lab_screenshot.py`` — builds the lab, boots its BIOS VM through
the real engine, and saves, as SVG converted to PNG with rsvg-convert:

* ``160x45-lab-bios.png``: after the boot — the console's client table, the VM's log and all
  events on the left, the VM's serial console on the right;
* ``160x45-lab-assign.png``: ``n``, the console's assign dialog for the VM, over the lab.

The lab is torn down when the app quits.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.helpers, when run as a script

from pxetui.lab.session import LabOptions  # noqa: E402
from pxetui.ui.lab.app import LabApp  # noqa: E402
from pxetui.ui.screens.assign import AssignScreen  # noqa: E402
from tests.helpers.wait import pilot_wait_for  # noqa: E402

SIZE = (160, 45)


def to_png(svg: str, name: str) -> Path:
    png = HERE / f"{name}.png"
    subprocess.run(["rsvg-convert", "-o", str(png), svg], check=True, timeout=60)
    Path(svg).unlink()
    return png


async def main() -> None:
    app = LabApp(LabOptions("bios"))
    size = f"{SIZE[0]}x{SIZE[1]}"
    async with app.run_test(size=SIZE) as pilot:
        await pilot_wait_for(pilot, lambda: app.results, 240, "the first boot")

        def handed_over() -> bool:
            row = app.link.state.client(app.options.mac)
            return row is not None and row.phase == "handed_over"

        await pilot_wait_for(pilot, handed_over, 20, "the row's handed_over")
        await pilot.pause(1.0)
        print(f"state={app.state} {app.detail}")
        print(
            to_png(app.save_screenshot(f"{size}-lab-bios.svg", path=str(HERE)), f"{size}-lab-bios")
        )
        await pilot.press("n")
        await pilot_wait_for(pilot, lambda: isinstance(app.screen, AssignScreen), 5, "assign")
        await pilot.pause(1.5)  # the preview of the files it would write
        svg = app.save_screenshot(f"{size}-lab-assign.svg", path=str(HERE))
        print(to_png(svg, f"{size}-lab-assign"))
        await pilot.press("escape")
        await pilot.press("q")


if __name__ == "__main__":
    asyncio.run(main())
