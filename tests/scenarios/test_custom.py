"""Custom scenarios: a TOML config plus the user's CSV or Parquet file."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskops.errors import InputError
from riskops.scenarios import get_scenario
from riskops.scenarios.custom import CustomScenario, load_custom_scenario
from riskops.user_tables import read_table

CONFIG = """\
[scenario]
name = "claims"
description = "Insurance claim leakage"

[columns]
id = "claim_id"
timestamp = "submitted_at"
tenant = "tenant"
label = "leak"
positive_label = "1"
segments = ["line_of_business", "region"]
sensitive = "claimant_age_band"

[features]
numeric = ["amount", "days_to_report"]
categorical = ["channel"]
text = ["notes"]

[heuristic]
rules = [
  { feature = "amount", op = ">", value = 10000, points = 0.4, reason = "large claim" },
  { feature = "channel", op = "in", value = ["phone", "fax"], points = 0.3, reason = "remote" },
  { feature = "days_to_report", op = ">=", value = 30, points = 0.2, reason = "late report" },
  { feature = "notes", op = "==", value = "duplicate invoice", points = 0.7 },
]
threshold = 0.5
"""

PREPARED_COLUMNS = [
    "id", "timestamp", "tenant_id", "line_of_business", "region", "claimant_age_band",
    "amount", "days_to_report", "channel", "notes", "label",
]
NOTES = ("routine claim", "urgent water damage", "duplicate invoice", "minor scratch")


def claims_frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """User-named columns; the leak probability rises with amount, lateness, phone, duplicates."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(8.5, 1.0, rows).round(2)
    days = rng.integers(0, 60, rows)
    channel = rng.choice(["web", "agent", "phone"], rows)
    notes = rng.choice(NOTES, rows)
    logit = (1.5 * (np.log(amount) - 8.5) + 0.04 * (days - 30) + 1.0 * (channel == "phone")
             + 2.5 * (notes == "duplicate invoice") - 1.0)
    leak = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    seconds = rng.uniform(0, 90 * 86_400, rows)
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame({
        "claim_id": [f"C-{i:05d}" for i in range(rows)],
        "submitted_at": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tenant": rng.choice(["acme", "globex"], rows),
        "line_of_business": rng.choice(["motor", "home"], rows),
        "region": rng.choice(["north", "south", "east"], rows),
        "claimant_age_band": rng.choice(["18-34", "35-64", "65+"], rows),
        "amount": amount,
        "days_to_report": days,
        "channel": channel,
        "notes": notes,
        "internal_memo": "not for the model",
        "leak": leak,
    })


