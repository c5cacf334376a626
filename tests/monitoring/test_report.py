"""The HTML drift reports: structure, numbers, escaping, missing values, size."""

from __future__ import annotations

import copy
import math
import re
import time
from pathlib import Path

import pytest
from monitoring_helpers import NOW, generated, insert_predictions, prediction_rows
from report_helpers import DRIFT_FROM, SHIFTED, THRESHOLD, compare_document
from report_html import Node, parse, section, table_rows

from riskops.config import Workspace
from riskops.monitoring.charts import hbar_chart, line_chart, nice_ticks, share_bars
from riskops.monitoring.job import run_model_monitoring
from riskops.monitoring.report import compare_report_html, run_report_html
from riskops.monitoring.report_page import CSP

DASH = "\N{EN DASH}"
HOSTILE_COLUMN = '<script>alert("col")</script>'
HOSTILE_CATEGORY = '"><img src=x onerror=alert(1)>'
HOSTILE_SOURCE = "x'\"><svg onload=alert(2)>.csv"


@pytest.fixture(scope="module")
def document() -> dict:
    return compare_document()


@pytest.fixture(scope="module")
def page(document: dict) -> Node:
    return parse(compare_report_html(document))


def _entries(document: dict, column: str) -> list[dict]:
    return [next(e for e in c["drift"] if e["column"] == column) for c in document["chunks"]]


def _order(document: dict) -> list[str]:
    """Columns as the report lists them: most drifted chunks first, then worst PSI."""
    columns = document["summary"]["columns"]
    return sorted(columns, key=lambda n: (-columns[n]["drifted_chunks"],
                                          -(columns[n]["max_value"] or 0.0)))


def _feature(root: Node, index: int) -> Node:
    return root.find("div", cls="feature", id=f"col-{index}")


def _charts(node: Node) -> list[Node]:
    return node.iter("svg", cls="chart")


def _threshold_lines(chart: Node) -> list[Node]:
    """The threshold line drawn on the plot (the legend's sample has no tooltip)."""
    return [line for line in chart.iter("line", cls="threshold") if line.iter("title")]


def _offline_and_inert(markup: str, root: Node) -> None:
    """No script, no fetch of any kind, no event handler: what the CSP enforces, checked."""
    assert not re.search(r"<\s*script", markup, re.I)
    assert not re.search(r"https?://", markup)
    for node in root.iter():
        assert node.tag not in ("script", "img", "iframe", "object", "embed", "link", "base")
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            assert name not in ("src", "srcset", "xlink:href", "action", "formaction")
            if name == "href":
                assert value.startswith("#"), value


# --- monitor compare: the page -------------------------------------------------------


def test_compare_report_is_one_offline_page_with_a_strict_csp(document: dict):
    markup = compare_report_html(document)
    root = parse(markup)

    assert markup.startswith("<!DOCTYPE html>")
    csp = root.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert csp.attrs["content"] == ("default-src 'none'; style-src 'unsafe-inline'; "
                                    "img-src data:") == CSP
    head = root.find("head")
    assert head.children[1] is csp  # right after the charset, before any style
    _offline_and_inert(markup, root)


def test_summary_table_has_one_row_per_column_as_in_the_document(document: dict, page: Node):
    rows = table_rows(section(page, "summary").find("table"))

    summary = document["summary"]
    assert [r[0] for r in rows] == _order(document)
    assert set(_order(document)) == set(summary["columns"])
    for row, name in zip(rows, _order(document), strict=True):
        info = summary["columns"][name]
        assert row[2] == f"{info['drifted_chunks']} of 12"
        assert row[3] == f"{info['max_value']:.3f}"
        assert row[4] == (info["first_drifted"] or DASH)
        assert row[5] == f"{_entries(document, name)[-1]['value']:.3f}"
    drifted = {r[0] for r in rows if r[2] != "0 of 12"}
    assert drifted == {*SHIFTED, "score"}  # the score follows the shifted income
    verdict = section(page, "summary").find("p", cls="verdict").text()
    assert "6 of 12 chunks" in verdict and verdict.endswith(": income, score, region.")


def test_summary_links_each_column_to_its_section(document: dict, page: Node):
    links = section(page, "summary").iter("a")
    for i, (link, name) in enumerate(zip(links, _order(document), strict=True)):
        assert link.attrs["href"] == f"#col-{i}"
        assert _feature(page, i).find("h3").text().startswith(name)


