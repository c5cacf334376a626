"""Tensor elements as raw bytes, as the Open Inference Protocol sends them.

The binary tensor data extension over HTTP (``binary_data_size``) and gRPC's
``raw_input_contents`` / ``raw_output_contents`` carry a tensor as its elements
in row-major order: a fixed-size datatype as little-endian values (``BOOL`` one
byte each), ``BYTES`` as each element's length (4 bytes, little-endian, unsigned)
followed by its bytes. These functions turn such a buffer into the Python values
the JSON form would have held, and back.

    >>> decode_tensor(b"\\x00\\x00\\x00\\x00\\x00\\x00\\xf8?", "FP64", 1)
    [1.5]
    >>> encode_tensor(["ok"], "BYTES")
    b'\\x02\\x00\\x00\\x00ok'

A buffer that does not hold exactly ``count`` elements raises ``TensorBytesError``
whose text says what was expected and what came, in sizes, never the content:
risk inputs hold personal data.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from riskops.serving.tensor_datatypes import NUMPY_TYPES

#: The little-endian numpy dtype of every fixed-size datatype.
FIXED_DTYPES: dict[str, np.dtype[Any]] = {
    **{name: np.dtype(kind).newbyteorder("<") for name, kind in NUMPY_TYPES.items()},
    "BOOL": np.dtype(np.bool_),
}
_LENGTH = struct.Struct("<I")


class TensorBytesError(ValueError):
    """A raw tensor buffer that does not match its datatype and shape."""


def element_count(shape: Sequence[int]) -> int:
    """Elements of a tensor of ``shape`` (1 for ``[]``)."""
    count = 1
    for dim in shape:
        count *= dim
    return count


def decode_tensor(buffer: bytes | memoryview, datatype: str, count: int) -> list[Any]:
    """The ``count`` elements of a raw tensor ``buffer`` of ``datatype``.

    Parameters
    ----------
    buffer : bytes
        The tensor's bytes, nothing before or after.
    datatype : str
        ``BYTES``, ``BOOL`` or a numeric datatype (``FP64``, ``INT32``, ...).
    count : int
        Elements the tensor's shape says it holds.

    Returns
    -------
    list
        Python ``float``/``int``/``bool`` values; ``str`` for ``BYTES``.

    Raises
    ------
    TensorBytesError
        The datatype has no raw form here, the byte count is not ``count`` elements,
        or a ``BYTES`` element is cut short or is not UTF-8 text.
    """
    if datatype == "BYTES":
        return [_text(element, i) for i, element in enumerate(_bytes_elements(buffer, count))]
    dtype = FIXED_DTYPES.get(datatype)
    if dtype is None:
        raise TensorBytesError(f"datatype {datatype} has no binary form here; binary "
                               f"datatypes are {', '.join([*FIXED_DTYPES, 'BYTES'])}")
    expected = count * dtype.itemsize
    if len(buffer) != expected:
        elements = f"{count} {datatype} element{'s take' if count != 1 else ' takes'}"
        raise TensorBytesError(f"holds {len(buffer)} bytes, but {elements} {expected}")
    return np.frombuffer(buffer, dtype=dtype).tolist()


def encode_tensor(values: Sequence[Any], datatype: str) -> bytes:
    """``values`` as a raw tensor of ``datatype``: ``BYTES`` takes ``str`` or ``bytes``."""
    if datatype == "BYTES":
        parts = []
        for value in values:
            data = value if isinstance(value, bytes) else str(value).encode()
            parts += [_LENGTH.pack(len(data)), data]
        return b"".join(parts)
    dtype = FIXED_DTYPES.get(datatype)
    if dtype is None:
        raise ValueError(f"datatype {datatype!r} has no binary form")
    return np.asarray(values, dtype=dtype).tobytes()


def _bytes_elements(buffer: bytes | memoryview, count: int) -> list[bytes]:
    view = memoryview(buffer)
    elements, offset = [], 0
    while offset < len(view):
        if len(elements) == count:
            raise TensorBytesError(f"holds more than the {count} BYTES element"
                                   f"{'s' if count != 1 else ''} its shape says")
        if offset + _LENGTH.size > len(view):
            raise TensorBytesError(f"BYTES element {len(elements)} is cut short: its 4-byte "
                                   "length prefix is incomplete")
        (size,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        if offset + size > len(view):
            raise TensorBytesError(f"BYTES element {len(elements)} is cut short: its length "
                                   f"prefix says {size} bytes, {len(view) - offset} remain")
        elements.append(bytes(view[offset:offset + size]))
        offset += size
    if len(elements) != count:
        raise TensorBytesError(f"holds {len(elements)} BYTES element"
                               f"{'s' if len(elements) != 1 else ''}, but its shape says "
                               f"{count}")
    return elements


def _text(element: bytes, index: int) -> str:
    try:
        return element.decode("utf-8")
    except UnicodeDecodeError:
        raise TensorBytesError(f"BYTES element {index} is not UTF-8 text") from None
