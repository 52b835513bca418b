"""Child process of a search: ``python -m autotune.search.trial_proc JOB.json``.

Reads the job the coordinator wrote (:func:`autotune.search.process.start`), limits
itself to its slot (torch threads, pinned cores), runs :func:`autotune.trial.run` once
(or, with ``devices`` > 1, :func:`autotune.multidevice.launch`: the trial as that many DDP
processes under torchrun, which get SIGTERM if this process dies), and writes the
result JSON atomically (a temporary file renamed into place): a result file exists only
if the trial ran to its end, so a missing one means the process crashed. It exits on its own if its coordinator dies, so an orphan never keeps writing
into a trial that a resumed search is about to re-run.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _limit(slot: dict[str, Any]) -> None:
    cpus = slot.get("cpus")
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus))
    import torch

    torch.set_num_threads(int(slot["threads"]))


def _watch_parent(parent: int, period: float = 0.5) -> None:
    """Exit when the coordinator ``parent`` is gone (also if it died before we started)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(period)
        os._exit(137)

    if os.getppid() != parent:
        os._exit(137)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _spec(fields: dict[str, Any]) -> Any:
    from autotune.trial import TrialSpec

    return TrialSpec(**{**fields, "out_dir": Path(fields["out_dir"])})


def _write_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def _run(job: dict[str, Any]) -> Any:
    """The trial's outcome, or ``None`` when its DDP processes died without a result."""
    devices = int(job.get("devices", 1))
    if devices == 1:
        from autotune import trial

        return trial.run(_spec(job["trial"]))
    from autotune import multidevice

    outcome = multidevice.launch(_spec(job["trial"]), devices)
    if outcome.result.stop_reason == "crashed":  # no rank wrote a result
        print(f"autotune: {outcome.result.error}", file=sys.stderr)
        return None
    return outcome


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    _watch_parent(int(job.get("parent_pid", os.getppid())))
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    _limit(job["slot"])
    outcome = _run(job)
    if outcome is None:
        return 1  # no result file: recorded as a crash
    r = outcome.result
    _write_atomic(
        Path(job["result"]),
        {
            "time_to_target": r.time_to_target if math.isfinite(r.time_to_target) else None,
            "reached_target": r.reached_target,
            "stop_reason": r.stop_reason,
            "error": r.error,
            "global_step": r.global_step,
            "submission_time": r.submission_time,
            "run_id": outcome.run_id,
            "log_dir": str(outcome.log_dir.resolve()),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
