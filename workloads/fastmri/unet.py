"""U-Net as AlgoPerf's fastMRI workload defines it, at any size.

``UNetConfig()`` defaults to the CPU proxy; AlgoPerf's model is ``UNetConfig(
num_channels=32, num_pool_layers=4)`` (its ``model_size`` variant: 64 and 3). As in
AlgoPerf: each conv block is two (3x3 conv without bias, instance norm, LeakyReLU 0.2,
dropout); the encoder halves the resolution by 2x2 average pooling and doubles the
channels; the decoder upsamples by 2x2 transposed convolutions (norm, LeakyReLU),
concatenates the skip connection and applies a conv block; a 1x1 conv makes the image.
Variant knobs: ``activation`` ("leaky_relu" or "tanh") and ``use_layer_norm`` (layer
norm over channels and pixels instead of instance norm in the conv blocks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from autotune.frameworks.torch_workload import config_from_overrides

__all__ = ["UNet", "UNetConfig"]


@dataclass(frozen=True)
class UNetConfig:
    num_channels: int = 8
    num_pool_layers: int = 3
    dropout_rate: float = 0.0
    activation: str = "leaky_relu"
    use_layer_norm: bool = False
    # The model of ``tiny`` runs (contract and parity tests), in either framework.
    TINY: ClassVar[dict[str, Any]] = {"num_channels": 2, "num_pool_layers": 1}

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], **defaults: Any) -> UNetConfig:
        """``defaults``, then ``overrides``, then the ``tiny`` sizes if it is set."""
        tiny = cls.TINY if overrides.get("tiny") else {}
        return config_from_overrides(cls, {**overrides, **tiny}, data_keys=("image_size",),
                                     **defaults)  # fmt: skip


def _norm(channels: int, config: UNetConfig) -> nn.Module:
    if config.use_layer_norm:
        return nn.GroupNorm(1, channels)  # normalises over channels and pixels
    return nn.InstanceNorm2d(channels)


def _act(config: UNetConfig) -> nn.Module:
    return nn.Tanh() if config.activation == "tanh" else nn.LeakyReLU(0.2)


def _conv_block(c_in: int, c_out: int, config: UNetConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), _norm(b, config), _act(config),
                   nn.Dropout2d(config.dropout_rate)]  # fmt: skip
    return nn.Sequential(*layers)


def _up_block(c_in: int, c_out: int, config: UNetConfig) -> nn.Sequential:
    """Upsampling; instance norm here even in the layer-norm variant, as in AlgoPerf."""
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 2, stride=2, bias=False), nn.InstanceNorm2d(c_out),
        _act(config),
    )  # fmt: skip


class UNet(nn.Module):
    """``(B, H, W)`` normalised zero-filled image -> ``(B, H, W)`` reconstruction."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        if config.activation not in ("leaky_relu", "tanh"):
            raise ValueError(f"unknown U-Net activation '{config.activation}'")
        ch = config.num_channels
        self.down = nn.ModuleList([_conv_block(1, ch, config)])
        for _ in range(config.num_pool_layers - 1):
            self.down.append(_conv_block(ch, ch * 2, config))
            ch *= 2
        self.bottom = _conv_block(ch, ch * 2, config)
        self.up, self.up_conv = nn.ModuleList(), nn.ModuleList()
        for _ in range(config.num_pool_layers):
            self.up.append(_up_block(ch * 2, ch, config))
            self.up_conv.append(_conv_block(ch * 2, ch, config))
            ch //= 2
        self.head = nn.Conv2d(ch * 2, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.unsqueeze(1)
        skips = []
        for block in self.down:
            y = block(y)
            skips.append(y)
            y = F.avg_pool2d(y, 2)
        y = self.bottom(y)
        for up, conv in zip(self.up, self.up_conv, strict=True):
            skip = skips.pop()
            y = up(y)
            # reflect-pad when an odd size was pooled, as AlgoPerf does
            pad = (0, skip.shape[-1] - y.shape[-1], 0, skip.shape[-2] - y.shape[-2])
            if any(pad):
                y = F.pad(y, pad, mode="reflect")
            y = conv(torch.cat([y, skip], dim=1))
        return self.head(y).squeeze(1)
