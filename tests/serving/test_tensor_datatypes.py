"""Ranges of the V2 numeric datatypes, against numpy's own limits and casts."""

from __future__ import annotations

import numpy as np
import pytest

from riskops.serving.tensor_datatypes import (
    NUMERIC_DATATYPES,
    datatype_range,
    range_text,
    value_problem,
)

INTEGERS = {"INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
            "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64}
FLOATS = {"FP16": np.float16, "FP32": np.float32, "FP64": np.float64}


def test_every_numeric_datatype_is_an_integer_or_float_type():
    assert set(NUMERIC_DATATYPES) == {*INTEGERS, *FLOATS}


@pytest.mark.parametrize("datatype", list(INTEGERS))
def test_integer_ranges_are_numpy_iinfo(datatype):
    info = np.iinfo(INTEGERS[datatype])
    assert datatype_range(datatype) == (info.min, info.max)
    assert range_text(datatype) == f"range {info.min} to {info.max}"


@pytest.mark.parametrize("datatype", list(FLOATS))
def test_float_ranges_are_numpy_finfo(datatype):
    top = float(np.finfo(FLOATS[datatype]).max)
    assert datatype_range(datatype) == (-top, top)


@pytest.mark.parametrize("datatype", list(INTEGERS))
def test_an_integer_fits_exactly_when_numpy_can_hold_it(datatype):
    low, high = (int(v) for v in (np.iinfo(INTEGERS[datatype]).min,
                                  np.iinfo(INTEGERS[datatype]).max))
    for value in (low - 2, low - 1, low, low + 1, 0, high - 1, high, high + 1, high + 2):
        try:
            np.array(value, dtype=INTEGERS[datatype])
            numpy_holds = True
        except OverflowError:
            numpy_holds = False
        assert (value_problem(value, datatype) is None) == numpy_holds, value


@pytest.mark.parametrize("datatype", list(FLOATS))
def test_a_float_fits_up_to_the_largest_finite_value(datatype):
    top = float(np.finfo(FLOATS[datatype]).max)
    assert value_problem(top, datatype) is None and value_problem(-top, datatype) is None
    with np.errstate(over="ignore"):
        beyond = float(np.nextafter(top, np.inf))
    assert value_problem(beyond, datatype) is not None
    assert value_problem(-beyond, datatype) is not None
    assert value_problem(int(top), datatype) is None  # JSON integers are numbers too
    assert "NaN or infinite" in value_problem(float("nan"), datatype)


def test_problems_name_the_datatype_and_range_never_the_value():
    assert value_problem(70000, "FP16") == ("value does not fit FP16 (finite range ±65504); "
                                            "send a value in range or declare FP64")
    assert value_problem(4111111111111111, "INT32") == (
        "value does not fit INT32 (range -2147483648 to 2147483647); "
        "send a value in range or declare FP64")
    assert "4111" not in value_problem(4111.5, "INT64")


@pytest.mark.parametrize("value", [True, False, "1", None, [1], 2.0, 1.5])
def test_non_integers_fit_no_integer_datatype(value):
    assert value_problem(value, "INT64") is not None


def test_a_non_numeric_datatype_is_named():
    with pytest.raises(ValueError, match="datatype 'BYTES' is not numeric; numeric datatypes "
                                         "are FP64, FP32"):
        datatype_range("BYTES")
