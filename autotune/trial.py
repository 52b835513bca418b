"""One trial end to end: resolve inputs, run the timed loop, write logs, track in MLflow.

This is what ``autotune run`` calls, and what every search worker runs in its own
subprocess. The timed loop itself is :func:`autotune.runner.run_trial`; this module
only assembles its arguments and records its result.
"""

from __future__ import annotations

import numbers
import os
import platform
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autotune import facts as facts_mod
from autotune import paths
from autotune import rng as default_prng
from autotune.errors import UserError
from autotune.hparams import make_hyperparameters
from autotune.registry import get_workload
from autotune.rules import Rules, TuningRules, load_rules
from autotune.runner import Observer, TrialConfig, TrialResult, run_trial
from autotune.speed import scaled_facts
from autotune.submission import Submission, load_submission
from autotune.timing import DeviceClock
from autotune.tracking import MlflowTracker, Tracker, default_tracking_uri
from autotune.trial_log import TrialLog, trial_dir

__all__ = ["BatchChoice", "TrialOutcome", "TrialSpec", "resolve_batch_size", "run"]


@dataclass(frozen=True)
class TrialSpec:
    """Everything that identifies one trial."""

    workload: str
    submission: str
    hparams: Mapping[str, Any] | None = None
    rules: str = "v0.6"
    ruleset: str = "external"
    framework: str = "pytorch"
    # JAX only: the batch layout of the submission's era, "auto" | "pmap" | "sharded"
    # (see autotune.frameworks.jax_setup.resolve_layout).
    jax_batch_layout: str = "auto"
    seed: int = 0
    # The AlgoPerf dataset folder: set, the trial runs the full-size workload on it.
    data_dir: str | None = None
    study: int = 0
    trial: int = 1
    out_dir: Path = Path("runs")
    experiment: str = "autotune"
    tracking_uri: str | None = None
    parent_run_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    track: bool = True
    # Development only: replaces the ruleset's budget and tags the run official_protocol=false.
    budget_sec_override: float | None = None
    # Proxies only: budget and eval period times this (this machine's speed against the
    # calibration machine's, see autotune.speed); 1 keeps AlgoPerf's fixed budgets.
    budget_scale: float = 1.0

    def budget_sec(self, tuning: TuningRules, wf: facts_mod.WorkloadFacts) -> float:
        """The trial's budget: the override when set, else the ruleset's."""
        if self.budget_sec_override is not None:
            return float(self.budget_sec_override)
        return tuning.budget_sec(wf)


@dataclass(frozen=True)
class BatchChoice:
    """The batch-size decision of one trial (see :func:`resolve_batch_size`)."""

    requested: int
    used: int
    asked_as: str
    policy: str
    cap: int = 0


@dataclass
class TrialOutcome:
    spec: TrialSpec
    result: TrialResult
    log_dir: Path
    batch: BatchChoice
    run_id: str | None
    tracking_uri: str | None


def _batch_names(wf: facts_mod.WorkloadFacts) -> list[str]:
    """The AlgoPerf names a proxy answers to, in asking order: its own name (a proxy is
    named like the AlgoPerf workload it stands for: ``mnist``, ``ogbg_gelu``), then its
    base workload, then its family (``imagenet_resnet`` for ``imagenet_resnet_silu``)."""
    names: list[str] = []
    for name in (wf.name, wf.base, wf.family):
        if name and name not in names:
            names.append(name)
    return names


def _ask_batch_size(submission: Submission, names: list[str]) -> tuple[Any, str]:
    for i, name in enumerate(names):
        try:
            return submission.get_batch_size(name), name
        except ValueError as e:
            if i == len(names) - 1:
                asked = ", ".join(f"'{n}'" for n in names)
                raise UserError(
                    f"{submission.path}: get_batch_size raised ValueError for {asked}: {e}"
                ) from None
        except Exception as e:
            raise UserError(
                f"{submission.path}: get_batch_size('{name}') raised {type(e).__name__}: {e} "
                "(AlgoPerf retries with the base name only on ValueError)"
            ) from None
    raise AssertionError("unreachable")


