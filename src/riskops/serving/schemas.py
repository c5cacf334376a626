"""Request and response bodies, built from each scenario's feature schema.

A scenario's request model is generated from its ``Schema``: numeric features
are finite numbers (JSON numbers only, no strings or booleans) within the
feature's validity bounds (``lower_bound``/``upper_bound``; whole numbers for
``integer`` features, where ``3.0`` is accepted and ``3.5`` refused), categorical
features one of their listed categories, text features non-empty strings up
to ``max_text_chars``. Unknown fields are refused so a typo is not silently
scored as a missing value.

Validation errors are reported with the field path, the rule and pydantic's
message, never the submitted value: risk inputs hold personal data.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError, PydanticKnownError

from riskops.registry.service import TENANT_PATTERN
from riskops.scenarios.base import Feature, Scenario

#: Largest magnitude accepted for a numeric feature; beyond it a value is a unit error.
MAX_ABS_NUMBER = 1e15
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
#: What a prediction id may look like (riskops makes UUIDs); anything else is unknown.
PREDICTION_ID = re.compile(_ID_PATTERN)


def _whole(value: float) -> float:
    """``value`` if it is a whole number; pydantic's ``int_from_float`` error otherwise (its
    message names the rule, not the value)."""
    if not value.is_integer():
        raise PydanticKnownError("int_from_float")
    return value


#: Up to this many categories a 422 lists the accepted values; beyond, it counts them.
LISTED_CATEGORIES = 20


def _member_of(categories: tuple[str, ...]) -> Any:
    accepted = frozenset(categories)

    def check(value: str) -> str:
        if value not in accepted:
            raise PydanticCustomError("literal_error", "Input should be one of the {count} "
                                      "declared categories", {"count": len(accepted)})
        return value

    return check


def _annotation(feature: Feature, *, max_text_chars: int) -> Any:
    if feature.kind == "numeric":
        lower = -MAX_ABS_NUMBER if feature.lower_bound is None \
            else max(-MAX_ABS_NUMBER, feature.lower_bound)
        upper = MAX_ABS_NUMBER if feature.upper_bound is None \
            else min(MAX_ABS_NUMBER, feature.upper_bound)
        number = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=lower, le=upper,
                                        description=feature.description)]
        if feature.integer:
            return Annotated[number, AfterValidator(_whole),
                             Field(json_schema_extra={"multipleOf": 1})]
        return number
    if feature.kind == "categorical" and feature.categories:
        if len(feature.categories) <= LISTED_CATEGORIES:
            return Annotated[Literal[feature.categories],
                             Field(description=feature.description)]
        # A long list is checked as a set and the error counts the values instead of
        # listing them (pydantic's literal error would repeat every value, per row).
        return Annotated[str, Field(strict=True, description=feature.description,
                                    json_schema_extra={"enum": list(feature.categories)}),
                         AfterValidator(_member_of(feature.categories))]
    limit = max_text_chars if feature.kind == "text" else 256
    return Annotated[str, Field(strict=True, min_length=1, max_length=limit,
                                description=feature.description)]


#: Marks a request field as a segment value (``json_schema_extra``), not a feature.
SEGMENT_MARK = "x-riskops-segment"
MAX_SEGMENT_CHARS = 128


def _segment_fields(scenario: Scenario) -> dict[str, Any]:
    """Optional fields for ``scenario``'s segment columns (``region``, ...): logged with the
    inputs so monitoring can slice drift and calibration by them; never model inputs."""
    features = set(scenario.schema.feature_names)
    return {
        name: (Annotated[str | None, Field(
            strict=True, min_length=1, max_length=MAX_SEGMENT_CHARS,
            pattern=r"^[^\x00-\x1f\x7f]+$",  # no control characters (newlines, escapes)
            description=f"Segment value ({name}) for monitoring slices; not a model input.",
            json_schema_extra={SEGMENT_MARK: True})], None)
        for name in scenario.schema.segments if name not in features
    }


def validated_row(model: type[BaseModel], item: Any) -> dict[str, Any]:
    """``item`` checked against a request ``model``, as a dict; segment fields the caller
    did not send are left out (features keep their ``None``)."""
    parsed = model.model_validate(item)
    unsent = {name for name in _segment_names(model) if getattr(parsed, name) is None}
    return parsed.model_dump(exclude=unsent)


@functools.cache
def _segment_names(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` marked as segments, found once per model (per request row
    would be the scoring hot path)."""
    return frozenset(name for name, info in model.model_fields.items()
                     if isinstance(info.json_schema_extra, dict)
                     and info.json_schema_extra.get(SEGMENT_MARK))


