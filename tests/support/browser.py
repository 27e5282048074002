"""A small W3C WebDriver client for Debian's headless ``chromium`` through ``chromedriver`` (no selenium).

Just what the report's browser test needs: open a page, run a script, click, read the console, take a
screenshot. Chromium runs headless with a fresh profile, no sandbox (root in CI), no GPU and none of its
background traffic; the driver listens on a free loopback port and both stop when the context exits.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx2

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element identifier key
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                  "--disable-default-apps", "--mute-audio", "--hide-scrollbars"]


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebDriverError(RuntimeError):
    """The driver answered with an error."""


class Browser:
    """One WebDriver session."""

    def __init__(self, client: httpx2.Client, session: str):
        self.client = client
        self.session = session

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self.client.request(method, f"/session/{self.session}{path}", json=payload)
        value = response.json().get("value")
        if response.status_code >= 400:
            raise WebDriverError(f"{method} {path}: {value}")
        return value

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def run(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body; ``arguments`` holds ``args``) in the page and return its value."""
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return self._call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css: str) -> None:
        self._call("POST", f"/element/{self.find(css)}/click", {})

    def resize(self, width: int, height: int) -> None:
        self._call("POST", "/window/rect", {"width": width, "height": height})

    def console(self) -> list[dict[str, Any]]:
        """The browser's console entries since the last call (chromedriver's log endpoint)."""
        return self._call("POST", "/se/log", {"type": "browser"})

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))
        return path


@contextmanager
def headless_chromium(profile: Path, width: int = 1400, height: int = 1000) -> Iterator[Browser]:
    """A headless Chromium session with a fresh profile in ``profile``; stopped on exit."""
    found = find_browser()
    if found is None:
        raise RuntimeError("chromium and chromedriver are not installed")
    browser_path, driver_path = found
    port = _free_port()
    driver = subprocess.Popen([driver_path, f"--port={port}", "--allowed-ips=127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    session = None
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.get("/status").json()["value"]["ready"]:
                    break
            except (httpx2.HTTPError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start within 20 s")
            time.sleep(0.1)
        options = {"binary": browser_path,
                   "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]}
        answer = client.post("/session", json={"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options, "goog:loggingPrefs": {"browser": "ALL"}}}})
        value = answer.json().get("value") or {}
        if answer.status_code >= 400 or "sessionId" not in value:
            raise WebDriverError(f"no session: {value}")
        session = value["sessionId"]
        yield Browser(client, session)
    finally:
        if session is not None:
            try:
                client.delete(f"/session/{session}")
            except httpx2.HTTPError:
                pass
        client.close()
        driver.terminate()
        try:
            driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver.wait()
