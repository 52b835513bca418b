"""librispeech_deepspeech proxy (PyTorch): AlgoPerf's DeepSpeech on synthesised speech.

The model is AlgoPerf's DeepSpeech shape: a two-layer stride-2 convolutional
subsampler (4x in time and frequency) with a linear projection and input dropout,
``num_lstm_layers`` residual batch-normed bidirectional LSTMs (``encoder_dim / 2`` units
per direction, directions concatenated), and ``num_ffn_layers`` residual batch-normed
feed-forward layers, then LayerNorm and a linear layer to the vocabulary. ``activation``
("relu", or "tanh" for the held-out variant) is used in the subsampler and the
feed-forward layers. The other variant knobs (:mod:`workloads.librispeech_deepspeech.config`):
``use_residual=False`` drops the residual adds of the LSTM and feed-forward layers
(``librispeech_deepspeech_no_resnet``); ``use_layer_norm=True`` puts LayerNorm where
those layers have BatchNorm and ``use_decoder_layer_norm=False`` drops the LayerNorm
before the output layer (both: ``librispeech_deepspeech_norm_and_spec_aug``, which also
sets SpecAugment's ``freq_mask_count=4`` and ``time_mask_count=15``). In training mode
the features first go through SpecAugment (:mod:`workloads.speech.spec_augment`): on at
full size, off for the CPU proxies. AlgoPerf's full size (:mod:`workloads.full_size`):
``encoder_dim=512``, 6 LSTM layers, 3 FFN layers, 512 subsampler channels, 1024
SentencePiece outputs, SpecAugment: 18.39M parameters. Data, CTC loss and WER:
:mod:`workloads.speech`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from workloads.librispeech_deepspeech.config import model_config
from workloads.speech.layers import ACTIVATIONS, SpecAugment, Subsample, subsample_paddings
from workloads.speech.spec_augment import SpecAugmentConfig
from workloads.speech.workload import VOCAB_SIZE, SpeechWorkload


def _norm(dim: int, use_layer_norm: bool) -> nn.Module:
    """The normalisation before an LSTM or feed-forward layer: BatchNorm, or LayerNorm."""
    return nn.LayerNorm(dim) if use_layer_norm else nn.BatchNorm1d(dim)


def _normalise(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm`` over the features of ``x [B, T, D]`` (BatchNorm1d takes ``[B, D, T]``)."""
    if isinstance(norm, nn.LayerNorm):
        return norm(x)
    return norm(x.transpose(1, 2)).transpose(1, 2)


class BatchLSTM(nn.Module):
    """BatchNorm (or LayerNorm), then a bidirectional LSTM of ``dim / 2`` units per
    direction, the directions concatenated back to ``dim``."""

    def __init__(self, dim: int, use_layer_norm: bool = False) -> None:
        super().__init__()
        self.norm = _norm(dim, use_layer_norm)
        self.lstm = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = _normalise(self.norm, x)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        y, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        return y


class FeedForward(nn.Module):
    """BatchNorm (or LayerNorm), a linear layer, the activation and dropout, plus the
    input if ``residual``."""

    def __init__(self, dim: int, act: str, dropout: float, residual: bool = True,
                 use_layer_norm: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.norm, self.fc = _norm(dim, use_layer_norm), nn.Linear(dim, dim)
        self.act, self.drop = ACTIVATIONS[act](), nn.Dropout(dropout)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(self.act(self.fc(_normalise(self.norm, x))))
        return x + y if self.residual else y


class DeepSpeech(nn.Module):
    """``(features, paddings) -> (logits, logit_paddings)`` at a quarter of the frame rate."""

    def __init__(self, vocab_size: int = VOCAB_SIZE, encoder_dim: int = 512,
                 num_lstm_layers: int = 6, num_ffn_layers: int = 3, conv_channels: int = 512,
                 dropout_rate: float = 0.1, activation: str = "relu", use_residual: bool = True,
                 use_layer_norm: bool = False,
                 use_decoder_layer_norm: bool = True,
                 spec_augment: SpecAugmentConfig | None = None) -> None:  # fmt: skip
        super().__init__()
        self.use_residual = use_residual
        self.spec_augment = None if spec_augment is None else SpecAugment(spec_augment)
        self.subsample = Subsample(conv_channels, encoder_dim, activation, dropout_rate)
        self.lstms = nn.ModuleList(
            BatchLSTM(encoder_dim, use_layer_norm) for _ in range(num_lstm_layers)
        )
        self.ffns = nn.Sequential(
            *(FeedForward(encoder_dim, activation, dropout_rate, use_residual, use_layer_norm)
              for _ in range(num_ffn_layers))
        )  # fmt: skip
        self.norm = nn.LayerNorm(encoder_dim) if use_decoder_layer_norm else nn.Identity()
        self.head = nn.Linear(encoder_dim, vocab_size)

    def forward(self, x: torch.Tensor, paddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.spec_augment is not None:  # training mode only
            x = self.spec_augment(x, paddings)
        x = self.subsample(x)
        paddings = subsample_paddings(paddings)
        lengths = (1 - paddings).sum(1).long().clamp_min(1)
        for lstm in self.lstms:
            y = lstm(x, lengths)
            x = x + y if self.use_residual else y
        x = self.ffns(x)
        return self.head(self.norm(x)), paddings


class DeepspeechWorkload(SpeechWorkload):
    """The deepspeech proxy; variants set the knobs of :func:`model_config`."""

    def build_model(self) -> nn.Module:
        return DeepSpeech(**model_config(self.overrides))
