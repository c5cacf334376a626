"""Training-serving skew: the current window against the serving version's reference profile.

Pure: profile entries and current values in, JSON-ready dicts out. The
profile (``riskops.profiles.profile``) holds the training bins and shares,
so PSI and Jensen-Shannon come out exactly as ``stats.psi`` and
``stats.jensen_shannon`` would give on the raw training column; the
z-score comes from the stored mean, standard deviation and count. KS and
Wasserstein need the raw training values, which a profile does not keep:
they are not computed (``not_computed`` says so).

    skew_checks(current, base, profiles, config)  # one model's LogGroup, every version
    numeric_skew(profile.features["amount"], current_amounts)
    categorical_skew(profile.features["channel"], current_channels)
    text_skew(profile.features["text"], current_texts, name="text")   # three results

Each result has the fields of a ``data_drift`` result (``psi``,
``verdict``, ``threshold``, ``drift``, ``jensen_shannon``) plus
``modelVersion`` and ``reference`` (which profile).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from riskops.binning import shares_in
from riskops.monitoring import drift, stats
from riskops.monitoring.verdicts import (
    DEFAULT_PSI_ALERT,
    MIN_SAMPLES,
    Z_SCORE_ALERT,
    is_drift,
    psi_verdict,
)
from riskops.monitoring.windows import MonitoringConfig
from riskops.profiles import text
from riskops.profiles.profile import (
    FILE,
    CategoricalProfile,
    NumericProfile,
    Profile,
    TermsProfile,
    TextProfile,
    categories,
    numeric_values,
)

if TYPE_CHECKING:
    from riskops.monitoring.inference_log import LogGroup

CHECK = "training_skew"
#: Why KS and Wasserstein are absent from a training_skew result.
NOT_COMPUTED = ("ks_statistic and wasserstein_scaled need the raw training values; the "
                "reference profile keeps bins and shares only")
NO_PROFILE = "version {version} has no reference profile (trained before profiles; retrain to " \
             "add one)"

#: What the loader found per (model, version): a parsed profile, or why there is none.
Profiles = Mapping[tuple[str, int], Profile | str]


def _verdict(psi: float, threshold: float) -> dict[str, Any]:
    return {"psi": psi, "verdict": psi_verdict(psi), "threshold": threshold,
            "drift": is_drift(psi, threshold)}


def _floor(n: int, min_samples: int, what: str) -> str | None:
    if n < min_samples:
        return f"current window has {n} {what}, fewer than the {min_samples} a skew check needs"
    return None


def numeric_skew(reference: NumericProfile, current: Sequence[Any] | np.ndarray, *,
                 min_samples: int = MIN_SAMPLES,
                 psi_threshold: float = DEFAULT_PSI_ALERT) -> dict[str, Any]:
    """PSI, Jensen-Shannon and z-score of ``current`` against a numeric profile entry."""
    finite, count = numeric_values(current)
    result: dict[str, Any] = {
        "kind": "numeric",
        "reference_rows": round(reference.count * (1.0 - reference.missing_share)),
        "current_rows": int(finite.size),
        "reference_missing_share": reference.missing_share,
        "current_missing_share": (count - finite.size) / count if count else 0.0,
    }
    if reference.bins is None or reference.shares is None or reference.mean is None:
        return {"status": "skipped", **result,
                "reason": "the training profile has no values of this variable"}
    reason = _floor(int(finite.size), min_samples, "non-missing values")
    if reason is not None:
        return {"status": "skipped", "reason": reason, **result}
    ref_shares = np.asarray(reference.shares)
    cur_shares = shares_in(reference.bins, finite, name="current")
    psi = stats.psi_of_shares(ref_shares, cur_shares)
    current_mean = float(finite.mean())
    z = _z_score(reference, current_mean, int(finite.size))
    result.update({
        "status": "checked", **_verdict(psi, psi_threshold),
        "jensen_shannon": stats.jensen_shannon_of_shares(ref_shares, cur_shares),
        "z_score": z if math.isfinite(z) else None, "z_score_alert": z > Z_SCORE_ALERT,
        "reference_mean": reference.mean, "current_mean": current_mean,
        "reference_std": reference.std,
        "bins": {"kind": reference.bins.kind, "count": reference.bins.count},
        "not_computed": NOT_COMPUTED,
    })
    if not math.isfinite(z):
        result["note"] = "training values were constant and the current mean differs: " \
                         "z-score infinite"
    return result


def _z_score(reference: NumericProfile, current_mean: float, n: int) -> float:
    """``stats.drift_z_score`` from the profile's mean and sample standard deviation."""
    shift = abs(current_mean - float(reference.mean or 0.0))
    spread = reference.std or 0.0
    if spread == 0.0:
        return 0.0 if shift == 0.0 else math.inf
    return shift / (spread / math.sqrt(n))


