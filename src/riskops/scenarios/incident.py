"""Incident triage from free text: TF-IDF + logistic regression, labels low/medium/high."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from riskops.scenarios.base import Drift, Feature, HeuristicResult, Scenario, Schema
from riskops.scenarios.linear import calibrated_text_logistic
from riskops.scenarios.tabular import drift_mask, pick, skeleton

LABELS = ("low", "medium", "high")
#: Severity of each label in the risk score (expected severity).
SEVERITY = (0.0, 0.5, 1.0)
MAX_TEXT_LENGTH = 5_000
SOURCES = ("email", "monitoring", "phone", "portal")
TIERS = ("gold", "silver", "bronze")


@dataclass(frozen=True)
class Cue:
    """A severity cue: the phrase, its pull on latent severity, and its drifted wording.

    ``sentence`` and ``drifted`` hold ``{system}``; ``drifted`` never contains
    ``keyword``, so after covariate drift the old cue words disappear.
    """

    keyword: str
    weight: float
    share: float
    sentence: str
    synonym: str
    drifted: str


CUES: tuple[Cue, ...] = (
    # high
    Cue("ransomware", 3.4, 0.012, "Ransomware message on {system} machines.",
        "cryptolocker", "Cryptolocker message on {system} machines."),
    Cue("data breach", 3.2, 0.012, "Suspected data breach involving {system}.",
        "leaked records", "Suspected leaked records involving {system}."),
    Cue("exfiltration", 3.0, 0.010, "Large exfiltration of files from {system} detected.",
        "siphoning", "Large siphoning of files from {system} detected."),
    Cue("production down", 3.0, 0.018, "Production down, {system} not responding.",
        "live environment dark", "Live environment dark, {system} not responding."),
    Cue("outage", 2.4, 0.045, "Full outage of {system}.",
        "blackout", "Full blackout of {system}."),
    Cue("all users", 2.0, 0.045, "All users affected on {system}.",
        "entire workforce", "Entire workforce affected on {system}."),
    Cue("malware", 2.0, 0.020, "Antivirus flagged malware on {system}.",
        "trojan", "Antivirus flagged a trojan on {system}."),
    # medium
    Cue("data loss", 1.8, 0.020, "Some data loss reported in {system}.",
        "vanished files", "Some vanished files reported in {system}."),
    Cue("phishing", 1.5, 0.040, "Phishing email received, link to a fake {system} login.",
        "spoofed mail", "Spoofed mail received, link to a fake {system} login."),
    Cue("backup failed", 1.4, 0.030, "Nightly backup failed for {system}.",
        "snapshot missing", "Nightly snapshot missing for {system}."),
    Cue("cannot log in", 1.3, 0.080, "Staff cannot log in to {system}.",
        "locked out", "Staff locked out of {system}."),
    Cue("intermittent errors", 1.2, 0.060, "Intermittent errors when using {system}.",
        "sporadic faults", "Sporadic faults when using {system}."),
    Cue("degraded", 1.0, 0.050, "Performance of {system} degraded.",
        "underperforming", "The {system} is underperforming."),
    Cue("timeout", 1.0, 0.060, "Requests to {system} end in a timeout.",
        "hanging", "Requests to {system} keep hanging."),
    Cue("slow", 0.8, 0.100, "The {system} is slow today.",
        "sluggish", "The {system} is sluggish today."),
    # low
    Cue("password reset", -0.8, 0.080, "Needs a password reset for {system}.",
        "credential refresh", "Needs a credential refresh for {system}."),
    Cue("single user", -0.8, 0.060, "Only a single user affected on {system}.",
        "one colleague", "Only one colleague affected on {system}."),
    Cue("minor", -1.0, 0.050, "Minor issue with {system}.",
        "trivial", "Trivial issue with {system}."),
    Cue("how do i", -1.2, 0.060, "How do I export reports from {system}?",
        "question about", "Question about exporting reports from {system}."),
    Cue("typo", -1.5, 0.060, "Typo on the {system} start page.",
        "misspelling", "Misspelling on the {system} start page."),
    Cue("cosmetic", -1.5, 0.050, "Cosmetic problem: icons misaligned in {system}.",
        "visual glitch", "Visual glitch: icons misaligned in {system}."),
    Cue("feature request", -1.8, 0.060, "Feature request for {system}: add dark mode.",
        "enhancement idea", "Enhancement idea for {system}: add dark mode."),
)

#: Systems named in reports with their pull on latent severity (critical systems up).
SYSTEMS: tuple[tuple[str, float], ...] = (
    ("VPN gateway", 0.0), ("mail server", 0.8), ("payroll app", 0.0), ("CRM", 0.0),
    ("customer portal", 0.0), ("billing service", 0.8), ("file share", 0.0),
    ("office Wi-Fi", 0.0), ("database cluster", 0.8), ("HR system", -0.5),
    ("ticketing tool", -0.5), ("SSO service", 0.8), ("data warehouse", 0.0),
    ("payment API", 0.8), ("company website", 0.0), ("mobile app", -0.5),
)
#: Product names that appear only after covariate drift (same pulls as ``SYSTEMS``, cycled).
NEW_SYSTEMS: tuple[str, ...] = (
    "Nimbus workspace", "Helix ledger", "Orbit chat", "Quasar dashboards", "Zephyr tunnel",
    "Lumen storefront", "Atlas people hub", "Vega checkout",
)
SOURCE_PULL = {"email": 0.0, "monitoring": 0.4, "phone": 0.5, "portal": -0.4}
TIER_PULL = {"gold": 0.6, "silver": 0.0, "bronze": -0.5}
#: Concept drift targets: "outage" turns into planned-maintenance notices (low), while
#: "slow" now signals cryptomining on compromised hosts (high).
CONCEPT_TARGETS = {"outage": -1.5, "slow": 3.0}
USERS = (1, 3, 8, 20, 50, 120, 400, 1500)
USERS_PULL = 0.6
USERS_SHARE = (0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.06, 0.04)
FILLERS = (
    "Please advise.", "Screenshot attached.", "Started after the weekend change window.",
    "Urgent, please look asap.", "Already tried restarting.", "Reported by the service desk.",
    "Seen on several laptops.", "Not sure if related to last week's ticket.",
    "Customer called twice about it.", "Happens mostly in the morning.",
    "No workaround known yet.", "Escalated by the team lead.",
)
OPENERS = ("", "", "Hi team,", "Hello,", "Good morning,", "FYI:")
# Latent severity cut points: z < CUT_MEDIUM -> low, z < CUT_HIGH -> medium, else high
# (gives about 60% / 28% / 12% before drift).
CUT_MEDIUM = 1.15
CUT_HIGH = 3.10
NOISE_SD = 0.8
LABEL_NOISE = 0.04
BASE_PRIOR = (0.60, 0.28, 0.12)

#: Heuristic keyword weights, added to ``HEURISTIC_BASE`` and clipped to [0, 1]. Hand-written
#: and incomplete on purpose, like real triage rules: "urgent" carries no signal in the data,
#: and some cues (exfiltration, backup failed, ...) and all drifted synonyms are missing.
HEURISTIC_RULES: tuple[tuple[str, float], ...] = (
    ("ransomware", 0.5), ("data breach", 0.5), ("production down", 0.45), ("outage", 0.4),
    ("malware", 0.35), ("all users", 0.3), ("data loss", 0.3), ("phishing", 0.2),
    ("cannot log in", 0.15), ("timeout", 0.1), ("slow", 0.05), ("urgent", 0.15),
    ("typo", -0.1), ("cosmetic", -0.1), ("feature request", -0.15), ("how do i", -0.1),
    ("minor", -0.1),
)
HEURISTIC_BASE = 0.15
HEURISTIC_SOURCE = {"monitoring": 0.05, "phone": 0.05}
HEURISTIC_TIER = {"gold": 0.1, "bronze": -0.05}
_RULE_PATTERN = re.compile(
    r"\b(" + "|".join(r"\s+".join(map(re.escape, k.split())) for k, _ in HEURISTIC_RULES)
    + r")\b"
)
_RULE_WEIGHT = dict(HEURISTIC_RULES)


class IncidentScenario(Scenario):
    """Incident triage: an IT, security or operations report in, severity out.

    Each row is one incident report: ``text`` (title and description), the
    ``source`` it came in through and the customer's ``service_tier``.
    Segments ``industry``, ``region``, ``size_band``; ``reporter_language``
    is for fairness audits only and plays no part in the label.

    Generative process (``generate``), per row:

    1. ``size_band`` sets the tier mix (large firms buy gold more often);
       ``source`` and the reported system are drawn independently.
    2. 0-3 distinct severity cues are drawn from ``CUES`` by ``share`` and
       written as sentences about the system; a title, an opener, an
       affected-user count and neutral filler (including a meaningless
       "urgent") surround them.
    3. Latent severity ``z`` = sum of cue weights + system pull (critical
       systems +0.8, peripheral -0.5) + ``SOURCE_PULL`` + ``TIER_PULL``
       + 0.6 (log10(users) - 1) + N(0, 0.8). The user count counts whether
       or not the report states it.
    4. Label: low if ``z < 1.15``, medium if ``z < 3.10``, else high; then 4%
       of labels are redrawn from (0.60, 0.28, 0.12), as triage mistakes.
       The mix is about 60% low, 28% medium, 12% high (bands 55-65, 23-33,
       9-15); ``build_model`` trained on 10-25k rows reaches a macro
       one-vs-rest ROC AUC of about 0.88 on later rows (high vs rest 0.93,
       ``heuristic`` 0.87).

    Drift from ``drift.start`` (``m`` = ``drift.magnitude``):

    - covariate: each cue and the system are reworded with probability
      ``min(1, 0.8 m)``: cue words give way to synonyms (``Cue.drifted``)
      and new product names (``NEW_SYSTEMS``) appear; labels follow the same
      weights. Naming ``source`` or ``service_tier`` in ``drift.features``
      also moves those mixes towards monitoring and gold.
    - concept: cue weights move by ``m`` towards ``CONCEPT_TARGETS``: "outage"
      now means low, "slow" now means high (the high share rises a little,
      to about 15% at ``m = 1``, as "slow" is the commoner cue).
    - prior: the high share becomes ``0.12 (1 + m)`` (doubles at ``m = 1``),
      low and medium shrink in proportion; rows of each label are drawn from
      the unchanged process, so text given the label does not change.

    Rows before ``drift.start`` are identical with and without drift.
    """

    name = "incident"
    description = "Incident triage from report text: low, medium or high severity."
    #: High cut on the expected-severity risk score; medium cut is half of it. At 0.6
    #: a trained model calls about 14% of reference rows high (12% are).
    default_threshold = 0.6
    schema = Schema(
        features=(
            Feature("text", "text", "Incident title and description.",
                    max_length=MAX_TEXT_LENGTH),
            Feature("source", "categorical", "Channel the report came in through.",
                    categories=SOURCES),
            Feature("service_tier", "categorical", "Customer's support tier.",
                    categories=TIERS),
        ),
        labels=LABELS,
        segments=("industry", "region", "size_band"),
        sensitive="reporter_language",
    )

    def generate(
        self, rows: int, *, start: date, days: int, seed: int = 0, drift: Drift | None = None,
        tenants: int = 3,
    ) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        frame = skeleton(rng, rows, prefix="inc", start=start, days=days, tenants=tenants,
                         seed=seed)
        mask = drift_mask(frame, drift)
        kind = drift.kind if drift is not None else None
        magnitude = drift.magnitude if drift is not None else 0.0
        shifted: tuple[str, ...] = ()
        if drift is not None and drift.kind == "covariate":
            shifted = drift.features or ("text",)
            unknown = sorted(set(shifted) - set(self.schema.feature_names))
            if unknown:
                raise ValueError(
                    f"covariate drift names unknown features {', '.join(unknown)}; "
                    f"incident features are {', '.join(self.schema.feature_names)}."
                )
        columns, codes = _draw(
            rng, rows,
            covariate=mask if kind == "covariate" else None, shifted=shifted,
            concept=mask if kind == "concept" else None, magnitude=magnitude,
        )
        if kind == "prior" and mask.any():
            _shift_prior(rng, columns, codes, np.flatnonzero(mask), magnitude)
        for name in (*self.schema.segments, "reporter_language", *self.schema.feature_names):
            frame[name] = columns[name]
        frame["label"] = np.array(LABELS, dtype=object)[codes]
        return frame

    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        """Keyword rules on the first ``MAX_TEXT_LENGTH`` characters (NFKC, casefolded).

        Score = ``HEURISTIC_BASE`` (0.15) + the weight of each keyword of
        ``HEURISTIC_RULES`` found as whole words (each counted once; e.g.
        ransomware +0.5, outage +0.4, typo -0.1) + ``HEURISTIC_SOURCE`` and
        ``HEURISTIC_TIER`` nudges, clipped to [0, 1]. Labelled by
        ``label_for(score, default_threshold)``: high from 0.6, medium from 0.3.
        Missing, NaN or blank text scores 0 (low). Reasons name every rule that
        fired, e.g. ``matched 'ransomware' (+0.5)``.
        """
        text = _clean_text(_get(features, "text"))
        if not text.strip():
            return HeuristicResult(0.0, LABELS[0], ("no incident text to match; scored low",))
        score = HEURISTIC_BASE
        reasons = [f"base score {HEURISTIC_BASE:g}"]
        for keyword in dict.fromkeys(" ".join(m.split()) for m in _RULE_PATTERN.findall(text)):
            weight = _RULE_WEIGHT[keyword]
            score += weight
            reasons.append(f"matched {keyword!r} ({weight:+g})")
        for column, table in (("source", HEURISTIC_SOURCE), ("service_tier", HEURISTIC_TIER)):
            value = _get(features, column)
            if isinstance(value, str) and value.strip().lower() in table:
                weight = table[value.strip().lower()]
                score += weight
                reasons.append(f"{column} {value.strip().lower()} ({weight:+g})")
        if len(reasons) == 1:
            reasons.append("no severity keyword matched")
        score = min(1.0, max(0.0, round(score, 6)))
        return HeuristicResult(score, self.label_for(score, self.default_threshold),
                               tuple(reasons))

    def build_model(self, *, seed: int) -> Any:
        """TF-IDF (word 1-2 grams) on ``text`` + one-hot ``source`` and ``service_tier``
        -> multinomial logistic regression, sigmoid-calibrated over 3 unshuffled folds
        (``riskops.scenarios.linear.calibrated_text_logistic``).
        """
        return calibrated_text_logistic(self.schema, seed=seed)

    def binary_target(self, labels: pd.Series | Sequence[Any]) -> np.ndarray:
        """1 for "high", else 0: binary metrics evaluate high against the rest."""
        return np.asarray(pd.Series(labels).astype(str) == "high", dtype=int)

    def model_input(self, frame: pd.DataFrame) -> pd.DataFrame:
        return model_input(frame)

    def risk_scores(self, model: Any, features: pd.DataFrame) -> np.ndarray:
        """Expected severity: P(medium) * 0.5 + P(high) * 1.0, in [0, 1].

        Missing text counts as empty; missing categoricals as unseen values.
        """
        proba = model.predict_proba(model_input(features))
        classes = [str(c) for c in model.classes_]
        weights = np.array([SEVERITY[LABELS.index(c)] for c in classes])
        return np.clip(proba @ weights, 0.0, 1.0)

    def label_for(self, score: float, threshold: float) -> str:
        """high from ``threshold``, medium from ``threshold / 2``, else low."""
        if score >= threshold:
            return "high"
        return "medium" if score >= threshold / 2 else "low"


def model_input(features: pd.DataFrame) -> pd.DataFrame:
    """The model's columns with missing text as "" (capped at ``MAX_TEXT_LENGTH``) and
    missing categoricals as "unknown"."""
    frame = pd.DataFrame(index=features.index)
    frame["text"] = features["text"].fillna("").astype(str).str.slice(0, MAX_TEXT_LENGTH)
    for column in ("source", "service_tier"):
        frame[column] = features[column].fillna("unknown").astype(str)
    return frame


def _get(features: Mapping[str, Any], name: str) -> Any:
    try:
        return features.get(name)
    except Exception:  # a mapping-like that misbehaves still gets a heuristic score
        return None


def _clean_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        return ""
    text = unicodedata.normalize("NFKC", text[:MAX_TEXT_LENGTH])[:MAX_TEXT_LENGTH]
    return text.casefold()


def _draw(
    rng: np.random.Generator, n: int, *, covariate: np.ndarray | None, shifted: tuple[str, ...],
    concept: np.ndarray | None, magnitude: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rows of segments, sensitive attribute and features plus label codes (0, 1, 2).

    Every random draw happens for every row whatever the drift, so rows outside
    the drift masks do not depend on the drift.
    """
    none = np.zeros(n, dtype=bool)
    cov = none if covariate is None else covariate
    con = none if concept is None else concept
    p_swap = min(1.0, 0.8 * magnitude)
    out: dict[str, np.ndarray] = {
        "industry": pick(rng, ("finance", "healthcare", "retail", "manufacturing",
                               "public_sector", "technology"), (3, 2, 2, 2, 1, 3), n),
        "region": pick(rng, ("emea", "amer", "apac"), (4, 4, 2), n),
        "size_band": pick(rng, ("small", "mid", "large"), (5, 3, 2), n),
        "reporter_language": pick(rng, ("en", "es", "de", "fr", "pt"), (55, 15, 12, 10, 8), n),
    }
    # structured columns; covariate drift on them moves mass towards monitoring / gold
    u_tier, u_source = rng.random(n), rng.random(n)
    tier_cdf = {"small": (0.10, 0.45), "mid": (0.25, 0.70), "large": (0.50, 0.85)}
    tier = np.full(n, 2)
    for band, (gold, silver) in tier_cdf.items():
        rows = out["size_band"] == band
        tier[rows & (u_tier < silver)] = 1
        tier[rows & (u_tier < gold)] = 0
    if "service_tier" in shifted:
        tier[cov & (u_tier < p_swap)] = 0
    source = np.searchsorted(np.cumsum([0.35, 0.25, 0.15, 0.25]), u_source, side="right")
    source = np.minimum(source, len(SOURCES) - 1)
    if "source" in shifted:
        source[cov & (u_source > 1 - p_swap * 0.6)] = 1
    out["service_tier"] = np.array(TIERS, dtype=object)[tier]
    out["source"] = np.array(SOURCES, dtype=object)[source]

    # system, possibly a new product name
    system = rng.integers(len(SYSTEMS), size=n)
    new_system = cov & (rng.random(n) < p_swap) & ("text" in shifted)
    names = np.array([s for s, _ in SYSTEMS], dtype=object)[system]
    names[new_system] = np.array(NEW_SYSTEMS, dtype=object)[system[new_system] % len(NEW_SYSTEMS)]
    z = np.array([pull for _, pull in SYSTEMS])[system]
    z += np.array([SOURCE_PULL[s] for s in SOURCES])[source]
    z += np.array([TIER_PULL[t] for t in TIERS])[tier]

    # cues: up to three distinct ones per row
    share = np.array([c.share for c in CUES])
    slots = rng.choice(len(CUES), size=(n, 3), p=share / share.sum())
    count = rng.choice(4, size=n, p=(0.10, 0.55, 0.28, 0.07))
    active = np.arange(3)[None, :] < count[:, None]
    active[:, 1] &= slots[:, 1] != slots[:, 0]
    active[:, 2] &= (slots[:, 2] != slots[:, 0]) & (slots[:, 2] != slots[:, 1])
    reworded = (cov & ("text" in shifted))[:, None] & (rng.random((n, 3)) < p_swap)
    weights = np.array([c.weight for c in CUES])
    drifted_weights = weights.copy()
    for i, cue in enumerate(CUES):
        if cue.keyword in CONCEPT_TARGETS:
            drifted_weights[i] += magnitude * (CONCEPT_TARGETS[cue.keyword] - cue.weight)
    cue_weight = np.where(con[:, None], drifted_weights[slots], weights[slots])
    z += (cue_weight * active).sum(axis=1)

    users_idx = rng.choice(len(USERS), size=n, p=USERS_SHARE)
    says_users = rng.random(n) < 0.5
    z += USERS_PULL * (np.log10(np.array(USERS, dtype=float))[users_idx] - 1.0)
    z += rng.normal(0.0, NOISE_SD, n)
    codes = np.searchsorted([CUT_MEDIUM, CUT_HIGH], z, side="right")
    mistaken = rng.random(n) < LABEL_NOISE
    redrawn = rng.choice(3, size=n, p=BASE_PRIOR)
    codes = np.where(mistaken, redrawn, codes)

    out["text"] = _compose(rng, n, names, slots, active, reworded, users_idx, says_users)
    return out, codes


