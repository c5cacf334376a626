"""Model cards (SR 11-7): what a version is for, how it was built and tested, who signed it.

    card = build_model_card(model="fraud", version=3, status="Draft", metadata=inventory,
                            version_info=entry, evaluation=evaluation_report,
                            reproducibility=reproducibility_report, bias_audit=audit,
                            approvals=approval_state(ws, "fraud", 3))
    json.dumps(card)          # model-card.json
    render_markdown(card)     # model-card.md

Sections and field names are those of Amazon SageMaker's model card JSON schema;
``model_card_status`` is its review status. riskops adds ``schema`` and ``riskops``
(artifacts digest, approvals, bias audit verdict, missing reports), top-level since
SageMaker's ``custom_details`` holds only strings (it repeats their headlines). To
upload to SageMaker, send the six schema sections as content and the status apart.

``evaluation_details``: one entry per held-out slice of the evaluation report (group
``overall``, then one per segment value, ``region=apac``); the golden-set comparison
with production when there was one; the bias audit (a group per sensitive value and
one of ``differences`` per column). A metric keeps the report's value (type
``number`` or ``boolean``); an undefined one (``None``) is ``{"type": "string",
"value": "undefined"}``, with the report's reason as ``notes``. Inventory lists
become one line per item (SageMaker's fields are strings): limitations are
``factors_affecting_model_efficiency``, out-of-scope uses
``caveats_and_recommendations``. What the inventory lacks reads ``"not documented;
run riskops models describe MODEL --FIELD VALUE"``. No file or database access here.
"""

from __future__ import annotations

import html
import json
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import Any

from riskops.training.metrics import METRICS
from riskops.training.reports import EVALUATION_FILE, REPRODUCIBILITY_FILE

__all__ = ["CARD_SCHEMA", "CARD_STATUSES", "NOT_DOCUMENTED", "build_model_card",
           "render_markdown"]

CARD_SCHEMA = "riskops.model-card/v1"
CARD_STATUSES = ("Draft", "PendingReview", "Approved", "Archived")
NOT_DOCUMENTED = "not documented"
_RATINGS = {"high": "High", "medium": "Medium", "low": "Low"}
#: The ``riskops models describe`` option of each inventory field that is not its name.
_FLAGS = {"intended_uses": "intended-use", "out_of_scope_uses": "out-of-scope",
          "limitations": "limitation"}
_ORDER = {name: i for i, name in enumerate(("rows", "positives", "positive_rate", "threshold",
                                             *METRICS))}


