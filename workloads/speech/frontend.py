"""Raw 16 kHz LibriSpeech audio -> log-mel features, in torch, for the full-size workloads.

AlgoPerf's speech models start with a log-mel filterbank frontend; the proxies' models
start from features instead (computed once, with :func:`workloads.speech.data.log_mel`).
A full-size workload reading the real ``.npy`` audio turns each batch into features
with :func:`features`, on the device, as part of the timed step (the JAX side's twin,
:mod:`workloads.speech.flax_frontend`, shares the filterbank and frame arithmetic
below). Settings are AlgoPerf's: 25 ms Hann frames every 10 ms, a 512-point FFT, 80
HTK-mel bins over 125-7600 Hz, ``log(max(energy, 1e-6))``. Each utterance is then
normalised by the mean and standard deviation of its own valid frames (AlgoPerf divides
by fixed LibriSpeech statistics instead). SpecAugment, in training mode, is the model's
first layer (:mod:`workloads.speech.spec_augment`), as in AlgoPerf.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = ["FRAME", "HOP", "features", "filterbank", "frame_paddings"]

SAMPLE_RATE, FRAME, HOP, N_FFT = 16_000, 400, 160, 512
N_BINS, LOW_HZ, HIGH_HZ = 80, 125.0, 7600.0


def _mel(hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(hz / 700.0)


@functools.cache
def filterbank() -> np.ndarray:
    """``[N_FFT // 2 + 1, N_BINS]`` triangular HTK-mel weights, float32 (framework-free)."""
    edges = np.linspace(_mel(np.array(LOW_HZ)), _mel(np.array(HIGH_HZ)), N_BINS + 2)
    mels = _mel(np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (mels[:, None] - lower) / (centre - lower)
    falling = (upper - mels[:, None]) / (upper - centre)
    return np.maximum(np.minimum(rising, falling), 0.0).astype(np.float32)


def frame_paddings(paddings: torch.Tensor) -> torch.Tensor:
    """Per-frame paddings (1 = padding) of sample paddings ``[B, samples]``."""
    lengths = (1 - paddings).sum(1)
    n_frames = (paddings.shape[1] - FRAME) // HOP + 1
    valid = torch.clamp(torch.div(lengths - FRAME, HOP, rounding_mode="floor") + 1, min=1)
    return (torch.arange(n_frames, device=paddings.device)[None, :] >= valid[:, None]).float()


def features(audio: torch.Tensor, paddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features [B, frames, 80], frame paddings [B, frames])`` of audio ``[B, samples]``."""
    frames = audio.unfold(1, FRAME, HOP) * torch.hann_window(FRAME, periodic=False,
                                                             device=audio.device)  # fmt: skip
    power = torch.fft.rfft(frames, n=N_FFT).abs().pow(2)
    logmel = torch.log(torch.clamp(power @ torch.from_numpy(filterbank()).to(audio.device),
                                   min=1e-6))  # fmt: skip
    pads = frame_paddings(paddings)
    valid = (1 - pads)[..., None]
    count = valid.sum(1, keepdim=True).clamp_min(1.0)
    mean = (logmel * valid).sum(1, keepdim=True) / count
    var = ((logmel - mean).pow(2) * valid).sum(1, keepdim=True) / count
    out = (logmel - mean) / torch.sqrt(var + 1e-5) * valid
    return out, pads
