"""Retrain eligibility: each condition at its boundary, from the numbers and from the DB."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from gov_helpers import record_bias
from retrain_helpers import (  # noqa: F401  (fixtures)
    add_feedback,
    add_predictions,
    configure,
    gov_template,
    gov_ws,
    live_ws,
    people,
    version_created,
)

from riskops.config import Workspace
from riskops.governance.retrain_eligibility import (
    check_eligibility,
    judge_bias,
    judge_budget,
    judge_labels,
    judge_production,
)

T = datetime(2026, 9, 8, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("count", "passed"), [(24, False), (25, True), (26, True)])
def test_labels_need_at_least_the_minimum(count: int, passed: bool) -> None:
    condition = judge_labels(count, minimum=25, since=T)
    assert condition.passed is passed
    assert condition.numbers["count"] == count and condition.numbers["minimum"] == 25


@pytest.mark.parametrize(("remaining", "passed"), [(0.149, False), (0.15, False), (0.151, True)])
def test_budget_must_be_strictly_above_the_minimum(remaining: float, passed: bool) -> None:
    condition = judge_budget(remaining, minimum=0.15, days=7, requests=2000)
    assert condition.passed is passed
    assert f"{remaining:.1%}" in condition.detail


@pytest.mark.parametrize(("status", "required", "passed"), [
    ("pass", True, True), ("fail", True, False), (None, True, False), (None, False, True)])
def test_bias_needs_a_passing_audit_of_production(status: str | None, required: bool,
                                                  passed: bool) -> None:
    assert judge_bias(status, version=3, required=required).passed is passed


def test_no_production_version_is_named() -> None:
    condition = judge_production("fraud", None)
    assert not condition.passed and "no production version" in condition.detail


def _budget_config(ws: Workspace) -> Workspace:
    # A 50% availability objective: 2000 requests may miss 1000 times, so 851 misses leave
    # 1 - 851/1000 = 14.9% of the budget and 849 leave 15.1%.
    return configure(ws, "[governance.slo]\navailability = 0.5\nlatency = 0.5\n")


@pytest.mark.parametrize(("bad", "passed"), [(851, False), (849, True)])
def test_budget_from_the_inference_log(live_ws: Workspace, bad: int, passed: bool) -> None:
    ws = _budget_config(live_ws)
    now = version_created(ws) + timedelta(days=2)
    add_predictions(ws, now - timedelta(hours=1), 2000 - bad)
    add_predictions(ws, now - timedelta(hours=1), bad, method="heuristic")
    add_predictions(ws, now - timedelta(days=8), 500, method="heuristic")  # outside 7 days
    add_predictions(ws, now - timedelta(hours=1), 300, method="heuristic", route="heuristic")
    budget = next(c for c in check_eligibility(ws, "fraud", now=now).conditions
                  if c.name == "budget")
    assert budget.numbers["requests"] == 2000
    assert budget.numbers["remaining"] == pytest.approx(1 - bad / 1000)
    assert budget.passed is passed


@pytest.mark.parametrize(("labels", "eligible"), [(24, False), (25, True)])
def test_labels_since_the_newest_version(live_ws: Workspace, labels: int,
                                         eligible: bool) -> None:
    record_bias(live_ws, "fraud", 1, "pass")
    trained = version_created(live_ws)
    now = trained + timedelta(days=3)
    ids = add_predictions(live_ws, trained - timedelta(days=1), labels + 10)
    add_feedback(live_ws, ids[:10], trained - timedelta(minutes=1))  # before training
    add_feedback(live_ws, ids[10:], trained + timedelta(hours=1))
    add_feedback(live_ws, ids[10:13], trained + timedelta(hours=2))  # same predictions again
    add_feedback(live_ws, ids[:5], trained + timedelta(hours=2), label=None)  # no label
    result = check_eligibility(live_ws, "fraud", now=now)
    count = next(c for c in result.conditions if c.name == "labels")
    assert count.numbers["count"] == labels
    assert result.eligible is eligible
    assert [c.name for c in result.failed] == ([] if eligible else ["labels"])


def test_without_production_nothing_else_saves_it(gov_ws: Workspace) -> None:
    result = check_eligibility(gov_ws, "fraud", now=datetime.now(UTC))
    assert not result.eligible and "production" in [c.name for c in result.failed]
    assert result.production_version is None


def test_check_command_exit_codes(live_ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    record_bias(live_ws, "fraud", 1, "pass")
    trained = version_created(live_ws)
    now = trained + timedelta(days=1)
    ids = add_predictions(live_ws, trained, 25)
    add_feedback(live_ws, ids, trained + timedelta(minutes=5))
    ok = cli("retrain", "check", "fraud", "--now", now.isoformat(), "--json")
    assert ok.code == 0, ok.err
    body = json.loads(ok.out)
    assert body["eligible"] is True
    assert {c["name"]: c["passed"] for c in body["conditions"]} == {
        "production": True, "bias": True, "budget": True, "labels": True}
    record_bias(live_ws, "fraud", 1, "fail")
    refused = cli("retrain", "check", "fraud", "--now", now.isoformat())
    assert refused.code == 1
    assert "FAIL  bias" in refused.out and "not eligible" in refused.out
    bad = cli("retrain", "check", "fraud", "--now", "soon")
    assert bad.code == 2 and "--now 'soon' is not an ISO 8601 time" in bad.err
    assert "Traceback" not in bad.err
    unknown = cli("retrain", "check", "nosuch")
    assert unknown.code == 2 and "nosuch" in unknown.err
