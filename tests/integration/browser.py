"""Debian's headless Chromium, driven over the DevTools protocol: open a page, fill a form,
wait for text, take a screenshot. Enough to look at the Prefect UI the way a person does."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("chromium is not installed: run scripts/setup.sh --for-tests")


class HeadlessChromium:
    def __init__(self, *, width: int = 1400, height: int = 1000) -> None:
        self._profile = Path(tempfile.mkdtemp(prefix="seamline-chromium-"))
        self._process = subprocess.Popen(
            [
                chromium_binary(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--window-size={width},{height}",
                f"--user-data-dir={self._profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self._socket = self._attach()

    def _attach(self) -> ClientConnection:
        marker = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not marker.is_file() or len(marker.read_text().splitlines()) < 2:
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise AssertionError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = marker.read_text().splitlines()[0]
        import httpx

        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(p for p in pages if p.get("type") == "page")
        return connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def text(self) -> str:
        return str(self.evaluate("document.body ? document.body.innerText : ''") or "")

    def wait_for_text(self, *needles: str, timeout_s: float = 60) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.text()
            if all(n in text for n in needles):
                return text
            if time.monotonic() > deadline:
                missing = [n for n in needles if n not in text]
                raise AssertionError(f"not on the page after {timeout_s:.0f} s: {missing}")
            time.sleep(0.5)

    def has_selector(self, selector: str) -> bool:
        return bool(self.evaluate(f"!!document.querySelector({json.dumps(selector)})"))

    def fill(self, selector: str, value: str) -> None:
        """Type ``value`` into an input the way a framework sees typing (an input event)."""
        script = f"""
        (() => {{
          const el = document.querySelector({json.dumps(selector)});
          const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
          setter.call(el, {json.dumps(value)});
          el.dispatchEvent(new Event('input', {{bubbles: true}}));
          el.dispatchEvent(new Event('change', {{bubbles: true}}));
        }})()"""
        self.evaluate(script)

    def press_enter(self, selector: str) -> None:
        script = f"""
        (() => {{
          const el = document.querySelector({json.dumps(selector)});
          const form = el.closest('form');
          if (form) {{ form.requestSubmit(); return; }}
          el.dispatchEvent(new KeyboardEvent('keydown', {{key: 'Enter', bubbles: true}}));
        }})()"""
        self.evaluate(script)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