def categorical_skew(reference: CategoricalProfile, current: Sequence[Any], *,
                     min_samples: int = MIN_SAMPLES, psi_threshold: float = DEFAULT_PSI_ALERT,
                     top: int = 10) -> dict[str, Any]:
    """PSI and Jensen-Shannon over category shares against a categorical profile entry.

    Categories are those of either side; one the training data never had
    counts as 0 there (``epsilon`` in PSI), as in ``stats.categorical_psi``.
    """
    labels = categories(current)
    n = len(labels)
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    result: dict[str, Any] = {
        "kind": "categorical", "reference_rows": reference.count, "current_rows": n,
        "reference_missing_share": reference.missing_share,
        "current_missing_share": counts.get("(missing)", 0) / n if n else 0.0,
    }
    reason = _floor(n, min_samples, "values")
    if reason is not None:
        return {"status": "skipped", "reason": reason, **result}
    names = sorted(set(reference.shares) | set(counts))
    ref = np.array([reference.shares.get(c, 0.0) for c in names])
    cur = np.array([counts.get(c, 0) / n for c in names])
    psi = stats.psi_of_shares(ref, cur)
    chi = stats.chi_square_counts(np.rint(ref * reference.count),
                               np.array([counts.get(c, 0) for c in names], dtype=float))
    order = sorted(range(len(names)), key=lambda i: (-ref[i], names[i]))
    result.update({
        "status": "checked", **_verdict(psi, psi_threshold),
        "chi_square": chi.statistic, "chi_square_pvalue": chi.pvalue, "chi_square_dof": chi.dof,
        "jensen_shannon": stats.jensen_shannon_of_shares(ref, cur),
        "categories": len(names),
        "new_categories": sorted(set(counts) - set(reference.shares)),
        "shares": {names[i]: {"reference": float(ref[i]), "current": float(cur[i])}
                   for i in order[:top]},
    })
    return result


def text_skew(reference: TextProfile, current: Sequence[Any], *, name: str,
              min_samples: int = MIN_SAMPLES, psi_threshold: float = DEFAULT_PSI_ALERT,
              ) -> list[tuple[str, dict[str, Any]]]:
    """A text feature against its profile: ``(feature, result)`` for the length, and with a
    vocabulary in the profile for ``<name>:oov_rate`` and ``<name>:top_terms``."""
    options = {"min_samples": min_samples, "psi_threshold": psi_threshold}
    texts = list(current)
    lengths = drift.text_lengths(texts)
    length = numeric_skew(reference.length, lengths, **options)
    out = [(name, {**length, "kind": "text", "measure": "length in characters"})]
    if reference.terms is None:
        out[0][1]["terms_note"] = (f"no OOV rate or top terms: {reference.terms_reason}")
        return out
    terms = text.text_terms(texts, reference.terms.analyze())
    rates = text.oov_rates(terms, reference.terms.vocabulary)
    oov = numeric_skew(reference.terms.oov_rate, rates, **options)
    out.append((f"{name}:oov_rate", {**oov, "kind": "text", "measure": OOV_MEASURE}))
    out.append((f"{name}:top_terms", top_terms_skew(reference.terms, terms, **options)))
    return out


OOV_MEASURE = "share of a text's terms not in the model's vocabulary"
TOP_TERMS_MEASURE = "shares of (text, distinct term) pairs over the top training terms + other"


