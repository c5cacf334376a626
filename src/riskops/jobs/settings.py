"""The ``[scheduler]`` and ``[worker]`` sections of ``riskops.toml``.

    [scheduler]
    timezone = "UTC"                  # default zone of every schedule
    poll_seconds = 30                 # how often `riskops scheduler` looks for due slots

    [scheduler.jobs]
    model-monitoring = "0 6 * * 0"    # a cron expression replaces the default schedule
    lake-export = "off"               # "off" unschedules a job (it still runs on demand)
    integrity-check = { cron = "0 3 * * *", timezone = "Europe/Berlin" }
    nightly-report = { cron = "0 1 * * *", target = "acme.reports:nightly" }  # your own job

    [worker]
    exchange = "riskops.events"       # topic exchange triggers are published to
    queue = "bi_batch_jobs"           # durable queue the worker consumes
    routing_key = "workflow.job.trigger"
    dead_letter_exchange = "bi_batch_jobs.dead"   # default: <queue>.dead
    dead_letter_queue = "bi_batch_jobs.dead"      # default: <queue>.dead
    max_attempts = 3                  # starts of one message before it is dead-lettered
    max_message_bytes = 1048576

``RISKOPS_<JOB>_CRON`` (e.g. ``RISKOPS_MODEL_MONITORING_CRON="0 5 * * 1"``, or
``off``) overrides the file for one job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.jobs import catalog
from riskops.jobs.cron import Schedule, check_timezone, parse_schedule

OFF = "off"
DEFAULT_POLL_SECONDS = 30.0
SCHEDULER_KEYS = ("timezone", "poll_seconds", "jobs")
JOB_KEYS = ("cron", "timezone", "target", "description", "enabled")
WORKER_KEYS = ("exchange", "queue", "routing_key", "dead_letter_exchange",
               "dead_letter_queue", "max_attempts", "max_message_bytes")


@dataclass(frozen=True)
class JobConfig:
    """One job as configured: its spec, its schedule (``None``: unscheduled) and where
    the schedule came from (``default``, ``config``, ``env`` or ``off``)."""

    spec: catalog.JobSpec
    schedule: Schedule | None
    source: str


@dataclass(frozen=True)
class SchedulerSettings:
    timezone: str
    poll_seconds: float
    jobs: dict[str, JobConfig]

    def spec(self, name: str) -> catalog.JobSpec:
        """The job ``name`` (built-in, registered or from the config), else InputError."""
        if name in self.jobs:
            return self.jobs[name].spec
        raise InputError(f"unknown job {name!r}; known jobs are {', '.join(sorted(self.jobs))}.")

    @property
    def scheduled(self) -> dict[str, Schedule]:
        return {n: c.schedule for n, c in sorted(self.jobs.items()) if c.schedule is not None}


@dataclass(frozen=True)
class WorkerSettings:
    exchange: str = "riskops.events"
    queue: str = "bi_batch_jobs"
    routing_key: str = "workflow.job.trigger"
    dead_letter_exchange: str = "bi_batch_jobs.dead"
    dead_letter_queue: str = "bi_batch_jobs.dead"
    max_attempts: int = 3
    max_message_bytes: int = 1024 * 1024


def env_var(job: str) -> str:
    """The environment variable overriding ``job``'s schedule: ``RISKOPS_<JOB>_CRON``."""
    return "RISKOPS_" + job.upper().replace("-", "_") + "_CRON"


