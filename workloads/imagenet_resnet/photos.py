"""Photo-crop image classification: the offline stand-in for ImageNet (and CIFAR-10).

The real photographs bundled in scikit-image, scikit-learn and matplotlib are the
classes: each example is a random square crop of one photo (side 32-128 px, random
horizontal flip), averaged down to ``image_size`` x ``image_size`` x 3, labelled by its
source photo. Training crops come from the left 75 % of each photo; validation and test
crops from the right 25 %, so evaluation measures generalisation to unseen image
regions. Validation and test are independent draws from that held-out region (as
ImageNet-v2 is a fresh draw of ImageNet's distribution). Grayscale photos are repeated
over the three channels.

Crops are built once per (photo set, sizes, seed) and cached as uint8 by
:func:`autotune.data_cache.cached_arrays`; :func:`photo_arrays` normalises them per
channel with the training mean and standard deviation into numpy splits that both
frameworks read (:func:`workload_photo_splits` at a workload's sizes). numpy only: the
area averaging reproduces ``torch.nn.functional.adaptive_avg_pool2d`` exactly (integer
window sums), so the cached crops are the same bytes as when torch computed them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from autotune.data_cache import cached_arrays
from autotune.errors import UserError
from autotune.spec import Workload

__all__ = [
    "CIFAR_PHOTOS",
    "IMAGENET_PHOTOS",
    "photo_arrays",
    "photo_crops",
    "workload_photo_splits",
]

DATA_VERSION = 1
TRAIN_FRACTION = 0.75  # columns [0, 75 %) train; [75 %, 100 %) validation and test
MIN_CROP, MAX_CROP = 32, 128


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        image = getattr(skimage.data, name)()
        return np.asarray(image[0] if isinstance(image, tuple) else image)

    return load


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(filename))

    return load


def _grace_hopper() -> np.ndarray:
    import matplotlib.cbook
    import matplotlib.image

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(matplotlib.image.imread(str(path)))


# Real photographs only (scikit-image's synthetic images are left out); `cat` is a copy
# of `chelsea` and the stereo pair's right image of its left one, so each is used once.
PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"), "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"), "rocket": _skimage("rocket"),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"), "retina": _skimage("retina"),
    "motorcycle": _skimage("stereo_motorcycle"), "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"), "grace_hopper": _grace_hopper,
    "camera": _skimage("camera"), "moon": _skimage("moon"), "brick": _skimage("brick"),
    "grass": _skimage("grass"), "gravel": _skimage("gravel"), "coins": _skimage("coins"),
    "page": _skimage("page"), "text": _skimage("text"), "clock": _skimage("clock"),
    "cell": _skimage("cell"),
}  # fmt: skip
IMAGENET_PHOTOS: tuple[str, ...] = tuple(PHOTOS)
CIFAR_PHOTOS: tuple[str, ...] = IMAGENET_PHOTOS[:10]  # the ten colour photographs


def _rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8, whatever the photo's channels and dtype."""
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _region(image: np.ndarray, held_out: bool) -> np.ndarray:
    cut = int(image.shape[1] * TRAIN_FRACTION)
    return image[:, cut:] if held_out else image[:, :cut]


def _area_average(crop: np.ndarray, size: int) -> np.ndarray:
    """``(side, side, 3)`` uint8 -> ``(3, size, size)`` float64 window means, the windows of
    ``torch.nn.functional.adaptive_avg_pool2d`` (``[floor(i s / n), ceil((i + 1) s / n))``),
    summed exactly in integers through an integral image."""
    side = crop.shape[0]
    idx = np.arange(size)
    start, end = (idx * side) // size, -((-(idx + 1) * side) // size)
    integral = np.zeros((side + 1, side + 1, 3), np.int64)
    integral[1:, 1:] = crop.astype(np.int64).cumsum(0).cumsum(1)
    r0, r1, c0, c1 = start[:, None], end[:, None], start[None, :], end[None, :]
    sums = integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]
    counts = ((r1 - r0) * (c1 - c0))[:, :, None]
    return np.moveaxis(sums / counts, -1, 0)


def _crops(region: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random square crops of ``region``, area-averaged to ``size`` x ``size``."""
    h, w, _ = region.shape
    biggest = min(MAX_CROP, h, w)
    sides = np.exp(rng.uniform(np.log(MIN_CROP), np.log(biggest), n)).astype(int)
    out = np.empty((n, 3, size, size), np.uint8)
    for i, side in enumerate(sides):
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        small = _area_average(region[top : top + side, left : left + side], size)
        if rng.random() < 0.5:
            small = small[:, :, ::-1]
        out[i] = np.clip(np.round(small), 0, 255).astype(np.uint8)
    return out


def photo_crops(
    photos: Sequence[str], sizes: dict[str, int], seed: int, image_size: int = 32
) -> dict[str, np.ndarray]:
    """Class-balanced crops per split: ``<split>_x`` (uint8 NCHW) and ``<split>_y``."""
    unknown = sorted(set(photos) - set(PHOTOS))
    if unknown:
        raise UserError(f"unknown photo(s) {unknown}; known: {', '.join(PHOTOS)}")
    images = [_rgb(PHOTOS[name]()) for name in photos]
    out: dict[str, np.ndarray] = {}
    for s_index, (split, n) in enumerate(sorted(sizes.items())):
        rng = np.random.default_rng([seed, s_index])
        per_class = -(-n // len(images))
        xs = [_crops(_region(im, split != "train"), per_class, image_size, rng) for im in images]
        ys = [np.full(per_class, c, np.int64) for c in range(len(images))]
        order = rng.permutation(per_class * len(images))[:n]
        out[f"{split}_x"] = np.concatenate(xs)[order]
        out[f"{split}_y"] = np.concatenate(ys)[order]
    return out


def _cache_key(photos: Sequence[str], sizes: dict[str, int], seed: int, image_size: int) -> str:
    spec = f"{list(photos)}|{sorted(sizes.items())}|{image_size}"
    digest = hashlib.sha256(spec.encode()).hexdigest()[:12]
    return f"photo-crops-v{DATA_VERSION}-{digest}-seed{seed}"


def photo_arrays(
    photos: Sequence[str], sizes: dict[str, int], seed: int, image_size: int = 32
) -> dict[str, dict[str, np.ndarray]]:
    """Normalised float32 numpy splits ``{split: {"inputs", "targets"}}``, cached on disk."""
    key = _cache_key(photos, sizes, seed, image_size)
    arrays = cached_arrays(key, lambda: photo_crops(photos, sizes, seed, image_size))
    train = arrays["train_x"].astype(np.float32)
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True)
    return {
        split: {
            "inputs": (arrays[f"{split}_x"].astype(np.float32) - mean) / std,
            "targets": arrays[f"{split}_y"],
        }
        for split in sizes
    }


def workload_photo_splits(
    workload: Workload, photos: tuple[str, ...], seed: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """The photo-crop splits at the sizes ``workload``'s facts give; ``eval_train`` is the
    first ``num_eval_train_examples`` of train (either framework's workload)."""
    sizes = {"train": workload.num_train_examples,
             "validation": workload.num_validation_examples,
             "test": workload.num_test_examples}  # fmt: skip
    splits = photo_arrays(photos, sizes, seed)
    n_eval_train = workload.num_eval_train_examples
    splits["eval_train"] = {k: v[:n_eval_train] for k, v in splits["train"].items()}
    return splits
