"""The one validator of 1-D samples: every message names the sample and the rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskops.arrays import float_vector, text_vector
from riskops.monitoring.stats import drop_missing, psi
from riskops.training.metrics import check_scores


@pytest.mark.parametrize(("values", "kwargs", "message"), [
    ([[1.0, 2.0]], {}, "current must be 1-D, got shape (1, 2)."),
    ([], {}, "current is empty; it needs at least one value."),
    (["a", 1.0], {}, "current must hold numbers; convert or drop the other values."),
    ([1.0, math.nan], {}, "current contains NaN or infinity; drop or fill them first."),
    ([1.0, math.inf], {"nonfinite_fix": "every row needs a score"},
     "current contains NaN or infinity; every row needs a score."),
    ([0.5, 1.5], {"unit_interval": True}, "current has values outside [0, 1] (min 0.5, max 1.5)."),
    ([-0.1, math.nan], {"unit_interval": True, "finite": False},
     "current has values outside [0, 1] (min -0.1, max -0.1)."),
])
def test_float_vector_refusals_name_the_sample_and_the_rule(
    values: object, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        float_vector(values, name="current", **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_float_vector_returns_floats_and_keeps_gaps_when_asked() -> None:
    out = float_vector([1, None, 3], name="x", finite=False)
    assert out.dtype == np.float64 and out[0] == 1.0 and math.isnan(out[1])
    assert float_vector((0, 1), name="x", unit_interval=True).tolist() == [0.0, 1.0]


def test_text_vector_compares_categories_as_text() -> None:
    assert text_vector([1, "1", None], name="reference").tolist() == ["1", "1", "None"]
    with pytest.raises(ValueError, match=r"^reference is empty; "):
        text_vector([], name="reference")
    with pytest.raises(ValueError, match=r"^reference must be 1-D"):
        text_vector([["a"]], name="reference")


def test_metrics_and_drift_share_the_rules() -> None:
    with pytest.raises(ValueError, match=r"^scores contains NaN or infinity; every row needs"):
        check_scores([0.1, math.nan])
    with pytest.raises(ValueError, match=r"^current contains NaN or infinity; drop them first "
                                         r"\(riskops\.monitoring\.stats\.drop_missing\)\.$"):
        psi([0.1, 0.2], [0.1, math.nan])
    finite, share = drop_missing([1.0, math.inf, None, 2.0])
    assert finite.tolist() == [1.0, 2.0] and share == 0.5