def test_heat_map_cell_per_column_and_chunk_marks_the_drifted(document: dict, page: Node):
    heat = section(page, "heat-map").find("table", cls="heat")
    head = [th.text() for th in heat.find("thead").iter("th")]
    assert head == ["column"] + [c["key"] for c in document["chunks"]]
    rows = heat.find("tbody").iter("tr")
    for tr, name in zip(rows, _order(document), strict=True):
        cells = tr.iter("td")[1:]
        for cell, entry in zip(cells, _entries(document, name), strict=True):
            assert ("drifted" in cell.classes) == (entry["value"] > THRESHOLD)
            assert entry["band"] in cell.classes
            assert cell.text() == ("▲" if entry["drifted"] else "") + f"{entry['value']:.2f}"


def test_drift_chart_has_a_point_per_chunk_and_the_threshold_line(document: dict, page: Node):
    for i, name in enumerate(_order(document)):
        chart = _charts(_feature(page, i))[0]
        values = [e["value"] for e in _entries(document, name)]

        points = chart.iter("g", cls="point")
        assert len(points) == 12
        above = [p for p in points if "above" in p.classes]
        assert len(above) == sum(v > THRESHOLD for v in values)
        assert [p.find("title").text() for p in points] == [
            f"PSI, {c['key']}: {v:.3f}" + (" (above threshold)" if v > THRESHOLD else "")
            for c, v in zip(document["chunks"], values, strict=True)]
        [line] = _threshold_lines(chart)
        assert line.attrs["y1"] == line.attrs["y2"]
        assert line.find("title").text() == "threshold 0.2"
        assert chart.find("title").text().startswith(f"{name}: PSI per chunk")


def test_threshold_line_sits_at_the_threshold_on_the_axis(document: dict, page: Node):
    chart = _charts(_feature(page, _order(document).index("age")))[0]  # axis 0 to 0.3
    ticks = {t.text(): float(t.attrs["y"]) for t in chart.iter("text", cls="e") if "y" in t.attrs}
    [line] = _threshold_lines(chart)
    zero, top = ticks["0.0"], ticks["0.3"]
    assert float(line.attrs["y1"]) == pytest.approx(zero + (top - zero) * THRESHOLD / 0.3,
                                                    abs=0.1)


def _bars(chart: Node) -> list[tuple[float | None, float | None]]:
    """(reference height, current height) per bin."""
    out = []
    for group in chart.iter("g", cls="bin"):
        heights = {r.attrs["class"]: float(r.attrs["height"]) for r in group.iter("rect")}
        out.append((heights.get("ref"), heights.get("cur")))
    return out


def test_numeric_distribution_draws_reference_and_last_chunk_shares(document: dict,
                                                                    page: Node):
    profile = document["reference"]["columns"][0]
    last = _entries(document, "income")[-1]
    chart = _charts(_feature(page, _order(document).index("income")))[1]

    bars = _bars(chart)
    assert len(bars) == len(profile["shares"]) == len(profile["bins"]["points"]) + 1
    scale = bars[0][0] / profile["shares"][0]  # pixels per unit share
    for (ref_h, cur_h), ref, cur in zip(bars, profile["shares"], last["shares"], strict=True):
        assert ref_h == pytest.approx(ref * scale, abs=0.15)
        assert (cur_h or 0.0) == pytest.approx(cur * scale, abs=0.15)
    assert "last chunk, 2019-12" in chart.find("text", cls="title").text()


def test_categorical_distribution_uses_the_union_of_categories(document: dict, page: Node):
    index = _order(document).index("region")
    charts = _charts(_feature(page, index))
    entry = _entries(document, "region")[-1]

    titles = [g.find("title").text() for g in charts[1].iter("g", cls="bin")]
    assert len(titles) == len(entry["categories"])
    by_name = dict(zip(entry["categories"], entry["shares"], strict=True))
    ref = dict(zip(entry["categories"], entry["reference_shares"], strict=True))
    for title in titles:
        name = title.split(":")[0]
        assert title == (f"{name}: reference {ref[name] * 100:.1f}%, "
                         f"2019-12 {by_name[name] * 100:.1f}%")
    # region drifts from the seventh month: the worst chunk is drawn too
    worst = max(range(12), key=lambda i: _entries(document, "region")[i]["value"])
    assert worst >= DRIFT_FROM
    assert len(charts) == (3 if worst != 11 else 2)


