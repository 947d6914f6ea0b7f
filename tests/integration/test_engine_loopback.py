"""The whole engine on loopback (no DHCP): assign, real TFTP/HTTP fetches, one-shot, reload."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tftpy

from pxetui.core.boot import TRANSFERS_PER_BOOT
from pxetui.core.events import (
    AssignmentChanged,
    ClientUpdated,
    EngineMessage,
    Event,
    TransferFinished,
)
from pxetui.core.mac import MacAddress
from pxetui.core.profile.loader import load_profile
from pxetui.engine.control.client import ControlClient
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.control.recent import RECENT_EVENTS
from pxetui.engine.engine import Engine, EngineError
from tests.helpers.ports import free_port
from tests.helpers.profiles import CENTOS_ENTRY, loopback_profile
from tests.helpers.wait import wait_for_async

MAC = MacAddress.parse("52:54:00:fe:01:01")


def profile_text(tmp_path: Path, **changes: str) -> str:
    ports = tmp_path / "ports"
    if not ports.exists():
        ports.write_text(f"{free_port(socket.SOCK_DGRAM)} {free_port(socket.SOCK_STREAM)}")
    tftp_port, http_port = ports.read_text().split()
    text = loopback_profile(
        "loopback", tftp_port=int(tftp_port), http_port=int(http_port), entries=CENTOS_ENTRY
    )
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    (tmp_path / "lab.yaml").write_text(profile_text(tmp_path))
    images = tmp_path / "tftp" / "images"
    images.mkdir(parents=True)
    (images / "vmlinuz").write_bytes(b"K" * 300_000)
    (images / "initrd.img").write_bytes(b"I" * 200_000)
    path = tmp_path / "lab.yaml"
    eng = Engine(load_profile(path), profile_path=path)
    await eng.setup()
    try:
        await eng.start()
        yield eng
    finally:
        await eng.stop()


async def http_get(engine: Engine, name: str) -> bytes:
    assert engine.http is not None
    url = f"http://127.0.0.1:{engine.http.port}/{name}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, name
        return await response.read()


async def tftp_get(engine: Engine, name: str, dest: Path) -> bytes:
    assert engine.tftp is not None
    port = engine.tftp.port

    def run() -> None:
        tftpy.TftpClient("127.0.0.1", port).download(name, str(dest), timeout=5)

    await asyncio.wait_for(asyncio.to_thread(run), 60)
    return dest.read_bytes()


async def next_matching(events: Any, predicate: Any, timeout: float = 15.0) -> Event:
    async def scan() -> Event:
        async for event in events:
            if predicate(event):
                return event  # type: ignore[no-any-return]
        raise AssertionError("stream ended")

    return await asyncio.wait_for(scan(), timeout)


async def test_one_shot_turns_into_local_boot_after_kernel_and_initrd(
    engine: Engine, tmp_path: Path
) -> None:
    """assign --once, fetch the script, kernel (TFTP) and initrd (HTTP): the MAC flips to local."""
    client = ControlClient(engine.socket_path)
    snapshot, events = await client.subscribe()
    assert snapshot["profile"]["name"] == "loopback" and "centos" in snapshot["entries"]
    result = await client.request("assign", mac=MAC.colon, entry="centos", once=True)
    assert "ipxe/52-54-00-fe-01-01.ipxe" in result["files"]
    script = (await http_get(engine, "ipxe/52-54-00-fe-01-01.ipxe")).decode()
    assert "images/vmlinuz" in script
    await tftp_get(engine, "images/vmlinuz", tmp_path / "k")
    assert not engine.db.once_done(MAC)  # the initrd is still missing
    await http_get(engine, "images/initrd.img")
    flipped = await next_matching(
        events, lambda e: isinstance(e, AssignmentChanged) and e.reason == "once"
    )
    assert isinstance(flipped, AssignmentChanged) and flipped.entry == "local"
    assert [entry for entry, _ in engine.db.once_done(MAC)] == ["centos"]
    after = (await http_get(engine, "ipxe/52-54-00-fe-01-01.ipxe")).decode()
    assert "images/vmlinuz" not in after
    state = await client.request("state")
    row = next(c for c in state["clients"] if c["mac"] == MAC.colon)
    # Two boots: the one-shot (handed over), then the re-read script: a local boot.
    first, second = row["boots"]
    assert first["phases"].keys() >= {"config", "kernel", "initrd", "handed_over"}
    assert (first["entry"], first["once"], first["outcome"]) == ("centos", True, "handed_over")
    assert (second["entry"], second["outcome"]) == ("local", "local")
    assert row["ip"] == "127.0.0.1"
    done = state["assignments"][MAC.colon]
    assert (done["entry"], done["once"], done["source"], done["by"]) == ("local", False, "once", "")
    history = await client.request("history", mac=MAC.colon, limit=50)
    kinds = [h["kind"] for h in history]
    assert "transfer_finished" in kinds and "assignment" in kinds
    await client.close()


async def test_the_stream_carries_summary_rows_and_the_client_op_the_whole_row(
    engine: Engine, tmp_path: Path
) -> None:
    """Two boots of one client: the stream's rows (snapshot and updates) carry no boot
    history and only the latest transfers; ``client`` answers with every boot in full."""
    client = ControlClient(engine.socket_path)
    await client.request("assign", mac=MAC.colon, entry="centos", once=True)
    await http_get(engine, "ipxe/52-54-00-fe-01-01.ipxe")
    await tftp_get(engine, "images/vmlinuz", tmp_path / "k")
    await http_get(engine, "images/initrd.img")  # the one-shot is done: a second boot follows
    # The flip to local follows the initrd's end on the engine's loop: wait for it.
    await wait_for_async(lambda: engine.db.once_done(MAC), 10, "the one-shot to flip to local")
    await http_get(engine, "ipxe/52-54-00-fe-01-01.ipxe")
    snapshot, events = await client.subscribe()
    row = next(c for c in snapshot["clients"] if c["mac"] == MAC.colon)
    assert row["summary"] is True and row["boots"] == []
    assert [t["filename"] for t in row["transfers"]] == ["ipxe/52-54-00-fe-01-01.ipxe"]
    assert row["phases"] and row["entry"] == "local"
    await tftp_get(engine, "images/vmlinuz", tmp_path / "k2")
    update = await next_matching(
        events, lambda e: isinstance(e, ClientUpdated) and e.mac == MAC, timeout=15
    )
    assert isinstance(update, ClientUpdated)
    assert update.state["summary"] is True and update.state["boots"] == []
    assert len(update.state["transfers"]) == 1  # the latest, not the boot's whole list
    whole = await client.request("client", mac=MAC.colon)
    assert "summary" not in whole and len(whole["boots"]) == 2
    assert whole["boots"][0]["outcome"] == "handed_over" and whole["boots"][0]["transfers"]
    assert [t["filename"] for t in whole["transfers"]][-1] == "images/vmlinuz"
    with pytest.raises(ControlError, match="no client 52:54:00:fe:09:09 is known"):
        await client.request("client", mac="52:54:00:fe:09:09")
    await client.close()


async def test_a_broken_profile_reload_is_rejected_and_the_old_keeps_serving(
    engine: Engine, tmp_path: Path
) -> None:
    """reload with a typo answers the errors; entries and files stay as they were."""
    assert engine.profile_path is not None
    engine.profile_path.write_text(profile_text(tmp_path).replace("kind: linux", "kind: linucks"))
    client = ControlClient(engine.socket_path)
    _, events = await client.subscribe()
    with pytest.raises(ControlError, match="rejected"):
        await client.request("reload")
    message = await next_matching(events, lambda e: isinstance(e, EngineMessage))
    assert isinstance(message, EngineMessage) and message.level == "error"
    assert "lab.yaml" in message.text
    await client.request("assign", mac=MAC.colon, entry="centos")  # still known
    assert (await http_get(engine, "images/vmlinuz"))[:1] == b"K"
    engine.profile_path.write_text(profile_text(tmp_path).replace("test kernel", "reloaded"))
    reloaded = await client.request("reload")
    assert (reloaded["entries"], reloaded["hosts"]) == (1, 0)
    state = await client.request("state")
    assert state["entries"]["centos"]["description"] == "reloaded"
    await client.close()


async def test_unknown_entries_and_bad_macs_are_refused_in_words(engine: Engine) -> None:
    """The control API explains what is wrong rather than failing silently."""
    async with ControlClient(engine.socket_path) as client:
        with pytest.raises(ControlError, match="no entry named 'nope'"):
            await client.request("assign", mac=MAC.colon, entry="nope")
        with pytest.raises(ControlError, match="not a MAC"):
            await client.request("assign", mac="zz:zz", entry="centos")
        steps = await client.request("explain", mac=MAC.colon, ip="127.0.0.1")
        assert any(s["path"] == "ipxe/52-54-00-fe-01-01.ipxe" for s in steps)
        assert all(set(s) >= {"loader", "order", "path", "exists", "wins"} for s in steps)
        preview = await client.request("preview", mac=MAC.colon, entry="centos")
        assert preview["current"] == {}
        assert "images/vmlinuz" in preview["files"]["ipxe/52-54-00-fe-01-01.ipxe"]


async def test_a_second_engine_on_the_same_state_dir_is_refused(engine: Engine) -> None:
    """Two engines never share a database and socket."""
    path = engine.profile_path
    assert path is not None
    second = Engine(load_profile(path), profile_path=path)
    with pytest.raises(EngineError, match="another pxetui engine"):
        await second.setup()


async def pxetui_cli(*args: str) -> tuple[int, str, str]:
    """Run the real ``pxetui`` command line (without blocking the engine's loop)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pxetui",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode(), err.decode()


async def test_cli_assign_status_and_unassign_talk_to_the_engine(engine: Engine) -> None:
    """`pxetui assign/status/unassign --socket` change and show the engine's state."""
    sock = str(engine.socket_path)
    code, out, _ = await pxetui_cli(
        "assign", "52-54-00-FE-01-01", "centos", "--once", "--socket", sock
    )
    assert code == 0 and "52:54:00:fe:01:01 -> centos once" in out
    code, out, _ = await pxetui_cli("status", "--json", "--socket", sock)
    state = json.loads(out)
    me = f"{pwd.getpwuid(os.getuid()).pw_name} (uid {os.getuid()})"
    got = state["assignments"][MAC.colon]
    assert (got["entry"], got["once"], got["source"], got["by"]) == ("centos", True, "operator", me)
    code, out, _ = await pxetui_cli("status", "--socket", sock)
    assert code == 0 and f"52:54:00:fe:01:01 -> centos once (operator by {me} at " in out
    code, _, err = await pxetui_cli("assign", MAC.colon, "nope", "--socket", sock)
    assert code == 1 and "no entry named 'nope'" in err
    code, out, _ = await pxetui_cli("unassign", MAC.colon, "--socket", sock)
    assert code == 0 and "unassigned" in out
    state = json.loads((await pxetui_cli("status", "--json", "--socket", sock))[1])
    assert any(e.get("mac") == MAC.colon for e in state.pop("recent_events"))  # what happened
    assert MAC.colon not in json.dumps(state)  # no assignment, no client row left


async def test_clients_get_their_reverse_dns_name(engine: Engine) -> None:
    """A client's IP is looked up once in the lab DNS; the name shows in its row."""
    rows: list[dict[str, Any]] = []
    from dnslib.server import DNSServer
    from test_reverse_names import LabResolver

    from pxetui.engine.names import ClientNamer, ReverseNames

    server = DNSServer(LabResolver(), port=0, address="127.0.0.1")
    server.start_thread()
    try:
        names = ReverseNames("127.0.0.1", server.server.server_address[1], timeout=2.0)
        engine.namer = ClientNamer(names, engine.tracker, engine.updates.mark)
        async with ControlClient(engine.socket_path) as client:
            await client.request("assign", mac=MAC.colon, entry="centos")
            await http_get(engine, "ipxe/52-54-00-fe-01-01.ipxe")
            for _ in range(100):
                rows = (await client.request("state"))["clients"]
                if rows and rows[0]["hostname"]:
                    break
                await asyncio.sleep(0.05)
        assert rows[0]["mac"] == MAC.colon and rows[0]["hostname"] == "loopback.lab.example"
    finally:
        server.stop()


async def test_client_updates_are_coalesced_to_about_ten_per_second(engine: Engine) -> None:
    """A burst of requests from one client yields a few ClientUpdated rows, not one each."""
    from pxetui.core.events import ClientUpdated

    client = ControlClient(engine.socket_path)
    _, events = await client.subscribe()
    await client.request("assign", mac=MAC.colon, entry="centos")
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(30):
        await http_get(engine, "ipxe/52-54-00-fe-01-01.ipxe")
    elapsed = loop.time() - started
    await asyncio.sleep(0.3)  # let the last coalesced update out
    updates: list[ClientUpdated] = []
    with contextlib.suppress(TimeoutError):
        while True:
            event = await asyncio.wait_for(anext(events), 0.5)
            if isinstance(event, ClientUpdated) and event.mac == MAC:
                updates.append(event)
    assert 1 <= len(updates) <= elapsed * 10 + 3, (len(updates), elapsed)
    last = updates[-1].state
    assert last["mac"] == MAC.colon and len(last["transfers"]) == 1  # a summary: the last one
    whole = await client.request("client", mac=MAC.colon)
    assert len(whole["transfers"]) == TRANSFERS_PER_BOOT  # a ring
    assert all(t["state"] == "done" for t in whole["transfers"])
    await client.close()


async def test_a_held_tftp_port_is_reported_with_its_holder(tmp_path: Path) -> None:
    """Another process on our TFTP port: start fails naming that process."""
    port = free_port(socket.SOCK_DGRAM)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import socket,sys,time\n"
        f"s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('127.0.0.1',{port}))\n"
        "print('bound',flush=True);time.sleep(60)",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"bound"
        (tmp_path / "ports").write_text(f"{port} {free_port(socket.SOCK_STREAM)}")
        (tmp_path / "lab.yaml").write_text(profile_text(tmp_path))
        (tmp_path / "tftp" / "images").mkdir(parents=True)  # a profile `check` accepts
        (tmp_path / "tftp" / "images" / "vmlinuz").write_bytes(b"K")
        (tmp_path / "tftp" / "images" / "initrd.img").write_bytes(b"I")
        eng = Engine(load_profile(tmp_path / "lab.yaml"), profile_path=tmp_path / "lab.yaml")
        await eng.setup()
        try:
            with pytest.raises(EngineError, match=rf"pid {holder.pid} \(python"):
                await eng.start()
        finally:
            await eng.stop()
    finally:
        holder.kill()
        await holder.wait()


async def test_a_corrupt_state_database_is_named_not_a_traceback(tmp_path: Path) -> None:
    """Garbage in pxetui.db stops setup with an EngineError naming the file."""
    (tmp_path / "lab.yaml").write_text(profile_text(tmp_path))
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "pxetui.db").write_bytes(b"this is not sqlite" * 100)
    eng = Engine(load_profile(tmp_path / "lab.yaml"), profile_path=tmp_path / "lab.yaml")
    try:
        with pytest.raises(EngineError, match=r"pxetui\.db is unusable"):
            await eng.setup()
    finally:
        await eng.stop()


