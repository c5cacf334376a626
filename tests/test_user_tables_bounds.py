"""`riskops.user_tables`: numeric bounds, whole numbers and listed categories."""

from __future__ import annotations

import pandas as pd
import pytest

from riskops.errors import InputError
from riskops.user_tables import Column, TableSpec, validate_table

HOUR = Column("hour", "numeric", role="numeric feature", lower_bound=0, upper_bound=23,
              integer=True)
CHANNEL = Column("channel", "category", role="categorical feature", categories=("web", "app"))


def _check(column: Column, values: list) -> pd.Series:
    frame = pd.DataFrame({column.name: values})
    return validate_table(frame, TableSpec((column,)), source="d.csv")[column.name]


def test_values_at_the_bounds_and_empty_cells_are_accepted() -> None:
    checked = _check(HOUR, ["0", "23", "3.0", None])
    assert checked.tolist()[:3] == [0.0, 23.0, 3.0]


@pytest.mark.parametrize(("values", "message"), [
    (["1", "-1"], "is below its lower bound 0 in 1 row (first: -1 at data row 2)"),
    (["24", "23.5"], "is above its upper bound 23 in 2 rows (first: 24 at data row 1)"),
    (["3.5"], "is not a whole number in 1 row (first: 3.5 at data row 1)"),
])
def test_values_beyond_the_bounds_are_refused_with_the_row(values: list, message: str) -> None:
    with pytest.raises(InputError, match=r"^d\.csv: numeric feature 'hour' " + message
                       .replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        _check(HOUR, values)


def test_a_bound_on_typed_numbers_is_checked_too() -> None:
    with pytest.raises(InputError, match="below its lower bound 0"):
        _check(Column("n", "numeric", lower_bound=0), [1.5, -0.25])


def test_categories_outside_the_list_are_refused() -> None:
    assert _check(CHANNEL, ["web", None, "app"]).tolist() == ["web", None, "app"]
    with pytest.raises(InputError, match=r"^d\.csv: categorical feature 'channel' holds "
                                         r"'branch', 'phone' \(first: data row 2\), not among "
                                         r"its categories web, app; "):
        _check(CHANNEL, ["web", "phone", "branch"])


def test_categories_apply_to_never_empty_columns() -> None:
    column = Column("c", "category", allow_empty=False, categories=("a",))
    with pytest.raises(InputError, match="holds 'b'"):
        _check(column, ["a", "b"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "category", "lower_bound": 0}, "only a numeric column takes bounds"),
    ({"kind": "text", "integer": True}, "only a numeric column takes bounds"),
    ({"kind": "numeric", "categories": ("a",)}, "only a category column takes categories"),
])
def test_rules_only_fit_their_kind(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Column("x", **kwargs)
