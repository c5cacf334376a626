"""``riskops events ...``: the event outbox.

    riskops events list [--status failed] [--type ml.model.promoted] [--limit 50] [--json]
    riskops events show ID [--json]
    riskops events retry ID | --all-failed
    riskops events dispatch [--follow] [--interval 1.0]
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer

from riskops.cli.common import HomeOption, JsonFlag, err, open_ws, out, plural, print_json
from riskops.errors import InputError

app = typer.Typer(help="The event outbox: list, inspect, retry and deliver events.",
                  no_args_is_help=True)




@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(
        "--status", metavar="STATUS",
        help="Only deliveries with this status: pending, delivered or failed.")] = None,
    type_: Annotated[str | None, typer.Option(
        "--type", metavar="TYPE", help="Only events of this type, e.g. ml.model.promoted.")] = None,
    limit: Annotated[int, typer.Option(
        "--limit", metavar="N", help="At most this many rows.")] = 50,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Deliveries of events to sinks, newest first."""
    from riskops.events.envelope import event_type
    from riskops.events.outbox import STATUSES, list_deliveries

    if status is not None and status not in STATUSES:
        raise InputError(f"--status {status!r} is not one of {', '.join(STATUSES)}.")
    if type_ is not None:
        try:
            event_type(type_)
        except ValueError as exc:
            raise InputError(f"--type: {exc}") from None
    rows = list_deliveries(open_ws(home), status=status, type=type_, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no events match." if status or type_ else "no events yet.")
        return
    # Plain lines, one per delivery, never wrapped: easy to read and to grep.
    out.print(f"{'id':<8}  {'time (UTC)':<19}  {'type':<29}  {'subject':<16}  "
              f"{'sink':<7}  {'status':<9}  tries  last error", markup=False)
    for r in rows:
        out.print(f"{r['id'][:8]}  {r['time'][:19].replace('T', ' ')}  {r['type']:<29}  "
                  f"{r['subject']:<16}  {r['sink']:<7}  {r['status']:<9}  "
                  f"{r['attempts']:>5}  {(r['last_error'] or '-')[:80]}", markup=False)


@app.command("show")
def show(
    event_id: Annotated[str, typer.Argument(
        metavar="ID", help="Event id (or a unique prefix of 8+ characters).")],
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """One event: its CloudEvents envelope and its delivery to each sink."""
    import json

    from riskops.events.outbox import show_event

    info = show_event(open_ws(home), event_id)
    if as_json:
        print_json(info)
        return
    out.print(f"{info['id']}  {info['type']}  subject {info['subject']}  "
              f"(seq {info['seq']})", markup=False)
    out.print(json.dumps(info["envelope"], indent=2), markup=False)
    for d in info["deliveries"]:
        out.print(_delivery_line(d), markup=False)


@app.command("retry")
def retry(
    event_id: Annotated[str | None, typer.Argument(
        metavar="ID", help="Event whose failed deliveries to retry.")] = None,
    all_failed: Annotated[bool, typer.Option(
        "--all-failed", help="Retry every dead-lettered delivery.")] = False,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Put dead-lettered (failed) deliveries back to pending with fresh attempts."""
    from riskops.events.outbox import retry_failed

    if (event_id is None) == (not all_failed):
        raise InputError("give exactly one of an event ID or --all-failed, e.g. "
                         "riskops events retry --all-failed.")
    rows = retry_failed(open_ws(home, "operate"), event_id)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no failed deliveries; nothing to retry.")
        return
    for r in rows:
        out.print(f"pending again: {r['id']} {r['type']} -> {r['sink']}", markup=False)
    out.print(f"{plural(len(rows), 'delivery', 'deliveries')} will be retried by the next "
              "dispatch (riskops events dispatch, or any running server or scheduler).")


@app.command("dispatch")
def dispatch(
    follow: Annotated[bool, typer.Option(
        "--follow", help="Keep delivering until interrupted (Ctrl-C, SIGTERM).")] = False,
    interval: Annotated[float, typer.Option(
        "--interval", metavar="SECONDS",
        help="With --follow: seconds to sleep when nothing is due.")] = 1.0,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Deliver due events to the configured sinks once, or continuously with --follow."""
    from riskops.events.dispatcher import Dispatcher, DispatchResult

    if interval <= 0:
        raise InputError(f"--interval must be a positive number of seconds, got {interval}.")
    ws = open_ws(home, "operate")
    dispatcher = Dispatcher(ws)
    if not follow:
        total = DispatchResult()
        try:
            while True:
                step = dispatcher.run_once()
                total.delivered += step.delivered
                total.retried += step.retried
                total.failed += step.failed
                if step.attempted == 0:
                    break
        finally:
            dispatcher.close()
        if as_json:
            print_json(total.as_dict())
        else:
            out.print(_summary(total.as_dict()))
        if total.failed:
            err.print("warning: some deliveries were dead-lettered; see riskops events "
                      "list --status failed", markup=False)
        return
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not as_json:
        out.print(f"delivering events to {', '.join(dispatcher.sinks) or 'no sinks'}; "
                  "Ctrl-C to stop.")
    try:
        dispatcher.run_forever(stop, interval=interval)
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _summary(counts: dict[str, int]) -> str:
    return (f"delivered {counts['delivered']}, retrying {counts['retried']}, "
            f"dead-lettered {counts['failed']}.")


def _delivery_line(d: dict[str, Any]) -> str:
    line = f"  {d['sink']:<8} {d['status']:<9} attempts {d['attempts']}"
    if d["delivered_at"]:
        line += f"  delivered {d['delivered_at'][:19]}"
    elif d["next_attempt_at"]:
        line += f"  next attempt {d['next_attempt_at'][:19]}"
    if d["last_error"]:
        line += f"  last error: {d['last_error']}"
    return line
