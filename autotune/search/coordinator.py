"""The coordinator: the one owner of ask/tell for a search, so the quota is exact.

Lifecycle of :func:`run_search`:

1. check the machine holds ``jobs`` trials of ``devices`` each, open the Optuna storage
   and take the search's coordinator lock (:mod:`autotune.search.lease`): a second live
   coordinator of the same search is refused before it touches anything;
2. open every study (checking each is the same search), end the MLflow runs a dead
   coordinator left open, and :func:`~autotune.search.studies.reconcile` each study with
   its plan;
3. create the MLflow experiment and the parent runs, once, here;
4. loop: while a slot is free and a study has trials left, ``ask`` and start a trial
   process; when a process exits, record its result and ``tell``;
5. close the parent runs of finished studies and summarise.

Stopping it (Ctrl-C) kills the running trials and marks them lost; so does ``kill -9``,
found out on the next run. Either way the next run of the same command resumes.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from autotune.search import lease, process, records
from autotune.search import studies as st
from autotune.search.display import Display, Progress, header, summarize
from autotune.search.mirror import RunMirror
from autotune.search.plan import PlannedTrial, Search, plan_trials
from autotune.search_space import distributions
from autotune.trial_log import trial_dir

__all__ = ["Running", "SearchRun", "run_search"]


MIRROR_PERIOD_SEC = 2.0  # how often a running trial's new eval rows reach MLflow


@dataclass
class Running:
    book: st.StudyBook
    trial: optuna.Trial
    child: process.ChildTrial
    mirror: RunMirror
    mirrored_at: float = 0.0


@dataclass
class SearchRun:
    """The state of one invocation of the coordinator."""

    search: Search
    storage: optuna.storages.BaseStorage
    books: list[st.StudyBook]
    parents: dict[str, str]  # study name -> MLflow parent run id
    client: Any
    exp_id: str
    submission_name: str
    running: list[Running] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    # (study name, trial number) -> seconds of Optuna + MLflow bookkeeping in this process
    bookkeeping: dict[tuple[str, int], float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    scales: dict[str, float] = field(default_factory=dict)  # workload -> budget scale

    @property
    def out(self) -> Path:
        return self.search.config.out


def _open(search: Search, storage: optuna.storages.RDBStorage) -> SearchRun:
    from autotune.submission import load_submission

    c = search.config
    planned = plan_trials(search)
    keys = [(w, s) for w in c.workloads for s in range(search.studies)]
    opened = [st.open_study(storage, search, w, s) for w, s in keys]  # all checked first
    client, exp_id = records.prepare_experiment(c.mlflow_uri, c.name)
    books, parents = [], {}
    for (w, s), study in zip(keys, opened, strict=True):
        records.end_open_runs(client, exp_id, study.study_name)
        mine = [p for p in planned if p.workload == w and p.study == s]
        books.append(st.reconcile(storage, study, mine, search.adaptive))
        parents[study.study_name] = records.parent_run(client, exp_id, search, study, w, s)
    with load_submission(c.submission, c.framework) as submission:
        name = submission.name
    scales = st.budget_scales(search, dict(zip(keys, opened, strict=True)))
    return SearchRun(search, storage, books, parents, client, exp_id, name, scales=scales)


def _trial_spec(
    run: SearchRun, p: PlannedTrial, hparams: Any, book: st.StudyBook
) -> dict[str, Any]:
    c, search = run.search.config, run.search
    return {
        "workload": p.workload, "submission": c.submission, "hparams": hparams,
        "rules": c.rules, "ruleset": search.tuning.ruleset, "framework": c.framework,
        "seed": p.seed, "study": p.study, "trial": p.trial, "out_dir": str(c.out),
        "experiment": c.name, "tracking_uri": c.mlflow_uri, "track": False,
        "parent_run_id": run.parents[book.study.study_name],
        "tags": records.trial_tags(search, book.study, p.trial),
        "budget_sec_override": c.budget_sec, "budget_scale": run.scales.get(p.workload, 1.0),
    }  # fmt: skip


def _set_aside(run: SearchRun, log_dir: Path) -> None:
    """A trial about to (re-)run must start from an empty folder: keep a lost run's files."""
    if log_dir.exists():
        dest = run.out / "lost" / f"{log_dir.relative_to(run.out)}.{time.time_ns()}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(log_dir), dest)


