"""Where a model stands in its life, and when it is next due for validation: pure rules.

Nothing here is typed by hand. The state follows the registry and the
sign-offs:

- ``retired``: ``riskops models retire`` took it down and nothing was promoted since;
- ``production``: a version answers production traffic;
- ``validation``: no production version, but a version is in staging or canary,
  or has sign-offs recorded;
- ``development``: versions (or none) that nobody has reviewed yet.

A model's validation is about the version in service: the one serving
production, or, after a rollback to the heuristic, the one a return would
resume (``in_service_version``). Its last validation is the newest of that
version's completed sign-offs and a validator's re-validations of it. It is
due again ``revalidation_months`` (per tier) after that, and overdue the day
after its due date. A version in service never validated (promoted by
break-glass, or before its tier asked for more) or whose latest re-validation
failed is overdue at once. A retired model owes nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

STATES = ("development", "validation", "production", "retired")


@dataclass(frozen=True)
class Validation:
    """One validation of a model: when, of which version, by whom, and how."""

    at: datetime
    version: int
    by: tuple[str, ...]
    kind: str  # "approval" (the sign-offs that put a version live) or "revalidation"

    def as_dict(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "date": self.at.date().isoformat(),
                "version": self.version, "by": list(self.by), "kind": self.kind}


def lifecycle_state(*, production: int | None, staging: int | None, canary: int | None,
                    retired: bool, reviewed_versions: Iterable[int]) -> str:
    """The model's state (one of ``STATES``) from its pointers and sign-offs."""
    if production is not None:
        return "production"
    if retired:
        return "retired"
    if staging is not None or canary is not None or any(True for _ in reviewed_versions):
        return "validation"
    return "development"


def in_service_version(production: int | None, history: list[int]) -> int | None:
    """The version the model's validation is about: production, else the newest entry of
    the production history (what a rollback from the heuristic resumes), else none."""
    if production is not None:
        return production
    return history[-1] if history else None


def last_validation(validations: Iterable[Validation]) -> Validation | None:
    """The newest of ``validations`` (``None`` when there is none)."""
    return max(validations, key=lambda v: v.at, default=None)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's end (31 Jan + 1 = 28/29
    Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def revalidation_due(last: Validation | None, *, months: int | None, live: bool,
                     failed_at: datetime | None = None) -> date | None:
    """The last day the model may run on its current validation.

    ``live``: a version is in service (``in_service_version``). ``None`` when
    nothing is due: no version in service, or a tier without an interval
    (untiered). Never validated, or a re-validation that failed after the last
    validation: due on ``date.min``, i.e. overdue whatever the day.
    """
    if not live or months is None:
        return None
    if last is None or (failed_at is not None and failed_at > last.at):
        return date.min
    return add_months(last.at.date(), months)


def is_overdue(due: date | None, today: date) -> bool:
    """Past its due date: the due day itself is still in time."""
    return due is not None and today > due


def card_status(*, version: int, production: int | None, canary: int | None,
                history: Iterable[int], ever_live: bool, retired: bool,
                has_decisions: bool) -> str:
    """A version's model-card status, in SageMaker's words.

    ``Approved`` while it serves production or stays on the production history
    (a rollback may return to it); ``Archived`` once it left service for good:
    the model is retired, or production was rolled back off it; ``PendingReview``
    while sign-offs are being collected or it runs as a canary; ``Draft`` before
    anyone reviewed it.
    """
    if version == production:
        return "Approved"
    if retired:
        return "Archived"
    if version in set(history):
        return "Approved"
    if ever_live:
        return "Archived"
    if has_decisions or version == canary:
        return "PendingReview"
    return "Draft"
