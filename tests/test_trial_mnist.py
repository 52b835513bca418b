"""A real trial: the baseline trains the mnist proxy; logs and the MLflow run read back."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from autotune import facts, trial
from autotune.frameworks.torch_workload import TorchWorkload
from autotune.registry import get_workload
from autotune.rules import load_rules
from autotune.runner import TrialConfig, run_trial
from autotune.submission import load_submission
from autotune.timing import DeviceClock

HPARAMS = json.loads(
    (Path(__file__).resolve().parents[1] / "search_spaces" / "nadamw_default.json").read_text()
)[0]


@pytest.fixture(scope="module")
def short_rules(tmp_path_factory) -> str:
    """v0.6 rules with external budgets at 5% of the proxy's (nothing official)."""
    src = Path(load_rules("v0.6").source).read_text()
    text = src.replace("official = true", "").replace(
        'name = "algoperf"', 'name = "short"\nofficial = false'
    )
    text = text.replace(
        "[external]\nstudies = 3\ntrials_per_study = 5\nbudget_multiplier = 1.0",
        "[external]\nstudies = 3\ntrials_per_study = 5\nbudget_multiplier = 0.05",
    )
    text = text.replace(
        "[self]\nstudies = 3\ntrials_per_study = 1\nbudget_multiplier = 1.5",
        "[self]\nstudies = 3\ntrials_per_study = 1\nbudget_multiplier = 0.075",
    )
    assert text.count("budget_multiplier = 0.0") == 2, "v0.6 rules file changed shape"
    path = tmp_path_factory.mktemp("rules") / "short.toml"
    path.write_text(text)
    return str(path)


def test_baseline_learns_mnist_in_a_few_hundred_steps():
    workload = get_workload("mnist")
    assert isinstance(workload, TorchWorkload)
    timing = load_rules("v0.6").timing
    config = TrialConfig(budget_sec=600.0, timing=timing, batch_size=128, seed=1, step_cap=400)
    from autotune.hparams import make_hyperparameters

    result = run_trial(
        workload, load_submission("baseline"), make_hyperparameters(HPARAMS), config, DeviceClock()
    )
    assert result.stop_reason in ("step_cap", "targets_reached")
    accs = [e.metrics["validation/accuracy"] for e in result.evals]
    assert accs[0] < 0.3  # untrained after one step
    assert accs[-1] > 0.8  # 400 steps of NAdamW on real digits
    assert result.evals[-1].submission_time >= result.evals[0].submission_time
    assert set(result.evals[0].metrics) >= {
        "train/loss",
        "validation/loss",
        "test/accuracy",
        "validation/num_examples",
    }


def test_trial_writes_algoperf_logs_and_mlflow_run(tmp_path, short_rules):
    spec = trial.TrialSpec(workload="mnist", submission="baseline", hparams=HPARAMS, rules=short_rules,
                           seed=3, study=1, trial=2, out_dir=tmp_path, experiment="spine-test")  # fmt: skip
    outcome = trial.run(spec)
    folder = outcome.log_dir
    assert (
        folder
        == tmp_path / "logs" / "spine-test" / "baseline" / "study_1" / "mnist_pytorch" / "trial_2"
    )
    rows = list(csv.DictReader((folder / "eval_measurements.csv").open()))
    assert rows and list(rows[0]) == sorted(rows[0])
    for col in ("accumulated_submission_time", "accumulated_eval_time", "accumulated_logging_time",
                "global_step", "preemption_count", "score", "total_duration", "validation/accuracy"):  # fmt: skip
        assert col in rows[0]
    assert json.loads((folder / "hparams.json").read_text()) == HPARAMS
    meta = json.loads((folder / "meta_data_0.json").read_text())
    assert meta["rng_seed"] == 3 and meta["workload"]["name"] == "mnist"
    budget = 0.05 * facts.proxy("mnist").max_allowed_runtime_sec  # the short rules' multiplier
    assert meta["budget_sec"] == pytest.approx(budget)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(outcome.tracking_uri)
    run = client.get_run(outcome.run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["workload"] == "mnist" and tags["framework"] == "pytorch"
    assert tags["rules"] == "short-v0.6" and tags["official_protocol"] == "false"
    assert tags["study"] == "1" and tags["trial"] == "2" and tags["submission"] == "baseline"
    assert tags["reached_target"] in ("true", "false") and len(tags["submission_hash"]) == 16
    assert float(run.data.params["learning_rate"]) == pytest.approx(HPARAMS["learning_rate"])
    history = client.get_metric_history(outcome.run_id, "validation/accuracy")
    assert [m.step for m in history] == [int(r["global_step"]) for r in rows]
    assert math.isclose(history[-1].value, float(rows[-1]["validation/accuracy"]), rel_tol=1e-9)
    artifacts = {a.path for a in client.list_artifacts(outcome.run_id)}
    assert {"logs", "submission"} <= artifacts


def test_self_tuning_passes_none_and_uses_default_point(tmp_path, short_rules):
    spec = trial.TrialSpec(workload="mnist", submission="baseline", hparams=HPARAMS, rules=short_rules,
                           ruleset="self", out_dir=tmp_path, track=False)  # fmt: skip
    outcome = trial.run(spec)
    assert not (outcome.log_dir / "hparams.json").exists()
    assert outcome.result.evals  # trained under the self-tuning budget
