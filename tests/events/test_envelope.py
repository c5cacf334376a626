import uuid
from datetime import UTC, datetime

import pytest

from riskops.events.envelope import (
    EVENT_TYPES,
    REQUIRED_ATTRIBUTES,
    build_envelope,
    normalise_source,
)

DESIGN_TYPES = {
    "ml.model.drift.detected", "ml.model.performance.degraded", "model_integrity_failed",
    "model_bias_alert", "ml.model.promoted", "ml.model.rolled_back", "ml.retrain.triggered",
    "workflow.job.trigger", "workflow.job.failed",
    # the recoveries of the first two, for alert state (docs/drift.md)
    "ml.model.drift.resolved", "ml.model.performance.recovered",
    # a promotion past failing gates (docs/governance.md, break-glass)
    "ml.model.break_glass",
    # model-risk inventory (docs/governance.md, Model inventory)
    "ml.model.retired", "ml.model.revalidation.due",
    # multi-window burn-rate alerts of the SLOs (docs/governance.md, SLOs)
    "ml.slo.burn_rate.alert", "ml.slo.burn_rate.resolved",

    # an automatic rollback in alert-only mode (docs/governance.md, Automatic rollback)
    "ml.model.rollback.recommended",
}


def drift() -> dict[str, object]:
    return {"modelId": "fraud", "tenantId": "default", "metric": "psi", "value": 0.31,
            "threshold": 0.2, "delta": 0.11}


def test_registry_holds_exactly_the_design_types() -> None:
    assert set(EVENT_TYPES) == DESIGN_TYPES


def test_envelope_has_every_cloudevents_attribute() -> None:
    env = build_envelope(type="ml.model.drift.detected", subject="fraud", data=drift(),
                         source="monitoring")
    for attribute in REQUIRED_ATTRIBUTES:
        assert isinstance(env[attribute], str) and env[attribute]
    assert env["specversion"] == "1.0"
    assert uuid.UUID(env["id"]).version == 4
    assert env["source"] == "/riskops/monitoring"
    assert env["datacontenttype"] == "application/json"
    assert env["subject"] == "fraud"
    assert env["data"] == drift()
    # RFC 3339 in UTC, with a Z
    assert env["time"].endswith("Z")
    parsed = datetime.fromisoformat(env["time"].replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and abs(datetime.now(UTC) - parsed).total_seconds() < 5


def test_ids_are_unique() -> None:
    ids = {build_envelope(type="model_bias_alert", subject="fraud", data={})["id"]
           for _ in range(100)}
    assert len(ids) == 100


def test_unknown_type_names_the_known_ones() -> None:
    known = r"known types are ml\.model\.drift\.detected, .*, workflow\.job\.failed\."
    with pytest.raises(ValueError, match=r"unknown event type 'model\.promoted'; " + known):
        build_envelope(type="model.promoted", subject="fraud", data={})


def test_missing_required_data_keys_are_named() -> None:
    with pytest.raises(ValueError, match=r"ml\.model\.promoted event data lacks version, stage"):
        build_envelope(type="ml.model.promoted", subject="fraud", data={"modelId": "fraud"})


def test_nan_in_data_is_refused() -> None:
    with pytest.raises(ValueError, match="holds NaN or infinity"):
        build_envelope(type="ml.model.drift.detected", subject="fraud",
                       data={**drift(), "value": float("nan")})


def test_unserialisable_data_is_refused() -> None:
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        build_envelope(type="model_bias_alert", subject="fraud", data={"at": datetime.now(UTC)})


def test_empty_subject_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a non-empty subject"):
        build_envelope(type="model_bias_alert", subject=" ", data={})


@pytest.mark.parametrize(("given", "expected"), [
    ("riskops", "/riskops"),
    ("registry", "/riskops/registry"),
    ("riskops/serving", "/riskops/serving"),
    ("/custom/path", "/custom/path"),
    ("riskops://host-1/worker", "riskops://host-1/worker"),
])
def test_source_is_a_uri_reference(given: str, expected: str) -> None:
    assert normalise_source(given) == expected


def test_source_with_spaces_is_refused() -> None:
    with pytest.raises(ValueError, match="without spaces"):
        normalise_source("my component")
