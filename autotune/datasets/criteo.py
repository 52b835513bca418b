"""Criteo 1TB click logs as the day files in TSV, streamed.

Format read (``DIR``): ``day_0 ... day_23`` split into line chunks ``day_<d>_<NN>``
(AlgoPerf splits each day into 5M-line files; a ``.gz`` suffix is accepted). One click
per line, 40 tab-separated fields::

    label \\t I1 ... I13 \\t C1 ... C26

``label`` is 0 or 1; ``I*`` are integer counts, possibly empty; ``C*`` are 8-hex-digit
hashed categories, possibly empty. Splits (AlgoPerf's): ``train`` = days 0-22; of the
36 sorted ``day_23_NN`` files the first ``36 // 2 + 1`` (00-18) are ``test`` and the
rest ``validation`` (the same rule on however many ``day_23_NN`` files are present).

Preprocessing (AlgoPerf's): dense ``log(relu(x) + 1)`` with empty or ``-1`` read as 0;
categorical field ``k`` (empty read as ``00000000``) hashed with a per-column key, then
``% vocab_size`` (4 194 304). The hash is pandas' SipHash, not TensorFlow's FarmHash, so
bucket ids differ from AlgoPerf's but are spread the same way. Batches: ``inputs``
``[B, 39]`` float32 (13 dense then 26 bucket ids, exact in float32 below 2**24),
``targets`` ``[B]`` float32, ``weights`` (0 on padding rows).
"""

from __future__ import annotations

import gzip
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from autotune.datasets._common import (
    Batch,
    LoaderConfig,
    example_rng,
    pad_rows,
    per_rank,
    rank_world,
    row_weights,
)  # fmt: skip
from autotune.errors import UserError

__all__ = ["DayFiles", "batches", "check", "parse_lines", "split_files"]

NUM_DENSE, NUM_CAT = 13, 26
NUM_FIELDS = 1 + NUM_DENSE + NUM_CAT
VOCAB_SIZE = 4_194_304
SHUFFLE_BATCHES = 8  # lines shuffled together: this many global batches
FILE_RE = re.compile(r"^day_(\d+)(?:_(\d+))?(?:\.gz)?$")


def _day_files(root: Path) -> dict[int, list[Path]]:
    days: dict[int, list[Path]] = {}
    for p in sorted(Path(root).iterdir()):
        m = FILE_RE.match(p.name)
        if m and p.is_file():
            days.setdefault(int(m[1]), []).append(p)
    return days


def split_files(root: Path, split: str) -> list[Path]:
    """The sorted files of ``split`` (``eval_train`` reads the training files)."""
    if not Path(root).is_dir():
        raise UserError(f"criteo1tb: directory {root} is missing")
    days = _day_files(root)
    if split in ("train", "eval_train"):
        files = [p for d in range(23) for p in days.get(d, [])]
        if not files:
            raise UserError(f"criteo1tb: no training files day_0_* ... day_22_* in {root}")
        return files
    day23 = [p for p in days.get(23, []) if FILE_RE.match(p.name)[2] is not None]  # type: ignore[index]
    if not day23:
        raise UserError(f"criteo1tb: no day_23_NN files in {root} (split day_23 into "
                        "5M-line files: split -l 5000000 -d day_23 day_23_)")  # fmt: skip
    n_test = len(day23) // 2 + 1 if len(day23) > 1 else 1
    files = day23[:n_test] if split == "test" else day23[n_test:]
    if not files:
        raise UserError(f"criteo1tb: the {split} split needs at least 2 day_23_NN files")
    return files


def open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="ascii", newline="\n")
    return path.open("r", encoding="ascii", newline="\n")


