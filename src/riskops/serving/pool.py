"""The verified models a server process scores with, and their hot swap.

``ModelPool.refresh`` reads the signed manifest, verifies its signature, and
loads every version the manifest routes traffic to (production, canary,
tenant pins) through ``registry.loader.load_model``, which re-checks every
artifact digest before deserialising. Each new version is warmed up on sample
rows, then the pool swaps in a new immutable ``Snapshot`` with one reference
assignment. A request takes the snapshot once at its start, so in-flight
requests finish on the versions they started with.

A version of a model shape the fast path knows (``serving.fast_path``) also gets
its compiled scorer, used only after it gave the very same score as the signed
estimator on every golden row (``_with_fast_path``); otherwise, or with
``[serving] fast_path = false``, the estimator scores it as before.

When verification fails the pool keeps its last good snapshot (or none: the
scenarios then answer from their heuristics), records why for ``/ready`` and
reports the failure once per distinct problem through ``on_integrity_failure``.
A manifest whose ``manifest_version`` is lower than one already served is
refused: replaying an old, validly signed manifest cannot roll serving back.

A manifest on disk that is older than the database's newest, but not older than
what this host verified (``Admission.behind_database``), is what every replica
sees for a moment while another one publishes (the database commit comes first,
then the files): for ``PUBLISH_GRACE_SECONDS`` the pool keeps its models and says
nothing, then treats it as an interrupted publish (refused and reported like any
stale manifest). One older than this host's mark is a replay, refused at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from riskops.config import Workspace
from riskops.errors import FastPathUnsupported, InputError, IntegrityError
from riskops.registry.definitions import CustomServed, custom_scenario
from riskops.registry.floor import Admission, admit_manifest
from riskops.registry.loader import LoadedModel, load_model, verify_version
from riskops.registry.manifest import VerifiedManifest
from riskops.registry.trust import chain_path
from riskops.scenarios.base import Scenario
from riskops.serving.fast_path import (
    FastPath,
    compare_with_estimator,
    compile_fast_path,
    golden_rows,
)
from riskops.serving.ranges import TrainingRanges, training_ranges

log = logging.getLogger("riskops.serving")

#: Rows scored once through every newly loaded version before it takes traffic.
WARMUP_ROWS = 8
#: How long a manifest on disk may lag the database's newest before it counts as an
#: interrupted publish (refused and reported) rather than one still being written.
PUBLISH_GRACE_SECONDS = 10.0
#: Versions per model kept in memory after the manifest stopped routing to them, so a
#: rollback to one is a swap (``ModelPool._retain``).
RETAINED_VERSIONS = 2
#: Sample rows among the golden rows a fast path is checked on (edge rows are added).
GOLDEN_SAMPLE_ROWS = 64


@dataclass(frozen=True, slots=True)
class ServedVersion:
    """A loaded, verified model version, the threshold signed with it and the ranges its
    training data covered (``None``: the version has no reference profile)."""

    loaded: LoadedModel
    threshold: float
    ranges: TrainingRanges | None = None
    #: The compiled scorer checked against ``loaded.estimator``; None: the estimator scores.
    fast: FastPath | None = None
    #: Why the estimator scores this version (None when the fast path does).
    estimator_reason: str | None = None

    @property
    def scoring_path(self) -> str:
        """``fast`` or ``estimator``: what scores this version's requests."""
        return "fast" if self.fast is not None else "estimator"

    @property
    def model(self) -> str:
        return self.loaded.model

    @property
    def version(self) -> int:
        return self.loaded.version


@dataclass(frozen=True)
class ModelSlot:
    """The live versions of one model (its name is the scenario's)."""

    production: ServedVersion | None = None
    canary: ServedVersion | None = None
    canary_percent: int = 0
    pins: Mapping[str, ServedVersion | None] = field(default_factory=dict)

    def versions(self) -> list[ServedVersion]:
        found = [self.production, self.canary, *self.pins.values()]
        unique = {(v.model, v.version): v for v in found if v is not None}
        return list(unique.values())


