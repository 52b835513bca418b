"""The planned trials of a search: (workload, study, trial index, point, seed).

:func:`resolve` checks a :class:`SearchConfig` against the rules, the workloads, the
submission and the search space (every user mistake is raised here, before any storage
is touched) and :func:`plan_trials` lists what the search must run. The plan is a pure
function of the configuration: a resumed search, or a worker on another machine,
recomputes exactly the same points and seeds.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

from autotune import search_space as ss
from autotune.errors import UserError
from autotune.rules import Rules, TuningRules, load_rules
from autotune.search.config import SearchConfig

__all__ = ["PlannedTrial", "Search", "plan_trials", "resolve"]


@dataclass(frozen=True)
class PlannedTrial:
    """One trial to run. ``point`` is None under self-tuning, and for adaptive samplers
    (the sampler picks it when the trial is asked for)."""

    workload: str
    study: int  # from 0, as AlgoPerf's study_N folders
    trial: int  # from 1, as AlgoPerf's trial_N folders
    point: dict[str, Any] | None
    seed: int


@dataclass(frozen=True)
class Search:
    """A validated search: its configuration and everything derived from it."""

    config: SearchConfig
    rules: Rules
    tuning: TuningRules
    space: ss.SearchSpace | None
    studies: int
    trials_per_study: int

    @property
    def adaptive(self) -> bool:
        """True when an Optuna sampler (not the planned points) chooses hyperparameters."""
        return self.space is not None and self.config.sampler != "halton"

    @property
    def official(self) -> bool:
        c = self.config
        return (
            self.rules.official and c.studies is None and c.trials is None
            and c.budget_sec is None and c.sampler == "halton" and c.study_points == "same"
        )  # fmt: skip

    def study_name(self, workload: str, study: int) -> str:
        return f"{self.config.name}/{workload}/study_{study}"

    def identity(self) -> dict[str, Any]:
        """What makes two runs of the command the same search (resume must match it)."""
        c = self.config
        # Devices per trial change the measured times, so they are part of the search; at
        # the default of 1 they are left out, which keeps older searches' fingerprints.
        devices = {"devices": c.devices} if c.devices != 1 else {}
        scale = {"budget_scale": c.budget_scale} if c.budget_scale != 1.0 else {}
        return {
            **devices, **scale, "submission": c.submission, "rules": self.rules.label,
            "rules_version": self.rules.version, "ruleset": self.tuning.ruleset,
            "framework": c.framework, "sampler": c.sampler if self.space else "none",
            "seed": c.seed, "studies": self.studies, "trials_per_study": self.trials_per_study,
            "study_points": c.study_points, "budget_sec": c.budget_sec,
            "search_space_sha256": self.space.sha256 if self.space else None,
        }  # fmt: skip

    def fingerprint(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def study_attrs(self) -> dict[str, Any]:
        """Recorded on every Optuna study (``user_attrs``)."""
        return {
            **self.identity(), "fingerprint": self.fingerprint(),
            "official_protocol": self.official, "search": self.config.name,
            "search_space": str(self.config.search_space) if self.space else None,
        }  # fmt: skip


def resolve(config: SearchConfig) -> Search:
    """Validate ``config`` fully; raises :class:`UserError` naming what is wrong."""
    from autotune.registry import get_workload
    from autotune.submission import load_submission

    rules = load_rules(config.rules)
    tuning = rules.tuning(config.ruleset)
    for name in config.workloads:
        get_workload(name, config.framework)
    load_submission(config.submission, config.framework).close()
    space = None
    if tuning.ruleset == "external":
        assert config.search_space is not None  # checked by build_config
        space = ss.load_search_space(config.search_space)
        if space.kind == "list" and config.sampler != "halton":
            raise UserError(
                f"--sampler {config.sampler} needs a dict-format search space; "
                f"{space.source} is a list of points, run in file order"
            )
    if config.sampler == "cmaes":
        _need("cmaes", "--sampler cmaes")
    studies = config.studies or tuning.studies
    trials = config.trials or tuning.trials_per_study
    search = Search(config, rules, tuning, space, studies, trials)
    if space is not None and space.kind == "list":
        ss.list_points(space, trials)  # raises when the list is shorter than the quota
    return search


def _need(module: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UserError(f"{what} needs the '{module}' package (pip install {module})")


def trial_seed(search: Search, workload: str, study: int, trial: int) -> int:
    """A trial's seed: fixed by the search seed and the trial's place in the plan."""
    key = f"{search.config.seed}/{workload}/{study}/{trial}".encode()
    return zlib.crc32(key) & 0x7FFFFFFF


def _study_points(search: Search, study: int) -> list[dict[str, Any] | None]:
    n, space = search.trials_per_study, search.space
    if space is None or search.adaptive:
        return [None] * n
    if space.kind == "list":
        return list(ss.list_points(space, n))
    if search.config.study_points == "split":  # disjoint slices of one long sequence
        points = ss.halton_points(space, n * search.studies, search.config.seed)
        return list(points[study * n : (study + 1) * n])
    # AlgoPerf's practice: every study searches the same points, in its own order.
    points = ss.halton_points(space, n, search.config.seed)
    import numpy as np

    order = np.random.default_rng([search.config.seed, study]).permutation(n)
    return [points[i] for i in order]


def plan_trials(search: Search) -> list[PlannedTrial]:
    """Every trial of the search, workload by workload, study by study, in order."""
    planned = []
    for workload in search.config.workloads:
        for study in range(search.studies):
            for index, point in enumerate(_study_points(search, study), start=1):
                seed = trial_seed(search, workload, study, index)
                planned.append(PlannedTrial(workload, study, index, point, seed))
    return planned
