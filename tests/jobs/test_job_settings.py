"""[scheduler] and [worker] settings, RISKOPS_<JOB>_CRON overrides, the catalog."""

from __future__ import annotations

import pytest
from jobs_helpers import configure

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.jobs import catalog
from riskops.jobs.settings import env_var, load_scheduler_settings, load_worker_settings


def test_defaults(workspace: Workspace) -> None:
    settings = load_scheduler_settings(workspace, env={})
    assert settings.timezone == "UTC" and settings.poll_seconds == 30
    monitoring = settings.jobs["model-monitoring"]
    assert monitoring.schedule is not None
    assert (monitoring.schedule.expression, monitoring.source) == ("0 6 * * 0", "default")
    assert set(settings.jobs) >= {"model-monitoring", "integrity-check", "lake-export",
                                  "events-dispatch"}


def test_config_overrides_schedule_zone_and_adds_a_job(workspace: Workspace) -> None:
    ws = configure(workspace, """
[scheduler]
timezone = "Europe/Berlin"
poll_seconds = 5
[scheduler.jobs]
model-monitoring = "0 2 * * 2#2"
lake-export = "off"
integrity-check = { cron = "0 4 * * *", timezone = "UTC" }
nightly-report = { cron = "0 1 * * *", target = "acme.reports:nightly" }
""")
    settings = load_scheduler_settings(ws, env={})
    scheduled = settings.scheduled
    assert str(scheduled["model-monitoring"]) == "0 2 * * 2#2 (Europe/Berlin)"
    assert "lake-export" not in scheduled and settings.jobs["lake-export"].source == "off"
    assert scheduled["integrity-check"].timezone == "UTC"
    assert settings.jobs["nightly-report"].spec.target == "acme.reports:nightly"
    assert scheduled["events-dispatch"].timezone == "Europe/Berlin"  # default zone applies


def test_env_overrides_config(workspace: Workspace) -> None:
    ws = configure(workspace, '[scheduler.jobs]\nmodel-monitoring = "0 2 * * 2#2"\n')
    assert env_var("model-monitoring") == "RISKOPS_MODEL_MONITORING_CRON"
    settings = load_scheduler_settings(ws, env={"RISKOPS_MODEL_MONITORING_CRON": "0 5 * * 1",
                                                "RISKOPS_LAKE_EXPORT_CRON": "off"})
    assert settings.scheduled["model-monitoring"].expression == "0 5 * * 1"
    assert settings.jobs["model-monitoring"].source == "env"
    assert "lake-export" not in settings.scheduled


def test_env_override_with_a_bad_rule_names_the_variable(workspace: Workspace) -> None:
    with pytest.raises(InputError, match="RISKOPS_MODEL_MONITORING_CRON: job model-monitoring: "
                                         "schedule '0 6 \\* \\*' has 4 fields"):
        load_scheduler_settings(workspace, env={"RISKOPS_MODEL_MONITORING_CRON": "0 6 * *"})


@pytest.mark.parametrize(("text", "message"), [
    ("[scheduler]\ncron = 1\n", "\\[scheduler\\] has unknown key 'cron'; known keys are "
                                "timezone, poll_seconds, jobs"),
    ("[scheduler]\npoll_seconds = 0\n", "poll_seconds must be a number from 1 to 3600"),
    ("[scheduler]\ntimezone = \"Moon\"\n", "timezone 'Moon' is not a known IANA zone"),
    ("[scheduler.jobs]\nmodel-monitorin = \"0 6 * * 0\"\n",
     "unknown job 'model-monitorin'; known jobs are events-dispatch, integrity-check"),
    ("[scheduler.jobs]\nlake-export = \"0 25 * * *\"\n",
     "job lake-export: schedule '0 25 \\* \\* \\*' is not a valid cron expression"),
    ("[scheduler.jobs]\nx = { cron = \"@daily\", target = \"not a target\" }\n",
     "job x: target 'not a target' must be 'module.path:function'"),
    ("[scheduler.jobs]\nlake-export = { crn = \"@daily\" }\n",
     "jobs.lake-export has unknown key 'crn'"),
])
def test_invalid_scheduler_config(workspace: Workspace, text: str, message: str) -> None:
    ws = configure(workspace, text)
    with pytest.raises(InputError, match=message):
        load_scheduler_settings(ws, env={})


def test_worker_settings(workspace: Workspace) -> None:
    assert load_worker_settings(workspace).queue == "bi_batch_jobs"
    assert load_worker_settings(workspace).dead_letter_queue == "bi_batch_jobs.dead"
    ws = configure(workspace, '[worker]\nqueue = "jobs_a"\nmax_attempts = 5\n')
    settings = load_worker_settings(ws)
    assert (settings.queue, settings.dead_letter_exchange, settings.max_attempts) == (
        "jobs_a", "jobs_a.dead", 5)


@pytest.mark.parametrize(("text", "message"), [
    ("queue = \"\"", "queue must be a non-empty name"),
    ("exchange = \"amq.topic\"", "not starting with 'amq.'"),
    ("max_attempts = 0", "max_attempts must be an integer from 1 to 100"),
    ("prefetch = 10", "unknown key 'prefetch'"),
    ("queue = \"q\"\ndead_letter_queue = \"q\"", "dead_letter_queue must differ from queue"),
])
def test_invalid_worker_config(workspace: Workspace, text: str, message: str) -> None:
    ws = configure(workspace, "[worker]\n" + text + "\n")
    with pytest.raises(InputError, match=message):
        load_worker_settings(ws)


def test_unknown_job_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown job 'nope'; known jobs are events-dispatch, "
                                         "integrity-check, lake-export, model-monitoring"):
        catalog.get("nope")


def test_register_hook_adds_and_removes_a_job(workspace: Workspace) -> None:
    catalog.register("hooked", "jobs_helpers:record_job", schedule="@daily")
    try:
        settings = load_scheduler_settings(workspace, env={})
        assert settings.scheduled["hooked"].expression == "@daily"
    finally:
        catalog.unregister("hooked")
    assert "hooked" not in catalog.names()
    with pytest.raises(InputError, match="job name 'Bad Name' is not valid"):
        catalog.register("Bad Name", "a:b")
