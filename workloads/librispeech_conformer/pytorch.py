"""librispeech_conformer proxy (PyTorch): AlgoPerf's Conformer on synthesised speech.

The model follows AlgoPerf's Conformer: SpecAugment in training mode
(:mod:`workloads.speech.spec_augment`; on at full size, off for the CPU proxy), a
two-layer stride-2 convolutional subsampler (4x in time) with a linear projection,
sinusoidal positions and input dropout, then ``num_blocks`` Conformer blocks (half-step
feed-forward, multi-head self-attention over the unpadded frames, convolution module
with GLU, depthwise convolution, batch norm and swish, half-step feed-forward, and a
final LayerNorm unless ``use_post_layer_norm`` is false), then a LayerNorm and a linear
layer to the vocabulary. Attention queries carry AlgoPerf's learned per-dimension scale
(``1.4427 softplus(s)``, 1 at initialisation); the depthwise convolution has no bias.
``attention_temperature`` divides the attention logits. AlgoPerf's full size
(:mod:`workloads.full_size`): ``encoder_dim=512``, 8 heads, 4 blocks, kernel 5, subsampler
channels 512, 1024 SentencePiece outputs, SpecAugment: 32.32M parameters.
Data, CTC loss and WER: :mod:`workloads.speech`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from workloads.librispeech_conformer.config import model_config
from workloads.speech.layers import SpecAugment, Subsample, sinusoidal, subsample_paddings
from workloads.speech.spec_augment import SpecAugmentConfig
from workloads.speech.workload import VOCAB_SIZE, SpeechWorkload

QUERY_SCALE_NORM = 1.0 / math.log(2.0)  # makes softplus(0) scale queries by 1


class FeedForward(nn.Module):
    def __init__(self, dim: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, 4 * dim),
            nn.SiLU() if activation == "swish" else nn.GELU(), nn.Dropout(dropout),
            nn.Linear(4 * dim, dim), nn.Dropout(dropout),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float, temperature: float) -> None:
        super().__init__()
        self.heads, self.temperature = heads, temperature
        self.norm, self.qkv, self.out = (
            nn.LayerNorm(dim),
            nn.Linear(dim, 3 * dim),
            nn.Linear(dim, dim),
        )
        self.drop = nn.Dropout(dropout)
        self.query_scale = nn.Parameter(torch.zeros(dim // heads))

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2)
                   for t in self.qkv(self.norm(x)).chunk(3, -1))  # fmt: skip
        q = q * (QUERY_SCALE_NORM * F.softplus(self.query_scale))
        scale = 1.0 / (math.sqrt(q.shape[-1]) * self.temperature)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=key_mask[:, None, None, :], scale=scale
        )
        return self.drop(self.out(y.transpose(1, 2).flatten(-2)))


class ConvModule(nn.Module):
    """LN -> pointwise (2d) -> GLU -> depthwise conv -> BN -> swish -> pointwise."""

    def __init__(self, dim: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm, self.expand = nn.LayerNorm(dim), nn.Linear(dim, 2 * dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim, bias=False)
        self.bn, self.project = nn.BatchNorm1d(dim), nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        h = F.glu(self.expand(self.norm(x)), -1) * valid[..., None]
        h = self.depthwise(h.transpose(1, 2))[..., : x.shape[1]]
        h = F.silu(self.bn(h)).transpose(1, 2)
        return self.drop(self.project(h))


class ConformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, kernel: int, dropout: float, temperature: float,
                 post_layer_norm: bool, activation: str) -> None:  # fmt: skip
        super().__init__()
        self.ff1, self.ff2 = (FeedForward(dim, dropout, activation) for _ in range(2))
        self.attn = SelfAttention(dim, heads, dropout, temperature)
        self.conv = ConvModule(dim, kernel, dropout)
        self.norm = nn.LayerNorm(dim) if post_layer_norm else nn.Identity()

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.attn(x, valid.bool())
        x = x + self.conv(x, valid)
        return self.norm(x + 0.5 * self.ff2(x))


class Conformer(nn.Module):
    """``(features, paddings) -> (logits, logit_paddings)`` at a quarter of the frame rate."""

    def __init__(self, vocab_size: int = VOCAB_SIZE, encoder_dim: int = 512,
                 num_heads: int = 8, num_blocks: int = 4, kernel_size: int = 5,
                 subsample_channels: int = 512, dropout_rate: float = 0.1,
                 attention_temperature: float = 1.0, use_post_layer_norm: bool = True,
                 activation: str = "swish",
                 spec_augment: SpecAugmentConfig | None = None) -> None:  # fmt: skip
        super().__init__()
        self.spec_augment = None if spec_augment is None else SpecAugment(spec_augment)
        self.subsample = Subsample(subsample_channels, encoder_dim, "relu", dropout_rate)
        self.blocks = nn.ModuleList(
            ConformerBlock(encoder_dim, num_heads, kernel_size, dropout_rate,
                           attention_temperature, use_post_layer_norm, activation)
            for _ in range(num_blocks)
        )  # fmt: skip
        self.norm = nn.LayerNorm(encoder_dim)
        self.head = nn.Linear(encoder_dim, vocab_size)

    def forward(self, x: torch.Tensor, paddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.spec_augment is not None:  # training mode only
            x = self.spec_augment(x, paddings)
        x = self.subsample(x)
        paddings = subsample_paddings(paddings)
        x = x + sinusoidal(x.shape[1], x.shape[-1], x.device)
        valid = 1.0 - paddings
        for block in self.blocks:
            x = block(x, valid)
        return self.head(self.norm(x)), paddings


class ConformerWorkload(SpeechWorkload):
    """The conformer proxy; variants set ``attention_temperature``, ``use_post_layer_norm``
    or ``activation``."""

    def build_model(self) -> nn.Module:
        return Conformer(**model_config(self.overrides))