async def test_an_operators_own_loader_is_kept_and_the_engine_says_so(tmp_path: Path) -> None:
    """A pxelinux.0 pxetui did not copy survives the start, and a message names it."""
    if not Path("/usr/lib/PXELINUX/pxelinux.0").is_file():
        pytest.skip("needs Debian's pxelinux package (the loader pxetui would copy)")
    (tmp_path / "lab.yaml").write_text(profile_text(tmp_path))
    (tmp_path / "tftp" / "images").mkdir(parents=True)
    for name in ("vmlinuz", "initrd.img"):
        (tmp_path / "tftp" / "images" / name).write_bytes(b"x" * 1000)
    own = tmp_path / "tftp" / "pxelinux.0"
    own.write_bytes(b"the operator's own pxelinux build")
    eng = Engine(load_profile(tmp_path / "lab.yaml"), profile_path=tmp_path / "lab.yaml")
    try:
        await eng.setup()
        await eng.start()
        texts = [e.text for e in eng.recent.events() if isinstance(e, EngineMessage)]
    finally:
        await eng.stop()
    assert own.read_bytes() == b"the operator's own pxelinux build"
    assert any(t.startswith("loader kept pxelinux.0: not pxetui's copy") for t in texts), texts


async def test_a_restarted_engine_rebuilds_its_client_table_from_history(
    engine: Engine, tmp_path: Path
) -> None:
    """Stop, start again on the same state dir: the client row and its transfers are back."""
    async with ControlClient(engine.socket_path) as client:
        await client.request("assign", mac=MAC.colon, entry="centos")
    await http_get(engine, "ipxe/52-54-00-fe-01-01.ipxe")
    await tftp_get(engine, "images/vmlinuz", tmp_path / "k")
    engine.history.flush()
    await engine.stop()
    path = engine.profile_path
    assert path is not None
    again = Engine(load_profile(path), profile_path=path)
    await again.setup()
    try:
        row = again.tracker.get(MAC)
        assert row is not None and row.ip == "127.0.0.1" and row.phase == "kernel"
        assert row.boot is not None
        assert [t.filename.lstrip("/") for t in row.boot.transfers] == [
            "ipxe/52-54-00-fe-01-01.ipxe",
            "images/vmlinuz",
        ]
        assert row.entry == "centos"
    finally:
        await again.stop()


