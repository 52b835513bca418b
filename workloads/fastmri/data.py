"""Single-coil knee-MRI stand-in: ellipsoid phantoms through simulated k-space.

Each "volume" is a random 3-D phantom (a body ellipsoid with random internal
ellipsoids of other intensities) cut into ``slices_per_volume`` axial slices. Each
slice gets a smooth random phase, goes to k-space by a centred 2-D FFT, receives
complex Gaussian noise, and is undersampled by AlgoPerf's mask: 4x acceleration with a
fully sampled centre of 8 % of the columns and random other columns (fixed per
example, as AlgoPerf's per-example seeded masks are). The input is the zero-filled
magnitude reconstruction, the target the fully sampled magnitude; both are normalised
by the input's mean and standard deviation and clipped to [-6, 6], as AlgoPerf's input
pipeline does, and every example carries ``mean``, ``std`` and its volume's maximum
``volume_max`` for the SSIM metric.
"""

from __future__ import annotations

import numpy as np

from autotune.data_cache import cached_arrays
from autotune.spec import Workload

__all__ = [
    "ACCELERATION",
    "CENTER_FRACTION",
    "KEYS",
    "load_splits",
    "make_volumes",
    "undersampling_mask",
]

DATA_VERSION = 1
CENTER_FRACTION, ACCELERATION = 0.08, 4.0
KEYS = ("inputs", "targets", "mean", "std", "volume_max")  # per example, every split
SPLIT_SEED = 0


def undersampling_mask(num_cols: int, rng: np.random.Generator) -> np.ndarray:
    """AlgoPerf's column mask: the centre ``CENTER_FRACTION`` plus random columns, so
    that about ``1 / ACCELERATION`` of all columns are kept."""
    n_low = int(num_cols * CENTER_FRACTION)
    mask = np.zeros(num_cols, bool)
    pad = (num_cols - n_low + 1) // 2
    mask[pad : pad + n_low] = True
    prob = (num_cols / ACCELERATION - n_low) / (num_cols - n_low)
    return mask | (rng.random(num_cols) < prob)


def _phantom_volume(size: int, n_slices: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_slices, size, size)`` axial cuts through a random ellipsoid phantom."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing="ij")
    n_inner = rng.integers(4, 10)
    # (cx, cy, cz, a, b, c, angle, intensity): the body first, then inner structures.
    body = [rng.normal(0, 0.05), rng.normal(0, 0.05), 0.0, rng.uniform(0.7, 0.9),
            rng.uniform(0.6, 0.85), 1.2, rng.uniform(-0.3, 0.3), rng.uniform(0.5, 1.0)]  # fmt: skip
    inner = np.column_stack([
        rng.uniform(-0.45, 0.45, n_inner), rng.uniform(-0.45, 0.45, n_inner),
        rng.uniform(-0.6, 0.6, n_inner), rng.uniform(0.05, 0.35, n_inner),
        rng.uniform(0.05, 0.35, n_inner), rng.uniform(0.3, 0.9, n_inner),
        rng.uniform(0, np.pi, n_inner), rng.uniform(-0.4, 0.6, n_inner),
    ])  # fmt: skip
    volume = np.zeros((n_slices, size, size))
    for s, z in enumerate(np.linspace(-0.5, 0.5, n_slices)):
        for cx, cy, cz, a, b, c, angle, value in [body, *inner]:
            shrink = 1 - ((z - cz) / c) ** 2
            if shrink <= 0:
                continue
            cos, sin = np.cos(angle), np.sin(angle)
            u, v = (xx - cx) * cos + (yy - cy) * sin, -(xx - cx) * sin + (yy - cy) * cos
            volume[s] += value * ((u / a) ** 2 + (v / b) ** 2 <= shrink)
    return np.clip(volume, 0, None)


def _smooth_phase(size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing="ij")
    c = rng.normal(0, 0.6, 5)
    return c[0] + c[1] * xx + c[2] * yy + c[3] * xx * yy + c[4] * (xx**2 - yy**2)


def _fft2c(x: np.ndarray) -> np.ndarray:
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"),
                           axes=(-2, -1))  # fmt: skip


def _ifft2c(k: np.ndarray) -> np.ndarray:
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k, axes=(-2, -1)), norm="ortho"),
                           axes=(-2, -1))  # fmt: skip


def _examples(volume: np.ndarray, noise: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    size = volume.shape[-1]
    phase = np.stack([_smooth_phase(size, rng) for _ in volume])
    kspace = _fft2c(volume * np.exp(1j * phase))
    kspace += noise * (rng.normal(size=kspace.shape) + 1j * rng.normal(size=kspace.shape))
    masks = np.stack([undersampling_mask(size, rng) for _ in volume])[:, None, :]
    target = np.abs(_ifft2c(kspace))
    image = np.abs(_ifft2c(kspace * masks))
    mean = image.mean(axis=(1, 2))
    std = image.std(axis=(1, 2))
    norm = lambda x: np.clip((x - mean[:, None, None]) / std[:, None, None], -6, 6)  # noqa: E731
    return {
        "inputs": norm(image).astype(np.float32), "targets": norm(target).astype(np.float32),
        "mean": mean.astype(np.float32), "std": std.astype(np.float32),
        "volume_max": np.full(len(volume), target.max(), np.float32),
    }  # fmt: skip


def make_volumes(
    sizes: dict[str, int], seed: int, image_size: int = 64, slices_per_volume: int = 4,
    noise: float = 0.02,
) -> dict[str, np.ndarray]:  # fmt: skip
    """``<split>_<key>`` arrays for every split; ``sizes`` count slices."""
    out: dict[str, np.ndarray] = {}
    for index, (split, n) in enumerate(sorted(sizes.items())):
        rng = np.random.default_rng([seed, index])
        parts: dict[str, list[np.ndarray]] = {}
        for _ in range(-(-n // slices_per_volume)):
            volume = _phantom_volume(image_size, slices_per_volume, rng)
            for key, value in _examples(volume, noise, rng).items():
                parts.setdefault(key, []).append(value)
        for key, values in parts.items():
            out[f"{split}_{key}"] = np.concatenate(values)[:n]
    return out


def load_splits(workload: Workload, image_size: int) -> dict[str, dict[str, np.ndarray]]:
    """``{split: {key: array}}`` at ``workload``'s sizes (cached; read by either
    framework); ``eval_train`` is the first ``num_eval_train_examples`` of train."""
    sizes = {"train": workload.num_train_examples,
             "validation": workload.num_validation_examples,
             "test": workload.num_test_examples}  # fmt: skip
    key = f"fastmri-v{DATA_VERSION}-{image_size}px-{sorted(sizes.items())}-seed{SPLIT_SEED}"
    arrays = cached_arrays(key.replace(" ", ""),
                           lambda: make_volumes(sizes, SPLIT_SEED, image_size))  # fmt: skip
    splits = {s: {k: arrays[f"{s}_{k}"] for k in KEYS} for s in sizes}
    n = workload.num_eval_train_examples
    splits["eval_train"] = {k: v[:n] for k, v in splits["train"].items()}
    return splits
