"""The HTML drift reports: one self-contained offline file per run or comparison.

    compare_report_html(document)   # the `riskops monitor compare` JSON document
    run_report_html(summary)        # what `run_model_monitoring` returns

Both pages start with a summary table, then draw their charts as inline SVG
(``charts``): per column, the drift value per chunk against the threshold
and the reference-versus-current shares per bin or category; per model,
realised and estimated performance. No script, no external fetch; every
string from a user's file (column names, categories, paths) is escaped.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from riskops.monitoring.charts import Series, compact, hbar_chart, line_chart, share_bars
from riskops.monitoring.report_page import (
    DASH,
    Raw,
    band,
    count,
    esc,
    facts,
    finite,
    num,
    page,
    percent,
    pvalue,
    table,
    text,
)
from riskops.monitoring.verdicts import DEFAULT_PSI_ALERT, psi_verdict

#: Categories beyond this many in a chart are summed into one "(N others)" bar.
MAX_CATEGORIES = 20
#: Performance metrics charted over chunks, with their axis names.
CHARTED_METRICS = (("roc_auc", "ROC AUC"), ("brier", "Brier score"))
TABLED_METRICS = (("roc_auc", "ROC AUC"), ("brier", "Brier"), ("f1", "F1"))

__all__ = ["compare_report_html", "run_report_html"]


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# --- monitor compare -----------------------------------------------------------------


def compare_report_html(document: Mapping[str, Any]) -> str:
    """The HTML report of a ``riskops monitor compare`` document (schema_version 1).

    Sections: the sources and options; a summary table per column (drifted
    chunks, worst value, first drifted chunk, last chunk's band); a heat map
    of every column's value per chunk; realised and estimated performance
    per chunk; per column, its drift per chunk against the threshold and
    the reference and last-chunk shares (and the worst chunk's, when it is
    another one).
    """
    options = _dict(document.get("options"))
    reference, current = _dict(document.get("reference")), _dict(document.get("current"))
    chunks = [_dict(c) for c in _list(document.get("chunks"))]
    summary = _dict(document.get("summary"))
    threshold = finite(options.get("threshold")) or DEFAULT_PSI_ALERT
    names = _column_names(summary, chunks)
    entries = {name: [_entry(chunk, name) for chunk in chunks] for name in names}
    keys = [text(c.get("key")) for c in chunks]
    body = [
        _compare_header(document, options, reference, current),
        _compare_summary(summary, names, entries, keys, threshold),
        _heat_map(names, entries, keys),
        _performance_section(chunks, keys, options),
        _features_section(names, entries, keys, reference, threshold),
    ]
    title = "Drift report"
    subtitle = (f"{text(current.get('source'))} against {text(reference.get('source'))} · "
                f"generated {text(document.get('generated_at'))}")
    return page(title, subtitle, "\n".join(body))


def _column_names(summary: Mapping[str, Any], chunks: list[Mapping[str, Any]]) -> list[str]:
    """Every column, the most drifted first: by drifted chunks, then by worst value.

    Ties keep the document's order (the summary's, then any only the chunks name).
    """
    per_column = _dict(summary.get("columns"))
    names = [str(n) for n in per_column]
    for chunk in chunks:
        for entry in _list(chunk.get("drift")):
            name = str(_dict(entry).get("column"))
            if name not in names:
                names.append(name)

    def rank(name: str) -> tuple[float, float]:
        info = _dict(per_column.get(name))
        return (-(finite(info.get("drifted_chunks")) or 0.0),
                -(finite(info.get("max_value")) or 0.0))

    return sorted(names, key=rank)


def _entry(chunk: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for entry in _list(chunk.get("drift")):
        if str(_dict(entry).get("column")) == name:
            return _dict(entry)
    return {}


def _chunking(options: Mapping[str, Any]) -> str:
    if options.get("chunk_period"):
        return f"by {options['chunk_period']} of {text(options.get('timestamp_col'))}"
    if options.get("chunk_size"):
        return f"every {count(options['chunk_size'])} rows"
    return "none (one chunk)"


def _window(part: Mapping[str, Any]) -> str:
    rows = f"{count(part.get('rows'))} rows"
    if part.get("start") or part.get("end"):
        rows += f", {text(part.get('start'))} to {text(part.get('end'))}"
    return rows + (", labelled" if part.get("labelled") else "")


def _compare_header(document: Mapping[str, Any], options: Mapping[str, Any],
                    reference: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    perf = _dict(reference.get("performance"))
    left = facts([("reference", reference.get("source")), ("", _window(reference)),
                  ("current", current.get("source")), ("", _window(current)),
                  ("generated", document.get("generated_at"))]
                 + ([("reference performance", f"ROC AUC {num(perf.get('roc_auc'))}, "
                      f"Brier {num(perf.get('brier'))}")] if perf else []))
    right = facts([("threshold", f"PSI > {num(options.get('threshold'), 2)}"),
                   ("bins", count(options.get("bins"))), ("chunks", _chunking(options)),
                   ("score column", options.get("score_col")),
                   ("label column", options.get("label_col")),
                   ("decision threshold", num(options.get("decision_threshold"), 2))])
    return f'<section><h2>Comparison</h2><div class="cards">{left}{right}</div></section>'


def _value(entry: Mapping[str, Any]) -> float | None:
    return finite(entry.get("value"))


def _band_of(entry: Mapping[str, Any]) -> str | None:
    if entry.get("skipped") or _value(entry) is None:
        return None
    name = entry.get("band")
    return name if name in ("stable", "monitor", "alert") else psi_verdict(_value(entry) or 0.0)


def _compare_summary(summary: Mapping[str, Any], names: list[str],
                     entries: Mapping[str, list[Mapping[str, Any]]], keys: list[str],
                     threshold: float) -> str:
    per_column = _dict(summary.get("columns"))
    n_chunks = summary.get("chunks", len(keys))
    drifted = summary.get("drifted_chunks")
    if summary.get("drift"):
        over = [n for n in names if any(e.get("drifted") for e in entries[n])]
        verdict = (f'<p class="verdict drift">▲ Drift: {count(drifted)} of {count(n_chunks)} '
                   f"chunks have a column over the threshold (PSI &gt; {threshold:g}): "
                   f"{esc(', '.join(over))}.</p>")
    else:
        verdict = (f'<p class="verdict clean">No drift: no column is over the threshold '
                   f"(PSI &gt; {threshold:g}) in any of {count(n_chunks)} chunks.</p>")
    rows = []
    for i, name in enumerate(names):
        info = _dict(per_column.get(name))
        last = entries[name][-1] if entries[name] else {}
        kind = next((e.get("kind") for e in entries[name] if e.get("kind")), None)
        link = Raw(f'<a href="#col-{i}">{esc(name)}</a>')
        rows.append([link, kind, f"{count(info.get('drifted_chunks'))} of {count(n_chunks)}",
                     num(info.get("max_value")), info.get("first_drifted"),
                     num(last.get("value")), _band_cell(last)])
    headers = ["column", "kind", "drifted chunks", "max PSI", "first drifted",
               f"last PSI ({keys[-1] if keys else DASH})", "last band"]
    return (f'<section id="summary"><h2>Summary</h2>{verdict}'
            f"{table(headers, rows, numeric=(2, 3, 5))}</section>")


def _band_cell(entry: Mapping[str, Any]) -> Raw:
    name = _band_of(entry)
    if name is None:
        return band(None, "skipped" if entry.get("skipped") else DASH)
    return band(name, f"▲ {name}" if entry.get("drifted") else name)


def _heat_map(names: list[str], entries: Mapping[str, list[Mapping[str, Any]]],
              keys: list[str]) -> str:
    head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    rows = []
    for name in names:
        cells = []
        for key, entry in zip(keys, entries[name], strict=True):
            name_band = _band_of(entry)
            classes = [name_band or "skipped"] + (["drifted"] if entry.get("drifted") else [])
            tip = f"{name}, {key}: PSI {num(entry.get('value'))}"
            if entry.get("skipped"):
                tip += f" (skipped: {entry['skipped']})"
            elif name_band:
                tip += f", {name_band}" + (", drifted" if entry.get("drifted") else "")
            mark = "▲" if entry.get("drifted") else ""
            cells.append(f'<td class="{" ".join(classes)}" title="{esc(tip)}">'
                         f"{mark}{esc(num(entry.get('value'), 2))}</td>")
        rows.append(f'<tr><td class="name">{esc(name)}</td>{"".join(cells)}</tr>')
    return ('<section id="heat-map"><h2>PSI per column and chunk</h2>'
            '<p class="note">Green: stable (&lt; 0.1); amber: monitor (0.1 to 0.25); red: alert '
            "(&gt; 0.25); ▲ and a red outline: over the threshold; \N{EN DASH}: skipped or not "
            "computed (hover for the reason).</p>"
            f'<div class="scroll"><table class="heat"><thead><tr><th>column</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></div></section>')


def _metric(performance: Mapping[str, Any], part: str, name: str) -> float | None:
    return finite(_dict(performance.get(part)).get(name))


def _performance_section(chunks: list[Mapping[str, Any]], keys: list[str],
                         options: Mapping[str, Any]) -> str:
    perfs = [_dict(c.get("performance")) for c in chunks]
    if not any(perfs):
        return ('<section id="performance"><h2>Performance</h2><p class="note">Not computed: '
                "the comparison has no score column (--score-col).</p></section>")
    has_realised = any(p.get("realised") for p in perfs)
    charts = []
    for name, label in CHARTED_METRICS:
        series = [Series("estimated (CBPE)", [_metric(p, "estimated", name) for p in perfs])]
        if has_realised:
            series.insert(0, Series("realised", [_metric(p, "realised", name) for p in perfs]))
        charts.append(line_chart(keys, series, title=f"{label}: realised and estimated",
                                 y_label=label, x_label="chunk",
                                 value_text=lambda v: f"{v:.3f}"))
    headers = ["chunk", "rows"] + ["realised", "estimated", "difference"] * len(TABLED_METRICS)
    groups = [("", 2)] + [(label, 3) for _, label in TABLED_METRICS]
    rows = []
    for key, chunk, p in zip(keys, chunks, perfs, strict=True):
        row: list[object] = [key, count(chunk.get("rows"))]
        for name, _ in TABLED_METRICS:
            row += [num(_metric(p, "realised", name)), num(_metric(p, "estimated", name)),
                    num(_dict(p.get("difference")).get(name))]
        rows.append(row)
    note = ("Realised metrics need labels in the current file (--label-col); estimated "
            "ones come from the scores alone (CBPE) and are unbiased under covariate shift "
            "only. Difference = estimated \N{MINUS SIGN} realised. Decisions at score ≥ "
            f"{num(options.get('decision_threshold'), 2)}.")
    if not has_realised:
        note = "No labels in the current file: only estimated performance. " + note
    return (f'<section id="performance"><h2>Performance per chunk</h2><p class="note">{esc(note)}'
            f'</p><div class="charts">{"".join(charts)}</div>'
            f"{table(headers, rows, numeric=range(1, len(headers)), groups=groups)}</section>")


def _reference_profile(reference: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for column in _list(reference.get("columns")):
        if str(_dict(column).get("name")) == name:
            return _dict(column)
    score = _dict(reference.get("score"))
    return score if str(score.get("name")) == name else {}


def _features_section(names: list[str], entries: Mapping[str, list[Mapping[str, Any]]],
                      keys: list[str], reference: Mapping[str, Any], threshold: float) -> str:
    parts = []
    for i, name in enumerate(names):
        column = entries[name]
        profile = _reference_profile(reference, name)
        limit = next((finite(e.get("threshold")) for e in column
                      if finite(e.get("threshold")) is not None), threshold)
        values = [_value(e) for e in column]
        charts = [line_chart(keys, [Series("PSI", values)], threshold=limit,
                             title=f"{name}: PSI per chunk", y_label="PSI", x_label="chunk",
                             zero_based=True, value_text=lambda v: f"{v:.3f}")]
        shown = [j for j, e in enumerate(column) if e.get("shares")]
        if shown:
            last = shown[-1]
            charts.append(_distribution(name, keys[last], column[last], profile))
            worst = max(shown, key=lambda j: values[j] if values[j] is not None else -1.0)
            if worst != last and (values[worst] or 0.0) > limit:
                charts.append(_distribution(name, keys[worst], column[worst], profile,
                                            worst=True))
        else:
            charts.append('<p class="note">No chunk has shares to draw for this column.</p>')
        kind = next((e.get("kind") for e in column if e.get("kind")), profile.get("kind"))
        drifted = [k for k, e in zip(keys, column, strict=True) if e.get("drifted")]
        line = (f"over the threshold in {len(drifted)} of {len(keys)} chunks"
                + (f", first in {drifted[0]}" if drifted else ""))
        parts.append(f'<div class="feature" id="col-{i}"><h3>{esc(name)} '
                     f'<span class="muted">· {esc(text(kind))} · {esc(line)}</span></h3>'
                     f'<div class="charts">{"".join(charts)}</div>'
                     f"{_statistics(keys, column)}</div>")
    return f'<section id="columns"><h2>Columns</h2>{"".join(parts)}</section>'


def _statistics(keys: list[str], column: list[Mapping[str, Any]]) -> str:
    """The statistics of the last chunk that has them, folded away."""
    for key, entry in zip(reversed(keys), reversed(column), strict=True):
        stats = _dict(entry.get("statistics"))
        if stats:
            rows = [[name, pvalue(v) if name.endswith("pvalue") else num(v, 4)]
                    for name, v in stats.items()]
            rows.append(["missing_share", percent(entry.get("missing_share"))])
            return (f"<details><summary>Statistics of chunk {esc(key)}</summary>"
                    f"{table(['statistic', 'value'], rows, numeric=(1,))}</details>")
    reasons = {str(e["skipped"]) for e in column if e.get("skipped")}
    if reasons:
        return f'<p class="note">Skipped: {esc("; ".join(sorted(reasons)))}</p>'
    return ""


def _distribution(name: str, key: str, entry: Mapping[str, Any], profile: Mapping[str, Any],
                  *, worst: bool = False) -> str:
    title = f"{name}: {'worst chunk' if worst else 'last chunk'}, {key}"
    current = [finite(v) for v in _list(entry.get("shares"))]
    if entry.get("categories") is not None or profile.get("categories") is not None:
        categories = [str(c) for c in _list(entry.get("categories")
                                             or profile.get("categories"))]
        ref = [finite(v) for v in _list(entry.get("reference_shares")
                                         or profile.get("shares"))]
        labels, ref, current = _top_categories(categories, ref, current)
        return share_bars(labels, ref, current, title=title, x_label="category",
                          current_name=key)
    ref = [finite(v) for v in _list(profile.get("shares"))]
    labels, edges = _bin_labels(_dict(profile.get("bins")), len(current))
    if len(ref) != len(current):
        ref = [None] * len(current)
    if edges is not None:
        return share_bars(labels, ref, current, title=title, current_name=key, edges=edges,
                          x_label="bins of the reference (edges)")
    # "values" bins alternate gaps and values: name the values only
    values = [label if i % 2 else "" for i, label in enumerate(labels)]
    if not any(values) or len(labels) % 2 == 0:
        values = labels
    return share_bars(labels, ref, current, title=title, current_name=key,
                      axis_labels=values, x_label="reference values (and the gaps between)")


def _top_categories(categories: list[str], ref: list[float | None],
                    cur: list[float | None], *, ordered: bool = False,
                    ) -> tuple[list[str], list[float | None], list[float | None]]:
    """Categories by reference share (as given when ``ordered``), the tail beyond
    ``MAX_CATEGORIES`` summed into one."""
    n = len(categories)
    ref = (ref + [None] * n)[:n]
    cur = (cur + [None] * n)[:n]
    order = list(range(n)) if ordered else sorted(
        range(n), key=lambda i: (-(ref[i] or 0.0), -(cur[i] or 0.0), categories[i]))
    if n <= MAX_CATEGORIES:
        return [categories[i] for i in order], [ref[i] for i in order], [cur[i] for i in order]
    keep, rest = order[:MAX_CATEGORIES - 1], order[MAX_CATEGORIES - 1:]
    labels = [categories[i] for i in keep] + [f"({len(rest)} others)"]
    return (labels, [ref[i] for i in keep] + [sum(ref[i] or 0.0 for i in rest)],
            [cur[i] for i in keep] + [sum(cur[i] or 0.0 for i in rest)])


def _bin_labels(bins: Mapping[str, Any], n: int) -> tuple[list[str], list[str] | None]:
    """Tooltip label per bin and, for quantile bins, the edge labels for the axis."""
    points = [finite(p) for p in _list(bins.get("points"))]
    if any(p is None for p in points):
        points = []
    edges = [compact(p) for p in points]
    if bins.get("kind") == "quantiles" and len(points) + 1 == n:
        labels = ([f"< {edges[0]}"] if edges else ["all"])
        labels += [f"[{a}, {b})" for a, b in itertools.pairwise(edges)]
        labels += [f"≥ {edges[-1]}"] if edges else []
        return labels, edges
    if bins.get("kind") == "values" and 2 * len(points) + 1 == n:
        labels = []
        for i, value in enumerate(edges):
            labels += [f"< {value}" if i == 0 else f"between {edges[i - 1]} and {value}", value]
        return [*labels, f"> {edges[-1]}" if edges else "all"], None
    return [f"bin {i + 1}" for i in range(n)], None


# --- monitor run ---------------------------------------------------------------------


def run_report_html(summary: Mapping[str, Any]) -> str:
    """The HTML report of one ``riskops monitor run`` (``run_model_monitoring``'s summary).

    A summary table per (tenant, model), then per model: PSI per feature
    (and score) against the threshold, the checks' statistics, the category
    shares of categorical features, and performance (realised with outcome
    labels, else estimated) with the degradation thresholds.
    """
    results = [_dict(r) for r in _list(summary.get("results"))]
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for result in results:
        groups.setdefault((text(result.get("tenantId")), text(result.get("modelId"))),
                          []).append(result)
    windows = _dict(summary.get("windows"))
    ref, cur = _dict(windows.get("reference")), _dict(windows.get("current"))
    header = facts([
        ("evaluated as of", summary.get("now")), ("ran at", summary.get("ranAt")),
        ("reference window", f"{text(ref.get('start'))} to {text(ref.get('end'))}"),
        ("current window", f"{text(cur.get('start'))} to {text(cur.get('end'))}"),
        ("tenants", ", ".join(map(str, _list(summary.get("tenantIds")))) or "all"),
        ("events emitted", count(len(_list(summary.get("events"))))),
    ])
    detected = summary.get("driftDetected") or 0
    if detected:
        verdict = (f'<p class="verdict drift">▲ {count(detected)} of '
                   f"{count(summary.get('driftChecked'))} drift checks over the threshold.</p>")
    else:
        verdict = (f'<p class="verdict clean">No drift over the threshold in '
                   f"{count(summary.get('driftChecked'))} drift checks.</p>")
    body = [f"<section><h2>Run</h2>{header}</section>",
            f'<section id="summary"><h2>Summary</h2>{verdict}{_run_summary(groups)}</section>']
    for i, ((tenant, model), checks) in enumerate(groups.items()):
        body.append(_model_section(i, tenant, model, checks))
    subtitle = f"as of {text(summary.get('now'))} · ran {text(summary.get('ranAt'))}"
    return page("Monitoring report", subtitle, "\n".join(body))


def _drift_checks(checks: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Checks of one variable against a reference: every one but performance and the
    whole-model skip (``check: "drift"``)."""
    return [c for c in checks if c.get("check") not in ("performance", "drift")
            and c.get("feature") is not None]


def _comparison(check: Mapping[str, Any]) -> str:
    """The heading of a group of drift-like checks: what was compared with what."""
    name = str(check.get("check"))
    if name in ("prediction_drift", "data_drift"):
        return "Drift: current window against the reference window"
    if name == "training_skew":
        reference = check.get("reference") or "the version's training profile"
        return f"Training-serving skew: current window against {reference}"
    return name


def _feature_label(check: Mapping[str, Any]) -> str:
    label = text(check.get("feature"))
    return f"{label} [{check['segment']}]" if check.get("segment") else label


def _run_summary(groups: Mapping[tuple[str, str], list[Mapping[str, Any]]]) -> str:
    rows = []
    for i, ((tenant, model), checks) in enumerate(groups.items()):
        drift = [c for c in _drift_checks(checks) if c.get("status") == "checked"]
        worst = max(drift, key=lambda c: _psi(c) or 0.0, default=None)
        perf = next((c for c in checks if c.get("check") == "performance"), {})
        metrics = _dict(perf.get("metrics"))
        degraded = ", ".join(str(_dict(d).get("metric")) for d in _list(perf.get("degraded")))
        skipped = [c for c in checks if c.get("status") == "skipped"]
        rows.append([
            tenant, Raw(f'<a href="#model-{i}">{esc(model)}</a>'),
            text(checks[0].get("scenario")), count(len(drift)),
            count(sum(1 for c in drift if c.get("drift"))),
            f"{_feature_label(worst)} ({num(_psi(worst))})" if worst else None,
            text(perf.get("mode") or perf.get("status")), num(metrics.get("roc_auc")),
            num(metrics.get("brier")), degraded or ("none" if perf else None),
            count(len(skipped)),
        ])
    headers = ["tenant", "model", "scenario", "drift checks", "over threshold", "worst PSI",
               "performance", "ROC AUC", "Brier", "degraded", "skipped checks"]
    return table(headers, rows, numeric=(3, 4, 7, 8, 10))


def _model_section(i: int, tenant: str, model: str, checks: list[Mapping[str, Any]]) -> str:
    drift = _drift_checks(checks)
    checked = [c for c in drift if c.get("status") == "checked"]
    parts = [f'<section id="model-{i}"><h2>{esc(model)} <span class="muted">· tenant '
             f"{esc(tenant)}</span></h2>"]
    skipped = [c for c in checks if c.get("status") == "skipped"]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for check in checked:
        groups.setdefault(_comparison(check), []).append(check)
    for title, group in groups.items():
        parts.append(_check_group(model, title, group))
    if skipped:
        parts.append("<h3>Skipped checks</h3>" + table(
            ["check", "feature", "reason"],
            [[c.get("check"), _feature_label(c) if c.get("feature") else None, c.get("reason")]
             for c in skipped], name_column=1))
    perf = next((c for c in checks if c.get("check") == "performance"
                 and c.get("status") == "checked"), None)
    if perf is not None:
        parts.append(_run_performance(perf))
    parts.append("</section>")
    return "".join(parts)


def _check_group(model: str, title: str, checked: list[Mapping[str, Any]]) -> str:
    """PSI bars against the threshold, the statistics table and the category shares."""
    threshold = next((finite(c.get("threshold")) for c in checked
                      if finite(c.get("threshold")) is not None), DEFAULT_PSI_ALERT)
    parts = [f"<h3>{esc(title)}</h3>", '<div class="charts">' + hbar_chart(
        [_feature_label(c) for c in checked], [_psi(c) for c in checked],
        threshold=threshold, title=f"{model}: PSI per feature", x_label="PSI",
        value_text=lambda v: f"{v:.3f}") + "</div>", _drift_table(checked)]
    shared = [c for c in checked if isinstance(c.get("shares") or c.get("terms"), Mapping)]
    if shared:
        parts.append('<div class="charts">' + "".join(_category_chart(c) for c in shared)
                     + "</div>")
    return "".join(parts)


def _psi(check: Mapping[str, Any]) -> float | None:
    return finite(check["psi"] if "psi" in check else check.get("value"))


def _alert_cell(check: Mapping[str, Any]) -> Raw:
    """The consecutive-breach alert state, when the run tracks it."""
    breaches = count(check.get("consecutive"))
    if check.get("alert") == "firing":
        return band("alert", f"▲ firing ({breaches} in a row)")
    if check.get("alert") is None:
        return band(None, DASH)
    return band("stable", f"{check['alert']} ({breaches} in a row)" if check.get("consecutive")
                else str(check["alert"]))


def _drift_table(checked: list[Mapping[str, Any]]) -> str:
    alerts = any("alert" in c for c in checked)
    rows = []
    for c in checked:
        verdict = c.get("verdict") if c.get("verdict") in ("stable", "monitor", "alert") else None
        pill = band(verdict, f"▲ {verdict}" if c.get("drift") else verdict)
        second = (pvalue(c.get("chi_square_pvalue")) if c.get("kind") == "categorical"
                  else pvalue(c.get("ks_pvalue")))
        rows.append([_feature_label(c), c.get("kind"), num(_psi(c)), pill,
                     *([_alert_cell(c)] if alerts else []),
                     second, num(c.get("jensen_shannon")), num(c.get("wasserstein_scaled")),
                     num(c.get("z_score"), 1), percent(c.get("reference_missing_share")),
                     percent(c.get("current_missing_share")), count(c.get("reference_rows")),
                     count(c.get("current_rows"))])
    headers = ["feature", "kind", "PSI", "band", *(["alert"] if alerts else []), "KS / χ² p",
               "JS", "Wasserstein (scaled)", "z", "missing ref", "missing cur", "rows ref",
               "rows cur"]
    first = 5 if alerts else 4
    return table(headers, rows, numeric=(2, *range(first, len(headers))))


def _category_chart(check: Mapping[str, Any]) -> str:
    shares = _dict(check.get("shares") or check.get("terms"))
    labels = [str(k) for k in shares]
    ref = [finite(_dict(v).get("reference")) for v in shares.values()]
    cur = [finite(_dict(v).get("current")) for v in shares.values()]
    what = "term" if isinstance(check.get("terms"), Mapping) else "category"
    # terms come as the profile's top terms, then the bucket of all others: keep that order
    labels, ref, cur = _top_categories(labels, ref, cur, ordered=what == "term")
    return share_bars(labels, ref, cur, title=f"{_feature_label(check)}: {what} shares",
                      x_label=f"{what} (top by reference share)", current_name="current")


def _run_performance(perf: Mapping[str, Any]) -> str:
    metrics = _dict(perf.get("metrics"))
    limits = {str(d.get("metric", "")).removeprefix("estimated_"): d
              for d in map(_dict, _list(perf.get("degraded")))}
    estimated = perf.get("mode") == "estimated"
    rows = []
    for name in ("roc_auc", "pr_auc", "brier", "mae", "precision", "recall", "f1", "accuracy",
                 "ece", "log_loss", "positive_rate"):
        if name not in metrics:
            continue
        state = (band("alert", f"▲ degraded (> {num(limits[name].get('threshold'), 2)})")
                 if name in limits else Raw(""))
        rows.append([f"estimated {name}" if estimated else name, num(metrics[name]), state])
    proxies = _dict(perf.get("proxies"))
    detail = facts([
        ("mode", "realised: outcome labels" if not estimated
         else "estimated from the scores (CBPE)"),
        ("rows", f"{count(perf.get('current_rows'))} current, "
                 f"{count(perf.get('labelled_rows'))} with outcomes"),
        ("decision threshold", num(perf.get("threshold"), 2)),
        ("calibration", perf.get("calibration")),
        ("override rate", f"{percent(proxies.get('override_rate'))} (reference "
                          f"{percent(proxies.get('reference_override_rate'))})"),
        ("note", perf.get("note") or perf.get("reason")),
    ])
    return (f'<h3>Performance</h3><div class="cards">{detail}'
            f"{table(['metric', 'value', 'state'], rows, numeric=(1,))}</div>"
            + _segment_calibration(_dict(perf.get("segment_calibration"))))


def _segment_calibration(section: Mapping[str, Any]) -> str:
    """Brier, ECE and the verdict of each segment value, when outcomes measured them."""
    entries = [_dict(e) for e in _list(section.get("segments"))]
    if not entries:
        return ""
    rows = []
    for e in entries:
        if e.get("status") != "checked":
            state = band(None, f"skipped: {text(e.get('reason'))}")
        elif e.get("degraded"):
            state = band("alert", "▲ " + ", ".join(
                f"{_dict(d).get('metric')} > {num(_dict(d).get('threshold'), 2)}"
                for d in _list(e.get("degraded"))))
        else:
            state = band("stable", "calibrated")
        rows.append([e.get("segment"), count(e.get("rows")), num(e.get("mean_score")),
                     num(e.get("observed_rate")), num(e.get("brier")), num(e.get("ece")),
                     state])
    return ("<h3>Calibration per segment</h3>" + table(
        ["segment", "labelled rows", "mean score", "observed rate", "Brier", "ECE", "state"],
        rows, numeric=(1, 2, 3, 4, 5)))
