"""Many workers on one search, against the local PostgreSQL and a real MLflow server.

Every trial is a real (1-second budget) NAdamW trial on the mnist proxy, run in its own
process by a real ``autotune worker`` process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest

from autotune import multidevice
from autotune.cli import main
from tests.worker.conftest import Workers

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
NADAMW = str(ROOT / "search_spaces" / "nadamw.json")


def publish(storage: str, name: str, trials: int, tracking: str, out: Path, *extra: str) -> None:
    argv = ["publish", "--storage", storage, "--name", name, "--submission", "baseline",
            "--workload", "mnist", "--search-space", NADAMW, "--rules", "dev",
            "--trials", str(trials), "--budget-sec", "1", "--tracking-uri", tracking, "--json",
            *extra]  # fmt: skip
    cwd = os.getcwd()
    os.chdir(out)  # the publisher's default files (none expected) stay in tmp
    try:
        assert main(argv) == 0
    finally:
        os.chdir(cwd)


def all_trials(storage: str) -> list[optuna.trial.FrozenTrial]:
    rdb = optuna.storages.RDBStorage(storage.replace("postgresql://", "postgresql+psycopg2://"))
    found: list[optuna.trial.FrozenTrial] = []
    for name in optuna.get_all_study_names(rdb):
        found += optuna.load_study(study_name=name, storage=rdb).get_trials(deepcopy=False)
    return found


def assert_quota_exact(trials: list[optuna.trial.FrozenTrial], planned: int) -> None:
    done = [t for t in trials if t.state.name == "COMPLETE"]
    assert sorted(t.user_attrs["trial_index"] for t in done) == list(range(1, planned + 1))
    assert not [t for t in trials if t.state.name in ("WAITING", "RUNNING")]
    for t in trials:  # each lost (FAIL) trial was re-run under its index, once
        if t.state.name == "FAIL":
            again = [r for r in trials if r.user_attrs.get("retry_of") == t.number]
            assert [r.user_attrs["trial_index"] for r in again] == [t.user_attrs["trial_index"]]


def wait_all(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        p.wait(timeout=max(1.0, deadline - time.monotonic()))


def mlflow_trial_runs(tracking: str, name: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking)
    exp = client.get_experiment_by_name(name)
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], max_results=100)
    return [r for r in runs if r.data.tags.get("role") != "study"]


def test_three_workers_complete_the_quota_exactly(
    pg_url: str, mlflow_server: str, workers: Workers, tmp_path: Path
) -> None:
    publish(pg_url, "three", 4, mlflow_server, tmp_path)
    procs = [workers.start(pg_url, "three", "--heartbeat-sec", "1", "--grace-sec", "8")
             for _ in range(3)]  # fmt: skip
    wait_all(procs, 300)
    assert [p.returncode for p in procs] == [0, 0, 0], workers.output(0)
    trials = all_trials(pg_url)
    assert_quota_exact(trials, 4)
    assert len(trials) == 4  # no extra trial was ever created, none was lost
    assert len({t.user_attrs["worker"] for t in trials}) >= 2  # the work was shared
    runs = mlflow_trial_runs(mlflow_server, "three")
    assert sorted(r.data.tags["trial_index"] for r in runs) == ["1", "2", "3", "4"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert all(r.data.tags["worker"] for r in runs)


def _running_claim(storage: str, worker_pid: int) -> optuna.trial.FrozenTrial | None:
    for t in all_trials(storage):
        if t.state.name == "RUNNING" and str(t.user_attrs.get("worker", "")).endswith(
            f":{worker_pid}"
        ):
            return t
    return None


def _orphans(folder: Path) -> list[str]:
    """Processes still running a trial job of ``folder`` (there must be none)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(folder) in line and "trial_proc" in line]


