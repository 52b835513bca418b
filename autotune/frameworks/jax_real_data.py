"""Batches of a full-size JAX workload, read from the real AlgoPerf dataset.

:class:`autotune.frameworks.jax_workload.JaxWorkload` calls :func:`numpy_batches` when
it was built with a dataset folder (``autotune run --framework jax --data-dir DIR``).
The batches are the PyTorch side's (:func:`autotune.frameworks.real_data.reader_batches`:
the same reader, the same order given the data seed, the same evaluation split sizes);
this module adds what one JAX process feeding all its local devices needs:

* **safe workers**: loader worker processes start from a fork server, never by forking
  the multithreaded JAX process;
* **numpy at the boundary**: the readers' CPU tensors become numpy arrays once, here,
  64-bit types narrowed to 32 bits (JAX's default precision);
* **one process, no rank sharding**: ``torch.distributed`` is not initialised under
  JAX, so every reader yields whole global batches; the workload shards them over the
  devices when placing them;
* **fixed evaluation shapes**: evaluation batches keep their padding rows (weight 0) and
  are padded to the requested size, a multiple of the device count, so the eval step
  compiles once per split width.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autotune.datasets import LoaderConfig, loader
from autotune.datasets._common import unsharded
from autotune.facts import WorkloadFacts
from autotune.frameworks import real_data
from autotune.frameworks.jax_batches import NumpyBatch, pad_rows

__all__ = ["example_batch", "numpy_batches", "to_numpy"]

# Loader workers start from a fork server, not by forking this process: JAX's threads
# make ``fork`` unsafe (a child may inherit a held lock and deadlock).
WORKER_START = "forkserver"
NARROW = {np.dtype(np.int64): np.int32, np.dtype(np.float64): np.float32}


def to_numpy(batch: dict[str, Any]) -> NumpyBatch:
    """A reader's batch of CPU tensors as numpy arrays, 64-bit types narrowed to 32."""
    out = {}
    for k, v in batch.items():
        array = v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        narrow = NARROW.get(array.dtype)
        out[k] = array.astype(narrow) if narrow is not None else array
    return out


def numpy_batches(wf: WorkloadFacts, data_dir: Path, split: str, global_batch_size: int,
                  seed: int) -> Iterator[NumpyBatch]:  # fmt: skip
    """Host batches of ``split``: training endless, ``global_batch_size`` examples each;
    evaluation one pass of the split's AlgoPerf size in batches of exactly
    ``global_batch_size`` rows (padding rows of weight 0)."""
    config = dataclasses.replace(real_data.loader_config(torch.device("cpu")),
                                 multiprocessing_context=WORKER_START)  # fmt: skip
    # the fork server imports the reader (and torch) once; each worker forks from it
    multiprocessing.set_forkserver_preload([loader(wf.name).__name__])
    batches = real_data.reader_batches(wf, data_dir, split, global_batch_size, seed, config)
    if split == "train":
        return map(to_numpy, batches)
    return (pad_rows(to_numpy(b), global_batch_size) for b in batches)


def example_batch(wf: WorkloadFacts, data_dir: Path) -> NumpyBatch:
    """One validation example, read in this process (for shapes at initialisation)."""
    with unsharded():
        batches = loader(wf.name).batches(data_dir, "validation", 1, 0, 1, LoaderConfig())
    return to_numpy(next(iter(batches)))
