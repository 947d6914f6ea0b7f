"""Screenshot of the `pxetui lab` console after a real BIOS boot (root: creates namespaces).

Run: ``python3 screenshots/take_lab_screenshot.py`` — boots the lab's BIOS VM through a real
engine, saves ``screenshots/120x40-lab-bios.svg`` when the guest printed its marker, and
converts it to PNG with rsvg-convert. Everything is torn down by the lab session itself.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from pxetui.lab.session import LabOptions
from pxetui.ui.lab.app import LabApp

HERE = Path(__file__).resolve().parent


async def main() -> None:
    app = LabApp(LabOptions("bios"))
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 240
        while app.state not in ("booted", "failed") and time.monotonic() < deadline:
            await pilot.pause(0.5)
        await pilot.pause(1.0)
        svg = app.save_screenshot("120x40-lab-bios.svg", path=str(HERE))
        print(f"state={app.state} saved {svg}")
    subprocess.run(
        ["rsvg-convert", "-o", str(HERE / "120x40-lab-bios.png"), svg], check=True, timeout=60
    )
    Path(svg).unlink()


if __name__ == "__main__":
    asyncio.run(main())
