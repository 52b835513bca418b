"""A real 2-process gloo DDP trial on CPU against the same trial in one process.

Both runs train the mnist proxy with the NAdamW baseline for a fixed 60 steps on the same
global batch of 128. DDP averages the two ranks' half-batch gradients, which is the
global-batch mean gradient of the single process up to the order of the float
reduction, so the per-step global-batch loss curves must agree within LOSS_RTOL.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from autotune import facts, multidevice, trial
from autotune.cli import main
from autotune.rules import load_rules

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HPARAMS = json.loads((ROOT / "search_spaces" / "nadamw_default.json").read_text())[0]
LOSS_SUBMISSION = str(HERE / "ddp_loss_submission.py")
STEPS = 60
# Float32 reduction order differs (two half-batch sums, then a gloo average); over 60
# NAdamW steps the curves drifted by at most 2.3e-7 relative (measured on this machine).
LOSS_RTOL = 1e-5


@pytest.fixture(scope="module")
def capped_rules(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Dev rules with a 60-step cap (a step-cap multiplier of the proxy's step_hint);
    the budget never binds."""
    multiplier = (STEPS + 0.5) / facts.proxy("mnist").step_hint
    text = Path(load_rules("dev").source).read_text()
    text = text.replace('name = "dev"', 'name = "ddp-test"')
    text = text.replace("step_cap_multiplier = 0.0", f"step_cap_multiplier = {multiplier!r}", 1)
    path = tmp_path_factory.mktemp("rules") / "capped.toml"
    path.write_text(text)
    return str(path)


def _spec(out: Path, rules: str, track: bool = True) -> trial.TrialSpec:
    return trial.TrialSpec(workload="mnist", submission=LOSS_SUBMISSION, hparams=HPARAMS,
                           rules=rules, seed=7, out_dir=out, experiment="ddp", track=track)  # fmt: skip


def _rows(log_dir: Path) -> list[dict[str, Any]]:
    return list(csv.DictReader((log_dir / "measurements.csv").open()))


def _loss_curve(log_dir: Path) -> dict[int, float]:
    return {int(r["global_step"]): float(r["global_batch_loss"])
            for r in _rows(log_dir) if r.get("global_batch_loss")}  # fmt: skip


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, capped_rules: str, two_ranks: None
) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("ddp")
    single = trial.run(_spec(base / "one", capped_rules, track=False))
    double = multidevice.launch(_spec(base / "two", capped_rules), 2, keep_dir=base / "job")
    ranks = multidevice.rank_results(base / "job" / "result", 2)
    return {"one": single, "two": double, "ranks": ranks}


def test_two_process_loss_curve_matches_one_process(runs: dict[str, Any]) -> None:
    one, two = runs["one"], runs["two"]
    assert one.result.stop_reason == two.result.stop_reason == "step_cap"
    assert one.result.global_step == two.result.global_step == STEPS
    a, b = _loss_curve(one.log_dir), _loss_curve(two.log_dir)
    assert sorted(a) == sorted(b) == list(range(STEPS))
    assert a[STEPS - 1] < 0.97 * a[0]  # it learned (60 steps, still in the warm-up)
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=LOSS_RTOL), step
    # Evals at the steps both runs evaluated (always step 1 and the cap) agree too.
    evals_one = {e.global_step: e.metrics for e in one.result.evals}
    evals_two = {e.global_step: e.metrics for e in two.result.evals}
    common = sorted(set(evals_one) & set(evals_two))
    assert common[0] == 1 and common[-1] == STEPS
    for step in common:
        for key in ("train/loss", "validation/loss", "validation/accuracy", "test/loss"):
            assert evals_two[step][key] == pytest.approx(evals_one[step][key], rel=LOSS_RTOL)


def test_ranks_agree_and_only_rank_zero_logs(runs: dict[str, Any]) -> None:
    r0, r1 = runs["ranks"]
    assert (r0["rank"], r1["rank"]) == (0, 1) and r0["backend"] == r1["backend"] == "gloo"
    assert r0["result"]["evals"] and [e["metrics"] for e in r0["result"]["evals"]] == [
        e["metrics"] for e in r1["result"]["evals"]
    ]
    # The clock is the max over ranks: both ranks accrued the very same submission time.
    assert r0["result"]["submission_time"] == r1["result"]["submission_time"]
    assert r0["run_id"] and r1["run_id"] is None
    two = runs["two"]
    assert Path(r0["log_dir"]) == two.log_dir and two.log_dir.is_relative_to(two.spec.out_dir)
    first = _rows(two.log_dir)[0]  # what pytorch_setup() told the submission on rank 0
    assert (first["use_ddp"], first["rank"], first["world_size"]) == ("1", "0", "2")

    from mlflow.tracking import MlflowClient

    run = MlflowClient(two.tracking_uri).get_run(two.run_id)
    assert run.data.tags["devices"] == "2" and run.data.tags["ddp_backend"] == "gloo"
    exp = MlflowClient(two.tracking_uri).get_experiment(run.info.experiment_id)
    assert len(MlflowClient(two.tracking_uri).search_runs([exp.experiment_id])) == 1


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("autotune: error: "), err
    return err


def test_more_devices_than_the_machine_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    have, _ = multidevice.available_devices()
    argv = ["run", "--workload", "mnist", "--submission", "baseline", "--out", str(tmp_path),
            "--devices", str(have + 1)]  # fmt: skip
    assert f"--devices {have + 1} is more than this machine has" in _error(capsys, argv)
    assert "--devices must be at least 1" in _error(capsys, [*argv[:-1], "0"])
    assert not (tmp_path / "logs").exists()


def test_batch_that_does_not_divide(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if multidevice.available_devices()[0] < 2:
        pytest.skip("needs 2 devices (CPU cores)")
    argv = ["run", "--workload", "mnist", "--submission", str(HERE / "odd_batch_submission.py"),
            "--ruleset", "self", "--out", str(tmp_path), "--devices", "2"]  # fmt: skip
    err = _error(capsys, argv)
    assert "global batch size 127" in err and "does not divide over --devices 2" in err


def test_a_rank_killed_by_sigkill_is_an_out_of_memory_failure(
    tmp_path: Path, two_ranks: None
) -> None:
    """The kernel's OOM killer leaves no Python error: the SIGKILL torchrun reports becomes
    a failed trial that says so, with the batch size that was tried."""
    spec = trial.TrialSpec(workload="mnist", submission=str(HERE / "killed_submission.py"),
                           hparams=HPARAMS, out_dir=tmp_path / "out", experiment="killed")  # fmt: skip
    result = multidevice.launch(spec, 2).result
    assert result.stop_reason == "out_of_memory" and not result.reached_target
    assert "killed by SIGKILL" in str(result.error) and "batch size" in str(result.error)
