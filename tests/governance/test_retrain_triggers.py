"""Retrain triggers: schedules at month, quarter and year boundaries, sustained drift,
override rate, each firing once; calendar and hand counts as the oracle."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from retrain_helpers import (  # noqa: F401  (fixtures)
    add_alert,
    add_feedback,
    add_predictions,
    events_of,
    gov_template,
    gov_ws,
    live_ws,
    people,
)

from riskops.config import Workspace
from riskops.governance.retrain_triggers import (
    SCHEDULE_GRACE,
    drift_episode,
    drift_sustained,
    due_slot,
    evaluate_triggers,
    override_breached,
)
from riskops.jobs.cron import parse_schedule
from riskops.storage import rule_firings


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    days = [d for d in calendar.Calendar().itermonthdates(year, month)
            if d.month == month and d.weekday() == weekday]
    return days[n - 1]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def test_second_tuesday_when_the_first_is_a_tuesday() -> None:
    assert date(2026, 9, 1).weekday() == calendar.TUESDAY
    second = nth_weekday(2026, 9, calendar.TUESDAY, 2)
    assert second == date(2026, 9, 8)
    schedule = parse_schedule("0 2 * * 2#2", job="t")
    slot = at(second, 2)
    assert due_slot(schedule, now=slot, first_seen=slot) == slot
    before = due_slot(schedule, now=slot - timedelta(minutes=1), first_seen=date_time(2026, 1))
    assert before == at(nth_weekday(2026, 8, calendar.TUESDAY, 2), 2)
    # The 1st (a Tuesday) is the first Tuesday, not the second.
    assert due_slot(schedule, now=at(date(2026, 9, 1), 3), first_seen=date_time(2026, 1)) \
        == at(nth_weekday(2026, 8, calendar.TUESDAY, 2), 2)


def date_time(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def test_first_monday_of_a_quarter_across_the_year_boundary() -> None:
    schedule = parse_schedule("0 9 * 1,4,7,10 1#1", job="t")
    january = at(nth_weekday(2027, 1, calendar.MONDAY, 1), 9)
    october = at(nth_weekday(2026, 10, calendar.MONDAY, 1), 9)
    assert schedule.latest_due(january) == january
    assert schedule.latest_due(january - timedelta(minutes=1)) == october
    assert schedule.latest_due(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == october
    assert schedule.next_after(october) == january


@pytest.mark.parametrize(("year", "month"), [(2026, 8), (2026, 3), (2026, 9)])
def test_first_business_day(year: int, month: int) -> None:
    # 1 Aug 2026 is a Saturday, 1 Mar 2026 a Sunday, 1 Sep 2026 a Tuesday.
    first = next(date(year, month, d) for d in range(1, 8)
                 if date(year, month, d).weekday() < 5)
    schedule = parse_schedule("0 9 1W * *", job="t")
    end = date(year, month, calendar.monthrange(year, month)[1])
    assert schedule.latest_due(at(end, 23)) == at(first, 9)


def test_a_slot_before_the_schedule_was_first_seen_does_not_fire() -> None:
    schedule = parse_schedule("0 2 * * 2#2", job="t")
    slot = at(date(2026, 9, 8), 2)
    assert due_slot(schedule, now=slot + timedelta(days=3), first_seen=slot + SCHEDULE_GRACE) \
        == slot
    assert due_slot(schedule, now=slot + timedelta(days=3),
                    first_seen=slot + SCHEDULE_GRACE + timedelta(seconds=1)) is None


@pytest.mark.parametrize(("elapsed", "fires"), [
    (timedelta(hours=23, minutes=59), False), (timedelta(hours=24), True),
    (timedelta(hours=30), True)])
def test_drift_sustained_for_24_hours(elapsed: timedelta, fires: bool) -> None:
    now = datetime(2026, 9, 8, 12, tzinfo=UTC)
    assert drift_sustained(now - elapsed, now=now, hours=24) is fires
    assert drift_sustained(None, now=now, hours=24) is False


def test_drift_episode_keeps_its_start_while_alerts_keep_firing() -> None:
    t = datetime(2026, 9, 8, tzinfo=UTC)
    assert drift_episode(None, []) is None
    assert drift_episode(None, [t + timedelta(hours=2), t]) == t
    kept = {"since": t, "evaluated_at": t + timedelta(hours=5)}
    assert drift_episode(kept, [t + timedelta(hours=4)]) == t  # another alert took over
    assert drift_episode(kept, [t + timedelta(hours=6)]) == t + timedelta(hours=6)  # new one


@pytest.mark.parametrize(("reviews", "overrides", "fires"), [
    (100, 30, False),  # exactly 30%: not over
    (100, 31, True),
    (20, 6, False),  # 30.0%
    (20, 7, True),  # 35%, and 20 reviews is the minimum
    (19, 19, False),  # under the minimum count
    (0, 0, False)])
def test_override_rate_over_the_maximum_with_a_minimum_count(reviews: int, overrides: int,
                                                             fires: bool) -> None:
    assert override_breached(reviews, overrides, max_rate=0.30, min_reviews=20) is fires


@pytest.mark.parametrize(("age", "fires"), [(timedelta(hours=23, minutes=59), False),
                                            (timedelta(hours=24), True)])
def test_drift_alert_in_the_db_fires_once(live_ws: Workspace, age: timedelta,
                                          fires: bool) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    add_alert(live_ws, model="fraud", changed_at=now - age, evaluated_at=now - timedelta(hours=1))
    add_alert(live_ws, model="fraud", changed_at=now - timedelta(days=5),
              evaluated_at=now - timedelta(hours=1), check="performance", feature="")
    add_alert(live_ws, model="fraud", changed_at=now - timedelta(days=5), firing=False,
              evaluated_at=now - timedelta(hours=1), feature="channel")
    result = evaluate_triggers(live_ws, now=now, models=["fraud"])
    drift = result["models"][0]["rules"]["drift"]
    assert drift["alerts"] == 1 and drift["fires"] is fires
    fired = [f for f in result["models"][0]["firings"] if f["rule"] == "drift"]
    assert len(fired) == int(fires)
    events = events_of(live_ws, "ml.retrain.triggered")
    assert len(events) == int(fires)
    if fires:
        # fraud v1 has no bias audit and no new labels: the event says so; nothing trains.
        event = events[0]
        assert event["modelId"] == "fraud" and event["rule"] == "drift"
        assert event["eligible"] is False and set(event["failed"]) == {"bias", "labels"}
        assert {c["name"] for c in event["conditions"]} == {
            "production", "bias", "budget", "labels"}
        assert fired[0]["status"] == "not-eligible"
        # Evaluated again (another scheduler, the next run): the same episode fires no more.
        again = evaluate_triggers(live_ws, now=now + timedelta(minutes=15), models=["fraud"])
        assert [f["state"] for f in again["models"][0]["firings"]] == ["already-fired"]
        assert len(events_of(live_ws, "ml.retrain.triggered")) == 1
        rows = rule_firings.firings(live_ws.database_url, kind="retrain", model="fraud")
        assert [r["status"] for r in rows] == ["not-eligible"]
        from riskops.registry.service import Registry
        assert [v["version"] for v in Registry(live_ws).show_model("fraud")["versions"]] == [1]


@pytest.mark.parametrize(("overrides", "fires"), [(6, False), (7, True)])
def test_override_rate_in_the_db(live_ws: Workspace, overrides: int, fires: bool) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = add_predictions(live_ws, now - timedelta(days=10), 25)
    add_feedback(live_ws, ids[:overrides], now - timedelta(days=6), override=True)
    add_feedback(live_ws, ids[overrides:20], now - timedelta(days=6), override=False)
    add_feedback(live_ws, ids[20:], now - timedelta(days=8), override=True)  # outside 7 days
    result = evaluate_triggers(live_ws, now=now, models=["fraud"], act=False)
    override = result["models"][0]["rules"]["override"]
    assert (override["reviews"], override["overrides"]) == (20, overrides)
    assert override["rate"] == pytest.approx(overrides / 20)
    assert override["fires"] is fires
    assert events_of(live_ws, "ml.retrain.triggered") == []  # act=False writes nothing


def test_disabled_model_is_not_evaluated(live_ws: Workspace) -> None:
    from retrain_helpers import configure

    ws = configure(live_ws, "[governance.retrain.models.fraud]\nenabled = false\n")
    result = evaluate_triggers(ws, now=datetime.now(UTC))
    assert result["models"] == [{"model": "fraud", "enabled": False, "rules": {},
                                 "firings": []}]


def test_triggers_command(live_ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)
    add_alert(live_ws, model="fraud", changed_at=now - timedelta(hours=25), evaluated_at=now)
    dry = cli("retrain", "triggers", "--now", now.isoformat(), "--dry-run", "--json")
    assert dry.code == 0, dry.err
    (entry,) = json.loads(dry.out)["models"]
    assert [f["state"] for f in entry["firings"]] == ["new"]
    assert events_of(live_ws, "ml.retrain.triggered") == []
    real = cli("retrain", "triggers", "--now", now.isoformat())
    assert real.code == 0, real.err
    assert "fired drift" in real.out and "[not-eligible]" in real.out
    assert "failed: bias, labels" in real.out
    bad = cli("retrain", "triggers", "--now", "yesterday")
    assert bad.code == 2 and "Traceback" not in bad.err
    job = cli("jobs", "run", "retrain-triggers", "--metadata", '{"now": "later"}')
    assert job.code == 1 and "metadata now 'later' is not an ISO 8601 time" in job.err
