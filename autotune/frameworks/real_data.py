"""Batches of a full-size workload, read from the real AlgoPerf dataset.

:class:`autotune.frameworks.torch_workload.TorchWorkload` calls :func:`input_queue`
when it was built with a dataset folder (``autotune run --data-dir DIR``); the JAX side
(:mod:`autotune.frameworks.jax_real_data`) reads through :func:`reader_batches`, so
both frameworks see the same batches in the same order. The reader is the family's
module in :mod:`autotune.datasets`; around it this module adds what a trial needs:

* **overlap**: a ``DataLoader`` with worker processes (:func:`loader_config`), pinned
  host memory on CUDA and ``prefetch_factor`` batches in flight per worker, then
  ``non_blocking`` copies to the device, so reading and preprocessing the next batches
  run while the submission trains on this one;
* **determinism**: the training order and augmentation depend only on the trial's data
  seed (never on the worker count);
* **sharding**: under DDP each rank reads its contiguous slice of every global
  training batch; evaluation splits are read whole on every rank (the workload
  evaluates the full split on each rank and broadcasts rank 0's metrics);
* **padding**: rows that only pad the last evaluation batch are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch

from autotune.datasets import LoaderConfig, loader
from autotune.datasets._common import unsharded
from autotune.errors import UserError
from autotune.facts import WorkloadFacts

__all__ = [
    "check_data_dir",
    "input_queue",
    "loader_config",
    "reader_batches",
    "split_size",
    "strip_padding",
]

Batch = dict[str, torch.Tensor]
# Workers per process: enough to keep one accelerator fed, never more than the cores.
MAX_WORKERS = 8


def check_data_dir(data_dir: str | Path, workload: str) -> Path:
    """The dataset folder, which must exist and belong to a workload with a reader (its
    contents are the reader's to check)."""
    loader(workload)  # a UserError for a workload without a real-data reader
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"dataset folder {path} does not exist (see `autotune data check`)")
    return path


def loader_config(device: torch.device, world: int = 1) -> LoaderConfig:
    """Loader workers per process (the cores left after one per rank, at most
    ``MAX_WORKERS``; ``$AUTOTUNE_DATA_WORKERS`` overrides), pinned memory on CUDA."""
    env = os.environ.get("AUTOTUNE_DATA_WORKERS")
    if env is not None:
        try:
            workers = int(env)
        except ValueError:
            raise UserError(f"AUTOTUNE_DATA_WORKERS={env!r} is not an integer") from None
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        workers = min(MAX_WORKERS, max(1, cores // max(world, 1) - 1))
    return LoaderConfig(num_workers=max(workers, 0), pin_memory=device.type == "cuda",
                        prefetch_factor=2)  # fmt: skip


def strip_padding(batch: Batch) -> Batch:
    """``batch`` without its trailing rows of weight 0 (the padding of a last batch)."""
    weights = batch.get("weights")
    if weights is None or not len(weights):
        return batch
    real = torch.nonzero(weights.reshape(len(weights), -1).sum(1) > 0)
    rows = int(real[-1]) + 1 if len(real) else 0
    return batch if rows == len(weights) else {k: v[:rows] for k, v in batch.items()}


def split_size(wf: WorkloadFacts, split: str) -> int | None:
    """AlgoPerf's number of examples of an evaluation split (None: train, or unknown)."""
    size = {"eval_train": wf.num_eval_train_examples, "validation": wf.num_validation_examples,
            "test": wf.num_test_examples}.get(split, 0)  # fmt: skip
    return size or None


def reader_batches(wf: WorkloadFacts, data_dir: Path, split: str, global_batch_size: int,
                   seed: int, config: LoaderConfig) -> Iterator[Batch]:  # fmt: skip
    """The reader's CPU batches of ``split``: training endless (under DDP this rank's
    slice), evaluation one whole pass of at most the split's AlgoPerf size, read whole on
    every rank, the last batch padded with rows of weight 0."""
    reader = loader(wf.name)
    if split == "train":
        return reader.batches(data_dir, split, global_batch_size, seed, None, config)
    with unsharded():
        return reader.batches(data_dir, split, global_batch_size, seed, split_size(wf, split),
                              config)  # fmt: skip


def input_queue(wf: WorkloadFacts, data_dir: Path, split: str, global_batch_size: int,
                seed: int, device: torch.device) -> Iterator[Batch]:  # fmt: skip
    """Device batches of ``split`` (see :func:`reader_batches`), evaluation padding rows
    dropped."""
    from autotune.frameworks.torch_ddp import active

    world = torch.distributed.get_world_size() if active() else 1
    config = loader_config(device, world)
    batches = reader_batches(wf, data_dir, split, global_batch_size, seed, config)
    return _to_device(batches, device, strip=split != "train")


def _to_device(batches: Iterator[Batch], device: torch.device, strip: bool) -> Iterator[Batch]:
    non_blocking = device.type == "cuda"  # from pinned memory: overlaps the copy
    for batch in batches:
        if strip:
            batch = strip_padding(batch)
        yield {k: v.to(device, non_blocking=non_blocking) for k, v in batch.items()}
