"""Vision Transformer as AlgoPerf's ImageNet ViT workload defines it, at any size.

``ViTConfig()`` defaults to the CPU proxy; AlgoPerf's ViT-S/16 is ``ViTConfig(width=384,
depth=12, mlp_dim=1536, num_heads=6, patch_size=16, image_size=224, num_classes=1000)``.
As in AlgoPerf: patch embedding by a strided convolution, fixed 2-D sin-cos position
embeddings, pre-LayerNorm encoder blocks, a final LayerNorm, global average pooling,
a pre-logits layer (dense + tanh) and a zero-initialised linear head. Held-out variant knobs: ``use_glu`` (gated MLP),
``use_post_layer_norm`` (LayerNorm after each residual sum) and ``use_map``
(multi-head attention pooling instead of average pooling).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from autotune.frameworks.torch_workload import config_from_overrides

__all__ = ["ViT", "ViTConfig"]


@dataclass(frozen=True)
class ViTConfig:
    """Size and variant knobs; defaults are the CPU proxy's."""

    width: int = 64
    depth: int = 3
    mlp_dim: int = 128
    num_heads: int = 4
    patch_size: int = 4
    image_size: int = 32
    num_classes: int = 21
    dropout_rate: float = 0.0
    use_glu: bool = False
    use_post_layer_norm: bool = False
    use_map: bool = False
    use_representation: bool = True  # AlgoPerf's pre-logits layer: dense + tanh
    # The model of ``tiny`` runs (contract and parity tests), in either framework.
    TINY: ClassVar[dict[str, Any]] = {
        "width": 16, "depth": 1, "mlp_dim": 32, "num_heads": 2, "patch_size": 8,
    }  # fmt: skip

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], **defaults: Any) -> ViTConfig:
        """``defaults``, then ``overrides``, then the ``tiny`` sizes if it is set."""
        tiny = cls.TINY if overrides.get("tiny") else {}
        return config_from_overrides(cls, {**overrides, **tiny}, **defaults)


def sincos_2d(grid: int, width: int, temperature: float = 10_000.0) -> torch.Tensor:
    """AlgoPerf's fixed 2-D sin-cos position embedding, ``(grid * grid, width)``."""
    y, x = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    omega = 1.0 / temperature ** (torch.arange(width // 4) / (width // 4 - 1))
    y = y.flatten()[:, None] * omega[None]
    x = x.flatten()[:, None] * omega[None]
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1).float()


class _Mlp(nn.Module):
    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(config.width, config.mlp_dim)
        self.gate = nn.Linear(config.mlp_dim, config.mlp_dim) if config.use_glu else None
        self.fc2 = nn.Linear(config.mlp_dim, config.width)
        self.drop = nn.Dropout(config.dropout_rate)
        for layer in (self.fc1, self.gate, self.fc2):
            if layer is not None:
                nn.init.xavier_uniform_(layer.weight)
                nn.init.normal_(layer.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.gelu(self.fc1(x))
        if self.gate is not None:  # GLU variant: the hidden units gate themselves
            y = y * self.gate(y)
        return self.fc2(self.drop(y))


class _Block(nn.Module):
    """Self-attention and MLP, each residual, LayerNorm before (or after) each."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.post_ln = config.use_post_layer_norm
        self.norm1, self.norm2 = nn.LayerNorm(config.width), nn.LayerNorm(config.width)
        self.attn = nn.MultiheadAttention(
            config.width, config.num_heads, dropout=config.dropout_rate, batch_first=True
        )
        self.mlp = _Mlp(config)
        self.drop = nn.Dropout(config.dropout_rate)

    def _attend(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.attn(x, x, x, need_weights=False)[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.post_ln:
            x = self.norm1(x + self._attend(x))
            return self.norm2(x + self.drop(self.mlp(x)))
        x = x + self._attend(self.norm1(x))
        return x + self.drop(self.mlp(self.norm2(x)))


class _MapHead(nn.Module):
    """Multi-head attention pooling: a learned probe attends over the tokens."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.probe = nn.Parameter(torch.empty(1, 1, config.width))
        nn.init.xavier_uniform_(self.probe)
        self.attn = nn.MultiheadAttention(config.width, config.num_heads, batch_first=True)
        self.norm = nn.LayerNorm(config.width)
        self.mlp = _Mlp(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probe = self.probe.expand(len(x), -1, -1)
        y = self.attn(probe, x, x, need_weights=False)[0]
        return (y + self.mlp(self.norm(y)))[:, 0]


class ViT(nn.Module):
    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        p, w = config.patch_size, config.width
        self.patch = nn.Conv2d(3, w, p, stride=p)
        self.register_buffer("posemb", sincos_2d(config.image_size // p, w), persistent=False)
        self.drop = nn.Dropout(config.dropout_rate)
        self.blocks = nn.Sequential(*(_Block(config) for _ in range(config.depth)))
        # post-LN blocks already end in a LayerNorm, so AlgoPerf drops the encoder's last one
        self.norm: nn.Module = nn.Identity() if config.use_post_layer_norm else nn.LayerNorm(w)
        self.pool: nn.Module | None = _MapHead(config) if config.use_map else None
        self.pre_logits = (
            nn.Sequential(nn.Linear(w, w), nn.Tanh()) if config.use_representation else None
        )
        self.head = nn.Linear(w, config.num_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch(images).flatten(2).transpose(1, 2) + self.posemb
        x = self.norm(self.blocks(self.drop(x)))
        pooled = self.pool(x) if self.pool is not None else x.mean(dim=1)
        if self.pre_logits is not None:
            pooled = self.pre_logits(pooled)
        return self.head(pooled)