@dataclass(frozen=True)
class Snapshot:
    """What the process serves right now; replaced whole, never mutated."""

    manifest_version: int | None = None
    slots: Mapping[str, ModelSlot] = field(default_factory=dict)
    problems: tuple[str, ...] = ("no signed manifest loaded yet",)
    loaded_at: datetime | None = None
    #: The served manifest's digest and the fingerprint of the key that verified it.
    sha256: str | None = None
    signed_by: str | None = None
    #: Custom scenarios served, each from its signed definition (``registry.definitions``);
    #: the same mapping object while they do not change.
    custom: Mapping[str, CustomServed] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.problems


IntegrityCallback = Callable[[str, dict[str, Any]], None]


def _file_key(path: os.PathLike[str]) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class ModelPool:
    """Loads, verifies, warms and atomically swaps the served model versions."""

    def __init__(
        self,
        ws: Workspace,
        scenarios: Mapping[str, Scenario],
        *,
        on_integrity_failure: IntegrityCallback | None = None,
        fast_path: bool = True,
    ) -> None:
        self._ws = ws
        self._fast_path = fast_path
        self._scenarios = dict(scenarios)
        self._on_failure = on_integrity_failure
        self._snapshot = Snapshot()
        self._refresh_lock = threading.Lock()
        self._seen: tuple[Any, ...] | None = None
        self._reported: set[str] = set()
        #: Warm-up and golden sample rows by scenario, schema (a custom scenario's schema
        #: may change) and count.
        self._samples: dict[tuple[str, str, int], pd.DataFrame] = {}
        #: Versions served before and routed no more, by (model, version) (``_retain``).
        self._retained: dict[tuple[str, int], ServedVersion] = {}
        #: Since when the manifest on disk has been behind the database (``_publishing``).
        self._behind_since: float | None = None

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the manifest if its files changed; True if the snapshot was replaced."""
        with self._refresh_lock:
            key = (_file_key(self._ws.manifest_path), _file_key(self._ws.signature_path),
                   _file_key(self._ws.public_key_path), _file_key(chain_path(self._ws)))
            if not force and key == self._seen:
                return False
            self._seen = key
            return self._reload()

    def _reload(self) -> bool:
        current = self._snapshot
        try:
            admission = admit_manifest(self._ws)
        except (IntegrityError, InputError, OSError) as exc:
            problem = f"manifest not verified: {exc}"
            self._report(problem, {"subject": "manifest.json", "reason": str(exc)})
            self._snapshot = _with_problems(current, (problem,))
            return True
        if self._publishing(admission):
            return False
        for problem in admission.problems:
            self._report(problem, {"subject": "manifest.json", "reason": problem})
        evicted = _eviction(current, admission)
        if evicted is not None:
            self._report(evicted, {"subject": "manifest.json", "reason": evicted,
                                   "manifestVersion": current.manifest_version})
            current = Snapshot(problems=(evicted,), loaded_at=datetime.now(UTC))
            self._retained = {}  # nothing signed under the revoked key stands in again
        verified = admission.verified
        early = (evicted,) if evicted else ()
        if admission.refused or verified is None:
            self._snapshot = _with_problems(current, (*early, *admission.problems))
            return True
        manifest = verified.manifest
        problems: list[str] = [*early, *admission.problems]
        custom = self._custom_scenarios(verified, current.custom, problems)
        scenarios = {**self._scenarios, **{n: c.scenario for n, c in custom.items()}}
        slots: dict[str, ModelSlot] = {}
        for name, scenario in scenarios.items():
            if name not in manifest.models:
                continue
            slot, slot_problems = self._build_slot(verified, name, scenario,
                                                   current.slots.get(name), custom.get(name))
            problems += slot_problems
            slots[name] = slot
        self._retain(current, slots)
        self._snapshot = Snapshot(manifest_version=manifest.manifest_version, slots=slots,
                                  problems=tuple(problems), loaded_at=datetime.now(UTC),
                                  sha256=verified.sha256, signed_by=verified.signed_by,
                                  custom=custom)
        try:
            admission.record()
        except (IntegrityError, OSError) as exc:  # the mark is a guard; serving goes on
            log.error("could not raise the high-water mark %s: %s", admission.mark_file, exc)
        for name, slot in slots.items():
            for v in slot.versions():
                log.info("serving %s v%s (manifest v%s)", name, v.version,
                         manifest.manifest_version)
        return True

    def _retain(self, current: Snapshot, slots: Mapping[str, ModelSlot]) -> None:
        """Keep the versions ``current`` served that ``slots`` no longer route to (newest
        ``RETAINED_VERSIONS`` per model), so that a rollback to one of them is a swap, not
        a load. One is reused only when the new manifest names the same artifact digest
        and threshold and its files still verify on disk (``_load``)."""
        live = {(v.model, v.version) for slot in slots.values() for v in slot.versions()}
        retained = dict(self._retained)
        for slot in current.slots.values():
            for v in slot.versions():
                retained.pop((v.model, v.version), None)
                retained[(v.model, v.version)] = v  # newest last
        kept: dict[tuple[str, int], ServedVersion] = {}
        for key in reversed([k for k in retained if k not in live]):
            if sum(1 for k in kept if k[0] == key[0]) < RETAINED_VERSIONS:
                kept[key] = retained[key]
        self._retained = kept

    def _publishing(self, admission: Admission) -> bool:
        """True while the manifest on disk is behind the database for less than
        ``PUBLISH_GRACE_SECONDS``: a publisher has committed a newer manifest and is
        writing its files. The current models stay, nothing is reported, and the next poll
        looks again (the files it is waiting for change the file key anyway). Past the
        grace the publish is taken as interrupted and refused and reported as before."""
        if not admission.behind_database:
            self._behind_since = None
            return False
        now = time.monotonic()
        if self._behind_since is None:
            self._behind_since = now
        if now - self._behind_since >= PUBLISH_GRACE_SECONDS:
            return False
        self._seen = None
        log.info("manifest.json is behind the database's newest (a publish in progress); "
                 "keeping manifest v%s", self._snapshot.manifest_version)
        return True

    def _custom_scenarios(self, verified: VerifiedManifest,
                          previous: Mapping[str, CustomServed],
                          problems: list[str]) -> Mapping[str, CustomServed]:
        """The custom scenarios of ``verified`` (models that are not reference scenarios),
        each from the definition of the version it routes to; ``previous`` is returned
        as is when nothing changed. A definition that fails its digest or its rules is a
        problem and its scenario is not served; a model with no definition at all (an
        artifact-only version) is not a scenario and is skipped."""
        found: dict[str, CustomServed] = {}
        for name in verified.manifest.models:
            if name in self._scenarios:
                continue
            try:
                served = custom_scenario(verified, name, previous.get(name))
            except Exception as exc:  # whatever the reason, this scenario is not served
                reason = _reason(exc)
                problem = f"{name}: scenario definition not loaded: {reason}"
                problems.append(problem)
                self._report(problem, {"modelId": name, "reason": reason,
                                       "manifestVersion": verified.manifest.manifest_version})
                continue
            if served is None:
                log.info("%s has no version with a scenario definition; not served", name)
                continue
            found[name] = served
        unchanged = found.keys() == previous.keys() and all(
            found[n] is previous[n] for n in found)
        return previous if unchanged else found

    def _build_slot(self, verified: VerifiedManifest, name: str, scenario: Scenario,
                    previous: ModelSlot | None, custom: CustomServed | None = None,
                    ) -> tuple[ModelSlot, list[str]]:
        manifest = verified.manifest
        stages = manifest.models[name].stages
        problems: list[str] = []
        known = {(v.model, v.version): v for v in (previous.versions() if previous else [])}

        def get(version: int | None, role: str) -> ServedVersion | None:
            if version is None:
                return None
            try:
                if custom is not None:
                    custom.check_version(verified, version)
                return self._load(verified, name, version, scenario, known)
            except Exception as exc:  # whatever the reason, this version is not served
                reason = _reason(exc)
                problem = f"{name} v{version} ({role}) not loaded: {reason}"
                problems.append(problem)
                self._report(problem, {"modelId": name, "version": version, "stage": role,
                                       "reason": reason,
                                       "manifestVersion": manifest.manifest_version})
                # Only the same version, already verified and in memory, may stand in;
                # anything else would serve a version the manifest no longer routes to
                # (the one exception, production moving forward, is below).
                return known.get((name, version))

        production = get(stages.production, "production")
        kept = _kept_production(previous, stages.production, manifest.models[name].versions)
        if production is None and kept is not None:
            problems.append(f"{name}: keeping production v{kept.version}, the version it had, "
                            f"while v{stages.production} cannot be loaded")
            production = kept
        canary = get(stages.canary.version, "canary") if stages.canary else None
        percent = stages.canary.percent if stages.canary and canary is not None else 0
        pins: dict[str, ServedVersion | None] = {}
        for tenant, pin in manifest.models[name].pins.items():
            pins[tenant] = None if pin == "heuristic" else get(int(pin), "pin")
        return ModelSlot(production, canary, percent, pins), problems

    def _load(self, verified: VerifiedManifest, name: str, version: int, scenario: Scenario,
              known: Mapping[tuple[str, int], ServedVersion]) -> ServedVersion:
        entry = verified.manifest.version(name, version)
        threshold = version_threshold(entry.metrics, scenario)
        digest = next((a.sha256 for a in entry.artifacts
                       if entry.entrypoint and a.path.endswith("/" + entry.entrypoint)), None)
        previous = known.get((name, version))
        if previous is not None and previous.loaded.sha256 == digest \
                and previous.threshold == threshold:
            return previous
        again = self._retained.get((name, version))
        if again is not None and again.loaded.sha256 == digest and again.threshold == threshold:
            # Served before and routed to again (a rollback): its files must still verify
            # on disk, as a load would check them; the deserialising, the warm-up and the
            # fast path's check are what is saved.
            verify_version(verified, name, version)
            return again
        loaded = load_model(verified, name, version,
                            trusted_types=self._ws.settings.trusted_types)
        served = ServedVersion(loaded, threshold,
                               training_ranges(verified, name, version, scenario.schema))
        self._warm_up(scenario, served)
        return self._with_fast_path(scenario, served)

    def _warm_up(self, scenario: Scenario, served: ServedVersion) -> None:
        sample = self._sample(scenario, WARMUP_ROWS)
        try:
            scenario.risk_scores(served.loaded.estimator, sample)
        except Exception as exc:  # a model that cannot score its own schema is not served
            raise InputError(f"warm-up scoring failed ({type(exc).__name__}: {exc})") from None

    def _with_fast_path(self, scenario: Scenario, served: ServedVersion) -> ServedVersion:
        if not self._fast_path:
            return replace(served, estimator_reason="fast path turned off ([serving] fast_path)")
        return with_fast_path(scenario, served, self._sample(scenario, GOLDEN_SAMPLE_ROWS))

    def _sample(self, scenario: Scenario, rows: int) -> pd.DataFrame:
        key = (scenario.name, repr(scenario.schema), rows)
        sample = self._samples.get(key)
        if sample is None:
            sample = scenario.sample_rows(rows)
            self._samples[key] = sample
        return sample

    def _report(self, problem: str, data: dict[str, Any]) -> None:
        log.error("%s", problem)
        if problem in self._reported:
            return
        self._reported.add(problem)
        if self._on_failure is not None:
            try:
                self._on_failure(problem, data)
            except Exception:  # reporting must never take serving down
                log.exception("could not record model_integrity_failed")

def _reason(exc: Exception) -> str:
    """Why a version or a definition was not loaded: riskops' own message, else the
    exception's type and message (an unexpected fault names what it was)."""
    return str(exc) if isinstance(exc, IntegrityError | InputError) else (
        f"{type(exc).__name__}: {exc}")


