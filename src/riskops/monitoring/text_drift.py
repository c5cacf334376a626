"""A text feature between two windows, measured against the model's vocabulary.

``drift.check_text`` compares text lengths, which needs no model. When the
serving version's reference profile holds the vectorizer's vocabulary
(``riskops.profiles.text``), two more measures compare the reference and
current windows:

    window_text_checks(reference_texts, current_texts, terms, name="text")
    # [("text:oov_rate", {...check_numeric on per-text OOV rates...}),
    #  ("text:top_terms", {...PSI over the profile's top-term buckets...})]

Pure: texts and a ``TermsProfile`` in, JSON-ready dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskops.monitoring import drift, stats
from riskops.monitoring.skew import OOV_MEASURE, TOP_TERMS_MEASURE
from riskops.monitoring.verdicts import DEFAULT_PSI_ALERT, MIN_SAMPLES, is_drift, psi_verdict
from riskops.profiles import text
from riskops.profiles.profile import TermsProfile


def window_text_checks(
    reference: Sequence[Any], current: Sequence[Any], terms: TermsProfile, *, name: str,
    min_samples: int = MIN_SAMPLES, bins: int = 10, psi_threshold: float = DEFAULT_PSI_ALERT,
) -> list[tuple[str, dict[str, Any]]]:
    """OOV rate (``check_numeric``) and top-term shares (PSI) of ``current`` against
    ``reference``, both tokenised and looked up with the profile's analyzer and vocabulary."""
    analyze = terms.analyze()
    ref_terms = text.text_terms(reference, analyze)
    cur_terms = text.text_terms(current, analyze)
    oov = drift.check_numeric(text.oov_rates(ref_terms, terms.vocabulary),
                              text.oov_rates(cur_terms, terms.vocabulary),
                              min_samples=min_samples, bins=bins, psi_threshold=psi_threshold)
    return [
        (f"{name}:oov_rate", {**oov, "kind": "text", "measure": OOV_MEASURE}),
        (f"{name}:top_terms", check_top_terms(ref_terms, cur_terms, terms.top_terms,
                                              min_samples=min_samples,
                                              psi_threshold=psi_threshold)),
    ]


def check_top_terms(
    reference: Sequence[list[str] | None], current: Sequence[list[str] | None],
    top: Sequence[str], *, min_samples: int = MIN_SAMPLES,
    psi_threshold: float = DEFAULT_PSI_ALERT,
) -> dict[str, Any]:
    """PSI and Jensen-Shannon over the buckets ``top`` + ``"(other)"`` of two windows' terms.

    Each text counts its distinct terms once (``riskops.profiles.text.term_shares``).
    Skipped when a window has fewer than ``min_samples`` texts with terms.
    """
    n_ref = sum(1 for t in reference if t)
    n_cur = sum(1 for t in current if t)
    result: dict[str, Any] = {"kind": "text", "measure": TOP_TERMS_MEASURE,
                              "reference_rows": n_ref, "current_rows": n_cur}
    for window, n in (("reference", n_ref), ("current", n_cur)):
        if n < min_samples:
            return {"status": "skipped", **result,
                    "reason": f"{window} window has {n} texts with terms, fewer than the "
                              f"{min_samples} a drift check needs"}
    ref = text.term_shares(reference, top)
    cur = text.term_shares(current, top)
    psi = stats.psi_of_shares(ref, cur)
    buckets = [*top, text.OTHER]
    result.update({
        "status": "checked", "psi": psi, "verdict": psi_verdict(psi),
        "threshold": psi_threshold, "drift": is_drift(psi, psi_threshold),
        "jensen_shannon": stats.jensen_shannon_of_shares(ref, cur),
        "terms": {term: {"reference": float(ref[i]), "current": float(cur[i])}
                  for i, term in enumerate(buckets)},
    })
    return result
