"""The PyTorch side of a workload: model_fn, loss_fn, input queues and evaluation.

A family subclasses :class:`TorchWorkload` and supplies three things: ``build_model``
(an ``nn.Module``), ``load_splits`` (CPU tensors for ``train``, ``eval_train``,
``validation`` and ``test``, prepared and cached outside trial time) and, when its
metric is not accuracy or loss, ``split_metrics``. Everything a submission touches
(``model_fn``, ``loss_fn``, ``param_shapes``, ``model_params_types``) is here, once.

Built with a ``data_dir`` (and official facts), the same class is the full-size AlgoPerf
workload: its overrides start from the family's full-size model (AlgoPerf's
architecture, :mod:`workloads.full_size`, shared with JAX) plus the variant's knobs, and
its batches come from the real dataset through :mod:`autotune.frameworks.real_data`
instead of ``load_splits``.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from autotune import rng as prng
from autotune import spec
from autotune.errors import UserError
from autotune.facts import WorkloadFacts
from autotune.frameworks import real_data, torch_ddp
from autotune.frameworks.eval_counts import eval_example_counts
from autotune.frameworks.torch_setup import torch_env
from workloads.full_size import model_overrides

__all__ = ["TINY_SPLIT_EXAMPLES", "Batch", "TorchWorkload", "config_from_overrides", "param_types"]

Batch = dict[str, torch.Tensor]
EVAL_SPLITS = {"train": "eval_train", "validation": "validation", "test": "test"}
# Examples per split when a workload runs with the ``tiny`` override (contract tests);
# families may also shrink their model when ``self.overrides.get("tiny")`` is set.
TINY_SPLIT_EXAMPLES = 64


def _param_type(name: str, param: torch.Tensor, module: nn.Module) -> spec.ParameterType:
    t = spec.ParameterType
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return t.BATCH_NORM_SCALE if name.endswith("weight") else t.BATCH_NORM_BIAS
    if isinstance(module, nn.LayerNorm):
        return t.LAYER_NORM_SCALE if name.endswith("weight") else t.LAYER_NORM_BIAS
    if isinstance(module, nn.Embedding | nn.EmbeddingBag):
        return t.EMBEDDING
    if name.endswith("bias"):
        return t.BIAS
    if isinstance(module, nn.modules.conv._ConvNd):
        return t.CONV_WEIGHT
    return t.WEIGHT


def param_types(model: nn.Module) -> dict[str, spec.ParameterType]:
    """A ``ParameterType`` per named parameter, from the module that owns it."""
    out = {}
    for mod_name, module in model.named_modules():
        for p_name, p in module.named_parameters(recurse=False):
            full = f"{mod_name}.{p_name}" if mod_name else p_name
            out[full] = _param_type(p_name, p, module)
    return out


C = TypeVar("C")
# Override keys every workload accepts besides its model config's fields.
WORKLOAD_KEYS = frozenset({"tiny", "tiny_examples", "dropout_rate", "aux_dropout_rate"})


def config_from_overrides(
    cls: type[C], overrides: Mapping[str, Any], data_keys: Iterable[str] = (), **defaults: Any
) -> C:
    """The model config (a dataclass) that ``defaults`` and then ``overrides`` give;
    TOML lists become tuples. An override no field, data key or workload key knows is a
    ``UserError``, so a misspelt variant knob cannot silently train the base model."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - names - WORKLOAD_KEYS - set(data_keys))
    if unknown:
        raise UserError(
            f"unknown model override(s) {unknown}; {cls.__name__} knows {sorted(names)}"
        )
    values = {**defaults, **{k: v for k, v in overrides.items() if k in names}}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _set_bn_update(model: nn.Module, update: bool) -> None:
    """Freeze or restore batch-norm running statistics (AlgoPerf's update_batch_norm).

    The batch-norm modules are found once per model and the momenta touched only when
    the flag changes, so the call costs nothing per step (it sits in the timed loop)."""
    norms = model.__dict__.get("_autotune_norms")
    if norms is None:
        norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        model.__dict__["_autotune_norms"] = norms
        model.__dict__["_autotune_bn_update"] = True
        for m in norms:
            m.__dict__["_autotune_momentum"] = m.momentum
    if not norms or model.__dict__["_autotune_bn_update"] == update:
        return
    for m in norms:
        m.momentum = m.__dict__["_autotune_momentum"] if update else 0.0
    model.__dict__["_autotune_bn_update"] = update


