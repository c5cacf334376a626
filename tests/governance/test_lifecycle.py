"""The pure rules of the inventory: states, due dates at their boundaries, tiers, card status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from riskops.errors import InputError
from riskops.governance.lifecycle import (
    Validation,
    add_months,
    card_status,
    is_overdue,
    last_validation,
    lifecycle_state,
    revalidation_due,
)
from riskops.governance.policy import GovernancePolicy, policy_from_dict


def _validation(day: date, kind: str = "approval") -> Validation:
    return Validation(at=datetime(day.year, day.month, day.day, 15, tzinfo=UTC), version=1,
                      by=("ana",), kind=kind)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
       st.integers(min_value=0, max_value=240))
def test_add_months_agrees_with_dateutil(day: date, months: int) -> None:
    """The oracle: dateutil's relativedelta, which clamps to the month's end the same way."""
    assert add_months(day, months) == day + relativedelta(months=months)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2027, 1, 31), 13, date(2028, 2, 29)),   # a leap year
    (date(2026, 11, 30), 3, date(2027, 2, 28)),    # across a year end
    (date(2026, 12, 3), 12, date(2027, 12, 3)),
    (date(2026, 12, 3), 24, date(2028, 12, 3)),
])
def test_add_months_at_month_and_year_ends(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_due_today_is_in_time_and_tomorrow_is_overdue() -> None:
    due = revalidation_due(_validation(date(2025, 12, 3)), months=12, live=True)
    assert due == date(2026, 12, 3)
    assert not is_overdue(due, date(2026, 12, 2))
    assert not is_overdue(due, date(2026, 12, 3))
    assert is_overdue(due, date(2026, 12, 4))


def test_nothing_is_due_for_a_model_not_live_or_untiered() -> None:
    last = _validation(date(2020, 1, 1))
    assert revalidation_due(last, months=12, live=False) is None
    assert revalidation_due(last, months=None, live=True) is None
    assert not is_overdue(None, date(2030, 1, 1))


def test_a_live_model_never_validated_is_overdue_whatever_the_day() -> None:
    due = revalidation_due(None, months=36, live=True)
    assert is_overdue(due, date(2026, 1, 1)) and is_overdue(due, date(1970, 1, 2))


def test_the_newest_validation_counts() -> None:
    old, new = _validation(date(2025, 1, 1)), _validation(date(2026, 1, 1), "revalidation")
    assert last_validation([new, old]) is new
    assert last_validation([]) is None


@pytest.mark.parametrize(("pointers", "retired", "reviewed", "state"), [
    ({}, False, [], "development"),
    ({}, False, [2], "validation"),
    ({"staging": 1}, False, [], "validation"),
    ({"canary": 1}, False, [], "validation"),
    ({"production": 1}, False, [], "production"),
    ({}, True, [1], "retired"),
    ({"production": 2}, True, [], "production"),  # a new promotion brings it back
])
def test_the_state_follows_pointers_and_sign_offs(pointers: dict, retired: bool,
                                                  reviewed: list[int], state: str) -> None:
    found = lifecycle_state(production=pointers.get("production"),
                            staging=pointers.get("staging"), canary=pointers.get("canary"),
                            retired=retired, reviewed_versions=reviewed)
    assert found == state


@pytest.mark.parametrize(("version", "production", "canary", "history", "ever_live",
                          "retired", "decisions", "status"), [
    (1, None, None, [], False, False, False, "Draft"),
    (1, None, None, [], False, False, True, "PendingReview"),
    (2, 1, 2, [1], False, False, False, "PendingReview"),
    (1, 1, None, [1], True, False, True, "Approved"),
    (1, 2, None, [1, 2], True, False, True, "Approved"),   # superseded, rollback may return
    (2, 1, None, [1], True, False, True, "Archived"),      # production rolled back off it
    (1, None, None, [1], True, True, True, "Archived"),
    (3, None, None, [1], False, True, False, "Archived"),
])
def test_card_status_follows_the_version(version: int, production: int | None,
                                         canary: int | None, history: list[int],
                                         ever_live: bool, retired: bool, decisions: bool,
                                         status: str) -> None:
    assert card_status(version=version, production=production, canary=canary,
                       history=history, ever_live=ever_live, retired=retired,
                       has_decisions=decisions) == status


def test_tiers_default_to_the_documented_policy() -> None:
    policy = GovernancePolicy()
    assert policy.roles_for("high") == ("risk_lead", "platform_owner", "validator")
    assert policy.roles_for("medium") == policy.roles_for("low") == policy.approval_roles
    assert policy.roles_for(None) == ("risk_lead", "platform_owner")
    assert [policy.revalidation_months(t) for t in ("high", "medium", "low", None)] == [
        12, 24, 36, None]


def test_tiers_are_configurable() -> None:
    policy = policy_from_dict({"approval_roles": ["risk_lead"], "tiers": {
        "high": {"revalidation_months": 6},
        "low": {"approval_roles": ["platform_owner"], "revalidation_months": 48}}},
        source="riskops.toml")
    assert policy.roles_for("high") == ("risk_lead", "validator")  # the base + validator
    assert policy.roles_for("low") == ("platform_owner",)
    assert policy.revalidation_months("high") == 6 and policy.revalidation_months("medium") == 24


@pytest.mark.parametrize(("tiers", "message"), [
    ({"extreme": {}}, "governance.tiers.extreme: unknown tier"),
    ({"high": 12}, "governance.tiers.high must be a table"),
    ({"high": {"months": 12}}, "governance.tiers.high.months: unknown key"),
    ({"high": {"revalidation_months": 0}}, "revalidation_months must be an integer between 1"),
    ({"high": {"revalidation_months": 12.5}}, "must be an integer"),
    ({"low": {"approval_roles": ["admin"]}}, "'admin' is not a sign-off role"),
    ("high", "must be a table of tiers"),
])
def test_a_bad_tier_policy_names_the_key(tiers: object, message: str) -> None:
    with pytest.raises(InputError, match=None) as caught:
        policy_from_dict({"tiers": tiers}, source="riskops.toml")
    assert message in str(caught.value) and "riskops.toml" in str(caught.value)


def test_validation_times_are_whole_timestamps() -> None:
    v = _validation(date(2026, 3, 1))
    assert v.as_dict()["date"] == "2026-03-01"
    assert datetime.fromisoformat(v.as_dict()["at"]) - v.at == timedelta(0)
