"""``compare_files``: its numbers against independent oracles, its edge cases, the scenario."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from compare_helpers import SHIFTED, STABLE, credit_frame, write
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskops.errors import InputError
from riskops.monitoring import stats
from riskops.monitoring.baselines import CategoricalBaseline, NumericBaseline
from riskops.monitoring.chunks import chunk_by_period, chunk_by_size
from riskops.monitoring.compare import compare_files
from riskops.monitoring.performance import estimated_performance, labelled_performance
from riskops.monitoring.rank_metrics import estimated_metrics, labelled_metrics
from riskops.monitoring.segments import split_segments
from riskops.monitoring.stats import chi_square_counts as chi_square_of_counts
from riskops.monitoring.stats import jensen_shannon_of_shares, ks_and_wasserstein_sorted
from riskops.monitoring.summary_stats import SortedReference
from riskops.user_columns import ColumnFile, Encoded

RNG = np.random.default_rng(11)


def _files(tmp_path: Path, reference: pd.DataFrame, current: pd.DataFrame,
           suffix: str = ".parquet") -> tuple[Path, Path]:
    return (write(reference, tmp_path / f"reference{suffix}"),
            write(current, tmp_path / f"current{suffix}"))


def _entry(chunk: dict, column: str) -> dict:
    return next(e for e in chunk["drift"] if e["column"] == column)


# -- the maths against oracles ---------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(2_000, 700), (40, 3_000), (1, 1), (5, 1), (300, 300)])
def test_ks_and_wasserstein_equal_the_stats_functions_and_scipy(n: int, m: int):
    reference = RNG.normal(size=n).round(1)  # rounded: ties inside and across samples
    current = RNG.normal(0.3, 1.2, size=m).round(1)
    ordered = np.sort(reference)
    ks, distance = ks_and_wasserstein_sorted(ordered, np.sort(current), float(np.std(ordered)))
    assert ks == stats.ks_statistic(reference, current)
    assert distance == stats.wasserstein_scaled(reference, current)
    assert ks.statistic == pytest.approx(ks_2samp(reference, current).statistic)
    if np.std(reference) > 0:
        assert distance == pytest.approx(
            wasserstein_distance(reference, current) / np.std(reference))


def test_jensen_shannon_and_chi_square_of_summaries_equal_the_stats_functions():
    reference = RNG.choice(list("abcd"), 500, p=[.4, .3, .2, .1])
    current = RNG.choice(list("abcde"), 300)
    categories = sorted(set(reference) | set(current))
    ref_counts = np.array([(reference == c).sum() for c in categories], dtype=float)
    cur_counts = np.array([(current == c).sum() for c in categories], dtype=float)
    chi = chi_square_of_counts(ref_counts, cur_counts)
    assert chi == stats.chi_square(reference, current)
    oracle = chi2_contingency(np.vstack([ref_counts, cur_counts]), correction=False)
    assert chi.statistic == pytest.approx(oracle.statistic)
    assert chi.pvalue == pytest.approx(oracle.pvalue)
    ref_shares, cur_shares = stats.bin_shares(REF := RNG.normal(size=900), CUR := REF[:400] + 1)
    assert jensen_shannon_of_shares(ref_shares, cur_shares) == stats.jensen_shannon(REF, CUR)


def test_numeric_baseline_psi_is_the_hand_computed_psi_on_reference_quantiles():
    reference = RNG.normal(size=5_000)
    current = RNG.normal(0.4, 1.0, size=1_500)
    edges = np.quantile(reference, np.linspace(0, 1, 11)[1:-1])
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=10) / 5_000
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=10) / 1_500
    by_hand = float(np.sum((cur - ref) * np.log(cur / ref)))

    result = NumericBaseline(reference, bins=10).measure(current)

    assert result["value"] == pytest.approx(by_hand, rel=1e-12)
    assert result["value"] == stats.psi(reference, current)
    assert result["shares"] == pytest.approx(cur.tolist())
    assert result["statistics"]["ks"] == pytest.approx(ks_2samp(reference, current).statistic)


def test_categorical_baseline_psi_and_chi_square_with_an_unseen_category():
    baseline = CategoricalBaseline({"a": 60, "b": 40})

    result = baseline.measure({"a": 20, "b": 10, "c": 10})

    assert result["categories"] == ["a", "b", "c"]
    assert result["reference_shares"] == [0.6, 0.4, 0.0]
    assert result["shares"] == [0.5, 0.25, 0.25]
    ref, cur = np.array([0.6, 0.4, 1e-4]), np.array([0.5, 0.25, 0.25])
    assert result["value"] == pytest.approx(float(np.sum((cur - ref) * np.log(cur / ref))))
    oracle = chi2_contingency([[60, 40, 0], [20, 10, 10]], correction=False)
    assert result["statistics"]["chi_square"] == pytest.approx(oracle.statistic)
    assert result["statistics"]["dof"] == 2


# -- chunks ------------------------------------------------------------------------------


def test_chunks_by_period_use_calendar_keys_and_bounds():
    times = np.array(["2019-03-31T23:59:59", "2019-04-01T00:00:00", "2018-12-31T12:00:00",
                      "2019-04-07T10:00:00", "2019-04-08T00:00:00"], dtype="datetime64[us]")
    weeks = chunk_by_period(times, "week")
    assert [(c.key, c.rows.tolist()) for c in weeks] == [
        ("2019-W01", [2]), ("2019-W13", [0]), ("2019-W14", [1, 3]), ("2019-W15", [4])]
    assert (weeks[2].start, weeks[2].end) == ("2019-04-01T00:00:00+00:00",
                                              "2019-04-08T00:00:00+00:00")
    quarters = chunk_by_period(times, "quarter")
    assert [(c.key, c.end) for c in quarters] == [
        ("2018-Q4", "2019-01-01T00:00:00+00:00"), ("2019-Q1", "2019-04-01T00:00:00+00:00"),
        ("2019-Q2", "2019-07-01T00:00:00+00:00")]
    assert [c.key for c in chunk_by_period(times, "year")] == ["2018", "2019"]
    assert [c.key for c in chunk_by_period(times, "day")][:2] == ["2018-12-31", "2019-03-31"]


def test_chunks_by_size_keep_file_order_and_a_short_last_chunk():
    chunks = chunk_by_size(7, 3)
    assert [(c.key, c.size(7)) for c in chunks] == [("0", 3), ("1", 3), ("2", 1)]


def test_segments_split_rows_per_value_and_chunk():
    times = np.array(["2019-01-05", "2019-02-01", "2019-01-09", "2019-02-03"], "datetime64[us]")
    chunks = chunk_by_period(times, "month")
    reference = Encoded(np.array([0, 1, -1, 0]), ["a", "b"])
    current = Encoded(np.array([1, 0, 1, -1]), ["b", "a"])  # its own code order

    segments = split_segments("g", reference, current, chunks)

    assert segments.values == ["(missing)", "a", "b"]
    assert [r.tolist() for r in segments.reference_rows] == [[2], [0, 3], [1]]
    assert [[r.tolist() for r in per] for per in segments.chunk_rows] == [
        [[], [3]], [[0, 2], []], [[], [1]]]


# -- the document ------------------------------------------------------------------------


def test_done_when_the_shifted_columns_drift_from_the_known_month_and_cbpe_tracks_auc(
        tmp_path: Path):
    reference = credit_frame(2_000, start="2018-01-01", seed=1)
    current = credit_frame(8_000, start="2019-01-01", shift_from=6, seed=2)
    ref_path, cur_path = _files(tmp_path, reference, current)

    document = compare_files(ref_path, cur_path, timestamp_col="ts", chunk_period="month",
                             score_col="score", label_col="default")

    assert [c["key"] for c in document["chunks"]] == [f"2019-{m:02d}" for m in range(1, 13)]
    for number, chunk in enumerate(document["chunks"]):
        drifted = {e["column"] for e in chunk["drift"] if e["drifted"]}
        if number < 6:
            assert drifted == set(), chunk["key"]
        else:
            assert set(SHIFTED) <= drifted and not drifted & set(STABLE), chunk["key"]
        performance = chunk["performance"]
        assert abs(performance["difference"]["roc_auc"]) <= 0.02, chunk["key"]
        month = current[current["ts"].dt.month == number + 1]
        realised = performance["realised"]
        assert realised["roc_auc"] == pytest.approx(roc_auc_score(month["default"],
                                                                  month["score"]))
        assert realised["brier"] == pytest.approx(brier_score_loss(month["default"],
                                                                   month["score"]))
    summary = document["summary"]
    assert summary["drifted_chunks"] == 6 and summary["drift"] is True
    assert {n: summary["columns"][n]["first_drifted"] for n in SHIFTED} == dict.fromkeys(
        SHIFTED, "2019-07")
    assert document["reference"]["excluded"] == {"id": "named id"}
    assert document["options"]["columns"] == ["income", "age", "debt", "tenure", "region",
                                              "channel"]
    json.dumps(document, allow_nan=False)


def test_the_document_holds_the_contract_keys(tmp_path: Path):
    reference = credit_frame(100, start="2018-01-01", months=2, seed=3)
    current = credit_frame(100, start="2019-01-01", months=2, seed=4)
    document = compare_files(*_files(tmp_path, reference, current), score_col="score",
                             label_col="default", categorical=["tenure"])

    assert document["kind"] == "riskops.monitor.compare" and document["schema_version"] == 1
    assert set(document) == {"kind", "schema_version", "generated_at", "options", "reference",
                             "current", "chunks", "summary"}
    assert document["options"]["categorical"] == ["tenure", "region", "channel"]
    columns = {c["name"]: c for c in document["reference"]["columns"]}
    assert columns["income"]["bins"]["kind"] == "quantiles"
    assert len(columns["income"]["shares"]) == len(columns["income"]["bins"]["points"]) + 1
    assert columns["region"]["categories"] == ["east", "north", "south", "west"]
    assert document["reference"]["score"]["kind"] == "score"
    assert document["reference"]["labelled"] and document["current"]["labelled"]
    (chunk,) = document["chunks"]
    assert chunk["key"] == "all" and chunk["rows"] == 200 and chunk["start"] is None
    numeric, categorical = _entry(chunk, "income"), _entry(chunk, "region")
    assert set(numeric["statistics"]) == {"psi", "ks", "ks_pvalue", "jensen_shannon",
                                          "wasserstein_scaled"}
    assert set(categorical["statistics"]) == {"psi", "chi_square", "chi_square_pvalue", "dof"}
    assert "categories" not in numeric and categorical["categories"] is not None
    assert numeric["band"] in {"stable", "monitor", "alert"} and numeric["method"] == "psi"
    assert set(chunk["performance"]) >= {"realised", "estimated", "difference"}


def test_csv_and_parquet_give_the_same_document(tmp_path: Path):
    reference = credit_frame(300, start="2018-01-01", months=3, seed=5)
    current = credit_frame(300, start="2019-01-01", months=3, shift_from=1, seed=6)
    documents = []
    for suffix in (".csv", ".parquet"):
        document = compare_files(*_files(tmp_path, reference, current, suffix),
                                 timestamp_col="ts", chunk_period="month", score_col="score",
                                 label_col="default")
        for key in ("generated_at",):
            document.pop(key)
        document["reference"].pop("source")
        document["current"].pop("source")
        documents.append(document)
    assert documents[0] == documents[1]


def test_constant_column_and_all_missing_chunk(tmp_path: Path):
    reference = pd.DataFrame({"flat": np.full(200, 3.0), "gappy": RNG.normal(size=200)})
    gappy = RNG.normal(size=200)
    gappy[100:] = np.nan
    current = pd.DataFrame({"flat": np.r_[np.full(100, 3.0), np.full(100, 4.0)],
                            "gappy": gappy})

    document = compare_files(*_files(tmp_path, reference, current), chunk_size=100)

    first, second = document["chunks"]
    assert _entry(first, "flat")["value"] == 0.0 and not _entry(first, "flat")["drifted"]
    assert _entry(second, "flat")["drifted"] and _entry(second, "flat")["band"] == "alert"
    assert document["reference"]["columns"][0]["bins"] == {"kind": "values", "points": [3.0]}
    skipped = _entry(second, "gappy")
    assert skipped["value"] is None and skipped["drifted"] is False
    assert skipped["missing_share"] == 1.0
    assert skipped["skipped"] == ("chunk has 0 non-missing values, fewer than the 30 a drift "
                                  "check needs")


def test_a_chunk_under_30_rows_is_skipped_with_its_reason(tmp_path: Path):
    reference = pd.DataFrame({"x": RNG.normal(size=100), "c": RNG.choice(list("ab"), 100),
                              "score": RNG.uniform(size=100)})
    current = reference.iloc[:70]

    document = compare_files(*_files(tmp_path, reference, current), chunk_size=50,
                             score_col="score")

    last = document["chunks"][1]
    assert last["rows"] == 20
    assert all(e["skipped"] and e["value"] is None for e in last["drift"])
    assert _entry(last, "c")["skipped"] == ("chunk has 20 rows, fewer than the 30 a drift "
                                            "check needs")
    assert last["performance"]["estimated"] is None
    assert "fewer than the 30" in last["performance"]["skipped"]


def test_unseen_category_in_current_raises_psi_and_chi_square(tmp_path: Path):
    reference = pd.DataFrame({"channel": ["web"] * 60 + ["branch"] * 40})
    current = pd.DataFrame({"channel": ["web"] * 40 + ["branch"] * 30 + ["app"] * 30})

    (chunk,) = compare_files(*_files(tmp_path, reference, current))["chunks"]

    entry = _entry(chunk, "channel")
    assert entry["categories"] == ["app", "branch", "web"]
    assert entry["reference_shares"] == [0.0, 0.4, 0.6]
    assert entry["value"] == pytest.approx(stats.categorical_psi(reference["channel"],
                                                                 current["channel"]))
    assert entry["drifted"] and entry["statistics"]["dof"] == 2


def test_missing_categories_count_as_their_own_category(tmp_path: Path):
    reference = pd.DataFrame({"c": ["a", "b"] * 50})
    current = pd.DataFrame({"c": ["a", None, "", "b"] * 25})

    (chunk,) = compare_files(*_files(tmp_path, reference, current, ".csv"))["chunks"]

    entry = _entry(chunk, "c")
    assert entry["categories"] == ["(missing)", "a", "b"] and entry["missing_share"] == 0.5


def test_id_like_columns_are_left_out_unless_named(tmp_path: Path):
    reference = pd.DataFrame({"ref": [f"k{i}" for i in range(50)], "x": RNG.normal(size=50)})
    paths = _files(tmp_path, reference, reference)

    document = compare_files(*paths)
    assert document["options"]["columns"] == ["x"]
    assert "identifier" in document["reference"]["excluded"]["ref"]
    assert compare_files(*paths, columns=["ref"])["options"]["columns"] == ["ref"]


def test_estimated_performance_without_reference_labels_reads_scores_as_probabilities(
        tmp_path: Path):
    scores = RNG.uniform(size=400)
    reference = pd.DataFrame({"score": scores})
    current = pd.DataFrame({"score": scores, "y": (RNG.uniform(size=400) < scores).astype(int)})

    document = compare_files(*_files(tmp_path, reference, current), score_col="score",
                             label_col="y")

    estimated = document["chunks"][0]["performance"]["estimated"]
    assert estimated["calibration"].startswith("none")
    assert estimated["brier"] == pytest.approx(float(np.mean(scores * (1 - scores))))
    assert document["reference"]["labelled"] is False
    assert document["reference"]["performance"] is None


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("options, message", [
    ({"chunk_period": "month"}, "--chunk-period needs --timestamp-col"),
    ({"chunk_period": "month", "chunk_size": 5, "timestamp_col": "ts"}, "alternatives"),
    ({"chunk_period": "fortnight", "timestamp_col": "ts"}, "not a period"),
    ({"chunk_size": 0}, "--chunk-size must be"),
    ({"threshold": -0.1}, "--threshold must be"),
    ({"threshold": math.nan}, "--threshold must be"),
    ({"bins": 1}, "--bins must be"),
    ({"decision_threshold": 1.5}, "--decision-threshold must be"),
    ({"columns": ["nope"]}, "missing --columns column 'nope'"),
    ({"columns": ["x"], "categorical": ["ts"]}, "--categorical lists 'ts', which --columns"),
    ({"columns": ["ts"]}, "holds dates or times"),
    ({"score_col": "x"}, "score column 'x' must hold scores from 0 to 1; data row"),
])
def test_bad_options_name_the_option(tmp_path: Path, options: dict, message: str):
    frame = pd.DataFrame({"x": RNG.normal(size=50), "ts": ["2019-01-01"] * 50})
    paths = _files(tmp_path, frame, frame, ".csv")
    with pytest.raises(InputError) as caught:
        compare_files(*paths, **options)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_text_in_a_numeric_column_names_the_file_column_and_row(tmp_path: Path):
    (tmp_path / "r.csv").write_text("amount\n" + "1.5\n" * 40)
    (tmp_path / "c.csv").write_text("amount\n" + "2.5\n" * 30 + "lots\n" + "1\n" * 9)
    with pytest.raises(InputError) as caught:
        compare_files(tmp_path / "r.csv", tmp_path / "c.csv")
    assert str(caught.value) == (
        f"--current {tmp_path / 'c.csv'}: numeric column 'amount' must hold numbers; data row "
        "31 has 'lots'; fix or empty that cell, or list the column under --categorical.")


def test_unparsable_and_empty_timestamps_name_the_row(tmp_path: Path):
    (tmp_path / "r.csv").write_text("ts,x\n" + "2019-01-01,1\n" * 40)
    (tmp_path / "c.csv").write_text("ts,x\n2019-01-01T10:00:00Z,1\n2019-01-02,1\nsoon,1\n")
    with pytest.raises(InputError, match=r"timestamp column 'ts': data row 3 has 'soon'"):
        compare_files(tmp_path / "r.csv", tmp_path / "c.csv", timestamp_col="ts",
                      chunk_period="day")
    (tmp_path / "c.csv").write_text("ts,x\n2019-01-01,1\n,2\n")
    with pytest.raises(InputError, match=r"data row 2 is empty"):
        compare_files(tmp_path / "r.csv", tmp_path / "c.csv", timestamp_col="ts",
                      chunk_period="day")


def test_timestamps_with_and_without_zones_are_utc(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("ts\n2019-01-01T10:00:00+02:00\n2019-01-01 08:00:00\n"
                    "2019-01-01T08:00:00.123456789Z\n")
    times = ColumnFile(path).timestamps("ts")
    assert times.astype(str).tolist() == ["2019-01-01T08:00:00.000000",
                                         "2019-01-01T08:00:00.000000",
                                         "2019-01-01T08:00:00.123456"]


@pytest.mark.parametrize("name, text, message", [
    ("empty.csv", "", "the file is empty"),
    ("header.csv", "a,b\n", "has a header but no rows"),
    ("ragged.csv", "a,b\n1,2\n3\n", "cannot be read as CSV"),
    ("data.txt", "a\n1\n", "unsupported file type '.txt'"),
    ("bad.parquet", "not parquet", "cannot be read as Parquet"),
    ("twice.csv", "a,a\n1,2\n", "column 'a' appears more than once"),
])
def test_unreadable_files_are_refused_in_one_line(tmp_path: Path, name: str, text: str,
                                                  message: str):
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as caught:
        ColumnFile(tmp_path / name, source=f"--current {name}")
    assert str(caught.value).startswith(f"--current {name}: ")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_hostile_column_names_are_compared_and_quoted(tmp_path: Path):
    odd = 'a,b\nc "d"'
    frame = pd.DataFrame({odd: RNG.normal(size=60), "y": RNG.normal(size=60)})
    for suffix in (".csv", ".parquet"):
        paths = _files(tmp_path, frame, frame, suffix)
        document = compare_files(*paths)
        assert document["options"]["columns"] == [odd, "y"]
        with pytest.raises(InputError) as caught:
            compare_files(*paths, columns=["a\nb"])
        message = str(caught.value)
        assert "missing --columns column 'a\\nb'" in message and "\n" not in message


# -- performance from sorted scores -----------------------------------------------------------


@pytest.mark.parametrize("rows, decimals", [(40, None), (2_000, None), (2_000, 2), (500, 0)])
def test_rank_metrics_equal_performance_py_and_sklearn(rows: int, decimals: int | None):
    scores = RNG.uniform(size=rows)
    if decimals is not None:
        scores = scores.round(decimals)  # ties, down to two distinct scores
    y = (RNG.uniform(size=rows) < scores).astype(int)
    probabilities = RNG.uniform(size=rows)

    labelled = labelled_metrics(y.astype(float), scores, threshold=0.5)
    oracle = labelled_performance(y, scores, threshold=0.5)
    estimated = estimated_metrics(scores, threshold=0.5, probabilities=probabilities)
    expected = estimated_performance(scores, threshold=0.5, probabilities=probabilities)

    for mine, theirs in ((labelled, oracle), (estimated, expected)):
        assert list(mine) == list(theirs)
        for key, value in theirs.items():
            assert mine[key] == (pytest.approx(value, rel=1e-12, abs=1e-12)
                                 if isinstance(value, float) else value), key
    assert labelled["roc_auc"] == pytest.approx(roc_auc_score(y, scores), rel=1e-12)
    assert labelled["pr_auc"] == pytest.approx(average_precision_score(y, scores), rel=1e-12)


def test_rank_metrics_say_why_a_metric_is_undefined():
    scores = np.array([0.2, 0.3, 0.9])
    labelled = labelled_metrics(np.zeros(3), scores, threshold=0.5)
    assert labelled["roc_auc"] is None and labelled["recall"] is None
    assert labelled["undefined"] == labelled_performance([0, 0, 0], scores,
                                                         threshold=0.5)["undefined"]
    estimated = estimated_metrics(scores, threshold=0.5, probabilities=np.zeros(3))
    assert estimated["roc_auc"] is None
    assert estimated["undefined"] == estimated_performance(scores, threshold=0.5,
                                                           probabilities=np.zeros(3))["undefined"]


def test_text_after_the_first_block_of_a_big_csv_is_still_found(tmp_path: Path):
    (tmp_path / "r.csv").write_text("amount\n" + "1.5\n" * 40)
    rows = 300_000  # past the first 1 MB block Arrow infers types from
    (tmp_path / "c.csv").write_text("amount\n" + "2.25\n" * rows + "lots\n")
    with pytest.raises(InputError, match=f"data row {rows + 1} has 'lots'"):
        compare_files(tmp_path / "r.csv", tmp_path / "c.csv")


def test_csv_column_kinds(tmp_path: Path):
    path = tmp_path / "kinds.csv"
    path.write_text("flag,empty,day,code,n\n" + "true,,2019-01-01,007,1\n"
                    "False,,2019-01-02,x,2.5\n" * 40)
    table = ColumnFile(path)
    assert [table.kind(n) for n in table.names] == [
        "categorical", "numeric", "timestamp", "categorical", "numeric"]
    assert table.categorical("flag").labels == ["true", "False"]
    assert np.isnan(table.numeric("empty")).all()
    document = compare_files(path, path)
    assert document["options"]["columns"] == ["flag", "empty", "code", "n"]
    assert document["reference"]["excluded"] == {"day": "dates or times"}


@pytest.mark.parametrize("n, m, decimals", [(1_000, 50, 1), (5_000, 100, None), (2_000, 7, 0),
                                            (300, 2, 1), (400, 1, None)])
def test_a_small_chunk_searched_in_the_reference_gives_the_stats_numbers(
        n: int, m: int, decimals: int | None):
    reference = RNG.normal(size=n)
    current = RNG.normal(0.2, 1.3, size=m)
    if decimals is not None:
        reference, current = reference.round(decimals), current.round(decimals)

    ks, distance = SortedReference(np.sort(reference)).compare(np.sort(current))

    assert ks == stats.ks_statistic(reference, current)
    assert distance == pytest.approx(stats.wasserstein_scaled(reference, current), rel=1e-12)


@pytest.mark.parametrize("current", [[-5.0, -4.0], [500.0, 600.0], [3.0], [0.0, 50.0, 99.0]])
def test_a_small_chunk_outside_or_on_the_reference(current: list[float]):
    reference = np.arange(100.0)
    ks, distance = SortedReference(reference).compare(np.sort(current))
    assert ks == stats.ks_statistic(reference, current)
    assert distance == pytest.approx(stats.wasserstein_scaled(reference, current), rel=1e-12)
    assert distance == pytest.approx(wasserstein_distance(reference, current) / reference.std(),
                                     rel=1e-12)


def test_a_high_cardinality_text_column_is_left_out_unless_named(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for name in ("ref", "cur"):
        pd.DataFrame({
            "x": rng.normal(size=4_000),
            "email": [f"u{i}@example.com" for i in rng.integers(0, 3_000, 4_000)],
            "region": rng.choice(["n", "s", "e"], 4_000),
        }).to_parquet(tmp_path / f"{name}.parquet")
    document = compare_files(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    compared = [c["name"] for c in document["reference"]["columns"]]
    assert compared == ["x", "region"]
    assert "free text or an identifier" in document["reference"]["excluded"]["email"]
    assert not document["summary"]["drift"]

    named = compare_files(tmp_path / "ref.parquet", tmp_path / "cur.parquet",
                          categorical=["email"])
    assert "email" in [c["name"] for c in named["reference"]["columns"]]


def test_parquet_text_read_as_a_dictionary_gives_the_labels_of_the_text(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = ["b", None, "a", "", "c", "a", None, "b", "z"] * 50
    path = tmp_path / "groups.parquet"
    # Several row groups, each with its own dictionary; nulls and an empty string.
    pq.write_table(pa.table({"g": pa.array(values, pa.string())}), path, row_group_size=37)
    column = ColumnFile(path)
    encoded = column.categorical("g")
    decoded = [None if code < 0 else encoded.labels[code] for code in encoded.codes]
    assert decoded == [None if v in (None, "") else v for v in values]


def test_parquet_identifier_checks_read_the_text_once_as_a_dictionary(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({
        "key": pa.array([f"k{i}" for i in range(300)]),              # an identifier
        "empty_too": pa.array([f"k{i}" for i in range(299)] + [""]),  # "" is a value here
        "gaps": pa.array(["a", None, "b"] * 100),
    }), path, row_group_size=64)
    column = ColumnFile(path)
    assert column.all_distinct("key") and column.distinct_count("key") == 300
    assert column.all_distinct("empty_too")
    assert not column.all_distinct("gaps") and column.distinct_count("gaps") == 2
    assert column._cache == {}  # no string column was built: the codes serve every check
