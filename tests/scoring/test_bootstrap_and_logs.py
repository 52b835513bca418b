"""Bootstrap intervals and the fast log reader."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autotune.errors import UserError
from autotune.scoring import logs, score_logs
from tests.scoring.scoring_helpers import BASE, WriteTrial, trial_csv


def _pool(write_trial: WriteTrial, studies: int, trials: int) -> Path:
    rng = np.random.default_rng(0)
    for sub in ("a", "b", "c"):
        for workload in BASE:
            for k in range(studies):
                for t in range(1, trials + 1):
                    times = np.cumsum(rng.uniform(5, 15, size=6))
                    hit = None if rng.random() < 0.3 else int(rng.integers(0, 6))
                    write_trial(sub, k, workload, t, times=tuple(times), hit=hit)
    return write_trial("a", 0, "wmt", 1, times=(1.0,), hit=0).parents[4]


def test_single_study_single_trial_gives_a_point_interval(write_trial: WriteTrial) -> None:
    result = score_logs(_pool(write_trial, 1, 1), rules="v0.6", bootstrap=100)
    assert result.intervals is not None
    np.testing.assert_allclose(result.intervals["low"], result.scores, atol=1e-12)
    np.testing.assert_allclose(result.intervals["high"], result.scores, atol=1e-12)


def test_intervals_are_seeded_and_bracket_a_spread(write_trial: WriteTrial) -> None:
    result = score_logs(_pool(write_trial, 3, 3), rules="v0.6")
    one, two = result.with_intervals(300, seed=1), result.with_intervals(300, seed=1)
    assert one.intervals is not None and two.intervals is not None
    pd.testing.assert_frame_equal(one.intervals, two.intervals)
    assert (one.intervals["low"] <= one.intervals["high"]).all()
    assert (one.intervals["std"] > 0).any()
    studies_only = result.with_intervals(300, seed=1, resample_trials=False).intervals
    assert studies_only is not None and (studies_only["low"] <= studies_only["high"]).all()


def test_fast_reader_equals_pandas_file_by_file(write_trial: WriteTrial, tmp_path: Path) -> None:
    write_trial("s", 0, "ogbg", 1, times=(1.5, 2.5, 3.5), hit=1)
    write_trial("s", 0, "wmt", 1, times=(4.0, 8.0), hit=None)
    reordered = trial_csv("wmt", (3.0, 6.0), hit=0).splitlines()
    perm = [4, 3, 0, 1, 2]
    lines = [",".join(row.split(",")[i] for i in perm) for row in reordered]
    write_trial("s", 0, "wmt", 2, text="\n".join(lines) + "\n")
    write_trial("s", 1, "ogbg", 1, text=trial_csv("ogbg", (), hit=None))  # header only
    trials, notes = logs.find_trials(logs.find_submissions([tmp_path / "logs"]))
    assert not notes and len(trials) == 4
    metric = {"ogbg": "validation/mean_average_precision", "wmt": "validation/bleu"}
    evals = logs.read_evals(trials, metric)
    for i, trial in enumerate(trials):
        want = pd.read_csv(trial.path)
        got = evals[evals["file"] == i]
        np.testing.assert_array_equal(got["row"], np.arange(len(want)))
        np.testing.assert_array_equal(got["time"], want["score"])
        np.testing.assert_array_equal(got["value"], want[metric[trial.workload]])


def test_layout_oddities_are_skipped_with_notes(write_trial: WriteTrial, tmp_path: Path) -> None:
    write_trial("s", 0, "ogbg", 1)
    stray = tmp_path / "logs" / "s" / "study_0" / "trial_1"  # as in v0.5 schedule_free_adamw
    stray.mkdir()
    (stray / "eval_measurements.csv").write_text("score\n1\n")
    (tmp_path / "logs" / "s" / "study_0" / "ogbg_pytorch" / "trial_2").mkdir()
    trials, notes = logs.find_trials(logs.find_submissions([tmp_path / "logs"]))
    assert [t.trial for t in trials] == [1]
    assert any("trial_1: not a <workload>_<framework>" in n for n in notes)
    assert any("trial_2: no eval_measurements.csv" in n for n in notes)


def test_listing_order_does_not_matter(
    write_trial: WriteTrial, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _pool(write_trial, 2, 3)
    first = score_logs(root, rules="v0.6")
    real = os.scandir

    def reversed_scandir(path: str) -> object:
        class Reversed:
            def __init__(self) -> None:
                with real(path) as it:
                    self.entries = sorted(it, key=lambda e: e.name, reverse=True)

            def __enter__(self) -> list[os.DirEntry[str]]:
                return self.entries

            def __exit__(self, *exc: object) -> None:
                return None

        return Reversed()

    monkeypatch.setattr(logs.os, "scandir", reversed_scandir)
    second = score_logs(root, rules="v0.6")
    pd.testing.assert_series_equal(first.scores, second.scores)


def test_autotune_trial_folders_with_meta(write_trial: WriteTrial, tmp_path: Path) -> None:
    meta = {"rules": "algoperf-v0.5", "ruleset": "self"}
    for sub in ("mine", "other"):
        for workload in BASE:
            write_trial(sub, 0, workload, 1, times=(5.0, 9.0), hit=1, version="v0.5", meta=meta)
    result = score_logs(tmp_path / "logs")
    assert (result.version, result.ruleset) == ("v0.5", "self")
    # no held-out logs: under v0.5 every base workload with a held-out variant is penalised
    assert result.scores["mine"] == pytest.approx(2 / 8)
    assert any("no logs for" in note for note in result.notes)
    assert any("mine: no held-out workload logs at all" in note for note in result.notes)


def test_runner_trial_log_is_scored(tmp_path: Path) -> None:
    trial_log = pytest.importorskip("autotune.trial_log")
    runner = pytest.importorskip("autotune.runner")
    from autotune import facts

    meta = {"rules": "algoperf-v0.6", "ruleset": "self", "autotune_version": "0.1.0"}
    for workload in BASE:
        wf = facts.official(workload, "v0.6")
        folder = trial_log.trial_dir(tmp_path, "mine", 0, workload, "pytorch", 1)
        log = trial_log.TrialLog(folder, {"lr": 0.1}, meta)
        for i, value in enumerate([math.nan, wf.validation_target]):
            metrics = {wf.validation_metric: value, "train/loss": 1.0}
            log.on_eval(runner.EvalRecord(i * 10, 100.0 * (i + 1), 1.0, 0.0, 1.0, metrics))
    result = score_logs(tmp_path / "mine")
    assert (result.rules, result.ruleset) == ("algoperf-v0.6", "self")  # from meta_data_0.json
    assert result.scores["mine"] == 1.0
    assert (result.times.loc["mine"] == 200.0).all()


def test_proxy_runs_use_proxy_targets_and_their_own_pool(
    write_trial: WriteTrial, tmp_path: Path
) -> None:
    from autotune import facts

    proxy, official = facts.proxy("mnist"), facts.official("mnist", "v0.6")
    # between the two targets: it meets exactly one of them, so the result says which
    between = (proxy.validation_target + official.validation_target) / 2
    meta = {"autotune_version": "0.1.0", "rules": "dev-v0.6", "workload": {"kind": "proxy"}}
    header = "accumulated_submission_time,global_step,preemption_count,score,validation/accuracy"
    runs = (("quick", 10.0, proxy.validation_target), ("slow", 30.0, proxy.validation_target),
            ("between", 20.0, between))  # fmt: skip
    for sub, t, value in runs:
        text = f"{header}\n{t},100,0,{t},{value}\n"
        folder = write_trial(sub, 0, "mnist", 1, text=text).parent
        (folder / "meta_data_0.json").write_text(json.dumps(meta))
    result = score_logs(tmp_path / "logs")
    assert result.rules == "dev-v0.6" and result.scoring.base_workloads == ("mnist",)
    assert result.times.loc["quick", "mnist"] == 10.0
    proxy_met = between >= proxy.validation_target  # accuracy: higher is better
    assert result.times.loc["between", "mnist"] == (20.0 if proxy_met else math.inf)
    assert result.scores["quick"] == 1.0 and 0 < result.scores["slow"] < 1
    assert any("proxy workloads" in note for note in result.notes)


def test_proxy_and_official_runs_do_not_mix(write_trial: WriteTrial, tmp_path: Path) -> None:
    write_trial("a", 0, "ogbg", 1)
    folder = write_trial("b", 0, "ogbg", 1).parent
    meta = {"autotune_version": "0.1.0", "workload": {"kind": "proxy"}}
    (folder / "meta_data_0.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="proxy and official runs in one pool"):
        score_logs(tmp_path / "logs", rules="v0.6")
