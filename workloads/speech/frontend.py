"""Raw 16 kHz LibriSpeech audio -> log-mel features, in torch, for the full-size workloads.

AlgoPerf's speech models start with a log-mel filterbank frontend; the proxies' models
start from features instead (computed once, with :func:`workloads.speech.data.log_mel`).
A full-size workload reading the real ``.npy`` audio turns each batch into features
with :func:`features`, on the device, as part of the timed step. Settings are
AlgoPerf's: 25 ms Hann frames every 10 ms, a 512-point FFT, 80 HTK-mel bins over
125-7600 Hz, ``log(max(energy, 1e-6))``. Each utterance is then normalised by the mean
and standard deviation of its own valid frames (AlgoPerf divides by fixed LibriSpeech
statistics instead), and SpecAugment is not applied.
"""

from __future__ import annotations

import functools

import torch

__all__ = ["FRAME", "HOP", "features", "frame_paddings"]

SAMPLE_RATE, FRAME, HOP, N_FFT = 16_000, 400, 160, 512
N_BINS, LOW_HZ, HIGH_HZ = 80, 125.0, 7600.0


def _mel(hz: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log1p(hz / 700.0)


@functools.cache
def _filterbank() -> torch.Tensor:
    """``[N_FFT // 2 + 1, N_BINS]`` triangular HTK-mel weights."""
    edges = torch.linspace(float(_mel(torch.tensor(LOW_HZ))), float(_mel(torch.tensor(HIGH_HZ))),
                           N_BINS + 2, dtype=torch.float64)  # fmt: skip
    mels = _mel(torch.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1, dtype=torch.float64))
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (mels[:, None] - lower) / (centre - lower)
    falling = (upper - mels[:, None]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


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
    logmel = torch.log(torch.clamp(power @ _filterbank().to(audio.device), min=1e-6))
    pads = frame_paddings(paddings)
    valid = (1 - pads)[..., None]
    count = valid.sum(1, keepdim=True).clamp_min(1.0)
    mean = (logmel * valid).sum(1, keepdim=True) / count
    var = ((logmel - mean).pow(2) * valid).sum(1, keepdim=True) / count
    out = (logmel - mean) / torch.sqrt(var + 1e-5) * valid
    return out, pads
