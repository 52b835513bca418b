"""Optuna side of a search: the storage, one study per (workload, AlgoPerf study), and the
bookkeeping that makes the quota exact across crashes.

Every Optuna trial of a search carries the ``trial_index`` (1..trials_per_study) of the
planned trial it runs. :func:`reconcile` brings a study in line with its plan before any
new trial starts: a trial left RUNNING by a dead coordinator is marked FAIL (``lost``) and
its planned point is enqueued again under the same index; a planned point that has no
trial yet is enqueued. A COMPLETE trial is never touched, so it is never re-run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from autotune import speed
from autotune.errors import UserError
from autotune.search import process
from autotune.search.config import SearchConfig
from autotune.search.plan import PlannedTrial, Search

__all__ = ["StudyBook", "make_sampler", "open_storage", "open_study", "reconcile"]


def _driver_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 to SQLAlchemy 2.1; use psycopg2 when only it is
    installed (autotune's ``postgres`` extra)."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    find = importlib.util.find_spec
    if scheme in ("postgresql", "postgres") and find("psycopg") is None and find("psycopg2"):
        return f"postgresql+psycopg2{sep}{rest}"
    return url


def _reason(e: BaseException) -> str:
    while e.__cause__ is not None:  # the driver's own words are the useful ones
        e = e.__cause__
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def open_storage(url: str, **options: Any) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage; an unreachable or malformed URL is one clear line.

    ``options`` go to ``RDBStorage`` (distributed workers: heartbeat settings)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.ERROR)
    connect: dict[str, Any] = {"timeout": 60} if url.startswith("sqlite") else {}
    if url.startswith("postgres"):
        connect = {"connect_timeout": 10}
    try:
        return optuna.storages.RDBStorage(
            _driver_url(url), engine_kwargs={"connect_args": connect}, **options
        )
    except Exception as e:  # sqlalchemy errors, a missing driver, a bad URL
        raise UserError(f"cannot open the Optuna storage '{url}': {_reason(e)}") from None


def make_sampler(config: SearchConfig) -> optuna.samplers.BaseSampler:
    """The sampler of an adaptive search (or a no-op RandomSampler for planned points)."""
    seed = config.seed
    if config.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if config.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if config.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def open_study(
    storage: optuna.storages.BaseStorage, search: Search, workload: str, study: int
) -> optuna.Study:
    """Create (or load, checking it is the same search) one study's Optuna study."""
    name = search.study_name(workload, study)
    attrs = {**search.study_attrs(), "workload": workload, "study": study}
    sampler = make_sampler(search.config)
    found = optuna.Study(name, storage, sampler=sampler) if _exists(storage, name) else None
    if found is not None and "fingerprint" not in found.user_attrs and not found.trials:
        found = None  # created by a run that died before recording its settings: adopt it
    if found is not None:
        theirs = found.user_attrs.get("fingerprint")
        if theirs != attrs["fingerprint"]:
            diff = _differences(found.user_attrs, attrs)
            raise UserError(
                f"experiment '{search.config.name}' already holds study '{name}' with other "
                f"settings ({diff}); use another --name or --out to start a new search"
            )
        return found
    created = optuna.create_study(
        storage=storage, study_name=name, direction="minimize", sampler=sampler,
        load_if_exists=True,
    )  # fmt: skip
    for key, value in attrs.items():
        created.set_user_attr(key, value)
    return created


def _exists(storage: optuna.storages.BaseStorage, name: str) -> bool:
    try:
        storage.get_study_id_from_name(name)
        return True
    except KeyError:
        return False


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    def get(d: dict[str, Any], k: str) -> Any:
        return d.get(k, 1) if k == "devices" else d.get(k)  # left out at its default

    keys = [k for k in {**new, "devices": 1} if k != "fingerprint" and get(old, k) != get(new, k)]
    return ", ".join(f"{k}: {get(old, k)!r} -> {get(new, k)!r}" for k in keys[:3]) or "fingerprint"


@dataclass
class StudyBook:
    """One study's state as the coordinator tracks it."""

    study: optuna.Study
    planned: dict[int, PlannedTrial]
    done: dict[int, float] = field(default_factory=dict)  # index -> value told
    running: set[int] = field(default_factory=set)
    lost: list[int] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return len(self.planned) - len(self.done) - len(self.running)

    def free_index(self) -> int:
        """The lowest planned index that is neither done, running, nor waiting in Optuna."""
        waiting = {
            t.user_attrs.get("trial_index")
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        }
        taken = set(self.done) | self.running | waiting
        return min(i for i in self.planned if i not in taken)


def _trial_id(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> int:
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


def reconcile(
    storage: optuna.storages.BaseStorage,
    study: optuna.Study,
    planned: Sequence[PlannedTrial],
    adaptive: bool,
) -> StudyBook:
    """Fail lost RUNNING trials, enqueue what is missing; see the module docstring.

    Only the coordinator that owns the search may call this: it takes every RUNNING
    trial for one that lost its coordinator."""
    book = StudyBook(study, {p.trial: p for p in planned})
    trials = study.get_trials(deepcopy=False)
    lost_params: dict[int, dict[str, Any]] = {}
    for t in trials:
        index = t.user_attrs.get("trial_index")
        if t.state == TrialState.COMPLETE and index in book.planned:
            book.done.setdefault(index, float(t.value if t.value is not None else math.inf))
        elif t.state == TrialState.RUNNING:
            storage.set_trial_user_attr(_trial_id(storage, study, t.number), "lost", True)
            study.tell(t.number, state=TrialState.FAIL)
            if index is not None:
                book.lost.append(index)
                lost_params[index] = dict(t.params)
        elif t.state == TrialState.FAIL and t.user_attrs.get("lost") and index is not None:
            lost_params.setdefault(index, dict(t.params))  # stopped by Ctrl-C earlier
    waiting = {
        t.user_attrs.get("trial_index")
        for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    }
    for index, p in sorted(book.planned.items()):
        if index in book.done or index in waiting:
            continue
        point = p.point if not adaptive else lost_params.get(index)
        if point is not None:
            study.enqueue_trial(point, user_attrs={"trial_index": index}, skip_if_exists=False)
    return book


PROBED_SCALE_ATTR = "budget_scale_probed"


def budget_scales(
    search: Search, opened: Mapping[tuple[str, int], optuna.Study]
) -> dict[str, float]:
    """Each workload's budget scale: the search's number, or with ``"auto"`` this machine's
    speed probe (:mod:`autotune.speed`), taken once per workload and kept on its studies,
    so a resumed search keeps the budgets its first trials had."""
    value = search.config.budget_scale
    threads = process.slots(search.config.jobs, search.config.devices)[0].threads
    scales: dict[str, float] = {}
    for workload in search.config.workloads:
        mine = [study for (w, _), study in opened.items() if w == workload]
        stored = [
            s.user_attrs[PROBED_SCALE_ATTR] for s in mine if PROBED_SCALE_ATTR in s.user_attrs
        ]
        if value == "auto" and stored:
            scales[workload] = float(stored[0])
            continue
        scales[workload] = speed.resolve_budget_scale(value, workload, threads=threads)
        if value == "auto":
            for study in mine:
                study.set_user_attr(PROBED_SCALE_ATTR, scales[workload])
    return scales
