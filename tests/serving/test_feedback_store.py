"""Feedback, outcomes and insights over the inference log (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from serving_helpers_log import make_record
from sqlalchemy import func, select

from riskops.config import Workspace
from riskops.errors import InputError, UnknownPrediction
from riskops.serving.feedback_store import (
    insights,
    prediction_with_feedback,
    record_feedback,
    record_outcomes,
)
from riskops.serving.inference_log import write_predictions
from riskops.storage import db
from riskops.storage.tables import OutcomeRow

NOW = datetime.now(UTC).replace(microsecond=0)


def _days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# --- feedback ---------------------------------------------------------------------


def test_feedback_is_stored_and_returned_with_its_prediction(workspace: Workspace) -> None:
    url = workspace.database_url
    record = make_record(inputs={"amount": 99.0}, reasons=["new device"])
    write_predictions(url, [record])
    stored = record_feedback(url, prediction_id=record.id, actor="token:ana", label="fraud",
                             override=True, severity="high", comment="chargeback filed")
    assert stored["prediction_id"] == record.id and stored["override"] is True
    assert isinstance(stored["id"], int)
    record_feedback(url, prediction_id=record.id, actor="token:bo", label=None)

    view = prediction_with_feedback(url, record.id)
    assert view["prediction_id"] == record.id
    assert view["inputs"] == {"amount": 99.0} and view["reasons"] == ["new device"]
    assert (view["score"], view["label"], view["method"]) == (0.42, "low", "ml")
    assert (view["model_name"], view["model_version"], view["threshold"]) == ("fraud", 1, 0.5)
    assert datetime.fromisoformat(view["created_at"]) == record.created_at
    assert [f["actor"] for f in view["feedback"]] == ["token:ana", "token:bo"]
    first = view["feedback"][0]
    assert (first["label"], first["override"], first["severity"], first["comment"]) == \
        ("fraud", True, "high", "chargeback filed")
    assert view["feedback"][1]["override"] is False
    assert view["outcome"] is None


def test_feedback_on_an_unknown_prediction_is_refused(workspace: Workspace) -> None:
    with pytest.raises(UnknownPrediction, match="no prediction with id nope; use a prediction_id"):
        record_feedback(workspace.database_url, prediction_id="nope", actor="a", label="x")
    with pytest.raises(UnknownPrediction, match="no prediction with id nope"):
        prediction_with_feedback(workspace.database_url, "nope")
    assert issubclass(UnknownPrediction, InputError)


def test_feedback_severity_must_be_known(workspace: Workspace) -> None:
    record = make_record()
    write_predictions(workspace.database_url, [record])
    with pytest.raises(InputError, match="severity 'urgent' is not one of info, low, medium"):
        record_feedback(workspace.database_url, prediction_id=record.id, actor="a",
                        severity="urgent")


# --- outcomes ---------------------------------------------------------------------


def _outcome_count(url: str) -> int:
    with db.get_engine(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(OutcomeRow)).scalar_one())


def test_outcomes_are_stored_and_the_newest_is_shown(workspace: Workspace) -> None:
    url = workspace.database_url
    a, b = make_record(), make_record()
    write_predictions(url, [a, b])
    assert record_outcomes(url, [
        {"prediction_id": a.id, "label": "legit", "observed_at": "2026-03-01T10:00:00Z"},
        {"prediction_id": b.id, "label": "fraud"},
    ], actor="token:ops") == 2
    assert record_outcomes(url, [{"prediction_id": a.id, "label": "fraud",
                                  "observed_at": "2026-03-02T10:00:00"}], actor="token:ops") == 1
    outcome = prediction_with_feedback(url, a.id)["outcome"]
    assert outcome["label"] == "fraud"  # recorded last wins
    assert outcome["observed_at"] == "2026-03-02T10:00:00+00:00"  # no zone means UTC
    assert outcome["actor"] == "token:ops"
    assert prediction_with_feedback(url, b.id)["outcome"]["label"] == "fraud"


def test_outcomes_are_all_or_nothing(workspace: Workspace) -> None:
    url = workspace.database_url
    known = make_record()
    write_predictions(url, [known])
    items = [{"prediction_id": known.id, "label": "fraud"}]
    items += [{"prediction_id": f"missing-{i:02d}", "label": "fraud"} for i in range(12)]
    with pytest.raises(UnknownPrediction) as caught:
        record_outcomes(url, items, actor="token:ops")
    message = str(caught.value)
    assert message.startswith("12 outcomes name unknown predictions: missing-00, missing-01")
    assert "missing-09 and 2 more; nothing was recorded" in message
    assert "missing-10" not in message
    assert caught.value.ids == [f"missing-{i:02d}" for i in range(12)]
    assert _outcome_count(url) == 0


def test_outcome_items_are_checked(workspace: Workspace) -> None:
    url = workspace.database_url
    with pytest.raises(InputError, match=r"outcomes\[0\]\.label must be a non-empty string"):
        record_outcomes(url, [{"prediction_id": "x", "label": ""}], actor="a")
    with pytest.raises(InputError, match=r"outcomes\[1\]\.observed_at is not an ISO 8601"):
        record_outcomes(url, [{"prediction_id": "x", "label": "y"},
                              {"prediction_id": "x", "label": "y", "observed_at": "soon"}],
                        actor="a")
    assert record_outcomes(url, [], actor="a") == 0


def test_many_outcomes_in_one_call(workspace: Workspace) -> None:
    url = workspace.database_url
    records = [make_record() for _ in range(1_200)]  # more than one IN (...) chunk
    write_predictions(url, records)
    items = [{"prediction_id": r.id, "label": "legit"} for r in records]
    assert record_outcomes(url, items, actor="a") == 1_200
    assert _outcome_count(url) == 1_200


# --- insights ---------------------------------------------------------------------


def _seed_insights(url: str) -> dict[str, str]:
    """Tenant a of fraud: 4 predictions in the last 7 days, 1 older; tenant b: 1."""
    records = {
        "p1": make_record(tenant_id="a", model_version=1, created_at=_days_ago(1)),
        "p2": make_record(tenant_id="a", model_version=2, created_at=_days_ago(2)),
        "p3": make_record(tenant_id="a", model_version=2, created_at=_days_ago(3)),
        "p4": make_record(tenant_id="a", method="heuristic", model_name=None,
                          model_version=None, created_at=_days_ago(1)),
        "old": make_record(tenant_id="a", model_version=1, created_at=_days_ago(10)),
        "b1": make_record(tenant_id="b", method="heuristic", model_name=None,
                          model_version=None, created_at=_days_ago(0.5)),
        "s1": make_record(scenario="shortfall", model_name="shortfall", tenant_id="a",
                          created_at=_days_ago(8)),
    }
    write_predictions(url, records.values())
    ids = {name: r.id for name, r in records.items()}
    for name, override, severity in [("p1", True, "critical"), ("p2", False, "low"),
                                     ("p3", True, "critical"), ("old", True, None)]:
        record_feedback(url, prediction_id=ids[name], actor="r", label="x", override=override,
                        severity=severity)
    record_outcomes(url, [{"prediction_id": ids["p1"], "label": "fraud"},
                          {"prediction_id": ids["p2"], "label": "legit"},
                          {"prediction_id": ids["s1"], "label": "short"}], actor="r")
    return ids


def test_insights_per_scenario_and_tenant(workspace: Workspace) -> None:
    _seed_insights(workspace.database_url)
    rows = insights(workspace.database_url, now=datetime.now(UTC) + timedelta(minutes=1))
    assert [(r["scenario"], r["tenant_id"]) for r in rows] == \
        [("fraud", "a"), ("fraud", "b"), ("shortfall", "a")]
    fraud_a, fraud_b, shortfall_a = rows
    # p1..p4 are in the window, "old" (10 days) is not.
    assert (fraud_a["predictions"], fraud_a["ml"], fraud_a["heuristic"]) == (4, 3, 1)
    assert fraud_a["versions"] == [{"model": "fraud", "version": 2, "predictions": 2},
                                   {"model": "fraud", "version": 1, "predictions": 1}]
    # Feedback counts when recorded (all 4 just now, including the one on "old"):
    # overrides on p1, p3 and old -> 3 of 4 = 0.75; critical on p1 and p3.
    assert (fraud_a["feedback"], fraud_a["overrides"], fraud_a["critical_feedback"]) == (4, 3, 2)
    assert fraud_a["override_rate"] == pytest.approx(0.75)
    assert fraud_a["outcomes"] == 2
    assert fraud_a["window_days"] == 7
    assert (fraud_b["predictions"], fraud_b["heuristic"], fraud_b["feedback"]) == (1, 1, 0)
    assert fraud_b["override_rate"] is None and fraud_b["versions"] == []
    # s1 was made 8 days ago; only its outcome falls in the window.
    assert (shortfall_a["predictions"], shortfall_a["outcomes"]) == (0, 1)


def test_insights_window_is_configurable(workspace: Workspace) -> None:
    _seed_insights(workspace.database_url)
    later = datetime.now(UTC) + timedelta(hours=12)
    rows = insights(workspace.database_url, now=later, window_days=2)
    by_key = {(r["scenario"], r["tenant_id"]): r for r in rows}
    # Window (NOW - 1.5 d, NOW + 0.5 d]: p1, p4 and b1, not p2 (2 days old); feedback is in.
    assert by_key[("fraud", "a")]["predictions"] == 2
    assert by_key[("fraud", "a")]["feedback"] == 4
    assert by_key[("fraud", "b")]["predictions"] == 1
    far = insights(workspace.database_url, now=datetime.now(UTC) + timedelta(days=30))
    assert far == []


def test_insights_of_an_empty_log(workspace: Workspace) -> None:
    assert insights(workspace.database_url, now=datetime.now(UTC)) == []
    with pytest.raises(InputError, match="window_days must be a positive integer, got 0"):
        insights(workspace.database_url, now=datetime.now(UTC), window_days=0)
    with pytest.raises(InputError, match="now must be timezone-aware"):
        insights(workspace.database_url, now=datetime(2026, 1, 1))


# --- PostgreSQL --------------------------------------------------------------------


@pytest.mark.postgres
def test_feedback_outcomes_and_insights_on_postgresql(pg_workspace: Workspace) -> None:
    url = pg_workspace.database_url
    ids = _seed_insights(url)
    rows = insights(url, now=datetime.now(UTC) + timedelta(minutes=1))
    fraud_a = rows[0]
    assert (fraud_a["predictions"], fraud_a["feedback"], fraud_a["overrides"]) == (4, 4, 3)
    assert fraud_a["override_rate"] == pytest.approx(0.75)
    assert fraud_a["critical_feedback"] == 2 and fraud_a["outcomes"] == 2
    view = prediction_with_feedback(url, ids["p1"])
    assert view["outcome"]["label"] == "fraud" and len(view["feedback"]) == 1
    with pytest.raises(UnknownPrediction, match="1 outcomes name unknown predictions: zz"):
        record_outcomes(url, [{"prediction_id": ids["p1"], "label": "y"},
                              {"prediction_id": "zz", "label": "y"}], actor="r")
    assert prediction_with_feedback(url, ids["p1"])["outcome"]["label"] == "fraud"
