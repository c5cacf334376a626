"""Reference scenarios and the lookup by name.

    get_scenario("fraud")                      # a reference scenario
    get_scenario("claims", config=Path(...))   # a custom one from a config file
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from riskops.errors import UnknownScenario
from riskops.scenarios.base import Scenario

REFERENCE: dict[str, str] = {
    "fraud": "riskops.scenarios.fraud:FraudScenario",
    "shortfall": "riskops.scenarios.shortfall:ShortfallScenario",
    "compliance": "riskops.scenarios.compliance:ComplianceScenario",
    "incident": "riskops.scenarios.incident:IncidentScenario",
    "deal": "riskops.scenarios.deal:DealScenario",
}


def get_scenario(name: str, *, config: Path | None = None) -> Scenario:
    """The scenario called ``name``: a reference one, or a custom one from ``config``."""
    if config is not None:
        from riskops.scenarios.custom import load_custom_scenario

        return load_custom_scenario(config, name=name)
    target = REFERENCE.get(name)
    if target is None:
        raise UnknownScenario(
            f"unknown scenario {name!r}; reference scenarios are {', '.join(REFERENCE)}, "
            "or define your own with --config FILE (see docs/ml.md)."
        )
    module, _, cls = target.partition(":")
    return getattr(import_module(module), cls)()
