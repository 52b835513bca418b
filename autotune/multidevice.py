"""One trial on N devices: N processes under torch DDP, started by torchrun.

Parent side (``autotune run --devices N``): :func:`check` validates the request on this
machine (N GPUs for NCCL, or N CPU cores for gloo; the global batch must divide by N),
then :func:`launch` writes a job file and runs::

    python -m torch.distributed.run --standalone --nproc_per_node N -m autotune.multidevice JOB

and rebuilds the :class:`~autotune.trial.TrialOutcome` from the result rank 0 wrote.

Child side (:func:`main`, one per rank): join the process group
(:func:`autotune.frameworks.torch_ddp.init_process_group`), run the same
:func:`autotune.trial.run` as a single-device trial (the workload shards the data, wraps
the model in DDP, reads the clock as the max over ranks and broadcasts rank 0's eval
metrics; see :mod:`autotune.frameworks.torch_ddp`), and write the result. Only rank 0
logs: the other ranks run with tracking off and their AlgoPerf log folder in a scratch
directory that is deleted when they finish. Every rank writes a small result file, so a
caller can check that all ranks saw the same evals.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from autotune.errors import UserError
from autotune.runner import EvalRecord, TrialResult
from autotune.trial import BatchChoice, TrialOutcome, TrialSpec

__all__ = ["available_devices", "check", "launch", "main", "rank_results"]


def available_devices() -> tuple[int, bool]:
    """(how many processes this machine can give a trial, whether they are GPUs): the
    visible GPUs, else the CPU cores this process may run on (one gloo rank per core)."""
    import torch

    gpus = torch.cuda.device_count()
    if gpus:
        return gpus, True
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return int(cores or 1), False


def check(spec: TrialSpec, devices: int) -> BatchChoice:
    """Raise :class:`UserError` unless ``spec`` can run on ``devices`` processes here."""
    if devices < 1:
        raise UserError(f"--devices must be at least 1, not {devices}")
    have, gpus = available_devices()
    if devices > have:
        what = f"{have} GPU(s)" if gpus else f"no GPU and {have} CPU core(s) (one gloo rank each)"
        raise UserError(f"--devices {devices} is more than this machine has: {what}")
    if spec.framework != "pytorch":
        raise UserError(f"--devices {devices} runs PyTorch DDP; {spec.framework} is not supported")
    from autotune import registry
    from autotune.rules import load_rules
    from autotune.submission import load_submission
    from autotune.trial import resolve_batch_size

    submission = load_submission(spec.submission, spec.framework)
    try:
        wf = registry.workload_facts(spec.workload, load_rules(spec.rules).version, spec.data_dir)
        batch = resolve_batch_size(submission, wf)
    finally:
        submission.close()
    if batch.used % devices:
        raise UserError(
            f"the global batch size {batch.used} ({batch.policy}) does not divide over "
            f"--devices {devices}; AlgoPerf needs each device to get an equal slice"
        )
    return batch


def _spec_json(spec: TrialSpec) -> dict[str, Any]:
    out = asdict(spec)
    out["out_dir"] = str(spec.out_dir)
    out["hparams"] = dict(spec.hparams) if spec.hparams is not None else None
    out["tags"] = dict(spec.tags)
    return out


def _spec_from(data: dict[str, Any]) -> TrialSpec:
    known = {f.name for f in fields(TrialSpec)}
    values = {k: v for k, v in data.items() if k in known}
    return TrialSpec(**{**values, "out_dir": Path(values["out_dir"])})


def _child_env(devices: int) -> dict[str, str]:
    env = dict(os.environ)
    have, gpus = available_devices()
    if not gpus:  # gloo on CPU: split the cores between the ranks
        threads = str(max(1, have // devices))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return env


def launch(
    spec: TrialSpec, devices: int, keep_dir: Path | None = None, console_metric: str | None = None
) -> TrialOutcome:
    """Run ``spec`` on ``devices`` DDP processes and return rank 0's outcome. A launch
    whose ranks died without a result is returned as a crash (target not reached).

    The job and every rank's ``result.rank<r>.json`` go to ``keep_dir`` when given (and
    stay there), else to a temporary folder. ``console_metric``: rank 0 prints a line per
    eval with this validation metric."""
    batch = check(spec, devices)
    spec = replace(spec, tags={**spec.tags, "devices": str(devices)})
    with contextlib.ExitStack() as stack:
        folder = keep_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="autotune-ddp-"))
        )
        folder.mkdir(parents=True, exist_ok=True)
        job, result = folder / "job.json", folder / "result"
        job.write_text(json.dumps({"spec": _spec_json(spec), "result": str(result),
                                   "console_metric": console_metric}))  # fmt: skip
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={devices}", "-m", "autotune.multidevice", str(job)]  # fmt: skip
        code, killed = _run_torchrun(cmd, devices)
        return _outcome(spec, batch, result, code, killed)


def _run_torchrun(cmd: list[str], devices: int) -> tuple[int, bool]:
    """Run the torchrun agent, its stderr passed through line by line; returns its exit
    code and whether it reported a rank killed by SIGKILL (on a CPU machine almost always
    the kernel's out-of-memory killer, which leaves no Python error behind)."""
    proc = subprocess.Popen(cmd, env=_child_env(devices), stdin=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace",
                            preexec_fn=_death_signal())  # fmt: skip
    killed = False
    assert proc.stderr is not None
    for line in proc.stderr:
        sys.stderr.write(line)
        killed = killed or "SIGKILL" in line
    return proc.wait(), killed


def _death_signal() -> Any:
    """A ``preexec_fn`` for the torchrun agent: SIGTERM it when its launcher dies (a worker
    killed with SIGKILL), so the agent stops its ranks instead of leaving them training as
    orphans. Resolved here, in the parent, so the child only makes one foreign call after
    ``fork`` (no import, no Python lock). ``None`` where ``prctl`` does not exist."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, sigterm)

    return set_death_signal


def _rank_file(base: Path, rank: int) -> Path:
    return base.with_name(f"{base.name}.rank{rank}.json")


def _outcome(spec: TrialSpec, batch: BatchChoice, base: Path, code: int,
             killed: bool = False) -> TrialOutcome:  # fmt: skip
    try:
        data = json.loads(_rank_file(base, 0).read_text())
    except (OSError, json.JSONDecodeError):
        error, stop = f"torchrun exited with code {code} and no result", "crashed"
        if killed:
            stop = "out_of_memory"
            error += (f": a rank was killed by SIGKILL, most likely out of memory at batch "
                      f"size {batch.used} (the model and optimizer state may not fit this "
                      "machine)")  # fmt: skip
        crash = TrialResult(math.inf, False, 0, 0.0, stop, error=error)
        return TrialOutcome(spec, crash, spec.out_dir, batch, None, spec.tracking_uri)
    if data.get("user_error"):
        raise UserError(data["user_error"])
    r = data["result"]
    evals = [EvalRecord(**e) for e in r.pop("evals")]
    result = TrialResult(**r, evals=evals)
    return TrialOutcome(spec, result, Path(data["log_dir"]), BatchChoice(**data["batch"]),
                        data["run_id"], data["tracking_uri"])  # fmt: skip


def rank_results(base: Path, world: int) -> list[dict[str, Any]]:
    """Every rank's result file (tests check the ranks agree)."""
    return [json.loads(_rank_file(base, r).read_text()) for r in range(world)]


def _observers(console_metric: str | None, rank: int) -> list[Any]:
    if console_metric is None or rank != 0:
        return []
    from autotune.cli.run import ConsoleObserver

    return [ConsoleObserver(console_metric)]


def _write(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, default=str))
    os.replace(tmp, path)