def resolve_batch_size(submission: Submission, wf: facts_mod.WorkloadFacts) -> BatchChoice:
    """The global batch size of a trial, chosen by a fixed, recorded policy.

    1. Ask as AlgoPerf does: ``get_batch_size(full name)``, and on ``ValueError`` again
       with the base name (for a proxy: its base, then its family; see ``_batch_names``).
       Any other exception, or an answer that is not a positive integer, is a UserError.
    2. Cap: a proxy's data is small, so the batch is ``min(requested, cap)`` where
       ``cap`` is the proxy's ``max_batch_size`` (``workloads/<family>/workload.toml``)
       or, without one, its number of training examples. Nothing else is changed: a
       leaderboard batch that fits is used as is.
    The choice (requested, used, cap, the name asked, the policy in words) is recorded in
    the trial's ``meta_data_0.json`` and as MLflow params/tags by :func:`run`.
    """
    requested, asked_as = _ask_batch_size(submission, _batch_names(wf))
    if isinstance(requested, bool) or not isinstance(requested, numbers.Integral) or requested < 1:
        raise UserError(
            f"{submission.path}: get_batch_size('{asked_as}') returned {requested!r}; "
            "expected a positive integer"
        )
    requested = int(requested)
    cap = int(wf.extra.get("max_batch_size", wf.num_train_examples or requested))
    used = min(requested, cap)
    policy = (
        "as requested"
        if used == requested
        else f"capped at {cap} (the proxy's max_batch_size; requested {requested})"
    )
    return BatchChoice(requested=requested, used=used, asked_as=asked_as, policy=policy, cap=cap)


