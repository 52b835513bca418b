"""Greedy CTC decoding, transcripts and word error rate: the framework-free part of WER.

Both librispeech workloads (PyTorch's :mod:`workloads.speech.workload`, JAX's
:mod:`workloads.speech.flax_workload`) score a batch with :func:`batch_word_errors` on
numpy copies of their outputs. Conventions are AlgoPerf's: ``logit_paddings`` is 1.0 on
padded frames, id 0 is both the CTC blank and target padding, and WER is corpus-level
(total word edits over total reference words). Ids become text through
:func:`text_decoder`: characters for the proxies, the dataset's 1024-piece
SentencePiece tokenizer at full size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from workloads.speech.data import decode_text

__all__ = ["batch_word_errors", "edit_distance", "greedy_decode", "text_decoder", "word_errors"]

Decoder = Callable[[Sequence[int]], str]


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


def text_decoder(data_dir: Path | None) -> Decoder:
    """Text of CTC or target ids: the proxies' characters (no ``data_dir``), else the
    pieces of the dataset's SentencePiece tokenizer (ids 0 and out of range dropped)."""
    if data_dir is None:
        return lambda ids: decode_text(list(ids))
    from autotune.datasets.librispeech import load_tokenizer

    tokenizer = load_tokenizer(data_dir)
    size = tokenizer.get_piece_size()
    return lambda ids: str(tokenizer.decode([int(i) for i in ids if 0 < i < size]))


def batch_word_errors(logits: np.ndarray, logit_paddings: np.ndarray, targets: np.ndarray,
                      decode: Decoder) -> tuple[int, int]:  # fmt: skip
    """(word edits, reference words) of a batch: greedy hypotheses against the targets."""
    hyps = [decode(ids) for ids in greedy_decode(logits, logit_paddings)]
    refs = [decode(row) for row in np.asarray(targets).tolist()]
    return word_errors(hyps, refs)
