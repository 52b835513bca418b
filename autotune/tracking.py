"""Tracking: every trial is an MLflow run.

Lifecycle of a :class:`Tracker`, as the trial driver calls it::

    tracker.start_trial(name, params, tags, parent_run_id)   # before the clock starts
    tracker.on_eval(record)       # every eval, inside the (untimed) logging window
    tracker.on_end(result)        # after the loop: final tags and metrics
    tracker.log_artifacts(paths)  # the trial's log folder and the submission source
    tracker.close()               # waits for queued writes

:class:`MlflowTracker` logs through ``MlflowClient`` only (no global active run), batches
each eval's metrics into one ``log_batch`` and sends it from a background thread, so
the timed loop never waits on the database.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from autotune.runner import EvalRecord, TrialResult

__all__ = [
    "MlflowTracker",
    "NullTracker",
    "Tracker",
    "default_tracking_uri",
    "end_of_trial",
    "eval_metrics",
]


def default_tracking_uri(out_dir: Path) -> str:
    """``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else SQLite in the output folder."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(out_dir / 'mlflow.db').resolve()}"


class Tracker:
    """Base class: a tracker that records nothing. Subclasses override what they store."""

    run_id: str | None = None

    def start_trial(
        self,
        name: str,
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        parent_run_id: str | None = None,
    ) -> str | None:
        return None

    def on_eval(self, record: EvalRecord) -> None:
        return None

    def on_end(self, result: TrialResult) -> None:
        return None

    def log_artifacts(self, paths: Iterable[tuple[Path, str]]) -> None:
        return None

    def close(self) -> None:
        return None


NullTracker = Tracker


def eval_metrics(values: Mapping[str, Any], global_step: int) -> list[Any]:
    """One eval's MLflow metrics (finite numbers only), stepped by ``global_step``."""
    from mlflow.entities import Metric

    stamp = int(time.time() * 1000)
    return [
        Metric(key, float(v), stamp, global_step)
        for key, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]


def end_of_trial(result: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    """The closing metrics and tags of a trial run, from a :class:`TrialResult` as a dict
    (or the ``trial_result.json`` the trial log writes, which has the same keys)."""
    from mlflow.entities import Metric, RunTag

    step, reached = int(result["global_step"]), bool(result["reached_target"])
    tags = {
        "reached_target": str(reached).lower(),
        "time_to_target": str(float(result["time_to_target"])),
        "stop_reason": str(result["stop_reason"]),
    }
    if result.get("error"):
        tags["error"] = str(result["error"])[:4000]
    stamp = int(time.time() * 1000)
    metrics = [Metric("global_step", float(step), stamp, step),
               Metric("total_submission_time", float(result["submission_time"]), stamp, step)]  # fmt: skip
    if reached:
        metrics.append(Metric("time_to_target", float(result["time_to_target"]), stamp, step))
    return metrics, [RunTag(k, v) for k, v in tags.items()]


class MlflowTracker(Tracker):
    """One MLflow run per trial, in experiment ``experiment`` of store ``tracking_uri``."""

    def __init__(self, tracking_uri: str, experiment: str) -> None:
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self._create(experiment)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow")
        self._pending: list[Future[None]] = []

    def _create(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.create_experiment(name))
        except MlflowException:  # created meanwhile by another process
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)

    def start_trial(
        self,
        name: str,
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        parent_run_id: str | None = None,
    ) -> str:
        from mlflow.entities import Param, RunTag

        all_tags = dict(tags)
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(self.experiment_id, run_name=name, tags=all_tags)
        self.run_id = run.info.run_id
        self.client.log_batch(
            self.run_id,
            params=[Param(k, str(v)) for k, v in params.items()],
            tags=[RunTag(k, str(v)) for k, v in all_tags.items()],
        )
        return self.run_id

    def _submit(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args, **kwargs))

    def on_eval(self, record: EvalRecord) -> None:
        values = {**record.metrics, "submission_time": record.submission_time,
                  "eval_time": record.eval_time}  # fmt: skip
        self._submit(self.client.log_batch, self.run_id,
                     metrics=eval_metrics(values, record.global_step))  # fmt: skip

    def on_end(self, result: TrialResult) -> None:
        metrics, tags = end_of_trial(asdict(result))
        self._submit(self.client.log_batch, self.run_id, metrics=metrics, tags=tags)

    def log_artifacts(self, paths: Iterable[tuple[Path, str]]) -> None:
        for path, dest in paths:
            if path.is_dir():
                self._submit(self.client.log_artifacts, self.run_id, str(path), dest)
            elif path.exists():
                self._submit(self.client.log_artifact, self.run_id, str(path), dest)

    def close(self, status: str = "FINISHED") -> None:
        for future in self._pending:
            future.result()
        self._pending.clear()
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, status=status)
        self._pool.shutdown(wait=True)
