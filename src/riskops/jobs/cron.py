"""Cron schedules: validation, next and latest-due slots, in a time zone.

Five fields, ``minute hour day-of-month month day-of-week``, parsed by
croniter, plus the ``@hourly``, ``@daily``/``@midnight``, ``@weekly``,
``@monthly`` and ``@yearly``/``@annually`` shorthands. Beyond classic cron::

    0 2 * * 2#2          second Tuesday of every month, 02:00
    0 9 * 1,4,7,10 1#1   first Monday of each quarter, 09:00
    0 23 L * *           last day of every month, 23:00
    0 18 * * L5          last Friday of every month, 18:00
    0 9 1W * *           first business day (Mon-Fri) of every month, 09:00

Day-of-month and day-of-week are ANDed (croniter ``day_or=False``): a slot
must match both. Classic cron ORs them when both are restricted, so
``0 9 1-7 * 1`` here means "the Monday among the 1st-7th" (the first Monday),
where Vixie cron would fire on each of the 1st-7th and on every Monday.
Expressions that restrict only one of the two fields behave as in classic cron.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from riskops.errors import InputError

SHORTHANDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_EXAMPLE = "e.g. '0 6 * * 0' (Sundays 06:00) or '0 2 * * 2#2' (second Tuesday 02:00)"


@dataclass(frozen=True)
class Schedule:
    """A validated cron expression in a time zone.

    Slots are computed on the wall clock of ``timezone`` and returned as aware
    UTC datetimes. A wall-clock time skipped by a daylight-saving jump fires at
    the first valid minute after it; a repeated hour fires once.
    """

    expression: str
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment`` (aware), in UTC."""
        it = croniter(self._fields(), _aware(moment).astimezone(self.zone), day_or=False)
        while True:
            slot = it.get_next(datetime)
            if not self._repeated(slot):
                return slot.astimezone(UTC)

    def latest_due(self, now: datetime) -> datetime:
        """The newest slot at or before ``now`` (aware), in UTC."""
        # croniter's get_prev is strict; start one second later so a slot at
        # exactly ``now`` counts as due (slots fall on whole minutes).
        start = _aware(now).astimezone(self.zone) + timedelta(seconds=1)
        it = croniter(self._fields(), start.replace(microsecond=0), day_or=False)
        while True:
            slot = it.get_prev(datetime)
            if not self._repeated(slot):
                return slot.astimezone(UTC)

    def _repeated(self, slot: datetime) -> bool:
        """True for the second occurrence of a wall-clock time repeated when clocks go back."""
        wall = slot.astimezone(self.zone).replace(tzinfo=None)
        return wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC) != slot.astimezone(UTC)

    def slots(self, start: datetime, end: datetime) -> list[datetime]:
        """Every slot in ``(start, end]``, oldest first, in UTC."""
        found: list[datetime] = []
        moment = start
        while True:
            moment = self.next_after(moment)
            if moment > end:
                return found
            found.append(moment)

    def _fields(self) -> str:
        return SHORTHANDS.get(self.expression, self.expression)

    def __str__(self) -> str:
        return self.expression if self.timezone == "UTC" else f"{self.expression} ({self.timezone})"


def parse_schedule(expression: object, timezone: object = "UTC", *, job: str = "",
                   where: str | None = None) -> Schedule:
    """Validate a cron ``expression`` and ``timezone`` for ``job`` (errors start
    ``job NAME:``), or for the config key ``where`` (errors start with it).

    Raises
    ------
    InputError
        Naming the job, the rule and the expected form: not a string, not five
        fields, a field croniter rejects, an expression that never fires (such
        as ``0 0 30 2 *``), or an unknown IANA time zone.

    Examples
    --------
    >>> parse_schedule("0 2 * * 2#2", job="retrain").next_after(datetime(2026, 1, 1, tzinfo=UTC))
    datetime.datetime(2026, 1, 13, 2, 0, tzinfo=datetime.timezone.utc)
    """
    label = where or f"job {job}"
    if not isinstance(expression, str) or not expression.strip():
        raise InputError(f"{label}: the schedule must be a cron expression string, "
                         f"{_EXAMPLE}; got {expression!r}.")
    text = " ".join(expression.split())
    zone = check_timezone(timezone, job=job, where=where)
    if text.startswith("@"):
        if text.lower() not in SHORTHANDS:
            raise InputError(f"{label}: schedule {text!r} is not a known shorthand; use one "
                             f"of {', '.join(SHORTHANDS)} or five cron fields, {_EXAMPLE}.")
        text = text.lower()
    else:
        fields = text.split(" ")
        if len(fields) != 5:
            raise InputError(
                f"{label}: schedule {text!r} has {len(fields)} fields; riskops takes five "
                f"(minute hour day-of-month month day-of-week), {_EXAMPLE}.")
    schedule = Schedule(text, zone)
    try:
        schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))
    except CroniterBadDateError:
        raise InputError(f"{label}: schedule {text!r} never fires (no date matches every "
                         "field, e.g. February 30th); fix the day or month fields.") from None
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise InputError(f"{label}: schedule {text!r} is not a valid cron expression "
                         f"({_reason(exc)}); {_EXAMPLE}.") from None
    return schedule


def check_timezone(timezone: object, *, job: str = "", where: str | None = None) -> str:
    """``timezone`` if it names an IANA zone (``UTC``, ``Europe/Berlin``), else InputError
    naming ``job`` (or the config key ``where``)."""
    label = where or f"job {job}"
    if not isinstance(timezone, str) or not timezone.strip():
        raise InputError(f"{label}: timezone must be an IANA zone name such as 'UTC' or "
                         f"'Europe/Berlin'; got {timezone!r}.")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{label}: timezone {timezone!r} is not a known IANA zone; use "
                         "e.g. 'UTC', 'Europe/Berlin' or 'America/New_York'.") from None
    return timezone


def first_business_day(year: int, month: int, holidays: Iterable[date] = ()) -> date:
    """The first Monday-Friday of ``month`` that is not in ``holidays``.

    Without holidays this is the day the cron field ``1W`` fires on.

    >>> first_business_day(2026, 8)       # 1 August 2026 is a Saturday
    datetime.date(2026, 8, 3)
    >>> first_business_day(2026, 1, holidays=[date(2026, 1, 1)])
    datetime.date(2026, 1, 2)
    """
    closed = set(holidays)
    for day in range(1, calendar.monthrange(year, month)[1] + 1):
        candidate = date(year, month, day)
        if candidate.weekday() < 5 and candidate not in closed:
            return candidate
    raise ValueError(f"{year}-{month:02d} has no business day outside the given holidays")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware (e.g. datetime.now(UTC))")
    return moment


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.rstrip(".")
