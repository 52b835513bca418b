"""Budget scale (autotune.speed): parsing, scaled facts, a real probe, and its use by
``autotune run`` and ``autotune search`` (probed once, kept on the studies for resume)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from autotune import facts, speed
from autotune.errors import UserError
from tests.search.search_helpers import GOOD, run_error, run_json, search_args


@pytest.mark.parametrize("value, expected", [(None, 1.0), ("auto", "auto"), ("AUTO", "auto"),
                                             ("1.5", 1.5), (2, 2.0)])  # fmt: skip
def test_parse_budget_scale(value: str | float | None, expected: float | str) -> None:
    assert speed.parse_budget_scale(value) == expected


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan", "inf"])
def test_a_bad_budget_scale_is_refused(value: str) -> None:
    with pytest.raises(UserError, match="budget scale must be 'auto' or a positive number"):
        speed.parse_budget_scale(value)


def test_scaled_facts_stretch_budget_and_eval_period_only() -> None:
    wf = facts.proxy("mnist")
    scaled = speed.scaled_facts(wf, 1.5)
    assert scaled.max_allowed_runtime_sec == pytest.approx(1.5 * wf.max_allowed_runtime_sec)
    assert scaled.eval_period_time_sec == pytest.approx(1.5 * wf.eval_period_time_sec)
    kept = ("validation_target", "test_target", "step_hint", "num_train_examples")
    assert all(getattr(scaled, k) == getattr(wf, k) for k in kept)
    with pytest.raises(UserError, match="CPU proxies only"):
        speed.scaled_facts(wf, 1.5, full_size=True)
    assert speed.resolve_budget_scale(1.0, "mnist", full_size=True) == 1.0


def test_probe_times_the_calibration_configuration() -> None:
    found = speed.probe("mnist", seconds=0.3, threads=1)
    wf = facts.proxy("mnist")
    assert found.timed == "mnist" and found.configuration.startswith("baseline")
    assert found.reference_step_sec == pytest.approx(wf.max_allowed_runtime_sec / wf.step_hint)
    assert found.steps >= speed.MIN_PROBE_STEPS
    assert math.isfinite(found.scale) and found.scale > 0


def test_auto_needs_a_calibrated_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    wf = facts.proxy("mnist")
    bare = type(wf)(**{**wf.__dict__, "extra": {}})
    monkeypatch.setattr(facts, "proxy", lambda name: bare)
    with pytest.raises(UserError, match="needs a calibrated proxy"):
        speed.probe("mnist")


def test_run_records_the_scaled_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, ["run", "--workload", "mnist", "--submission", "baseline",
                            "--out", str(tmp_path), "--budget-scale", "0.05", "--json"])  # fmt: skip
    wf = facts.proxy("mnist")
    meta = json.loads((Path(out["log_dir"]) / "meta_data_0.json").read_text())
    assert meta["budget_sec"] == pytest.approx(0.05 * wf.max_allowed_runtime_sec)
    assert meta["workload"]["eval_period_time_sec"] == pytest.approx(0.05 * wf.eval_period_time_sec)
    identity = json.loads((Path(out["log_dir"]) / "run_identity.json").read_text())
    assert identity["tags"]["budget_scale"] == "0.05"
    assert out["submission_time"] <= 0.05 * wf.max_allowed_runtime_sec + 1.0


def test_run_refuses_a_bad_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = run_error(capsys, ["run", "--workload", "mnist", "--submission", "baseline",
                             "--out", str(tmp_path), "--budget-scale", "fast"])  # fmt: skip
    assert "budget scale" in err


def test_search_probes_once_and_resumes_with_the_stored_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    space = tmp_path / "point.json"
    space.write_text(json.dumps([GOOD]))
    probed: list[str] = []
    real = speed.probe

    def short_probe(
        name: str, seconds: float = 0.0, threads: int | None = None
    ) -> speed.SpeedProbe:
        probed.append(name)
        return real(name, seconds=0.3, threads=1)  # one thread: the test is about plumbing

    monkeypatch.setattr(speed, "probe", short_probe)
    out = tmp_path / "exp"
    argv = search_args(out, "--submission", "baseline", "--search-space", str(space),
                       "--trials", "1", "--budget-scale", "auto", "--json")  # fmt: skip
    run_json(capsys, argv)
    assert probed == ["mnist"]
    storage = optuna.storages.RDBStorage(f"sqlite:///{out / 'optuna.db'}")
    (summary,) = optuna.get_all_study_summaries(storage)
    scale = summary.user_attrs[speed_attr()]
    assert scale > 0 and summary.user_attrs["budget_scale"] == "auto"
    (log_dir,) = (out / "logs").rglob("trial_1")
    identity = json.loads((log_dir / "run_identity.json").read_text())
    assert float(identity["tags"]["budget_scale"]) == pytest.approx(scale, rel=1e-3)
    run_json(capsys, argv)  # resume: nothing left to run, and no second probe
    assert probed == ["mnist"]


def speed_attr() -> str:
    from autotune.search.studies import PROBED_SCALE_ATTR

    return PROBED_SCALE_ATTR


def test_a_variant_budget_goes_on_its_base_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from autotune.calibrate import in_reference_seconds

    timed: list[str] = []

    def twice_as_slow(
        name: str, seconds: float = 0.0, threads: int | None = None
    ) -> speed.SpeedProbe:
        timed.append(name)
        return speed.SpeedProbe(name, name, "nadamw lr 0.01", 20, 0.2, 0.1)

    monkeypatch.setattr(speed, "probe", twice_as_slow)
    budget, clock = in_reference_seconds(facts.proxy("ogbg_gelu"), 60.0)
    assert timed == ["ogbg"] and budget == 30.0
    assert clock == {"local_budget_sec": 60.0, "base_speed_scale": 2.0}
    assert in_reference_seconds(facts.proxy("ogbg"), 60.0) == (60.0, {})  # a base: its own clock
