"""Fixtures of the AlgoPerf-compatibility tests: the test submissions, tiny rules files,
and a guarantee that no import scope outlives its test."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotune import compat, facts
from autotune.rules import load_rules

SUBMISSIONS = Path(__file__).parent / "submissions"
LEADERBOARD = SUBMISSIONS / "leaderboard" / "submissions" / "external_tuning" / "nadamw_lb"
STEP_CAP = 36  # steps of every test trial (a step-cap multiplier of mnist's step_hint)


@pytest.fixture(autouse=True)
def _close_scopes():
    yield
    compat.deactivate()


def _rules_text(version: str) -> str:
    """AlgoPerf's timing rules of ``version`` with a quota small enough for a test."""
    t = load_rules(version).timing
    timing = "\n".join(f"{k} = {str(v).lower()}" for k, v in vars(t).items())
    multiplier = (STEP_CAP + 0.5) / facts.proxy("mnist").step_hint  # floor() gives STEP_CAP
    quota = (
        "studies = 1\ntrials_per_study = 1\nbudget_multiplier = 10.0\n"
        f"step_cap_multiplier = {multiplier!r}"
    )
    return f"""name = "compat-test"
version = "{version}"
package = "{load_rules(version).package}"
official = false

[timing]
{timing}

[external]
{quota}

[self]
{quota}

[scoring]
max_tau = 4.0
num_points = 100
heldout_penalty = false
base_workloads = ["mnist"]
"""


@pytest.fixture(scope="session")
def tiny_rules(tmp_path_factory) -> dict[str, str]:
    """``{"v0.5": path, "v0.6": path}``: tiny rules files: a 36-step cap ends every trial."""
    folder = tmp_path_factory.mktemp("rules")
    out = {}
    for version in ("v0.5", "v0.6"):
        path = folder / f"tiny-{version}.toml"
        path.write_text(_rules_text(version))
        out[version] = str(path)
    return out