def _compose(
    rng: np.random.Generator, n: int, systems: np.ndarray, slots: np.ndarray,
    active: np.ndarray, reworded: np.ndarray, users_idx: np.ndarray, says_users: np.ndarray,
) -> np.ndarray:
    """Report texts: "<title>. <opener> <cue sentences> <users> <fillers> <ref>"."""
    parts = [np.array(c.sentence.split("{system}"), dtype=object) for c in CUES]
    drifted = [np.array(c.drifted.split("{system}"), dtype=object) for c in CUES]
    before = np.array([p[0] for p in parts], dtype=object)
    after = np.array([p[1] for p in parts], dtype=object)
    before_new = np.array([p[0] for p in drifted], dtype=object)
    after_new = np.array([p[1] for p in drifted], dtype=object)
    keyword = np.array([c.keyword for c in CUES], dtype=object)
    synonym = np.array([c.synonym for c in CUES], dtype=object)
    empty = np.full(n, "", dtype=object)
    sentences = []
    for j in range(3):
        idx, new = slots[:, j], reworded[:, j]
        text = np.where(new, before_new[idx], before[idx]) + systems
        text = text + np.where(new, after_new[idx], after[idx])
        sentences.append(np.where(active[:, j], text, empty))
    first = np.where(reworded[:, 0], synonym[slots[:, 0]], keyword[slots[:, 0]])
    mode = rng.integers(5, size=n)
    titles = np.select(
        [mode == 0, mode == 1, (mode == 2) & active[:, 0], (mode == 3) & active[:, 0]],
        [systems + " issue", "Problem with " + systems, first + " on " + systems,
         systems + ": " + first],
        default="Help needed with " + systems,
    )
    openers = np.array(OPENERS, dtype=object)[rng.integers(len(OPENERS), size=n)]
    users = np.array([f"{u} user{'s' * (u > 1)} affected." for u in USERS], dtype=object)
    users = np.where(says_users, users[users_idx], empty)
    fillers = np.array(FILLERS, dtype=object)
    filler_a = np.where(rng.random(n) < 0.6, fillers[rng.integers(len(fillers), size=n)], empty)
    filler_b = np.where(rng.random(n) < 0.25, fillers[rng.integers(len(fillers), size=n)], empty)
    refs = rng.integers(1_000_000, size=n)
    has_ref = rng.random(n) < 0.4
    texts = [
        f"{t[:1].upper()}{t[1:]}. " + " ".join(p for p in rest if p)
        + (f" Ref INC{r:07d}." if h else "")
        for t, r, h, *rest in zip(titles, refs, has_ref, openers, *sentences, users, filler_a,
                                  filler_b, strict=True)
    ]
    return np.array(texts, dtype=object)