def _git_sha() -> str:
    try:
        out = subprocess.run(["git", "-C", str(paths.project_root()), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=5)  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _provenance(spec: TrialSpec, submission: Submission, device: str) -> dict[str, str]:
    import torch

    import autotune

    versions = {"torch_version": str(torch.__version__)}
    if spec.framework == "pytorch":  # DDP processes of the trial (torchrun's WORLD_SIZE)
        versions["devices"] = os.environ.get("WORLD_SIZE", "1")
    if spec.framework == "jax":
        import flax
        import jax
        import optax

        versions.update(jax_version=jax.__version__, flax_version=flax.__version__,
                        optax_version=optax.__version__)  # fmt: skip
    return {
        "autotune_version": autotune.__version__,
        "git_sha": _git_sha(),
        **versions,
        "python_version": platform.python_version(),
        "hostname": socket.gethostname(),
        "device": device,
        "submission_path": str(submission.path.resolve()),
    }


def _tags(spec: TrialSpec, submission: Submission, rules_label: str, version: str,
          official: bool) -> dict[str, str]:  # fmt: skip
    return {
        "workload": spec.workload,
        "framework": spec.framework,
        "ruleset": spec.ruleset,
        "rules": rules_label,
        "rules_version": version,
        "official_protocol": str(official and spec.budget_sec_override is None).lower(),
        "study": str(spec.study),
        "trial": str(spec.trial),
        "submission": submission.name,
        "submission_hash": submission.source_hash,
        "seed": str(spec.seed),
        **({"budget_scale": f"{spec.budget_scale:.4g}"} if spec.budget_scale != 1.0 else {}),
        **spec.tags,
    }


def _run_identity(spec: TrialSpec, submission: Submission, rules: Rules, batch: BatchChoice,
                  hparams: Mapping[str, Any] | None, extra_tags: Mapping[str, str],
                  ) -> tuple[str, dict[str, Any], dict[str, str]]:  # fmt: skip
    """The trial's MLflow run: its name, params and tags."""
    params = {**(hparams or {}), "batch_size": batch.used, "batch_size_requested": batch.requested}
    tags = _tags(spec, submission, rules.label, rules.version, rules.official)
    if submission.scope is not None and submission.scope.resolved:
        tags["algoperf_names"] = ",".join(
            f"{k}:{v}" for k, v in sorted(submission.scope.resolved.items())
        )
    tags.update({"batch_policy": batch.policy, **extra_tags})
    return f"{spec.workload}/study_{spec.study}/trial_{spec.trial}", params, tags


def _check_framework(submission: Submission, spec: TrialSpec) -> None:
    """A submission runs only on a workload of its own framework."""
    if submission.framework != spec.framework:
        raise UserError(
            f"{submission.path}: a {submission.framework} submission cannot run on the "
            f"{spec.framework} workload '{spec.workload}'; pass --framework {submission.framework}"
        )


def _configure(
    workload: Any, submission: Submission, spec: TrialSpec, batch: int
) -> dict[str, str]:
    """Framework-specific set-up a workload asks for (JAX: batch layout, divisibility)."""
    configure = getattr(workload, "configure_trial", None)
    if configure is None:
        return {}
    tags: dict[str, str] = configure(submission.source_files(), spec.jax_batch_layout, batch)
    return tags


def run(spec: TrialSpec, observers: Sequence[Observer] = ()) -> TrialOutcome:
    """Run one trial as ``spec`` describes; never raises for a crash inside the submission."""
    rules = load_rules(spec.rules)
    tuning = rules.tuning(spec.ruleset)
    submission = load_submission(spec.submission, spec.framework)
    try:
        return _run_loaded(spec, rules, tuning, submission, observers)
    finally:
        submission.close()


def _run_loaded(spec: TrialSpec, rules: Rules, tuning: TuningRules, submission: Submission,
                observers: Sequence[Observer]) -> TrialOutcome:  # fmt: skip
    _check_framework(submission, spec)
    workload = get_workload(spec.workload, spec.framework, rules.version, spec.data_dir)
    if spec.budget_scale != 1.0:
        workload.facts = scaled_facts(workload.facts, spec.budget_scale, spec.data_dir is not None)
    wf: facts_mod.WorkloadFacts = workload.facts
    hparams = None if tuning.ruleset == "self" else spec.hparams
    if tuning.ruleset == "external" and hparams is None:
        raise UserError("external tuning needs hyperparameters (--hparams JSON or file)")
    batch = resolve_batch_size(submission, wf)
    framework_tags = _configure(workload, submission, spec, batch.used)
    folder = trial_dir(spec.out_dir / "logs" / spec.experiment, submission.name, spec.study,
                       spec.workload, spec.framework, spec.trial)  # fmt: skip
    device = str(getattr(workload, "device", "cpu"))
    provenance = _provenance(spec, submission, device)
    meta = {
        "workload": asdict(wf), "rules": rules.label, "ruleset": tuning.ruleset,
        "budget_sec": spec.budget_sec(tuning, wf), "step_cap": tuning.step_cap(wf),
        "rng_seed": spec.seed, "batch_size": asdict(batch), **framework_tags,
        **provenance,
    }  # fmt: skip
    log = TrialLog(folder, hparams, meta)
    workload.attach_metrics_logger(log)
    name, params, tags = _run_identity(spec, submission, rules, batch, hparams,
                                       {**framework_tags, "log_dir": str(folder.resolve()),
                                        "budget_sec": str(spec.budget_sec(tuning, wf)),
                                        **provenance})  # fmt: skip
    log.write_run_identity(
        name,
        params,
        tags,
        spec.parent_run_id,
        [str(p.resolve()) for p in submission.source_files()],
    )
    tracker: Tracker = Tracker()
    uri = None
    if spec.track:
        uri = spec.tracking_uri or default_tracking_uri(spec.out_dir)
        tracker = MlflowTracker(uri, spec.experiment)
        tracker.start_trial(name, params, tags, spec.parent_run_id)
    sync = getattr(workload, "clock_sync", None)
    config = TrialConfig(
        budget_sec=spec.budget_sec(tuning, wf), timing=rules.timing, seed=spec.seed,
        batch_size=batch.used, step_cap=tuning.step_cap(wf), data_dir=spec.data_dir,
        prng=getattr(workload, "prng", default_prng),
    )  # fmt: skip
    # A JAX workload's clock also blocks on each step's outputs (asynchronous dispatch).
    block = getattr(workload, "block_until_ready", None)
    clock = DeviceClock(sync, block) if callable(sync) else DeviceClock(block=block)
    wrap_clock = getattr(workload, "wrap_clock", None)  # DDP: max over ranks
    if callable(wrap_clock):
        clock = wrap_clock(clock)
    result = run_trial(workload, submission, make_hyperparameters(hparams), config, clock,
                       [log, tracker, *observers])  # fmt: skip
    tracker.log_artifacts(
        [(folder, "logs"), *[(p, "submission") for p in submission.source_files()]]
    )
    tracker.close()
    return TrialOutcome(spec, result, folder, batch, tracker.run_id, uri)