def _run_rank(job: dict[str, Any], rank: int, backend: str) -> dict[str, Any]:
    from autotune import trial

    spec = _spec_from(job["spec"])
    spec = replace(spec, tags={**spec.tags, "ddp_backend": backend})
    with tempfile.TemporaryDirectory(prefix=f"autotune-rank{rank}-") as scratch:
        if rank != 0:  # only rank 0 logs
            spec = replace(spec, track=False, out_dir=Path(scratch))
        try:
            outcome = trial.run(spec, _observers(job.get("console_metric"), rank))
        except UserError as e:
            return {"rank": rank, "user_error": str(e)}
    return {
        "rank": rank, "backend": backend, "result": asdict(outcome.result),
        "log_dir": str(outcome.log_dir), "batch": asdict(outcome.batch),
        "run_id": outcome.run_id, "tracking_uri": outcome.tracking_uri,
    }  # fmt: skip


def main(argv: list[str]) -> int:
    """Entry point of one rank (torchrun runs ``python -m autotune.multidevice JOB``)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from autotune.frameworks import torch_ddp

    job = json.loads(Path(argv[0]).read_text())
    backend = torch_ddp.init_process_group()
    import torch.distributed as dist

    rank = dist.get_rank()
    try:
        payload = _run_rank(job, rank, backend)
        _write(_rank_file(Path(job["result"]), rank), payload)
    finally:
        torch_ddp.destroy_process_group()
    return 2 if payload.get("user_error") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
