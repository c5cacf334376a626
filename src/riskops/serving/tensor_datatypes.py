"""Which JSON numbers fit a numeric tensor datatype of the Open Inference Protocol.

An integer datatype (``INT8`` .. ``UINT64``) takes JSON integers from
``np.iinfo(dtype).min`` to ``np.iinfo(dtype).max``; a floating-point one
(``FP16``, ``FP32``, ``FP64``) takes JSON numbers, integers too, whose magnitude
is at most ``np.finfo(dtype).max``: NaN and infinity fit none. A boolean is no
number here, and a value written with a fraction or an exponent (a JSON float)
fits no integer datatype, even ``2.0``.

    >>> value_problem(127, "INT8") is None
    True
    >>> value_problem(70000, "FP16")
    'value does not fit FP16 (finite range ±65504); send a value in range or declare FP64'

Problems name the datatype and its range, never the value: risk inputs hold
personal data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: The numpy type of each numeric datatype, widest floating point first.
NUMPY_TYPES: dict[str, type[np.number[Any]]] = {
    "FP64": np.float64, "FP32": np.float32, "FP16": np.float16,
    "INT64": np.int64, "INT32": np.int32, "INT16": np.int16, "INT8": np.int8,
    "UINT64": np.uint64, "UINT32": np.uint32, "UINT16": np.uint16, "UINT8": np.uint8,
}
NUMERIC_DATATYPES = tuple(NUMPY_TYPES)
_NEXT_STEP = "send a value in range or declare FP64"


def datatype_range(datatype: str) -> tuple[int, int] | tuple[float, float]:
    """Smallest and largest value of the numeric ``datatype``.

    Parameters
    ----------
    datatype : str
        One of ``NUMERIC_DATATYPES``, e.g. ``"UINT8"``.

    Returns
    -------
    low, high : int or float
        ``np.iinfo`` bounds as ``int`` for an integer datatype; ``∓np.finfo(dtype).max``
        as ``float`` for a floating-point one.

    Raises
    ------
    ValueError
        If ``datatype`` is not numeric.

    Examples
    --------
    >>> datatype_range("INT16")
    (-32768, 32767)
    >>> datatype_range("FP16")
    (-65504.0, 65504.0)
    """
    kind = NUMPY_TYPES.get(datatype)
    if kind is None:
        raise ValueError(f"datatype {datatype!r} is not numeric; numeric datatypes are "
                         f"{', '.join(NUMERIC_DATATYPES)}.")
    if issubclass(kind, np.integer):
        info = np.iinfo(kind)
        return int(info.min), int(info.max)
    top = float(np.finfo(kind).max)
    return -top, top


def range_text(datatype: str) -> str:
    """``range -128 to 127`` for ``INT8``, ``finite range ±65504`` for ``FP16``."""
    low, high = datatype_range(datatype)
    if isinstance(high, int):
        return f"range {low} to {high}"
    return f"finite range ±{high:.8g}"


def value_problem(value: Any, datatype: str) -> str | None:
    """Why the parsed JSON ``value`` does not fit the numeric ``datatype``; ``None`` if it
    fits. The text names the datatype, its range and the fix, never the value."""
    low, high = datatype_range(datatype)
    integral = isinstance(high, int)
    if isinstance(value, bool) or not isinstance(value, int | float):
        takes = "JSON integers" if integral else "JSON numbers"
        return f"value is not a number; {datatype} takes {takes} ({range_text(datatype)})"
    if integral and not isinstance(value, int):
        return (f"value is not an integer; {datatype} takes JSON integers without a fraction "
                f"or exponent ({range_text(datatype)}); declare FP64 for fractions")
    if isinstance(value, float) and not math.isfinite(value):
        return f"value is NaN or infinite; {datatype} takes finite numbers only"
    if not low <= value <= high:
        return f"value does not fit {datatype} ({range_text(datatype)}); {_NEXT_STEP}"
    return None
