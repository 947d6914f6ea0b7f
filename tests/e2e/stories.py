"""The boot stories' harness: one engine per story, its VM boots, and the tracker's view.

A story is a short sequence of real boots (QEMU TCG, throwaway namespaces) against one
``pxetui serve`` engine. Each test first checks the serial console for what really happened,
then asserts the tracker's record of it through ``pxetui status --json``: the client row
(``mac``, ``macs``, ``nic``, ``outcome``, ``menu_item``, active ``hints``) and its list of
``boots`` (oldest first). The tracker folds events as they arrive, so its view is polled
(bounded) until the checks pass; a timeout fails with the serial tail and the client JSON.

With ``PXETUI_CAPTURE_STORIES=1`` every story also writes what the engine saw to
``tests/data/tracker/stories/<story>.jsonl`` (its JSON event lines, without
``transfer_progress``), plus the profile it served and the serial console, so unit tests can
replay the tracker on real sequences.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pxetui.core.mac import MacAddress
from pxetui.lab.boot_run import PxetuiBoot, boot_vm, find_client, start_pxetui_for
from pxetui.lab.guest import CMDLINE_PREFIX
from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import LabNetwork, create_lab_network
from pxetui.lab.process import LabProcess
from pxetui.lab.qemu import FAILURES, BootResult, LineSink
from pxetui.lab.scenarios import Scenario

CAPTURE_ENV = "PXETUI_CAPTURE_STORIES"
CAPTURE_DIR = Path(__file__).resolve().parents[1] / "data" / "tracker" / "stories"
_NOT_CAPTURED = frozenset({"transfer_progress", "client_updated"})
SERIAL_LINES_KEPT = 300

Client = dict[str, Any]
Check = Callable[[Client], None]


@dataclass
class Story:
    """One story's lab: namespaces, the LAN server (if any), the engine, and the boots."""

    name: str
    scenario: Scenario
    net: LabNetwork
    run: PxetuiBoot
    lan: LabProcess | None = None
    results: list[BootResult] = field(default_factory=list)

    @property
    def workdir(self) -> Path:
        return self.run.workdir

    @property
    def tree(self) -> Path:
        """The engine's TFTP/HTTP root."""
        return self.workdir / "tftp"

    # --- boots ---------------------------------------------------------------------------

    async def boot(
        self,
        expect: list[str] | None = None,
        failures: tuple[str, ...] = FAILURES,
        linger: float = 0.0,
        mac: MacAddress | None = None,
        on_line: LineSink | None = None,
    ) -> BootResult:
        """Power the VM on once; bounded by the scenario's timeout."""
        result = await boot_vm(
            self.scenario,
            self.net,
            self.workdir,
            mac=mac,
            expect=expect,
            failures=failures,
            linger=linger,
            on_line=on_line,
        )
        self.results.append(result)
        return result

    async def boot_watching(
        self,
        seen: Callable[[Client | None], bool],
        expect: list[str] | None = None,
        failures: tuple[str, ...] = FAILURES,
        linger: float = 0.0,
        mac: MacAddress | None = None,
        on_line: LineSink | None = None,
        interval: float = 0.5,
    ) -> tuple[BootResult, Client | None]:
        """:meth:`boot`, polling the tracker meanwhile: the first client view *seen* accepts
        (``None`` if it never did while the VM ran)."""
        task = asyncio.create_task(self.boot(expect, failures, linger, mac, on_line))
        hit: Client | None = None
        try:
            while not task.done():
                if hit is None:
                    client = await asyncio.to_thread(self.client, mac)
                    if seen(client):
                        hit = client
                await asyncio.wait({task}, timeout=interval)
            return task.result(), hit
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # --- the tracker -----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.run.server.status()

    def client(self, mac: MacAddress | None = None) -> Client | None:
        return find_client(self.status(), mac or self.scenario.mac)

    def row_macs(self) -> list[MacAddress]:
        """The MAC of every client row ``status --json`` shows."""
        clients = self.status().get("clients", [])
        items = clients.values() if isinstance(clients, dict) else clients
        return [MacAddress.parse(str(c["mac"])) for c in items if isinstance(c, dict)]

    def expect_client(
        self, check: Check, mac: MacAddress | None = None, timeout: float = 20.0
    ) -> Client:
        """Poll ``status --json`` until *check* (plain asserts) passes for the client row of
        *mac*; on timeout fail with the last assertion, the serial tail and the JSON."""
        mac = mac or self.scenario.mac
        deadline = time.monotonic() + timeout
        client: Client | None = None
        error = "no status fetched"
        while True:
            try:
                client = self.client(mac)
                if client is None:
                    error = f"no client row for {mac.colon}"
                else:
                    check(client)
                    return client
            except (AssertionError, KeyError, IndexError, TypeError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        raise AssertionError(
            f"{self.name}: the tracker's view of {mac.colon} did not pass within "
            f"{timeout:.0f} s: {error}\n{self.context(client)}"
        )

    # --- evidence ---------------------------------------------------------------------------

    def context(self, client: Client | None = None, lines: int = 30) -> str:
        """The serial tail of every boot, the client JSON and the engine's errors."""
        parts = []
        for n, result in enumerate(self.results, 1):
            parts.append(
                f"--- serial, boot {n} ({result.outcome} {result.matched!r} "
                f"after {result.seconds or 0:.1f} s)\n{result.tail(lines)}"
            )
        if client is not None:
            parts.append(f"--- client\n{json.dumps(client, indent=1)[:8000]}")
        errors = [
            str(e.get("text", ""))
            for e in self.run.server.events()
            if e.get("kind") == "message" and e.get("level") == "error"
        ]
        if errors:
            parts.append("--- engine errors\n" + "\n".join(errors[-8:]))
        return "\n".join(parts)

    def assert_serial(
        self, result: BootResult, outcome: str = "expected", contains: Iterable[str] = ()
    ) -> None:
        """What the console showed: the wait's *outcome* and each of *contains*."""
        assert result.outcome == outcome, (
            f"{self.name}: serial {result.outcome} {result.matched!r}, wanted {outcome}\n"
            f"{self.context()}"
        )
        for text in contains:
            assert text in result.text, (
                f"{self.name}: {text!r} not on the serial console\n{self.context()}"
            )

    def assert_booted(self, result: BootResult, *args: str) -> str:
        """The guest's marker appeared and its /proc/cmdline holds *args*; returns it."""
        self.assert_serial(result)
        line = result.line_starting(CMDLINE_PREFIX)
        assert line is not None, f"{self.name}: no command line printed\n{self.context()}"
        cmdline = line.removeprefix(CMDLINE_PREFIX)
        for arg in args:
            assert arg in cmdline, f"{self.name}: {arg!r} not in the cmdline {cmdline!r}"
        return cmdline

    def capture(self, into: Path = CAPTURE_DIR) -> list[Path]:
        """Write the engine's events, the profile and the serial console for replays."""
        into.mkdir(parents=True, exist_ok=True)
        events = [
            json.dumps(e, separators=(",", ":"), ensure_ascii=False)
            for e in self.run.server.events()
            if e.get("kind") not in _NOT_CAPTURED
        ]
        jsonl = into / f"{self.name}.jsonl"
        jsonl.write_text("".join(f"{line}\n" for line in events))
        profile = into / f"{self.name}.profile.yaml"
        profile.write_text(self.run.server.profile.read_text())
        serial = into / f"{self.name}.serial.txt"
        chunks = []
        for n, result in enumerate(self.results, 1):
            kept = result.lines[-SERIAL_LINES_KEPT:]
            chunks.append(
                f"=== boot {n}: {result.outcome} {result.matched!r} after "
                f"{result.seconds or 0:.1f} s (host clock from QEMU start)\n" + "\n".join(kept)
            )
        serial.write_text("\n".join(chunks) + "\n")
        return [jsonl, profile, serial]

    def close(self) -> None:
        """Capture (when asked), then stop the engine and the LAN and remove the namespaces."""
        try:
            if os.environ.get(CAPTURE_ENV) == "1" and self.run.server.proc is not None:
                self.capture()
        finally:
            try:
                self.run.stop()
            finally:
                if self.lan is not None:
                    self.lan.stop()
                self.net.teardown()


NetKind = str
"""``proxy`` (a LAN router sending RAs), ``proxy-no-ra``, or ``isolated`` (no router)."""


def open_story(
    name: str,
    scenario: Scenario,
    workdir: Path,
    net_kind: NetKind = "proxy",
    prefix: str = "pxg-",
    assign: bool = True,
    once: bool = False,
) -> Story:
    """Namespaces (+ the LAN's DHCP server), the engine for *scenario*, the MAC assigned."""
    net = create_lab_network(prefix, router=net_kind != "isolated")
    lan: LabProcess | None = None
    try:
        if net_kind != "isolated":
            lan = start_lan_dhcp(net, workdir / "lan", send_ra=net_kind != "proxy-no-ra")
        run = start_pxetui_for(scenario, net, workdir / "engine", assign=assign, once=once)
    except BaseException:
        if lan is not None:
            lan.stop()
        net.teardown()
        raise
    return Story(name, scenario, net, run, lan)


# --- reading a client row ------------------------------------------------------------------


def boots(client: Client, count: int | None = None) -> list[dict[str, Any]]:
    """The client's boots, oldest first; with *count*, asserts there are that many."""
    value = client["boots"]
    assert isinstance(value, list), f"boots is {type(value).__name__}"
    if count is not None:
        summary = [(b.get("n"), b.get("entry"), b.get("outcome")) for b in value]
        assert len(value) == count, f"{len(value)} boots, not {count}: {summary}"
    return value


def hint_codes(hints: Any) -> list[str]:
    """The ``code`` of each hint in *hints* (a hint that is not an object has none)."""
    assert isinstance(hints, list), f"hints is {type(hints).__name__}"
    return [str(h.get("code")) for h in hints if isinstance(h, dict)]


def find_hint(hints: Any, code: str) -> dict[str, Any]:
    """The hint with *code*; asserts it is there and has the contract's fields."""
    for hint in hints if isinstance(hints, list) else []:
        if isinstance(hint, dict) and hint.get("code") == code:
            missing = {"code", "severity", "text", "evidence", "causes", "since"} - set(hint)
            assert not missing, f"hint {code} lacks {sorted(missing)}"
            assert hint["severity"] in ("info", "warn", "error"), hint
            assert isinstance(hint["causes"], list), hint
            return hint
    raise AssertionError(f"no {code} hint among {hint_codes(hints) or hints}")


def all_hints(client: Client) -> list[dict[str, Any]]:
    """The active hints and every boot's hints."""
    out = [h for h in client.get("hints", []) if isinstance(h, dict)]
    for boot in client.get("boots", []) or []:
        out += [h for h in boot.get("hints", []) if isinstance(h, dict)]
    return out


_RECOMMENDS_IPXE = re.compile(
    r"\b(use|switch to|try|chain|set loader:?)\b[^.;]*\bipxe\b|\bloader:?\s*ipxe\b", re.I
)


def recommends_ipxe(hint: dict[str, Any]) -> bool:
    """Does the hint's text or a cause advise iPXE (which Secure Boot refuses)?"""
    texts = [str(hint.get("text", "")), *(str(c) for c in hint.get("causes", []) or [])]
    return any(_RECOMMENDS_IPXE.search(t) for t in texts)


def transfer_names(record: dict[str, Any]) -> list[str]:
    """File names of a boot's (or a row's) transfers, without a leading slash."""
    return [str(t.get("filename", "")).lstrip("/") for t in record.get("transfers", [])]


def replace_with_private_copy(path: Path) -> None:
    """The lab links tree files to the shared guest cache: give *path* its own inode before
    changing its mode, so the cache (and other tests) keep the original."""
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)
