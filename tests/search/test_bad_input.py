"""Bad input to `autotune search`: one clear line, exit 2, recorded trials untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autotune import multidevice
from tests.search.search_helpers import EXITING, NADAMW, run_error, search_args, snapshot

HAVE = multidevice.available_devices()[0]  # GPUs, else CPU cores this process may use


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ruleset", "semi"], "unknown ruleset 'semi'"),
        (["--sampler", "grid"], "unknown sampler 'grid'"),
        (["--rules", "v9"], "unknown rules 'v9'"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--devices", "0"], "--devices must be at least 1"),
        (["--devices", "2", "--framework", "jax"], "--devices 2 runs PyTorch DDP"),
        (["--devices", str(HAVE + 1)], f"--devices {HAVE + 1} x --jobs 1 needs {HAVE + 1} dev"),
        (["--devices", "2", "--jobs", str(HAVE)], f"needs {2 * HAVE} devices; this machine has"),
        (["--search-space", "nowhere.json"], "search space 'nowhere.json' does not exist"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = search_args(tmp_path / "x", "--submission", "baseline", "--search-space", NADAMW)
    err = run_error(capsys, [*argv, *extra])
    assert message in err
    assert not (tmp_path / "x").exists()


def test_missing_search_space_and_workload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "needs a search space" in run_error(
        capsys, ["search", "--submission", "baseline", "--workload", "mnist"]
    )
    assert "needs 'workloads'" in run_error(capsys, ["search", "--submission", "baseline"])
    argv = ["search", "--submission", "baseline", "--search-space", NADAMW, "--workload",
            "mnsit", "--out", str(tmp_path / "x")]  # fmt: skip
    assert "unknown workload 'mnsit'" in run_error(capsys, argv)


def test_unreachable_storage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = search_args(tmp_path / "x", "--submission", "baseline", "--search-space", NADAMW)
    err = run_error(capsys, [*argv, "--storage", "postgresql://nobody@127.0.0.1:9/none"])
    assert "cannot open the Optuna storage 'postgresql://nobody@127.0.0.1:9/none'" in err


def test_config_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "exp.toml"
    cfg.write_text('submission = "baseline"\nworkloads = ["mnist"]\nbudget = 3\n')
    assert "unknown key 'budget'" in run_error(capsys, ["search", "--config", str(cfg)])
    cfg.write_text('submission = "baseline"\nworkloads = "mnist"\n')
    assert "'workloads' must be a list" in run_error(capsys, ["search", "--config", str(cfg)])
    cfg.write_text("submission = \n")
    assert "malformed TOML" in run_error(capsys, ["search", "--config", str(cfg)])


def test_bad_input_leaves_recorded_trials_untouched(
    finished_search: tuple[Path, list[str], dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    out, argv, _ = finished_search
    before = snapshot(out)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"learning_rate": 0.1}')
    short = tmp_path / "short.json"
    short.write_text(json.dumps([{"learning_rate": 0.1, "crash": 0}]))
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    base = search_args(out, "--submission", EXITING, "--trials", "4", "--jobs", "2")
    cases = [
        (["--search-space", str(broken)], "malformed JSON"),
        (["--search-space", str(empty)], "empty"),
        (["--search-space", str(short)], "1 point(s) but the quota is 4"),
        ([*argv[argv.index("--search-space") : argv.index("--search-space") + 2], "--seed", "5"],
         "other settings (seed: 0 -> 5)"),
        ([*argv[argv.index("--search-space") : argv.index("--search-space") + 2],
          "--sampler", "tpe"], "needs a dict-format search space"),
    ]  # fmt: skip
    for extra, message in cases:
        assert message in run_error(capsys, [*base, *extra])
    assert snapshot(out) == before