def _shift_prior(
    rng: np.random.Generator, columns: dict[str, np.ndarray], codes: np.ndarray,
    positions: np.ndarray, magnitude: float,
) -> None:
    """Relabel the mix at ``positions`` in place: high share ``0.12 (1 + magnitude)``.

    Surplus rows of a label are dropped at random; their slots get fresh rows of the
    labels in deficit, drawn from the undrifted process (so text given label is kept).
    """
    high = min(0.9, BASE_PRIOR[2] * (1.0 + magnitude))
    rest = (1.0 - high) / (BASE_PRIOR[0] + BASE_PRIOR[1])
    target = rng.multinomial(len(positions), (BASE_PRIOR[0] * rest, BASE_PRIOR[1] * rest, high))
    dropped, needed = [], np.zeros(3, dtype=int)
    for label in range(3):
        held = positions[codes[positions] == label]
        surplus = len(held) - target[label]
        if surplus > 0:
            dropped.append(rng.choice(held, surplus, replace=False))
        else:
            needed[label] = -surplus
    slots = np.sort(np.concatenate(dropped)) if dropped else np.zeros(0, dtype=int)
    if len(slots) == 0:
        return
    fresh_cols: list[dict[str, np.ndarray]] = []
    fresh_codes: list[np.ndarray] = []
    while needed.any():
        batch = max(1_000, int(2 * max(needed / np.array(BASE_PRIOR))))
        cols, got = _draw(rng, batch, covariate=None, shifted=(), concept=None, magnitude=0.0)
        keep = np.zeros(batch, dtype=bool)
        for label in range(3):
            hits = np.flatnonzero(got == label)[: needed[label]]
            keep[hits] = True
            needed[label] -= len(hits)
        fresh_cols.append({k: v[keep] for k, v in cols.items()})
        fresh_codes.append(got[keep])
    order = rng.permutation(len(slots))
    for name in columns:
        columns[name][slots] = np.concatenate([c[name] for c in fresh_cols])[order]
    codes[slots] = np.concatenate(fresh_codes)[order]
