"""Raw 16 kHz LibriSpeech audio -> log-mel features in JAX: :mod:`workloads.speech.frontend`'s twin.

The same computation as the PyTorch full-size path (AlgoPerf's settings, the shared
filterbank :func:`workloads.speech.frontend.filterbank`, per-utterance normalisation
over valid frames, padded frames zeroed), written in ``jax.numpy`` so that it runs on
the devices inside the jit-compiled step: the JAX speech workload calls it from
``model_inputs``, so it is part of ``model_fn``, as AlgoPerf's JAX models start with
their frontend.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from workloads.speech.frontend import FRAME, HOP, N_FFT, filterbank

__all__ = ["features", "frame_paddings"]


def frame_paddings(paddings: jax.Array) -> jax.Array:
    """Per-frame paddings (1 = padding) of sample paddings ``[B, samples]``."""
    lengths = (1 - paddings).sum(1)
    n_frames = (paddings.shape[1] - FRAME) // HOP + 1
    valid = jnp.maximum(jnp.floor_divide(lengths - FRAME, HOP) + 1, 1)
    return (jnp.arange(n_frames, dtype=jnp.float32)[None, :] >= valid[:, None]).astype(jnp.float32)


@jax.jit  # one program when called eagerly (initialisation); inlined into a caller's jit
def features(audio: jax.Array, paddings: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(features [B, frames, 80], frame paddings [B, frames])`` of audio ``[B, samples]``."""
    audio = jnp.asarray(audio, jnp.float32)
    n_frames = (audio.shape[1] - FRAME) // HOP + 1
    index = np.arange(FRAME)[None, :] + HOP * np.arange(n_frames)[:, None]
    frames = audio[:, index] * jnp.asarray(np.hanning(FRAME), jnp.float32)
    power = jnp.square(jnp.abs(jnp.fft.rfft(frames, n=N_FFT)))
    logmel = jnp.log(jnp.maximum(power @ jnp.asarray(filterbank()), 1e-6))
    pads = frame_paddings(jnp.asarray(paddings, jnp.float32))
    valid = (1 - pads)[..., None]
    count = jnp.maximum(valid.sum(1, keepdims=True), 1.0)
    mean = (logmel * valid).sum(1, keepdims=True) / count
    var = (jnp.square(logmel - mean) * valid).sum(1, keepdims=True) / count
    return (logmel - mean) / jnp.sqrt(var + 1e-5) * valid, pads