def test_sigkilled_worker_trial_is_rerun_and_quota_stays_exact(
    pg_url: str, mlflow_server: str, workers: Workers, tmp_path: Path
) -> None:
    publish(pg_url, "killed", 2, mlflow_server, tmp_path)
    beat = ("--heartbeat-sec", "1", "--grace-sec", "4")
    doomed = workers.start(pg_url, "killed", *beat)
    deadline = time.monotonic() + 120
    while (held := _running_claim(pg_url, doomed.pid)) is None or "log_dir" not in held.user_attrs:
        assert doomed.poll() is None and time.monotonic() < deadline, workers.output(0)
        time.sleep(0.5)
    time.sleep(2)  # its trial process is starting or training
    doomed.send_signal(signal.SIGKILL)  # mid-trial: its trial is RUNNING in the database
    doomed.wait()
    folder = workers.root / "worker0"
    for _ in range(20):  # the orphaned trial process notices and exits by itself
        if not _orphans(folder):
            break
        time.sleep(0.5)
    assert not _orphans(folder)
    survivors = [workers.start(pg_url, "killed", *beat) for _ in range(2)]
    wait_all(survivors, 300)
    assert [p.returncode for p in survivors] == [0, 0], workers.output(1)
    trials = all_trials(pg_url)
    assert_quota_exact(trials, 2)
    lost = [t for t in trials if t.state.name == "FAIL"]
    assert [t.number for t in lost] == [held.number]
    index = held.user_attrs["trial_index"]
    rerun = [t for t in trials if t.user_attrs.get("retry_of") == held.number]
    assert len(rerun) == 1 and rerun[0].state.name == "COMPLETE"
    assert rerun[0].user_attrs["trial_index"] == index and rerun[0].params == held.params
    runs = mlflow_trial_runs(mlflow_server, "killed")
    status = Counter((r.data.tags["trial_index"], r.info.status) for r in runs)
    seen = [(r.data.tags["trial_index"], r.info.status, r.data.tags.get("worker"),
             r.data.tags.get("stop_reason")) for r in runs]  # fmt: skip
    assert status[(str(index), "FINISHED")] == 1, (seen, held.user_attrs, doomed.pid)
    assert sum(n for (_, s), n in status.items() if s == "FINISHED") == 2


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("autotune: error: "), err
    return err


def test_bad_input_is_one_clear_line(
    pg_url: str, mlflow_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    down = "postgresql://nobody@127.0.0.1:9/none"
    argv = ["worker", "--experiment", "x", "--out", str(tmp_path / "w")]
    assert f"cannot open the Optuna storage '{down}'" in _error(capsys, [*argv, "--storage", down])
    err = _error(capsys, ["worker", "--storage", pg_url, "--experiment", "nope"])
    assert "no published search 'nope'" in err and "autotune publish" in err
    sqlite = ["publish", "--storage", f"sqlite:///{tmp_path}/o.db", "--submission", "baseline",
              "--workload", "mnist", "--search-space", NADAMW]  # fmt: skip
    assert "pass --storage postgresql://" in _error(capsys, sqlite)
    publish(pg_url, "versioned", 1, mlflow_server, tmp_path)
    too_many = str(multidevice.available_devices()[0] + 1)  # the publisher needs no devices
    publish(pg_url, "big", 1, mlflow_server, tmp_path, "--devices", too_many)
    capsys.readouterr()
    err = _error(capsys, ["worker", "--storage", pg_url, "--experiment", "big",
                          "--out", str(tmp_path / "w")])  # fmt: skip
    assert f"--devices {too_many} x --jobs 1 needs {too_many} devices; this machine has" in err
    err = _error(capsys, ["worker", "--storage", pg_url, "--experiment", "versioned",
                          "--out", str(tmp_path / "w"), "--devices", "2"])  # fmt: skip
    assert "'versioned' was published with --devices 1 per trial" in err
    monkeypatch.setattr("autotune.__version__", "9.9.9")
    err = _error(capsys, ["worker", "--storage", pg_url, "--experiment", "versioned"])
    assert "autotune 0.1.0; this process runs autotune 9.9.9" in err
    again = ["publish", "--storage", pg_url, "--name", "versioned", "--submission", "baseline",
             "--workload", "mnist", "--search-space", NADAMW, "--rules", "dev", "--trials", "1",
             "--budget-sec", "1", "--tracking-uri", mlflow_server]  # fmt: skip
    assert "autotune 0.1.0; this process runs autotune 9.9.9" in _error(capsys, again)
    assert [t.state.name for t in all_trials(pg_url)] == ["WAITING"] * 2  # nothing claimed


def test_worker_runs_its_trials_on_two_devices(
    pg_url: str, mlflow_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if multidevice.available_devices()[0] < 2:
        pytest.skip("needs 2 devices (CPU cores)")
    publish(pg_url, "ddp", 1, mlflow_server, tmp_path, "--devices", "2")
    capsys.readouterr()  # the worker takes the device count from the published search
    argv = ["worker", "--storage", pg_url, "--experiment", "ddp", "--out", str(tmp_path / "w"),
            "--json"]  # fmt: skip
    code = main(argv)
    assert code == 0, capsys.readouterr().err
    trials = all_trials(pg_url)
    assert_quota_exact(trials, 1)
    assert len(trials) == 1
    (run,) = mlflow_trial_runs(mlflow_server, "ddp")
    assert run.info.status == "FINISHED" and run.data.tags["devices"] == "2"
    assert run.data.tags["ddp_backend"] == "gloo" and run.data.tags["trial_index"] == "1"
