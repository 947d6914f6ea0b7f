"""``pxetui web`` safe by default: refusal, login, public URL and TLS, over HTTP on loopback."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pxetui.cli.web_auth import public_url
from tests.helpers.ports import free_port
from tests.helpers.wait import wait_for

PXETUI = [sys.executable, "-m", "pxetui"]
NO_ENGINE = "/nonexistent/control.sock"  # the page and the login need no engine



class Web:
    """A running ``pxetui web`` and the lines it printed before serving."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*PXETUI, "web", "--socket", NO_ENGINE, "--port", str(self.port), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip())
            if "Serving" in line:
                break
        self.wait_listening()

    def wait_listening(self) -> None:
        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_for(listening, 20, "pxetui web to listen", lambda: self.lines)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def webs() -> Iterator[list[Web]]:
    started: list[Web] = []
    yield started
    for web in started:
        web.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def get(
    url: str, cookie: str = "", context: ssl.SSLContext | None = None
) -> tuple[int, dict[str, str], str]:
    """One GET without following redirects: status, headers, body."""
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=context)
    )
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_refuses_to_serve_beyond_localhost_without_authentication() -> None:
    """``--host 0.0.0.0 --auth none``: exit 2 with a sentence, nothing listens."""
    port = free_port()
    proc = subprocess.run(
        [*PXETUI, "web", "--socket", NO_ENGINE, "--host", "0.0.0.0", "--port", str(port),
         "--auth", "none"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "refusing" in proc.stderr and "without authentication" in proc.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_password_auth_needs_a_readable_non_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "pw"
    empty.write_text("\n")
    proc = subprocess.run(
        [*PXETUI, "web", "--socket", NO_ENGINE, "--password-file", str(empty)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "empty" in proc.stderr


def test_wildcard_listen_gives_a_real_public_url_and_a_token_once(webs: list[Web]) -> None:
    """0.0.0.0: the printed URL and the page's asset/websocket URLs never say 0.0.0.0."""
    web = Web("--host", "0.0.0.0")
    webs.append(web)
    text = "\n".join(web.lines)
    assert "0.0.0.0:" not in text.replace(f"listening on 0.0.0.0:{web.port}", "")
    (token,) = re.findall(r"\?token=(\S+)", text)
    assert len(token) >= 32
    # Without the token: the page sends us to the login, the websocket is refused.
    status, headers, _ = get(f"http://127.0.0.1:{web.port}/")
    assert (status, headers.get("Location")) == (302, "/login")
    assert get(f"http://127.0.0.1:{web.port}/ws")[0] == 401
    assert get(f"http://127.0.0.1:{web.port}/static/js/textual.js")[0] == 401
    assert get(f"http://127.0.0.1:{web.port}/?token=wrong")[0] == 401
    # The token turns into a session cookie; the page then names the public URL.
    status, headers, _ = get(f"http://127.0.0.1:{web.port}/?token={token}")
    assert status == 302 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    status, _, page = get(f"http://127.0.0.1:{web.port}/", cookie=cookie)
    assert status == 200
    urls = re.findall(r"wss?://[^\"']+", page)
    assert urls and not any("0.0.0.0" in url for url in urls)
    assert f"ws://{public_url('0.0.0.0', web.port, False).split('://')[1]}/ws" in urls


def test_public_url_flag_is_what_the_page_uses(webs: list[Web]) -> None:
    web = Web("--host", "127.0.0.1", "--public-url", "https://boot.lab.example/pxe")
    webs.append(web)
    _, _, page = get(f"http://127.0.0.1:{web.port}/")
    assert "wss://boot.lab.example/pxe/ws" in page
    assert "https://boot.lab.example/pxe/static/" in page


def test_localhost_needs_no_login_by_default(webs: list[Web]) -> None:
    web = Web()
    webs.append(web)
    status, _, page = get(f"http://localhost:{web.port}/")
    assert status == 200 and f"ws://localhost:{web.port}/ws" in page


def test_a_cross_site_websocket_is_refused_even_with_a_session(webs: list[Web]) -> None:
    web = Web("--host", "127.0.0.1", "--auth", "token")
    webs.append(web)
    (token,) = re.findall(r"\?token=(\S+)", "\n".join(web.lines))
    cookie = get(f"http://127.0.0.1:{web.port}/?token={token}")[1]["Set-Cookie"].split(";")[0]
    request = urllib.request.Request(
        f"http://127.0.0.1:{web.port}/ws", headers={"Cookie": cookie, "Origin": "http://evil.example"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls_with_cert_and_key(tmp_path: Path, webs: list[Web]) -> None:
    """``--cert/--key``: HTTPS, a wss:// websocket URL and a Secure session cookie."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    web = Web("--host", "127.0.0.1", "--auth", "token", "--cert", str(cert), "--key", str(key))
    webs.append(web)
    (token,) = re.findall(r"\?token=(\S+)", "\n".join(web.lines))
    context = ssl.create_default_context(cafile=str(cert))
    status, headers, _ = get(f"https://127.0.0.1:{web.port}/?token={token}", context=context)
    assert status == 302 and "Secure" in headers["Set-Cookie"]
    cookie = headers["Set-Cookie"].split(";")[0]
    _, _, page = get(f"https://127.0.0.1:{web.port}/", cookie=cookie, context=context)
    assert f"wss://127.0.0.1:{web.port}/ws" in page
    with pytest.raises((urllib.error.URLError, ConnectionError)):  # plain HTTP gets no page
        urllib.request.urlopen(f"http://127.0.0.1:{web.port}/", timeout=5)


def test_parallel_wrong_tokens_queue_one_a_second(webs: list[Web]) -> None:
    """Guessing in parallel does not go faster: three wrong tokens take three seconds."""
    from concurrent.futures import ThreadPoolExecutor

    web = Web("--host", "127.0.0.1", "--auth", "token")
    webs.append(web)
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        codes = list(
            pool.map(lambda n: get(f"http://127.0.0.1:{web.port}/?token=guess{n}")[0], range(3))
        )
    assert codes == [401, 401, 401]
    assert time.monotonic() - started >= 2.9
