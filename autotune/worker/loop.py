"""``autotune worker``: claim trials of a published search until none is left.

Lifecycle of :func:`run_worker` (any number of them, on any number of machines)::

    open the shared storage (heartbeats on) and load the search (version checked)
    loop:
        fail_stale_trials on every study (a dead worker's trial is enqueued again, once)
        claim a WAITING trial (atomic pop; see autotune.worker.claims)
            none: stop when every planned trial is COMPLETE, else requeue any planned trial
            left without a live Optuna trial, wait and look again
        run it in a fresh subprocess (autotune.search.process, the search's own child,
            which exits by itself if this worker dies; on the published number of
            devices, as DDP processes under torchrun), heartbeat beating meanwhile
        tell the result (dropped if the lease was lost); close the study's MLflow parent
            run when its last planned trial is done

Trials are tracked in the MLflow store given by ``--tracking-uri`` (an MLflow server
for several machines), under the parent runs the publisher created.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from autotune import speed
from autotune.errors import UserError
from autotune.search import process, records
from autotune.search.config import SearchConfig
from autotune.search_space import distributions
from autotune.trial_log import trial_dir
from autotune.worker import claims, shared

__all__ = ["WorkerOptions", "run_worker"]


@dataclass(frozen=True)
class WorkerOptions:
    """How one worker runs (the search itself comes from the database)."""

    storage: str
    experiment: str
    out: Path
    tracking_uri: str | None = None
    heartbeat_sec: int = 5
    grace_sec: int = 30
    poll_sec: float = 1.0
    max_trials: int | None = None  # stop after this many trials (None: until done)
    # Devices per trial: None takes the published search's count (another count is refused:
    # the trials of one search run on the same hardware).
    devices: int | None = None


@dataclass
class WorkerState:
    opts: WorkerOptions
    storage: Any
    search: shared.Shared
    requeue: claims.Requeue
    client: Any
    exp_id: str
    submission_name: str
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    ran: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0
    scales: dict[str, float] = field(default_factory=dict)

    def budget_scale(self, workload: str) -> float:
        """The published budget scale; ``"auto"``: this worker's machine, probed once per
        workload (a fleet of unlike machines gives each trial its own machine's budget)."""
        if workload not in self.scales:
            c = self.search.search.config
            threads = process.slots(1, c.devices)[0].threads  # as the trial's slot
            self.scales[workload] = speed.resolve_budget_scale(c.budget_scale, workload,
                                                               threads=threads)  # fmt: skip
        return self.scales[workload]


def _open(opts: WorkerOptions) -> WorkerState:
    storage, requeue = claims.open_shared(opts.storage, opts.heartbeat_sec, opts.grace_sec)
    found = shared.load(storage, opts.experiment, opts.storage, opts.out, opts.tracking_uri)
    client, exp_id = records.prepare_experiment(found.search.config.mlflow_uri,
                                                found.search.config.name)  # fmt: skip
    requeue.points = found.points()

    def on_lost(study: optuna.Study, index: int) -> None:
        records.end_open_runs(client, exp_id, study.study_name, "KILLED", index)

    requeue.on_lost = on_lost
    from autotune.submission import load_submission

    loaded = load_submission(found.search.config.submission, found.search.config.framework)
    loaded.close()
    _check_devices(opts, found.search.config)
    return WorkerState(opts, storage, found, requeue, client, exp_id, loaded.name)


def _check_devices(opts: WorkerOptions, config: SearchConfig) -> None:
    """Fail now, not at the first trial: a count other than the published one, a machine
    too small for it, a batch that does not split over it."""
    if opts.devices is not None and opts.devices != config.devices:
        raise UserError(
            f"search '{config.name}' was published with --devices {config.devices} per trial; "
            f"this worker was given --devices {opts.devices} (omit it to use the search's)"
        )
    process.check_devices(config, config.devices, jobs=1)


def _complete(study: optuna.Study, planned: int) -> bool:
    done = {t.user_attrs.get("trial_index")
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}  # fmt: skip
    return len(done) >= planned


def _claim_next(w: WorkerState) -> claims.Claim | None:
    for study in w.search.studies:
        claims.fail_stale(study)
    for study in w.search.studies:
        c = claims.claim(w.storage, study, w.name)
        if c is not None:
            return c
    return None


def _set_aside(out: Path, log_dir: Path) -> None:
    """A re-run starts from an empty folder: keep a lost attempt's files under lost/."""
    if log_dir.exists():
        dest = out / "lost" / f"{log_dir.relative_to(out)}.{time.time_ns()}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(log_dir), dest)


def _trial_spec(w: WorkerState, c: claims.Claim, p: Any, hparams: Any) -> dict[str, Any]:
    search, c_ = w.search.search, w.search.search.config
    tags = {**records.trial_tags(search, c.study, p.trial), "worker": w.name}
    return {
        "workload": p.workload, "submission": c_.submission, "hparams": hparams,
        "rules": c_.rules, "ruleset": search.tuning.ruleset, "framework": c_.framework,
        "seed": p.seed, "study": p.study, "trial": p.trial, "out_dir": str(c_.out),
        "experiment": c_.name, "tracking_uri": c_.mlflow_uri,
        "parent_run_id": c.study.user_attrs.get("mlflow_parent_run_id"), "tags": tags,
        "budget_sec_override": c_.budget_sec,
        "budget_scale": w.budget_scale(p.workload),
    }  # fmt: skip


def _run_claim(w: WorkerState, c: claims.Claim) -> None:
    search = w.search.search
    p = w.search.planned[c.study.study_name][c.index]
    space = claims.suggest(c.trial, distributions(search.space)) if search.space else None
    hparams = None if space is None else (space if search.adaptive else p.point)
    c_ = search.config
    log_dir = trial_dir(c_.out / "logs" / c_.name, w.submission_name, p.study,
                        p.workload, c_.framework, p.trial)  # fmt: skip
    for key, value in {"seed": p.seed, "log_dir": str(log_dir.resolve())}.items():
        c.trial.set_user_attr(key, value)
    try:
        _set_aside(c_.out, log_dir)
        slot = process.slots(1, c_.devices)[0]
        rec = process.run_planned_trial(p, c.trial.number, _trial_spec(w, c, p, hparams), slot,
                                        c_.out / "trial_output", log_dir)  # fmt: skip
    except BaseException:
        claims.abandon(c)
        raise
    attrs = {"reached_target": rec.reached, "stop_reason": rec.stop_reason, "error": rec.error,
             "crashed": rec.crashed, "mlflow_run_id": rec.run_id,
             "wall_sec": round(rec.wall_sec, 3), "returncode": rec.returncode}  # fmt: skip
    if rec.crashed:
        records.end_open_runs(w.client, w.exp_id, c.study.study_name, "FAILED", c.index)
    if claims.finish(c, rec.value, attrs):
        w.ran.append({"study": c.study.study_name, "trial_index": c.index, "value": rec.value,
                      "number": c.trial.number, "stop_reason": rec.stop_reason})  # fmt: skip
        _close_if_done(w, c.study)
    else:
        w.dropped += 1


def _close_if_done(w: WorkerState, study: optuna.Study) -> None:
    parent = study.user_attrs.get("mlflow_parent_run_id")
    if parent and _complete(study, len(w.search.planned[study.study_name])):
        records.finish_parent(w.client, parent, study)


def run_worker(opts: WorkerOptions) -> dict[str, Any]:
    """Run trials of the search until all are done (or ``max_trials``); a summary."""
    w = _open(opts)
    while opts.max_trials is None or len(w.ran) < opts.max_trials:
        c = _claim_next(w)
        if c is not None:
            _run_claim(w, c)
            continue
        if all(_complete(s, len(w.search.planned[s.study_name])) for s in w.search.studies):
            break
        for study in w.search.studies:  # a planned trial with no live Optuna trial: requeue
            w.requeue.ensure(study, set(w.search.planned[study.study_name]))
        time.sleep(opts.poll_sec)  # others are running the rest; one may die
    return {"worker": w.name, "experiment": opts.experiment, "trials": w.ran,
            "dropped": w.dropped, "tracking_uri": w.search.search.config.mlflow_uri}  # fmt: skip
