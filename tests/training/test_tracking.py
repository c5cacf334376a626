"""MLflow logging against a real local store: SQLite backend, file artifact root."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import riskops
from mlflow_helpers import Tracking, needs_mlflow, template_db, tracking  # noqa: F401  (fixtures)
from riskops.errors import InputError
from riskops.tracking import NOT_INSTALLED, metric_dict, redact_uri, run_metrics
from riskops.training.tracking import log_to_mlflow, run_params

MANIFEST = "ab" * 32
# MLflow's own SQLAlchemy models use a deprecated loader option; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """What the trainer writes: two reports, a skops model, golden predictions."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path / "artifacts"
    folder.mkdir()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    sio.dump(LogisticRegression().fit(X, X[:, 0] > 0), folder / "model.skops")
    (folder / "evaluation-report.json").write_text(json.dumps({"roc_auc": 0.91}))
    (folder / "reproducibility-report.json").write_text(json.dumps({"seed": 7}))
    pd.DataFrame({"id": ["a", "b"], "score": [0.1, 0.9]}).to_parquet(
        folder / "golden-predictions.parquet"
    )
    return folder


def make_summary(**metrics: Any) -> dict[str, Any]:
    return {
        "scenario": "fraud",
        "seed": 7,
        "data_sha256": "cd" * 32,
        "metrics": {"roc_auc": 0.91, "brier": 0.08, "f1": None, **metrics},
        "params": {
            "threshold": 0.42,
            "model": {"max_iter": 150, "learning_rate": 0.08},
            "features": ["amount", "merchant_category"],
            "notes": "x" * 10_000,
        },
    }


def log(artifacts: Path, *, model: str = "fraud", version: int = 1, **metrics: Any) -> str:
    return log_to_mlflow(make_summary(**metrics), artifacts, model=model, version=version,
                         manifest_sha256=MANIFEST)


def expected_tags(version: int = 1) -> dict[str, str]:
    return {
        "riskops.version": riskops.__version__,
        "riskops.model": "fraud",
        "riskops.model_version": str(version),
        "riskops.manifest_sha256": MANIFEST,
    }


@needs_mlflow
def test_run_holds_params_metrics_tags_and_artifacts(
    tracking: Tracking, artifacts: Path
) -> None:
    run_id = log(artifacts)

    run = tracking.client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert tracking.client.get_experiment(run.info.experiment_id).name == "riskops-fraud"
    params = run.data.params
    assert params["scenario"] == "fraud"
    assert params["seed"] == "7"
    assert params["data_sha256"] == "cd" * 32
    assert params["threshold"] == "0.42"
    assert params["model.max_iter"] == "150"
    assert json.loads(params["features"]) == ["amount", "merchant_category"]
    assert len(params["notes"]) == 6000 and params["notes"].endswith("...")
    assert run.data.metrics == {"roc_auc": 0.91, "brier": 0.08}
    assert expected_tags().items() <= run.data.tags.items()
    assert run.data.tags["riskops.scenario"] == "fraud"
    logged = {a.path for a in tracking.client.list_artifacts(run_id)}
    assert logged == {"model.skops", "evaluation-report.json", "reproducibility-report.json",
                      "golden-predictions.parquet"}
    stored = tracking.artifact_root / run_id / "artifacts" / "model.skops"
    assert stored.read_bytes() == (artifacts / "model.skops").read_bytes()


@needs_mlflow
def test_version_is_registered_with_tags_and_the_runs_artifacts_as_source(
    tracking: Tracking, artifacts: Path
) -> None:
    run_id = log(artifacts)

    (version,) = tracking.client.search_model_versions("name='fraud'")
    run = tracking.client.get_run(run_id)
    assert version.version in (1, "1")
    assert version.run_id == run_id
    assert version.source == run.info.artifact_uri
    assert expected_tags().items() <= version.tags.items()
    assert MANIFEST in version.description
    assert tracking.client.get_registered_model("fraud").name == "fraud"


@needs_mlflow
def test_second_call_creates_version_2(tracking: Tracking, artifacts: Path) -> None:
    first = log(artifacts, version=1)
    second = log(artifacts, version=2)

    versions = {int(v.version): v for v in tracking.client.search_model_versions("name='fraud'")}
    assert sorted(versions) == [1, 2]
    assert versions[2].run_id == second != first
    assert versions[2].tags["riskops.model_version"] == "2"
    assert versions[1].tags["riskops.model_version"] == "1"


@needs_mlflow
def test_nan_and_infinite_metrics_are_skipped(tracking: Tracking, artifacts: Path) -> None:
    run_id = log(artifacts, auc_lower=float("nan"), ece=float("inf"))

    metrics = tracking.client.get_run(run_id).data.metrics
    assert "auc_lower" not in metrics
    assert "ece" not in metrics
    assert metrics["roc_auc"] == 0.91


@needs_mlflow
def test_a_name_too_long_for_mlflow_is_cut_to_a_key_it_accepts(
    tracking: Tracking, artifacts: Path
) -> None:
    run_id = log(artifacts, **{"k" * 300: 0.5})

    (key,) = [k for k in tracking.client.get_run(run_id).data.metrics if k.startswith("kkk")]
    assert len(key) == 250 and key[-9] == "-"


