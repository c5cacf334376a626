"""Batch jobs: ``riskops jobs ...``, ``riskops scheduler`` and ``riskops worker``.

    riskops jobs list [--json]
    riskops jobs run integrity-check [--metadata '{"model": "fraud"}'] [--json]
    riskops jobs trigger model-monitoring [--metadata JSON] [--json]
    riskops jobs history [--job NAME] [--limit 20] [--json]
    riskops scheduler [--once] [--poll 30] [--in-process] [--metrics-port 9101]
    riskops worker [--max-messages N] [--metrics-port 9102]
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from riskops.cli.common import HomeOption, JsonFlag, err, open_ws, out, plural, print_json
from riskops.errors import InputError

app = typer.Typer(help="Batch jobs: list, run now, trigger on the workers.", no_args_is_help=True)

MetadataOption = Annotated[str | None, typer.Option(
    "--metadata", metavar="JSON",
    help="Job metadata as a JSON object, e.g. '{\"tenant\": \"acme\"}'.")]
MetricsPort = Annotated[int | None, typer.Option(
    "--metrics-port", metavar="PORT", help="Serve Prometheus /metrics of this process on PORT.")]
MetricsAddr = Annotated[str, typer.Option(
    "--metrics-addr", metavar="ADDR", help="Address the --metrics-port server binds to.")]



@app.command("list")
def list_(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Every job with its schedule, next run and last run."""
    from rich.table import Table

    from riskops.jobs.scheduler import overview

    rows = overview(open_ws(home))
    if as_json:
        print_json(rows)
        return
    table = Table("job", "schedule", "next run (UTC)", "last run", "status")
    for r in rows:
        schedule = "-" if r["schedule"] is None else (
            r["schedule"] + ("" if r["timezone"] == "UTC" else f" ({r['timezone']})"))
        if r["schedule_source"] not in ("default", "off"):
            schedule += f" [{r['schedule_source']}]"
        last = r["last_run"]
        table.add_row(r["job"], schedule, (r["next_run"] or "-")[:16].replace("T", " "),
                      "-" if last is None else
                      f"{last['started_at'][:16].replace('T', ' ')} ({last['trigger']})",
                      "-" if last is None else last["status"])
    out.print(table)


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Job to run.")],
    metadata: MetadataOption = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Run one job in this process now and record it; exit 1 if it fails."""
    from riskops.jobs.runner import parse_metadata, run_job

    meta = parse_metadata(metadata)
    outcome = run_job(open_ws(home, "operate"), name, meta, trigger="manual")
    if as_json:
        print_json(outcome.as_dict())
    elif outcome.ok:
        out.print(f"{name}: succeeded in {outcome.duration_seconds:.2f} s (run "
                  f"{outcome.run_id}).", markup=False)
    else:
        err.print(f"error: {name} failed (run {outcome.run_id}): {outcome.error}",
                  markup=False)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command("trigger")
def trigger(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Job to trigger.")],
    metadata: MetadataOption = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue a job for the workers (RabbitMQ); without a broker, run it here now."""
    from riskops.jobs.runner import parse_metadata
    from riskops.jobs.trigger import trigger_job

    meta = parse_metadata(metadata)
    result = trigger_job(open_ws(home, "operate"), name, meta)
    run = result.get("run")
    if as_json:
        print_json(result)
    elif result["mode"] == "queued":
        out.print(f"queued {name} (trigger {result['trigger_id']}) on exchange "
                  f"{result['exchange']} key {result['routing_key']}; a 'riskops worker' "
                  f"consuming {result['queue']} runs it.", markup=False)
    elif run["status"] == "succeeded":
        out.print(f"no broker configured: ran {name} in this process; succeeded in "
                  f"{run['duration_seconds']:.2f} s (run {run['run_id']}).", markup=False)
    else:
        err.print(f"error: no broker configured: ran {name} in this process; it failed "
                  f"(run {run['run_id']}): {run['error']}", markup=False)
    if run is not None and run["status"] == "failed":
        raise typer.Exit(1)


