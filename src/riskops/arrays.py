"""Checking 1-D samples before maths: one set of rules and messages for metrics and drift.

    scores = float_vector(values, name="scores", unit_interval=True,
                          nonfinite_fix="every row needs a score")
    labels = text_vector(values, name="reference")

Each failure is a ``ValueError`` whose message starts with the sample's name
(``current contains NaN or infinity; ...``), so the caller can say which
input broke which rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["float_vector", "json_safe", "text_vector"]


def float_vector(
    values: Any, *, name: str, finite: bool = True, unit_interval: bool = False,
    nonfinite_fix: str = "drop or fill them first",
) -> np.ndarray:
    """``values`` as a non-empty 1-D float array.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        Numbers; ``None`` becomes NaN.
    name : str
        The sample, as messages call it.
    finite : bool, default=True
        Refuse NaN and infinity (else they are returned as they are).
    unit_interval : bool, default=False
        Refuse values outside [0, 1] (scores, probabilities).
    nonfinite_fix : str
        What to do about NaN or infinity, the end of that message.

    Raises
    ------
    ValueError
        If ``values`` holds something that is not a number, is not 1-D, is
        empty, or breaks ``finite`` or ``unit_interval``; the message names
        ``name``.
    """
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers; convert or drop the other values.") from None
    _check_shape(array, name)
    if finite and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity; {nonfinite_fix}.")
    if unit_interval:
        known = array[~np.isnan(array)]
        if known.size and (known.min() < 0 or known.max() > 1):
            raise ValueError(f"{name} has values outside [0, 1] "
                             f"(min {known.min()}, max {known.max()}).")
    return array


def text_vector(values: Any, *, name: str) -> np.ndarray:
    """``values`` as a non-empty 1-D object array of strings (categories compared as text).

    Raises
    ------
    ValueError
        If ``values`` is not 1-D or is empty; the message names ``name``.
    """
    array = np.asarray(values, dtype=object)
    _check_shape(array, name)
    return np.array([str(v) for v in array], dtype=object)


def _check_shape(array: np.ndarray, name: str) -> None:
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}.")
    if array.size == 0:
        raise ValueError(f"{name} is empty; it needs at least one value.")


def json_safe(value: Any) -> Any:
    """``value`` in plain JSON types: numpy scalars unwrapped, NaN and infinity as ``None``,
    tuples as lists, keys as strings (for reports written with ``allow_nan=False``).

    Examples
    --------
    >>> json_safe({"psi": np.float64(0.25), "ks": float("nan"), 1: (np.int64(3),)})
    {'psi': 0.25, 'ks': None, '1': [3]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
