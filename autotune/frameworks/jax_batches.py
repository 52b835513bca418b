"""Host-side batches of the JAX workloads: numpy dicts, padded and shuffled.

A batch is a dict of numpy arrays with one row per example (``inputs``, ``targets`` and,
for eval batches, ``weights``); :class:`~autotune.frameworks.jax_workload.JaxWorkload`
places it on the devices in the layout of the submission's era.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["NumpyBatch", "pad_rows", "shuffled_batches"]

NumpyBatch = dict[str, np.ndarray]


def pad_rows(batch: NumpyBatch, size: int) -> NumpyBatch:
    """``batch`` padded with zero rows to ``size`` examples; ``weights`` (1 on the real
    rows unless given) is 0 on the padding, so no metric counts it."""
    real = len(next(iter(batch.values())))
    batch = {"weights": np.ones(real, np.float32), **batch}
    if real == size:
        return batch
    return {k: np.pad(v, [(0, size - real)] + [(0, 0)] * (v.ndim - 1)) for k, v in batch.items()}


def shuffled_batches(data: NumpyBatch, batch_size: int, seed: int) -> Iterator[NumpyBatch]:
    """Endless epochs of shuffled, equally sized batches (a short final batch is dropped)."""
    n = len(data["targets"])
    batch_size = min(batch_size, n)
    gen = np.random.default_rng(seed)
    while True:
        order = gen.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start : start + batch_size]
            yield {k: v[idx] for k, v in data.items()}
