"""AlgoPerf-style submissions, unedited, train the mnist proxy through ``trial.run``
under both rule versions, and one runs through ``autotune run`` into MLflow."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from autotune import facts
from autotune.cli import main
from autotune.hparams import default_point
from autotune.trial import TrialSpec, run
from tests.compat.conftest import LEADERBOARD, STEP_CAP, SUBMISSIONS

# name -> (folder, ruleset)
CASES = {
    "v05_schedule_free": (SUBMISSIONS / "v05_schedule_free", "external"),
    "v05_logging": (SUBMISSIONS / "v05_logging", "external"),
    "v05_folder": (SUBMISSIONS / "v05_folder", "external"),
    "v06_lawa": (SUBMISSIONS / "v06_lawa", "external"),
    "v06_self_tuning": (SUBMISSIONS / "v06_self_tuning", "self"),
    "v06_training_complete": (SUBMISSIONS / "v06_training_complete", "external"),
    "leaderboard_layout": (LEADERBOARD, "external"),
}
# Each submission under the rules of its own era; the two whose behaviour depends on
# the era (prepare_for_eval, train_state) also under the other one.
RUNS = [
    *[(case, "v0.5" if case.startswith("v05") else "v0.6") for case in sorted(CASES)],
    ("v06_lawa", "v0.5"),
    ("v06_self_tuning", "v0.5"),
]


def _trial(folder: Path, ruleset: str, rules: str, out: Path):
    hparams = default_point(str(folder)) if ruleset == "external" else None
    spec = TrialSpec(workload="mnist", submission=str(folder), hparams=hparams, rules=rules,
                     ruleset=ruleset, out_dir=out, track=False)  # fmt: skip
    return run(spec)


def _measurements(log_dir: Path) -> list[dict[str, str]]:
    with (log_dir / "measurements.csv").open() as f:
        return list(csv.DictReader(f))


def _column(rows: list[dict[str, str]], name: str) -> list[float]:
    return [float(r[name]) for r in rows if r.get(name) not in (None, "")]


@pytest.mark.parametrize(("case", "version"), RUNS)
def test_submission_trains_the_mnist_proxy(case, version, tiny_rules, tmp_path):
    folder, ruleset = CASES[case]
    outcome = _trial(folder, ruleset, tiny_rules[version], tmp_path)
    result = outcome.result
    assert result.error is None, result.traceback
    first, last = result.evals[0].metrics, result.evals[-1].metrics
    assert last["validation/accuracy"] > 0.3, f"{case} did not learn: {last}"
    assert last["train/loss"] < first["train/loss"]
    if case == "v06_training_complete":
        # raises at global_step int(0.0005 x step_hint) -> one final eval, then stop
        done = int(facts.proxy("mnist").step_hint * 0.0005) + 1
        assert done < STEP_CAP
        assert (result.stop_reason, result.global_step) == ("training_complete", done)
        assert result.evals[-1].global_step == done
    else:
        assert (result.stop_reason, result.global_step) == ("step_cap", STEP_CAP)
    _check_case(case, version, outcome)


def _check_case(case: str, version: str, outcome) -> None:
    rows = _measurements(outcome.log_dir)
    if case == "v06_lawa":  # prepare_for_eval runs before every eval, under v0.6 only
        n_evals = len(outcome.result.evals)
        expected = [float(i) for i in range(1, n_evals + 1)] if version == "v0.6" else []
        assert _column(rows, "lawa/swaps") == expected
    if case == "v06_self_tuning":
        assert outcome.spec.ruleset == "self"
        used = _column(rows, "self/budget_used")  # train_state is passed only under v0.6
        assert (len(used) > 0) == (version == "v0.6")
        assert all(0.0 <= u < 1.0 for u in used)
        assert _column(rows, "self/evals_seen")[-1] >= 1  # eval_results reached it
    if case == "v05_logging":
        assert len(_column(rows, "grad_norm")) == STEP_CAP // 25 + 1
        assert _column(rows, "num_params") == [101770.0] * (STEP_CAP // 25 + 1)
        assert (outcome.batch.requested, outcome.batch.used) == (4096, 1024)
        assert outcome.batch.policy.startswith("capped at 1024")
        meta = json.loads((outcome.log_dir / "meta_data_0.json").read_text())
        assert meta["batch_size"]["used"] == 1024


def test_leaderboard_folder_through_the_cli(tiny_rules, tmp_path, capsys):
    args = ["run", "--workload", "mnist", "--submission", str(LEADERBOARD),
            "--rules", tiny_rules["v0.6"], "--out", str(tmp_path), "--json"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["error"] is None
    assert summary["stop_reason"] == "step_cap"
    assert summary["batch_size"] == 16  # the leaderboard's mnist batch, used as is
    assert summary["run_id"]

    import mlflow

    client = mlflow.MlflowClient(summary["tracking_uri"])
    run_ = client.get_run(summary["run_id"])
    assert run_.data.tags["submission"] == "nadamw_lb"
    assert run_.data.tags["batch_policy"] == "as requested"
    assert run_.data.params["learning_rate"] == "0.002"
    assert run_.data.metrics["validation/accuracy"] > 0.3