class TorchWorkload(spec.Workload):
    """A PyTorch workload on in-memory splits."""

    framework = "pytorch"

    def __init__(self, facts: WorkloadFacts, device: torch.device | None = None,
                 data_dir: str | Path | None = None) -> None:  # fmt: skip
        super().__init__(facts)
        self.device = device or torch_env().device
        self.data_dir = None if data_dir is None else real_data.check_data_dir(data_dir, facts.name)
        self.overrides: dict[str, Any] = model_overrides(facts)

    @property
    def full_size(self) -> bool:
        """True for the AlgoPerf workload itself (official facts), False for a proxy."""
        return bool(self.facts.kind == "official")

    def adapt_batch(self, batch: Batch) -> Batch:
        """A real-data batch as this family's model reads it (identity by default)."""
        return batch

    def proxy_batch(self, batch: Batch) -> Batch:
        """A proxy batch as this family's model reads it, e.g. all-padding columns cut
        (identity by default). Under DDP it sees each rank's slice."""
        return batch

    def clock_sync(self) -> None:
        """Wait for queued device work, so clock readings include it."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def wrap_clock(self, clock: Any) -> Any:
        """Under DDP, read ``clock`` as the max over ranks (AlgoPerf's slowest rank)."""
        return torch_ddp.wrap_clock(clock, self.device)

    # --- what a family supplies --------------------------------------------------
    @abc.abstractmethod
    def build_model(self) -> nn.Module:
        """The model, freshly initialised from torch's current RNG state."""

    @abc.abstractmethod
    def load_splits(self) -> dict[str, Batch]:
        """CPU tensors per split: ``train``, ``eval_train``, ``validation``, ``test``."""

    def split_metrics(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """Per-batch *sums* of each metric; divided by the example count afterwards."""
        per_example = self.loss_fn(batch["targets"], logits, batch.get("weights"))["per_example"]
        out = {"loss": per_example.sum()}
        if self.loss_type is spec.LossType.SOFTMAX_CROSS_ENTROPY:
            out["accuracy"] = (logits.argmax(-1) == batch["targets"]).float().sum()
        return out

    # --- data -------------------------------------------------------------------------
    def subset_split(self, data: Batch, n: int) -> Batch:
        """The first ``n`` examples of one split (for ``tiny`` runs). A family whose split
        tensors are not all indexed by example (e.g. flat node arrays) overrides this."""
        return {k: v[:n] for k, v in data.items()}

    @functools.cached_property
    def splits(self) -> dict[str, Batch]:
        raw = self.load_splits()
        if self.overrides.get("tiny"):  # contract tests: every split cut to a few examples
            n = int(self.overrides.get("tiny_examples", TINY_SPLIT_EXAMPLES))
            raw = {k: self.subset_split(v, n) for k, v in raw.items()}
        return {k: {n: t.to(self.device) for n, t in v.items()} for k, v in raw.items()}

    def _build_input_queue(
        self,
        data_rng: Any,
        split: str,
        data_dir: str | None,
        global_batch_size: int,
        cache: bool | None = None,
        repeat_final_dataset: bool | None = None,
        num_batches: int | None = None,
    ) -> Iterator[Batch]:
        if self.data_dir is not None:
            seed = prng.seed_of(data_rng) if split == "train" else 0
            batches = real_data.input_queue(self.facts, self.data_dir, split, global_batch_size,
                                            seed, self.device)  # fmt: skip
            return (self.adapt_batch(b) for b in batches)
        data = self.splits[split]
        if split == "train":  # under DDP: each rank its slice of the same global batch
            batches = _shuffled_batches(data, global_batch_size, prng.seed_of(data_rng))
            batches = torch_ddp.rank_slices(batches)
        else:
            batches = _ordered_batches(data, global_batch_size)
        return map(self.proxy_batch, batches)

    # --- model ------------------------------------------------------------------------
    def init_model_fn(
        self,
        rng: spec.RandomState,
        dropout_rate: float | None = None,
        aux_dropout_rate: float | None = None,
    ) -> spec.ModelInitState:
        torch.manual_seed(prng.seed_of(rng))
        if dropout_rate is not None:
            self.overrides.setdefault("dropout_rate", dropout_rate)
        model = self.build_model().to(self.device)
        self._param_shapes = {k: spec.ShapeTuple(p.shape) for k, p in model.named_parameters()}
        self._param_types = param_types(model)
        return torch_ddp.wrap_model(model, self.device), None

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
        model: nn.Module = params
        train = mode == spec.ForwardPassMode.TRAIN
        if model.training != train:
            model.train(train)
        _set_bn_update(model, update_batch_norm)
        with torch.set_grad_enabled(train):
            logits = self.forward(model, augmented_and_preprocessed_input_batch)
        return logits, None

    def forward(self, model: nn.Module, batch: dict[str, spec.Tensor]) -> spec.Tensor:
        """The model's call on one batch; families whose model takes more than the
        ``inputs`` (graphs, target prefixes, paddings) override this, not ``model_fn``."""
        return model(batch["inputs"])

    def loss_fn(
        self,
        label_batch: spec.Tensor,
        logits_batch: spec.Tensor,
        mask_batch: spec.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, spec.Tensor]:
        lt = spec.LossType
        if self.loss_type is lt.SOFTMAX_CROSS_ENTROPY:
            per = F.cross_entropy(logits_batch, label_batch, reduction="none",
                                  label_smoothing=label_smoothing)  # fmt: skip
        elif self.loss_type is lt.SIGMOID_CROSS_ENTROPY:
            targets = label_batch.float()
            if label_smoothing:
                targets = targets * (1 - label_smoothing) + 0.5 * label_smoothing
            per = F.binary_cross_entropy_with_logits(logits_batch, targets, reduction="none")
        elif self.loss_type is lt.MEAN_SQUARED_ERROR:
            per = (logits_batch - label_batch).pow(2)
        elif self.loss_type is lt.MEAN_ABSOLUTE_ERROR:
            per = (logits_batch - label_batch).abs()
        else:
            raise NotImplementedError(f"{self.loss_type} needs a family-specific loss_fn")
        while per.dim() > 1:
            per = per.mean(-1)
        if mask_batch is not None:
            per = per * mask_batch
            n_valid = mask_batch.sum()
        else:
            n_valid = torch.tensor(float(len(per)), device=per.device)
        return {"summed": per.sum(), "n_valid_examples": n_valid, "per_example": per}

    def output_activation_fn(self, logits_batch: spec.Tensor, framework: str) -> spec.Tensor:
        if self.loss_type is spec.LossType.SOFTMAX_CROSS_ENTROPY:
            return torch.softmax(logits_batch, dim=-1)
        if self.loss_type is spec.LossType.SIGMOID_CROSS_ENTROPY:
            return torch.sigmoid(logits_batch)
        return logits_batch

    # --- evaluation -------------------------------------------------------------------
    @torch.no_grad()
    def _eval_split(
        self, split: str, params: nn.Module, model_state: Any, rng: Any
    ) -> dict[str, float]:
        totals: dict[str, torch.Tensor] = {}
        count = 0
        for batch in self._build_input_queue(rng, split, None, self.eval_batch_size):
            logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL,
                                      rng, update_batch_norm=False)  # fmt: skip
            for name, value in self.split_metrics(logits, batch).items():
                totals[name] = totals.get(name, 0) + value
            count += int(batch["weights"].sum()) if "weights" in batch else len(batch["targets"])
        return {name: float(value) / max(count, 1) for name, value in totals.items()}

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
        results: dict[str, float] = {}
        for prefix, split in EVAL_SPLITS.items():
            for name, value in self._eval_split(split, params, model_state, rng).items():
                results[f"{prefix}/{name}"] = value
        results.update(eval_example_counts(self))
        return torch_ddp.from_rank_zero(results)  # identical on every DDP rank


def _shuffled_batches(data: Batch, batch_size: int, seed: int) -> Iterator[Batch]:
    n = len(next(iter(data.values())))
    batch_size = min(batch_size, n)
    device = next(iter(data.values())).device
    gen = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=gen).to(device)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start : start + batch_size]
            yield {k: v[idx] for k, v in data.items()}


def _ordered_batches(data: Batch, batch_size: int) -> Iterator[Batch]:
    n = len(next(iter(data.values())))
    for start in range(0, n, batch_size):
        yield {k: v[start : start + batch_size] for k, v in data.items()}
