"""``autotune adapt``: bad input fails before anything is written; each strategy, generated
from the built-in baseline and ``search_spaces/nadamw.json``, loads as a submission and
trains the mnist proxy under the self-tuning ruleset with its whole plan inside the trial."""

from __future__ import annotations

import ast
import csv
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from autotune import facts
from autotune.adapt import adapt
from autotune.adapt.plan import HORIZON_FRACTION, MIN_POINT_FRACTION, make_plan
from autotune.cli import main
from autotune.errors import UserError
from autotune.registry import get_workload
from autotune.rules import load_rules
from autotune.submission import load_submission
from autotune.trial import TrialSpec, run

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "search_spaces" / "nadamw.json"
STEP_HINT = 50  # a short step hint makes the whole plan (switches, rungs, end) fit a test
WORKLOAD_NAMES = sorted(
    {*facts.proxy_names(), *load_rules("v0.6").scoring.base_workloads, "librispeech"}
)


@pytest.fixture(autouse=True)
def _short_step_hint(monkeypatch):
    """The real mnist proxy, its step hint cut so a plan ends within seconds."""

    def workload(name: str, *args: Any, **kwargs: Any):
        w = get_workload(name, *args, **kwargs)
        # targets out of reach: these tests are about how a plan ends, not about accuracy
        w.facts = dataclasses.replace(w.facts, step_hint=STEP_HINT, validation_target=2.0,
                                      test_target=2.0)  # fmt: skip
        return w

    monkeypatch.setattr("autotune.trial.get_workload", workload)


def _adapted(strategy: str, out: Path, points: int | None = None) -> Path:
    return adapt("baseline", SPACE, strategy, out / strategy, points).path.parent


def _self_trial(folder: Path, out: Path, budget: float, rules: str = "v0.6"):
    spec = TrialSpec(workload="mnist", submission=str(folder), ruleset="self", rules=rules,
                     out_dir=out, track=False, budget_sec_override=budget)  # fmt: skip
    return run(spec)


def _logged(log_dir: Path, prefix: str = "adapt/") -> list[dict[str, float]]:
    with (log_dir / "measurements.csv").open() as f:
        rows = list(csv.DictReader(f))
    return [
        {k: float(v) for k, v in r.items() if k.startswith(prefix) and v}
        | {"step": float(r["global_step"])}
        for r in rows
        if any(k.startswith(prefix) and v for k, v in r.items())
    ]


# (strategy, rules, budget, expected stop): sequential and halving end with their plan.
CASES = [
    ("sequential", "v0.6", 60.0, "training_complete"),
    ("halving", "v0.5", 60.0, "training_complete"),
    ("schedule_free", "v0.6", 6.0, "budget"),
]


@pytest.mark.parametrize(("strategy", "rules", "budget", "stop"), CASES)
def test_strategy_trains_the_mnist_proxy(strategy, rules, budget, stop, tmp_path):
    folder = _adapted(strategy, tmp_path)
    with load_submission(str(folder)) as sub:  # the AlgoPerf API, v0.6 shape
        assert sub.prepare_for_eval is not None and sub.takes_train_state
    outcome = _self_trial(folder, tmp_path / "runs", budget, rules)
    result = outcome.result
    # init_optimizer_state raises unless hyperparameters is None: reaching here proves it
    assert result.error is None, result.traceback
    assert result.stop_reason == stop
    first, last = result.evals[0].metrics, result.evals[-1].metrics
    assert last["train/loss"] < first["train/loss"]
    assert last["validation/accuracy"] > (first["validation/accuracy"] if stop == "budget" else 0.5)
    plan = make_plan(strategy, json.loads((folder / "adapt.json").read_text())["plan"]["points"])
    events = _logged(outcome.log_dir)
    if strategy == "sequential":  # 2 points of 0.6 x 50 = 30 steps each, then the end
        assert result.global_step == 2 * int(plan.schedule_fraction * STEP_HINT)
        assert [(e["adapt/point"], e["step"]) for e in events] == [(1.0, 30.0)]
    if strategy == "halving":  # 4 copies, rungs at 1/4 and 1/2 of 30 steps
        assert result.global_step == int(plan.schedule_fraction * STEP_HINT) == 30
        assert [(e["adapt/survivors"], e["step"]) for e in events] == [(2.0, 7.0), (1.0, 15.0)]