async def test_status_follow_streams_events_after_the_state(engine: Engine) -> None:
    """`pxetui status --follow --json` prints the state (whole rows, not the stream's
    summaries), then each event as a JSON line."""
    other = MacAddress.parse("52:54:00:fe:01:02")
    async with ControlClient(engine.socket_path) as client:
        await client.request("assign", mac=other.colon, entry="centos")
    await http_get(engine, "ipxe/52-54-00-fe-01-02.ipxe")  # a client with a boot
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pxetui",
        "status",
        "--follow",
        "--json",
        "--socket",
        str(engine.socket_path),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        assert first["profile"]["name"] == "loopback"
        row = next(c for c in first["clients"] if c["mac"] == other.colon)
        assert "summary" not in row and len(row["boots"]) == 1
        async with ControlClient(engine.socket_path) as client:
            await client.request("assign", mac=MAC.colon, entry="centos", once=True)
        event: dict[str, Any] = {}
        while event.get("kind") != "assignment":
            event = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        assert (event["mac"], event["entry"], event["once"]) == (MAC.colon, "centos", True)
    finally:
        proc.kill()
        await proc.wait()


async def test_transfers_served_by_a_tftp_worker_process_are_tracked(tmp_path: Path) -> None:
    """With two TFTP processes the clients' fetches alternate; every one lands in the row."""
    (tmp_path / "lab.yaml").write_text(profile_text(tmp_path))
    images = tmp_path / "tftp" / "images"
    images.mkdir(parents=True)
    (images / "vmlinuz").write_bytes(b"K" * 300_000)
    (images / "initrd.img").write_bytes(b"I" * 1000)  # a profile `check` accepts
    eng = Engine(
        load_profile(tmp_path / "lab.yaml"), profile_path=tmp_path / "lab.yaml", tftp_workers=2
    )
    await eng.setup()
    try:
        await eng.start()
        await eng.assign(MAC, "centos")
        await tftp_get(eng, "pxelinux.cfg/01-52-54-00-fe-01-01", tmp_path / "cfg")
        for i in range(3):
            await tftp_get(eng, "images/vmlinuz", tmp_path / f"k{i}")
        for _ in range(100):
            row = eng.tracker.get(MAC)
            boot = row.boot if row is not None else None
            if boot is not None and sum(t.state == "done" for t in boot.transfers) == 4:
                break
            await asyncio.sleep(0.05)
        assert boot is not None and [t.state for t in boot.transfers] == ["done"] * 4
        # Two processes report independently: the rows' order across workers is not defined.
        kernels = [t for t in boot.transfers if t.filename == "images/vmlinuz"]
        assert len(kernels) == 3 and all(t.bytes == 300_000 for t in kernels), boot.transfers
    finally:
        await eng.stop()