def parse_lines(lines: list[str], vocab_size: int = VOCAB_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs [n, 39] float32, labels [n] float32)`` of raw TSV lines."""
    import pandas as pd

    if not lines:
        return np.zeros((0, NUM_DENSE + NUM_CAT), np.float32), np.zeros(0, np.float32)
    dtypes: dict[int, Any] = {0: np.float32, **dict.fromkeys(range(1, 14), np.float64),
                              **dict.fromkeys(range(14, NUM_FIELDS), object)}  # fmt: skip
    try:
        frame = pd.read_csv(io.StringIO("".join(lines)), sep="\t", header=None,
                            names=list(range(NUM_FIELDS)), dtype=dtypes, quoting=3,
                            na_values={k: ["-1"] for k in range(1, 14)})  # fmt: skip
    except (ValueError, pd.errors.ParserError) as e:
        raise UserError(
            f"criteo1tb: malformed TSV lines ({e}); run `autotune data check`"
        ) from None
    dense = np.log(np.maximum(frame.iloc[:, 1:14].fillna(0).to_numpy(), 0) + 1)
    cats = np.empty((len(frame), NUM_CAT), np.float32)
    for k in range(NUM_CAT):
        values = frame[14 + k].fillna("00000000").to_numpy(dtype=object)
        hashed = pd.util.hash_array(values, hash_key=f"criteo1tb-col{k:03d}", categorize=True)
        cats[:, k] = hashed % np.uint64(vocab_size)
    inputs = np.concatenate([dense.astype(np.float32), cats], axis=1)
    return inputs, frame[0].to_numpy(np.float32, copy=True)


class DayFiles(IterableDataset[Batch]):
    """This rank's slice of each global batch of lines, read file by file.

    Worker ``w`` of ``W`` reads files ``w, w + W, ...`` (of the epoch's seeded file
    order when training) and shuffles lines within ``SHUFFLE_BATCHES`` global batches.
    """

    def __init__(self, files: list[Path], global_batch_size: int, seed: int, train: bool,
                 vocab_size: int = VOCAB_SIZE) -> None:  # fmt: skip
        self.files, self.size, self.seed, self.train = files, global_batch_size, seed, train
        self.vocab_size = vocab_size
        self.rank, world = rank_world()
        self.local = per_rank(global_batch_size, world)

    def _lines(self, epoch: int, worker: int, workers: int) -> Iterator[list[str]]:
        order = example_rng(self.seed, epoch).permutation(len(self.files)) if self.train else \
            np.arange(len(self.files))  # fmt: skip
        chunk = self.size * (SHUFFLE_BATCHES if self.train else 1)
        for n, f in enumerate(order[worker::workers]):
            with open_text(self.files[f]) as fh:
                for c in itertools.count():
                    lines = list(itertools.islice(fh, chunk))
                    if not lines:
                        break
                    if self.train:
                        example_rng(self.seed, epoch, n, c).shuffle(lines)
                    yield lines

    def _batch(self, lines: list[str]) -> Batch:
        mine = lines[self.rank * self.local : (self.rank + 1) * self.local]
        inputs, labels = parse_lines(mine, self.vocab_size)
        return {"inputs": torch.from_numpy(pad_rows(inputs, self.local)),
                "targets": torch.from_numpy(pad_rows(labels, self.local)),
                "weights": row_weights(len(mine), self.local)}  # fmt: skip

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for epoch in itertools.count():
            carry: list[str] = []
            for lines in self._lines(epoch, worker, workers):
                carry += lines
                while len(carry) >= self.size:
                    yield self._batch(carry[: self.size])
                    carry = carry[self.size :]
            if not self.train:
                if carry:
                    yield self._batch(carry)
                return


def batches(root: Path, split: str, global_batch_size: int, seed: int = 0,
            num_examples: int | None = None,
            config: LoaderConfig = LoaderConfig()) -> Iterator[Batch]:  # fmt: skip
    """Batch dicts of ``split``; ``num_examples`` stops an eval split early."""
    dataset = DayFiles(split_files(Path(root), split), global_batch_size, seed,
                       train=split == "train")  # fmt: skip
    extra: dict[str, Any] = (
        {
            "prefetch_factor": config.prefetch_factor,
            "multiprocessing_context": config.multiprocessing_context,
        }
        if config.num_workers
        else {}
    )
    loader = DataLoader(dataset, batch_size=None, num_workers=config.num_workers,
                        pin_memory=config.pin_memory and torch.cuda.is_available(), **extra)  # fmt: skip
    it = iter(loader)
    if num_examples and split != "train":
        return itertools.islice(it, -(-num_examples // global_batch_size))
    return it


_INT = re.compile(r"^-?\d*$")
_HEX = re.compile(r"^[0-9a-fA-F]{8}$|^$")


def check_line(line: str, where: str) -> None:
    """Raise ``UserError`` naming the first malformed field of one TSV line."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != NUM_FIELDS:
        raise UserError(f"criteo1tb: {where} has {len(fields)} tab-separated fields, expected "
                        f"{NUM_FIELDS} (label, I1..I13, C1..C26)")  # fmt: skip
    if fields[0] not in ("0", "1"):
        raise UserError(f"criteo1tb: {where}: label '{fields[0]}' is not 0 or 1")
    for k, value in enumerate(fields[1:14], start=1):
        if not _INT.match(value):
            raise UserError(f"criteo1tb: {where}: I{k} '{value}' is not an integer or empty")
    for k, value in enumerate(fields[14:], start=1):
        if not _HEX.match(value):
            raise UserError(f"criteo1tb: {where}: C{k} '{value}' is not 8 hex digits or empty")


def check(root: Path, lines_per_file: int = 1000) -> dict[str, int]:
    """Files per split; the first ``lines_per_file`` lines of each file are validated."""
    counts: dict[str, int] = {}
    for split in ("train", "validation", "test"):
        files = split_files(Path(root), split)
        for path in files:
            try:
                with open_text(path) as fh:
                    head = list(itertools.islice(fh, lines_per_file))
            except (OSError, EOFError, UnicodeDecodeError) as e:
                raise UserError(f"criteo1tb: {path} does not read as text ({e})") from None
            if not head:
                raise UserError(f"criteo1tb: {path} is empty")
            for i, line in enumerate(head, start=1):
                check_line(line, f"line {i} of {path}")
        counts[f"{split} files"] = len(files)
    return counts
