"""The PyTorch CTC loss of both librispeech families (decoding and WER, re-exported here:
:mod:`workloads.speech.decoding`, framework-free).

Conventions are AlgoPerf's: logits come with ``logit_paddings`` (1.0 on padded frames),
targets are token ids with 0 as padding (CTC blank is also id 0), and the loss is
summed over utterances and normalised by the number of target tokens.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from workloads.speech.decoding import edit_distance, greedy_decode, word_errors

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
