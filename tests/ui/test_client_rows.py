"""How a client's tracker state reads as a table row."""

from __future__ import annotations

from typing import Any

from pxetui.core.arch import profile_arch, short_arch
from pxetui.core.wire import ClientRow
from pxetui.ui.client_rows import (
    COLUMNS,
    WIDE_FROM,
    layout,
    matches,
    progress_text,
    row_cells,
    sort_key,
)


def _state(**kw: Any) -> ClientRow:
    """A row as the console has it: the engine's dict, read at the boundary."""
    base: dict[str, Any] = {
        "mac": "52:54:00:e2:e0:01",
        "hostname": "lab-bios",
        "ip": "10.250.77.100",
        "arch": "bios",
        "firmware": "PXE ROM",
        "entry": "tiny",
        "once": False,
        "phase": "kernel",
        "last_seen": 0,
        "transfers": [],
    }
    base.update(kw)
    return ClientRow.from_dict(base)


def test_running_transfer_shows_as_a_text_bar_with_percent() -> None:
    """Progress is readable without colour: hashes and a percentage."""
    state = _state(
        transfers=[
            {"state": "done", "bytes": 10, "size": 10},
            {"state": "running", "bytes": 50, "size": 100},
        ]
    )
    assert progress_text(state) == "##..  50%"


def test_finished_transfer_is_full_and_failed_says_so() -> None:
    """A done transfer is 100 %; a failed one reads 'failed', not a number."""
    assert progress_text(_state(transfers=[{"state": "done", "bytes": 5, "size": None}])).endswith(
        "100%"
    )
    assert progress_text(_state(transfers=[{"state": "failed", "bytes": 5, "size": 9}])) == "failed"
    assert progress_text(_state()) == ""


def test_unknown_size_shows_bytes_so_far() -> None:
    """HTTP without Content-Length or TFTP without tsize: bytes, not a made-up fraction."""
    assert progress_text(_state(transfers=[{"state": "running", "bytes": 2048}])) == "2.0K"


def test_once_is_marked_on_the_entry_and_markup_is_defused() -> None:
    """'*' means once; '[' from the wire never reaches the screen as markup."""
    cells = row_cells(_state(once=True, hostname="[red]evil"))
    assert cells[5] == "tiny*"
    assert "[" not in cells[1]


def test_filter_needs_every_word() -> None:
    """'lab kernel' matches a lab host in the kernel phase, 'lab initrd' does not."""
    assert matches(_state(), "lab kernel")
    assert matches(_state(), "  ")
    assert not matches(_state(), "lab initrd")


def test_ips_sort_numerically() -> None:
    """10.0.0.9 comes before 10.0.0.10."""
    key = sort_key("ip")
    assert sorted(["10.0.0.10", "10.0.0.9", ""], key=key) == ["10.0.0.9", "10.0.0.10", ""]


def test_narrow_layout_fits_80_columns_and_wide_shows_all() -> None:
    """Cell padding is one blank each side; the 80x24 table needs no horizontal scroll."""
    narrow = layout(80)
    assert sum(c.narrow + 2 for _, c in narrow) <= 78
    assert len(layout(WIDE_FROM)) == len(COLUMNS)
    assert sum(c.wide + 2 for c in COLUMNS) <= WIDE_FROM - 2


def test_arch_reads_short_from_option_93_in_the_one_table() -> None:
    """Option 93 = 7 and 9 read 'efi64', 19 (ARM64 HTTP) and 10 (ARM32) stay apart."""
    cells = [row_cells(_state(arch_code=code))[3] for code in (7, 9, 19, 10, 31)]
    assert cells == ["efi64", "efi64", "httpa64", "arm32", "s390x"]
    assert row_cells(_state(arch="UEFI x64", arch_code=None))[3] == "UEFI x64"
    assert short_arch(None) == "" and short_arch(4242) == "4242"


def test_progress_sorts_by_percent_not_by_text() -> None:
    """'###.  78%' after '#...   9%', before '#### 100%'; idle and failed first."""
    key = sort_key("progress")
    cells = ["#### 100%", "###.  78%", "", "failed", "#...   9%"]
    assert sorted(cells, key=key) == ["failed", "", "#...   9%", "###.  78%", "#### 100%"]


def test_arm32_is_not_taken_for_arm64() -> None:
    """Option 93 = 10 (ARM32) has no profile arch: the explainer must not treat it as ARM64."""
    assert profile_arch(10) is None and profile_arch(11) == "uefi-arm64"
