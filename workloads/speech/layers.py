"""Model pieces shared by the librispeech proxies: SpecAugment and the convolutional subsampler."""

from __future__ import annotations

import math

import torch
from torch import nn

from workloads.speech.data import N_MELS
from workloads.speech.spec_augment import SpecAugmentConfig

__all__ = ["ACTIVATIONS", "SpecAugment", "Subsample", "sinusoidal", "subsample_paddings"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def subsample_paddings(paddings: torch.Tensor, steps: int = 2) -> torch.Tensor:
    """Paddings after ``steps`` stride-2 convolutions with kernel 3 and padding 1."""
    lengths = (1 - paddings).sum(1).long()
    t = paddings.shape[1]
    for _ in range(steps):
        lengths, t = (lengths - 1) // 2 + 1, (t - 1) // 2 + 1
    return (torch.arange(t, device=paddings.device)[None, :] >= lengths[:, None]).float()


def _keep(u: torch.Tensor, max_width: torch.Tensor, cap: torch.Tensor, bound: torch.Tensor,
          active: torch.Tensor, size: int) -> torch.Tensor:  # fmt: skip
    """``[B, size]``: 0 inside any active mask, else 1. ``u [2, B, n]`` uniforms; a mask
    is ``min(floor(max_width u0), cap)`` wide and starts within ``[0, bound - width]``."""
    width = torch.minimum(torch.floor(max_width[:, None] * u[0]), cap[:, None])
    start = torch.floor(u[1] * (bound[:, None] - width + 1))
    pos = torch.arange(size, device=u.device)
    inside = (pos >= start[..., None]) & (pos < (start + width)[..., None]) & active[..., None]
    return 1.0 - inside.any(1).to(u.dtype)


def _freq_keep(c: SpecAugmentConfig, b: int, f: int, device: torch.device) -> torch.Tensor:
    """``[B, F]`` keep-mask of ``freq_mask_count`` bands within the ``F`` bins."""
    full = torch.ones(b, device=device)
    u = torch.rand(2, b, c.freq_mask_count, device=device)
    active = torch.ones(b, c.freq_mask_count, dtype=torch.bool, device=device)
    return _keep(u, c.freq_mask_max_bins * full, f * full, f * full, active, f)


def _time_keep(c: SpecAugmentConfig, paddings: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` keep-mask of ``time_mask_count`` spans within each utterance's frames."""
    (b, t), n, device = paddings.shape, c.time_mask_count, paddings.device
    length = (1 - paddings).sum(1)
    fixed, count = torch.full_like(length, c.time_mask_max_frames), torch.full_like(length, n)
    max_width = c.time_mask_max_ratio * length if c.use_dynamic_time_mask_max_frames else fixed
    cap = torch.floor(c.time_mask_max_ratio * length).clamp_min(1)
    limit = c.time_masks_per_frame * length if c.time_masks_per_frame > 0 else count
    active = torch.arange(n, device=device)[None, :] < limit[:, None]
    return _keep(torch.rand(2, b, n, device=device), max_width, cap, length, active, t)


class SpecAugment(nn.Module):
    """Zeroes random frequency bands and time spans of ``features [B, T, F]`` in training
    mode (:mod:`workloads.speech.spec_augment`); random numbers from torch's global RNG."""

    def __init__(self, config: SpecAugmentConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor, paddings: torch.Tensor) -> torch.Tensor:
        c = self.config
        if not self.training:
            return x
        if c.time_mask_count and c.time_mask_max_ratio > 0:
            x = x * _time_keep(c, paddings.to(x.dtype))[..., None]
        if c.freq_mask_count:
            x = x * _freq_keep(c, x.shape[0], x.shape[-1], x.device)[:, None, :]
        return x


class Subsample(nn.Module):
    """Two stride-2 3x3 convolutions over (time, frequency), then a linear projection."""

    def __init__(self, channels: int, out_dim: int, act: str, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2, padding=1), ACTIVATIONS[act](),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), ACTIVATIONS[act](),
        )  # fmt: skip
        freq = (N_MELS - 1) // 2 // 2 + 1
        self.proj = nn.Linear(channels * freq, out_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x[:, None])  # [B, C, T', F']
        return self.drop(self.proj(x.permute(0, 2, 1, 3).flatten(2)))


def sinusoidal(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """``[length, dim]`` sinusoidal position encodings."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    rates = torch.exp(torch.arange(0, dim // 2, device=device) * (-math.log(10_000.0) / (dim // 2)))
    return torch.cat([torch.sin(pos * rates), torch.cos(pos * rates)], -1)
