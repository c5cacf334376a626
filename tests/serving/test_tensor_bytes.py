"""Raw tensor bytes against the encoders of Triton's own client and numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tritonclient.utils import deserialize_bytes_tensor, serialize_byte_tensor

from riskops.serving.tensor_bytes import (
    FIXED_DTYPES,
    TensorBytesError,
    decode_tensor,
    element_count,
    encode_tensor,
)

NUMERIC = [name for name in FIXED_DTYPES if name != "BOOL"]


def _triton_bytes(values: list[str]) -> bytes:
    return serialize_byte_tensor(np.array(values, dtype=np.object_)).item()


@pytest.mark.parametrize("datatype", NUMERIC)
def test_numeric_tensors_decode_as_numpy_reads_them(datatype):
    rng = np.random.default_rng(7)
    dtype = FIXED_DTYPES[datatype]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=9, dtype=dtype, endpoint=True)
        array[:2] = [info.min, info.max]
    else:
        array = (rng.normal(size=9) * 100).astype(dtype)
    raw = array.astype(dtype.newbyteorder("<")).tobytes()
    assert decode_tensor(raw, datatype, 9) == array.tolist()
    assert encode_tensor(array.tolist(), datatype) == raw


def test_bool_tensors_are_one_byte_each():
    assert decode_tensor(b"\x01\x00\x01", "BOOL", 3) == [True, False, True]
    assert encode_tensor([True, False], "BOOL") == b"\x01\x00"


def test_floats_are_little_endian_whatever_the_machine():
    assert decode_tensor(b"\x00\x00\x00\x00\x00\x00\xf8?", "FP64", 1) == [1.5]
    assert decode_tensor(b"\x00\x00\xc0?", "FP32", 1) == [1.5]


def test_nan_decodes_and_is_left_for_validation():
    (value,) = decode_tensor(np.array([np.nan]).tobytes(), "FP64", 1)
    assert math.isnan(value)


@given(st.lists(st.text(max_size=40), max_size=20))
def test_bytes_tensors_round_trip_with_tritons_serializer(values):
    raw = _triton_bytes(values) if values else b""
    assert decode_tensor(raw, "BYTES", len(values)) == values
    assert encode_tensor(values, "BYTES") == raw
    decoded = deserialize_bytes_tensor(encode_tensor(values, "BYTES"))
    assert [v.decode() for v in decoded] == values


def test_an_empty_string_element_is_four_zero_bytes():
    assert decode_tensor(b"\x00\x00\x00\x00", "BYTES", 1) == [""]


@pytest.mark.parametrize(("raw", "count", "reason"), [
    (np.zeros(3).tobytes(), 2, "holds 24 bytes, but 2 FP64 elements take 16"),
    (np.zeros(1).tobytes()[:7], 1, "holds 7 bytes, but 1 FP64 element takes 8"),
    (b"", 1, "holds 0 bytes, but 1 FP64 element takes 8"),
])
def test_a_byte_count_that_is_not_the_shape_is_refused(raw, count, reason):
    with pytest.raises(TensorBytesError, match=reason):
        decode_tensor(raw, "FP64", count)


@pytest.mark.parametrize(("raw", "count", "reason"), [
    (b"\x05\x00\x00\x00abc", 1, "element 0 is cut short: its length prefix says 5 bytes, "
                                "3 remain"),
    (b"\x01\x00\x00\x00a\x01\x00", 2, "element 1 is cut short: its 4-byte length prefix"),
    (b"\x01\x00\x00\x00a\x01\x00\x00\x00b", 1, "more than the 1 BYTES element"),
    (b"\x01\x00\x00\x00a", 2, "holds 1 BYTES element, but its shape says 2"),
    (b"\x02\x00\x00\x00\xff\xfe", 1, "element 0 is not UTF-8 text"),
    (b"\xff\xff\xff\xff", 1, "says 4294967295 bytes, 0 remain"),
])
def test_malformed_bytes_elements_are_refused_by_index(raw, count, reason):
    with pytest.raises(TensorBytesError, match=reason):
        decode_tensor(raw, "BYTES", count)


def test_a_datatype_without_a_binary_form_is_named():
    with pytest.raises(TensorBytesError, match="datatype BF16 has no binary form here"):
        decode_tensor(b"\x00\x00", "BF16", 1)


def test_errors_never_quote_the_content():
    secret = "4111111111111111"
    with pytest.raises(TensorBytesError) as caught:
        decode_tensor(_triton_bytes([secret]) + b"\x01", "BYTES", 1)
    assert secret not in str(caught.value)


@pytest.mark.parametrize(("shape", "count"), [([], 1), ([0], 0), ([3], 3), ([4, 1], 4),
                                              ([2, 3], 6)])
def test_element_count(shape, count):
    assert element_count(shape) == count
