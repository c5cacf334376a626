"""Alert state: fire after N consecutive breaches, resolve after N clean evaluations.

A check's evaluation is a *breach* when its value is over the threshold. One
breach is noise; an alert *fires* once ``consecutive`` evaluations in a row
breached and *resolves* once ``consecutive`` evaluations in a row were clean.
Events go out on these two transitions only.

An evaluation is identified by the end of the current window it looked at:
one whose end is not newer than the state's last one changes nothing, so
running the job twice on the same data never counts twice.

    state, transition = advance(AlertState(), breach=True, evaluated_at=t1, consecutive=3)
    # AlertState(firing=False, breaches=1, cleans=0, evaluated_at=t1), None
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: Evaluations in a row that fire (breaches) or resolve (clean ones) an alert.
DEFAULT_CONSECUTIVE = 3
#: Largest ``consecutive`` a run accepts.
MAX_CONSECUTIVE = 100

Transition = Literal["fired", "resolved"]


@dataclass(frozen=True)
class AlertState:
    """Where one (check, tenant, model, segment, feature, metric) stands.

    ``breaches`` and ``cleans`` count the current run of breaching and clean
    evaluations (one of them is always 0 after the first evaluation);
    ``evaluated_at`` is the window end of the newest evaluation counted.
    """

    firing: bool = False
    breaches: int = 0
    cleans: int = 0
    evaluated_at: datetime | None = None


def advance(state: AlertState, *, breach: bool, evaluated_at: datetime,
            consecutive: int = DEFAULT_CONSECUTIVE) -> tuple[AlertState, Transition | None]:
    """The state after one evaluation, and the transition it caused (or ``None``).

    Parameters
    ----------
    state : AlertState
        The state before this evaluation.
    breach : bool
        Whether this evaluation was over its threshold.
    evaluated_at : datetime
        End of the current window evaluated; not newer than
        ``state.evaluated_at`` means already counted: ``(state, None)``.
    consecutive : int, default=3
        Breaches in a row that fire; clean evaluations in a row that resolve.

    Returns
    -------
    state : AlertState
    transition : {"fired", "resolved"} or None

    Raises
    ------
    ValueError
        If ``consecutive`` is not an integer from 1 to ``MAX_CONSECUTIVE``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> s, t = advance(AlertState(), breach=True, evaluated_at=datetime(2026, 1, 1, tzinfo=UTC),
    ...                consecutive=1)
    >>> s.firing, s.breaches, t
    (True, 1, 'fired')
    """
    check_consecutive(consecutive)
    if state.evaluated_at is not None and evaluated_at <= state.evaluated_at:
        return state, None
    breaches = state.breaches + 1 if breach else 0
    cleans = 0 if breach else state.cleans + 1
    firing, transition = state.firing, None
    if not firing and breaches >= consecutive:
        firing, transition = True, "fired"
    elif firing and cleans >= consecutive:
        firing, transition = False, "resolved"
    return AlertState(firing, breaches, cleans, evaluated_at), transition


def check_consecutive(value: object, *, name: str = "consecutive") -> int:
    """``value`` if it is an integer from 1 to ``MAX_CONSECUTIVE``, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= MAX_CONSECUTIVE:
        raise ValueError(f"{name} must be an integer from 1 to {MAX_CONSECUTIVE}, "
                         f"got {value!r}.")
    return value
