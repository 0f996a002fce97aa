"""report.html in a real browser: headless Chromium loads it from file://, offline.

Checks a non-blank screenshot, no console message at all (the page logs nothing, so any
message is an error, a warning or a blocked load), that the page's script ran to its end, and,
over the DevTools protocol (``--remote-debugging-pipe``, no network port), that hovering a
country shows its name and value and that the zoom button zooms. Skipped, with the reason,
where Chromium is not installed (``.ci/run`` installs the Debian package ``chromium`` when
it can).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pytest
from synthetic_risk import write_risk_run

from healthmob.outputs.report import write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0")


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium is not installed (Debian package 'chromium'; .ci/run "
                "installs it when apt-get works): the browser test cannot run here")


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="healthmob-chromium-") as profile:
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=180)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = write_risk_run(tmp_path_factory.mktemp("browser") / "synthetic-run")
    return write_report(run)


def test_report_renders_in_headless_chromium(report, tmp_path):
    import matplotlib.image

    browser = _browser()
    shot = tmp_path / "report.png"
    done = _chromium(browser, "--window-size=1280,1000", f"--screenshot={shot}",
                     report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.is_file(), done.stderr[-2000:]
    assert _console(done.stderr) == []
    image = matplotlib.image.imread(shot)[..., :3]
    assert image.shape[:2] == (1000, 1280)
    assert image.std() > 0.05                                  # not a blank page
    map_area = image[300:800, 40:1240].reshape(-1, 3)          # the map: many colours
    assert len(np.unique((map_area * 255).astype(int), axis=0)) > 8


def test_report_script_runs_without_errors(report):
    browser = _browser()
    done = _chromium(browser, "--virtual-time-budget=5000", "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []
    dom = done.stdout
    assert 'data-ready="1"' in dom                             # the script reached its end
    assert 'class="r"' in dom and "stroke-width:" in dom       # and scaled the corridors


class _DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (the browser
    reads commands on fd 3 and answers on fd 4, messages separated by NUL bytes)."""

    def __init__(self, browser: str, profile: str):
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def wire():  # in the child: the pipe ends become fds 3 and 4
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [browser, *FLAGS[:-2], "--window-size=1280,1000", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=wire,
            pass_fds=(3, 4))
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self.events, self.session = b"", 0, [], None

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self._id, timeout)
        assert "error" not in reply, reply
        return reply.get("result", {})

    def wait(self, match, timeout: float = 60) -> dict:
        end = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if match(message):
                    return message
            ready, _, _ = select.select([self._in], [], [], max(end - time.monotonic(), 0))
            if not ready:
                raise TimeoutError("no answer from the browser over DevTools")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe")
            self._buffer += chunk

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.session = None
            self.call("Browser.close", timeout=10)
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self._in)
            os.close(self._out)


def test_report_hover_and_wheel_zoom_over_devtools(report, tmp_path):
    browser = _browser()
    with tempfile.TemporaryDirectory(prefix="healthmob-chromium-") as profile:
        tools = _DevTools(browser, profile)
        try:
            targets = tools.call("Target.getTargets")["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            tools.session = tools.call("Target.attachToTarget", {
                "targetId": page["targetId"], "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Page"):
                tools.call(f"{domain}.enable")
            tools.call("Page.navigate", {"url": report.as_uri()})
            tools.wait(lambda m: m.get("method") == "Page.loadEventFired")
            assert tools.evaluate("document.documentElement.dataset.ready") == "1"
            x, y = tools.evaluate(
                "(function () { var e = document.querySelector('[data-n=\"Kenya\"]');"
                " e.scrollIntoView({block: 'center'}); var r = e.getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
            tools.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
            tip = tools.evaluate("[document.getElementById('tip').hidden, "
                                 "document.getElementById('tip').innerText]")
            assert tip[0] is False and tip[1].startswith("Kenya\n"), tip
            assert "per 100,000 population per year" in tip[1]
            world = tools.evaluate("document.getElementById('map').getAttribute('viewBox')")
            for _ in range(4):   # scroll up over the map: each step zooms in by 20%
                tools.call("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": x, "y": y,
                                                        "deltaX": 0, "deltaY": -120})
            zoomed = tools.evaluate("document.getElementById('map').getAttribute('viewBox')")
            assert float(zoomed.split()[2]) < float(world.split()[2]) / 2, (world, zoomed)
            shot = tools.call("Page.captureScreenshot", {"format": "png"})["data"]
            (tmp_path / "zoomed.png").write_bytes(base64.b64decode(shot))
            _check_focused_report(tools, report)
            problems = [e["params"] for e in tools.events
                        if e["method"] in ("Runtime.exceptionThrown", "Runtime.consoleAPICalled")
                        or (e["method"] == "Log.entryAdded"
                            and e["params"]["entry"]["level"] in ("error", "warning"))]
            assert problems == []
        finally:
            tools.close()


def _check_focused_report(tools: _DevTools, report) -> None:
    """The report focused on South Africa opens on it, and its country list filters by
    typing (keyboard and touch reach every country, not only hover)."""
    focused = write_report(report.parent, ("ZAF",))
    tools.call("Page.navigate", {"url": focused.as_uri()})
    tools.wait(lambda m: m.get("method") == "Page.loadEventFired")
    assert tools.evaluate("document.documentElement.dataset.ready") == "1"
    assert tools.evaluate("document.querySelector('h1').textContent").startswith(
        "South Africa: arrivals with TB and HIV")
    shown = ("Array.prototype.filter.call(document.getElementById('every').tBodies[0].rows,"
             " function (r) { return !r.hidden; }).length")
    before = tools.evaluate(shown)
    tools.evaluate("(function () { var b = document.querySelector('input[data-filter]');"
                   " b.focus(); b.value = 'keny'; b.dispatchEvent(new Event('input')); })()")
    assert before >= 5 and tools.evaluate(shown) == 1
    shot = tools.call("Page.captureScreenshot", {"format": "png"})["data"]
    image = np.frombuffer(base64.b64decode(shot), dtype=np.uint8)
    assert image.size > 20_000                                 # a page, not a blank frame