def _with_problems(snapshot: Snapshot, problems: tuple[str, ...]) -> Snapshot:
    return replace(snapshot, problems=tuple(dict.fromkeys(problems)))


def _eviction(snapshot: Snapshot, admission: Admission) -> str | None:
    """Why the models ``snapshot`` serves may no longer be served, or ``None``.

    A snapshot is only as good as the chain that gave it: once the key that
    verified it is revoked (or no longer reachable from the pins), or the
    database says its manifest version was something else or was never
    published, its models are dropped at once and the scenarios answer from
    their heuristics until a manifest passes again.
    """
    if snapshot.manifest_version is None or not snapshot.slots:
        return None
    trust = admission.trust
    if snapshot.signed_by is not None and snapshot.signed_by not in trust.known:
        why = "revoked" if snapshot.signed_by in trust.revoked else "no longer trusted"
        return (f"the served manifest v{snapshot.manifest_version} was verified with key "
                f"{snapshot.signed_by}, which is {why}; its models are dropped (heuristics "
                "answer) until a manifest signed by a trusted key passes")
    floor = admission.floor
    if floor is None or floor.database is None or floor.database_sha256 is None:
        return None
    if snapshot.manifest_version > floor.database:
        return (f"the served manifest v{snapshot.manifest_version} is newer than anything the "
                f"database published (v{floor.database}); its models are dropped")
    if snapshot.manifest_version == floor.database and snapshot.sha256 != floor.database_sha256:
        return (f"the served manifest v{snapshot.manifest_version} is not the one the database "
                "published under that version; its models are dropped")
    return None


