"""report.html in a real browser: headless Chromium loads it from file://, offline.

Checks a non-blank screenshot, no console message at all (the page logs nothing, so any
message is an error, a warning or a blocked load) and that the page's script ran to its end.
Skipped, with the reason, where Chromium is not installed (``.ci/run`` installs the Debian
package ``chromium`` when it can).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic_risk import write_risk_run  # noqa: E402

from healthmob.report import write_report  # noqa: E402

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