@needs_mlflow
def test_experiment_is_created_when_absent(tracking: Tracking, artifacts: Path) -> None:
    run_id = log(artifacts, model="claims")

    experiment = tracking.client.get_experiment_by_name("riskops-claims")
    assert experiment is not None
    assert tracking.client.get_run(run_id).info.experiment_id == experiment.experiment_id
    assert tracking.client.search_model_versions("name='claims'")[0].run_id == run_id


@needs_mlflow
def test_deleted_experiment_is_named_with_the_fix(tracking: Tracking, artifacts: Path) -> None:
    experiment = tracking.client.get_experiment_by_name("riskops-fraud")
    tracking.client.delete_experiment(experiment.experiment_id)

    with pytest.raises(InputError, match="MLflow experiment riskops-fraud is deleted; restore"):
        log(artifacts)


@needs_mlflow
@pytest.mark.parametrize("kind", ["sqlite under a file", "unknown scheme"])
def test_unusable_store_is_a_one_line_input_error_naming_the_uri(
    kind: str, tmp_path: Path, artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not /nonexistent/dir: MLflow creates missing folders, and tests may run as root.
    (tmp_path / "a-file").write_text("not a folder")
    uri = {"sqlite under a file": f"sqlite:///{tmp_path}/a-file/x.db",
           "unknown scheme": "bogus://tracking"}[kind]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)

    with pytest.raises(InputError) as caught:
        log(artifacts)

    message = str(caught.value)
    assert message.startswith(f"MLflow at {uri}: ")
    assert "failed" in message and "MLFLOW_TRACKING_URI" in message
    assert "\n" not in message


@needs_mlflow
def test_server_error_names_the_uri_without_its_password(
    artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://ops:s3cret@127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")

    with pytest.raises(InputError, match=r"^MLflow at http://ops:\*\*\*@127\.0\.0\.1:9: ") \
            as caught:
        log(artifacts)

    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)


@needs_mlflow
def test_missing_artifacts_folder(tracking: Tracking, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="artifacts folder not found"):
        log(tmp_path / "nowhere")


def test_missing_mlflow_says_how_to_install(
    artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError

    with pytest.raises(InputError) as caught:
        log(artifacts)

    assert str(caught.value) == NOT_INSTALLED
    assert NOT_INSTALLED == (
        "MLFLOW_TRACKING_URI is set but mlflow is not installed; pip install 'riskops[mlflow]'"
    )


def test_importing_the_module_does_not_import_mlflow() -> None:
    code = (
        "import sys, riskops.training.tracking\n"
        "print('mlflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_params_flatten_nested_keys_and_respect_mlflow_limits() -> None:
    params = run_params({
        "seed": 1,
        "params": {
            "a": {"b": {"c": 1}},
            "weird key=1!": "v",
            "k" * 300: 2,
            "none": None,
            "empty": {},
            "ratio": (1, 2),
        },
    })

    assert params["a.b.c"] == "1"
    assert params["weird key_1_"] == "v"
    assert params["none"] == "None"
    assert params["empty"] == "{}"
    assert params["ratio"] == "[1, 2]"
    assert params["seed"] == "1"
    (long_key,) = [k for k in params if k.startswith("kkk")]
    assert len(long_key) == 250


def test_params_keep_the_trainers_own_seed_over_a_nested_default() -> None:
    assert run_params({"seed": 3, "params": {"seed": 9}})["seed"] == "9"


def test_metrics_keep_finite_numbers_only() -> None:
    metrics = run_metrics({
        "auc": 0.9, "n": 10, "nan": float("nan"), "inf": -float("inf"), "none": None,
        "flag": True, "text": "high", "segment": {"acme": {"auc": 0.8}},
    })

    assert metrics == {"auc": 0.9, "n": 10.0, "segment.acme.auc": 0.8}


def test_metric_names_that_clean_to_one_key_stay_apart() -> None:
    metrics = metric_dict([("a=1", 1.0), ("a_1", 2.0), ("a=1", 3.0)])

    digest = hashlib.sha256(b"a_1").hexdigest()[:8]
    assert metrics == {"a_1": 3.0, f"a_1-{digest}": 2.0}


def test_redact_uri_hides_the_password_and_query_values() -> None:
    assert redact_uri("postgresql://u:pw@db:5432/mlflow") == "postgresql://u:***@db:5432/mlflow"
    assert redact_uri("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert redact_uri("http://host:5000") == "http://host:5000"
    assert redact_uri("http://host:5000/?token=topsecret") == "http://host:5000/?token=***"


def test_one_line_hides_the_password_and_query_values_in_errors() -> None:
    from riskops.tracking import one_line

    uri = "http://u:s3cret@127.0.0.1:9/?token=topsecret&x=1"
    error = ConnectionError(f"cannot reach {uri}:\n refused (s3cret, topsecret), retry 1")
    assert one_line(error, uri) == ("cannot reach http://u:***@127.0.0.1:9/?token=***&x=1: "
                                    "refused (***, ***), retry 1")
