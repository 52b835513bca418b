"""AlgoPerf's on-disk log layout, written for every trial as it runs.

``<root>/<submission>/study_<i>/<workload>_<framework>/trial_<k>/`` holds
``eval_measurements.csv`` (one row per eval, AlgoPerf's column names, sorted),
``measurements.csv`` (the same rows plus what the submission logs through
``workload.metrics_logger``), ``hparams.json`` (external tuning only),
``meta_data_0.json`` (workload constants, device, versions, seed) and autotune's own
``run_identity.json`` (the MLflow run's name, params and tags, written before the clock
starts) and ``trial_result.json``. Rows are flushed at every eval, so a crash keeps what was
measured, and AlgoPerf's own scorer can read the folder.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autotune.runner import EvalRecord, TrialResult

__all__ = ["IDENTITY_FILE", "RESULT_FILE", "TrialLog", "trial_dir"]

IDENTITY_FILE, RESULT_FILE = "run_identity.json", "trial_result.json"


def trial_dir(
    root: Path, submission: str, study: int, workload: str, framework: str, trial: int
) -> Path:
    """AlgoPerf's folder for one trial (studies from 0, trials from 1)."""
    return root / submission / f"study_{study}" / f"{workload}_{framework}" / f"trial_{trial}"


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return str(value)


class TrialLog:
    """Writes one trial's folder; also serves as the workload's ``metrics_logger``."""

    def __init__(
        self, folder: Path, hparams: Mapping[str, Any] | None, meta: Mapping[str, Any]
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        if hparams is not None:
            (folder / "hparams.json").write_text(json.dumps(dict(hparams), indent=2))
        (folder / "meta_data_0.json").write_text(
            json.dumps(dict(meta), indent=2, default=_json_default)
        )
        self._eval_columns: list[str] | None = None
        self._rows: list[dict[str, Any]] = []
        self._columns: list[str] = []

    def write_run_identity(self, name: str, params: Mapping[str, Any], tags: Mapping[str, str],
                           parent_run_id: str | None, files: list[str]) -> None:  # fmt: skip
        """What the trial's MLflow run is made of, for a tracker outside this process
        (:mod:`autotune.search.mirror`); written atomically."""
        payload = {"name": name, "params": {k: str(v) for k, v in params.items()},
                   "tags": dict(tags), "parent_run_id": parent_run_id,
                   "submission_files": files}  # fmt: skip
        tmp = self.folder / "run_identity.json.tmp"
        tmp.write_text(json.dumps(payload, indent=2, default=_json_default))
        tmp.replace(self.folder / IDENTITY_FILE)

    # Observer ---------------------------------------------------------------------------
    def on_eval(self, record: EvalRecord) -> None:
        row = record.row()
        if self._eval_columns is None:
            self._eval_columns = sorted(row)
        path = self.folder / "eval_measurements.csv"
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self._eval_columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
        self._rows.append(row)
        self._write_measurements()

    def on_end(self, result: TrialResult) -> None:
        summary = {
            "time_to_target": result.time_to_target,
            "reached_target": result.reached_target,
            "global_step": result.global_step,
            "submission_time": result.submission_time,
            "stop_reason": result.stop_reason,
            "error": result.error,
            "num_evals": len(result.evals),
        }
        (self.folder / RESULT_FILE).write_text(json.dumps(summary, indent=2, default=_json_default))
        if result.traceback:
            (self.folder / "error.txt").write_text(result.traceback)
        self._rows.append({"global_step": result.global_step, "score": result.submission_time})
        self._write_measurements()

    # MetricsLogger ----------------------------------------------------------------------
    def append_scalar_metrics(
        self,
        metrics: Mapping[str, Any],
        global_step: int,
        preemption_count: int | None = None,
        is_eval: bool = False,
    ) -> None:
        row = {"global_step": global_step, "preemption_count": preemption_count or 0}
        row.update({k: _scalar(v) for k, v in metrics.items()})
        self._rows.append(row)
        self._write_measurements()

    def _write_measurements(self) -> None:
        """Append the newest row; rewrite the file only when a new column appears."""
        path = self.folder / "measurements.csv"
        latest = self._rows[-1]
        if set(latest) <= set(self._columns):
            with path.open("a", newline="") as f:
                csv.DictWriter(f, fieldnames=self._columns).writerow(latest)
            return
        self._columns = sorted({k for row in self._rows for k in row})
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self._columns)
            writer.writeheader()
            writer.writerows(self._rows)


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
