"""How a client's tracker state reads as a table row."""

from __future__ import annotations

from typing import Any

from pxetui.core.arch import profile_arch, short_arch
from pxetui.core.wire import ClientRow
from pxetui.ui.client_rows import (
    COLUMNS,
    fit,
    layout,
    matches,
    phase_tone,
    progress_cell,
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
    assert progress_text(state, 11) == "###...  50%"


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


def test_columns_give_way_by_priority_and_never_cut_the_required_ones() -> None:
    """At 80 columns host, firmware and seen give way; MAC, Entry, Phase, Progress stay."""
    narrow = layout(80)
    assert narrow.used <= 80
    shown = {c.key: w for _, c, w in narrow.columns}
    assert {"mac", "entry", "phase", "progress"} <= set(shown)
    assert shown["mac"] == 17 and shown["phase"] >= 8 and shown["progress"] >= 10
    assert "hostname" not in shown and "last_seen" not in shown
    assert narrow.short_phase
    for width in (50, 60, 70, 100):
        keys = {c.key for _, c, _ in layout(width).columns}
        assert {"mac", "entry", "phase", "progress"} <= keys
        assert layout(width).used <= width
    wide = layout(120)
    assert len(wide.columns) == len(COLUMNS) and wide.used <= 120
    assert not wide.short_phase


def test_short_phase_words_keep_the_hint_mark() -> None:
    """The narrow table says 'booted', 'image', 'dhcp'; the '!' of a warning stays first."""
    handed = _state(phase="handed_over", outcome="handed_over")
    assert row_cells(handed, short_phase=True)[6] == "booted"
    assert row_cells(handed)[6] == "handed_over"
    assert row_cells(_state(phase="root_image"), short_phase=True)[6] == "image"
    assert row_cells(_state(phase="discovered"), short_phase=True)[6] == "dhcp"
    warned = _state(hints=[{"code": "x", "severity": "warn", "text": "t", "evidence": "e"}])
    assert row_cells(warned, short_phase=True)[6] == "!kernel"
    assert phase_tone(warned) == "warning"


def test_entry_is_cut_before_the_once_star() -> None:
    """A long entry name loses letters, never the '*' that marks once."""
    assert fit("ubuntu-24.04-live-server*", 11, keep="*") == "ubuntu-24…*"
    assert fit("centos8*", 11, keep="*") == "centos8*"
    assert fit("a-long-host-name", 6) == "a-lon…"


def test_progress_in_colour_is_a_bar_and_failures_are_red_words() -> None:
    """Colour: a line bar in the progress tone and the percent; done is green; failed red."""
    running = _state(transfers=[{"state": "running", "bytes": 50, "size": 100}])
    parts = progress_cell(running, 12)
    assert [tone for _, tone in parts] == ["bar", "track", "progress"]
    assert "".join(text for text, _ in parts) == "━━━╸━━━  50%"
    done = progress_cell(_state(transfers=[{"state": "done", "bytes": 5, "size": 5}]), 12)
    assert done[0] == ("━━━━━━━", "success")
    for word in ("failed", "missing", "refused"):
        failed = _state(transfers=[{"state": word, "bytes": 0, "size": 9}])
        assert progress_cell(failed, 12) == [(word, "error")]
    assert progress_cell(_state(), 12) == []


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