def _launch(run: SearchRun, book: st.StudyBook, slot: process.Slot) -> None:
    t0 = time.perf_counter()
    search = run.search
    trial = book.study.ask(distributions(search.space) if search.space else {})
    index = trial.user_attrs.get("trial_index")
    if index is None or index in book.done or index in book.running:
        index = book.free_index()
        trial.set_user_attr("trial_index", index)
    p = book.planned[index]
    hparams = None if search.space is None else (trial.params if search.adaptive else p.point)
    c = search.config
    log_dir = trial_dir(run.out / "logs" / c.name, run.submission_name, p.study, p.workload,
                        c.framework, p.trial)  # fmt: skip
    _set_aside(run, log_dir)
    trial.set_user_attr("seed", p.seed)
    trial.set_user_attr("log_dir", str(log_dir.resolve()))
    spec = _trial_spec(run, p, hparams, book)
    child = process.start(p, trial.number, spec, slot, run.out / "trial_output", log_dir)
    book.running.add(index)
    run.running.append(Running(book, trial, child, RunMirror(run.client, run.exp_id, log_dir)))
    run.bookkeeping[(book.study.study_name, trial.number)] = time.perf_counter() - t0


def _record(run: SearchRun, item: Running, rec: process.TrialRecord) -> None:
    t0 = time.perf_counter()
    index = item.child.planned.trial
    run_id = item.mirror.finish(crashed=rec.crashed)
    attrs = {"reached_target": rec.reached, "stop_reason": rec.stop_reason,
             "error": rec.error, "crashed": rec.crashed, "mlflow_run_id": run_id,
             "wall_sec": round(rec.wall_sec, 3), "returncode": rec.returncode}  # fmt: skip
    for key, value in attrs.items():
        item.trial.set_user_attr(key, value)
    item.book.study.tell(item.trial, rec.value)
    item.book.running.discard(index)
    item.book.done[index] = rec.value
    run.walls.append(rec.wall_sec)
    run.bookkeeping[(item.book.study.study_name, item.trial.number)] += time.perf_counter() - t0


def _mirror(run: SearchRun, item: Running) -> None:
    """Bring a running trial's MLflow run up to date with its log folder (throttled)."""
    now = time.perf_counter()
    if now - item.mirrored_at < MIRROR_PERIOD_SEC:
        return
    item.mirror.poll()
    item.mirrored_at = time.perf_counter()
    key = (item.book.study.study_name, item.trial.number)
    run.bookkeeping[key] += item.mirrored_at - now


def _abandon(run: SearchRun) -> None:
    """Kill running trials and mark them lost (the next run re-runs them)."""
    for item in run.running:
        item.child.kill()
        item.mirror.abandon()
        item.trial.set_user_attr("lost", True)
        item.book.study.tell(item.trial, state=optuna.trial.TrialState.FAIL)
    run.running.clear()


def _progress(run: SearchRun) -> Progress:
    return Progress.of(run.search, run.books, run.walls, len(run.running), run.started)


def _loop(run: SearchRun, display: Display, poll_sec: float) -> None:
    free = process.slots(run.search.config.jobs, run.search.config.devices)
    while True:
        while free and (book := next((b for b in run.books if b.remaining > 0), None)):
            _launch(run, book, free.pop(0))
        if not run.running:
            return
        for item in list(run.running):
            rec = item.child.poll()
            if rec is None:
                _mirror(run, item)
            else:
                run.running.remove(item)
                _record(run, item, rec)
                free.append(item.child.slot)
                display.trial_done(item.child.planned, rec)
        display.update(_progress(run))
        time.sleep(poll_sec)


def run_search(search: Search, display: Display, poll_sec: float = 0.2) -> dict[str, Any]:
    """Run (or resume) ``search`` to its exact quota; returns the summary."""
    c = search.config
    process.check_devices(c, c.devices, c.jobs)
    c.out.mkdir(parents=True, exist_ok=True)
    storage = st.open_storage(c.storage_url)
    with lease.coordinator_lock(storage, c.name):
        return _run_locked(search, storage, display, poll_sec)


def _run_locked(
    search: Search, storage: optuna.storages.RDBStorage, display: Display, poll_sec: float
) -> dict[str, Any]:
    run = _open(search, storage)
    display.start(_progress(run), header(search, run.scales))
    try:
        _loop(run, display, poll_sec)
    except BaseException:
        _abandon(run)
        raise
    finally:
        display.stop()
    for book in run.books:
        if len(book.done) == len(book.planned):
            records.finish_parent(run.client, run.parents[book.study.study_name], book.study)
    summary = summarize(
        search, run.books, run.out / "logs" / search.config.name / run.submission_name
    )
    summary["bookkeeping_sec"] = [run.bookkeeping[k] for k in sorted(run.bookkeeping)]
    summary["trial_wall_sec"] = run.walls
    summary["loop_sec"] = time.perf_counter() - run.started  # after the one-time set-up
    return summary
