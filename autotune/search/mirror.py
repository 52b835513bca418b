"""Mirror a trial's AlgoPerf log folder into its MLflow run, from outside the trial.

A search's trial processes do not talk to MLflow: importing it and opening the store
costs a fresh process ~2 s on a CPU, several percent of a proxy trial. The trial writes
its log folder (:mod:`autotune.trial_log`) as it runs; the coordinator, which has the
store open already, turns the folder into the same MLflow run ``autotune run`` makes
in-process, while the trial runs.

Lifecycle of a :class:`RunMirror`, as the coordinator calls it::

    mirror = RunMirror(client, experiment_id, log_dir)   # when the trial is launched
    mirror.poll()            # now and then while it runs: creates the run once
                             # run_identity.json exists, logs each new eval row
    run_id = mirror.finish(crashed=...)   # after the process exited: the last rows, the
                             # closing tags (trial_result.json), artifacts, end status
    mirror.abandon()         # instead of finish, when the search is interrupted

What reaches MLflow (params, tags, metric names, steps, artifacts) is what
:class:`autotune.tracking.MlflowTracker` logs, so runs of ``run`` and ``search`` compare.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from autotune.tracking import end_of_trial, eval_metrics
from autotune.trial_log import IDENTITY_FILE, RESULT_FILE

__all__ = ["RunMirror", "row_metrics"]

EVAL_FILE = "eval_measurements.csv"
# AlgoPerf bookkeeping columns of eval_measurements.csv; the others are metrics.
_BOOKKEEPING = {"accumulated_eval_time", "accumulated_logging_time",
                "accumulated_submission_time", "global_step", "preemption_count", "score",
                "total_duration"}  # fmt: skip


def row_metrics(row: dict[str, str]) -> tuple[int, dict[str, float]]:
    """One eval row as (global_step, the metrics the in-process tracker logs for it)."""
    values = {k: _number(v) for k, v in row.items() if k not in _BOOKKEEPING}
    values["submission_time"] = _number(row.get("accumulated_submission_time", ""))
    values["eval_time"] = _number(row.get("accumulated_eval_time", ""))
    return int(float(row["global_step"])), values


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


class RunMirror:
    """The MLflow run of one trial, fed from the trial's log folder."""

    def __init__(self, client: Any, experiment_id: str, log_dir: Path) -> None:
        self.client, self.experiment_id, self.log_dir = client, experiment_id, log_dir
        self.run_id: str | None = None
        self._files: list[str] = []  # the submission's source files, from the identity
        self._offset = 0  # bytes of eval_measurements.csv already logged
        self._header: list[str] | None = None

    def poll(self) -> None:
        """Create the run when the trial has said what it is; log eval rows written since."""
        if self.run_id is None and not self._start():
            return
        rows = self._new_rows()
        if rows:
            self.client.log_batch(self.run_id, metrics=[m for r in rows for m in _metrics(r)])

    def finish(self, crashed: bool) -> str | None:
        """Close the run after the trial process exited; returns its id (None if the trial
        died before it could describe itself)."""
        self.poll()
        if self.run_id is None:
            return None
        result = self._result()
        if result is not None:
            metrics, tags = end_of_trial(result)
            self.client.log_batch(self.run_id, metrics=metrics, tags=tags)
        else:
            self.client.set_tag(self.run_id, "crashed", "true")
        self.client.log_artifacts(self.run_id, str(self.log_dir), "logs")
        for source in self._files:
            if Path(source).exists():
                self.client.log_artifact(self.run_id, source, "submission")
        failed = crashed or result is None
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")
        return self.run_id

    def abandon(self) -> None:
        """The trial was killed with its coordinator (Ctrl-C): close its run as lost."""
        if self.run_id is not None:
            self.client.set_tag(self.run_id, "lost", "true")
            self.client.set_terminated(self.run_id, status="KILLED")

    # --- reading the folder --------------------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.log_dir / IDENTITY_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            return {}
        return data

    def _start(self) -> bool:
        from mlflow.entities import Param, RunTag

        ident = self._identity()
        if not ident:
            return False
        tags = dict(ident["tags"])
        self._files = list(ident.get("submission_files", []))
        if ident.get("parent_run_id"):
            tags["mlflow.parentRunId"] = ident["parent_run_id"]
        run = self.client.create_run(self.experiment_id, run_name=ident["name"], tags=tags)
        self.run_id = run.info.run_id
        self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in ident["params"].items()],
                              tags=[RunTag(k, str(v)) for k, v in tags.items()])  # fmt: skip
        return True

    def _new_rows(self) -> list[dict[str, str]]:
        """Complete lines appended to eval_measurements.csv since the last call."""
        path = self.log_dir / EVAL_FILE
        try:
            with path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1
        if end == 0:
            return []
        self._offset += end
        lines = chunk[:end].decode().splitlines()
        if self._header is None:
            self._header, lines = next(csv.reader([lines[0]])), lines[1:]
        return list(csv.DictReader(io.StringIO("\n".join(lines)), fieldnames=self._header))

    def _result(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.log_dir / RESULT_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return data


def _metrics(row: dict[str, str]) -> list[Any]:
    step, values = row_metrics(row)
    return eval_metrics(values, step)
