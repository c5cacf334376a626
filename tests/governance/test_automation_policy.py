"""[governance.slo], [governance.retrain] and [governance.rollback]: defaults, overrides,
and every malformed value refused with the key named (and exit 2 on the command line)."""

from __future__ import annotations

from typing import Any

import pytest

from riskops.errors import InputError
from riskops.governance.automation_policy import Objectives, RollbackRules
from riskops.governance.policy import policy_from_dict


def test_defaults_are_the_designs() -> None:
    policy = policy_from_dict({}, source="t")
    assert policy.slo.window_days == 30 and policy.slo.objectives == Objectives(0.99, 0.99, 250.0)
    assert (policy.slo.fast_burn, policy.slo.slow_burn) == (14.4, 6.0)
    retrain = policy.retrain
    assert (retrain.require_bias_pass, retrain.min_budget, retrain.budget_days,
            retrain.min_new_labels, retrain.drift_hours, retrain.max_override_rate,
            retrain.override_days) == (True, 0.15, 7, 25, 24.0, 0.30, 7)
    assert policy.rollback.for_model("fraud") == RollbackRules("auto", 0.05, 15.0, 3, 60)


def test_per_scenario_and_per_model_values_inherit_the_rest() -> None:
    policy = policy_from_dict({
        "slo": {"latency_ms": 100, "scenarios": {"fraud": {"availability": 0.999}}},
        "rollback": {"critical_labels": 5, "models": {"deal": {"mode": "alert-only"}}},
        "retrain": {"models": {"fraud": {"schedule": {"cron": "0 2 * * 2#2",
                                                      "timezone": "Europe/Berlin"},
                                         "data": "data/*.parquet"}}},
    }, source="t")
    assert policy.slo.for_scenario("fraud") == Objectives(0.999, 0.99, 100.0)
    assert policy.slo.for_scenario("deal") == Objectives(0.99, 0.99, 100.0)
    assert policy.rollback.for_model("deal") == RollbackRules("alert-only", 0.05, 15.0, 5, 60)
    assert policy.rollback.for_model("fraud").mode == "auto"
    source = policy.retrain.source("fraud")
    assert source.schedule is not None and source.schedule.timezone == "Europe/Berlin"
    assert source.data == "data/*.parquet" and policy.retrain.source("deal").data is None


@pytest.mark.parametrize(("raw", "named"), [
    ({"slo": {"availability": 1.5}}, "governance.slo.availability must be a number"),
    ({"slo": {"availability": "0.99"}}, "governance.slo.availability must be a number"),
    ({"slo": {"latency_ms": float("nan")}}, "governance.slo.latency_ms"),
    ({"slo": {"window_days": True}}, "governance.slo.window_days must be an integer"),
    ({"slo": {"window": 30}}, "governance.slo.window: unknown key"),
    ({"slo": [1]}, "governance.slo must be a table"),
    ({"slo": {"scenarios": {"fraud": {"latency_ms": -1}}}},
     "governance.slo.scenarios.fraud.latency_ms"),
    ({"slo": {"scenarios": {"x" * 200: {}}}}, "is not a model or scenario name"),
    ({"slo": {"scenarios": {"bad\x1bname": {}}}}, "is not a model or scenario name"),
    ({"retrain": {"min_new_labels": -1}}, "governance.retrain.min_new_labels"),
    ({"retrain": {"require_bias_pass": "yes"}}, "governance.retrain.require_bias_pass must "
                                                "be true or false"),
    ({"retrain": {"models": {"fraud": {"schedule": "every tuesday"}}}}, "schedule"),
    ({"retrain": {"models": {"fraud": {"schedule": "0 0 30 2 *"}}}}, "never fires"),
    ({"retrain": {"models": {"fraud": {"schedule": {"timezone": "UTC"}}}}},
     "schedule must be a cron string"),
    ({"retrain": {"models": {"fraud": {"schedule": {"cron": "0 2 * * 1",
                                                    "timezone": "Mars/Olympus"}}}}},
     "not a known IANA zone"),
    ({"retrain": {"models": {"fraud": {"data": ""}}}}, "governance.retrain.models.fraud.data"),
    ({"retrain": {"models": {"fraud": {"data": "a\x00b"}}}}, "models.fraud.data"),
    ({"retrain": {"models": {"fraud": {"data": "x" * 5000}}}}, "models.fraud.data"),
    ({"retrain": {"models": {"fraud": {"lake_days": 0}}}}, "lake_days"),
    ({"retrain": {"models": {"fraud": {"enabled": 1}}}}, "enabled must be true or false"),
    ({"retrain": {"models": {"fraud": {"trigger": "drift"}}}}, "trigger: unknown key"),
    ({"rollback": {"mode": "maybe"}}, "governance.rollback.mode must be one of"),
    ({"rollback": {"budget_minutes": 0}}, "governance.rollback.budget_minutes"),
    ({"rollback": {"critical_labels": 0}}, "governance.rollback.critical_labels"),
    ({"rollback": {"models": {"fraud": {"mode": None}}}},
     "governance.rollback.models.fraud.mode"),
    ({"rollback": {"models": "fraud"}}, "governance.rollback.models must be a table"),
])
def test_malformed_values_are_refused_naming_the_key(raw: dict[str, Any], named: str) -> None:
    with pytest.raises(InputError) as caught:
        policy_from_dict(raw, source="riskops.toml")
    assert named in str(caught.value)
    assert str(caught.value).startswith("riskops.toml: governance.")  # the key, not "job ..."


def test_a_malformed_section_is_one_line_and_exit_2_on_the_command_line(workspace, cli
                                                                         ) -> None:  # type: ignore[no-untyped-def]
    with workspace.config_path.open("a", encoding="utf-8") as f:
        f.write('\n[governance.rollback]\nmode = "sometimes"\n')
    for args in (("slo", "status"), ("retrain", "check", "fraud")):
        result = cli(*args)
        assert result.code == 2, args
        assert result.err.strip().count("\n") == 0 and "Traceback" not in result.err
        assert "governance.rollback.mode must be one of" in result.err