def test_few_distinct_values_get_a_bar_per_value_and_gaps_between():
    document = compare_document(numeric=("income", "flag"), categorical=(), chunks=2)
    root = parse(compare_report_html(document))
    profile = document["reference"]["columns"][1]
    assert profile["bins"] == {"kind": "values", "points": [0.0, 1.0, 2.0]}

    chart = _charts(_feature(root, _order(document).index("flag")))[1]
    tips = [g.find("title").text().split(":")[0] for g in chart.iter("g", cls="bin")]
    assert tips == ["< 0", "0", "between 0 and 1", "1", "between 1 and 2", "2", "> 2"]
    labels = [t.text() for t in chart.iter("text", cls="m") if "y" in t.attrs][:-1]
    assert [x for x in labels if x] == ["0", "1", "2"]  # under the value bars, not the gaps


def test_many_categories_keep_the_19_largest_and_sum_the_rest():
    document = compare_document(numeric=("income",), categorical=("merchant",), chunks=2)
    root = parse(compare_report_html(document))
    entry = _entries(document, "merchant")[-1]
    assert len(entry["categories"]) == 30

    chart = _charts(_feature(root, _order(document).index("merchant")))[1]
    tips = [g.find("title").text() for g in chart.iter("g", cls="bin")]
    assert len(tips) == 20 and tips[-1].startswith("(11 others): ")
    ref = dict(zip(entry["categories"], entry["reference_shares"], strict=True))
    cur = dict(zip(entry["categories"], entry["shares"], strict=True))
    shown = [t.split(":")[0] for t in tips[:-1]]
    assert [ref[c] for c in shown] == sorted((ref[c] for c in shown), reverse=True)
    rest = [c for c in entry["categories"] if c not in shown]
    ref_pct, cur_pct = map(float, re.findall(r"([\d.]+)%", tips[-1]))
    assert ref_pct == pytest.approx(sum(ref[c] for c in rest) * 100, abs=0.051)
    assert cur_pct == pytest.approx(sum(cur[c] for c in rest) * 100, abs=0.051)


def test_one_chunk_without_chunking_draws_one_point_per_column():
    document = compare_document(chunks=1)
    document["chunks"][0]["key"] = "all"
    root = parse(compare_report_html(document))
    for i in range(len(_order(document))):
        drift, shares = _charts(_feature(root, i))
        assert len(drift.iter("g", cls="point")) == 1
        assert shares.iter("g", cls="bin")


def test_performance_charts_have_realised_and_estimated_series(document: dict, page: Node):
    perf = section(page, "performance")
    auc, brier = _charts(perf)

    for chart, metric in ((auc, "roc_auc"), (brier, "brier")):
        points = chart.iter("g", cls="point")
        assert len(points) == 24  # two series over 12 chunks
        realised = [p.find("title").text() for p in points[:12]]
        estimated = [p.find("title").text() for p in points[12:]]
        chunks = document["chunks"]
        assert realised == [f"realised, {c['key']}: "
                            f"{c['performance']['realised'][metric]:.3f}" for c in chunks]
        assert estimated == [f"estimated (CBPE), {c['key']}: "
                             f"{c['performance']['estimated'][metric]:.3f}" for c in chunks]
        assert {m.tag for m in points[0].iter()} == {"title", "circle"}
        assert {m.tag for m in points[12].iter()} == {"title", "rect"}  # square marker
    rows = table_rows(perf.find("table"))
    first = document["chunks"][0]["performance"]
    assert rows[0][:5] == ["2019-01", "400", f"{first['realised']['roc_auc']:.3f}",
                           f"{first['estimated']['roc_auc']:.3f}",
                           f"{first['difference']['roc_auc']:.3f}"]


def test_no_score_column_says_performance_was_not_computed():
    root = parse(compare_report_html(compare_document(score=False, chunks=3)))
    perf = section(root, "performance")
    assert "no score column" in perf.text()
    assert _charts(perf) == []


