"""Machinery shared by the real-data loaders: seeded index batches, rank sharding, padding.

Every map-style loader works the same way. :class:`GlobalBatches` draws, per epoch, a
permutation of the split from ``(seed, epoch)`` (eval splits keep file order), cuts it
into global batches and hands this rank its contiguous ``1/world`` slice of each, as
pairs ``(index, example_seed)``; a ``torch.utils.data.DataLoader`` with that batch
sampler loads examples in worker processes, and ``collate`` pads each slice to its full
per-rank size with ``weights`` 0 on the padding rows (AlgoPerf's
``shard_and_maybe_pad_np``). Augmentation draws from ``example_seed`` only, so a run is
reproducible whatever the worker count.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from autotune.errors import UserError

__all__ = [
    "Batch",
    "Example",
    "GlobalBatches",
    "LoaderConfig",
    "example_rng",
    "make_loader",
    "pad_rows",
    "rank_world",
    "require_dir",
    "require_file",
    "unsharded",
]

Batch = dict[str, torch.Tensor]
Example = dict[str, Any]
SPLITS = ("train", "eval_train", "validation", "test")


@dataclass(frozen=True)
class LoaderConfig:
    """How to run the loading: worker processes (started by ``multiprocessing_context``,
    e.g. ``"forkserver"`` in a process whose threads make ``fork`` unsafe, as JAX's do;
    None: the platform's default), pinned memory, batches prefetched."""

    num_workers: int = 0
    pin_memory: bool = False
    prefetch_factor: int = 2
    multiprocessing_context: str | None = None


_UNSHARDED = contextvars.ContextVar("autotune_unsharded", default=False)


@contextlib.contextmanager
def unsharded() -> Iterator[None]:
    """Loaders created inside read every row on every rank (whole evaluation splits)."""
    token = _UNSHARDED.set(True)
    try:
        yield
    finally:
        _UNSHARDED.reset(token)


def rank_world() -> tuple[int, int]:
    """This process's rank and the world size (0, 1 outside ``torch.distributed`` or
    inside :func:`unsharded`)."""
    if dist.is_available() and dist.is_initialized() and not _UNSHARDED.get():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def per_rank(global_batch_size: int, world: int) -> int:
    if global_batch_size % world:
        raise UserError(f"global batch size {global_batch_size} is not divisible by the "
                        f"{world} ranks")  # fmt: skip
    return global_batch_size // world


def example_rng(*key: int) -> np.random.Generator:
    """A generator determined by ``key`` alone (seed, epoch, index, ...)."""
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in key])


class GlobalBatches(Sampler[list[tuple[int, int]]]):
    """Per-rank slices of seeded global batches, as ``[(index, example_seed), ...]``.

    Training: reshuffled every epoch, last incomplete batch dropped, repeated forever.
    Evaluation: one pass in order, the last batch kept (padded later by ``collate``).
    """

    def __init__(self, n: int, global_batch_size: int, seed: int, train: bool,
                 shuffle: bool | None = None) -> None:  # fmt: skip
        self.n, self.size, self.seed, self.train = n, global_batch_size, seed, train
        self.shuffle = train if shuffle is None else shuffle
        self.rank, self.world = rank_world()
        self.local = per_rank(global_batch_size, self.world)
        if train and n < global_batch_size:
            raise UserError(f"the training split has {n} examples, fewer than one global "
                            f"batch of {global_batch_size}")  # fmt: skip

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n)
        return example_rng(self.seed, epoch).permutation(self.n)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch = 0
        while True:
            order = self._order(epoch)
            stop = self.n - self.n % self.size if self.train else self.n
            for start in range(0, stop, self.size):
                lo = start + self.rank * self.local
                rows = order[lo : min(lo + self.local, stop, start + self.size)]
                yield [(int(i), _example_seed(self.seed, epoch, int(i))) for i in rows]
            if not self.train:
                return
            epoch += 1

    def __len__(self) -> int:
        if self.train:
            return 2**62  # endless
        return -(-self.n // self.size)


def _example_seed(seed: int, epoch: int, index: int) -> int:
    return int(example_rng(seed, epoch, index).integers(2**31))


def pad_rows(array: np.ndarray, rows: int, value: float = 0) -> np.ndarray:
    """``array`` with its first axis padded to ``rows`` by ``value``."""
    extra = rows - len(array)
    if extra <= 0:
        return array
    widths = [(0, extra)] + [(0, 0)] * (array.ndim - 1)
    return np.pad(array, widths, constant_values=value)


def row_weights(real: int, rows: int) -> torch.Tensor:
    """1 for the ``real`` examples, 0 for padding rows."""
    w = torch.zeros(rows, dtype=torch.float32)
    w[:real] = 1.0
    return w


def make_loader(dataset: Dataset[Example], sampler: GlobalBatches,
                collate: Callable[[Sequence[Example], int], Batch],
                config: LoaderConfig) -> Iterator[Batch]:  # fmt: skip
    """Batches of ``dataset`` in ``sampler`` order, each padded to the per-rank size."""
    extra: dict[str, Any] = {}
    if config.num_workers:
        extra = {"prefetch_factor": config.prefetch_factor, "persistent_workers": True,
                 "multiprocessing_context": config.multiprocessing_context}  # fmt: skip
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=functools.partial(_collate_to, collate, sampler.local),
        num_workers=config.num_workers,
        pin_memory=config.pin_memory and torch.cuda.is_available(),
        **extra,
    )
    return iter(loader)


def _collate_to(collate: Callable[[Sequence[Example], int], Batch], rows: int,
                examples: Sequence[Example]) -> Batch:  # fmt: skip
    return collate(examples, rows)


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise UserError(f"{what}: directory {path} is missing")
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise UserError(f"{what}: file {path} is missing")
    if os.path.getsize(path) == 0:
        raise UserError(f"{what}: file {path} is empty")
    return path
