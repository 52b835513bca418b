"""Bad log folders give one clear UserError naming the file or workload, never a score."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autotune.errors import UserError
from autotune.scoring import score_logs
from autotune.scoring.leaderboard import load_board
from tests.scoring.scoring_helpers import BASE, WriteTrial, trial_csv


def _good_pool(write_trial: WriteTrial) -> Path:
    for sub in ("alpha", "beta"):
        for workload in BASE:
            write_trial(sub, 0, workload, 1, times=(5.0, 10.0), hit=1)
    return write_trial("alpha", 0, "wmt", 2).parents[4]


def test_good_pool_scores(write_trial: WriteTrial) -> None:
    result = score_logs(_good_pool(write_trial), rules="v0.6")
    assert result.scores.tolist() == [1.0, 1.0]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="nowhere: no such folder"):
        score_logs(tmp_path / "nowhere")


def test_folder_without_logs(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(UserError, match="no study_N folders"):
        score_logs(tmp_path / "empty")


def test_corrupt_csv_is_named_among_good_ones(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    text = trial_csv("ogbg", (1.0, 2.0), hit=1).replace(",0,2.0,", ",0,2.0x,")
    bad = write_trial("beta", 0, "ogbg", 3, text=text)
    with pytest.raises(UserError, match=f"{re.escape(str(bad))}: corrupt CSV"):
        score_logs(root, rules="v0.6")


def test_truncated_csv_mid_line(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    bad = write_trial("beta", 0, "wmt", 3, text=trial_csv("wmt", (1.0, 2.0), hit=1)[:-9])
    with pytest.raises(UserError, match=f"{re.escape(str(bad))}: truncated CSV"):
        score_logs(root, rules="v0.6")


def test_truncated_csv_missing_fields(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    text = trial_csv("wmt", (1.0, 2.0), hit=1).rsplit(",", 1)[0] + "\n"
    bad = write_trial("beta", 0, "wmt", 3, text=text)
    with pytest.raises(
        UserError, match=f"{re.escape(str(bad))}: corrupt or truncated CSV \\(line 3 has 4 fields"
    ):
        score_logs(root, rules="v0.6")


def test_empty_csv(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    bad = write_trial("beta", 0, "wmt", 3, text="")
    with pytest.raises(UserError, match=f"{re.escape(str(bad))}: empty file"):
        score_logs(root, rules="v0.6")


def test_missing_target_column(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    text = "accumulated_submission_time,global_step,preemption_count,score,validation/loss\n1,1,0,1,0.5\n"
    bad = write_trial("beta", 0, "wmt", 3, text=text)
    with pytest.raises(
        UserError, match=f"{re.escape(str(bad))}: no 'validation/bleu' column \\(workload wmt"
    ):
        score_logs(root, rules="v0.6")


def test_unknown_workload(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    write_trial("beta", 0, "wmt", 3, text="score,validation/bleu\n1,1\n")
    folder = root / "beta" / "study_0" / "wmtt_pytorch" / "trial_1"
    folder.mkdir(parents=True)
    (folder / "eval_measurements.csv").write_text("score,validation/bleu\n1,1\n")
    with pytest.raises(UserError, match="wmtt_pytorch: unknown workload 'wmtt'"):
        score_logs(root, rules="v0.6")


def test_mixed_versions_in_meta(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    write_trial("alpha", 0, "ogbg", 4, meta={"rules_version": "v0.6"})
    write_trial("beta", 0, "ogbg", 4, meta={"rules_version": "v0.5"})
    with pytest.raises(UserError, match=r"mixed rules versions.*alpha.*v0.6.*beta.*v0.5"):
        score_logs(root)


def test_meta_version_contradicts_the_rules_asked_for(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    write_trial("alpha", 0, "ogbg", 4, meta={"rules_version": "v0.6"})
    with pytest.raises(
        UserError, match=r"run under algoperf-v0.6 rules .* but algoperf-v0.5 was asked for"
    ):
        score_logs(root, rules="v0.5")


def test_same_submission_twice(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    with pytest.raises(UserError, match="submission 'alpha' appears twice"):
        score_logs([root, root / "alpha"])


def test_no_reference_pool() -> None:
    with pytest.raises(
        UserError, match=r"unknown leaderboard 'algoperf-v9'.*algoperf-v0.5-external"
    ):
        load_board("algoperf-v9")


def test_submission_without_scored_logs_scores_zero(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    write_trial("gamma", 0, "wmt_post_ln", 1)  # a known workload, not scored under v0.6
    result = score_logs(root, rules="v0.6")
    assert result.scores["gamma"] == 0.0
    assert any(
        "not scored under algoperf-v0.6 rules, ignored: wmt_post_ln" in n for n in result.notes
    )


def test_unknown_option_values(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    with pytest.raises(UserError, match="unknown integral 'simpson'"):
        score_logs(root, integral="simpson")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="unknown ruleset 'both'"):
        score_logs(root, ruleset="both")


def test_single_submission_is_flagged_as_its_own_pool(write_trial: WriteTrial) -> None:
    root = _good_pool(write_trial)
    result = score_logs(root / "alpha", rules="v0.6")
    assert result.scores.tolist() == [1.0]
    assert any("one submission only" in note for note in result.notes)


def _framework_copy(csv: Path, root: Path, framework: str) -> Path:
    """The submission folder of ``csv`` copied under ``root`` with its workload folder
    renamed to ``<workload>_<framework>``."""
    trial = csv.parent
    dest = root / trial.parents[2].name / trial.parents[1].name
    dest = dest / trial.parent.name.replace("_pytorch", f"_{framework}") / trial.name
    dest.mkdir(parents=True)
    (dest / csv.name).write_text(csv.read_text())
    return root / trial.parents[2].name


def test_same_name_in_two_frameworks_is_told_apart(write_trial: WriteTrial, tmp_path: Path) -> None:
    """A JAX and a PyTorch run of one submission (same folder name) rank side by side."""
    fast = write_trial("nadamw", 0, "ogbg", 1, times=(5.0,), hit=0)
    slow = _framework_copy(write_trial("tmp", 0, "ogbg", 1, times=(5.0, 20.0), hit=1),
                           tmp_path / "jax_logs", "jax")  # fmt: skip
    jax_sub = slow.rename(slow.with_name("nadamw"))
    result = score_logs([fast.parents[3], jax_sub], rules="v0.6")
    assert set(result.scores.index) == {"nadamw (jax)", "nadamw (pytorch)"}
    assert result.scores["nadamw (pytorch)"] > result.scores["nadamw (jax)"] > 0


def test_same_name_same_framework_twice_is_an_error(
    write_trial: WriteTrial, tmp_path: Path
) -> None:
    csv = write_trial("nadamw", 0, "ogbg", 1)
    copy = _framework_copy(csv, tmp_path / "again", "pytorch")
    with pytest.raises(UserError, match="submission 'nadamw' appears twice"):
        score_logs([csv.parents[3], copy], rules="v0.6")
