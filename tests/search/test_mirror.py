"""A trial mirrored from its log folder makes the same MLflow run as in-process tracking.

The same short mnist trial runs twice through :func:`autotune.trial.run`: once tracked
live (``autotune run``'s way), once untracked and then mirrored by
:class:`autotune.search.mirror.RunMirror` (``autotune search``'s way). Params, tag names,
metric names and their step history, artifacts and end status must agree.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from autotune import trial
from autotune.search.mirror import RunMirror, row_metrics
from tests.search.search_helpers import GOOD

# Tags whose values differ between two runs of the same trial by construction.
VOLATILE = {"log_dir", "mlflow.runName"}


def _spec(out: Path, track: bool) -> trial.TrialSpec:
    return trial.TrialSpec(workload="mnist", submission="baseline", hparams=GOOD, rules="dev",
                           out_dir=out, experiment="mirror", track=track,
                           budget_sec_override=3.0, seed=3)  # fmt: skip


def _history(client: MlflowClient, run_id: str) -> dict[str, list[int]]:
    run = client.get_run(run_id)
    return {k: [m.step for m in client.get_metric_history(run_id, k)] for k in run.data.metrics}


def test_mirrored_run_matches_live_run(tmp_path):
    live = trial.run(_spec(tmp_path / "live", track=True))
    quiet = trial.run(_spec(tmp_path / "quiet", track=False))
    assert quiet.run_id is None

    uri = f"sqlite:///{tmp_path / 'mirror.db'}"
    client = MlflowClient(uri)
    mirror = RunMirror(client, client.create_experiment("mirror"), quiet.log_dir)
    mirror.poll()  # the run appears as soon as the trial described itself
    run_id = mirror.finish(crashed=False)
    assert run_id is not None

    ours, theirs = client.get_run(run_id), MlflowClient(live.tracking_uri).get_run(live.run_id)
    assert ours.info.status == theirs.info.status == "FINISHED"
    assert ours.data.params == theirs.data.params
    assert set(ours.data.tags) - VOLATILE == set(theirs.data.tags) - VOLATILE
    for key in ("workload", "submission_hash", "rules_version", "batch_policy", "git_sha"):
        assert ours.data.tags[key] == theirs.data.tags[key], key
    ours_h, theirs_h = (
        _history(client, run_id),
        _history(MlflowClient(live.tracking_uri), live.run_id),
    )
    assert set(ours_h) == set(theirs_h) and "validation/accuracy" in ours_h
    assert ours_h["validation/accuracy"] == sorted(ours_h["validation/accuracy"])
    assert len(ours_h["validation/accuracy"]) == len(quiet.result.evals)
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert artifacts == {
        a.path for a in MlflowClient(live.tracking_uri).list_artifacts(live.run_id)
    }


def test_partial_rows_wait_for_their_newline(tmp_path):
    """A row being written (no newline yet) is not logged until it is complete."""
    folder = tmp_path / "trial_1"
    folder.mkdir()
    csv_path = folder / "eval_measurements.csv"
    header = "accumulated_eval_time,accumulated_submission_time,global_step,validation/loss\n"
    csv_path.write_text(header + "0.1,1.5,10,0.9\n0.2,3.0,2")
    mirror = RunMirror(client=None, experiment_id="0", log_dir=folder)
    rows = mirror._new_rows()
    assert [row_metrics(r) for r in rows] == [
        (10, {"validation/loss": 0.9, "submission_time": 1.5, "eval_time": 0.1})
    ]
    with csv_path.open("a") as f:
        f.write("0,0.7\n")
    ((step, values),) = [row_metrics(r) for r in mirror._new_rows()]
    assert step == 20 and values["validation/loss"] == 0.7
    assert mirror._new_rows() == []


def test_trial_process_does_not_import_mlflow():
    """The point of mirroring: a trial process never pays for importing MLflow."""
    code = "import sys, autotune.search.trial_proc, autotune.trial; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