def component_name(scenario: str, kind: str) -> str:
    """The OpenAPI component name of a scenario's request model (``kind``: ``Features`` or
    ``Report``): ``FraudFeatures`` for a reference scenario; ``Custom_<name>_Features`` for
    a custom one, which keeps its name as is, so no two scenarios (``a1_b``, ``a1b``,
    ``fraud_``) share a component."""
    from riskops.scenarios import REFERENCE

    if scenario in REFERENCE:
        return f"{scenario.title().replace('_', '')}{kind}"
    return f"Custom_{scenario}_{kind}"


def request_model(scenario: Scenario, *, max_text_chars: int) -> type[BaseModel]:
    """The pydantic model of one row of ``scenario``'s features, plus its optional
    segment values."""
    fields: dict[str, Any] = {
        f.name: (_annotation(f, max_text_chars=max_text_chars), ...)
        for f in scenario.schema.features
    }
    fields.update(_segment_fields(scenario))
    return create_model(  # type: ignore[call-overload,no-any-return]
        component_name(scenario.name, "Features"),
        __config__=ConfigDict(extra="forbid", protected_namespaces=()),
        __doc__=f"Features of one {scenario.name} decision: {scenario.description}",
        **fields,
    )


def text_request_model(scenario: Scenario, *, max_text_chars: int) -> type[BaseModel]:
    """Like ``request_model`` but only the text features are required; the others may be
    left out (``None``), for callers that only have a report's text (``POST /risk``)."""
    fields: dict[str, Any] = {}
    for f in scenario.schema.features:
        annotation = _annotation(f, max_text_chars=max_text_chars)
        fields[f.name] = (annotation, ...) if f.kind == "text" else (annotation | None, None)
    fields.update(_segment_fields(scenario))
    return create_model(  # type: ignore[call-overload,no-any-return]
        component_name(scenario.name, "Report"),
        __config__=ConfigDict(extra="forbid", protected_namespaces=()),
        __doc__=f"A {scenario.name} report: its text, other features optional.",
        **fields,
    )


def field_errors(exc: ValidationError, *, prefix: tuple[str | int, ...] = ()) -> list[dict]:
    """``{field, reason, type}`` per error, without the submitted input."""
    out = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = (*prefix, *err["loc"])
        out.append({"field": ".".join(str(p) for p in loc) or "body",
                    "reason": err["msg"], "type": err["type"]})
    return out


class ScoreResponse(BaseModel):
    """One scored decision with the fields an auditor needs to trace it."""

    prediction_id: str
    scenario: str
    tenant_id: str
    risk_score: float = Field(ge=0, le=1)
    risk_label: str
    risk_score_method: Literal["ml", "heuristic"]
    risk_model_version: int | None
    risk_threshold: float | None
    model_id: str | None
    manifest_version: int | None
    reasons: list[str]
    plan: list[dict[str, Any]] | None = None


class BatchResponse(BaseModel):
    items: list[ScoreResponse]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(pattern=_ID_PATTERN)
    label: str | None = Field(default=None, min_length=1, max_length=64)
    override: bool = False
    severity: Literal["info", "low", "medium", "high", "critical"] | None = None
    comment: str | None = Field(default=None, max_length=4000)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(pattern=_ID_PATTERN)
    label: str = Field(min_length=1, max_length=64)
    observed_at: str | None = Field(default=None, max_length=40,
                                    description="ISO 8601 time the outcome was observed")


class OutcomesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: list[OutcomeIn] = Field(min_length=1)


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 1, not true or "1" or 1.0

    version: int = Field(ge=1)
    stage: Literal["production", "staging", "canary"] = "production"
    percent: int | None = Field(default=None, ge=1, le=100)
    break_glass: str | None = Field(default=None, min_length=1, max_length=500)


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 1, not true or "1" or 1.0

    to: int | None = Field(default=None, ge=1)
    fallback: Literal["heuristic"] | None = None


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 1, not true or "1" or 1.0

    decision: Literal["approve", "reject"] = "approve"
    role: str = Field(min_length=1, max_length=64)
    comment: str = Field(default="", max_length=2000)
    revalidation: bool = False


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(min_length=1, max_length=500)


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 1, not true or "1" or 1.0

    tenant: str = Field(min_length=1, max_length=128)
    version: int | None = Field(default=None, ge=1)
    heuristic: bool = False


class MonitoringRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenantIds: list[Annotated[str, Field(pattern=TENANT_PATTERN)]] | None = Field(
        default=None, max_length=1000)
