"""SpecAugment (Flax): identity in eval mode, reproducible from its ``dropout`` key, the
same mask statistics as PyTorch's (not the same random numbers), and on in the full-size
Flax speech models' training mode.

Statistics are over 1,024 utterances of all-ones features: the mean fractions of zeroed
bins and of zeroed real frames agree within four standard errors, and single masks
reach the same widths.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import flax.linen as nn
import jax
import numpy as np
import pytest
import torch

from autotune import facts, registry
from autotune.frameworks import jax_setup
from workloads.speech import flax_layers, layers
from workloads.speech.spec_augment import SpecAugmentConfig

SPEECH = ("librispeech_conformer", "librispeech_deepspeech")


def _batch(b: int = 1024, t: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """All-ones features ``[b, t, 80]`` and paddings of random lengths in ``[t / 5, t]``."""
    lengths = np.random.default_rng(0).integers(t // 5, t + 1, b)
    paddings = (np.arange(t)[None, :] >= lengths[:, None]).astype(np.float32)
    return np.ones((b, t, 80), np.float32), paddings


@functools.cache
def _jitted(config: SpecAugmentConfig) -> Any:
    module = flax_layers.SpecAugment(config)
    return jax.jit(lambda x, p, train, key: module.apply({}, x, p, train, rngs={"dropout": key}),
                   static_argnums=2)  # fmt: skip


def _flax(config: SpecAugmentConfig, x: Any, p: Any, train: bool = True, seed: int = 0) -> Any:
    return np.asarray(_jitted(config)(x, p, train, jax_setup.key(seed)))


def _torch(config: SpecAugmentConfig, x: np.ndarray, p: np.ndarray) -> np.ndarray:
    torch.manual_seed(0)
    out = layers.SpecAugment(config).train()(torch.from_numpy(x), torch.from_numpy(p))
    return out.numpy()


def _fractions(out: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``[2, B]``: each utterance's fraction of zeroed bins and of zeroed real frames
    (a padded frame is never zeroed)."""
    zero_bins, zero_frames = (out == 0).all(1), (out == 0).all(2)
    assert not (zero_frames & (p > 0)).any()
    return np.stack([zero_bins.mean(1), zero_frames.sum(1) / (1 - p).sum(1)])


def test_eval_mode_is_the_identity() -> None:
    x, p = _batch()
    np.testing.assert_array_equal(_flax(SpecAugmentConfig(), x, p, train=False), x)


def test_masks_follow_the_key() -> None:
    x, p = _batch()
    config = SpecAugmentConfig()
    np.testing.assert_array_equal(_flax(config, x, p, seed=3), _flax(config, x, p, seed=3))
    assert not np.array_equal(_flax(config, x, p, seed=3), _flax(config, x, p, seed=4))


@pytest.mark.parametrize("config", [
    SpecAugmentConfig(),
    SpecAugmentConfig(freq_mask_count=4, time_mask_count=15),
    SpecAugmentConfig(use_dynamic_time_mask_max_frames=False, time_mask_max_ratio=1.0),
])  # fmt: skip
def test_mask_statistics_match_pytorchs(config: SpecAugmentConfig) -> None:
    x, p = _batch()
    ours, theirs = _fractions(_flax(config, x, p), p), _fractions(_torch(config, x, p), p)
    stderr = np.sqrt((ours.var(1) + theirs.var(1)) / ours.shape[1])
    assert (abs(ours.mean(1) - theirs.mean(1)) < 4 * stderr).all()
    assert ours.mean(1)[0] > 0.1 and ours.mean(1)[1] > 0.01


def test_single_mask_widths_reach_the_same_bounds() -> None:
    x, p = _batch()
    config = SpecAugmentConfig(freq_mask_count=1, time_mask_count=1)
    cap = np.maximum(np.floor(0.05 * (1 - p).sum(1)), 1)
    for out in (_flax(config, x, p), _torch(config, x, p)):
        bins, frames = (out == 0).all(1).sum(1), (out == 0).all(2).sum(1)
        assert bins.max() == config.freq_mask_max_bins - 1 and (frames <= cap).all()
        assert (frames == cap).mean() > 0.01


def _full_size_flax(name: str, **extra: Any) -> Any:
    wf = facts.official(name, "v0.6")
    wf = dataclasses.replace(wf, overrides={**wf.overrides, "tiny": True, **extra})
    return registry.workload_class(wf, "jax")(wf).build_model()  # type: ignore[attr-defined]


class _Seen(Exception):
    """Carries what the model's SpecAugment returned; raised to skip the rest of the model."""


def _spec_augment_output(model: Any, batch: dict[str, np.ndarray], train: bool) -> np.ndarray:
    """The features the model's SpecAugment hands its subsampler (the model stops there)."""

    def stop_after(next_fun: Any, args: Any, kwargs: Any, context: Any) -> Any:
        out = next_fun(*args, **kwargs)
        if isinstance(context.module, flax_layers.SpecAugment):
            raise _Seen(out)
        return out

    key = jax_setup.key(0)
    with nn.intercept_methods(stop_after), pytest.raises(_Seen) as seen:
        model.init({"params": key, "dropout": key}, batch, train=train)
    return np.asarray(seen.value.args[0])


@pytest.mark.parametrize("name", SPEECH)
def test_full_size_flax_models_mask_in_training_only(name: str) -> None:
    x = np.random.default_rng(0).normal(size=(2, 60, 80)).astype(np.float32)
    batch = {"inputs": x, "input_paddings": np.zeros((2, 60), np.float32)}
    model = _full_size_flax(name)
    assert model.spec_augment == SpecAugmentConfig()  # AlgoPerf's settings
    evaluated, trained = (_spec_augment_output(model, batch, train) for train in (False, True))
    np.testing.assert_array_equal(evaluated, x)
    assert (trained == 0).sum() > 0 and np.array_equal(trained != 0, trained == x)