def write_config(tmp_path: Path, text: str = CONFIG, name: str = "claims.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def scenario(config: Path) -> CustomScenario:
    return load_custom_scenario(config, name="claims")


# -- loading and the schema ---------------------------------------------------------------


def test_schema_uses_riskops_names_and_the_configured_roles(scenario: CustomScenario) -> None:
    schema = scenario.schema
    assert scenario.name == "claims"
    assert scenario.description == "Insurance claim leakage"
    assert [(f.name, f.kind) for f in schema.features] == [
        ("amount", "numeric"), ("days_to_report", "numeric"), ("channel", "categorical"),
        ("notes", "text"),
    ]
    assert schema.segments == ("line_of_business", "region")
    assert schema.sensitive == "claimant_age_band"
    assert (schema.id, schema.timestamp, schema.tenant, schema.label) == (
        "id", "timestamp", "tenant_id", "label")
    assert schema.labels == ("0", "1")
    assert scenario.default_threshold == 0.5


def test_get_scenario_with_a_config_loads_the_custom_scenario(config: Path) -> None:
    assert isinstance(get_scenario("claims", config=config), CustomScenario)


def test_generate_asks_for_data(scenario: CustomScenario) -> None:
    with pytest.raises(InputError) as caught:
        scenario.generate(10, start=pd.Timestamp("2024-01-01").date(), days=1)
    assert str(caught.value) == "custom scenarios have no generator; bring your data with --data"


# -- prepare(): renaming and normalising ----------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_prepare_renames_user_columns_to_the_riskops_layout(
    scenario: CustomScenario, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"claims{suffix}"
    raw = claims_frame()
    if suffix == ".csv":
        raw.to_csv(path, index=False)
    else:
        raw.to_parquet(path)

    prepared = scenario.prepare(read_table(path))

    assert list(prepared.columns) == PREPARED_COLUMNS
    assert len(prepared) == len(raw)
    assert prepared["timestamp"].is_monotonic_increasing
    assert str(prepared["timestamp"].dtype).endswith("UTC]")
    assert set(prepared["label"]) == {"0", "1"}
    assert prepared["amount"].dtype == float
    by_id = prepared.set_index("id")
    assert by_id.loc["C-00007", "tenant_id"] == raw.loc[7, "tenant"]
    assert by_id.loc["C-00007", "label"] == str(raw.loc[7, "leak"])
    assert by_id.loc["C-00007", "amount"] == raw.loc[7, "amount"]


def test_csv_and_parquet_prepare_to_the_same_frame(
    scenario: CustomScenario, tmp_path: Path
) -> None:
    raw = claims_frame()
    raw.to_csv(tmp_path / "c.csv", index=False)
    raw.to_parquet(tmp_path / "c.parquet")

    from_csv = scenario.prepare(read_table(tmp_path / "c.csv"))
    from_parquet = scenario.prepare(read_table(tmp_path / "c.parquet"))

    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_negative_label_is_discovered_from_the_data(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG.replace('positive_label = "1"',
                                                   'positive_label = "leaked"'))
    scenario = load_custom_scenario(config, name="claims")
    frame = claims_frame()
    frame["leak"] = np.where(frame["leak"] == 1, "leaked", "clean")

    prepared = scenario.prepare(frame)

    assert scenario.schema.labels == ("clean", "leaked")
    assert set(prepared["label"]) == {"clean", "leaked"}
    assert scenario.binary_target(prepared["label"]).sum() == (frame["leak"] == "leaked").sum()


def test_boolean_labels_read_as_0_and_1(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame["leak"] = frame["leak"].astype(bool)
    assert set(scenario.prepare(frame)["label"]) == {"0", "1"}


def test_default_column_names_and_a_default_tenant(tmp_path: Path) -> None:
    text = CONFIG.replace('id = "claim_id"\n', "").replace('tenant = "tenant"\n', "")
    scenario = load_custom_scenario(write_config(tmp_path, text), name="claims")
    frame = claims_frame().rename(columns={"claim_id": "id"}).drop(columns="tenant")

    prepared = scenario.prepare(frame)

    assert set(prepared["tenant_id"]) == {"default"}
    assert prepared["id"].str.startswith("C-").all()


def test_missing_categorical_values_stay_missing(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame.loc[3, "channel"] = None
    frame.loc[4, "amount"] = np.nan

    prepared = scenario.prepare(frame).set_index("id")

    assert prepared.loc["C-00003", "channel"] is None
    assert math.isnan(prepared.loc["C-00004", "amount"])


# -- heuristic ------------------------------------------------------------------------------


def test_heuristic_adds_the_points_of_the_rules_that_fire(scenario: CustomScenario) -> None:
    result = scenario.heuristic(
        {"amount": 20_000, "channel": "phone", "days_to_report": 3, "notes": "x"}
    )
    assert result.score == pytest.approx(0.7)
    assert result.label == "1"
    assert result.reasons == ("large claim", "remote")


def test_heuristic_below_threshold_is_negative(scenario: CustomScenario) -> None:
    result = scenario.heuristic({"amount": 50, "channel": "fax", "days_to_report": 1})
    assert (result.score, result.label, result.reasons) == (0.3, "0", ("remote",))


def test_heuristic_score_is_capped_at_one(scenario: CustomScenario) -> None:
    result = scenario.heuristic({"amount": 20_000, "channel": "phone", "days_to_report": 45,
                                 "notes": "duplicate invoice"})
    assert result.score == 1.0
    assert result.reasons == ("large claim", "remote", "late report",
                              "notes == 'duplicate invoice'")


@pytest.mark.parametrize("features", [
    {},
    {"amount": None, "channel": None, "days_to_report": float("nan"), "notes": None},
    {"amount": "not a number", "days_to_report": pd.NA},
], ids=["absent", "empty", "unparseable"])
def test_rules_on_missing_features_do_not_fire(
    scenario: CustomScenario, features: dict[str, object]
) -> None:
    assert scenario.heuristic(features).reasons == ()
    assert scenario.heuristic(features).score == 0.0
    assert scenario.heuristic(features).label == "0"


def test_numeric_rules_accept_numbers_written_as_text(scenario: CustomScenario) -> None:
    assert scenario.heuristic({"amount": "12000.5"}).reasons == ("large claim",)


def test_points_add_up_without_float_drift(tmp_path: Path) -> None:
    # 0.7 + 0.1 is 0.7999999999999999 in floating point; the score must reach 0.8.
    text = CONFIG.split("[heuristic]")[0] + """[heuristic]
rules = [
  { feature = "amount", op = "<", value = 10, points = 0.7 },
  { feature = "channel", op = "!=", value = "web", points = 0.1 },
]
threshold = 0.8
"""
    scenario = load_custom_scenario(write_config(tmp_path, text), name="claims")
    result = scenario.heuristic({"amount": 1, "channel": "agent"})
    assert (result.score, result.label) == (0.8, "1")
    assert scenario.heuristic({"amount": 1}).score == 0.7  # != on a missing value: no fire


def test_without_rules_the_heuristic_scores_zero(tmp_path: Path) -> None:
    text = CONFIG.split("[heuristic]")[0]
    scenario = load_custom_scenario(write_config(tmp_path, text), name="claims")
    assert scenario.heuristic({"amount": 1e9}).score == 0.0
    assert scenario.default_threshold == 0.5


# -- the model ------------------------------------------------------------------------------


def test_model_fits_ranks_and_saves_with_trusted_types_only(
    scenario: CustomScenario, tmp_path: Path
) -> None:
    import skops.io as sio
    from sklearn.metrics import roc_auc_score

    from riskops.registry.loader import BUILTIN_TRUSTED_TYPES

    claims_frame(rows=900).to_csv(tmp_path / "claims.csv", index=False)
    prepared = scenario.prepare(read_table(tmp_path / "claims.csv"))
    train, test = prepared.iloc[:600], prepared.iloc[600:]

    model = scenario.build_model(seed=0).fit(train[scenario.schema.feature_names],
                                             train["label"])
    scores = scenario.risk_scores(model, test)

    assert roc_auc_score(scenario.binary_target(test["label"]), scores) > 0.75
    assert scenario.config.model.estimator == "text_logistic"
    assert list(model.named_steps["features"].named_transformers_) == [
        "text", "categorical", "numeric"]
    assert set(sio.get_untrusted_types(data=sio.dumps(model))) <= set(BUILTIN_TRUSTED_TYPES)


def test_model_without_text_features_is_the_calibrated_gradient_boosting(
    tmp_path: Path,
) -> None:
    text = CONFIG.replace('text = ["notes"]\n', "").replace(
        '  { feature = "notes", op = "==", value = "duplicate invoice", points = 0.7 },\n', "")
    scenario = load_custom_scenario(write_config(tmp_path, text), name="claims")
    transformers = scenario.build_model(seed=0).named_steps["features"].transformers
    assert [name for name, _, _ in transformers] == ["numeric", "categorical"]


def _with_model(section: str, text: str = CONFIG) -> str:
    return text + section


def test_text_features_default_to_incidents_model_family(tmp_path: Path) -> None:
    from riskops.scenarios.linear import calibrated_text_logistic

    scenario = load_custom_scenario(write_config(tmp_path), name="claims")
    built = scenario.build_model(seed=3)
    assert repr(built) == repr(calibrated_text_logistic(scenario.schema, seed=3))
    vectorizer = built.named_steps["features"].transformers[0][1]
    assert (vectorizer.ngram_range, vectorizer.sublinear_tf) == ((1, 2), True)


def test_a_custom_scenario_with_incidents_columns_builds_incidents_pipeline(
    tmp_path: Path,
) -> None:
    incident = get_scenario("incident")
    config = write_config(tmp_path, '[scenario]\nname = "tickets"\n[columns]\n'
                          'positive_label = "high"\n[features]\ntext = ["text"]\n'
                          'categorical = ["source", "service_tier"]\n')
    custom = load_custom_scenario(config, name="tickets")
    assert repr(custom.build_model(seed=5)) == repr(incident.build_model(seed=5))
    assert custom.build_model(seed=5).get_params()["classifier__estimator__C"] == 1.0


@pytest.mark.parametrize(("section", "estimator", "params"), [
    ('[model]\nestimator = "gradient_boosting"\nmax_iter = 20\nlearning_rate = 0.2\n',
     "HistGradientBoostingClassifier", {"max_iter": 20, "learning_rate": 0.2}),
    ('[model]\nestimator = "text_logistic"\nC = 0.25\n', "LogisticRegression", {"C": 0.25}),
])
def test_model_section_picks_the_estimator_and_its_parameters(
    tmp_path: Path, section: str, estimator: str, params: dict[str, float]
) -> None:
    scenario = load_custom_scenario(write_config(tmp_path, _with_model(section)), name="claims")
    inner = scenario.build_model(seed=0).named_steps["classifier"].estimator
    assert type(inner).__name__ == estimator
    assert {k: inner.get_params()[k] for k in params} == params


def test_logistic_regression_on_a_tabular_config(tmp_path: Path) -> None:
    text = CONFIG.replace('text = ["notes"]\n', "").replace(
        '  { feature = "notes", op = "==", value = "duplicate invoice", points = 0.7 },\n', "")
    path = write_config(tmp_path, _with_model('[model]\nestimator = "logistic_regression"\n',
                                               text))
    scenario = load_custom_scenario(path, name="claims")
    model = scenario.build_model(seed=0)
    assert [n for n, _, _ in model.named_steps["features"].transformers] == [
        "categorical", "numeric"]
    assert scenario.config.model.params == {"C": 1.0}


@pytest.mark.parametrize(("section", "message"), [
    ('estimator = "random_forest"', "model.estimator 'random_forest' is not one of "
     "gradient_boosting, logistic_regression, text_logistic."),
    ("estimator = 3", "model.estimator must be a non-empty string, not 3 (int)."),
    ('estimator = "text_logistic"\nC = "1"', "model.C must be a number, not '1' (str)."),
    ('estimator = "text_logistic"\nC = 0', "model.C must be a number in (0, 1e+06], got 0."),
    ("C = -1.5", "model.C must be a number in (0, 1e+06], got -1.5."),
    ("C = true", "model.C must be a number, not True (bool)."),
    ('estimator = "gradient_boosting"\nmax_iter = 1.5',
     "model.max_iter must be an integer, not 1.5 (float)."),
    ('estimator = "gradient_boosting"\nmax_iter = 0',
     "model.max_iter must be an integer in [1, 5000], got 0."),
    ('estimator = "gradient_boosting"\nlearning_rate = 2',
     "model.learning_rate must be a number in (0, 1], got 2."),
    ('estimator = "gradient_boosting"\nC = 1.0',
     "model.C does not apply to estimator 'gradient_boosting'; it takes max_iter, "
     "learning_rate."),
    ("max_iter = 10", "model.max_iter does not apply to estimator 'text_logistic'; it takes C."),
    ('estimator = "logistic_regression"',
     "model.estimator 'logistic_regression' takes no text features; use 'text_logistic'"),
    ("depth = 3", "unknown key model.depth; known keys in [model] are C, estimator, "),
])
def test_model_errors_name_the_file_and_the_key(
    tmp_path: Path, section: str, message: str
) -> None:
    path = write_config(tmp_path, _with_model(f"[model]\n{section}\n"))
    with pytest.raises(InputError) as caught:
        load_custom_scenario(path, name="claims")
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


def test_text_logistic_needs_a_text_feature(tmp_path: Path) -> None:
    text = CONFIG.replace('text = ["notes"]\n', "").replace(
        '  { feature = "notes", op = "==", value = "duplicate invoice", points = 0.7 },\n', "")
    path = write_config(tmp_path, _with_model('[model]\nestimator = "text_logistic"\n', text))
    with pytest.raises(InputError, match=r"model\.estimator 'text_logistic' needs a text "
                                         r"feature; list one under features\.text"):
        load_custom_scenario(path, name="claims")


# -- the split ------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "rule"), [
    ("", None),
    ('[split]\nkind = "time"\n', ("time", None)),
    ('[split]\nkind = "ordered"\n', ("ordered", None)),
    ('[split]\nkind = "random"\nseed = 7\n', ("random", 7)),
])
def test_split_section_sets_the_scenarios_split_rule(
    tmp_path: Path, section: str, rule: tuple[str, int | None] | None
) -> None:
    scenario = load_custom_scenario(write_config(tmp_path, CONFIG + section), name="claims")
    got = scenario.split_rule
    assert (None if got is None else (got.kind, got.seed)) == rule


@pytest.mark.parametrize(("section", "message"), [
    ('kind = "shuffled"', "split.kind 'shuffled' is not one of time, ordered, random."),
    ('kind = "random"', "split.kind 'random' needs split.seed (an integer, e.g. seed = 0)"),
    ('kind = "random"\nseed = "7"', "split.seed must be an integer in [0, 2^32), not '7' (str)."),
    ('kind = "random"\nseed = -1', "split.seed must be an integer in [0, 2^32), not -1 (int)."),
    ('kind = "time"\nseed = 7', "split.seed applies only to kind 'random'; drop it for kind "
     "'time'."),
    ("seed = 7", "missing split.kind."),
    ('kind = "time"\nfolds = 3', "unknown key split.folds; known keys in [split] are kind, seed."),
])
def test_split_errors_name_the_file_and_the_key(
    tmp_path: Path, section: str, message: str
) -> None:
    path = write_config(tmp_path, CONFIG + f"[split]\n{section}\n")
    with pytest.raises(InputError) as caught:
        load_custom_scenario(path, name="claims")
    assert str(caught.value).startswith(f"{path}: {message}")


def test_without_a_timestamp_column_prepare_keeps_the_row_order(
    scenario: CustomScenario,
) -> None:
    frame = claims_frame(rows=300).drop(columns=["submitted_at"])
    prepared = scenario.prepare(frame, source="claims.csv")
    assert "timestamp" not in prepared.columns
    assert prepared["id"].tolist() == frame["claim_id"].tolist()


def test_an_ordered_split_keeps_the_row_order_despite_timestamps(tmp_path: Path) -> None:
    path = write_config(tmp_path, CONFIG + '[split]\nkind = "ordered"\n')
    frame = claims_frame(rows=300)
    prepared = load_custom_scenario(path, name="claims").prepare(frame, source="claims.csv")
    assert prepared["id"].tolist() == frame["claim_id"].tolist()
    assert prepared["timestamp"].notna().all()


def test_a_time_split_needs_the_timestamp_column(tmp_path: Path) -> None:
    path = write_config(tmp_path, CONFIG + '[split]\nkind = "time"\n')
    scenario = load_custom_scenario(path, name="claims")
    message = prepare_error(scenario, claims_frame(rows=300).drop(columns=["submitted_at"]))
    assert "submitted_at" in message and "missing" in message


# -- config errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "message"), [
    ('name = "claims"', 'name = "claims', "claims.toml: malformed TOML: "),
    ("[features]", "[extra]\nx = 1\n[features]",
     "claims.toml: unknown section [extra]; known sections are bounds, categories, columns, "
     "features, heuristic, model, scenario, split."),
    ('tenant = "tenant"', 'tenant_col = "tenant"',
     "claims.toml: unknown key columns.tenant_col; known keys in [columns] are id, label, "),
    ('[features]\nnumeric = ["amount", "days_to_report"]\ncategorical = ["channel"]\n'
     'text = ["notes"]\n', "", "claims.toml: missing [features]; list the model's inputs"),
    ('numeric = ["amount", "days_to_report"]\ncategorical = ["channel"]\ntext = ["notes"]\n',
     "", "claims.toml: [features] lists no columns"),
    ('numeric = ["amount", "days_to_report"]', 'numeric = ["amount", "amount"]',
     "claims.toml: feature 'amount' is listed twice (features.numeric and features.numeric)"),
    ('categorical = ["channel"]', 'categorical = ["channel", "amount"]',
     "claims.toml: feature 'amount' is listed twice (features.numeric and "
     "features.categorical)"),
    ('segments = ["line_of_business", "region"]', 'segments = ["region", "channel"]',
     "claims.toml: column 'channel' is used as columns.segments and as features.categorical; "
     "a column plays one role"),
    ('sensitive = "claimant_age_band"', 'sensitive = "amount"',
     "claims.toml: column 'amount' is used as columns.sensitive and as features.numeric"),
    ('label = "leak"', 'label = "days_to_report"',
     "claims.toml: column 'days_to_report' is used as columns.label and as features.numeric"),
    ('segments = ["line_of_business", "region"]', 'segments = ["region", "region"]',
     "claims.toml: column 'region' is listed twice in columns.segments."),
    ('categorical = ["channel"]', 'categorical = ["channel", "label"]',
     "claims.toml: features.categorical 'label' clashes with riskops' standard column 'label', "
     "the new name of columns.label 'leak'"),
    ('segments = ["line_of_business", "region"]', 'segments = "region"',
     "claims.toml: columns.segments must be a list of column names, not 'region' (str)."),
    ('positive_label = "1"', 'positive_label = "1"\nnegative_label = 1',
     "claims.toml: columns.negative_label and columns.positive_label are both '1'"),
    ('name = "claims"', 'name = "Claims!"',
     "claims.toml: scenario.name 'Claims!' must be lower case letters"),
    ('name = "claims"', 'title = "claims"', "claims.toml: unknown key scenario.title"),
    ('[scenario]\nname = "claims"', '[scenario]', "claims.toml: missing scenario.name."),
    ('op = ">", value = 10000', 'op = "~", value = 10000',
     "claims.toml: heuristic.rules[0]: op '~' is not one of > >= < <= == != in."),
    ('feature = "channel", op = "in"', 'feature = "channel", op = ">"',
     "claims.toml: heuristic.rules[1]: op '>' needs a numeric feature; 'channel' is "
     "categorical."),
    ('feature = "amount", op = ">"', 'feature = "amout", op = ">"',
     "claims.toml: heuristic.rules[0]: feature 'amout' is not one of the features ('amount', "),
    ("value = 10000", 'value = "lots"',
     "claims.toml: heuristic.rules[0]: value must be a number for a numeric feature, "
     "not 'lots' (str)."),
    ("value = 30, points = 0.2", "value = 30", "claims.toml: heuristic.rules[2]: missing "
     "'points'."),
    ("points = 0.4", "points = -0.4",
     "claims.toml: heuristic.rules[0]: points must be a positive number, not -0.4 (float)."),
    ('value = ["phone", "fax"]', 'value = "phone"',
     "claims.toml: heuristic.rules[1]: op 'in' needs a non-empty list value"),
    ('reason = "large claim"', 'reason = "large claim", weight = 2',
     "claims.toml: heuristic.rules[0]: unknown key 'weight'"),
    ("threshold = 0.5", "threshold = 1.5",
     "claims.toml: heuristic.threshold must be in (0, 1], got 1.5."),
    ("threshold = 0.5", 'threshold = "high"',
     "claims.toml: heuristic.threshold must be a number, not 'high' (str)."),
    ("[heuristic]\nrules = [", "[heuristic]\nrules = [\n  1,",
     "claims.toml: heuristic.rules[0] must be a table like"),
], ids=lambda v: v if len(v) < 30 else v[:30])
def test_config_errors_name_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in CONFIG
    path = write_config(tmp_path, CONFIG.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_custom_scenario(path, name="claims")
    assert str(caught.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(caught.value)


def test_scenario_name_must_match_the_command_line(config: Path) -> None:
    with pytest.raises(InputError, match=r"claims\.toml: scenario\.name is 'claims' but the "
                                         r"scenario asked for is 'claim'; they must match\."):
        load_custom_scenario(config, name="claim")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.toml: no such scenario config file\."):
        load_custom_scenario(tmp_path / "nope.toml", name="claims")


def test_config_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder, not a scenario config file"):
        load_custom_scenario(tmp_path, name="claims")


def test_five_megabytes_of_garbage_config(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_bytes(os.urandom(5 * 1024 * 1024))
    with pytest.raises(InputError, match=r"claims\.toml: 5242880 bytes is too large for a "
                                         r"scenario config"):
        load_custom_scenario(path, name="claims")


def test_small_binary_garbage_config(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_bytes(b"\xff\xfe\x00garbage" * 100)
    with pytest.raises(InputError, match=r"claims\.toml: not UTF-8 text"):
        load_custom_scenario(path, name="claims")


def test_deeply_nested_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(InputError, match=r"claims\.toml: malformed TOML: arrays or tables "
                                         r"nested too deeply\."):
        load_custom_scenario(path, name="claims")


# -- data errors ----------------------------------------------------------------------------


def prepare_error(scenario: CustomScenario, frame: pd.DataFrame) -> str:
    with pytest.raises(InputError) as caught:
        scenario.prepare(frame, source="claims.csv")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_columns_are_all_listed(scenario: CustomScenario, config: Path) -> None:
    # Without [split] the timestamp column is optional, so it is not listed as needed.
    frame = claims_frame().drop(columns=["claim_id", "amount"])
    assert prepare_error(scenario, frame) == (
        "claims.csv: missing id column 'claim_id', numeric feature 'amount' "
        f"({config} needs claim_id, tenant, line_of_business, region, "
        "claimant_age_band, amount, days_to_report, channel, notes, leak)."
    )


def test_non_numeric_values_in_a_numeric_feature(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[[17, 40], "amount"] = ["abc", "12,5"]
    assert prepare_error(scenario, frame) == (
        "claims.csv: numeric feature 'amount' must be numeric; 2 rows hold text (first: 'abc' "
        "at data row 18); fix them, or list the column under features.categorical."
    )


def test_infinite_numeric_values(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame.loc[5, "amount"] = np.inf
    assert prepare_error(scenario, frame) == (
        "claims.csv: numeric feature 'amount' holds infinity in 1 row (first: data row 6); "
        "use an empty cell for a missing value."
    )


def test_empty_frame(scenario: CustomScenario) -> None:
    assert prepare_error(scenario, pd.DataFrame()) == "claims.csv: is empty (no columns)."
    assert prepare_error(scenario, claims_frame().head(0)) == (
        "claims.csv: has a header but no rows.")


def test_a_single_class_label(scenario: CustomScenario) -> None:
    frame = claims_frame().assign(leak=0)
    assert prepare_error(scenario, frame) == (
        "claims.csv: label column 'leak' holds a single class ('0' in all 600 rows); a model "
        "needs examples of both outcomes."
    )


def test_too_few_rows(scenario: CustomScenario) -> None:
    assert prepare_error(scenario, claims_frame().head(199)) == (
        "claims.csv: 199 rows; training needs at least 200 rows so that the train, validation "
        "and golden slices each hold enough rows."
    )


def test_empty_labels_are_counted(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame["leak"] = frame["leak"].astype(float)
    frame.loc[[5, 9, 11], "leak"] = np.nan
    assert prepare_error(scenario, frame) == (
        "claims.csv: label column 'leak' is empty in 3 of 600 rows (first: data row 6); drop "
        "or label those rows before training."
    )


def test_float_labels_read_as_integers(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame["leak"] = frame["leak"].astype(float)
    assert set(scenario.prepare(frame)["label"]) == {"0", "1"}


def test_unparseable_timestamps(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame.loc[[3, 8], "submitted_at"] = ["not a date", "2024-13-45"]
    assert prepare_error(scenario, frame) == (
        "claims.csv: timestamp column 'submitted_at' holds 2 values that are not ISO 8601 "
        "timestamps (first: 'not a date' at data row 4); write ISO 8601 timestamps, e.g. "
        "2024-05-01T12:00:00Z (no zone means UTC)."
    )


def test_numeric_timestamps(scenario: CustomScenario) -> None:
    frame = claims_frame().assign(submitted_at=1_700_000_000)
    assert "timestamp column 'submitted_at' has type int64; timestamps must be ISO 8601 text" \
        in prepare_error(scenario, frame)


def test_more_than_two_label_values(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame.loc[0, "leak"] = 2
    assert prepare_error(scenario, frame) == (
        "claims.csv: label column 'leak' must hold exactly two distinct values; found 3: "
        "'0', '1', '2'."
    )


def test_positive_label_absent_from_the_data(scenario: CustomScenario, config: Path) -> None:
    frame = claims_frame()
    frame["leak"] = np.where(frame["leak"] == 1, "yes", "no")
    assert prepare_error(scenario, frame) == (
        "claims.csv: columns.positive_label '1' does not occur in label column 'leak' "
        f"(values: 'no', 'yes'); set it in {config} to the risky value."
    )


def test_configured_negative_label_absent_from_the_data(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG.replace('positive_label = "1"',
                                                   'positive_label = 1\nnegative_label = "no"'))
    scenario = load_custom_scenario(config, name="claims")
    assert scenario.schema.labels == ("no", "1")
    assert "columns.negative_label 'no' does not occur in label column 'leak' (values: '0', " \
        "'1')" in prepare_error(scenario, claims_frame())


def test_duplicate_and_empty_ids(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame.loc[9, "claim_id"] = "C-00002"
    assert prepare_error(scenario, frame) == (
        "claims.csv: id column 'claim_id' holds 1 duplicated id (first: 'C-00002' at data "
        "row 3); ids must be unique.")
    frame.loc[9, "claim_id"] = None
    assert prepare_error(scenario, frame) == (
        "claims.csv: id column 'claim_id' is empty in 1 row (first: data row 10); every row "
        "needs a value.")


def test_text_feature_empty_everywhere(scenario: CustomScenario) -> None:
    frame = claims_frame().assign(notes=None)
    assert "text feature 'notes' is empty in every row; drop it from features.text." \
        in prepare_error(scenario, frame)


def test_doubled_column_names(scenario: CustomScenario) -> None:
    frame = claims_frame()
    frame.columns = [c if c != "internal_memo" else "amount" for c in frame.columns]
    assert "column 'amount' appears more than once" in prepare_error(scenario, frame)


def test_source_defaults_to_the_file_read_table_read(
    scenario: CustomScenario, tmp_path: Path
) -> None:
    path = tmp_path / "claims.csv"
    claims_frame().assign(leak=1).to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"^{path}: label column 'leak' holds a single class"):
        scenario.prepare(read_table(path))


# -- hostile files and read_table ----------------------------------------------------------


def test_csv_with_one_row(scenario: CustomScenario, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    claims_frame().head(1).to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"^{path}: 1 row; training needs at least 200 "
                                         r"rows so that .* hold enough rows\.$"):
        scenario.prepare(read_table(path))


def test_parquet_file_of_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "claims.parquet"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(InputError, match=rf"^{path}: cannot be read as Parquet: ") as caught:
        read_table(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("claims.xlsx", b"x", "unsupported file type '.xlsx'; use .csv or .parquet."),
    ("claims", b"x", "unsupported file type '(no suffix)'"),
    ("claims.csv", b"", "the file is empty."),
    ("claims.csv", b"\n\n", "the file is empty."),
    ("claims.csv", b"claim_id,leak\n", "has a header but no rows."),
    ("claims.csv", b"a,b\n\xff\xfe,1\n", "cannot be read as CSV: not UTF-8 text"),
    ("claims.csv", b'a,b\n"unclosed,1\n', "cannot be read as CSV: "),
    ("claims.parquet", b"", "the file is empty."),
])
def test_read_table_errors_name_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_read_table_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: no such file\."):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "dir.parquet").mkdir()
    with pytest.raises(InputError, match=r"dir\.parquet: is a folder, not a data file\."):
        read_table(tmp_path / "dir.parquet")


def test_read_table_records_the_source(tmp_path: Path) -> None:
    path = tmp_path / "claims.parquet"
    claims_frame(rows=5).to_parquet(path)
    frame = read_table(path)
    assert frame.attrs["source"] == str(path)
    assert len(frame) == 5
