"""Full-size workloads in JAX: AlgoPerf's parameter counts, a few steps on real-format data.

The mirror of ``tests/workloads/test_full_size.py`` for ``--framework jax``: the same
expected counts (``num_params`` in each family's facts), counted on the Flax model of
the very workload class ``autotune run --framework jax --data-dir`` builds, with
``jax.eval_shape`` (nothing allocated); then the same tiny fixtures in the official
on-disk formats, trained a few steps with the JAX baseline on the ``tiny`` model and
evaluated on 2 devices; then the bad inputs.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

from autotune import facts, registry
from autotune.datasets import fastmri
from autotune.hparams import make_hyperparameters
from autotune.rules import load_rules
from autotune.runner import TrialConfig, run_trial
from autotune.submission import load_submission
from autotune.testing import CONTRACT_HPARAMS
from autotune.timing import DeviceClock
from tests.workloads.test_full_size import BATCH, FIXTURES, STEPS, _counted

WITH_WORKERS = "imagenet_resnet"
JAX_FAMILIES = sorted(FIXTURES)


def _example(family: str) -> dict[str, np.ndarray]:
    """One example as the family's dataset reader yields it (shapes only matter)."""
    if family.startswith("imagenet"):
        return {"inputs": np.zeros((1, 3, 224, 224), np.float32)}
    if family == "criteo1tb":
        return {"inputs": np.zeros((1, 39), np.float32)}
    if family == "fastmri":
        return {"inputs": np.zeros((1, 320, 320), np.float32)}
    if family == "wmt":
        return {"inputs": np.ones((1, 8), np.int32), "targets": np.ones((1, 8), np.int32)}
    if family.startswith("librispeech"):
        return {"inputs": np.zeros((1, 320_000), np.float32),
                "input_paddings": np.zeros((1, 320_000), np.float32),
                "targets": np.ones((1, 256), np.int32)}  # fmt: skip
    graph: dict[str, np.ndarray] = {"inputs": np.zeros((1, 4, 9), np.int16), "edge_features": np.zeros((1, 6, 3), np.int16),
             "senders": np.zeros((1, 6), np.int32), "receivers": np.zeros((1, 6), np.int32),
             "n_node": np.array([4]), "n_edge": np.array([6])}  # fmt: skip
    return {**graph, "targets": np.zeros((1, 128), np.float32)}


@pytest.mark.parametrize(("name", "expected"),
                         [c for c in _counted() if facts.official(c[0], "v0.6").family
                          in JAX_FAMILIES])  # fmt: skip
def test_full_size_flax_model_has_algoperfs_parameter_count(name: str, expected: int) -> None:
    wf = facts.official(name, "v0.6", "jax")
    workload: Any = registry.workload_class(wf, "jax")(wf)
    model = workload.build_model()
    inputs = workload.model_inputs(workload.prepare_batch(_example(wf.family)))
    key = jax.random.key(0)
    shapes = jax.eval_shape(lambda x: model.init({"params": key, "dropout": key}, x), inputs)
    n_params = sum(math.prod(p.shape) for p in jax.tree.leaves(shapes["params"]))
    assert n_params == pytest.approx(expected, rel=0.005)


@pytest.mark.parametrize("name", JAX_FAMILIES)
def test_full_size_workload_trains_in_jax_on_real_format_data(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_devices: int
) -> None:
    root = FIXTURES[name](tmp_path)
    monkeypatch.setattr(fastmri, "NUM_VALIDATION_FILES", 1)  # as tests/workloads
    # loader workers (from a fork server) cost seconds per loader: one family runs them
    monkeypatch.setenv("AUTOTUNE_DATA_WORKERS", "1" if name == WITH_WORKERS else "0")
    wf = registry.workload_facts(name, "v0.6", str(root), "jax")
    never = -math.inf if wf.minimize else math.inf
    wf = dataclasses.replace(wf, overrides={**wf.overrides, "tiny": True}, eval_batch_size=BATCH,
                             num_eval_train_examples=BATCH, validation_target=never,
                             test_target=never)  # fmt: skip
    cls: Any = registry.workload_class(wf, "jax")
    workload = cls(wf, data_dir=root)
    submission = load_submission("baseline", "jax")
    workload.configure_trial(submission.source_files(), "auto", BATCH)
    config = TrialConfig(budget_sec=600.0, timing=load_rules("v0.6").timing, batch_size=BATCH,
                         seed=1, step_cap=STEPS, data_dir=str(root), prng=workload.prng)  # fmt: skip
    result = run_trial(workload, submission, make_hyperparameters(CONTRACT_HPARAMS), config,
                       DeviceClock(block=workload.block_until_ready))  # fmt: skip
    assert result.error is None, result.traceback
    assert (result.stop_reason, result.global_step) == ("step_cap", STEPS)
    metrics = result.evals[-1].metrics
    for split in ("train", "validation", "test"):
        assert math.isfinite(metrics[f"{split}/loss"]), metrics
    assert math.isfinite(metrics[wf.validation_metric])
    assert metrics["validation/num_examples"] == wf.num_validation_examples


def test_real_batches_are_seeded_and_eval_batches_padded_to_one_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autotune.frameworks.jax_real_data import numpy_batches

    monkeypatch.setenv("AUTOTUNE_DATA_WORKERS", "0")
    root = FIXTURES["imagenet_resnet"](tmp_path)  # 12 train, 6 validation images
    wf = registry.workload_facts("imagenet_resnet", "v0.6", str(root), "jax")
    first = [numpy_batches(wf, root, "train", 4, seed) for seed in (1, 1, 2)]
    targets = [np.concatenate([next(b)["targets"] for _ in range(3)]) for b in first]
    assert targets[0].dtype == np.int32 and len(targets[0]) == 12
    np.testing.assert_array_equal(targets[0], targets[1])
    assert not np.array_equal(targets[0], targets[2])
    evals = list(numpy_batches(wf, root, "validation", 4, 0))
    assert [len(b["inputs"]) for b in evals] == [4, 4]
    assert sum(float(b["weights"].sum()) for b in evals) == 6.0


def test_librispeech_batches_are_trimmed_to_few_shapes() -> None:
    from autotune.datasets.librispeech import MAX_SAMPLES, MAX_TARGETS
    from workloads.speech.flax_workload import AUDIO_STEP, TARGET_STEP

    wf = facts.official("librispeech_conformer", "v0.6", "jax")
    workload: Any = registry.workload_class(wf, "jax")(wf)
    lengths = np.array([[AUDIO_STEP + 1], [0]])  # the second row: eval padding (weight 0)
    targets = np.zeros((2, MAX_TARGETS), np.int32)
    targets[0, :3] = [5, 0, 7]  # an id 0 inside a transcript does not end it
    batch = {"inputs": np.ones((2, MAX_SAMPLES), np.float32),
             "input_paddings": (np.arange(MAX_SAMPLES) >= lengths).astype(np.float32),
             "targets": targets, "target_paddings": (targets == 0).astype(np.float32),
             "weights": np.array([1.0, 0.0], np.float32)}  # fmt: skip
    out = workload.prepare_batch(batch)
    assert sorted(out) == ["input_paddings", "inputs", "targets", "weights"]
    assert out["inputs"].shape == out["input_paddings"].shape == (2, 2 * AUDIO_STEP)
    assert out["targets"].shape == (2, TARGET_STEP) and out["targets"][0, 2] == 7
    assert out["input_paddings"][1].all()
    full = workload.prepare_batch({**batch, "input_paddings": np.zeros_like(batch["inputs"])})
    assert full["inputs"].shape == (2, MAX_SAMPLES)
