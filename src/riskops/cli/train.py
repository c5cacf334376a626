"""``riskops train``: train and register a candidate, or reproduce a registered version.

    riskops train fraud --data fraud.parquet [--seed 0] [--threads 1] [--json]
    riskops train claims --data claims.csv --config claims.toml
    riskops train --reproduce fraud 3 [--data moved/fraud.parquet]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from riskops.cli.common import HomeOption, JsonFlag, actor, open_ws, out, print_json, progress
from riskops.errors import InputError

METRIC_LABELS = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "f1": "F1", "precision": "precision",
                 "recall": "recall", "brier": "Brier", "log_loss": "log loss", "ece": "ECE"}


def train(
    scenario: Annotated[str, typer.Argument(
        metavar="SCENARIO", help="Scenario to train (with --reproduce: the model).")],
    version: Annotated[int | None, typer.Argument(
        metavar="VERSION", help="With --reproduce: the version to retrain.")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="FILE", help="Training data, .csv or .parquet (with --reproduce: "
        "where the recorded file is now).")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", metavar="N", help="Random seed (default 0).")] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", metavar="N",
        help="Native threads while fitting (default 1); recorded for --reproduce.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", help="Config file (TOML) of a custom scenario.")] = None,
    reproduce: Annotated[bool, typer.Option(
        "--reproduce", help="Retrain MODEL VERSION from its reproducibility report and "
                            "check its golden-set predictions match exactly.")] = False,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Train, evaluate and register a candidate of SCENARIO, or --reproduce MODEL VERSION.

    A trained candidate is registered but not live until promoted. With
    --reproduce, the version is retrained from its reproducibility report and
    the command exits 1 unless every golden-set prediction is identical.
    """
    if reproduce:
        if version is None:
            raise InputError("--reproduce needs a model and a version, e.g. "
                             "riskops train --reproduce fraud 3.")
        for given, option in ((seed, "--seed"), (threads, "--threads")):
            if given is not None:
                raise InputError(f"{option} is recorded in the version's reproducibility "
                                 "report; --reproduce does not take it.")
        from riskops.training.reproduce import reproduce_version

        ws = open_ws(home)
        with progress(as_json, "reproducing") as update:
            result = reproduce_version(ws, scenario, version, actor=actor(ws, "train"),
                                       data_path=data, config_path=config,
                                       progress=update)
        if as_json:
            print_json(result)
        else:
            for line in reproduction_lines(result):
                out.print(line, markup=False)
        if not result["match"]:
            raise typer.Exit(1)
        return
    if version is not None:
        raise InputError(f"unexpected VERSION {version}: it is only used with --reproduce "
                         f"(riskops train --reproduce {scenario} {version}).")
    if data is None:
        raise InputError(f"--data is required: riskops train {scenario} --data FILE "
                         "(.csv or .parquet).")
    from riskops.training.pipeline import DEFAULT_THREADS, train_scenario

    ws = open_ws(home)
    with progress(as_json, "training") as update:
        summary = train_scenario(
            ws, scenario, data, seed=0 if seed is None else seed, actor=actor(ws, "train"),
            config=config, progress=update,
            threads=DEFAULT_THREADS if threads is None else threads,
        )
    if as_json:
        print_json(summary)
    else:
        for line in summary_lines(summary):
            out.print(line, markup=False)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The human summary of a training run."""
    rows = summary["split"]["rows"]
    data = summary["data"]
    threshold = summary["threshold"]
    lines = [
        f"trained {summary['model']} on {Path(data['path']).name}: {data['rows']:,} rows "
        f"(train {rows['train']:,}, validation {rows['validation']:,}, golden "
        f"{rows['golden']:,}), seed {summary['seed']}, {summary['wall_time_seconds']:.1f} s",
        *([summary["split"]["notice"]] if summary["split"].get("notice") else []),
        f"threshold {threshold['value']:.4g}: {threshold['rule']}"
        + (f" ({threshold['fallback_reason']})" if threshold["fallback_reason"] else ""),
        f"{'':<11}" + "".join(f"{METRIC_LABELS[m]:>10}" for m in METRIC_LABELS),
    ]
    for name, values in summary["metrics"].items():
        lines.append(f"{name:<11}" + "".join(f"{_num(values[m]):>10}" for m in METRIC_LABELS))
    lines += baseline_lines(summary.get("baseline"), summary.get("baseline_warning"))
    lines += comparison_lines(summary["comparison"])
    tracking = summary.get("tracking", {})
    if tracking.get("mlflow"):
        lines.append("logged to MLflow" + (f" (run {tracking['run']})"
                                           if isinstance(tracking.get("run"), str) else ""))
    files = [str(a["path"]).rsplit("/", 1)[-1] for a in summary.get("artifacts", [])]
    files = [name for name in files if name != "model.sig"]  # the signature, not an output
    lines.append(f"registered {summary['model']} v{summary['version']} (manifest "
                 f"v{summary['manifest_version']}) with {', '.join(files)}")
    lines.append(f"not live until it passes its gates: riskops gates {summary['model']} "
                 f"{summary['version']}")
    return lines


def baseline_lines(baseline: dict[str, Any] | None, warning: str | None) -> list[str]:
    """The baseline's validation and golden ROC AUC, PR AUC and Brier, and the warning
    when the model trails it."""
    if not baseline:
        return []
    if baseline.get("status") != "fitted":
        return [f"baseline (logistic regression): not fitted: {baseline.get('reason')}"]
    parts = []
    for name in ("validation", "golden"):
        values = baseline["metrics"][name]
        parts.append(f"{name} " + ", ".join(f"{METRIC_LABELS[m]} {_num(values[m])}"
                                            for m in ("roc_auc", "pr_auc", "brier")))
    return ["baseline (logistic regression): " + "; ".join(parts),
            *([warning] if warning else [])]


def comparison_lines(comparison: dict[str, Any]) -> list[str]:
    status = comparison["status"]
    if status == "no production version":
        return ["vs production: no version in production; nothing to compare."]
    version = comparison["production_version"]
    if status != "compared":
        return [f"vs production v{version}: not compared: {comparison['reason']}"]
    delta = comparison["validation"]["delta"]
    golden = comparison["golden"]
    deltas = ", ".join(f"{METRIC_LABELS[m]} {_signed(delta[m])}"
                       for m in ("roc_auc", "pr_auc", "f1", "brier", "log_loss", "ece"))
    return [
        f"vs production v{version} (validation, candidate - production): {deltas}",
        f"golden set vs v{version}: mean |delta score| {golden['mean_abs_score_delta']:.4f}, "
        f"max {golden['max_abs_score_delta']:.4f}, labels flipped "
        f"{golden['share_labels_flipped']:.1%} ({golden['labels_flipped']} of {golden['rows']})",
    ]


def reproduction_lines(result: dict[str, Any]) -> list[str]:
    head = f"{result['model']} v{result['version']}"
    data = result["data"]
    if result["match"]:
        lines = [f"match: {head} retrained from {data['path']} (sha256 {data['sha256'][:12]}…, "
                 f"seed {result['seed']}); all {result['rows']} golden predictions are "
                 "identical."]
    elif not result["golden_ids_match"]:
        lines = [f"mismatch: {head}: the golden set is not the recorded one (different rows); "
                 "predictions cannot match."]
    else:
        lines = [f"mismatch: {head}: {result['rows_differing']} of {result['rows']} golden "
                 f"predictions differ (max |delta| {result['max_abs_score_delta']:.3g})."]
    if result.get("profile_match") is False:
        lines.append("  the reference profile built again differs from the signed "
                     "reference-profile.json (profile code or library versions changed).")
    for diff in result["environment_differences"]:
        lines.append(f"  differs from the recorded run: {diff['what']}: {diff['recorded']} -> "
                     f"{diff['now']}")
    return lines


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"
