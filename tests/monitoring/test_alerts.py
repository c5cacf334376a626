"""The alert state machine: fire after N breaches in a row, resolve after N clean ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskops.monitoring.alerts import MAX_CONSECUTIVE, AlertState, advance, check_consecutive

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(breaches: list[bool], consecutive: int) -> list[tuple[AlertState, str | None]]:
    state, out = AlertState(), []
    for i, breach in enumerate(breaches):
        state, transition = advance(state, breach=breach, evaluated_at=T0 + timedelta(days=i),
                                    consecutive=consecutive)
        out.append((state, transition))
    return out


def test_fires_on_the_third_breach_in_a_row_and_only_then() -> None:
    steps = run([True, True, True, True, True], 3)
    assert [t for _, t in steps] == [None, None, "fired", None, None]
    assert [s.breaches for s, _ in steps] == [1, 2, 3, 4, 5]
    assert [s.firing for s, _ in steps] == [False, False, True, True, True]


def test_a_clean_evaluation_restarts_the_count() -> None:
    steps = run([True, True, False, True, True, True], 3)
    assert [t for _, t in steps] == [None, None, None, None, None, "fired"]
    assert steps[2][0] == AlertState(False, 0, 1, T0 + timedelta(days=2))


def test_resolves_after_three_clean_evaluations_in_a_row() -> None:
    steps = run([True] * 3 + [False, False, True, False, False, False], 3)
    assert [t for _, t in steps] == [None, None, "fired", None, None, None, None, None,
                                     "resolved"]
    assert steps[-1][0] == AlertState(False, 0, 3, T0 + timedelta(days=8))


def test_consecutive_one_fires_and_resolves_at_once() -> None:
    assert [t for _, t in run([True, False, True], 1)] == ["fired", "resolved", "fired"]


def test_an_evaluation_already_counted_changes_nothing() -> None:
    state, fired = advance(AlertState(), breach=True, evaluated_at=T0, consecutive=1)
    assert fired == "fired"
    for when in (T0, T0 - timedelta(seconds=1)):
        again, transition = advance(state, breach=False, evaluated_at=when, consecutive=1)
        assert again is state and transition is None


@pytest.mark.parametrize("value", [0, -1, MAX_CONSECUTIVE + 1, 2.0, "3", None, True])
def test_consecutive_out_of_range_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"consecutive must be an integer from 1 to 100"):
        check_consecutive(value)
    with pytest.raises(ValueError, match="consecutive must be"):
        advance(AlertState(), breach=True, evaluated_at=T0, consecutive=value)  # type: ignore[arg-type]


def _oracle(breaches: list[bool], n: int) -> list[str | None]:
    """Transitions read off the sequence directly: the i-th evaluation fires when it ends
    a run of exactly n breaches while not firing, resolves likewise on clean ones."""
    firing, out = False, []
    for i in range(len(breaches)):
        window = breaches[max(0, i - n + 1):i + 1]
        if not firing and len(window) == n and all(window):
            firing, transition = True, "fired"
        elif firing and len(window) == n and not any(window):
            firing, transition = False, "resolved"
        else:
            transition = None
        out.append(transition)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.booleans(), max_size=40), st.integers(1, 6))
def test_transitions_match_a_sliding_window_oracle(breaches: list[bool], n: int) -> None:
    steps = run(breaches, n)
    assert [t for _, t in steps] == _oracle(breaches, n)
    fired = [t for _, t in steps if t]
    # Transitions alternate, starting with "fired".
    assert fired == ["fired", "resolved"] * (len(fired) // 2) + ["fired"] * (len(fired) % 2)
    for (state, _), breach in zip(steps, breaches, strict=True):
        assert (state.breaches > 0) == breach and (state.cleans > 0) == (not breach)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-3, 3)), max_size=30), st.integers(1, 4))
def test_replayed_or_older_evaluations_never_count(steps: list[tuple[bool, int]], n: int) -> None:
    """Evaluations at arbitrary (repeated, older) times count as the newer-only subsequence."""
    state, day, newest, counted, transitions = AlertState(), 0, None, [], []
    for breach, jump in steps:
        day += jump
        when = T0 + timedelta(days=day)
        state, transition = advance(state, breach=breach, evaluated_at=when, consecutive=n)
        if newest is None or when > newest:
            newest = when
            counted.append(breach)
            transitions.append(transition)
        else:
            assert transition is None
    assert transitions == _oracle(counted, n)