def _kept_production(previous: ModelSlot | None, target: int | None,
                     listed: Mapping[str, Any]) -> ServedVersion | None:
    """The production version to keep when the new production ``target`` fails to load.

    Only a promotion forward keeps the version the model had (it was
    verified, approved and served until now). A rollback (a lower target) or
    a retirement (no target) never does: the version being left is the one
    that was judged bad, so the heuristic answers instead.
    """
    had = previous.production if previous is not None else None
    if had is None or target is None or had.version >= target or str(had.version) not in listed:
        return None
    return had


def with_fast_path(scenario: Scenario, served: ServedVersion,
                   sample: pd.DataFrame) -> ServedVersion:
    """``served`` with its fast path when one compiles and scores every golden row (made
    from ``sample``, ``fast_path.golden_rows``) exactly as the signed estimator does;
    else ``served`` with the reason the estimator scores it."""
    estimator = served.loaded.estimator
    try:
        fast = compile_fast_path(scenario, estimator)
    except FastPathUnsupported as exc:
        log.info("%s v%s: no fast path (%s); the estimator scores it", served.model,
                 served.version, exc)
        return replace(served, estimator_reason=f"no fast path: {exc}")
    except Exception as exc:  # a fault in compiling must not cost the version its serving
        reason = f"fast path not compiled ({type(exc).__name__}: {exc})"
        log.error("%s v%s: %s; the estimator scores it", served.model, served.version, reason)
        return replace(served, estimator_reason=reason)
    try:
        check = compare_with_estimator(scenario, estimator, fast,
                                       golden_rows(scenario, fast, sample))
    except Exception as exc:  # either side failed on a golden row: not checked, not used
        reason = f"fast path not checked ({type(exc).__name__}: {exc})"
        log.error("%s v%s: %s; the estimator scores it", served.model, served.version, reason)
        return replace(served, estimator_reason=reason)
    if not check.identical:
        reason = (f"fast path refused: {check.differing} of {check.rows} golden rows scored "
                  f"differently from the signed estimator (max |difference| "
                  f"{check.max_abs_difference:.3g})")
        log.error("%s v%s: %s; the estimator scores it", served.model, served.version, reason)
        return replace(served, estimator_reason=reason)
    log.info("%s v%s: fast path checked on %d golden rows", served.model, served.version,
             check.rows)
    return replace(served, fast=fast)


def version_threshold(metrics: Mapping[str, Any], scenario: Scenario) -> float:
    """The threshold signed with a version (its metrics), else the scenario's default."""
    value = metrics.get("threshold")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return scenario.default_threshold

