"""The AlgoPerf contract: submission functions, workload interface, shared types.

This module is the whole API between a training-algorithm submission and autotune,
kept framework-free (it imports neither torch nor jax) so that it can be read on one
screen and imported anywhere. Its names match AlgoPerf's ``spec`` module in both
eras (``algorithmic_efficiency.spec`` for v0.5, ``algoperf.spec`` for v0.6), so
submissions written for AlgoPerf import it unchanged through :mod:`autotune.compat`.

Lifecycle of one trial, as the runner drives it::

    get_batch_size(workload_name)                                   # untimed
    workload.init_model_fn(rng) -> (params, model_state)             # untimed
    init_optimizer_state(workload, params, model_state, hp, rng)     # untimed
    clock starts
    loop:
        data_selection(...) -> batch                                 # timed
        update_params(..., batch, ...) -> (opt_state, params, state) # timed
        when an eval is due:
            prepare_for_eval(...)   (v0.6, optional)                 # timed
            workload.eval_model(...)                                 # untimed
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

__all__ = [
    "EvalResults",
    "ForwardPassMode",
    "Hyperparameters",
    "LossType",
    "MetricsLogger",
    "ModelAuxiliaryState",
    "ModelInitState",
    "OptimizerState",
    "ParameterContainer",
    "ParameterKey",
    "ParameterShapeTree",
    "ParameterType",
    "ParameterTypeTree",
    "RandomState",
    "Shape",
    "ShapeTuple",
    "Steps",
    "Tensor",
    "Timing",
    "TrainingCompleteError",
    "UpdateReturn",
    "Workload",
]


class LossType(enum.Enum):
    SOFTMAX_CROSS_ENTROPY = 0
    SIGMOID_CROSS_ENTROPY = 1
    MEAN_SQUARED_ERROR = 2
    CTC_LOSS = 3
    MEAN_ABSOLUTE_ERROR = 4


class ForwardPassMode(enum.Enum):
    TRAIN = 0
    EVAL = 1


class ParameterType(enum.Enum):
    WEIGHT = 0
    BIAS = 1
    CONV_WEIGHT = 2
    BATCH_NORM_SCALE = 3
    BATCH_NORM_BIAS = 4
    LAYER_NORM_SCALE = 5
    LAYER_NORM_BIAS = 6
    EMBEDDING = 7
    ATTENTION_Q = 8
    ATTENTION_K = 9
    ATTENTION_V = 10
    ATTENTION_OUT = 11
    ATTENTION_QKV = 12
    ATTENTION_KV = 13
    ATTENTION_BIAS = 14


class ShapeTuple:
    """A shape wrapped so that pytree utilities treat it as a leaf."""

    def __init__(self, shape_tuple: Sequence[int]) -> None:
        self.shape_tuple = tuple(shape_tuple)

    def __repr__(self) -> str:
        return f"ShapeTuple({self.shape_tuple})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShapeTuple) and other.shape_tuple == self.shape_tuple

    def __hash__(self) -> int:
        return hash(self.shape_tuple)


class TrainingCompleteError(Exception):
    """Raised by ``update_params`` to end the trial (after one final eval)."""


Shape: TypeAlias = tuple[int, ...] | tuple[int | None, ...]
ParameterKey: TypeAlias = str
ParameterShapeTree: TypeAlias = dict[ParameterKey, Any]
ParameterContainer: TypeAlias = Any  # nested dict of arrays, or a torch.nn.Module
ParameterTypeTree: TypeAlias = dict[ParameterKey, Any]
Tensor: TypeAlias = Any
RandomState: TypeAlias = Any
OptimizerState: TypeAlias = dict[str, Any] | tuple[Any, ...]
Hyperparameters: TypeAlias = Any  # a namedtuple-like object with attribute access, or None
ModelAuxiliaryState: TypeAlias = Any  # e.g. batch-norm statistics
ModelInitState: TypeAlias = tuple[ParameterContainer, ModelAuxiliaryState]
UpdateReturn: TypeAlias = tuple[OptimizerState, ParameterContainer, ModelAuxiliaryState]
Timing: TypeAlias = int
Steps: TypeAlias = int
EvalResults: TypeAlias = list[tuple[int, dict[str, float]]]


# --- the submission functions -------------------------------------------------------


@runtime_checkable
class GetBatchSizeFn(Protocol):
    def __call__(self, workload_name: str) -> int: ...


@runtime_checkable
class InitOptimizerFn(Protocol):
    def __call__(
        self,
        workload: Workload,
        model_params: ParameterContainer,
        model_state: ModelAuxiliaryState,
        hyperparameters: Hyperparameters,
        rng: RandomState,
    ) -> OptimizerState: ...


@runtime_checkable
class UpdateParamsFn(Protocol):
    """Called with keyword arguments every step; ``train_state`` only if named (v0.6)."""

    def __call__(
        self,
        workload: Workload,
        current_param_container: ParameterContainer,
        current_params_types: ParameterTypeTree,
        model_state: ModelAuxiliaryState,
        hyperparameters: Hyperparameters,
        batch: dict[str, Tensor],
        loss_type: LossType,
        optimizer_state: OptimizerState,
        eval_results: EvalResults,
        global_step: int,
        rng: RandomState,
    ) -> UpdateReturn: ...


@runtime_checkable
class PrepareForEvalFn(Protocol):
    """Optional (v0.6): called with keyword arguments when an eval is due; timed."""

    def __call__(
        self,
        workload: Workload,
        current_param_container: ParameterContainer,
        current_params_types: ParameterTypeTree,
        model_state: ModelAuxiliaryState,
        hyperparameters: Hyperparameters,
        loss_type: LossType,
        optimizer_state: OptimizerState,
        eval_results: EvalResults,
        global_step: int,
        rng: RandomState,
    ) -> UpdateReturn: ...


@runtime_checkable
class DataSelectionFn(Protocol):
    def __call__(
        self,
        workload: Workload,
        input_queue: Iterator[dict[str, Any]],
        optimizer_state: OptimizerState,
        current_param_container: ParameterContainer,
        model_state: ModelAuxiliaryState,
        hyperparameters: Hyperparameters,
        global_step: int,
        rng: RandomState,
    ) -> dict[str, Tensor]: ...


# Aliases under AlgoPerf's names, for submissions that annotate with them.
InitOptimizerStateFn = InitOptimizerFn


class MetricsLogger(Protocol):
    """What ``workload.metrics_logger`` offers submissions."""

    def append_scalar_metrics(
        self, metrics: Mapping[str, float], global_step: int, preemption_count: int | None = None
    ) -> None: ...


# --- the workload interface -----------------------------------------------------------


class Workload(abc.ABC):
    """A training task: a model, a loss, data and a validation target.

    Facts (targets, budget, eval period, step hint, sizes) are data given to the
    constructor; subclasses implement only the model, the loss and the data.
    Lifecycle: construct -> ``init_model_fn`` (fills ``param_shapes`` and
    ``model_params_types``) -> ``_build_input_queue`` -> many ``model_fn`` /
    ``loss_fn`` calls from the submission -> ``eval_model`` at eval points.
    """

    metrics_logger: MetricsLogger | None = None

    def __init__(self, facts: Any) -> None:
        self.facts = facts
        self._param_shapes: ParameterShapeTree | None = None
        self._param_types: ParameterTypeTree | None = None
        self.metrics_logger = None

    # facts ---------------------------------------------------------------------------
    @property
    def workload_name(self) -> str:
        return str(self.facts.name)

    @property
    def target_metric_name(self) -> str:
        return str(self.facts.target_metric_name)

    @property
    def validation_target_value(self) -> float:
        return float(self.facts.validation_target)

    @property
    def test_target_value(self) -> float:
        return float(self.facts.test_target)

    @property
    def loss_type(self) -> LossType:
        return LossType[self.facts.loss_type]

    @property
    def max_allowed_runtime_sec(self) -> float:
        return float(self.facts.max_allowed_runtime_sec)

    @property
    def eval_period_time_sec(self) -> float:
        return float(self.facts.eval_period_time_sec)

    @property
    def step_hint(self) -> int:
        return int(self.facts.step_hint)

    @property
    def num_train_examples(self) -> int:
        return int(self.facts.num_train_examples)

    @property
    def num_eval_train_examples(self) -> int:
        return int(self.facts.num_eval_train_examples)

    @property
    def num_validation_examples(self) -> int:
        return int(self.facts.num_validation_examples)

    @property
    def num_test_examples(self) -> int:
        return int(self.facts.num_test_examples)

    @property
    def split_sizes(self) -> dict[str, int]:
        """Examples per data split (``train``, ``validation``, ``test``), as data builders take them."""
        return {"train": self.num_train_examples, "validation": self.num_validation_examples,
                "test": self.num_test_examples}  # fmt: skip

    @property
    def eval_batch_size(self) -> int:
        return int(self.facts.eval_batch_size)

    @property
    def train_mean(self) -> Any:
        raise NotImplementedError

    @property
    def train_stddev(self) -> Any:
        raise NotImplementedError

    # parameters ----------------------------------------------------------------------
    @property
    def param_shapes(self) -> ParameterShapeTree:
        if self._param_shapes is None:
            raise ValueError("param_shapes is filled by init_model_fn; call it first.")
        return self._param_shapes

    @property
    def model_params_types(self) -> ParameterTypeTree:
        if self._param_types is None:
            raise ValueError("model_params_types is filled by init_model_fn; call it first.")
        return self._param_types

    def is_output_params(self, param_key: ParameterKey) -> bool:
        return False

    def attach_metrics_logger(self, metrics_logger: MetricsLogger | None) -> None:
        self.metrics_logger = metrics_logger

    # targets -------------------------------------------------------------------------
    def _beats(self, value: float, target: float) -> bool:
        # The runner stops on strict comparisons (scoring uses <= / >=).
        return value < target if self.facts.minimize else value > target

    def has_reached_validation_target(self, eval_result: Mapping[str, float]) -> bool:
        key = f"validation/{self.target_metric_name}"
        return self._beats(eval_result[key], self.validation_target_value)

    def has_reached_test_target(self, eval_result: Mapping[str, float]) -> bool:
        key = f"test/{self.target_metric_name}"
        return self._beats(eval_result[key], self.test_target_value)

    # model, loss, data: the framework-specific part --------------------------------------
    @abc.abstractmethod
    def init_model_fn(
        self,
        rng: RandomState,
        dropout_rate: float | None = None,
        aux_dropout_rate: float | None = None,
    ) -> ModelInitState:
        """Build the model; fill ``_param_shapes`` and ``_param_types``."""

    @abc.abstractmethod
    def model_fn(
        self,
        params: ParameterContainer,
        augmented_and_preprocessed_input_batch: dict[str, Tensor],
        model_state: ModelAuxiliaryState,
        mode: ForwardPassMode,
        rng: RandomState,
        update_batch_norm: bool,
        dropout_rate: float | None = None,
    ) -> tuple[Tensor, ModelAuxiliaryState]:
        """Forward pass: ``(logits, new_model_state)``."""

    @abc.abstractmethod
    def loss_fn(
        self,
        label_batch: Tensor,
        logits_batch: Tensor,
        mask_batch: Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, Tensor]:
        """``{"summed", "n_valid_examples", "per_example"}``, per device, unsynced."""

    @abc.abstractmethod
    def output_activation_fn(self, logits_batch: Tensor, framework: str) -> Tensor:
        """Softmax, sigmoid or identity, by loss type."""

    @abc.abstractmethod
    def _build_input_queue(
        self,
        data_rng: RandomState,
        split: str,
        data_dir: str | None,
        global_batch_size: int,
        cache: bool | None = None,
        repeat_final_dataset: bool | None = None,
        num_batches: int | None = None,
    ) -> Iterator[dict[str, Tensor]]:
        """Batches of ``{"inputs", "targets"[, "weights"]}``; forbidden to submissions."""

    @abc.abstractmethod
    def eval_model(
        self,
        global_batch_size: int,
        params: ParameterContainer,
        model_state: ModelAuxiliaryState,
        rng: RandomState,
        data_dir: str | None,
        imagenet_v2_data_dir: str | None,
        global_step: int,
    ) -> dict[str, float]:
        """Flat metrics: ``train/*``, ``validation/*``, ``test/*`` and example counts."""
