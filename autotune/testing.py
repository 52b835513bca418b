"""Contract suites that any implementation of an extension point can run under pytest.

:class:`WorkloadContract` checks one workload against the AlgoPerf Workload contract, at
tiny sizes (the ``tiny`` override: every split cut to a few examples, and a smaller
model where the family offers one), plus one full-size check that the eval splits
hold as many examples as the facts say. Use it like optuna's ``StorageTestCase``:
subclass it in a test module as ``Test...`` and provide a ``workload_name`` fixture,
usually parametrised over :func:`autotune.facts.proxy_names`::

    @pytest.fixture(params=facts.proxy_names())
    def workload_name(request):
        return request.param

    class TestWorkloads(WorkloadContract):
        pass

The suite is framework-generic: set ``framework = "jax"`` on the subclass to run it on
a family's JAX workload (random keys from :mod:`autotune.frameworks.jax_setup`, the
optax NAdamW baseline; arrays are compared as numpy).

Checks: facts (direction of the metric, budgets), eval split sizes, batch shapes and
dtypes, logits and loss outputs, the loss's direction (ideal predictions beat the
untrained model's), determinism given a seed, a few baseline optimizer steps reduce the
training loss, and an untrained model's eval metrics lie in their range and do not
already reach the target.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import math
from collections import namedtuple
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from autotune import facts, registry, spec
from autotune import rng as prng

__all__ = ["METRIC_RANGES", "WorkloadContract", "make_workload", "tiny_workload"]

# Range and direction of every target metric a workload may report: (low, high, minimize).
METRIC_RANGES: dict[str, tuple[float, float, bool]] = {
    "accuracy": (0.0, 1.0, False),
    "ssim": (-1.0, 1.0, False),
    "bleu": (0.0, 100.0, False),
    "mean_average_precision": (0.0, 1.0, False),
    "wer": (0.0, math.inf, True),
    "loss": (0.0, math.inf, True),
}
TRAIN_STEPS = 25
BASELINES = {"pytorch": "autotune.baselines.nadamw_torch", "jax": "autotune.baselines.nadamw_jax"}
# A fixed NAdamW point for the "few steps reduce the loss" check: no warm-up, no smoothing.
CONTRACT_HPARAMS = {
    "learning_rate": 3e-3, "one_minus_beta1": 0.1, "beta2": 0.999, "weight_decay": 0.0,
    "warmup_factor": 0.0, "label_smoothing": 0.0, "dropout_rate": 0.0,
}  # fmt: skip


UNTRAINED_EVAL_EXAMPLES = 512


def make_workload(name: str, framework: str = "pytorch", **overrides: Any) -> spec.Workload:
    """A fresh workload ``name`` with extra ``overrides`` on top of its facts'."""
    workload = registry.get_workload(name, framework)
    if overrides:
        wf = workload.facts
        wf = dataclasses.replace(wf, overrides={**wf.overrides, **overrides})
        workload = type(workload)(wf)
    return workload


@functools.cache
def tiny_workload(name: str, framework: str = "pytorch") -> spec.Workload:
    """A shared ``tiny`` workload per name (its splits are loaded once per session)."""
    return make_workload(name, framework, tiny=True)


def _key(workload: spec.Workload, seed: int) -> Any:
    """A random key of ``workload``'s framework."""
    if getattr(workload, "framework", "pytorch") == "jax":
        from autotune.frameworks import jax_setup

        return jax_setup.key(seed)
    return prng.key(seed)


def _np(x: Any) -> np.ndarray:
    """A tensor of either framework as a numpy array."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _like(values: np.ndarray, like: Any) -> Any:
    """``values`` as a tensor of ``like``'s framework, dtype (and device)."""
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(values, dtype=like.dtype, device=like.device)
    import jax.numpy as jnp

    return jnp.asarray(values, like.dtype)


def _batches(workload: spec.Workload, split: str, batch_size: int, seed: int = 0) -> Iterator[Any]:
    return workload._build_input_queue(_key(workload, seed), split, None, batch_size)


def _n_examples(batch: dict[str, Any]) -> int:
    if "weights" in batch:
        w = batch["weights"]
        return int((w.reshape(len(w), -1).sum(-1) > 0).sum())
    return len(batch["targets"])