def load_scheduler_settings(
    ws: Workspace, env: Mapping[str, str] | None = None,
) -> SchedulerSettings:
    """Read and validate ``[scheduler]`` of ``ws`` plus the ``RISKOPS_<JOB>_CRON`` overrides.

    Raises
    ------
    InputError
        Naming the file, the key or job, the rule and the fix.
    """
    env = os.environ if env is None else env
    raw = ws.settings.section("scheduler")
    where = f"{ws.config_path}: [scheduler]"
    _no_unknown(raw, SCHEDULER_KEYS, where)
    timezone = check_timezone(raw.get("timezone", "UTC"), job="[scheduler] default")
    poll = raw.get("poll_seconds", DEFAULT_POLL_SECONDS)
    if isinstance(poll, bool) or not isinstance(poll, int | float) or not 1 <= poll <= 3600:
        raise InputError(f"{where} poll_seconds must be a number from 1 to 3600, got {poll!r}.")
    table = raw.get("jobs", {})
    if not isinstance(table, dict):
        raise InputError(f"{where} jobs must be a table of job = \"cron expression\", got "
                         f"{type(table).__name__}.")
    specs = {spec.name: spec for spec in catalog.specs()}
    jobs: dict[str, JobConfig] = {}
    for name, value in table.items():
        jobs[name] = _job_from_config(name, value, specs.get(name), timezone,
                                      f"{where} jobs.{name}")
    for name, spec in specs.items():
        if name not in jobs:
            schedule = (parse_schedule(spec.schedule, timezone, job=name)
                        if spec.schedule else None)
            jobs[name] = JobConfig(spec, schedule, "default" if schedule else OFF)
    for name, config in list(jobs.items()):
        override = env.get(env_var(name))
        if override is None:
            continue
        if override.strip().lower() in (OFF, ""):
            jobs[name] = JobConfig(config.spec, None, "env")
            continue
        zone = config.schedule.timezone if config.schedule else timezone
        try:
            schedule = parse_schedule(override, zone, job=name)
        except InputError as exc:
            raise InputError(f"{env_var(name)}: {exc}") from None
        jobs[name] = JobConfig(config.spec, schedule, "env")
    return SchedulerSettings(timezone=timezone, poll_seconds=float(poll), jobs=jobs)


def _job_from_config(name: str, value: object, builtin: catalog.JobSpec | None,
                     default_zone: str, where: str) -> JobConfig:
    catalog.check_name(name)
    if isinstance(value, str):
        value = {"cron": value}
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a cron expression string or a table with cron, "
                         f"timezone, target; got {value!r}.")
    _no_unknown(value, JOB_KEYS, where)
    target = value.get("target")
    description = value.get("description", builtin.description if builtin else "")
    if not isinstance(description, str):
        raise InputError(f"{where} description must be a string.")
    if target is not None:
        spec = catalog.JobSpec(name, catalog.check_target(target, job=name), description)
    elif builtin is not None:
        spec = catalog.JobSpec(name, builtin.target, description, builtin.schedule)
    else:
        known = ", ".join(s.name for s in catalog.specs())
        raise InputError(f"{where}: unknown job {name!r}; known jobs are {known}. To add your "
                         f"own, give its code: {name} = {{ cron = \"...\", target = "
                         "\"module.path:function\" }.")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InputError(f"{where} enabled must be true or false, got {enabled!r}.")
    zone = check_timezone(value.get("timezone", default_zone), job=name)
    cron = value.get("cron", spec.schedule)
    if not enabled or cron is None or (isinstance(cron, str) and cron.strip().lower() == OFF):
        return JobConfig(spec, None, OFF)
    return JobConfig(spec, parse_schedule(cron, zone, job=name), "config")


def load_worker_settings(ws: Workspace) -> WorkerSettings:
    """Read and validate ``[worker]`` of ``ws``; defaults for what is not set."""
    raw = ws.settings.section("worker")
    where = f"{ws.config_path}: [worker]"
    _no_unknown(raw, WORKER_KEYS, where)
    names: dict[str, str] = {}
    for key in ("exchange", "queue", "routing_key", "dead_letter_exchange",
                "dead_letter_queue"):
        if key not in raw:
            continue
        value = raw[key]
        if not isinstance(value, str) or not value.strip() or len(value) > 255 \
                or value.startswith("amq."):
            raise InputError(f"{where} {key} must be a non-empty name of at most 255 "
                             f"characters, not starting with 'amq.' (reserved); got {value!r}.")
        names[key] = value
    numbers: dict[str, int] = {}
    for key, low, high in (("max_attempts", 1, 100), ("max_message_bytes", 1024, 128 * 2**20)):
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InputError(f"{where} {key} must be an integer from {low} to {high}, "
                             f"got {value!r}.")
        numbers[key] = value
    queue = names.get("queue", WorkerSettings.queue)
    names.setdefault("dead_letter_exchange", f"{queue}.dead")
    names.setdefault("dead_letter_queue", f"{queue}.dead")
    if names["dead_letter_queue"] == queue:
        raise InputError(f"{where} dead_letter_queue must differ from queue ({queue!r}); "
                         "dead letters would loop back to the worker.")
    return WorkerSettings(**names, **numbers)  # type: ignore[arg-type]


def _no_unknown(raw: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise InputError(f"{where} has unknown key {unknown[0]!r}; known keys are "
                         f"{', '.join(known)}.")
