"""The scenario a registered version is scored as: for a custom model, its signed definition.

A model whose name is not a reference scenario is served when one of its
versions carries ``scenario.json`` (``riskops.scenarios.definition``). The
definition comes from the version the model routes its traffic to, looked up
in this order: production, the canary, tenant pins (lowest version first),
then the production history from the newest (so a model rolled back to its
heuristic keeps its request schema and heuristic). The bytes are read through
``registry.loader.read_artifact`` (digest checked against the signed
manifest, and again as read) and parsed by the same rules as a config file.

Every live version of one model must carry the same definition (same
digest): requests are validated against one schema. A canary or pin whose
definition differs is not loaded (a problem on ``/ready``); promote it to
production to move the model to its definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from riskops.errors import InputError
from riskops.registry.loader import read_artifact
from riskops.registry.manifest import ModelEntry, VerifiedManifest
from riskops.registry.store import version_folder
from riskops.scenarios.base import Scenario
from riskops.scenarios.custom import CustomScenario
from riskops.scenarios.definition import DEFINITION_FILE, scenario_from_definition


@dataclass(frozen=True)
class CustomServed:
    """A custom scenario built from the definition of ``model`` v``version``."""

    scenario: CustomScenario
    model: str
    version: int
    sha256: str

    def check_version(self, verified: VerifiedManifest, version: int) -> None:
        """Refuse ``version`` unless it carries this very definition."""
        digest = definition_digest(verified.manifest.models[self.model], self.model, version)
        if digest != self.sha256:
            what = "it has no scenario definition" if digest is None else \
                f"its scenario definition differs from v{self.version}'s"
            raise InputError(
                f"{what}, and {self.model} is served with v{self.version}'s: every live "
                f"version of a model is validated by one schema; promote v{version} to "
                "production to switch definitions.")


def version_scenario(verified: VerifiedManifest, model: str, version: int) -> Scenario:
    """The scenario ``model`` v``version`` is scored as: a reference scenario by name, else
    the version's own signed definition.

    Raises
    ------
    InputError
        The version is artifact-only (no definition), or its definition breaks a rule.
    IntegrityError
        The definition's file is missing or altered.
    """
    from riskops.scenarios import REFERENCE, get_scenario

    if model in REFERENCE:
        return get_scenario(model)
    if definition_digest(verified.manifest.model(model), model, version) is None:
        raise InputError(f"{model} v{version} has no scenario definition ({DEFINITION_FILE}): "
                         "it is artifact-only and cannot be scored.")
    return _read_definition(verified, model, version, action="read")


def served_scenarios(verified: VerifiedManifest) -> dict[str, CustomScenario]:
    """Every custom scenario ``verified`` routes traffic to, by name; one whose definition
    cannot be read is left out (serving reports it; callers fall back to what they infer)."""
    from riskops.errors import IntegrityError
    from riskops.scenarios import REFERENCE

    found: dict[str, CustomScenario] = {}
    for name in verified.manifest.models:
        if name in REFERENCE:
            continue
        try:
            served = custom_scenario(verified, name)
        except (InputError, IntegrityError):
            continue
        if served is not None:
            found[name] = served.scenario
    return found


def definition_digest(entry: ModelEntry, model: str, version: int) -> str | None:
    """The signed SHA-256 of ``model`` v``version``'s ``scenario.json``, ``None`` without one."""
    listed = entry.versions.get(str(version))
    if listed is None:
        return None
    path = f"{version_folder(model, version)}/{DEFINITION_FILE}"  # at the top, nowhere else
    return next((a.sha256 for a in listed.artifacts if a.path == path), None)


def definition_version(entry: ModelEntry, model: str) -> int | None:
    """The version whose definition ``model`` is served with (see the module docstring)."""
    stages = entry.stages
    candidates = [stages.production, stages.canary.version if stages.canary else None,
                  *sorted(v for v in entry.pins.values() if isinstance(v, int)),
                  *reversed(entry.history)]
    for version in candidates:
        if version is not None and definition_digest(entry, model, version) is not None:
            return version
    return None


def custom_scenario(verified: VerifiedManifest, model: str,
                    previous: CustomServed | None = None) -> CustomServed | None:
    """``model`` as a custom scenario, or ``None`` when no routed version has a definition.

    ``previous`` is returned unchanged when it was built from the same bytes.

    Raises
    ------
    IntegrityError
        The definition's file is missing or altered.
    InputError
        The definition breaks a rule of the config format.
    """
    entry = verified.manifest.models[model]
    version = definition_version(entry, model)
    if version is None:
        return None
    digest = definition_digest(entry, model, version)
    if previous is not None and previous.sha256 == digest:
        return previous if previous.version == version else CustomServed(
            previous.scenario, model, version, previous.sha256)
    scenario = _read_definition(verified, model, version, action="served")
    return CustomServed(scenario, model, version, str(digest))


def _read_definition(verified: VerifiedManifest, model: str, version: int, *,
                     action: str) -> CustomScenario:
    """``model`` v``version``'s ``scenario.json``, read against its signed digest and parsed
    by the config rules."""
    raw = read_artifact(verified, model, version, DEFINITION_FILE, action=action)
    return scenario_from_definition(raw, model=model,
                                    where=f"{model} v{version} {DEFINITION_FILE}")
