"""ResNet v1.5 with batch norm, as AlgoPerf's ImageNet and CIFAR workloads define it.

One class covers every size: ``ResNetConfig()`` defaults to the CPU proxy; AlgoPerf's
ResNet-50 is ``ResNetConfig(stage_sizes=(3, 4, 6, 3), width=64, block="bottleneck",
stem="imagenet", num_classes=1000)`` and its CIFAR ResNet-18 is
``ResNetConfig(stage_sizes=(2, 2, 2, 2), width=64, block="basic", stem="cifar")``.
As in AlgoPerf, the last batch norm of every residual block starts at scale
``bn_init_scale`` (0.0: each block starts as the identity; the ``large_bn_init``
variant uses 8.0), convolutions use He (fan-out) init and the classifier N(0, 0.01).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from autotune.errors import UserError
from autotune.frameworks.torch_workload import config_from_overrides

__all__ = ["ACTIVATIONS", "ResNet", "ResNetConfig"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, "tanh": nn.Tanh,
}  # fmt: skip


@dataclass(frozen=True)
class ResNetConfig:
    """Size and variant knobs; defaults are the CPU proxy's."""

    stage_sizes: tuple[int, ...] = (1, 1, 1)
    width: int = 8
    block: str = "bottleneck"  # "basic" (ResNet-18/34) or "bottleneck" (ResNet-50+)
    stem: str = "proxy"  # "imagenet": 7x7/2 + maxpool; "cifar": 3x3/1; "proxy": 3x3/1 + maxpool
    num_classes: int = 21
    activation: str = "relu"
    bn_init_scale: float = 0.0
    # The model of ``tiny`` runs (contract and parity tests), in either framework.
    TINY: ClassVar[dict[str, Any]] = {"stage_sizes": (1, 1), "width": 4}

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], **defaults: Any) -> ResNetConfig:
        """The config that ``defaults`` and then a workload's ``overrides`` describe (and
        the ``tiny`` sizes on top when ``overrides["tiny"]`` is set)."""
        tiny = cls.TINY if overrides.get("tiny") else {}
        config = config_from_overrides(cls, {**overrides, **tiny}, **defaults)
        if config.activation not in ACTIVATIONS:
            raise UserError(f"unknown activation '{config.activation}'; use {list(ACTIVATIONS)}")
        if config.block not in ("basic", "bottleneck"):
            raise UserError(f"unknown ResNet block '{config.block}'; use basic or bottleneck")
        return config


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)


class _Block(nn.Module):
    """A basic (two 3x3) or bottleneck (1x1-3x3-1x1, x4) residual block."""

    def __init__(self, c_in: int, width: int, stride: int, config: ResNetConfig) -> None:
        super().__init__()
        expansion = 4 if config.block == "bottleneck" else 1
        c_out = width * expansion
        if config.block == "bottleneck":
            layers = [_conv(c_in, width, 1), _conv(width, width, 3, stride), _conv(width, c_out, 1)]
        else:
            layers = [_conv(c_in, width, 3, stride), _conv(width, c_out, 3)]
        self.convs = nn.ModuleList(layers)
        self.norms = nn.ModuleList(nn.BatchNorm2d(c.out_channels) for c in layers)
        self.act = ACTIVATIONS[config.activation]()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(_conv(c_in, c_out, 1, stride), nn.BatchNorm2d(c_out))
        self.out_channels = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            y = norm(conv(y))
            if i < last:
                y = self.act(y)
        return self.act(y + self.shortcut(x))


class ResNet(nn.Module):
    """Stem, ``len(stage_sizes)`` stages (width doubling, stride 2 after the first),
    global average pooling and a linear classifier."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        self.stem = self._stem(config)
        blocks: list[nn.Module] = []
        c_in = config.width
        for stage, n_blocks in enumerate(config.stage_sizes):
            for b in range(n_blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                block = _Block(c_in, config.width * 2**stage, stride, config)
                blocks.append(block)
                c_in = block.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in, config.num_classes)
        self._init_weights()

    @staticmethod
    def _stem(config: ResNetConfig) -> nn.Sequential:
        act = ACTIVATIONS[config.activation]
        if config.stem == "imagenet":
            layers = [_conv(3, config.width, 7, 2), nn.BatchNorm2d(config.width), act(),
                      nn.MaxPool2d(3, 2, padding=1)]  # fmt: skip
        elif config.stem in ("cifar", "proxy"):
            layers = [_conv(3, config.width, 3), nn.BatchNorm2d(config.width), act()]
            if config.stem == "proxy":
                layers.append(nn.MaxPool2d(2))
        else:
            raise UserError(f"unknown ResNet stem '{config.stem}'; use imagenet, cifar or proxy")
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for block in self.blocks:
            assert isinstance(block, _Block)
            last_norm = block.norms[-1]
            assert isinstance(last_norm, nn.BatchNorm2d)
            nn.init.constant_(last_norm.weight, self.config.bn_init_scale)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.blocks(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))
