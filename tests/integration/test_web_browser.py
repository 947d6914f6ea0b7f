"""The web console in a real browser: Debian's chromium + chromium-driver, driven by selenium.

A real engine (``pxetui serve`` on a loopback profile, DHCP off) and a real ``pxetui web``
with a password; the browser logs in through the form, the console's terminal gets the
engine's state over the websocket, and a browser without the session is refused. Chromium
may resolve nothing but loopback (``--host-resolver-rules``): the page's web-font link to the
internet goes nowhere.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

selenium = pytest.importorskip("selenium", reason="selenium is in the [test] extras")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from tests.helpers.engine import serving_on_loopback  # noqa: E402
from tests.helpers.ports import free_port  # noqa: E402
from tests.helpers.wait import wait_for  # noqa: E402

PXETUI = [sys.executable, "-m", "pxetui"]
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


@pytest.fixture
def engine_socket(tmp_path: Path) -> Iterator[Path]:
    """A real engine on a loopback-only profile."""
    with serving_on_loopback(tmp_path, "webtest") as socket_path:
        yield socket_path


@pytest.fixture
def web_url(engine_socket: Path, tmp_path: Path) -> Iterator[str]:
    """``pxetui web`` with a password file, listening on 127.0.0.1."""
    password = tmp_path / "web.pw"
    password.write_text(PASSWORD + "\n")
    password.chmod(0o600)
    port = free_port()
    web = subprocess.Popen(
        [
            *PXETUI,
            "web",
            "--socket",
            str(engine_socket),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--password-file",
            str(password),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        wait_for(listening, 30, "pxetui web to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        web.terminate()
        try:
            web.wait(15)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait(5)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    if not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()):
        pytest.fail("chromium / chromium-driver missing: run .ci/setup-dev")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
        f"--user-data-dir={tmp_path / 'chromium'}",
        # Loopback only: the page's web-font link and chromium's own services go nowhere.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def websocket_text(driver: webdriver.Chrome) -> str:
    """What the page received over its websocket so far (CDP frames), ANSI stripped."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.webSocketFrameReceived":
            continue
        response = message["params"]["response"]
        data = response.get("payloadData", "")
        if response.get("opcode") == 2:  # binary: base64
            data = base64.b64decode(data).decode("utf-8", "replace")
        out.append(data)
    return _ANSI.sub("", "".join(out))


def test_login_then_the_console_renders_with_the_engines_state(
    browser: webdriver.Chrome, web_url: str
) -> None:
    """Login form → the terminal page → the console attached to the engine, in chromium."""
    browser.get(web_url + "/")
    assert browser.current_url == web_url + "/login"
    browser.find_element(By.ID, "secret").send_keys("not the password")
    browser.find_element(By.ID, "login").click()
    # The refusal is a new page (after the failed-login delay): wait for it, bounded.
    errors = wait_for(lambda: browser.find_elements(By.ID, "error"), 30, "the refusal")
    assert "wrong password" in errors[0].text
    browser.find_element(By.ID, "secret").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.current_url == web_url + "/", 30, "the console page")
    # The page's script opened the websocket, the console attached and drew the engine.
    seen = ""

    def attached() -> bool:
        nonlocal seen
        seen += websocket_text(browser)
        return "engine ✓" in seen

    wait_for(attached, 60, "the console to attach to the engine")
    assert "webtest" in seen and "DHCP off" in seen

    def body_class() -> str:
        return browser.find_element(By.TAG_NAME, "body").get_attribute("class") or ""

    wait_for(lambda: "-first-byte" in body_class(), 30, "the terminal to show")
    assert browser.find_elements(By.CSS_SELECTOR, ".textual-terminal canvas")
    # A keystroke from the browser reaches the console: '?' opens the key help.
    assert "command palette" not in seen
    browser.find_element(By.CSS_SELECTOR, ".textual-terminal textarea").send_keys("?")

    def helped() -> bool:
        nonlocal seen
        seen += websocket_text(browser)  # get_log hands out each frame once: keep them all
        return "command palette" in seen

    wait_for(helped, 30, "the help screen")


def test_without_the_session_the_browser_gets_no_console(
    browser: webdriver.Chrome, web_url: str
) -> None:
    """A browser that has not logged in: sent to /login; the websocket and assets are 401."""
    browser.get(web_url + "/")
    assert browser.current_url == web_url + "/login"
    statuses = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        Promise.all(["/ws", "/static/js/textual.js", "/?x=1"].map(
            (path) => fetch(path, {redirect: "manual"}).then((r) => r.status)
        )).then(done);
        """
    )
    assert statuses[:2] == [401, 401]
    assert statuses[2] in (0, 302)  # a manual redirect reads as status 0 ("opaqueredirect")
    assert "pxetui" in browser.title and not browser.find_elements(By.CSS_SELECTOR, "canvas")
