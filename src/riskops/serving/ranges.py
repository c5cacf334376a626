"""What a served version saw at training, and the inputs outside it.

A request inside a feature's validity bounds (``schemas``) may still lie where
the model has no data: a numeric value beyond the smallest or largest value of
the training slice, or a category the training slice never held. Such a row is
scored all the same; it gets the reason ``outside training range: <feature>``
and counts in ``ml_out_of_range_inputs_total{model,feature}``.

The ranges come from the version's signed ``reference-profile.json`` and are
computed once when the version is loaded (``pool.ModelPool``), never per
request. A version without a profile is scored without this check.

    ranges = TrainingRanges.from_profile(profile, schema)
    ranges.outside({"amount": 25_000.0, "channel": "web"})   # ("amount",)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskops.errors import InputError
from riskops.profiles.profile import (
    FILE,
    MISSING,
    CategoricalProfile,
    NumericProfile,
    Profile,
    read_profile,
)
from riskops.registry.loader import read_artifact
from riskops.registry.manifest import VerifiedManifest
from riskops.registry.store import version_folder
from riskops.scenarios.base import Schema

log = logging.getLogger("riskops.serving")

REASON = "outside training range: {feature}"


@dataclass(frozen=True, slots=True)
class TrainingRanges:
    """Per feature, the values the training slice covered.

    ``numeric``: ``(feature, smallest, largest)``; ``categorical``: ``(feature,
    categories seen)``. Features the profile has no values for are left out.
    """

    numeric: tuple[tuple[str, float, float], ...]
    categorical: tuple[tuple[str, frozenset[str]], ...]

    @classmethod
    def from_profile(cls, profile: Profile, schema: Schema) -> TrainingRanges:
        numeric, categorical = [], []
        for feature in schema.features:
            entry = profile.features.get(feature.name)
            if feature.kind == "numeric" and isinstance(entry, NumericProfile) \
                    and entry.minimum is not None and entry.maximum is not None:
                numeric.append((feature.name, entry.minimum, entry.maximum))
            elif feature.kind == "categorical" and isinstance(entry, CategoricalProfile):
                categorical.append((feature.name, frozenset(entry.shares) - {MISSING}))
        return cls(tuple(numeric), tuple(categorical))

    def outside(self, row: Mapping[str, Any]) -> tuple[str, ...]:
        """The features of one validated ``row`` outside the training range, in schema order
        (numeric first); a missing value is never outside."""
        found = [name for name, low, high in self.numeric
                 if (value := row.get(name)) is not None and not low <= value <= high]
        found += [name for name, seen in self.categorical
                  if (value := row.get(name)) is not None and value not in seen]
        return tuple(found)


def reasons(features: tuple[str, ...]) -> tuple[str, ...]:
    """The ``reasons`` entries for features outside the training range."""
    return tuple(REASON.format(feature=name) for name in features)


def training_ranges(verified: VerifiedManifest, model: str, version: int,
                    schema: Schema) -> TrainingRanges | None:
    """The training ranges of ``model`` v``version`` from its signed profile, or ``None``
    when the version has no profile (or one this code cannot read: logged, not fatal).

    Raises ``IntegrityError`` if the profile fails its signed digest.
    """
    entry = verified.manifest.version(model, version)
    if f"{version_folder(model, version)}/{FILE}" not in {a.path for a in entry.artifacts}:
        return None
    data = read_artifact(verified, model, version, FILE, action="served")
    try:
        profile = read_profile(data, source=f"{model} v{version} {FILE}")
    except InputError as exc:
        log.warning("%s; %s v%s is served without the training-range check", exc, model,
                    version)
        return None
    return TrainingRanges.from_profile(profile, schema)
