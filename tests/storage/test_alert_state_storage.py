"""``alert_state`` and idempotent imports, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from storage_helpers import T0, db_url, prediction_row  # noqa: F401

from riskops.storage import db
from riskops.storage.alert_state import load_states, read_states, save_states
from riskops.storage.imports import add_imported
from riskops.storage.predictions import read_window

KEY = ("data_drift", "acme", "fraud", "", "amount", "psi")


def _state(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"firing": False, "breaches": 1, "cleans": 0,
                                 "evaluated_at": T0, "last_value": 0.31, "changed_at": None}
    values.update(overrides)
    return values


def test_states_round_trip_and_update_in_place(db_url: str) -> None:
    other = ("prediction_drift", "acme", "fraud", "region=eu", "score", "psi")
    with db.write_transaction(db_url) as session:
        assert load_states(session, ["fraud"]) == {}
        save_states(session, {KEY: _state(), other: _state(breaches=0, cleans=2)})
    later = T0 + timedelta(days=7)
    with db.write_transaction(db_url) as session:
        states = load_states(session, ["fraud", "unknown"])
        assert states[KEY] == _state() and states[other]["cleans"] == 2
        save_states(session, {KEY: _state(firing=True, breaches=3, evaluated_at=later,
                                          changed_at=later)})
    rows = read_states(db_url)
    assert len(rows) == 2  # updated, not added
    firing = read_states(db_url, firing_only=True)
    assert [(r["feature"], r["breaches"], r["evaluated_at"]) for r in firing] == [
        ("amount", 3, later)]
    assert firing[0]["evaluated_at"].tzinfo is not None


def test_states_of_other_models_are_not_loaded(db_url: str) -> None:
    with db.write_transaction(db_url) as session:
        save_states(session, {KEY: _state(), ("drift", "acme", "deal", "", "x", "psi"): _state()})
    with db.read_session(db_url) as session:
        assert list(load_states(session, ["deal"])) == [("drift", "acme", "deal", "", "x", "psi")]


def test_a_failed_transaction_saves_no_state(db_url: str) -> None:
    with pytest.raises(RuntimeError), db.write_transaction(db_url) as session:
        save_states(session, {KEY: _state()})
        raise RuntimeError("boom")
    assert read_states(db_url) == []


def _outcome(pid: str, label: str) -> dict[str, object]:
    return {"prediction_id": pid, "label": label, "observed_at": T0, "recorded_at": T0,
            "actor": "import"}


def test_importing_twice_adds_nothing_the_second_time(db_url: str) -> None:
    rows = [prediction_row(id=f"imp-{i:032d}", method="imported", route="import")
            for i in range(1200)]
    outcomes = [_outcome(r["id"], "1" if i % 3 == 0 else "0") for i, r in enumerate(rows)]
    first = add_imported(db_url, rows, outcomes)
    assert (first.predictions, first.outcomes) == (1200, 1200)
    again = add_imported(db_url, rows, outcomes)
    assert (again.predictions, again.outcomes) == (0, 0)
    # A corrected label is a new outcome; the newest wins in the monitoring read.
    fixed = add_imported(db_url, rows[:1], [_outcome(rows[0]["id"], "0")])
    assert (fixed.predictions, fixed.outcomes) == (0, 1)
    window = read_window(db_url, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    assert len(window) == 1200
    assert {r["id"]: r["outcome"] for r in window}[rows[0]["id"]] == "0"


def test_a_partly_known_batch_adds_only_the_new_rows(db_url: str) -> None:
    rows = [prediction_row(id=f"imp-{i}") for i in range(10)]
    add_imported(db_url, rows[:4])
    counts = add_imported(db_url, rows, [_outcome(rows[9]["id"], "1")])
    assert (counts.predictions, counts.outcomes) == (6, 1)
