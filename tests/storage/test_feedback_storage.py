"""storage.feedback: feedback and outcome writes, the prediction detail, insight counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from storage_helpers import T0, db_url, prediction_row  # noqa: F401

from riskops.storage import db
from riskops.storage.feedback import (
    add_feedback,
    add_outcomes,
    insight_counts,
    prediction_detail,
)
from riskops.storage.predictions import insert_predictions


def _count(url: str, table: str) -> int:
    with db.get_engine(url).connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _outcome(pid: str, label: str = "fraud", *, recorded_at: datetime = T0) -> dict[str, Any]:
    return {"prediction_id": pid, "label": label, "observed_at": T0, "recorded_at": recorded_at,
            "actor": "r"}


def _feedback(url: str, pid: str, *, at: datetime = T0, **values: Any) -> int | None:
    fields: dict[str, Any] = {"label": None, "override": False, "severity": None,
                              "comment": None}
    fields.update(values)
    return add_feedback(url, prediction_id=pid, created_at=at, actor="r", **fields)


def test_feedback_on_an_unknown_prediction_stores_nothing(db_url: str) -> None:
    assert _feedback(db_url, "nope") is None
    assert _count(db_url, "feedback") == 0
    row = prediction_row()
    insert_predictions(db_url, [row])
    first = _feedback(db_url, row["id"], label="fraud", override=True, severity="high",
                      comment="checked")
    second = _feedback(db_url, row["id"])
    assert isinstance(first, int) and isinstance(second, int) and second > first


def test_outcomes_are_all_or_nothing_over_many_chunks(db_url: str) -> None:
    rows = [prediction_row() for _ in range(1200)]  # more than two IN (...) chunks
    insert_predictions(db_url, rows)
    assert add_outcomes(db_url, []) == []
    outcomes = [_outcome(r["id"]) for r in rows]
    unknown = [_outcome("zz"), _outcome("aa"), _outcome("zz")]
    assert add_outcomes(db_url, [*outcomes, *unknown]) == ["zz", "aa"]
    assert _count(db_url, "outcomes") == 0
    assert add_outcomes(db_url, [*outcomes, outcomes[0]]) == []
    assert _count(db_url, "outcomes") == 1201


def test_prediction_detail_holds_feedback_oldest_first_and_the_newest_outcome(
    db_url: str,
) -> None:
    row = prediction_row()
    insert_predictions(db_url, [row])
    assert prediction_detail(db_url, "nope") is None
    empty = prediction_detail(db_url, row["id"])
    assert empty is not None and (empty.feedback, empty.outcome) == ([], None)
    assert {k: empty.prediction[k] for k in row} == row
    later = _feedback(db_url, row["id"], at=T0 + timedelta(minutes=1), comment="later")
    earlier = _feedback(db_url, row["id"], at=T0, comment="earlier")
    add_outcomes(db_url, [_outcome(row["id"], "old", recorded_at=T0),
                          _outcome(row["id"], "tie-1", recorded_at=T0 + timedelta(hours=1)),
                          _outcome(row["id"], "tie-2", recorded_at=T0 + timedelta(hours=1))])
    detail = prediction_detail(db_url, row["id"])
    assert detail is not None
    assert [(f["id"], f["comment"]) for f in detail.feedback] == [(earlier, "earlier"),
                                                                  (later, "later")]
    assert detail.outcome is not None
    assert (detail.outcome["label"], detail.outcome["recorded_at"]) == (
        "tie-2", T0 + timedelta(hours=1))  # the same time: the higher id wins


def test_insight_counts_of_the_window_since_until(db_url: str) -> None:
    since, until = T0, T0 + timedelta(days=1)
    old = prediction_row(T0 - timedelta(days=3))
    ml = prediction_row(until)  # until is inside, since is not
    acme = prediction_row(T0 + timedelta(hours=1), tenant_id="acme", method="heuristic",
                model_name=None, model_version=None)
    insert_predictions(db_url, [old, ml, acme, prediction_row(since)])
    # Feedback and outcomes count by when they were recorded, not by the prediction's age.
    _feedback(db_url, old["id"], at=T0 + timedelta(hours=2), override=True,
              severity="critical")
    _feedback(db_url, old["id"], at=T0 + timedelta(hours=3))
    _feedback(db_url, ml["id"], at=T0 - timedelta(hours=1), override=True)  # before the window
    add_outcomes(db_url, [_outcome(old["id"], recorded_at=until),
                          _outcome(acme["id"], recorded_at=since)])
    counts = insight_counts(db_url, since=since, until=until)
    assert sorted(counts.served, key=str) == sorted([
        ("fraud", "default", "ml", "fraud", 1, 1),
        ("fraud", "acme", "heuristic", None, None, 1),
    ], key=str)
    ((scenario, tenant, count, overrides, critical),) = counts.reviewed
    assert (scenario, tenant, count, int(overrides), int(critical)) == (
        "fraud", "default", 2, 1, 1)
    assert counts.observed == [("fraud", "default", 1)]
    empty = insight_counts(db_url, since=until, until=until + timedelta(days=1))
    assert (empty.served, empty.reviewed, empty.observed) == ([], [], [])
