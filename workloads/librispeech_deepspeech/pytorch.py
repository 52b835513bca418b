"""librispeech_deepspeech proxy (PyTorch): AlgoPerf's DeepSpeech on synthesised speech.

The model is AlgoPerf's DeepSpeech shape: a two-layer stride-2 convolutional
subsampler (4x in time and frequency) with a linear projection and input dropout,
``num_lstm_layers`` residual batch-normed bidirectional LSTMs (``encoder_dim / 2`` units
per direction, directions concatenated), and ``num_ffn_layers`` residual batch-normed
feed-forward layers, then LayerNorm and a linear layer to the vocabulary. ``activation``
("relu", or "tanh" for the held-out variant) is used in the subsampler and the
feed-forward layers. AlgoPerf's full size (``full_size_model``): ``encoder_dim=512``,
6 LSTM layers, 3 FFN layers, 512 subsampler channels, 1024 SentencePiece outputs:
18.39M parameters. Data, CTC loss and WER: :mod:`workloads.speech`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from workloads.librispeech_deepspeech.config import model_config
from workloads.speech.layers import ACTIVATIONS, Subsample, subsample_paddings
from workloads.speech.workload import VOCAB_SIZE, SpeechWorkload


class BatchLSTM(nn.Module):
    """BatchNorm over valid frames, then a bidirectional LSTM of ``dim / 2`` units per
    direction, the directions concatenated back to ``dim``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(dim)
        self.lstm = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        y, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=x.shape[1])
        return y


class FeedForward(nn.Module):
    def __init__(self, dim: int, act: str, dropout: float) -> None:
        super().__init__()
        self.norm, self.fc = nn.BatchNorm1d(dim), nn.Linear(dim, dim)
        self.act, self.drop = ACTIVATIONS[act](), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return x + self.drop(self.act(self.fc(h)))


class DeepSpeech(nn.Module):
    """``(features, paddings) -> (logits, logit_paddings)`` at a quarter of the frame rate."""

    def __init__(self, vocab_size: int = VOCAB_SIZE, encoder_dim: int = 512,
                 num_lstm_layers: int = 6, num_ffn_layers: int = 3, conv_channels: int = 512,
                 dropout_rate: float = 0.1, activation: str = "relu") -> None:  # fmt: skip
        super().__init__()
        self.subsample = Subsample(conv_channels, encoder_dim, activation, dropout_rate)
        self.lstms = nn.ModuleList(BatchLSTM(encoder_dim) for _ in range(num_lstm_layers))
        self.ffns = nn.Sequential(
            *(FeedForward(encoder_dim, activation, dropout_rate) for _ in range(num_ffn_layers))
        )
        self.norm = nn.LayerNorm(encoder_dim)
        self.head = nn.Linear(encoder_dim, vocab_size)

    def forward(self, x: torch.Tensor, paddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.subsample(x)
        paddings = subsample_paddings(paddings)
        lengths = (1 - paddings).sum(1).long().clamp_min(1)
        for lstm in self.lstms:
            x = x + lstm(x, lengths)
        x = self.ffns(x)
        return self.head(self.norm(x)), paddings


class DeepspeechWorkload(SpeechWorkload):
    """The deepspeech proxy; the ``librispeech_deepspeech_tanh`` variant sets ``activation``."""

    full_size_model: ClassVar[dict[str, Any]] = {
        "vocab_size": 1024,
        "encoder_dim": 512,
        "num_lstm_layers": 6,
        "num_ffn_layers": 3,
        "conv_channels": 512,
    }

    def build_model(self) -> nn.Module:
        return DeepSpeech(**model_config(self.overrides))
