"""The CLI: bad input is one line on stderr and exit code 2; --json is machine-readable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from autotune.cli import main


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotune.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["run", "--workload", "mnistt", "--submission", "baseline"],
            "unknown workload 'mnistt'; did you mean 'mnist'?",
        ),
        (["run", "--workload", "mnist", "--submission", "nope.py"], "no submission at 'nope.py'"),
        (
            ["run", "--workload", "mnist", "--submission", "baseline", "--hparams", "{bad json"],
            "malformed JSON",
        ),
        (
            ["run", "--workload", "mnist", "--submission", "baseline", "--rules", "v9"],
            "unknown rules 'v9'",
        ),
        (
            ["run", "--workload", "mnist", "--submission", "baseline", "--ruleset", "team"],
            "unknown ruleset 'team'",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_workloads_json_lists_mnist():
    proc = _cli("workloads", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["mnist"]["metric"] == "validation/accuracy"
    assert rows["mnist"]["direction"] == "max"
    assert rows["mnist"]["frameworks"] == ["pytorch", "jax"]
    # calibrated tables say so; a variant never inherits its base's calibration
    assert rows["mnist"]["target_source"].startswith("calibrate ")
    assert rows["criteo1tb_layernorm"]["target_source"].startswith("calibrate ")  # its own
    assert rows["criteo1tb_embed_init"]["target_source"].startswith("calibrate ")  # its own
    variant, base = rows["criteo1tb_embed_init"], rows["criteo1tb"]
    assert variant["validation_target"] != base["validation_target"]


def test_missing_option_is_a_usage_error(capsys):
    assert main(["run", "--workload", "mnist"]) == 2
    assert "submission" in capsys.readouterr().err