async def test_a_late_subscriber_gets_the_recent_events_in_its_snapshot(
    engine: Engine, tmp_path: Path
) -> None:
    """Events from before the subscription (start, an assignment, a miss) are in the snapshot."""
    async with ControlClient(engine.socket_path) as early:
        await early.request("assign", mac=MAC.colon, entry="centos")
    with contextlib.suppress(tftpy.TftpException):
        await tftp_get(engine, "images/no-such-file", tmp_path / "x")
    await tftp_get(engine, "images/vmlinuz", tmp_path / "k")
    for _ in range(100):  # the server reports the finish after the client has its bytes
        if any(isinstance(e, TransferFinished) for e in engine.recent.events()):
            break
        await asyncio.sleep(0.1)
    client = ControlClient(engine.socket_path)
    snapshot, _ = await client.subscribe()
    await client.close()
    recent = snapshot["recent_events"]
    kinds = [e["kind"] for e in recent]
    assert {"service", "boot_files", "assignment", "file_not_found", "transfer_finished"} <= set(
        kinds
    )
    assert not {"transfer_progress", "client"} & set(kinds)
    assert [e["ts"] for e in recent] == sorted(e["ts"] for e in recent)  # oldest first
    assigned = next(e for e in recent if e["kind"] == "assignment")
    assert (assigned["mac"], assigned["entry"]) == (MAC.colon, "centos")
    assert any(e["kind"] == "message" and "serving profile" in e["text"] for e in recent)


async def test_the_snapshots_recent_events_are_bounded(engine: Engine) -> None:
    """Twice the ring's size later the snapshot holds only the newest, the last one last."""
    for n in range(2 * RECENT_EVENTS):
        engine.bus.publish(EngineMessage(text=f"burst {n}"))
    async with ControlClient(engine.socket_path) as client:
        state = await client.request("state")
    texts = [e.get("text") for e in state["recent_events"]]
    assert len(texts) == RECENT_EVENTS == 500
    assert texts[0] == f"burst {RECENT_EVENTS}" and texts[-1] == f"burst {2 * RECENT_EVENTS - 1}"