def top_terms_skew(reference: TermsProfile, terms: Sequence[list[str] | None], *,
                   min_samples: int = MIN_SAMPLES,
                   psi_threshold: float = DEFAULT_PSI_ALERT) -> dict[str, Any]:
    """PSI over the term buckets (profile top terms + ``"(other)"``) against the profile."""
    with_terms = sum(1 for t in terms if t)
    result: dict[str, Any] = {"kind": "text", "measure": TOP_TERMS_MEASURE,
                              "reference_rows": reference.texts, "current_rows": with_terms}
    reason = _floor(with_terms, min_samples, "texts with terms")
    if reason is not None:
        return {"status": "skipped", "reason": reason, **result}
    ref = np.asarray(reference.shares)
    cur = text.term_shares(terms, reference.top_terms)
    psi = stats.psi_of_shares(ref, cur)
    result.update({"status": "checked", **_verdict(psi, psi_threshold),
                   "jensen_shannon": stats.jensen_shannon_of_shares(ref, cur),
                   **term_table(reference, terms, ref, cur)})
    return result


def term_table(reference: TermsProfile, terms: Sequence[list[str] | None],
               ref_shares: np.ndarray, cur_shares: np.ndarray) -> dict[str, Any]:
    """Per top term the reference and current bucket and document shares, for readers."""
    documents = text.document_shares(terms, reference.top_terms)
    table = {term: {"reference": float(ref_shares[i]), "current": float(cur_shares[i]),
                    "reference_documents": reference.document_shares[i],
                    "current_documents": float(documents[i])}
             for i, term in enumerate(reference.top_terms)}
    table[text.OTHER] = {"reference": float(ref_shares[-1]), "current": float(cur_shares[-1])}
    return {"terms": table}


def skew_checks(current: LogGroup, base: Mapping[str, Any], profiles: Profiles,
                config: MonitoringConfig) -> list[dict[str, Any]]:
    """Every ``training_skew`` result of one (tenant, scenario, model) current window.

    One group per model version that served rows in the window (a canary and
    production both get checked); a version with fewer than
    ``config.min_samples`` rows, or without a loadable profile, gets one
    skipped result saying why. Each version's columns are read from
    ``current`` (``LogGroup.version``): numbers for numeric features and the
    score, the logged text for categorical and text ones.
    """
    if str(base.get("modelId", "")).endswith("-heuristic"):
        return []
    results: list[dict[str, Any]] = []
    options = {"min_samples": config.min_samples, "psi_threshold": config.psi_threshold}
    for (model, version), rows in current.versions().items():
        head = {"check": CHECK, **base, "modelVersion": version,
                "reference": f"{FILE} of {model} v{version}"}
        found = profiles.get((model, version))
        if not isinstance(found, Profile):
            reason = found if isinstance(found, str) else NO_PROFILE.format(version=version)
            results.append({**head, "feature": None, "status": "skipped",
                            "current_rows": rows, "reason": reason})
            continue
        if rows < config.min_samples:
            results.append({**head, "feature": None, "status": "skipped",
                            "current_rows": rows,
                            "reason": f"{model} v{version} served {rows} predictions in the "
                                      f"current window, fewer than the {config.min_samples} "
                                      "a skew check needs"})
            continue
        results.extend(_version_checks(current.version(model, version), head, found, options))
    return results


def _version_checks(group: LogGroup, head: dict[str, Any], profile: Profile,
                    options: dict[str, Any]) -> list[dict[str, Any]]:
    out = [drift.guard(lambda: numeric_skew(profile.score, group.numbers("score"), **options),
                  {**head, "feature": "score"})]
    for name, entry in sorted(profile.features.items()):
        if isinstance(entry, NumericProfile):
            out.append(drift.guard(lambda e=entry, n=name: numeric_skew(e, group.numbers(n),
                                                                   **options),
                              {**head, "feature": name}))
        elif isinstance(entry, CategoricalProfile):
            out.append(drift.guard(lambda e=entry, n=name: categorical_skew(e, group.values(n),
                                                                       **options),
                              {**head, "feature": name}))
        else:
            try:
                pairs = text_skew(entry, group.values(name), name=name, **options)
            except ValueError as exc:
                pairs = [(name, {"status": "skipped", "reason": f"invalid data: {exc}"})]
            out.extend({**head, "feature": feature, **result} for feature, result in pairs)
    return out


def serving_profile(current: LogGroup, profiles: Profiles) -> Profile | None:
    """The profile of the version that served most rows of ``current`` (ties: newest)."""
    counts = current.versions()
    if not counts:
        return None
    (model, version), _ = max(counts.items(), key=lambda item: (item[1], item[0][1]))
    found = profiles.get((model, version))
    return found if isinstance(found, Profile) else None