def test_unlabelled_current_file_charts_the_estimate_alone():
    root = parse(compare_report_html(compare_document(labelled=False, chunks=3)))
    perf = section(root, "performance")
    assert "only estimated performance" in perf.text()
    for chart in _charts(perf):
        assert len(chart.iter("g", cls="point")) == 3


# --- hostile input -------------------------------------------------------------------


def _hostile(document: dict) -> dict:
    doc = copy.deepcopy(document)
    doc["reference"]["source"] = HOSTILE_SOURCE
    doc["current"]["source"] = "</title><script>alert(3)</script>"
    doc["chunks"][-1]["key"] = '2019-12"><b>'
    old = "channel"
    doc["summary"]["columns"] = {(HOSTILE_COLUMN if k == old else k): v
                                 for k, v in doc["summary"]["columns"].items()}
    for profile in doc["reference"]["columns"]:
        if profile["name"] == old:
            profile["name"] = HOSTILE_COLUMN
    for chunk in doc["chunks"]:
        for entry in chunk["drift"]:
            if entry["column"] == old:
                entry["column"] = HOSTILE_COLUMN
                entry["categories"][0] = HOSTILE_CATEGORY
            entry["skipped"] = None
    doc["chunks"][0]["drift"][0]["skipped"] = "<i>few rows</i>"
    return doc


def test_hostile_names_categories_and_paths_render_as_text(document: dict):
    markup = compare_report_html(_hostile(document))
    root = parse(markup)

    _offline_and_inert(markup, root)
    assert not root.iter("b") and not root.iter("i")
    assert HOSTILE_COLUMN in section(root, "summary").text()
    assert "&lt;script&gt;alert(&quot;col&quot;)&lt;/script&gt;" in markup
    index = _order(_hostile(document)).index(HOSTILE_COLUMN)
    feature = _feature(root, index)
    assert feature.find("h3").text().startswith(HOSTILE_COLUMN)
    tips = [g.find("title").text() for g in _charts(feature)[1].iter("g", cls="bin")]
    assert any(t.startswith(HOSTILE_CATEGORY + ":") for t in tips)
    assert HOSTILE_SOURCE in root.find("header").text()
    assert root.find("title").text().endswith("Drift report")  # the title element held


# --- missing values ------------------------------------------------------------------


def _with_gaps(document: dict) -> dict:
    doc = copy.deepcopy(document)
    income = [next(e for e in c["drift"] if e["column"] == "income") for c in doc["chunks"]]
    income[3].update({"value": None, "drifted": False, "band": None, "statistics": {},
                      "shares": [], "skipped": "fewer than 30 rows"})
    income[4]["statistics"]["ks_pvalue"] = float("nan")  # not JSON-safe: must not crash
    income[5]["value"] = float("inf")
    doc["chunks"][2]["performance"]["realised"] = None
    doc["chunks"][2]["performance"]["difference"] = None
    doc["chunks"][1]["performance"]["estimated"]["roc_auc"] = None
    doc["summary"]["columns"]["income"]["max_value"] = None
    doc["reference"]["rows"] = None
    return doc


def test_null_and_nan_values_render_as_a_dash_and_leave_gaps():
    document = _with_gaps(compare_document())
    root = parse(compare_report_html(document))
    index = _order(document).index("income")

    summary = table_rows(section(root, "summary").find("table"))
    assert summary[index][0] == "income" and summary[index][3] == DASH  # max PSI
    heat = table_rows(section(root, "heat-map").find("table"))
    assert heat[index][4] == heat[index][6] == DASH
    cell = section(root, "heat-map").find("tbody").iter("tr")[index].iter("td")[4]
    assert "skipped: fewer than 30 rows" in cell.attrs["title"]
    chart = _charts(_feature(root, index))[0]
    assert len(chart.iter("g", cls="point")) == 10
    assert len(chart.iter("path", cls="l0")) == 2  # a gap over chunks 4 to 6
    perf = table_rows(section(root, "performance").find("table"))
    assert perf[2][2] == perf[2][4] == DASH and perf[1][3] == DASH
    assert "2,000 rows" not in root.text()


@pytest.mark.parametrize("document", [
    {}, {"chunks": None, "summary": None}, {"chunks": [{}], "summary": {"columns": {"a": {}}}},
    {"chunks": [{"key": "all", "drift": [{"column": "x", "value": "high", "shares": ["a"]}],
                 "performance": {"realised": "none", "estimated": {"roc_auc": "0.7"}}}]},
])
def test_partial_or_malformed_documents_still_render(document: dict):
    root = parse(compare_report_html(document))
    assert root.find("section", id="summary")