def _names_in(text: str) -> list[str]:
    return [n for n in WORKLOAD_NAMES if re.search(rf"\b{n}\b", text, re.IGNORECASE)]


def test_output_is_self_contained_and_names_no_workload(tmp_path):
    folder = _adapted("halving", tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "__init__.py", "adapt.json", "adaptation.py", "original_submission.py", "submission.py",
    ]  # fmt: skip
    for name in ("submission.py", "adaptation.py"):
        text = (folder / name).read_text()
        assert _names_in(text) == [], name
        imports = {
            (n.module or "").split(".")[0] if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }  # fmt: skip
        assert "autotune" not in imports and not imports & {"algorithmic_efficiency"}
    assert "from algoperf import spec" in (folder / "submission.py").read_text()
    original = (folder / "original_submission.py").read_text()
    assert "from algoperf import spec" in original and "autotune" not in original
    # the wrapped submission names workloads only in its batch-size table (AlgoPerf allows it)
    tree = ast.parse(original)
    table = next(n for n in tree.body if isinstance(n, ast.Assign)
                 and getattr(n.targets[0], "id", "") == "BATCH_SIZES")  # fmt: skip
    allowed = {id(c) for c in ast.walk(table)}
    named = [c for c in ast.walk(tree) if isinstance(c, ast.Constant) and c.value in WORKLOAD_NAMES]
    assert named and all(id(c) in allowed for c in named)
    points = json.loads((folder / "adapt.json").read_text())["points"]
    assert len(points) == 4 and points[0]["learning_rate"] == pytest.approx((2e-4 * 1e-2) ** 0.5)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--strategy", "bayes"], "unknown strategy 'bayes'"),
        (["--strategy", "sequential", "--points", "10"], "use at most 9 points"),
        (["--strategy", "halving", "--points", "16"], "before twice the longest warm-up"),
        (["--strategy", "halving", "--points", "1"], "needs at least 2 points"),
        (["--strategy", "sequential", "--search-space", "SINGLE"], "nothing to adapt"),
        (
            ["--strategy", "sequential", "--points", "3", "--search-space", "LIST"],
            "2 distinct point(s), but --points is 3",
        ),
        (["--strategy", "halving", "--search-space", "MISSING"], "does not exist"),
        (["--strategy", "halving", "--submission", "nope.py"], "no submission at 'nope.py'"),
    ],
)
def test_bad_input_is_one_line_before_anything_is_written(args, needle, tmp_path, capsys):
    single = tmp_path / "single.json"
    single.write_text(
        '{"learning_rate": {"feasible_points": [0.001]}, "beta2": {"feasible_points": [0.99]}}'
    )
    listed = tmp_path / "list.json"
    listed.write_text(
        '[{"learning_rate": 0.001}, {"learning_rate": 0.002}, {"learning_rate": 0.001}]'
    )
    spaces = {"SINGLE": single, "LIST": listed, "MISSING": tmp_path / "missing.json"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    given["--search-space"] = str(spaces.get(given.get("--search-space", ""), SPACE))
    given.setdefault("--submission", "baseline")
    out = tmp_path / "out"
    argv = ["adapt", "-o", str(out), *[x for kv in given.items() for x in kv]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_plan_rules():
    assert make_plan("sequential", 9).schedule_fraction >= MIN_POINT_FRACTION
    assert make_plan("halving", 4).cost == 2.0  # 4 x 1/4 + 2 x 1/4 + 1 x 1/2
    assert make_plan("halving", 4).schedule_fraction == pytest.approx(HORIZON_FRACTION / 2)
    assert make_plan("schedule_free", 1).schedule_fraction is None


def test_refuses_a_foreign_output_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="not written by autotune adapt"):
        adapt("baseline", SPACE, "sequential", tmp_path)
