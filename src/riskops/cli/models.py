"""Model versions: ``riskops models ...`` and the top-level ``verify``, ``promote``, ``rollback``.

    riskops models register fraud --from ./out [--metrics JSON] [--entrypoint model.skops]
    riskops models list|show|history [MODEL] [--json]
    riskops models pin fraud --tenant acme (--version 3 | --heuristic); riskops models unpin
    riskops verify [MODEL [VERSION]] [--json-out model-integrity.json]
    riskops promote fraud 3 [--stage canary --percent 10] [--break-glass REASON] [--url URL]
    riskops rollback fraud [--to 2 | --fallback heuristic]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from riskops.cli.common import (
    HomeOption,
    JsonFlag,
    err,
    json_object,
    open_ws,
    out,
    plural,
    print_json,
    version_text,
    write_report,
)
from riskops.cli.remote import UrlOption, call, print_gates, server_url
from riskops.errors import CheckFailed, InputError

app = typer.Typer(help="Register and inspect model versions.", no_args_is_help=True)

ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="Model name, e.g. fraud.")]
VersionArg = Annotated[int, typer.Argument(metavar="VERSION", help="Version number.")]
HEADLINE_METRICS = ("roc_auc", "f1", "brier", "threshold")
TenantOption = Annotated[str, typer.Option(
    "--tenant", metavar="TENANT", help="Tenant id, as sent in X-Tenant-ID.")]


@app.command("register")
def register(
    model: ModelArg,
    source: Annotated[Path, typer.Option(
        "--from", metavar="DIR", help="Folder holding the artifacts.")],
    metrics: Annotated[str | None, typer.Option(
        "--metrics", metavar="JSON", help="Metrics as a JSON object.")] = None,
    params: Annotated[str | None, typer.Option(
        "--params", metavar="JSON", help="Parameters as a JSON object.")] = None,
    run_id: Annotated[str | None, typer.Option(
        "--run-id", metavar="ID", help="Training run id.")] = None,
    entrypoint: Annotated[str | None, typer.Option(
        "--entrypoint", metavar="FILE", help="The .skops file serving loads (if several).")] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a folder of artifacts as the next version of MODEL (not live).

    A ``scenario.toml`` beside a ``.skops`` model makes it a model trained
    elsewhere: checked against that definition, then served like a trained one
    once promoted. Without one, a model that is not a reference scenario is
    artifact-only. A ``model.toml`` in the folder is registered with the version
    and sets the model's inventory metadata (owner, tier, purpose, ...; see
    models describe).
    """
    from riskops.tokens import authorize, current_identity
    from riskops.training.own_model import (
        has_definition,
        prepare_own_model,
        prepared_copy,
        refuse_stray_definition,
    )

    ws = open_ws(home)
    who = authorize(current_identity(ws), "register")
    with prepared_copy() as tmp:
        if has_definition(source):  # a model trained elsewhere, with its scenario
            checked = prepare_own_model(
                source, model, entrypoint=entrypoint, trusted_types=ws.settings.trusted_types,
                max_bytes=ws.settings.max_artifact_bytes, into=Path(tmp))
            source = Path(tmp)
        else:
            refuse_stray_definition(source)
            checked = None
        _register(ws, who, model, source, metrics=metrics, params=params, run_id=run_id,
                  entrypoint=entrypoint, as_json=as_json, checked=checked)