@app.command("history")
def history(
    job: Annotated[str | None, typer.Option("--job", metavar="NAME", help="Only this job.")] = None,
    limit: Annotated[int, typer.Option(
        "--limit", metavar="N", help="Newest N runs.", min=1, max=10000)] = 20,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Recent job runs, newest first."""
    from rich.table import Table

    from riskops.jobs.settings import load_scheduler_settings
    from riskops.storage import db, job_runs

    ws = open_ws(home)
    if job is not None:
        load_scheduler_settings(ws).spec(job)
    with db.read_session(ws.database_url) as session:
        runs = [r.as_dict() for r in job_runs.list_runs(session, job=job, limit=limit)]
    if as_json:
        print_json(runs)
        return
    table = Table("id", "job", "trigger", "slot", "status", "started", "owner", "error")
    for r in runs:
        table.add_row(str(r["id"]), r["job"], r["trigger"],
                      (r["scheduled_for"] or "-")[:16].replace("T", " "), r["status"],
                      r["started_at"][:19].replace("T", " "), r["owner"],
                      (r["error"] or "")[:60])
    out.print(table if runs else "no job runs recorded yet.")


def scheduler(
    once: Annotated[bool, typer.Option(
        "--once", help="Claim and run what is due now, then exit.")] = False,
    poll: Annotated[float | None, typer.Option(
        "--poll", metavar="SECONDS",
        help="Seconds between checks (default: [scheduler] poll_seconds, 30).",
        min=0.1, max=3600)] = None,
    in_process: Annotated[bool, typer.Option(
        "--in-process", help="Run due jobs here even when a broker is configured.")] = False,
    metrics_port: MetricsPort = None,
    metrics_addr: MetricsAddr = "127.0.0.1",
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Run jobs on their cron schedules; each due slot runs once across all schedulers."""
    from riskops.jobs.scheduler import Scheduler, SlotResult

    ws = open_ws(home, "operate")
    sched = Scheduler(ws, in_process=True if in_process else None)
    _log_info()
    _serve_metrics(metrics_port, metrics_addr)

    def show(results: list[SlotResult]) -> None:
        for r in results:
            line = f"{r.job} slot {r.scheduled_for:%Y-%m-%d %H:%M} UTC: {r.action}"
            if r.outcome is not None:
                line += f" -> {r.outcome.status}"
                if r.outcome.error:
                    line += f": {r.outcome.error}"
            err.print(line, markup=False)

    if once:
        sched.reap_orphans()
        results = sched.tick()
        if as_json:
            print_json([r.as_dict() for r in results])
        else:
            show(results)
            if not results:
                out.print("nothing due.")
        if any(r.outcome is not None and not r.outcome.ok for r in results):
            raise typer.Exit(1)
        return
    mode = "in-process" if sched.in_process else "queueing to the workers"
    err.print(f"scheduler started ({mode}); "
              f"{plural(len(sched.settings.scheduled), 'scheduled job')}; Ctrl-C to stop.",
              markup=False)
    sched.run_forever(poll_seconds=poll, on_tick=None if as_json else show)


def worker(
    max_messages: Annotated[int | None, typer.Option(
        "--max-messages", metavar="N", help="Exit after handling N messages.", min=1)] = None,
    metrics_port: MetricsPort = None,
    metrics_addr: MetricsAddr = "127.0.0.1",
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Consume job triggers from RabbitMQ and run them (needs RISKOPS_AMQP_URL)."""
    from riskops.jobs.worker import Worker

    ws = open_ws(home, "operate")
    consumer = Worker(ws)
    _log_info()
    _serve_metrics(metrics_port, metrics_addr)
    # The worker logs its one start line ("worker consuming QUEUE ...") once connected.
    stats = consumer.run(max_messages=max_messages)
    if as_json:
        print_json(stats.as_dict())
    else:
        err.print("worker stopped: " + ", ".join(f"{k} {v}" for k, v in
                                                 stats.as_dict().items()), markup=False)


def _log_info() -> None:
    """Long-running commands report what they do (claims, runs, dead letters) on stderr."""
    logging.getLogger("riskops.jobs").setLevel(logging.INFO)


def _serve_metrics(port: int | None, addr: str) -> None:
    if port is None:
        return
    if not 0 < port < 65536:
        raise InputError(f"--metrics-port {port} is not a TCP port (1-65535).")
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=addr)
    except OSError as exc:
        raise InputError(f"--metrics-port {port}: cannot listen on {addr}:{port}: "
                         f"{exc.strerror}; choose a free port.") from None
