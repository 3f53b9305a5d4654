"""The report in a real browser: headless Chromium, driven over the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe`` (NUL-terminated JSON messages on its file
descriptors 3 and 4), so no port, websocket library or extra package is needed. The test checks
that every embedded image decodes, that the slider follows real (trusted) mouse, touch and
keyboard input, and that the page logs no error (a script error, a refused load, a CSP
violation). Skipped where no Chromium is installed (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dasr.report import build_report
from tests.helpers import make_fit_run

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1000", "--remote-debugging-pipe",
)
TIMEOUT_S = 20.0


class Chromium:
    """A headless Chromium and one page of it, spoken to over the DevTools pipe."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # The browser expects the pipe on fds 3 and 4; the shell moves them there in the child.
        command = f'exec "$0" "$@" 3<&{to_browser_read} 4>&{from_browser_write}'
        self._log = open(profile.parent / "chromium.log", "w+b")
        self.process = subprocess.Popen(
            ["bash", "-c", command, binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_browser_read, from_browser_write), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=self._log,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result, keeping the events that arrive meanwhile."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                assert "error" not in reply, (method, reply["error"])
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.send(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.page("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, method: str) -> None:
        while not any(event.get("method") == method for event in self.events):
            self.events.append(self._receive())

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buffer:
            if not select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError(f"Chromium did not answer in {TIMEOUT_S} s; its output: {self.output()}")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise EOFError(f"Chromium closed the DevTools pipe; its output: {self.output()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.process.wait(timeout=10)
        except (OSError, EOFError, TimeoutError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            self._log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    binary = next(filter(None, map(shutil.which, BROWSERS)), None)
    if binary is None:
        pytest.skip(f"no Chromium on PATH (looked for {', '.join(BROWSERS)}); .ci/run installs Debian's chromium")
    chromium = Chromium(binary, tmp_path_factory.mktemp("chromium") / "profile")
    yield chromium
    chromium.close()


def errors(events: list[dict[str, Any]]) -> list[str]:
    """What the page reported as an error: console.error/assert, uncaught exceptions, log entries
    of level error (failed loads, Content-Security-Policy violations)."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"]))
        elif method == "Runtime.exceptionThrown":
            found.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(params["entry"]["text"])
    return found


SLIDER_STATE = """(() => {
  const slider = document.querySelector(".slider"), input = slider.querySelector("input");
  const box = slider.getBoundingClientRect(), handle = slider.querySelector(".handle").getBoundingClientRect();
  return {value: Number(input.value), split: (handle.left + handle.width / 2 - box.left) / box.width,
          left: box.left, top: box.top, width: box.width, height: box.height,
          focused: document.activeElement === input};
})()"""


def test_report_renders_in_chromium_and_its_slider_follows_mouse_touch_and_keys(
    browser: Chromium, tmp_path: Path
) -> None:
    report = build_report(make_fit_run(tmp_path), tmp_path / "report.html")
    for domain in ("Page", "Runtime", "Log"):
        browser.page(f"{domain}.enable")
    browser.page("Page.navigate", {"url": report.as_uri()})
    browser.wait_for("Page.loadEventFired")

    images = browser.evaluate("Array.from(document.images, i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) == 16 and all(complete and width > 0 and height > 0 for complete, width, height in images)
    assert browser.evaluate("document.querySelectorAll('svg.chart').length") >= 10

    browser.evaluate("document.querySelector('.slider').scrollIntoView({block: 'center'})")
    state = browser.evaluate(SLIDER_STATE)
    assert state["value"] == 50 and abs(state["split"] - 0.5) < 0.02
    y = state["top"] + state["height"] / 2

    def x(fraction: float) -> float:
        return state["left"] + fraction * state["width"]

    for kind, where, buttons in (("mousePressed", 0.5, 1), ("mouseMoved", 0.35, 1), ("mouseMoved", 0.2, 1),
                                 ("mouseReleased", 0.2, 0)):
        browser.page("Input.dispatchMouseEvent",
                     {"type": kind, "x": x(where), "y": y, "button": "left", "buttons": buttons, "clickCount": 1})
    dragged = browser.evaluate(SLIDER_STATE)
    assert abs(dragged["value"] - 20) <= 2 and abs(dragged["split"] - dragged["value"] / 100) < 0.02

    for kind, where in (("touchStart", 0.3), ("touchMove", 0.6), ("touchMove", 0.8)):
        browser.page("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x(where), "y": y}]})
    browser.page("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    touched = browser.evaluate(SLIDER_STATE)
    assert abs(touched["value"] - 80) <= 2 and abs(touched["split"] - touched["value"] / 100) < 0.02

    assert touched["focused"]  # dragging focused the range input, as a click does
    for kind in ("rawKeyDown", "keyUp") * 4:
        browser.page("Input.dispatchKeyEvent",
                     {"type": kind, "key": "ArrowLeft", "code": "ArrowLeft", "windowsVirtualKeyCode": 37})
    keyed = browser.evaluate(SLIDER_STATE)
    assert keyed["value"] == touched["value"] - 4 * 0.5 and abs(keyed["split"] - keyed["value"] / 100) < 0.02

    assert errors(browser.events) == []
