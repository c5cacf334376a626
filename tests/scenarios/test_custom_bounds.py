"""Custom scenarios: ``[bounds]`` and ``[categories]`` in the config, and the data they refuse."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskops.errors import InputError
from riskops.scenarios.custom import CustomScenario, load_custom_scenario

BASE = """\
[scenario]
name = "claims"

[features]
numeric = ["amount", "hour"]
categorical = ["channel"]
text = ["notes"]
"""
RULES = """\
[bounds]
amount = { min = 0 }
hour = { min = 0, max = 23, integer = true }

[categories]
channel = ["web", "branch"]
"""


def _load(tmp_path: Path, text: str) -> CustomScenario:
    path = tmp_path / "claims.toml"
    path.write_text(text)
    return load_custom_scenario(path, name="claims")


def _frame(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": [f"c{i}" for i in range(rows)],
        "timestamp": "2024-01-01T00:00:00Z",
        "amount": rng.uniform(0, 100, rows).round(2),
        "hour": rng.integers(0, 24, rows),
        "channel": rng.choice(["web", "branch"], rows),
        "notes": "routine",
        "label": np.arange(rows) % 2,
    })


def test_bounds_and_categories_reach_the_features(tmp_path: Path) -> None:
    schema = _load(tmp_path, BASE + RULES).schema
    hour, amount, channel = (schema.feature(n) for n in ("hour", "amount", "channel"))
    assert (hour.lower_bound, hour.upper_bound, hour.integer) == (0, 23, True)
    assert (amount.lower_bound, amount.upper_bound, amount.integer) == (0, None, False)
    assert channel.categories == ("web", "branch")


def test_without_the_sections_features_are_unbounded(tmp_path: Path) -> None:
    schema = _load(tmp_path, BASE).schema
    assert all(f.lower_bound is None and f.upper_bound is None and not f.integer
               and f.categories is None for f in schema.features)


def test_data_inside_the_bounds_is_prepared(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[0, ["amount", "hour"]] = [0.0, 23]  # exactly at the bounds
    out = _load(tmp_path, BASE + RULES).prepare(frame, source="d.csv")
    assert len(out) == 300


@pytest.mark.parametrize(("column", "value", "message"), [
    ("amount", -5.0, "numeric feature 'amount' is below its lower bound 0 in 1 row "
                     r"\(first: -5 at data row 4\)"),
    ("hour", 27, r"numeric feature 'hour' is above its upper bound 23 in 1 row \(first: 27 "),
    ("hour", 3.5, "numeric feature 'hour' is not a whole number in 1 row"),
    ("channel", "phone", r"categorical feature 'channel' holds 'phone' \(first: data row 4\), "
                         "not among its categories web, branch"),
])
def test_data_outside_the_bounds_is_refused_with_the_row(
        tmp_path: Path, column: str, value: object, message: str) -> None:
    frame = _frame()
    if column == "hour":
        frame["hour"] = frame["hour"].astype(float)
    frame.loc[3, column] = value
    with pytest.raises(InputError, match=r"^d\.csv: " + message):
        _load(tmp_path, BASE + RULES).prepare(frame, source="d.csv")


@pytest.mark.parametrize(("section", "message"), [
    ('[bounds]\nprice = { min = 0 }',
     r"bounds\.price: 'price' is not a feature \('amount', 'hour', 'channel', 'notes'\); "
     "fix the name or list it under \\[features\\]"),
    ('[bounds]\nchannel = { min = 0 }',
     r"bounds\.channel: \[bounds\] applies to numeric features and 'channel' is categorical; "
     r"list its values under \[categories\]"),
    ('[bounds]\nnotes = { max = 3 }', r"bounds\.notes: .* is text; drop it \(text features take "
                                      r"neither\)\.$"),
    ('[bounds]\namount = { min = 10, max = 1 }',
     r"bounds\.amount: min 10 is greater than max 1; swap them"),
    ('[bounds]\namount = { min = inf }', r"bounds\.amount: min must be a finite number, not inf"),
    ('[bounds]\namount = { max = nan }', r"bounds\.amount: max must be a finite number"),
    ('[bounds]\namount = { min = "0" }', r"bounds\.amount: min must be a finite number"),
    ('[bounds]\namount = { min = true }', r"bounds\.amount: min must be a finite number"),
    ('[bounds]\namount = { integer = 1 }', r"bounds\.amount: integer must be true or false"),
    ('[bounds]\namount = { minimum = 0 }',
     r"bounds\.amount: unknown key 'minimum'; known keys are min, max, integer"),
    ('[bounds]\namount = 0', r"bounds\.amount must be a table like \{ min = 0"),
    ('[bounds]\namount = {}', r"bounds\.amount must be a table like"),
    ('[categories]\nchannel = []', r"categories\.channel is empty; list the values"),
    ('[categories]\nchannel = ["web", "web"]', r"categories\.channel lists 'web' twice"),
    ('[categories]\nchannel = ["web", 1]', r"categories\.channel must be a list of non-empty "
                                           "strings"),
    ('[categories]\nchannel = ["web", " "]', r"categories\.channel must be a list"),
    ('[categories]\nchannel = "web"', r"categories\.channel must be a list"),
    ('[categories]\nchannel = ["a\\nb"]', r"categories\.channel: values must be printable"),
    ('[categories]\nhour = ["1"]',
     r"categories\.hour: \[categories\] applies to categorical features and 'hour' is "
     r"numeric; bound it under \[bounds\]"),
    ('[categories]\nregion = ["a"]', r"categories\.region: 'region' is not a feature"),
    ('[bounds]\n[bounds.amount]\nmin = 0\n[bounds.hour]\nmax = -1\nmin = 0',
     r"bounds\.hour: min 0 is greater than max -1"),
])
def test_config_errors_name_the_file_the_key_and_the_fix(
        tmp_path: Path, section: str, message: str) -> None:
    where = re.escape(str(tmp_path / "claims.toml"))
    with pytest.raises(InputError, match=rf"^{where}: {message}") as info:
        _load(tmp_path, BASE + section + "\n")
    assert "\n" not in str(info.value)
