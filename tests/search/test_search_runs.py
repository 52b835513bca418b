"""`autotune search` end to end: real trial processes, real Optuna and MLflow stores."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autotune.search import build_config, plan_trials, resolve
from autotune.search_space import point_key
from tests.search.search_helpers import (
    EXITING,
    NADAMW,
    mlflow_runs,
    placed_trials,
    run_error,
    run_json,
    search_args,
    snapshot,
    trial_states,
    trials,
)


def test_quota_exact_with_two_jobs(finished_search: tuple[Path, list[str], dict[str, Any]]) -> None:
    out, _, summary = finished_search
    found = trials(out)
    assert [t.state.name for t in found] == ["COMPLETE"] * 4
    assert sorted(t.user_attrs["trial_index"] for t in found) == [1, 2, 3, 4]
    runs = mlflow_runs(out)
    parents = [r for r in runs if r.data.tags.get("role") == "study"]
    children = [r for r in runs if r.data.tags.get("role") != "study"]
    assert len(parents) == 1 and len(children) == 4
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    for run in runs:
        assert run.data.tags["official_protocol"] == "false"
        assert run.data.tags["rules_version"] == "v0.6" and run.data.tags["ruleset"] == "external"
    study = summary["workloads"][0]["studies"][0]
    assert study["trials_done"] == study["trials_planned"] == 4


def test_divergence_and_crash_are_inf_and_the_search_goes_on(
    finished_search: tuple[Path, list[str], dict[str, Any]],
) -> None:
    out, _, _ = finished_search
    by_index = {t.user_attrs["trial_index"]: t for t in trials(out)}
    diverged, crashed = by_index[2], by_index[3]
    assert diverged.value == math.inf and diverged.user_attrs["stop_reason"] == "diverged"
    assert "nan" in diverged.user_attrs["error"].lower()
    assert crashed.value == math.inf and crashed.user_attrs["crashed"] is True
    assert crashed.user_attrs["returncode"] == -signal.SIGKILL
    assert by_index[4].user_attrs["crashed"] is False  # trial 4 ran after the crash
    status = {r.data.tags.get("trial_index"): r.info.status for r in mlflow_runs(out)}
    assert status["3"] == "FAILED" and status["2"] == "FINISHED"


def test_rerun_of_a_finished_search_runs_nothing(
    finished_search: tuple[Path, list[str], dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, argv, _ = finished_search
    before = snapshot(out)
    summary = run_json(capsys, argv)
    assert snapshot(out) == before
    assert summary["workloads"][0]["studies"][0]["trials_done"] == 4


def _coordinator(argv: list[str]) -> subprocess.Popen[bytes]:
    code = "import sys; from autotune.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def _wait_mid_search(out: Path, proc: subprocess.Popen[bytes], timeout: float = 150) -> None:
    """Until one trial is COMPLETE while another is RUNNING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the search ended before it could be killed"
        if (out / "optuna.db").exists():
            try:
                states = [s for _, s in trial_states(out)]
            except Exception:  # tables not created yet
                states = []
            if "COMPLETE" in states and "RUNNING" in states:
                return
        time.sleep(0.2)
    raise AssertionError("no COMPLETE and RUNNING trial at the same time")


def test_kill_9_then_resume_runs_the_exact_quota(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exp"
    argv = search_args(out, "--submission", "baseline", "--search-space", NADAMW,
                       "--studies", "3", "--trials", "1", "--jobs", "2")  # fmt: skip
    proc = _coordinator(argv)
    _wait_mid_search(out, proc)
    # A second coordinator of the same search is refused while the first one lives,
    # before it touches a trial (its reconcile would fail the first one's RUNNING trials).
    # The kill -9 below must not block the resume.
    err = run_error(capsys, argv)
    assert f"already being run by another live coordinator (pid {proc.pid} on" in err
    assert "FAIL" not in [state for _, state in trial_states(out)]
    _wait_mid_search(out, proc)  # the refused run took a while: a trial must still be running
    done_before = {(s, t.number) for s, t in placed_trials(out) if t.state.name == "COMPLETE"}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1.5)  # its trial processes notice and exit
    run_json(capsys, [*argv, "--json"])

    found = placed_trials(out)
    complete = [(s, t) for s, t in found if t.state.name == "COMPLETE"]
    lost = [(s, t) for s, t in found if t.state.name == "FAIL"]
    assert len(complete) == 3 and lost and all(t.user_attrs["lost"] for _, t in lost)
    where = sorted((s, t.user_attrs["trial_index"]) for s, t in complete)
    assert where == [(0, 1), (1, 1), (2, 1)], "a planned trial ran twice"
    assert done_before <= {(s, t.number) for s, t in complete}, "a completed trial was re-run"
    # Every trial ran the planned point of its (study, index); a lost one re-ran its own.
    config = build_config({"submission": "baseline", "workloads": ["mnist"], "rules": "dev",
                           "search_space": NADAMW, "out": str(out), "name": "t",
                           "budget_sec": 3.0, "studies": 3, "trials": 1})  # fmt: skip
    planned = {(p.study, p.trial): point_key(p.point) for p in plan_trials(resolve(config))}
    for s, t in complete + lost:
        if t.params:  # a trial lost right after it was asked for may hold no params yet
            assert point_key(t.params) == planned[(s, t.user_attrs["trial_index"])]
    # The recorded trials' MLflow runs are FINISHED; a lost trial's run (if its process got
    # that far) is KILLED: none is left open.
    status = {
        r.info.run_id: r.info.status for r in mlflow_runs(out) if "trial_index" in r.data.tags
    }
    assert all(status[t.user_attrs["mlflow_run_id"]] == "FINISHED" for _, t in complete)
    assert "RUNNING" not in status.values()
    for _, t in complete:  # a re-run trial starts from a clean folder: one header line
        csv = Path(t.user_attrs["log_dir"]) / "eval_measurements.csv"
        assert csv.read_text().count("global_step") == 1


def test_self_tuning_passes_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "self"
    summary = run_json(capsys, [*search_args(out, "--submission", EXITING, "--ruleset", "self",
                                             "--json")])  # fmt: skip
    (t,) = trials(out)
    assert t.state.name == "COMPLETE" and t.params == {}
    log_dir = Path(t.user_attrs["log_dir"])
    assert not (log_dir / "hparams.json").exists()
    assert "hyperparameters_is_none" in (log_dir / "measurements.csv").read_text().splitlines()[0]
    row = (log_dir / "measurements.csv").read_text().splitlines()
    header = row[0].split(",")
    flags = {line.split(",")[header.index("hyperparameters_is_none")] for line in row[1:]}
    assert "1" in flags and "0" not in flags
    assert summary["ruleset"] == "self"
    (child,) = [r for r in mlflow_runs(out) if "trial_index" in r.data.tags]
    assert child.data.tags["ruleset"] == "self" and "learning_rate" not in child.data.params
