"""DLRM-small as AlgoPerf's Criteo 1TB workload defines it, at any size.

``DlrmConfig()`` defaults to the CPU proxy; AlgoPerf's model is ``DlrmConfig(
vocab_size=4_194_304, embed_dim=128, bottom_mlp=(512, 256, 128), top_mlp=(1024, 1024,
512, 256, 1))``. As in AlgoPerf: one embedding table shared by the 26 categorical
features (ids arrive hashed into ``vocab_size`` rows), a bottom MLP on the 13 dense
features whose output is one more ``embed_dim`` vector, the dot products of all 27
vectors (upper triangle, diagonal included) concatenated with the bottom output, and a
top MLP to one logit. Linear layers use N(0, 2 / (fan_in + fan_out)) weights and N(0, 1 / fan_out)
biases; embeddings U(-s, s) with ``s = embedding_init_scale`` or ``1 / sqrt(vocab)``.
Variant knobs: ``use_layer_norm`` (LayerNorm after each hidden dense layer),
``use_resnet`` (residual hidden layers) and ``embedding_init_scale``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from autotune.frameworks.torch_workload import config_from_overrides

__all__ = ["DlrmConfig", "DlrmSmall"]


@dataclass(frozen=True)
class DlrmConfig:
    vocab_size: int = 32_768
    num_dense: int = 13
    num_sparse: int = 26
    embed_dim: int = 16
    bottom_mlp: tuple[int, ...] = (64, 32, 16)
    top_mlp: tuple[int, ...] = (128, 64, 1)
    dropout_rate: float = 0.0
    use_layer_norm: bool = False
    use_resnet: bool = False
    embedding_init_scale: float | None = None
    # The model of ``tiny`` runs (contract and parity tests), in either framework.
    TINY: ClassVar[dict[str, Any]] = {
        "vocab_size": 1024, "embed_dim": 4, "bottom_mlp": (8, 4), "top_mlp": (16, 1),
    }  # fmt: skip

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], **defaults: Any) -> DlrmConfig:
        """``defaults``, then ``overrides``, then the ``tiny`` sizes if it is set."""
        tiny = cls.TINY if overrides.get("tiny") else {}
        return config_from_overrides(cls, {**overrides, **tiny}, **defaults)


class _Mlp(nn.Module):
    """Dense layers with ReLU (and LayerNorm / residuals when asked); the last layer of
    the top MLP is linear."""

    def __init__(self, dims: tuple[int, ...], config: DlrmConfig, last_linear: bool) -> None:
        super().__init__()
        linears = [nn.Linear(a, b) for a, b in itertools.pairwise(dims)]
        self.layers = nn.ModuleList(linears)
        self.norms = nn.ModuleList(
            nn.LayerNorm(b) if config.use_layer_norm else nn.Identity() for b in dims[1:]
        )
        self.residual, self.last_linear = config.use_resnet, last_linear
        self.drop = nn.Dropout(config.dropout_rate)
        for layer in linears:
            fan_out, fan_in = layer.weight.shape
            nn.init.normal_(layer.weight, std=math.sqrt(2.0 / (fan_in + fan_out)))
            nn.init.normal_(layer.bias, std=math.sqrt(1.0 / fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, (layer, norm) in enumerate(zip(self.layers, self.norms, strict=True)):
            if i == last and self.last_linear:
                return layer(x)
            y = torch.relu(norm(layer(x)))
            x = x + y if self.residual and y.shape == x.shape else y
            if i == last - 1 and self.last_linear:
                x = self.drop(x)
        return x


class DlrmSmall(nn.Module):
    def __init__(self, config: DlrmConfig) -> None:
        super().__init__()
        self.config = config
        d = config.embed_dim
        self.embedding = nn.Embedding(config.vocab_size, d)
        scale = config.embedding_init_scale or 1.0 / math.sqrt(config.vocab_size)
        nn.init.uniform_(self.embedding.weight, -scale, scale)
        self.bottom = _Mlp((config.num_dense, *config.bottom_mlp[:-1], d), config, False)
        n = config.num_sparse + 1
        self.register_buffer("pairs", torch.triu_indices(n, n), persistent=False)
        top_in = d + n * (n + 1) // 2
        self.top = _Mlp((top_in, *config.top_mlp), config, last_linear=True)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs``: ``(B, 13 + 26)``, dense features then hashed ids; one logit each."""
        c = self.config
        dense = inputs[:, : c.num_dense]
        ids = inputs[:, c.num_dense :].long() % c.vocab_size
        bottom = self.bottom(dense)
        stack = torch.cat([bottom[:, None, :], self.embedding(ids)], dim=1)
        rows, cols = self.get_buffer("pairs")
        dots = torch.bmm(stack, stack.transpose(1, 2))[:, rows, cols]
        return self.top(torch.cat([bottom, dots], dim=1)).squeeze(-1)