def _register(ws: Any, who: Any, model: str, source: Path, *, metrics: str | None,
              params: str | None, run_id: str | None, entrypoint: str | None, as_json: bool,
              checked: dict[str, Any] | None) -> None:
    from riskops.governance.model_metadata import (
        MODEL_TOML,
        check_change,
        describe,
        read_model_toml,
    )
    from riskops.registry.service import Registry
    from riskops.scenarios import REFERENCE
    from riskops.scenarios.definition import OWN_MODEL_CONFIG
    from riskops.tokens import authorize

    toml = source / MODEL_TOML
    # a link is refused by register itself, before anything is read through it
    described = toml.is_file() and not toml.is_symlink()
    if described:  # checked before anything is stored
        authorize(who, "describe")
        check_change(ws, model, read_model_toml(toml), who=who)
    result = Registry(ws).register(
        model, source, actor=who.actor, metrics=json_object(metrics, "--metrics"),
        params=json_object(params, "--params"), training_run_id=run_id, entrypoint=entrypoint,
    )
    if described:  # the signed copy, not the source, which may have changed since
        stored = ws.store_dir / f"models/{model}/{result['version']}/{MODEL_TOML}"
        result["described"] = describe(ws, who, model, read_model_toml(stored))
    served = checked is not None or model in REFERENCE
    result["checked"] = checked
    result["servable"] = served
    if as_json:
        print_json(result)
        return
    out.print(f"registered {model} v{result['version']} "
              f"({plural(len(result['artifacts']), 'file')}, manifest "
              f"v{result['manifest_version']}); not live until promoted.", markup=False)
    if checked is not None:
        out.print(f"{OWN_MODEL_CONFIG}: {model} checked on {checked['rows']} rows made from "
                  f"its definition (scores {checked['scores']['min']:.3f} to "
                  f"{checked['scores']['max']:.3f}); served as scenario {model} once "
                  "promoted.", markup=False)
    elif not served:
        out.print(f"no {OWN_MODEL_CONFIG} in the folder: {model} v{result['version']} is "
                  "artifact-only and cannot be promoted to a served stage; register it again "
                  f"with a {OWN_MODEL_CONFIG} beside the model to serve it.", markup=False)
    if described:
        changed = ", ".join(result["described"]["changed"]) or "nothing new"
        out.print(f"{MODEL_TOML}: described {model} ({changed}).", markup=False)