def build_model_card(*, model: str, version: int, status: str,
                     metadata: dict[str, Any] | None, version_info: dict[str, Any],
                     evaluation: dict[str, Any] | None, reproducibility: dict[str, Any] | None,
                     bias_audit: dict[str, Any] | None, approvals: dict[str, Any],
                     ) -> dict[str, Any]:
    """The model card of ``model`` v``version``: a JSON-ready dict (see the module doc).

    Parameters
    ----------
    status : {"Draft", "PendingReview", "Approved", "Archived"}
    metadata : dict or None
        The model's inventory entry (owner, tier, purpose, ...); ``None`` if undescribed.
    version_info : dict
        The version's entry in ``Registry.show_model(model)["versions"]``.
    evaluation, reproducibility : dict or None
        Its ``evaluation-report.json`` and ``reproducibility-report.json``.
    bias_audit : dict or None
        ``{"status", "created_at", "actor", "artifacts_sha256", "report"}``.
    approvals : dict
        ``riskops.governance.approvals.approval_state`` of the version.

    Raises
    ------
    ValueError
        If ``status`` is not one of ``CARD_STATUSES``, the inventory tier is not high,
        medium or low, or a document is of another model, version or training run.
    """
    if status not in CARD_STATUSES:
        raise ValueError(f"model card status {status!r} is not one of "
                         f"{', '.join(CARD_STATUSES)}.")
    _check_subject(model, version, {
        "version_info": version_info, "evaluation": evaluation,
        "reproducibility": reproducibility, "approvals": approvals,
        "bias_audit": None if bias_audit is None else bias_audit.get("report")})
    meta = metadata or {}
    tier = meta.get("tier") or None
    if tier is not None and str(tier).lower() not in _RATINGS:
        raise ValueError(f"inventory tier {tier!r} of {model} is not one of high, medium, "
                         f"low; set it with riskops models describe {model} --tier TIER.")

    def documented(key: str, placeholder: str = "TEXT") -> str:
        value = meta.get(key)
        value = "\n".join(map(str, value)) if isinstance(value, list | tuple) else value
        flag = _FLAGS.get(key, key.replace("_", "-"))
        return str(value) if value else (f"{NOT_DOCUMENTED}; run riskops models describe "
                                         f"{model} --{flag} {placeholder}")

    params, repro = version_info.get("params") or {}, reproducibility or {}
    data, code = repro.get("data") or {}, repro.get("code") or {}
    environment = repro.get("environment") or {}
    runtime = [f"python {environment.get('python')} ({environment.get('implementation')})",
               *(f"{k} {v}" for k, v in (environment.get("installed") or {}).items() if v),
               f"riskops git commit {code.get('git_commit')} (dirty: {code.get('git_dirty')})",
               ] if environment else []
    loss = next((v for k, v in params.items() if k.rsplit("__", 1)[-1] == "loss"), None)
    threshold = (evaluation or {}).get("threshold") or {}
    digest = approvals.get("artifacts_sha256")
    audit = None if bias_audit is None else _audit_summary(bias_audit, digest)
    return {
        "schema": CARD_SCHEMA,
        "model_card_status": status,
        "model_overview": {
            "model_name": model, "model_version": version,
            "model_description": documented("description"),
            "model_creator": version_info.get("author"),
            "model_owner": documented("owner", "USER"),
            "problem_type": "Binary Classification",
            "algorithm_type": ", ".join(f"{k}: {v}" for k, v in
                                        (params.get("steps") or {}).items())
            or str(params.get("estimator", "not recorded")),
            "model_artifact": [a["path"] for a in version_info.get("artifacts", [])],
            "inference_environment": {"container_image": runtime},
        },
        "intended_uses": {
            "purpose_of_model": documented("purpose"),
            "intended_uses": documented("intended_uses"),
            "factors_affecting_model_efficiency": documented("limitations"),
            "risk_rating": "Unknown" if tier is None else _RATINGS[str(tier).lower()],
            "explanations_for_risk_rating": documented("tier_reason"),
        },
        "business_details": {
            "business_problem": documented("purpose"),
            "business_stakeholders": f"owner: {documented('owner', 'USER')}; sign-off "
                                     f"roles: {', '.join(approvals.get('required_roles', []))}",
            "line_of_business": documented("business_line"),
        },
        "training_details": {
            "objective_function": {
                **({"function": {"function": "Minimize", "facet": "Loss", "condition": loss}}
                   if isinstance(loss, str) else {}),
                "notes": (f"decision threshold {threshold['value']}: {threshold.get('rule')}"
                          if "value" in threshold else f"{EVALUATION_FILE} is missing"),
            },
            "training_observations": _training_observations(evaluation, reproducibility),
            "training_job_details": {
                "training_arn": version_info.get("training_run_id"),
                "training_datasets": [f"{data.get('path')} (sha256 {data.get('sha256')}, "
                                      f"{data.get('rows')} rows)"] if data else [],
                "training_environment": {"container_image": runtime},
                "training_metrics": [
                    {"name": k, "value": _plain(v), "notes": "validation slice"}
                    for k, v in (version_info.get("metrics") or {}).items()],
                "hyper_parameters": [
                    {"name": k, "value": v if isinstance(v, str) else
                     json.dumps(v, sort_keys=True, default=str)} for k, v in params.items()],
            },
        },
        "evaluation_details": [*_evaluation_entries(model, version, evaluation, data),
                               _bias_entry(model, version, bias_audit, audit)],
        "additional_information": {
            "ethical_considerations": _ethics(model, version, audit),
            "caveats_and_recommendations": documented("out_of_scope_uses"),
            "custom_details": {
                "riskops_schema": CARD_SCHEMA, "artifacts_sha256": str(digest),
                "approvals": str(approvals.get("summary")),
                "bias_audit": "not audited" if audit is None else audit["verdict"]},
        },
        "riskops": {
            "model": model, "version": version, "artifacts_sha256": digest,
            "training_run_id": version_info.get("training_run_id"),
            "registered_at": version_info.get("created_at"),
            "metadata_updated": None if metadata is None else {
                "at": _plain(meta.get("updated_at")), "by": _plain(meta.get("updated_by"))},
            "approvals": {k: v for k, v in approvals.items() if k not in ("model", "version")},
            "bias_audit": audit,
            "missing": [name for name, doc in ((EVALUATION_FILE, evaluation),
                                               (REPRODUCIBILITY_FILE, reproducibility))
                        if doc is None],
        },
    }


