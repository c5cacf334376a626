"""One variable checked for drift: missing values, the sample floor, every statistic.

Pure: samples in, a JSON-ready dict out. ``job.py`` fetches the samples and
decides what to do with the verdicts.

    check_numeric(reference, current)      # PSI, KS, JS, Wasserstein, z-score
    check_categorical(reference, current)  # chi-square and PSI over categories
    check_text(reference, current)         # check_numeric on text lengths

Each returns ``{"status": "checked", ...}`` or ``{"status": "skipped",
"reason": ...}`` when a window has fewer than ``min_samples`` usable values.
Missing values (``None``, NaN, infinity; for categories ``None`` and NaN)
are dropped from numeric samples and reported as ``*_missing_share``; a
categorical sample keeps them as the category ``"(missing)"``, so a rise in
missing values is itself measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from riskops.monitoring import stats
from riskops.monitoring.verdicts import (
    DEFAULT_PSI_ALERT,
    MIN_SAMPLES,
    Z_SCORE_ALERT,
    is_drift,
    psi_verdict,
)

MISSING = "(missing)"


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _numeric(values: Any, name: str) -> tuple[np.ndarray, float]:
    if np.asarray(values, dtype=object).size == 0:
        return np.empty(0), 0.0
    return stats.drop_missing(values, name=name)


def _floor(n_reference: int, n_current: int, min_samples: int, what: str) -> str | None:
    for window, n in (("reference", n_reference), ("current", n_current)):
        if n < min_samples:
            return (f"{window} window has {n} {what}, fewer than the {min_samples} "
                    "a drift check needs")
    return None


def check_numeric(
    reference: Any, current: Any, *, min_samples: int = MIN_SAMPLES, bins: int = 10,
    psi_threshold: float = DEFAULT_PSI_ALERT,
) -> dict[str, Any]:
    """PSI, KS, Jensen-Shannon, scaled Wasserstein and z-score of a numeric variable.

    ``drift`` is ``psi > psi_threshold``; ``verdict`` is the PSI guidance band.
    A z-score that is infinite (constant reference, moved mean) is reported
    as ``None`` with a note.
    """
    ref, ref_missing = _numeric(reference, "reference")
    cur, cur_missing = _numeric(current, "current")
    result: dict[str, Any] = {
        "kind": "numeric", "reference_rows": int(ref.size), "current_rows": int(cur.size),
        "reference_missing_share": ref_missing, "current_missing_share": cur_missing,
    }
    reason = _floor(ref.size, cur.size, min_samples, "non-missing values")
    if reason is not None:
        return {"status": "skipped", "reason": reason, **result}
    psi = stats.psi(ref, cur, bins=bins)
    ks = stats.ks_statistic(ref, cur)
    z = stats.drift_z_score(ref, cur)
    result.update({
        "status": "checked",
        "psi": psi,
        "ks_statistic": ks.statistic, "ks_pvalue": ks.pvalue,
        "jensen_shannon": stats.jensen_shannon(ref, cur, bins=bins),
        "wasserstein_scaled": stats.wasserstein_scaled(ref, cur),
        "z_score": _finite_or_none(z),
        "reference_mean": float(ref.mean()), "current_mean": float(cur.mean()),
        "verdict": psi_verdict(psi), "threshold": psi_threshold,
        "drift": is_drift(psi, psi_threshold),
        "z_score_alert": z > Z_SCORE_ALERT,
    })
    if not math.isfinite(z):
        result["note"] = "reference is constant and the current mean differs: z-score infinite"
    return result


def _categories(values: Any) -> list[str]:
    out = []
    for v in np.asarray(values, dtype=object).ravel():
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        out.append(MISSING if missing else str(v))
    return out


def check_categorical(
    reference: Any, current: Any, *, min_samples: int = MIN_SAMPLES,
    psi_threshold: float = DEFAULT_PSI_ALERT, top: int = 10,
) -> dict[str, Any]:
    """Chi-square test and PSI over the categories of a categorical variable.

    ``shares`` lists the ``top`` categories by reference share with both
    windows' shares, so a reader sees which category moved.
    """
    ref = _categories(reference)
    cur = _categories(current)
    result: dict[str, Any] = {
        "kind": "categorical", "reference_rows": len(ref), "current_rows": len(cur),
        "reference_missing_share": ref.count(MISSING) / len(ref) if ref else 0.0,
        "current_missing_share": cur.count(MISSING) / len(cur) if cur else 0.0,
    }
    reason = _floor(len(ref), len(cur), min_samples, "values")
    if reason is not None:
        return {"status": "skipped", "reason": reason, **result}
    psi = stats.categorical_psi(ref, cur)
    chi = stats.chi_square(ref, cur)
    categories, ref_shares, cur_shares = stats.category_shares(ref, cur)
    order = sorted(range(len(categories)), key=lambda i: (-ref_shares[i], categories[i]))
    result.update({
        "status": "checked",
        "psi": psi,
        "chi_square": chi.statistic, "chi_square_pvalue": chi.pvalue, "chi_square_dof": chi.dof,
        "categories": len(categories),
        "shares": {categories[i]: {"reference": float(ref_shares[i]),
                                   "current": float(cur_shares[i])} for i in order[:top]},
        "verdict": psi_verdict(psi), "threshold": psi_threshold,
        "drift": is_drift(psi, psi_threshold),
    })
    return result


def text_lengths(values: Sequence[Any]) -> list[float]:
    """Character length of each text; ``None`` and non-text values become NaN."""
    return [float(len(v)) if isinstance(v, str) else math.nan for v in values]


def check_text(
    reference: Sequence[Any], current: Sequence[Any], *, min_samples: int = MIN_SAMPLES,
    bins: int = 10, psi_threshold: float = DEFAULT_PSI_ALERT,
) -> dict[str, Any]:
    """``check_numeric`` on the character lengths of a text variable.

    Length is a cheap, model-agnostic signal that the kind of text changed
    (terse alerts instead of long reports); vocabulary drift is not measured.
    """
    result = check_numeric(text_lengths(reference), text_lengths(current),
                           min_samples=min_samples, bins=bins, psi_threshold=psi_threshold)
    return {**result, "kind": "text", "measure": "length in characters"}