@app.command("list")
def list_(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Every model with its stage pointers."""
    from riskops.registry.service import Registry

    rows = Registry(open_ws(home)).list_models()
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no models registered; see riskops models register --help")
        return
    table = Table("model", "production", "staging", "canary", "versions")
    for r in rows:
        canary = f"v{r['canary']} ({r['canary_percent']}%)" if r["canary"] else "-"
        table.add_row(r["model"], version_text(r["production"]), version_text(r["staging"]),
                      canary, ", ".join(str(v) for v in r["versions"]))
    out.print(table)


@app.command("show")
def show(model: ModelArg, home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """One model: stages, history, tenant pins and every version with its artifacts."""
    from riskops.governance.inventory import inventory
    from riskops.registry.service import Registry

    ws = open_ws(home)
    info = Registry(ws).show_model(model)
    info["inventory"] = inventory(ws, model=model)[0]
    if as_json:
        print_json(info)
        return
    stages = info["stages"]
    canary = stages["canary"]
    canary_text = f"v{canary['version']} ({canary['percent']}%)" if canary else "-"
    out.print(f"[bold]{model}[/bold]  production {production_text(stages['production'], info)}"
              f"  staging {version_text(stages['staging'])}  canary {canary_text}")
    out.print(f"history: {' -> '.join(f'v{v}' for v in info['history']) or '-'}", markup=False)
    print_inventory(info["inventory"])
    if info["pins"]:
        out.print("pins: " + ", ".join(
            f"{tenant} -> {target if target == 'heuristic' else f'v{target}'}"
            for tenant, target in sorted(info["pins"].items())), markup=False)
    table = Table("version", "created", "author", "entrypoint", "files", "metrics")
    for v in info["versions"]:
        table.add_row(str(v["version"]), v["created_at"][:19], v["author"],
                      v["entrypoint"] or "-", str(len(v["artifacts"])),
                      metrics_text(v["metrics"]))
    out.print(table)


def print_inventory(entry: dict[str, Any]) -> None:
    """The model-risk lines of ``models show``: state, owner, tier, validation, alerts."""
    from riskops.governance.inventory import due_text

    meta = entry["metadata"] or {}
    tier = meta.get("tier")
    out.print(f"state: {entry['state']}  owner: {meta.get('owner') or '-'}  tier: "
              + (f"{tier} ({meta.get('tier_reason')})" if tier else "-"), markup=False)
    if meta.get("purpose"):
        out.print(f"purpose: {meta['purpose']}", markup=False)
    last = entry["last_validation"]
    due = due_text(entry) or "-"
    validated = f"{last['date']} ({last['kind']} by {', '.join(last['by'])})" if last else "-"
    out.print(f"last validation: {validated}  next due: {due}"
              f"{'  OVERDUE' if entry['overdue'] else ''}", markup=False)
    if entry["retired"]:
        out.print(f"retired {entry['retired']['at'][:10]} by {entry['retired']['by']}: "
                  f"{entry['retired']['reason']}", markup=False)
    kinds = sorted({a["kind"] for a in entry["open_alerts"]})
    if kinds:
        out.print(f"open alerts: {', '.join(kinds)}", markup=False)
    for note in entry["notes"]:
        out.print(f"note: {note}", markup=False)


def metrics_text(metrics: dict[str, Any], *, limit: int = 40) -> str:
    """``roc_auc 0.9412, f1 0.6`` for a table cell: headline metrics first, four significant
    digits, cut at ``limit`` characters (``models show --json`` has them all)."""
    names = [n for n in HEADLINE_METRICS if n in metrics] + sorted(
        n for n in metrics if n not in HEADLINE_METRICS)
    text = ", ".join(f"{n} {metrics[n]:.4g}" if isinstance(metrics[n], float)
                     else f"{n} {metrics[n]}" for n in names)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def production_text(version: int | None, info: dict[str, Any]) -> str:
    """``v3``; ``heuristic`` after ``rollback --fallback heuristic``; ``-`` if never live."""
    if version is None and info["history"]:
        return "heuristic"
    return version_text(version)


@app.command("history")
def history(model: ModelArg, home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Every stage pointer change of MODEL, oldest first."""
    from riskops.registry.service import Registry

    rows = Registry(open_ws(home)).history(model)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print(f"{model} has never been promoted.", markup=False)
        return
    table = Table("at", "stage", "action", "from", "to", "actor", "manifest")
    for r in rows:
        table.add_row(r["at"][:19], r["stage"], r["action"], version_text(r["from"]),
                      version_text(r["to"], none=_target_none(r)), r["actor"],
                      str(r["manifest_version"]))
    out.print(table)


def _target_none(change: dict[str, Any]) -> str:
    """What a change to no version means: the heuristic for production and pins."""
    return "heuristic" if change["stage"] in ("production", "pin") and \
        change["action"] in ("rollback", "pin") else "-"


@app.command("pin")
def pin(
    model: ModelArg,
    tenant: TenantOption,
    version: Annotated[int | None, typer.Option(
        "--version", metavar="VERSION", help="Version to pin.")] = None,
    heuristic: Annotated[bool, typer.Option(
        "--heuristic", help="Pin the tenant to the heuristic (no model).")] = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Route one tenant to a fixed version of MODEL, or to its heuristic."""

    if (version is None) == (not heuristic):
        raise InputError("give exactly one of --version VERSION or --heuristic.")
    remote = server_url(url)
    if remote is not None:
        result = call(remote, "POST", f"/models/{model}/pins",
                      {"tenant": tenant, "version": version, "heuristic": heuristic})
    else:
        from riskops.governance.promotion import pin as governed_pin
        from riskops.tokens import current_identity

        ws = open_ws(home)
        result = governed_pin(ws, current_identity(ws), model, tenant, version)
    if as_json:
        print_json(result)
        return
    target = "the heuristic" if version is None else f"v{version}"
    if not result["changed"]:
        out.print(f"tenant {tenant} of {model} is already pinned to {target}; nothing changed.",
                  markup=False)
        return
    out.print(f"pinned tenant {tenant} of {model} to {target}; "
              f"manifest v{result['manifest_version']}.", markup=False)


@app.command("unpin")
def unpin(model: ModelArg, tenant: TenantOption, url: UrlOption = None,
          home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """Remove a tenant's pin; it follows production and canary again."""

    remote = server_url(url)
    if remote is not None:
        result = call(remote, "DELETE", f"/models/{model}/pins/{tenant}")
    else:
        from riskops.governance.promotion import unpin as governed_unpin
        from riskops.tokens import current_identity

        ws = open_ws(home)
        result = governed_unpin(ws, current_identity(ws), model, tenant)
    if as_json:
        print_json(result)
        return
    out.print(f"unpinned tenant {tenant} of {model}; manifest v{result['manifest_version']}.",
              markup=False)


def verify(
    model: Annotated[str | None, typer.Argument(metavar="MODEL", help="Only this model.")] = None,
    version: Annotated[int | None, typer.Argument(
        metavar="VERSION", help="Only this version.")] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", metavar="FILE", help="Also write the report to this JSON file.")] = None,
    openssf: Annotated[bool, typer.Option(
        "--openssf/--no-openssf", help="Also check the OpenSSF signature bundles.")] = True,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the manifest signature and every artifact's digest and size."""
    from riskops.registry.verification import verify_workspace

    ws = open_ws(home)
    if as_json or not err.is_terminal:
        report = verify_workspace(ws, model, version, openssf=openssf)
    else:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        with Progress("verifying", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("verify", total=None)
            report = verify_workspace(
                ws, model, version, openssf=openssf,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    document = report.as_dict()
    if json_out is not None:
        write_report(json_out, document)
    if as_json:
        print_json(document)
    elif report.ok:
        out.print(f"ok: manifest v{report.manifest_version} signature verified; "
                  f"{plural(report.files_checked, 'file')} "
                  f"({plural(report.bytes_checked, 'byte')}) in "
                  f"{plural(len(report.checked), 'version')} match their digests.", markup=False)
    else:
        for failure in report.failures:
            err.print(f"FAIL {failure.path}: {failure.reason}", markup=False)
        err.print(f"error: {plural(len(report.failures), 'integrity failure')}; nothing "
                  "failing will be loaded.", markup=False)
    if not report.ok:
        raise typer.Exit(1)


def promote(
    model: ModelArg,
    version: VersionArg,
    stage: Annotated[str, typer.Option(
        "--stage", metavar="STAGE", help="production, staging or canary.")] = "production",
    percent: Annotated[int | None, typer.Option(
        "--percent", metavar="N", help="Canary traffic share, 1-100.")] = None,
    break_glass: Annotated[str | None, typer.Option(
        "--break-glass", metavar="REASON", help="Promote past failing gates (admin token "
        "only); the reason goes into the audit log, an event and the evidence bundle.")] = None,
    force: Annotated[bool, typer.Option("--force", hidden=True)] = False,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Point a stage of MODEL at VERSION once every gate passes; print the gates.

    Production and canary run the promotion gates (riskops gates MODEL VERSION);
    a failing gate refuses the promotion with exit 1 and lists what is missing.
    """
    from riskops.governance.promotion import GatesFailed

    if force:
        raise InputError("--force is gone: promotion runs its gates (riskops gates MODEL "
                         "VERSION); an admin may bypass them with --break-glass REASON.")
    remote = server_url(url)
    try:
        if remote is not None:
            result = call(remote, "POST", f"/models/{model}/promote",
                          {"version": version, "stage": stage, "percent": percent,
                           "break_glass": break_glass})
        else:
            from riskops.governance.promotion import promote as governed_promote
            from riskops.serving.smoke import smoke_test
            from riskops.tokens import current_identity

            ws = open_ws(home)
            result = governed_promote(ws, current_identity(ws), model, version, stage=stage,
                                      percent=percent, break_glass=break_glass,
                                      smoke_test=smoke_test)
    except GatesFailed as exc:
        if as_json:
            print_json(exc.report.as_dict())
        else:
            print_gates(exc.report.as_dict())
        raise
    except CheckFailed as exc:
        document = getattr(exc, "report_document", None)
        if document is not None and as_json:
            print_json(document)
        elif document is not None:
            print_gates(document)
        raise
    if as_json:
        print_json(result)
        return
    if result.get("gates") and result["gates"]["gates"]:
        print_gates(result["gates"])
    if not result["changed"]:
        out.print(f"{model} v{version} is already in {stage}; nothing changed.", markup=False)
        return
    if break_glass is not None:
        err.print(f"warning: BREAK-GLASS promotion past failing gates: {break_glass}",
                  markup=False)
    share = f" at {percent}%" if percent else ""
    out.print(f"promoted {model} v{version} to {stage}{share} "
              f"(was {version_text(result['from'])}); "
              f"manifest v{result['manifest_version']}.", markup=False)


def rollback(
    model: ModelArg,
    to: Annotated[int | None, typer.Option(
        "--to", metavar="VERSION", help="Earlier production version to return to.")] = None,
    fallback: Annotated[str | None, typer.Option(
        "--fallback", metavar="heuristic", help="Take production off the model: every replica "
        "answers from the scenario's rules.")] = None,
    url: UrlOption = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Return production to the previous version, to --to VERSION, or to the heuristic.

    Without options production goes back to history\\[n-1], the version live
    before the current one.
    """

    if fallback is not None and fallback != "heuristic":
        raise InputError(f"--fallback {fallback!r} is not supported; the only fallback is "
                         "'heuristic'.")
    remote = server_url(url)
    if remote is not None:
        result = call(remote, "POST", f"/models/{model}/rollback",
                      {"to": to, "fallback": fallback})
    else:
        from riskops.governance.promotion import rollback as governed_rollback
        from riskops.tokens import current_identity

        ws = open_ws(home)
        result = governed_rollback(ws, current_identity(ws), model, to=to,
                                   fallback_heuristic=fallback == "heuristic")
    if as_json:
        print_json(result)
        return
    out.print(f"rolled back {model} production {version_text(result['from'])} -> "
              f"{version_text(result['to'], none='heuristic')}; "
              f"manifest v{result['manifest_version']}.", markup=False)