def _flat_names(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A flat ``{name: leaf}`` view of a per-parameter mapping, nested (Flax) or not."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        out.update(_flat_names(value, name) if isinstance(value, dict) else {name: value})
    return out


def _forward(workload: spec.Workload, params: Any, state: Any, batch: Any, train: bool) -> Any:
    if getattr(workload, "framework", "pytorch") == "jax":
        return _jax_forward(workload, train)(params, state, batch, _key(workload, 0))
    mode = spec.ForwardPassMode.TRAIN if train else spec.ForwardPassMode.EVAL
    logits, _ = workload.model_fn(params, batch, state, mode, _key(workload, 0),
                                  update_batch_norm=train)  # fmt: skip
    return logits


@functools.cache
def _jax_forward(workload: spec.Workload, train: bool) -> Any:
    """``workload.model_fn`` compiled once per workload and mode, as submissions call it
    (op-by-op dispatch would compile every operation separately)."""
    import jax

    mode = spec.ForwardPassMode.TRAIN if train else spec.ForwardPassMode.EVAL

    def forward(params: Any, state: Any, batch: Any, rng: Any) -> Any:
        return workload.model_fn(params, batch, state, mode, rng, update_batch_norm=train)[0]

    return jax.jit(forward)


def _tensors(output: Any) -> list[Any]:
    """The tensors of a model output: the logits, or AlgoPerf's speech convention of a
    ``(logits, logit_paddings)`` pair."""
    return list(output) if isinstance(output, tuple | list) else [output]


def _mean_loss(workload: spec.Workload, batch: Any, logits: Any) -> float:
    if getattr(workload, "framework", "pytorch") == "jax":
        # on host arrays: eager ops on arrays sharded over several CPU devices have
        # aborted the process (jaxlib 0.10, XLA CPU) where jitted ones never did
        import jax

        batch, logits = jax.device_get(batch), jax.device_get(logits)
    out = workload.loss_fn(batch["targets"], logits, batch.get("weights"))
    return float(_np(out["summed"]) / _np(out["n_valid_examples"]))


def _ideal_logits(workload: spec.Workload, targets: Any, like: Any) -> Any:
    """Logits that predict ``targets`` (almost) exactly, or None for losses without one."""
    lt, t, shape = spec.LossType, _np(targets), tuple(like.shape)
    if workload.loss_type is lt.SOFTMAX_CROSS_ENTROPY:
        return _like(20.0 * np.eye(shape[-1])[t], like)
    if workload.loss_type is lt.SIGMOID_CROSS_ENTROPY:
        return _like((20.0 * (2 * t.astype(np.float64) - 1)).reshape(shape), like)
    if workload.loss_type in (lt.MEAN_SQUARED_ERROR, lt.MEAN_ABSOLUTE_ERROR):
        return _like(t.reshape(shape), like)
    return None


def _assert_finite(x: Any, what: str) -> None:
    assert np.isfinite(_np(x)).all(), f"{what} has non-finite values"


def _is_float(x: Any) -> bool:
    return bool(np.issubdtype(_np(x).dtype, np.floating))


class WorkloadContract:
    """The Workload contract; subclass as ``Test...`` and provide ``workload_name``."""

    framework = "pytorch"
    batch_size = 16

    def tiny(self, workload_name: str) -> spec.Workload:
        return tiny_workload(workload_name, self.framework)

    def test_facts_are_consistent(self, workload_name: str) -> None:
        wf = facts.proxy(workload_name)
        assert wf.target_metric_name in METRIC_RANGES, f"unknown metric {wf.target_metric_name}"
        low, high, minimize = METRIC_RANGES[wf.target_metric_name]
        assert wf.minimize is minimize, f"{wf.target_metric_name} must have minimize={minimize}"
        for target in (wf.validation_target, wf.test_target):
            assert low <= target <= high, f"target {target} outside [{low}, {high}]"
        assert 0 < wf.eval_period_time_sec < wf.max_allowed_runtime_sec
        assert wf.step_hint > 0 and wf.eval_batch_size > 0
        assert wf.base in facts.proxy_names(), f"base '{wf.base}' is not a proxy"

    def test_eval_split_sizes_match_facts(self, workload_name: str) -> None:
        workload = make_workload(workload_name, self.framework)
        expected = {"eval_train": workload.num_eval_train_examples,
                    "validation": workload.num_validation_examples,
                    "test": workload.num_test_examples}  # fmt: skip
        for split, n in expected.items():
            batches = list(_batches(workload, split, workload.eval_batch_size))
            assert sum(_n_examples(b) for b in batches) == n, f"{split} size differs from facts"
            assert all(len(b["targets"]) <= workload.eval_batch_size for b in batches)

    def test_batches_have_stable_shapes_and_dtypes(self, workload_name: str) -> None:
        workload = self.tiny(workload_name)
        queue = _batches(workload, "train", self.batch_size)
        first, second = next(queue), next(queue)
        assert {"inputs", "targets"} <= set(first), "batches need 'inputs' and 'targets'"
        assert set(first) == set(second)
        for key, value in first.items():
            assert hasattr(value, "shape") and hasattr(value, "dtype"), (
                f"batch['{key}'] is not a tensor"
            )
            assert value.dtype == second[key].dtype, f"batch['{key}'] changes dtype"
            assert len(value) == self.batch_size, f"batch['{key}'] has the wrong batch dimension"
            if _is_float(value):
                _assert_finite(value, f"batch['{key}']")
        if workload.loss_type is spec.LossType.SOFTMAX_CROSS_ENTROPY:
            assert not _is_float(first["targets"]), "class targets must be integers"
        if "weights" in first:
            weights = _np(first["weights"])
            assert ((weights >= 0) & (weights <= 1)).all()

    def test_model_outputs_and_loss(self, workload_name: str) -> None:
        workload = self.tiny(workload_name)
        params, state = workload.init_model_fn(_key(workload, 0))
        names = set(_flat_names(workload.param_shapes))
        types = _flat_names(workload.model_params_types)
        assert names and names == set(types)
        assert all(isinstance(t, spec.ParameterType) for t in types.values())
        batch = next(_batches(workload, "train", self.batch_size))
        for train in (True, False):
            output = _forward(workload, params, state, batch, train)
            logits = _tensors(output)[0]
            assert _is_float(logits) and len(logits) == self.batch_size
            _assert_finite(logits, "logits")
        out = workload.loss_fn(batch["targets"], output, batch.get("weights"))
        assert {"summed", "n_valid_examples", "per_example"} <= set(out)
        assert len(out["per_example"]) == self.batch_size
        n_valid = float(out["n_valid_examples"])
        assert float(out["summed"]) >= 0 and 0 < n_valid <= _np(logits).size
        _assert_finite(out["summed"], "summed loss")

    def test_loss_prefers_ideal_predictions(self, workload_name: str) -> None:
        workload = self.tiny(workload_name)
        params, state = workload.init_model_fn(_key(workload, 0))
        batch = next(_batches(workload, "train", self.batch_size))
        logits = _forward(workload, params, state, batch, train=False)
        ideal = _ideal_logits(workload, batch["targets"], _tensors(logits)[0])
        if ideal is None:
            pytest.skip(f"no closed-form ideal logits for {workload.loss_type.name}")
        assert _mean_loss(workload, batch, ideal) < _mean_loss(workload, batch, logits)
        assert _mean_loss(workload, batch, ideal) < 0.01

    def test_deterministic_given_a_seed(self, workload_name: str) -> None:
        workload = self.tiny(workload_name)
        a, b = (
            next(_batches(workload, "train", self.batch_size, seed=3)),
            next(_batches(workload, "train", self.batch_size, seed=3)),
        )
        equal = lambda x, y: np.array_equal(_np(x), _np(y))  # noqa: E731
        assert all(equal(a[k], b[k]) for k in a), "same data seed, different batches"
        other = next(_batches(workload, "train", self.batch_size, seed=4))
        assert not all(equal(a[k], other[k]) for k in a), "data seed is ignored"
        p1, s1 = workload.init_model_fn(_key(workload, 7))
        p2, s2 = workload.init_model_fn(_key(workload, 7))
        l1 = _forward(workload, p1, s1, a, train=False)
        l2 = _forward(workload, p2, s2, a, train=False)
        same = all(equal(x, y) for x, y in zip(_tensors(l1), _tensors(l2), strict=True))
        assert same, "same model seed, different initial predictions"

    def test_a_few_steps_reduce_the_training_loss(self, workload_name: str) -> None:
        workload = self.tiny(workload_name)
        baseline = importlib.import_module(BASELINES[self.framework])
        params, state = workload.init_model_fn(_key(workload, 0))
        hp = namedtuple("Hyperparameters", CONTRACT_HPARAMS)(**CONTRACT_HPARAMS)
        opt = baseline.init_optimizer_state(workload, params, state, hp, _key(workload, 1))
        batch = next(_batches(workload, "train", self.batch_size))
        before = _mean_loss(workload, batch, _forward(workload, params, state, batch, True))
        for step in range(TRAIN_STEPS):
            opt, params, state = baseline.update_params(
                workload=workload, current_param_container=params,
                current_params_types=workload.model_params_types, model_state=state,
                hyperparameters=hp, batch=batch, loss_type=workload.loss_type,
                optimizer_state=opt, eval_results=[], global_step=step, rng=_key(workload, step),
            )  # fmt: skip
        after = _mean_loss(workload, batch, _forward(workload, params, state, batch, True))
        assert math.isfinite(after) and after < before, f"loss {before:.4f} -> {after:.4f}"

    def test_untrained_model_metrics_are_sane(self, workload_name: str) -> None:
        workload = self.tiny(workload_name)
        params, state = workload.init_model_fn(_key(workload, 0))
        metrics = workload.eval_model(workload.eval_batch_size, params, state, _key(workload, 1),
                                      None, None, global_step=0)  # fmt: skip
        name = workload.target_metric_name
        low, high, _ = METRIC_RANGES[name]
        for prefix in ("train", "validation", "test"):
            value = metrics[f"{prefix}/{name}"]
            assert np.isfinite(value) and low <= value <= high, f"{prefix}/{name} = {value}"
        # the target, against a validation split large enough for a stable estimate (mAP
        # over 64 molecules' sparse labels swings by +-0.1)
        larger = make_workload(workload_name, self.framework, tiny=True,
                               tiny_examples=UNTRAINED_EVAL_EXAMPLES)  # fmt: skip
        params, state = larger.init_model_fn(_key(larger, 0))
        metrics = larger.eval_model(larger.eval_batch_size, params, state, _key(larger, 1),
                                    None, None, global_step=0)  # fmt: skip
        assert not larger.has_reached_validation_target(metrics), (
            f"an untrained model already reaches the target: {metrics[f'validation/{name}']}"
        )
