"""Translation pairs for the wmt proxy: German -> English number phrases from ``num2words``.

Each example is one or two number expressions (cardinals, ordinals, years, euro
amounts) joined by "und"/"and", rendered in German and English by ``num2words``. The
task has real reordering and compounding ("sechsundzwanzigtausendneunhundert-
achtundsiebzig" -> "twenty-six thousand, nine hundred and seventy-eight"). The
direction is AlgoPerf's (de -> en); English targets are several words long, so corpus
BLEU's 2- to 4-grams are meaningful (a German number is one compound word).

Text is encoded with one SentencePiece vocabulary shared by both languages, as
AlgoPerf's is, but of 256 pieces, trained deterministically on the training pairs
(ids 0 = padding, 1 = end of sentence, 2 = unknown). Sources are unique and the splits
are disjoint by source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autotune.data_cache import cached_arrays
from autotune.errors import UserError

__all__ = ["DATA_VERSION", "EOS", "PAD", "Vocab", "load_pairs", "load_splits", "trim"]

DATA_VERSION = "wmt-num2words-spm-v1"
VOCAB_SIZE = 256
PAD, EOS = 0, 1
SPLIT_SIZES = {"train": 16000, "validation": 500, "test": 500}


def _cardinal(rng: np.random.Generator) -> int:
    return int(10 ** rng.uniform(0, 5))


def _phrase(rng: np.random.Generator, n2w: Callable[..., str]) -> tuple[str, str]:
    kind = rng.choice(["cardinal", "cardinal", "ordinal", "year", "currency"])
    if kind == "cardinal":
        n = _cardinal(rng)
        return n2w(n, lang="de"), n2w(n)
    if kind == "ordinal":
        n = int(rng.integers(1, 1000))
        return n2w(n, lang="de", to="ordinal"), n2w(n, to="ordinal")
    if kind == "year":
        n = int(rng.integers(1100, 2100))
        return n2w(n, lang="de", to="year"), n2w(n, to="year")
    amount = float(_cardinal(rng) % 10000) + int(rng.integers(0, 100)) / 100
    return n2w(amount, lang="de", to="currency"), n2w(amount, lang="en", to="currency")


def _example(rng: np.random.Generator, n2w: Callable[..., str]) -> tuple[str, str]:
    parts = [_phrase(rng, n2w) for _ in range(1 + int(rng.random() < 0.15))]
    return " und ".join(p[0] for p in parts), " and ".join(p[1] for p in parts)


def _pairs(seed: int) -> dict[str, list[tuple[str, str]]]:
    try:
        from num2words import num2words
    except ImportError:
        raise UserError("the wmt proxy needs num2words: pip install 'autotune[proxies]'") from None
    rng = np.random.default_rng(seed)
    seen: dict[str, str] = {}
    total = sum(SPLIT_SIZES.values())
    while len(seen) < total:
        de, en = _example(rng, num2words)
        seen.setdefault(de, en)
    pairs = list(seen.items())
    out, start = {}, 0
    for name, size in SPLIT_SIZES.items():
        out[name] = pairs[start : start + size]
        start += size
    return out


class Vocab:
    """A SentencePiece vocabulary: ids 0 (pad), 1 (end of sentence), 2 (unknown), pieces."""

    def __init__(self, model_proto: bytes) -> None:
        import sentencepiece as spm

        self.model_proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def train(cls, texts: list[str], size: int = VOCAB_SIZE) -> Vocab:
        """A unigram model trained single-threaded on ``texts`` in order: deterministic."""
        import io

        import sentencepiece as spm

        out = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts), model_writer=out, vocab_size=size,
            model_type="unigram", character_coverage=1.0, pad_id=PAD, eos_id=EOS, unk_id=2,
            bos_id=-1, num_threads=1, shuffle_input_sentence=False, minloglevel=2,
        )  # fmt: skip
        return cls(out.getvalue())

    def __len__(self) -> int:
        return int(self._sp.get_piece_size())

    def encode(self, text: str) -> list[int]:
        return [*self._sp.encode(text), EOS]

    def decode(self, ids: list[int] | np.ndarray) -> str:
        ids = [int(i) for i in ids]
        ids = ids[: ids.index(EOS)] if EOS in ids else ids
        return str(self._sp.decode([i for i in ids if i != PAD]))


def _encode_all(vocab: Vocab, texts: list[str]) -> np.ndarray:
    rows = [vocab.encode(t) for t in texts]
    out = np.zeros((len(rows), max(map(len, rows))), dtype=np.int16)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _build(seed: int) -> dict[str, np.ndarray]:
    pairs = _pairs(seed)
    try:
        vocab = Vocab.train([t for de, en in pairs["train"] for t in (de, en)])
    except ImportError:
        raise UserError(
            "the wmt proxy needs sentencepiece: pip install 'autotune[proxies]'"
        ) from None
    arrays = {"vocab": np.frombuffer(vocab.model_proto, dtype=np.uint8)}
    for name, split in pairs.items():
        arrays[f"{name}_inputs"] = _encode_all(vocab, [de for de, _ in split])
        arrays[f"{name}_targets"] = _encode_all(vocab, [en for _, en in split])
    return arrays


def load_pairs(seed: int = 0) -> tuple[dict[str, np.ndarray], Vocab]:
    """Encoded (de, en) pairs per split and their vocabulary, built once and cached."""
    arrays = cached_arrays(f"{DATA_VERSION}-seed{seed}", lambda: _build(seed))
    return arrays, Vocab(arrays["vocab"].tobytes())


def trim(batch: dict[str, Any]) -> dict[str, Any]:
    """Drop the trailing columns that are padding in every row of the batch (numpy arrays
    or torch tensors): ``inputs`` sets its own width, ``targets`` that of ``weights``."""
    out = dict(batch)
    for key, cols in (("inputs", ("inputs",)), ("targets", ("targets", "weights"))):
        length = int((batch[key] > 0).sum(1).max()) if len(batch[key]) else 0
        for col in cols:
            out[col] = batch[col][:, : max(length, 1)]
    return out


def load_splits(
    seed: int, sizes: dict[str, int], num_eval_train: int
) -> tuple[dict[str, dict[str, np.ndarray]], Vocab]:
    """Per split, ``inputs`` and ``targets`` (int32 ids) and ``weights`` (1.0 on target
    tokens), trimmed; ``train``/``validation``/``test`` cut to ``sizes`` (0 = all) and
    ``eval_train`` the first ``num_eval_train`` training pairs (0 = as many as
    validation). With the vocabulary. Shared by both frameworks."""
    arrays, vocab = load_pairs(seed)
    out = {}
    for name, size in sizes.items():
        targets = arrays[f"{name}_targets"][: size or None].astype(np.int32)
        out[name] = trim({"inputs": arrays[f"{name}_inputs"][: size or None].astype(np.int32),
                          "targets": targets, "weights": (targets > 0).astype(np.float32)})  # fmt: skip
    n_eval = num_eval_train or len(out["validation"]["targets"])
    out["eval_train"] = trim({k: v[:n_eval] for k, v in out["train"].items()})
    return out, vocab
