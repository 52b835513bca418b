"""`autotune search --devices N`: every trial of the search as N gloo DDP processes.

A real 2-trial search of the NAdamW baseline on the mnist proxy (3 s budget per trial),
one trial at a time, each trial two torchrun ranks on CPU; then a resume with another
device count, which is another search and is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotune import multidevice
from tests.search.search_helpers import (
    NADAMW,
    mlflow_runs,
    run_error,
    run_json,
    search_args,
    snapshot,
    trials,
)


def test_search_runs_each_trial_on_two_devices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if multidevice.available_devices()[0] < 2:
        pytest.skip("needs 2 devices (CPU cores)")
    out = tmp_path / "ddp"
    cfg = tmp_path / "ddp.toml"  # the device count from an experiment file
    cfg.write_text('submission = "baseline"\nworkloads = ["mnist"]\ndevices = 2\n')
    argv = search_args(out, "--config", str(cfg), "--search-space", NADAMW, "--trials", "2")
    summary = run_json(capsys, [*argv, "--json"])
    assert summary["workloads"][0]["studies"][0]["trials_done"] == 2

    found = trials(out)
    assert [t.state.name for t in found] == ["COMPLETE", "COMPLETE"]
    assert sorted(t.user_attrs["trial_index"] for t in found) == [1, 2]
    assert not any(t.user_attrs["crashed"] for t in found), [t.user_attrs for t in found]
    for t in found:  # AlgoPerf's metadata of the trial, written by rank 0
        meta = json.loads((Path(t.user_attrs["log_dir"]) / "meta_data_0.json").read_text())
        assert meta["devices"] == "2"
    children = [r for r in mlflow_runs(out) if r.data.tags.get("role") != "study"]
    assert sorted(r.data.tags["trial_index"] for r in children) == ["1", "2"]
    for run in children:
        assert run.info.status == "FINISHED"
        assert run.data.tags["devices"] == "2" and run.data.tags["ddp_backend"] == "gloo"

    before = snapshot(out)  # the same search on 1 device per trial is another search
    err = run_error(capsys, [*argv, "--devices", "1"])
    assert "other settings (devices: 2 -> 1)" in err
    assert snapshot(out) == before
