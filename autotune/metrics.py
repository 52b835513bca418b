"""The AlgoPerf evaluation metrics, in one place, framework-free at the edges.

Four already have a single general implementation next to the proxy family that first
needed it; this module is their public entry point and does not copy them:

==================  ==========================================  ===========================
metric              definition (AlgoPerf's)                     implementation
==================  ==========================================  ===========================
top-1 accuracy      weighted fraction of argmax == label        here
BLEU                sacrebleu corpus BLEU, 13a, one reference   ``workloads.wmt.metrics``
WER                 total word edits / total reference words    ``workloads.speech.ctc``
mean AP             mean over tasks with both classes observed  ``workloads.ogbg.metrics``
                    of average precision; NaN labels masked
SSIM                7x7 uniform window, K1 0.01, K2 0.03, data  ``workloads.fastmri.ssim``
                    range = volume max, on un-normalised slices
log-loss (Criteo)   weighted mean sigmoid binary cross-entropy  here
==================  ==========================================  ===========================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.nn import functional as F

__all__ = [
    "accuracy",
    "bleu",
    "log_loss",
    "mean_average_precision",
    "ssim",
    "word_error_rate",
]


def _weights(weights: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
    if weights is None:
        return torch.ones(n, device=device)
    return weights.reshape(n).float()


def accuracy(logits: torch.Tensor, labels: torch.Tensor,
             weights: torch.Tensor | None = None) -> float:  # fmt: skip
    """Top-1 accuracy of ``logits [B, classes]`` against ``labels [B]``; rows with weight 0
    (padding of the last eval batch) do not count."""
    w = _weights(weights, len(labels), logits.device)
    correct = (logits.argmax(-1) == labels).float()
    return float((correct * w).sum() / w.sum().clamp_min(1e-12))


def log_loss(logits: torch.Tensor, labels: torch.Tensor,
             weights: torch.Tensor | None = None) -> float:  # fmt: skip
    """Criteo's metric: mean binary cross-entropy of ``sigmoid(logits)`` against 0/1
    ``labels``, over the rows with weight 1 (natural log)."""
    logits, labels = logits.reshape(-1).double(), labels.reshape(-1).double()
    w = _weights(weights, len(labels), logits.device).double()
    per = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return float((per * w).sum() / w.sum().clamp_min(1e-12))


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu corpus BLEU (0-100) of detokenised hypotheses, one reference each."""
    from workloads.wmt.metrics import corpus_bleu

    return corpus_bleu(list(hypotheses), list(references))


def word_error_rate(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus WER: word-level Levenshtein edits summed over utterances, divided by the
    number of reference words (AlgoPerf's librispeech metric)."""
    from workloads.speech.decoding import word_errors

    edits, words = word_errors(list(hypotheses), list(references))
    return edits / words if words else float("nan")


def mean_average_precision(labels: np.ndarray, scores: np.ndarray,
                           mask: np.ndarray | None = None) -> float:  # fmt: skip
    """ogbg's mean AP over ``[graphs, tasks]``: NaN labels (or ``mask`` 0) are unobserved;
    tasks without both a positive and a negative observed label are skipped."""
    from workloads.ogbg.metrics import mean_average_precision as _map

    labels = np.asarray(labels, np.float64)
    observed = ~np.isnan(labels) if mask is None else np.asarray(mask, bool) & ~np.isnan(labels)
    return _map(np.nan_to_num(labels), np.asarray(scores), observed)


def ssim(outputs: torch.Tensor, targets: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
         volume_max: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """fastMRI's per-slice SSIM of normalised ``outputs`` and ``targets`` ``[B, H, W]``,
    un-normalised with each slice's ``mean``/``std``, data range = its ``volume_max``."""
    from workloads.fastmri.ssim import ssim as _ssim

    return _ssim(outputs, targets, mean, std, volume_max)