# --- size and speed ------------------------------------------------------------------


def test_fifty_columns_by_24_chunks_is_fast_and_small():
    document = compare_document(
        numeric=("income", *(f"n{i}" for i in range(34))),
        categorical=("region", *(f"c{i}" for i in range(14))),
        chunks=24, rows=100, reference_rows=500)
    started = time.perf_counter()
    markup = compare_report_html(document)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert len(markup.encode()) < 1_200_000
    root = parse(markup)
    assert len(_feature(root, 49).iter("svg")) >= 2
    assert len(section(root, "heat-map").find("tbody").iter("td")) == 51 * 25


# --- chart functions -----------------------------------------------------------------


def test_nice_ticks_cover_the_range_in_round_steps():
    assert nice_ticks(0.0, 0.37) == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert nice_ticks(0.68, 0.79, 4) == [0.65, 0.7, 0.75, 0.8]  # step 0.05 > 0.11 / 4
    assert nice_ticks(5.0, 5.0) == [3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5]
    assert nice_ticks(math.nan, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_charts_with_no_values_draw_axes_only():
    for markup in (line_chart([], [], title="t", y_label="y", x_label="x", threshold=0.2),
                   share_bars([], [], [], title="t", x_label="x"),
                   hbar_chart([], [], threshold=0.2, title="t", x_label="x")):
        root = parse(markup)
        assert len(root.iter("svg")) == 1 and root.find("title")


def test_hbar_chart_marks_bars_over_the_threshold_by_shape_and_colour():
    root = parse(hbar_chart(["a", "b", "c"], [0.05, 0.3, None], threshold=0.2, title="t",
                            x_label="PSI"))
    bars = root.iter("g", cls="bar")
    assert [("above" in b.classes) for b in bars] == [False, True, False]
    assert [b.iter("text")[1].text() for b in bars] == ["0.05", "0.3 ▲", DASH]
    assert "value" in bars[0].iter("text")[1].classes
    assert [r.attrs["class"] for r in root.iter("rect") if "height" in r.attrs
            and r.attrs.get("y") != "-5"] == ["cur", "over"]


# --- monitor run ---------------------------------------------------------------------


@pytest.fixture
def run_summary(workspace: Workspace) -> dict:
    insert_predictions(workspace, prediction_rows(
        generated(rows=3000, drift_features=("amount", "distance_from_home_km"))))
    return run_model_monitoring(workspace, {"now": NOW.isoformat()})


def test_run_report_has_a_psi_bar_per_check_and_the_summary(run_summary: dict):
    markup = run_report_html(run_summary)
    root = parse(markup)

    _offline_and_inert(markup, root)
    [row] = table_rows(section(root, "summary").find("table"))
    assert row[:5] == ["acme", "fraud", "fraud", "10", "2"]
    checks = [r for r in run_summary["results"]
              if r["check"] in ("data_drift", "prediction_drift") and r["status"] == "checked"]
    model = section(root, "model-0")
    chart = _charts(model)[0]
    bars = chart.iter("g", cls="bar")
    assert [b.iter("text")[0].text() for b in bars] == [c["feature"] for c in checks]
    assert {b.iter("text")[0].text() for b in bars if "above" in b.classes} == {
        "amount", "distance_from_home_km"}
    assert len(_threshold_lines(chart)) == 1
    drift_rows = table_rows(model.find("table"))
    assert [(r[0], r[2]) for r in drift_rows] == [(c["feature"], f"{c['psi']:.3f}")
                                                  for c in checks]
    categorical = [c for c in checks if c["kind"] == "categorical"]
    assert len(_charts(model)) == 1 + len(categorical)
    assert "Performance" in model.text() and "estimated" in model.text()


def test_run_report_groups_skew_checks_and_draws_text_terms(run_summary: dict):
    summary = copy.deepcopy(run_summary)
    drift = [r for r in summary["results"] if r["check"] == "data_drift"]
    skew = [{**r, "check": "training_skew", "modelVersion": 1,
             "reference": "reference-profile.json of fraud v1"} for r in drift[:3]]
    terms = {"check": "training_skew", "tenantId": "acme", "scenario": "fraud",
             "modelId": "fraud", "modelVersion": 1, "reference": skew[0]["reference"],
             "feature": "text.terms", "kind": "text", "status": "checked",
             "psi": 0.4, "verdict": "alert", "threshold": 0.2, "drift": True,
             "terms": {"outage": {"reference": 0.5, "current": 0.1},
                       "(other)": {"reference": 0.5, "current": 0.9}}}
    summary["results"] += [*skew, terms]

    model = section(parse(run_report_html(summary)), "model-0")

    headings = [h.text() for h in model.iter("h3")]
    assert headings[:2] == [
        "Drift: current window against the reference window",
        "Training-serving skew: current window against reference-profile.json of fraud v1"]
    skew_chart = [c for c in _charts(model) if c.find("title").text().startswith(
        "fraud: PSI per feature")][1]
    assert len(skew_chart.iter("g", cls="bar")) == 4
    assert [g.find("title").text() for g in _charts(model)[-1].iter("g", cls="bin")] == [
        "outage: reference 50.0%, current 10.0%", "(other): reference 50.0%, current 90.0%"]


def test_run_report_shows_the_alert_state_when_the_run_tracks_it(run_summary: dict):
    summary = copy.deepcopy(run_summary)
    checks = [r for r in summary["results"] if r["check"] in ("data_drift", "prediction_drift")]
    for r in checks:
        r.update({"alert": "firing" if r["drift"] else "ok",
                  "consecutive": 3 if r["drift"] else 0})

    model = section(parse(run_report_html(summary)), "model-0")

    rows = table_rows(model.find("table"))
    assert [(r[0], r[4]) for r in rows if r[4].startswith("▲")] == [
        ("amount", "▲ firing (3 in a row)"), ("distance_from_home_km", "▲ firing (3 in a row)")]
    assert {r[4] for r in rows if not r[4].startswith("▲")} == {"ok"}


def test_run_report_lists_skipped_checks_with_their_reason():
    summary = {"now": "2026-03-01T00:00:00+00:00", "driftChecked": 0, "events": [],
               "results": [{"check": "drift", "tenantId": "acme", "scenario": "fraud",
                            "modelId": HOSTILE_COLUMN, "status": "skipped",
                            "reason": "current window has 20 predictions, fewer than the 30"},
                           {"check": "performance", "tenantId": "acme", "scenario": "fraud",
                            "modelId": HOSTILE_COLUMN, "status": "skipped", "reason": "few"}]}
    markup = run_report_html(summary)
    root = parse(markup)

    _offline_and_inert(markup, root)
    model = section(root, "model-0")
    assert model.find("h2").text().startswith(HOSTILE_COLUMN)
    assert "fewer than the 30" in model.text()
    assert _charts(model) == []


def test_run_report_renders_an_empty_run():
    root = parse(run_report_html({"results": [], "events": []}))
    assert "No drift" in section(root, "summary").text()


# --- the command line ----------------------------------------------------------------


def test_monitor_run_writes_the_html_report(cli, workspace: Workspace, tmp_path: Path):
    insert_predictions(workspace, prediction_rows(generated(rows=2000)))
    out = tmp_path / "drift.html"

    result = cli("monitor", "run", "--now", NOW.isoformat(), "--report", out, "--json")

    assert result.code == 0, result.err
    root = parse(out.read_text(encoding="utf-8"))
    assert section(root, "model-0").find("svg")
    assert result.json()["driftChecked"] == 10


def test_monitor_run_report_into_a_missing_folder_exits_2_before_running(
        cli, workspace: Workspace, tmp_path: Path):
    result = cli("monitor", "run", "--report", tmp_path / "nowhere" / "drift.html")

    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "--report" in result.err and "does not exist" in result.err
    assert not (workspace.home / "monitoring" / "last-run.json").exists()


def test_monitor_run_report_to_a_folder_exits_2_naming_a_file_to_use(
        cli, workspace: Workspace, tmp_path: Path):
    result = cli("monitor", "run", "--report", tmp_path)

    assert result.code == 2
    assert f"--report {tmp_path} is a folder; give a file name, e.g. --report " in result.err
    assert result.err.count("\n") == 1