def _check_subject(model: str, version: int,
                   documents: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Refuse a document of another model, version or training run than ``version_info``."""
    run = (documents["version_info"] or {}).get("training_run_id")
    for name, doc in documents.items():
        for key, want in (("model", model), ("version", version), ("training_run_id", run)):
            if doc and key in doc and want is not None and doc[key] != want:
                raise ValueError(f"{name} is of {key} {doc[key]!r}, not {want!r}; pass the "
                                 f"documents of {model} v{version}.")


def _training_observations(evaluation: Mapping[str, Any] | None,
                           repro: Mapping[str, Any] | None) -> str:
    split = (evaluation or repro or {}).get("split") or {}
    parts = [f"{split.get('method')} split by {', '.join(split.get('order_by', []))}: " +
             ", ".join(f"{k} {n} rows" for k, n in (split.get("rows") or {}).items())
             if split else "split not recorded"]
    if split.get("positive_rate"):
        parts.append("positive rate " + ", ".join(f"{k} {v:.4f}" for k, v in
                                                  split["positive_rate"].items()))
    if evaluation is not None:
        parts.append(f"target {evaluation.get('binary_target')}")
    parts.append(f"seed {repro.get('seed')}, {repro.get('threads')} thread(s)" if repro else
                 f"{REPRODUCIBILITY_FILE} is missing: data, seed and environment unrecorded")
    return "; ".join(parts) + "."


def _evaluation_entries(model: str, version: int, evaluation: Mapping[str, Any] | None,
                        data: Mapping[str, Any]) -> list[dict[str, Any]]:
    if evaluation is None:
        return [_entry("evaluation", f"missing: {model} v{version} has no {EVALUATION_FILE}, "
                       "so no metrics are shown; train it with riskops train.", [], [])]
    ranges = (evaluation.get("split") or {}).get("time_ranges") or {}
    comparison = evaluation.get("comparison") or {}
    threshold = evaluation.get("threshold") or {}
    metrics, entries = evaluation.get("metrics") or {}, []
    for name in sorted(metrics, key=lambda s: (s != "validation", s)):
        groups = [_group("overall", metrics[name])]
        for column, found in ((evaluation.get("segments") or {}).get(name) or {}).items():
            groups += ([_group(f"{column}={v}", m) for v, m in found["values"].items()]
                       if "values" in found else [_group(column, found)])
        span = ranges.get(name) or {}
        note = f"Held-out {name} slice" + (f", {span.get('from')} to {span.get('to')}"
                                           if span else "")
        note += f"; decision threshold {threshold.get('value')} ({threshold.get('rule')})"
        if name == "golden" and comparison.get("status") != "compared":
            note += f"; not compared with production: {comparison.get('reason')}"
        entries.append(_entry(name, note.rstrip(".") + ".",
                              [f"{name} slice of {data.get('path', 'the training data')}"],
                              groups))
    if comparison.get("status") == "compared":
        production, golden = comparison.get("production_version"), comparison["golden_metrics"]
        shift = dict(comparison.get("golden") or {})
        flips = shift.pop("flips", None) or {}
        groups = [_group("delta (candidate - production)" if k == "delta" else k, golden[k])
                  for k in ("candidate", "production", "delta")]
        groups.append(_group("score shift", {**shift, **{f"flipped {k}": n
                                                         for k, n in flips.items()}}))
        entries.append(_entry(
            f"golden vs production v{production}",
            f"Candidate and production v{production} on the golden slice; production "
            f"threshold {comparison.get('production_threshold')} "
            f"({comparison.get('production_threshold_source')}).", ["golden slice"], groups))
    return entries


def _audit_summary(audit: Mapping[str, Any], digest: str | None) -> dict[str, Any]:
    report = audit.get("report") or {}
    current = audit.get("artifacts_sha256") == digest
    return {**{k: audit.get(k) for k in ("status", "created_at", "actor", "artifacts_sha256")},
            "of_current_artifacts": current,
            "verdict": str(audit.get("status")) + ("" if current else
                                                   " (of other artifacts: audit again)"),
            "reasons": list(report.get("reasons", [])),
            "judged": [c for c, s in (report.get("sensitive") or {}).items() if s.get("judged")],
            **{k: report.get(k) for k in ("threshold", "rows", "limits")}}


def _bias_entry(model: str, version: int, audit: Mapping[str, Any] | None,
                summary: Mapping[str, Any] | None) -> dict[str, Any]:
    if audit is None:
        return _entry("bias audit", _ethics(model, version, None), [], [])
    report, groups = audit.get("report") or {}, []
    for column, section in (report.get("sensitive") or {}).items():
        groups += [_group(f"{column}={g}", row) for g, row in section.get("groups", {}).items()]
        groups.append(_group(f"{column} differences", section.get("differences") or {}))
    if report.get("limits"):
        groups.append(_group("limits", report["limits"]))
    return _entry("bias audit", _ethics(model, version, summary),
                  [str(report.get("source", "scored rows"))], groups)


def _ethics(model: str, version: int, audit: Mapping[str, Any] | None) -> str:
    if audit is None:
        return f"No bias audit recorded; run riskops audit bias {model} {version}."
    head = (f"Bias audit {audit['verdict']} ({audit['created_at']}, by {audit['actor']}; "
            f"threshold {audit['threshold']}, {audit['rows']} rows; judged: "
            f"{', '.join(audit['judged']) or 'none'}).")
    return "\n".join([head, *audit["reasons"]])


def _entry(name: str, observation: str, datasets: list[str],
           groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "evaluation_observation": observation, "datasets": datasets,
            "metric_groups": groups}


def _group(name: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A metric group of a report's ``name -> value`` dict (``undefined``: name -> reason)."""
    reasons, data = metrics.get("undefined") or {}, []
    for key in sorted((k for k in metrics if k != "undefined"),
                      key=lambda k: _ORDER.get(k, len(_ORDER))):
        value = metrics[key]
        kind = ("boolean" if isinstance(value, bool) else
                "number" if isinstance(value, numbers.Real) else "string")
        data.append({"name": key, "type": kind,
                     "value": "undefined" if value is None else _plain(value),
                     **({"notes": str(reasons[key])} if key in reasons else {})})
    return {"name": name, "metric_data": data}


def _plain(value: Any) -> Any:
    """Numpy scalars as the same Python number; anything not JSON-native as text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value) if isinstance(value, numbers.Real) else str(value)


# -- markdown ---------------------------------------------------------------------------

_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPECIAL = re.compile(r"([\\`*_\[\]|#~!])")


def _md(value: Any) -> str:
    """``value`` as inert one-line markdown: no HTML, no markup, no line or cell breaks."""
    text = html.escape(_BREAKS.sub(" ", str(value)).strip(), quote=False)
    text = re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", _SPECIAL.sub(r"\\\1", text))
    return "\\" + text if text[:1] in ("-", "+", "=") else text


def _cell(metric: Mapping[str, Any]) -> str:
    value = metric["value"]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.4f}" if isinstance(value, float) else _md(value)


def _table(header: Iterable[Any], rows: Iterable[Iterable[str]]) -> list[str]:
    names = [_md(h) for h in header]
    return ["| " + " | ".join(names) + " |", "|" + "---|" * len(names),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _field(label: str, value: Any) -> list[str]:
    """``**label:** value``; a value of several lines becomes a list, one item a line."""
    lines = [line for line in str(value).split("\n") if line.strip()] or ["none"]
    if len(lines) > 1:
        return [f"**{label}:**", "", *(f"- {_md(line)}" for line in lines), ""]
    return [f"**{label}:** {_md(lines[0])}", ""]


def _metric_tables(groups: list[Mapping[str, Any]]) -> list[str]:
    """One table per set of metric names, a row per group."""
    tables: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for group in groups:
        tables.setdefault(tuple(m["name"] for m in group["metric_data"]), []).append(group)
    return [line for names, rows in tables.items() for line in _table(
        ["group", *names], ([_md(g["name"]), *map(_cell, g["metric_data"])] for g in rows))]


def render_markdown(card: dict[str, Any]) -> str:
    """``model-card.md``: a card of :func:`build_model_card`, for people to read.

    Numbers show 4 decimals (the JSON keeps every digit). Every string is escaped, so
    markup, HTML or line breaks in a document render as plain text.
    """
    ov, uses, biz = card["model_overview"], card["intended_uses"], card["business_details"]
    training, info, own = card["training_details"], card["additional_information"], card[
        "riskops"]
    job, approvals = training["training_job_details"], own["approvals"]
    lines = [f"# Model card: {_md(ov['model_name'])} v{_md(ov['model_version'])}", ""]
    lines += _table(["field", "value"], ([_md(k), _md(v)] for k, v in (
        ("status", card["model_card_status"]), ("risk rating", uses["risk_rating"]),
        ("owner", ov["model_owner"]), ("created by", ov["model_creator"]),
        ("line of business", biz["line_of_business"]), ("training run", job["training_arn"]),
        ("artifacts sha256", own["artifacts_sha256"]), ("approvals", approvals["summary"]),
        ("bias audit", info["custom_details"]["bias_audit"]), ("schema", card["schema"]))))
    lines += ["## Model overview", "", *_field("Description", ov["model_description"]),
              *_field("Algorithm", f"{ov['problem_type']}; {ov['algorithm_type']}"),
              *_field("Artifacts", "\n".join(ov["model_artifact"]))]
    lines += ["## Intended uses", "", *_field("Purpose", uses["purpose_of_model"]),
              *_field("Intended uses", uses["intended_uses"]),
              *_field("Risk rating", uses["risk_rating"]),
              *_field("Why this rating", uses["explanations_for_risk_rating"]),
              *_field("Stakeholders", biz["business_stakeholders"])]
    lines += ["## Training", "", *_field("Observations", training["training_observations"]),
              *_field("Objective", training["objective_function"]["notes"]),
              *_field("Data", "\n".join(job["training_datasets"])),
              *_field("Environment", "\n".join(job["training_environment"]["container_image"])),
              *_table(["hyper-parameter", "value"], ([_md(p["name"]), _md(p["value"])]
                                                     for p in job["hyper_parameters"]))]
    lines += ["## Evaluation", ""]
    for entry in card["evaluation_details"]:
        lines += [f"### {_md(entry['name'])}", "",
                  *_field("Observation", entry["evaluation_observation"]),
                  *(_field("Data", "\n".join(entry["datasets"])) if entry["datasets"] else []),
                  *_metric_tables(entry["metric_groups"])]
    lines += ["## Approvals", "", *_field("Verdict", approvals["summary"])]
    lines += _table(["user", "role", "decision", "at", "comment"], (
        [_md(d[k]) for k in ("user", "role", "decision", "at", "comment")]
        for d in approvals["decisions"])) if approvals["decisions"] else ["No decisions.", ""]
    if approvals["problems"]:
        lines += _field("Not counted", "\n".join(approvals["problems"]))
    lines += ["## Limitations and caveats", "",
              *_field("Limitations", uses["factors_affecting_model_efficiency"]),
              *_field("Out of scope", info["caveats_and_recommendations"]),
              *_field("Ethical considerations", info["ethical_considerations"])]
    if own["missing"]:
        lines += _field("Missing reports", "\n".join(own["missing"]))
    return "\n".join(lines).rstrip() + "\n"
