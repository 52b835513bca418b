"""CTC loss, greedy CTC decoding and word error rate, shared by both librispeech families.

Conventions are AlgoPerf's: logits come with ``logit_paddings`` (1.0 on padded frames),
targets are character ids with 0 as padding (CTC blank is also id 0), the loss is
summed over utterances and normalised by the number of target tokens, and WER is
corpus-level (total word edits over total reference words).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ctc_loss", "edit_distance", "greedy_decode", "word_errors"]


def ctc_loss(logits: torch.Tensor, logit_paddings: torch.Tensor, targets: torch.Tensor,
             mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Per-utterance CTC losses, their sum and the number of target tokens."""
    log_probs = F.log_softmax(logits.float(), -1).transpose(0, 1)  # [T, B, V]
    input_lengths = (1 - logit_paddings).sum(1).long()
    target_lengths = (targets > 0).sum(1).long()
    per = F.ctc_loss(log_probs, targets.long(), input_lengths, target_lengths, blank=0,
                     reduction="none", zero_infinity=True)  # fmt: skip
    counts = target_lengths.float()
    if mask is not None:
        per, counts = per * mask, counts * mask
    return {"summed": per.sum(), "n_valid_examples": counts.sum(), "per_example": per}


def greedy_decode(logits: np.ndarray, logit_paddings: np.ndarray) -> list[list[int]]:
    """Best path per utterance: argmax per frame, repeats merged, blanks dropped
    (framework-free: numpy arrays of either framework's outputs)."""
    best = np.asarray(logits).argmax(-1).tolist()
    lengths = (1 - np.asarray(logit_paddings)).sum(1).astype(np.int64).tolist()
    out = []
    for path, n in zip(best, lengths, strict=True):
        ids, prev = [], 0
        for t in path[:n]:
            if t != prev and t != 0:
                ids.append(t)
            prev = t
        out.append(ids)
    return out


def edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two token sequences."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def word_errors(hypotheses: list[str], references: list[str]) -> tuple[int, int]:
    """(total word edits, total reference words): their ratio is corpus WER."""
    edits = words = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        ref_words = ref.split()
        edits += edit_distance(hyp.split(), ref_words)
        words += len(ref_words)
    return edits, words
