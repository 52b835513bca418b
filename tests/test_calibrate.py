"""`autotune calibrate`: the target-setting protocol on the real mnist proxy, written as data."""

from __future__ import annotations

import shutil
import tomllib

import pytest

from autotune import facts, rules
from autotune.calibrate import CalibrationPlan, calibrate, write_calibration
from autotune.errors import UserError


@pytest.fixture
def home(tmp_path, monkeypatch, project_root):
    """A private copy of the data folders, so writing facts leaves the checkout alone."""
    for name in ("workloads", "rulesets"):
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
        workload="mnist", step_budget=60, optimizers=("adamw", "heavy_ball"), points=2, reruns=2
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
    assert facts.proxy("mnist").step_hint == 80  # the facts now read the calibrated values


@pytest.mark.parametrize(
    ("plan", "needle"),
    [
        (
            CalibrationPlan(workload="mnist", step_budget=50, optimizers=("lamb",)),
            "unknown optimizer",
        ),
        (CalibrationPlan(workload="mnist", step_budget=5), "at least 10"),
        (CalibrationPlan(workload="nope", step_budget=50), "unknown workload 'nope'"),
    ],
)
def test_bad_plans_fail_before_training(plan, needle):
    with pytest.raises(UserError, match=needle):
        calibrate(plan)
