"""`autotune calibrate`: the target-setting protocol on the real mnist proxy, written as data."""

from __future__ import annotations

import shutil
import tomllib

import pytest

from autotune import facts, rules
from autotune.calibrate import (
    CalibrationPlan,
    RunSummary,
    calibrate,
    next_learning_rate,
)
from autotune.calibration_record import write_calibration
from autotune.errors import UserError


@pytest.fixture
def home(tmp_path, monkeypatch, project_root):
    """A private copy of the data folders, so writing facts leaves the checkout alone."""
    for name in ("workloads", "rulesets", "search_spaces"):
        shutil.copytree(
            project_root / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("*.py", "__pycache__"),
        )
    monkeypatch.setenv("AUTOTUNE_HOME", str(tmp_path))
    facts._family_file.cache_clear()
    facts.families.cache_clear()
    rules.load_rules.cache_clear()
    yield tmp_path
    facts._family_file.cache_clear()
    facts.families.cache_clear()
    rules.load_rules.cache_clear()


def test_calibration_sets_target_budget_and_step_hint(home):
    plan = CalibrationPlan(
        workload="mnist",
        step_budget=60,
        optimizers=("adamw", "heavy_ball"),
        points=2,
        reruns=2,
        extend=0,
    )
    result = calibrate(plan)
    assert len(result.sweep) == 4 and len(result.reruns) == 2
    # every run trains its whole step budget: the proxy's current targets never stop it
    assert {(r.stop_reason, r.global_step) for r in result.sweep + result.reruns} == {
        ("step_cap", 60)
    }
    assert result.step_hint == 80  # 4/3 x 60
    best_sweep = max(r.best_validation for r in result.sweep)
    assert 0.3 < result.validation_target <= 1.0
    assert result.validation_target <= best_sweep + 0.05
    assert result.max_allowed_runtime_sec > 0
    text_before = (home / "workloads/mnist/workload.toml").read_text()
    path = write_calibration(result)
    text = path.read_text()
    assert "# The CPU proxy" in text and "# The CPU proxy" in text_before  # comments kept
    table = tomllib.loads(text)["proxy"]["mnist"]
    assert table["step_hint"] == 80
    assert table["validation_target"] == pytest.approx(result.validation_target, abs=1e-6)
    assert table["calibration"]["command"].startswith("autotune calibrate mnist --steps 60")
    assert table["calibration"]["learning_rates"]["adamw"] == [3e-4, 0.01]
    assert facts.proxy("mnist").step_hint == 80  # the facts now read the calibrated values


def test_baseline_reference_sets_a_target_every_seed_reached(home):
    plan = CalibrationPlan(workload="mnist", step_budget=60, reruns=2, reference="baseline")
    result = calibrate(plan)
    assert result.sweep == [] and len(result.reruns) == 2
    assert {(r.optimizer, r.global_step) for r in result.reruns} == {("baseline", 60)}
    # the worst seed's best value: every calibration seed reached it
    assert result.validation_target == min(r.best_validation for r in result.reruns)
    assert result.step_hint == 80
    prov = result.provenance
    assert "--reference baseline" in prov["command"] and "learning_rates" not in prov
    assert set(prov["fixed_hyperparameters"]) == {"baseline"} and prov["seeds"] == [0, 1]


def _runs(curve: dict[float, float]) -> list[RunSummary]:
    return [RunSummary("sgd", lr, 0, v, v, 1.0, 10, "step_cap") for lr, v in curve.items()]


@pytest.mark.parametrize(
    ("curve", "minimize", "expected"),
    [
        ({0.1: 0.5, 0.3: 0.7, 1.0: 0.9}, False, 3.0),  # best at the top: one step up
        ({0.1: 0.9, 0.3: 0.7, 1.0: 0.5}, False, 1 / 30),  # best at the bottom: one step down
        ({0.1: 0.5, 0.3: 0.9, 1.0: 0.5}, False, None),  # best inside: stop
        ({0.1: 0.5, 0.3: 0.4, 1.0: 0.2}, True, 3.0),  # a loss: smaller is better
        ({0.1: float("nan"), 0.3: float("nan")}, False, None),  # all diverged: stop
        ({0.1: 0.5, 0.3: 0.7, 1.0: float("nan")}, False, None),  # diverged above the best
    ],
)
def test_grid_extends_past_a_best_edge(curve, minimize, expected):
    got = next_learning_rate(_runs(curve), 3.0, minimize)
    assert got == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("plan", "needle"),
    [
        (
            CalibrationPlan(workload="mnist", step_budget=50, optimizers=("lamb",)),
            "unknown optimizer",
        ),
        (CalibrationPlan(workload="mnist", step_budget=5), "at least 10"),
        (CalibrationPlan(workload="mnist", step_budget=50, extend=-1), "0 or more"),
        (
            CalibrationPlan(workload="mnist", step_budget=50, reference="best"),
            "unknown --reference",
        ),
        (CalibrationPlan(workload="nope", step_budget=50), "unknown workload 'nope'"),
    ],
)
def test_bad_plans_fail_before_training(plan, needle):
    with pytest.raises(UserError, match=needle):
        calibrate(plan)
