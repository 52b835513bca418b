"""The JAX side of a workload: Flax model_fn, loss_fn, device-placed input queues, eval.

A family subclasses :class:`JaxWorkload` and supplies ``build_model`` (a Flax linen
module called as ``model(inputs, train=...)``; one with batch norm keeps its statistics
in the ``batch_stats`` collection, which is the model state, and takes an
``update_batch_norm`` keyword too), ``load_splits`` (numpy arrays per split,
prepared and cached outside trial time: the same data files as the PyTorch family) and,
when its metric is not accuracy or loss, ``split_metrics``. Facts come from the same
``workload.toml`` as the PyTorch class; nothing is stored per framework.

Built with a ``data_dir`` (and official facts), the same class is the full-size AlgoPerf
workload: its overrides start from the family's full-size model
(:mod:`workloads.full_size`, shared with PyTorch) plus the variant's knobs, and its
batches come from the real dataset through :mod:`autotune.frameworks.jax_real_data`
(the PyTorch side's readers) instead of ``load_splits``.

Lifecycle in a trial (see :mod:`autotune.trial`): construct -> ``configure_trial``
(batch layout of the submission's era, batch divisibility check) -> ``init_model_fn``
(params and model state as pytrees, placed for the layout; fills ``param_shapes`` and
``model_params_types``) -> ``_build_input_queue`` -> the submission's ``model_fn`` /
``loss_fn`` calls -> ``eval_model`` (jit-compiled once, untimed). Timing: the runner's
clock blocks on the submission's outputs (``block_until_ready``); jit compilation of
the submission's step happens inside its first ``update_params`` call and so counts as
submission time, as in AlgoPerf; compiling the eval step falls in the untimed eval.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import jax_utils, traverse_util

from autotune import spec
from autotune.compat._api import jax_sharding_utils as shard
from autotune.errors import UserError
from autotune.facts import WorkloadFacts
from autotune.frameworks import jax_setup
from autotune.frameworks.eval_counts import eval_example_counts
from autotune.frameworks.jax_batches import NumpyBatch, pad_rows, shuffled_batches
from workloads.full_size import model_overrides

__all__ = ["JaxWorkload", "NumpyBatch", "pad_rows", "param_types"]

EVAL_SPLITS = {"train": "eval_train", "validation": "validation", "test": "test"}
TINY_SPLIT_EXAMPLES = 64  # as autotune.frameworks.torch_workload (``tiny`` override)
# Initialisation runs once, untimed: XLA's optimisations of its many random-number
# kernels cost more (~4x the compile time of a small ResNet's init) than they save.
INIT_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _param_type(path: tuple[str, ...], leaf: Any) -> spec.ParameterType:
    t, name, owner = spec.ParameterType, path[-1], "/".join(path[:-1]).lower()
    if "batchnorm" in owner:
        return t.BATCH_NORM_SCALE if name == "scale" else t.BATCH_NORM_BIAS
    if "layernorm" in owner:
        return t.LAYER_NORM_SCALE if name == "scale" else t.LAYER_NORM_BIAS
    if name == "embedding":
        return t.EMBEDDING
    if name == "bias":
        return t.BIAS
    return t.CONV_WEIGHT if "conv" in owner and leaf.ndim >= 3 else t.WEIGHT


def param_types(params: Any) -> dict[str, Any]:
    """A ``ParameterType`` tree with the structure of a Flax ``params`` tree."""
    flat = traverse_util.flatten_dict(params)
    return traverse_util.unflatten_dict({k: _param_type(k, v) for k, v in flat.items()})


class JaxWorkload(spec.Workload):
    """A JAX/Flax workload on in-memory numpy splits (or, built with ``data_dir``, the
    real dataset), over all local devices."""

    framework = "jax"
    prng: Any = jax_setup  # the runner derives its keys with jax.random

    def __init__(self, facts: WorkloadFacts, data_dir: str | Path | None = None) -> None:
        super().__init__(facts)
        self.data_dir: Path | None = None
        if data_dir is not None:
            from autotune.frameworks.real_data import check_data_dir

            self.data_dir = check_data_dir(data_dir, facts.name)
        self.overrides: dict[str, Any] = model_overrides(facts)
        self.batch_layout = "sharded"
        self._model: nn.Module | None = None

    @property
    def full_size(self) -> bool:
        """True for the AlgoPerf workload itself (official facts), False for a proxy."""
        return bool(self.facts.kind == "official")

    # --- what a family supplies ------------------------------------------------------
    @abc.abstractmethod
    def build_model(self) -> nn.Module:
        """The Flax module, called as ``model(inputs, train=bool)``."""

    @abc.abstractmethod
    def load_splits(self) -> dict[str, NumpyBatch]:
        """numpy arrays per split: ``train``, ``eval_train``, ``validation``, ``test``."""

    def split_metrics(self, logits: jax.Array, batch: dict[str, jax.Array]) -> dict[str, Any]:
        """Per-batch weighted *sums* of each metric (``batch["weights"]`` masks padding)."""
        per = self.loss_fn(batch["targets"], logits, batch["weights"])["per_example"]
        out = {"loss": per.sum()}
        if self.loss_type is spec.LossType.SOFTMAX_CROSS_ENTROPY:
            hits = (logits.argmax(-1) == batch["targets"]) * batch["weights"]
            out["accuracy"] = hits.sum()
        return out

    def model_inputs(self, batch: dict[str, Any]) -> Any:
        """What the model is called on for ``batch``: ``batch["inputs"]`` unless a family
        whose model takes more (graphs, target prefixes, paddings) overrides this."""
        return batch["inputs"]

    def prepare_batch(self, batch: NumpyBatch) -> NumpyBatch:
        """A numpy batch just before it is placed on the devices (train and eval); families
        with variable-length data trim padding here (to few shapes: each one compiles)."""
        return batch

    # --- devices, layout, clock --------------------------------------------------------
    @property
    def num_devices(self) -> int:
        return jax.local_device_count()

    def configure_trial(self, sources: Any, layout: str, global_batch_size: int) -> dict[str, str]:
        """Fix the batch layout for the submission (files ``sources``) and check the batch.

        Returns what to record with the run (tags / metadata).
        """
        self.batch_layout = jax_setup.resolve_layout(layout, sources)
        self._check_divisible(global_batch_size)
        return {"jax_batch_layout": self.batch_layout, "jax_devices": str(self.num_devices)}

    def _check_divisible(self, global_batch_size: int) -> None:
        if global_batch_size % self.num_devices:
            raise UserError(
                f"global batch size {global_batch_size} is not divisible by the "
                f"{self.num_devices} JAX devices; choose a multiple of {self.num_devices}"
            )

    def block_until_ready(self, outputs: Any) -> None:
        """Wait for the device work behind ``outputs`` (the clock calls this)."""
        jax_setup.block_until_ready(outputs)

    def _place(self, tree: Any) -> Any:
        """Replicate a pytree the way the layout's era expects parameters."""
        if tree is None:
            return None
        return jax_utils.replicate(tree) if self.batch_layout == "pmap" else shard.replicate(tree)

    def _place_batch(self, batch: NumpyBatch) -> dict[str, jax.Array]:
        if self.batch_layout == "pmap":
            n = self.num_devices
            batch = {k: v.reshape(n, -1, *v.shape[1:]) for k, v in batch.items()}
        return {k: jax.device_put(v, shard.get_batch_dim_sharding()) for k, v in batch.items()}

    # --- data -------------------------------------------------------------------------
    @functools.cached_property
    def splits(self) -> dict[str, NumpyBatch]:
        raw = self.load_splits()
        if self.overrides.get("tiny"):
            n = int(self.overrides.get("tiny_examples", TINY_SPLIT_EXAMPLES))
            raw = {k: {name: v[:n] for name, v in d.items()} for k, d in raw.items()}
        return raw

    def _build_input_queue(
        self,
        data_rng: Any,
        split: str,
        data_dir: str | None,
        global_batch_size: int,
        cache: bool | None = None,
        repeat_final_dataset: bool | None = None,
        num_batches: int | None = None,
    ) -> Iterator[dict[str, jax.Array]]:
        if split == "train":
            self._check_divisible(global_batch_size)
        else:  # one shape for every eval batch, a multiple of the devices
            global_batch_size = -(-global_batch_size // self.num_devices) * self.num_devices
        batches = self._host_batches(data_rng, split, global_batch_size)
        if split == "train":
            return (self._place_batch(self.prepare_batch(b)) for b in batches)
        sharding = shard.get_batch_dim_sharding()
        return ({k: jax.device_put(v, sharding) for k, v in self.prepare_batch(b).items()}
                for b in batches)  # fmt: skip

    def _host_batches(self, data_rng: Any, split: str, size: int) -> Iterator[NumpyBatch]:
        """numpy batches of ``split``: from the dataset folder at full size, else from the
        in-memory splits (training shuffled, evaluation in order and padded)."""
        if self.data_dir is not None:
            from autotune.frameworks.jax_real_data import numpy_batches

            seed = jax_setup.seed_of(data_rng) if split == "train" else 0
            return numpy_batches(self.facts, self.data_dir, split, size, seed)
        data = self.splits[split]
        if split == "train":
            return shuffled_batches(data, size, jax_setup.seed_of(data_rng))
        n = len(data["targets"])
        return (pad_rows({k: v[i : i + size] for k, v in data.items()}, size)
                for i in range(0, n, size))  # fmt: skip

    def example_batch(self) -> NumpyBatch:
        """One training example (the dataset's first validation example at full size),
        as ``prepare_batch`` returns it: shapes for initialisation."""
        if self.data_dir is not None:
            from autotune.frameworks.jax_real_data import example_batch

            return self.prepare_batch(example_batch(self.facts, self.data_dir))
        return self.prepare_batch({k: v[:1] for k, v in self.splits["train"].items()})

    # --- model ------------------------------------------------------------------------
    @property
    def model(self) -> nn.Module:
        if self._model is None:
            self._model = self.build_model()
        return self._model

    def init_model_fn(
        self,
        rng: spec.RandomState,
        dropout_rate: float | None = None,
        aux_dropout_rate: float | None = None,
    ) -> spec.ModelInitState:
        if dropout_rate is not None:
            self.overrides.setdefault("dropout_rate", dropout_rate)
        self._model = self.build_model()
        example = jax.tree.map(jnp.asarray, self.model_inputs(self.example_batch()))
        variables = dict(_init_variables(self._model, rng, example))
        params = variables.pop("params")
        self._param_shapes = jax.tree.map(lambda p: spec.ShapeTuple(p.shape), params)
        self._param_types = param_types(params)
        return self._place(params), self._place(variables or None)

    def model_fn(
        self,
        params: spec.ParameterContainer,
        augmented_and_preprocessed_input_batch: dict[str, spec.Tensor],
        model_state: spec.ModelAuxiliaryState,
        mode: spec.ForwardPassMode,
        rng: spec.RandomState,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ) -> tuple[spec.Tensor, spec.ModelAuxiliaryState]:
        train = mode == spec.ForwardPassMode.TRAIN
        variables = {"params": params, **(model_state or {})}
        inputs = self.model_inputs(augmented_and_preprocessed_input_batch)
        rngs = {"dropout": rng} if rng is not None else {}
        kwargs: dict[str, Any] = {"train": train, "rngs": rngs}
        if model_state and "batch_stats" in model_state:
            # AlgoPerf's JAX semantics: batch statistics (and their update) iff asked to
            # update them, in either mode; otherwise the running averages.
            kwargs["update_batch_norm"] = update_batch_norm
        if update_batch_norm and model_state:
            logits, new_state = self.model.apply(variables, inputs, mutable=list(model_state),
                                                 **kwargs)  # fmt: skip
            return logits, new_state
        return self.model.apply(variables, inputs, **kwargs), model_state

    def loss_fn(
        self,
        label_batch: spec.Tensor,
        logits_batch: spec.Tensor,
        mask_batch: spec.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, spec.Tensor]:
        per = _per_example_loss(self.loss_type, label_batch, logits_batch, label_smoothing)
        per = per.reshape(per.shape[0], -1).mean(-1) if per.ndim > 1 else per
        if mask_batch is not None:
            per, n_valid = per * mask_batch, mask_batch.sum()
        else:
            n_valid = jnp.asarray(per.shape[0], per.dtype)
        return {"summed": per.sum(), "n_valid_examples": n_valid, "per_example": per}

    def output_activation_fn(self, logits_batch: spec.Tensor, framework: str) -> spec.Tensor:
        if self.loss_type is spec.LossType.SOFTMAX_CROSS_ENTROPY:
            return jax.nn.softmax(logits_batch, axis=-1)
        if self.loss_type is spec.LossType.SIGMOID_CROSS_ENTROPY:
            return jax.nn.sigmoid(logits_batch)
        return logits_batch

    # --- evaluation -------------------------------------------------------------------
    def _for_eval(self, tree: Any, average: bool = False) -> Any:
        """The submission's params/state as one replicated copy (pmap era: drop the device
        axis; ``average`` over it instead for per-device batch-norm statistics, as
        AlgoPerf syncs them before an eval)."""
        if tree is not None and self.batch_layout == "pmap":
            tree = jax.tree.map(lambda x: x.mean(0) if average else x[0], tree)
        return None if tree is None else shard.replicate(tree)

    @functools.cached_property
    def _eval_step(self) -> Any:
        def step(params: Any, model_state: Any, batch: dict[str, jax.Array]) -> Any:
            logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL,
                                      None, update_batch_norm=False)  # fmt: skip
            return self.split_metrics(logits, batch)

        return jax.jit(step)

    def _eval_split(self, split: str, params: Any, model_state: Any) -> dict[str, float]:
        totals: dict[str, Any] = {}
        count = 0.0
        for batch in self._build_input_queue(None, split, None, self.eval_batch_size):
            for name, value in self._eval_step(params, model_state, batch).items():
                totals[name] = totals.get(name, 0.0) + value
            count += float(batch["weights"].sum())
        return {name: float(value) / max(count, 1.0) for name, value in totals.items()}

    def eval_model(
        self,
        global_batch_size: int,
        params: spec.ParameterContainer,
        model_state: spec.ModelAuxiliaryState,
        rng: spec.RandomState,
        data_dir: str | None,
        imagenet_v2_data_dir: str | None,
        global_step: int,
    ) -> dict[str, float]:
        params, model_state = self._for_eval(params), self._for_eval(model_state, average=True)
        results: dict[str, float] = {}
        for prefix, split in EVAL_SPLITS.items():
            for name, value in self._eval_split(split, params, model_state).items():
                results[f"{prefix}/{name}"] = value
        results.update(eval_example_counts(self))
        return results


