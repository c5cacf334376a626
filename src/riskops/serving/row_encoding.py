"""A fitted ``ColumnTransformer`` of numeric passthrough and one-hot blocks, applied to
feature dicts directly (no data frame).

    encoding = compile_encoding(pipeline.named_steps["features"], numeric=[...],
                                categorical=[...])
    encoding.encode([{"amount": 12.5, "channel": "web", ...}])   # (1, n_columns) float64

The transformer's own ``transform`` on a one-row frame costs more than a
millisecond of pandas indexing and input checks; the same matrix is a few list
comprehensions here. Only the blocks riskops' gradient-boosting builder makes
are known (``scenarios.tabular.calibrated_gradient_boosting``): numeric columns
passed through, and ``OneHotEncoder(handle_unknown="ignore")`` over text
categories with no dropped or infrequent category. A value is encoded as
scikit-learn encodes it: a number as its float64 value, a missing number (None
or NaN) as NaN; a category as a 1 in its column, an unseen or missing one as all
zeros. Any other value (text in a numeric column, a number in a categorical one,
a boolean) raises ``FastPathUnsupported``, and the caller lets the estimator
decide what it means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskops.errors import FastPathUnsupported


@dataclass(frozen=True, eq=False)
class RowEncoding:
    """Where each feature goes in the transformer's output."""

    #: Numeric features, and the output column of each.
    numbers: tuple[str, ...]
    number_columns: np.ndarray  # (len(numbers),) intp
    #: Categorical features, each with its category -> output column map.
    categories: tuple[tuple[str, Mapping[str, int]], ...]
    width: int

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``rows`` as the transformer's float64 output, shape ``(len(rows), width)``.

        Raises
        ------
        FastPathUnsupported
            If a row holds a value scikit-learn might read differently (see the module).
        KeyError
            If a row lacks a feature.
        """
        out = np.zeros((len(rows), self.width))
        if self.numbers:
            values = [[row[name] for name in self.numbers] for row in rows]
            for line in values:
                for value in line:
                    if type(value) not in _NUMBERS:
                        raise FastPathUnsupported(
                            f"a numeric value of type {type(value).__name__}")
            out[:, self.number_columns] = np.array(values, dtype=np.float64)
        for i, row in enumerate(rows):
            for name, columns in self.categories:
                value = row[name]
                if type(value) is str:
                    column = columns.get(value)
                    if column is not None:
                        out[i, column] = 1.0
                elif not _missing(value):
                    raise FastPathUnsupported(
                        f"a categorical value of type {type(value).__name__}")
        return out


#: Types a numeric value may have (None is missing, as NaN is); bool is not one of them.
_NUMBERS = frozenset({float, int, type(None), np.float64, np.float32, np.int64, np.int32})


def _missing(value: Any) -> bool:
    return value is None or (type(value) is float and math.isnan(value))


def compile_encoding(transformer: Any, *, numeric: Sequence[str],
                     categorical: Sequence[str]) -> RowEncoding:
    """The ``RowEncoding`` of a fitted ``ColumnTransformer`` whose numeric passthrough
    block reads only ``numeric`` features and whose one-hot blocks read only
    ``categorical`` ones.

    Raises
    ------
    FastPathUnsupported
        Naming the first block, option or category the encoding does not know.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    if type(transformer) is not ColumnTransformer:
        raise FastPathUnsupported(f"the first step is a {type(transformer).__name__}, "
                                  "not a ColumnTransformer")
    if getattr(transformer, "sparse_output_", True):
        raise FastPathUnsupported("the column transformer's output is sparse")
    slices: Mapping[str, slice] = transformer.output_indices_
    numbers: list[str] = []
    number_columns: list[int] = []
    categories: list[tuple[str, dict[str, int]]] = []
    width = 0
    for name, block, columns in transformer.transformers_:
        if isinstance(block, str) and block == "drop":
            continue
        out = slices[name]
        width = max(width, out.stop)
        if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
            raise FastPathUnsupported(f"block {name!r} does not name its columns in a list")
        if type(block) is FunctionTransformer and block.func is None \
                and block.inverse_func is None:
            unknown = [c for c in columns if c not in numeric]
            if unknown:
                raise FastPathUnsupported(f"block {name!r} passes through non-numeric "
                                          f"columns {unknown}")
            numbers += columns
            number_columns += range(out.start, out.stop)
        elif type(block) is OneHotEncoder:
            categories += _one_hot(name, block, columns, out, categorical)
        else:
            raise FastPathUnsupported(f"block {name!r} is a {type(block).__name__}")
    if len(set(numbers)) != len(numbers):
        raise FastPathUnsupported("a numeric column is passed through twice")
    return RowEncoding(tuple(numbers), np.asarray(number_columns, dtype=np.intp),
                       tuple(categories), width)


def _one_hot(name: str, encoder: Any, columns: list[str], out: slice,
             categorical: Sequence[str]) -> list[tuple[str, dict[str, int]]]:
    if encoder.handle_unknown != "ignore" or encoder.drop is not None \
            or getattr(encoder, "drop_idx_", None) is not None:
        raise FastPathUnsupported(f"block {name!r} drops a category or errors on unknown ones")
    if getattr(encoder, "_infrequent_enabled", False):
        raise FastPathUnsupported(f"block {name!r} groups infrequent categories")
    if encoder.sparse_output or np.dtype(encoder.dtype) != np.float64:
        raise FastPathUnsupported(f"block {name!r} is sparse or not float64")
    unknown = [c for c in columns if c not in categorical]
    if unknown:
        raise FastPathUnsupported(f"block {name!r} one-hot encodes non-categorical columns "
                                  f"{unknown}")
    found: list[tuple[str, dict[str, int]]] = []
    column = out.start
    for feature, values in zip(columns, encoder.categories_, strict=True):
        if values.dtype != object or not all(type(v) is str for v in values):
            raise FastPathUnsupported(f"block {name!r}: categories of {feature!r} are not "
                                      "all text")
        found.append((feature, {v: column + i for i, v in enumerate(values)}))
        column += len(values)
    if column != out.stop:
        raise FastPathUnsupported(f"block {name!r} outputs {out.stop - out.start} columns, "
                                  f"not one per category")
    return found
