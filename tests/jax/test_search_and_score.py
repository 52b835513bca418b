"""`autotune search --framework jax` end to end, and `autotune score` ranking a JAX and a
PyTorch search of one submission together (one pair of short searches, shared)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from autotune.cli import main
from tests.search.search_helpers import NADAMW, mlflow_runs, run_json, search_args, trials

FRAMEWORKS = ("jax", "pytorch")
BASELINE_FILE = {"jax": "nadamw_jax.py", "pytorch": "nadamw_torch.py"}
TRIALS = 2


@pytest.fixture(scope="module")
def searches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """framework -> (folder, JSON summary) of a search of the built-in baseline on mnist,
    1 study x 2 trials of 3 s each, under the dev rules."""
    root = tmp_path_factory.mktemp("search_and_score")
    found = {}
    for framework in FRAMEWORKS:
        out = root / framework
        argv = search_args(out, "--submission", "baseline", "--framework", framework,
                           "--ruleset", "external", "--search-space", NADAMW,
                           "--studies", "1", "--trials", str(TRIALS), "--json")  # fmt: skip
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            code = main(argv)
        assert code == 0, f"the {framework} search failed"
        found[framework] = (out, json.loads(stdout.getvalue()))
    return found


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_search_runs_real_trials_of_the_framework(
    searches: dict[str, tuple[Path, dict[str, Any]]], framework: str
) -> None:
    out, summary = searches[framework]
    (workload,) = summary["workloads"]
    (study,) = workload["studies"]
    assert study["trials_done"] == study["trials_planned"] == TRIALS
    assert Path(study["logs"]).name == f"mnist_{framework}"

    found = trials(out)
    assert [t.state.name for t in found] == ["COMPLETE"] * TRIALS
    assert sorted(t.user_attrs["trial_index"] for t in found) == list(range(1, TRIALS + 1))
    for t in found:
        assert t.user_attrs["crashed"] is False and t.user_attrs["returncode"] == 0
        assert t.user_attrs["error"] is None, t.user_attrs["error"]
        log_dir = Path(t.user_attrs["log_dir"])
        assert log_dir.parent.name == f"mnist_{framework}"
        assert log_dir.parents[2].name == "baseline"  # the submission folder the scorer reads
        with (log_dir / "eval_measurements.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert int(rows[-1]["global_step"]) > 1, "the trial did not train"

    runs = mlflow_runs(out)
    children = [r for r in runs if "trial_index" in r.data.tags]
    assert len(children) == TRIALS and len(runs) == TRIALS + 1  # + the study's parent run
    for run in runs:
        assert run.data.tags["framework"] == framework
        assert run.info.status == "FINISHED"
    for run in children:
        assert run.data.tags["submission_path"].endswith(BASELINE_FILE[framework])
        assert ("jax_version" in run.data.tags) == (framework == "jax")
        assert run.data.params["learning_rate"]  # a point of the search space was run


def test_score_ranks_both_frameworks_together(
    searches: dict[str, tuple[Path, dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    logs = [searches[fw][0] / "logs" / "t" / "baseline" for fw in FRAMEWORKS]
    report = tmp_path / "report"
    payload = run_json(capsys, ["score", *map(str, logs), "--json", "--out", str(report)])
    subs = payload["submissions"]
    assert set(subs) == {f"baseline ({fw})" for fw in FRAMEWORKS}
    assert payload["rules"] == "dev-v0.6" and payload["ruleset"] == "external"
    assert payload["proxy"] is True

    scores, reached = {}, {}
    for framework in FRAMEWORKS:
        entry = subs[f"baseline ({framework})"]
        assert set(entry["times"]) == {"mnist"}
        time = float(entry["times"]["mnist"])  # JSON writes an infinite time as "inf"
        # one study: scored from the search's own trials; the search's value is the least
        # time to target, the official rule's pick (fewest evals) is never faster
        (workload,) = searches[framework][1]["workloads"]
        assert math.isfinite(time) == workload["reached"]
        assert time >= float(workload["median"]) * (1 - 1e-9)
        assert (entry["score"] > 0) == workload["reached"]
        scores[framework], reached[framework] = entry["score"], workload["reached"]
    assert max(scores.values()) == (1.0 if any(reached.values()) else 0.0)  # pool's best is 1

    # each name holds its own framework's trials, not the other's
    with (report / "studies.csv").open() as f:
        studies = list(csv.DictReader(f))
    assert sorted((s["submission"], s["framework"]) for s in studies) == [
        (f"baseline ({fw})", fw) for fw in FRAMEWORKS
    ]
