"""LibriSpeech 960h in AlgoPerf's preprocessed ``.npy`` form.

Format read (``DIR``), as AlgoPerf's ``librispeech_preprocess.py`` writes it::

    <split>.csv                  one row per utterance, column ``id`` (others ignored)
    <split>/<id>_audio.npy       int64 16 kHz samples, at most 320 000 (20 s)
    <split>/<id>_targets.npy     int64 SentencePiece ids of the transcript, at most 256
    spm_model.vocab              the SentencePiece model of those ids (AlgoPerf's name;
                                 its 1024-piece tokenizer), read to decode them for WER

Splits (AlgoPerf's): ``train`` = train-clean-100 + train-clean-360 + train-other-500,
``validation`` = dev-clean + dev-other, ``test`` = test-clean; ``eval_train`` is a
seeded sample of ``train``. Batches: ``inputs`` ``[B, 320000]`` float32 samples padded
with 0, ``input_paddings`` (1 on padding), ``targets`` ``[B, 256]`` padded with 0,
``target_paddings`` and ``weights`` (0 on rows added to fill the last eval batch).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from autotune.datasets._common import (
    Batch,
    Example,
    GlobalBatches,
    LoaderConfig,
    example_rng,
    make_loader,
    require_file,
    row_weights,
)  # fmt: skip
from autotune.errors import UserError

__all__ = ["SPLITS", "TOKENIZER", "Utterances", "batches", "check", "load_tokenizer"]

SPLITS = {
    "train": ("train-clean-100", "train-clean-360", "train-other-500"),
    "validation": ("dev-clean", "dev-other"),
    "test": ("test-clean",),
}
MAX_SAMPLES, MAX_TARGETS = 320_000, 256
TOKENIZER = "spm_model.vocab"


def load_tokenizer(root: Path) -> Any:
    """The dataset's SentencePiece processor (``DIR/spm_model.vocab``)."""
    import sentencepiece as spm

    path = require_file(Path(root) / TOKENIZER, "librispeech")
    try:
        return spm.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as e:
        raise UserError(f"librispeech: {path} is not a SentencePiece model ({e})") from None


def read_ids(root: Path, part: str) -> list[str]:
    """The utterance ids listed in ``<part>.csv`` (column ``id``)."""
    path = require_file(root / f"{part}.csv", "librispeech")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "id" not in reader.fieldnames:
            raise UserError(
                f"librispeech: {path} has no 'id' column (columns: {reader.fieldnames})"
            )
        return [row["id"] for row in reader]


def utterances(root: Path, split: str) -> list[tuple[Path, str]]:
    """``(part folder, utterance id)`` of every utterance of ``split``."""
    parts = SPLITS["train" if split == "eval_train" else split]
    return [(root / part, uid) for part in parts for uid in read_ids(root, part)]


def _load(folder: Path, uid: str, kind: str, limit: int) -> np.ndarray:
    path = folder / f"{uid}_{kind}.npy"
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"librispeech: {path} is missing") from None
    except ValueError as e:
        raise UserError(f"librispeech: {path} is not a .npy array ({e})") from None
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise UserError(f"librispeech: {path} holds {array.dtype}{list(array.shape)}, "
                        "expected a 1-d integer array")  # fmt: skip
    if len(array) > limit:
        raise UserError(f"librispeech: {path} has {len(array)} values, more than {limit}")
    return array


class Utterances(Dataset[Example]):
    """Examples ``{"audio": int64 samples, "targets": int64 ids}``, unpadded."""

    def __init__(self, items: list[tuple[Path, str]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> Example:
        folder, uid = self.items[key[0]]
        return {"audio": _load(folder, uid, "audio", MAX_SAMPLES),
                "targets": _load(folder, uid, "targets", MAX_TARGETS)}  # fmt: skip


def _padded(
    arrays: list[np.ndarray], width: int, rows: int, dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    values: np.ndarray = np.zeros((rows, width), dtype)
    paddings = np.ones((rows, width), np.float32)
    for i, a in enumerate(arrays):
        values[i, : len(a)] = a
        paddings[i, : len(a)] = 0.0
    return values, paddings


def collate(examples: Sequence[Example], rows: int) -> Batch:
    audio, audio_pad = _padded([e["audio"] for e in examples], MAX_SAMPLES, rows, np.float32)
    targets, target_pad = _padded([e["targets"] for e in examples], MAX_TARGETS, rows, np.int64)
    return {"inputs": torch.from_numpy(audio), "input_paddings": torch.from_numpy(audio_pad),
            "targets": torch.from_numpy(targets), "target_paddings": torch.from_numpy(target_pad),
            "weights": row_weights(len(examples), rows)}  # fmt: skip


def batches(root: Path, split: str, global_batch_size: int, seed: int = 0,
            num_examples: int | None = None,
            config: LoaderConfig = LoaderConfig()) -> Iterator[Batch]:  # fmt: skip
    """Batch dicts of ``split``: this rank's slice of each global batch."""
    items = utterances(Path(root), split)
    if split == "eval_train":
        order = example_rng(seed, 1 << 20).permutation(len(items))
        items = [items[i] for i in order]
    items = items[: num_examples or None]
    sampler = GlobalBatches(len(items), global_batch_size, seed, train=split == "train")
    return make_loader(Utterances(items), sampler, collate, config)


def check(root: Path) -> dict[str, int]:
    """Utterances per split (every file's presence checked, the first of each part read)."""
    root = Path(root)
    counts = {}
    for split, parts in SPLITS.items():
        total = 0
        for part in parts:
            ids = read_ids(root, part)
            if not ids:
                raise UserError(f"librispeech: {root / part}.csv lists no utterances")
            folder = root / part
            for uid in ids:
                for kind in ("audio", "targets"):
                    if not (folder / f"{uid}_{kind}.npy").is_file():
                        raise UserError(f"librispeech: {folder / uid}_{kind}.npy is missing "
                                        f"(listed in {part}.csv)")  # fmt: skip
            Utterances([(folder, ids[0])])[0, 0]
            total += len(ids)
        counts[split] = total
    counts["vocab"] = int(load_tokenizer(root).get_piece_size())
    return counts
