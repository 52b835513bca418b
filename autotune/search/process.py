"""Run one planned trial in a fresh subprocess and read back what it recorded.

Lifecycle: :func:`start` writes the child's job file and launches
``python -m autotune.search.trial_proc JOB`` with its share of the machine (CPU threads,
pinned cores, its GPUs where there are GPUs); :meth:`ChildTrial.poll` returns ``None``
while it runs and a :class:`TrialRecord` once it exited. A child that died without
writing its result (segfault, OOM kill, ``os._exit``) is recorded as a crash: target not
reached, infinite time. :func:`run_planned_trial` does both, blocking, for callers (such
as a worker) that run one trial at a time.

A trial on N devices (``devices`` > 1) is the same child, which runs the trial as N DDP
processes under torchrun (:func:`autotune.multidevice.launch`) inside its slot: N GPUs,
or, on CPU, its pinned cores (one gloo rank each). :func:`check_devices` refuses, before
any trial starts, a request the machine cannot hold (N x jobs devices).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autotune.errors import UserError
from autotune.search.config import SearchConfig
from autotune.search.plan import PlannedTrial

__all__ = [
    "ChildTrial", "Slot", "TrialRecord", "check_devices", "run_planned_trial", "slots", "start",
]  # fmt: skip


@dataclass(frozen=True)
class Slot:
    """A share of the machine for one concurrent trial."""

    index: int
    threads: int
    cpus: tuple[int, ...] | None = None
    gpu: str | None = None  # CUDA_VISIBLE_DEVICES of the trial: one id, or N for N devices
    devices: int = 1  # DDP processes of the trial


def _gpu_ids() -> list[str]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def slots(jobs: int, devices: int = 1) -> list[Slot]:
    """``jobs`` fair shares: CPU cores split evenly (pinned when they divide), ``devices``
    GPUs each (with one device, round robin when there are fewer GPUs than jobs; with more,
    :func:`check_devices` has made sure there are enough)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    n_cores = len(cores) or os.cpu_count() or 1
    per = max(1, n_cores // jobs)
    gpus = _gpu_ids()
    out = []
    for k in range(jobs):
        cpus = tuple(cores[k * per : (k + 1) * per]) if cores and per * jobs <= n_cores else None
        out.append(Slot(k, per, cpus, _slot_gpus(gpus, k, devices), devices))
    return out


def _slot_gpus(gpus: list[str], k: int, devices: int) -> str | None:
    if not gpus:
        return None
    if devices == 1:
        return gpus[k % len(gpus)]
    return ",".join(gpus[k * devices : (k + 1) * devices])


def check_devices(config: SearchConfig, devices: int, jobs: int) -> None:
    """Raise :class:`UserError` unless ``jobs`` trials of ``devices`` DDP processes each fit
    on this machine (GPUs, else CPU cores) and every workload's batch splits over them."""
    if devices == 1:
        return
    from autotune.multidevice import available_devices, check
    from autotune.trial import TrialSpec

    have, gpus = available_devices()
    if devices * jobs > have:
        what = f"{have} GPU(s)" if gpus else f"no GPU and {have} CPU core(s) (one gloo rank each)"
        raise UserError(f"--devices {devices} x --jobs {jobs} needs {devices * jobs} devices; "
                        f"this machine has {what}")  # fmt: skip
    for workload in config.workloads:
        check(TrialSpec(workload, config.submission, rules=config.rules,
                        framework=config.framework), devices)  # fmt: skip


@dataclass
class TrialRecord:
    """What a finished trial process left: the value told to Optuna and its context."""

    value: float  # time to target, inf when not reached (crash and divergence included)
    reached: bool
    stop_reason: str
    error: str | None
    crashed: bool
    run_id: str | None
    log_dir: str
    wall_sec: float
    returncode: int


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(text[-lines:])[:2000]


@dataclass
class ChildTrial:
    """A running trial process."""

    planned: PlannedTrial
    number: int  # the Optuna trial number
    slot: Slot
    popen: subprocess.Popen[bytes]
    result_path: Path
    output_path: Path
    log_dir: Path
    started: float

    def poll(self) -> TrialRecord | None:
        code = self.popen.poll()
        return None if code is None else self._record(code)

    def wait(self) -> TrialRecord:
        return self._record(self.popen.wait())

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def _record(self, code: int) -> TrialRecord:
        wall = time.perf_counter() - self.started
        try:
            r = json.loads(self.result_path.read_text())
        except (OSError, json.JSONDecodeError):
            why = _tail(self.output_path) or "no output"
            return TrialRecord(math.inf, False, "crashed", f"exit code {code}: {why}", True,
                               None, str(self.log_dir), wall, code)  # fmt: skip
        value = float(r["time_to_target"]) if r["reached_target"] else math.inf
        return TrialRecord(value, bool(r["reached_target"]), str(r["stop_reason"]), r["error"],
                           False, r["run_id"], r["log_dir"], wall, code)  # fmt: skip


def _child_env(slot: Slot) -> dict[str, str]:
    env = dict(os.environ)
    threads = str(slot.threads)
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if slot.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = slot.gpu
    return env


def start(
    planned: PlannedTrial,
    number: int,
    trial_spec: Mapping[str, Any],
    slot: Slot,
    work_dir: Path,
    log_dir: Path,
) -> ChildTrial:
    """Launch the trial process. ``trial_spec`` holds :class:`~autotune.trial.TrialSpec`'s
    fields as JSON values; ``work_dir`` receives the job, result and output files."""
    work_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{planned.workload}_study{planned.study}_trial{planned.trial}_n{number}"
    job_path, result_path = work_dir / f"{stem}.job.json", work_dir / f"{stem}.result.json"
    output_path = work_dir / f"{stem}.log"
    result_path.unlink(missing_ok=True)
    job = {"trial": dict(trial_spec), "slot": asdict(slot), "result": str(result_path),
           "parent_pid": os.getpid(), "devices": slot.devices}  # fmt: skip
    job_path.write_text(json.dumps(job, indent=2))
    with output_path.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "autotune.search.trial_proc", str(job_path)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=_child_env(slot),
        )  # fmt: skip
    return ChildTrial(planned, number, slot, popen, result_path, output_path, log_dir,
                      time.perf_counter())  # fmt: skip


def run_planned_trial(
    planned: PlannedTrial,
    number: int,
    trial_spec: Mapping[str, Any],
    slot: Slot,
    work_dir: Path,
    log_dir: Path,
) -> TrialRecord:
    """Run one planned trial in a subprocess and wait for its record."""
    return start(planned, number, trial_spec, slot, work_dir, log_dir).wait()
