"""``summary.md`` of an evidence bundle: what, who, when, the numbers, the gates, for people.

A pure function of the bundle's documents; the JSON files next to it are the
evidence, this page is their reading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

HEADLINE = (("roc_auc", "ROC AUC"), ("f1", "F1"), ("brier", "Brier"))


def render_summary(*, bundle: dict[str, Any], integrity: dict[str, Any],
                   evaluation: dict[str, Any] | None, score_delta: dict[str, Any],
                   bias: dict[str, Any], approvals: dict[str, Any], gates: dict[str, Any],
                   break_glass: Sequence[dict[str, Any]], promotions: Sequence[dict[str, Any]],
                   drift: dict[str, Any], security: dict[str, Any]) -> str:
    """The Markdown page of one bundle, from the documents it holds.

    Parameters
    ----------
    bundle : dict
        ``bundle.json``: model, version, author, entrypoint, artifacts, times.
    integrity, score_delta, bias, approvals, gates, drift, security : dict
        The bundle's JSON documents of the same names.
    evaluation : dict or None
        The version's evaluation report, ``None`` when it has none.
    break_glass, promotions : sequence of dict
        Audit entries (``data`` as canonical JSON text).

    Returns
    -------
    str
        Markdown, ending with a newline.
    """
    model, version = bundle["model"], bundle["version"]
    lines = [f"# Evidence: {model} v{version}", "",
             f"Bundle made {bundle['created_at']} by {bundle['created_by']} from signed "
             f"manifest v{bundle['manifest_version']} (riskops {bundle['riskops_version']}). "
             "Check it with `riskops evidence verify DIR --public-key KEY`.", ""]
    lines += ["## What", "", f"- model: {model}, version {version}",
              f"- entrypoint: {bundle.get('entrypoint') or '-'}", "- artifacts:"]
    lines += [f"  - `{a['path']}` sha256 `{a['sha256']}` ({a['size']} bytes)"
              for a in bundle["artifacts"]]
    lines += ["", "## Who and when", "",
              f"- author: {bundle['author']}, trained {bundle['version_created_at']}"]
    for d in approvals.get("decisions") or []:
        comment = f" ({d['comment']})" if d.get("comment") else ""
        lines.append(f"- {d['decision']}d by {d['user']} as {d['role']} at {d['at']}{comment}")
    lines.append(f"- approvals: {approvals.get('summary', '-')}")
    for e in promotions:
        data = json.loads(e["data"])
        verb = "promoted" if e["action"] == "model.promoted" else "rolled back"
        lines.append(f"- {verb} to {data.get('stage', 'production')} by {e['actor']} at "
                     f"{e['ts']} ({_v(data.get('from'))} -> {_v(data.get('to'))}, audit entry "
                     f"{e['seq']})")
    if not promotions:
        lines.append("- never promoted or rolled back")
    lines += ["", "## Numbers", "", *_numbers(evaluation, score_delta)]
    lines += ["", "## Gates (production)", "",
              f"Overall: {gates['status']} (checked {gates['checked_at']})", ""]
    lines += [f"- {g['status'].upper()} {g['name']}: {g['detail']}" for g in gates["gates"]]
    lines += ["", "## Bias", "", f"- status: {bias['status']}"]
    if bias["status"] != "missing":
        lines.append(f"- audited by {bias['actor']} at {bias['created_at']} on artifacts "
                     f"{bias['artifacts_sha256']}")
        reasons = (bias.get("report") or {}).get("reasons") or []
        lines += [f"- reason: {r}" for r in reasons] or ["- reasons: none given"]
    lines += ["", "## Break-glass", ""]
    for e in break_glass:
        data = json.loads(e["data"])
        lines.append(f"- entry {e['seq']}: {e['action']} {e['subject']} by {e['actor']} at "
                     f"{e['ts']}: {data.get('break_glass')}")
    if not break_glass:
        lines.append("- none")
    lines += ["", "## Integrity, drift, security", "",
              f"- integrity: {integrity['status']} ({integrity['files_checked']} files of "
              f"manifest v{integrity['manifest_version']} checked {integrity['checked_at']})"]
    lines += [f"  - FAIL {f['path']}: {f['reason']}" for f in integrity.get("failures") or []]
    firing = f", {drift['firing']} alerts firing" if "firing" in drift else ""
    lines.append(f"- drift: {drift['status']}{firing}")
    lines.append(f"- security scan: {security.get('status', 'provided')}")
    return "\n".join(lines) + "\n"


def _numbers(evaluation: dict[str, Any] | None, delta: dict[str, Any]) -> list[str]:
    if evaluation is None:
        return ["- no evaluation report"]
    lines = []
    for part in ("validation", "golden"):
        metrics = (evaluation.get("metrics") or {}).get(part) or {}
        shown = ", ".join(f"{label} {_num(metrics.get(key))}" for key, label in HEADLINE)
        lines.append(f"- {part}: {shown}")
    threshold = evaluation.get("threshold") or {}
    lines.append(f"- threshold: {_num(threshold.get('value'))} ({threshold.get('rule', '-')})")
    if delta.get("status") == "compared":
        golden = (delta.get("golden_metrics") or {}).get("delta") or {}
        shown = ", ".join(f"{label} {_num(golden.get(key), signed=True)}"
                          for key, label in HEADLINE)
        scores = delta.get("golden") or {}
        lines.append(f"- against production v{delta.get('production_version')} on the golden "
                     f"set: {shown}; mean |score delta| "
                     f"{_num(scores.get('mean_abs_score_delta'))}, "
                     f"{scores.get('labels_flipped', '-')} decisions flipped")
    else:
        lines.append(f"- score delta: {delta.get('status')} ({delta.get('reason', '-')})")
    return lines


def _num(value: Any, *, signed: bool = False) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _v(version: Any) -> str:
    return "none" if version is None else f"v{version}"
