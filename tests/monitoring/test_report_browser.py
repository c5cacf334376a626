"""The HTML reports rendered by a real headless Chromium (Debian's ``chromium``).

Screenshots go to ``$RISKOPS_TEST_ARTIFACTS`` when set (else the test's
temporary folder), to look at. Without Chromium the tests skip and say why;
``.ci/run`` installs it, so CI runs them.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from monitoring_helpers import NOW, generated, insert_predictions, prediction_rows
from report_helpers import compare_document
from report_html import parse

from riskops.config import Workspace
from riskops.monitoring.job import run_model_monitoring
from riskops.monitoring.report import compare_report_html, run_report_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--disable-extensions", "--disable-background-networking"]


@pytest.fixture
def chromium(tmp_path: Path) -> list[str]:
    if CHROMIUM is None:
        reason = ("chromium is not installed: the HTML report was not rendered in a browser "
                  "(apt-get install chromium; .ci/run does it)")
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    profile = tmp_path / "chromium-profile"
    return [CHROMIUM, *FLAGS, f"--user-data-dir={profile}"]


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RISKOPS_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _dump_dom(chromium: list[str], page: Path) -> tuple[str, str]:
    """The DOM after rendering, and Chromium's log (console messages included)."""
    done = subprocess.run([*chromium, "--enable-logging=stderr", "--v=0", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=90,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def _screenshot(chromium: list[str], page: Path, png: Path) -> tuple[int, int]:
    done = subprocess.run([*chromium, f"--screenshot={png}", "--window-size=1280,2000",
                           page.as_uri()], capture_output=True, text=True, timeout=90,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _svg_count(markup: str) -> int:
    return len(parse(markup).iter("svg"))


def test_compare_report_renders_with_every_chart(chromium: list[str], artifacts: Path,
                                                  tmp_path: Path):
    markup = compare_report_html(compare_document())
    page = tmp_path / "compare-report.html"
    page.write_text(markup, encoding="utf-8")

    dom, log = _dump_dom(chromium, page)
    size = _screenshot(chromium, page, artifacts / "compare-report.png")
    shutil.copy(page, artifacts / "compare-report.html")

    rendered = parse(dom)
    # 2 performance charts; per column 1 drift line and 1 or 2 distributions
    assert _svg_count(dom) == _svg_count(markup) >= 2 + 6 * 2
    assert len(rendered.iter("g", cls="point")) == len(parse(markup).iter("g", cls="point"))
    assert rendered.find("section", id="summary").find("table")
    assert size == (1280, 2000)
    assert "Content Security Policy" not in log  # the page needs nothing the policy blocks


def test_the_policy_blocks_a_script_or_fetch_slipped_into_a_report(chromium: list[str],
                                                                   tmp_path: Path):
    markup = compare_report_html(compare_document(chunks=2)).replace(
        "</main>", "<script>document.body.setAttribute('data-ran', 'yes')</script>"
                   '<img src="http://127.0.0.1:9/beacon.png"></main>')
    page = tmp_path / "tampered.html"
    page.write_text(markup, encoding="utf-8")

    dom, log = _dump_dom(chromium, page)

    assert "data-ran" not in parse(dom).find("body").attrs
    assert "Executing inline script violates" in log
    assert "Loading the image 'http://127.0.0.1:9/beacon.png' violates" in log


def test_run_report_renders_with_every_chart(chromium: list[str], artifacts: Path,
                                              tmp_path: Path, workspace: Workspace):
    insert_predictions(workspace, prediction_rows(
        generated(rows=3000, drift_features=("amount", "distance_from_home_km"))))
    markup = run_report_html(run_model_monitoring(workspace, {"now": NOW.isoformat()}))
    page = tmp_path / "run-report.html"
    page.write_text(markup, encoding="utf-8")

    dom, _ = _dump_dom(chromium, page)
    _screenshot(chromium, page, artifacts / "run-report.png")
    shutil.copy(page, artifacts / "run-report.html")

    assert _svg_count(dom) == _svg_count(markup) == 4  # PSI bars + 3 categorical features
    assert len(parse(dom).iter("g", cls="bar")) == 10
