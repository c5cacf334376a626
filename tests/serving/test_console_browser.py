"""The web console in a real headless Chromium (Debian's ``chromium``, driven by Playwright)
against a real ``riskops serve``: two people sign a version off, one promotes it.

Screenshots go to ``$RISKOPS_TEST_ARTIFACTS`` when set (else the test's temporary
folder). Without Chromium the tests skip and say why; ``.ci/run`` installs it, and
under ``CI`` a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_helpers import console_template, console_tokens, console_ws  # noqa: F401
from serving_helpers_process import Server, serve

from riskops.config import Workspace
from riskops.registry.service import Registry
from riskops.serving.console import CSP

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api")


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RISKOPS_TEST_ARTIFACTS") or tmp_path) / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        reason = ("chromium is not installed: the web console was not tested in a browser "
                  "(apt-get install chromium; .ci/run does it)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def server(console_ws: Workspace, tmp_path: Path) -> Iterator[Server]:
    with serve(console_ws, tmp_path, workers=1) as running:
        yield running


def _sign_in(page, server: Server, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/console")
    page.fill("#token", token)
    page.click("#sign-in-button")
    page.wait_for_selector("#nav:not([hidden])")


def test_two_people_approve_and_one_promotes_in_the_browser(
        browser, server: Server, console_ws: Workspace, console_tokens: dict[str, str],
        tmp_path: Path) -> None:
    shots = _shots(tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    response = page.goto(f"{server.url}/console")
    assert response is not None and response.headers["content-security-policy"] == CSP
    page.screenshot(path=str(shots / "0-sign-in.png"))

    # ana, risk lead: the version waits for both roles; she signs off as risk_lead.
    _sign_in(page, server, console_tokens["ana"])
    assert "ana" in page.inner_text("#who-name")
    page.click("nav button[data-view=approvals]")
    row = page.wait_for_selector("#pending-table tr[data-model=fraud][data-version='1']")
    assert row.query_selector(".missing").inner_text() == "risk_lead, platform_owner"
    row.query_selector("select.role").select_option("risk_lead")
    row.query_selector("input.comment").fill("checked the evaluation report")
    row.query_selector("button.approve").click()
    page.wait_for_selector("#status.ok")
    assert "missing platform_owner" in page.inner_text("#status")
    row = page.wait_for_selector("#pending-table tr[data-model=fraud][data-version='1']")
    assert row.query_selector(".missing").inner_text() == "platform_owner"
    assert row.query_selector("button.approve") is None  # she signed; nothing left for her
    page.screenshot(path=str(shots / "1-ana-approved.png"))
    # A risk lead may not promote: the page offers no button (the server would refuse).
    page.click("nav button[data-view=models]")
    page.click("#models-table tr[data-model=fraud]")
    page.wait_for_selector("#versions-table")
    assert page.query_selector("#versions-table button.promote") is None
    # The token lives in this tab's sessionStorage only: no cookie, nothing in the URL.
    assert context.cookies() == []
    assert console_tokens["ana"] not in page.url
    assert page.evaluate("Object.keys(localStorage).length") == 0

    page.click("#sign-out")
    page.wait_for_selector("#sign-in:not([hidden])")
    assert page.evaluate("sessionStorage.length") == 0

    # ben, platform owner: promoting before his sign-off is refused, with the gate that fails.
    _sign_in(page, server, console_tokens["ben"])
    page.click("#models-table tr[data-model=fraud]")
    page.wait_for_selector("#versions-table tr[data-version='1'] button.promote").click()
    refused = page.wait_for_selector("#status.error:has-text('not promoted')").inner_text()
    assert "approvals: missing platform_owner" in refused
    page.click("#versions-table tr[data-version='1'] button:has-text('Gates')")
    gates = page.wait_for_selector("table.gates")
    assert "FAIL" in gates.inner_text() and "PASS" in gates.inner_text()
    names = [c.inner_text() for c in gates.query_selector_all("tr td:nth-child(2)")]
    assert {"integrity", "bias", "approvals"} <= set(names)
    page.screenshot(path=str(shots / "2-gates-before-sign-off.png"), full_page=True)
    # The second approval is missing until he gives it.
    page.click("nav button[data-view=approvals]")
    row = page.wait_for_selector("#pending-table tr[data-model=fraud][data-version='1']")
    assert "risk_lead by ana" in row.inner_text()
    row.query_selector("button.approve").click()
    page.wait_for_selector("#status.ok:has-text('as platform_owner')")
    assert "complete" in page.inner_text("#status")
    page.wait_for_selector("text=Nothing waits for sign-off.")
    page.screenshot(path=str(shots / "2-ben-approved.png"))

    page.click("nav button[data-view=models]")
    page.click("#models-table tr[data-model=fraud]")
    version = page.wait_for_selector("#versions-table tr[data-version='1']")
    assert "complete: platform_owner by ben, risk_lead by ana" in version.inner_text()
    version.query_selector("button.promote").click()
    page.wait_for_selector("#status.ok:has-text('promoted')")
    assert page.inner_text("#status") == "fraud v1 promoted to production."
    version = page.wait_for_selector("#versions-table tr[data-version='1'] .stage.production")
    assert version.inner_text() == "production"
    page.screenshot(path=str(shots / "3-promoted.png"), full_page=True)

    assert Registry(console_ws).show_model("fraud")["stages"]["production"] == 1
    audit = httpx.get(f"{server.url}/console/api/audit", timeout=10,
                      headers={"Authorization": f"Bearer {console_tokens['ben']}"}).json()
    actions = [(e["action"], e["actor"]) for e in audit["entries"][:4]]
    assert ("model.approved", "ben") in actions and ("model.approved", "ana") in actions
    page.click("nav button[data-view=audit]")
    assert page.wait_for_selector("#audit-verdict.ok").inner_text().startswith("Chain verifies")
    page.screenshot(path=str(shots / "4-audit.png"))
    # The refused promotion's 409 is logged by Chromium; anything else is a bug of the page.
    assert [e for e in errors if "status of 409" not in e] == []


def test_a_wrong_token_is_refused_and_the_page_says_so(
        browser, server: Server, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}/console")
    page.fill("#token", "ro_not-a-real-token")
    page.click("#sign-in-button")
    message = page.wait_for_selector("#sign-in-error:has-text('not accepted')")
    assert "sign in again" in message.inner_text()
    assert page.is_hidden("#nav")
    assert page.evaluate("sessionStorage.length") == 0
    page.screenshot(path=str(_shots(tmp_path) / "5-refused.png"))


def test_a_reviewer_sees_insights_and_charts_but_no_sign_off_controls(
        browser, server: Server, console_ws: Workspace, console_tokens: dict[str, str],
        tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from riskops.storage.monitoring_points import append_points

    start = datetime(2026, 11, 1, tzinfo=UTC)
    for week, psi in enumerate((0.02, 0.05, 0.31, 0.44)):
        append_points(console_ws.database_url, [
            {"tenant_id": "default", "model_id": "fraud", "check_name": "data_drift",
             "feature": "amount", "metric": "psi", "value": psi, "breach": psi > 0.2},
            {"tenant_id": "default", "model_id": "fraud", "check_name": "performance",
             "feature": "", "metric": "brier", "value": 0.1 + week / 100, "breach": False},
        ], ran_at=start + timedelta(weeks=week), window_end=start + timedelta(weeks=week))
    page = browser.new_page()
    _sign_in(page, server, console_tokens["rex"])
    page.click("nav button[data-view=approvals]")
    row = page.wait_for_selector("#pending-table tr[data-model=fraud]")
    assert row.query_selector("button.approve") is None
    page.click("nav button[data-view=monitoring]")
    chart = page.wait_for_selector("figure[data-series='data drift · amount · psi']")
    assert len(chart.query_selector_all("circle")) == 4
    assert len(chart.query_selector_all("circle[fill='#cf222e']")) == 2  # the two breaches
    assert page.query_selector("figure[data-series='performance · brier']") is not None
    page.screenshot(path=str(_shots(tmp_path) / "6-monitoring.png"), full_page=True)
    page.click("nav button[data-view=insights]")
    page.wait_for_selector("#insights-table")


def test_the_author_is_offered_no_sign_off_of_their_own_version(
        browser, server: Server, console_tokens: dict[str, str]) -> None:
    page = browser.new_page()
    _sign_in(page, server, console_tokens["trainer"])  # a risk lead who trained fraud v1
    page.click("nav button[data-view=approvals]")
    row = page.wait_for_selector("#pending-table tr[data-model=fraud][data-version='1']")
    assert "risk_lead" in row.query_selector(".missing").inner_text()
    assert row.query_selector("button.approve") is None  # the server would refuse the author