@functools.partial(jax.jit, static_argnums=0, compiler_options=INIT_COMPILE)
def _init_variables(model: nn.Module, rng: Any, example: Any) -> Any:
    """``model``'s variables; compiled once per (model config, input shape): Flax modules
    compare equal by their fields, so re-initialising an equal model reuses the code."""
    return model.init({"params": rng, "dropout": rng}, example, train=False)


def _per_example_loss(
    loss_type: spec.LossType, labels: jax.Array, logits: jax.Array, label_smoothing: float
) -> jax.Array:
    lt = spec.LossType
    if loss_type is lt.SOFTMAX_CROSS_ENTROPY:
        one_hot = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
        return optax.softmax_cross_entropy(logits, optax.smooth_labels(one_hot, label_smoothing))
    if loss_type is lt.SIGMOID_CROSS_ENTROPY:
        targets = labels.astype(logits.dtype)
        if label_smoothing:
            targets = targets * (1 - label_smoothing) + 0.5 * label_smoothing
        return optax.sigmoid_binary_cross_entropy(logits, targets)
    if loss_type is lt.MEAN_SQUARED_ERROR:
        return jnp.square(logits - labels)
    if loss_type is lt.MEAN_ABSOLUTE_ERROR:
        return jnp.abs(logits - labels)
    raise NotImplementedError(f"{loss_type} needs a family-specific loss_fn")
