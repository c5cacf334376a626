"""Checks of policy values read from ``riskops.toml``: numbers in a range, booleans, tables.

Each raises ``InputError`` naming the key, the rule and what to write instead.
"""

from __future__ import annotations

import math
from typing import Any

from riskops.errors import InputError

#: ``key -> (int or float, lowest, highest)``, both ends included.
NumberRules = dict[str, tuple[type, float, float]]


def check_numbers(raw: dict[str, Any], rules: NumberRules, *, where: str) -> dict[str, Any]:
    """``raw`` with each value checked against its rule and cast to its type."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in rules:
            raise InputError(f"{where}.{key}: unknown key; known keys are "
                             f"{', '.join(sorted(rules))}.")
        kind, low, high = rules[key]
        ok = (isinstance(value, int) if kind is int else isinstance(value, int | float)) \
            and not isinstance(value, bool) and math.isfinite(value) and low <= value <= high
        if not ok:
            noun = "an integer" if kind is int else "a number"
            raise InputError(f"{where}.{key} must be {noun} between {low:g} and {high:g}.")
        out[key] = kind(value)
    return out


def check_table(value: Any, where: str, example: str) -> dict[str, Any]:
    """``value`` if it is a TOML table, else ``InputError`` showing ``example``."""
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a table ({example}).")
    return value


def check_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false.")
    return value


def check_choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"{where} must be one of {', '.join(repr(c) for c in choices)}; "
                         f"got {value!r}.")
    return value
