"""ImageNet ImageFolder loader on PIL JPEGs written into wnid folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from autotune.datasets import imagenet
from autotune.datasets._common import LoaderConfig
from tests.datasets.conftest import one_error_line

WNIDS = ("n01440764", "n01443537", "n01484850")


def _jpeg(path: Path, colour: int, size: tuple[int, int] = (40, 48)) -> None:
    rng = np.random.default_rng(colour)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    pixels[..., colour % 3] = 200
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "JPEG")


def write_fixture(root: Path) -> Path:
    """A tiny ImageNet folder: 3 classes, 12 train, 6 val and 3 ImageNet-v2 images."""
    for k, wnid in enumerate(WNIDS):
        for i in range(4):
            _jpeg(root / "train" / wnid / f"{wnid}_{i}.JPEG", 10 * k + i)
        for i in range(2):
            _jpeg(root / "val" / wnid / f"ILSVRC2012_val_{k}{i}.JPEG", 100 + 10 * k + i)
        _jpeg(root / "imagenet_v2" / str(k) / f"v2_{k}.jpeg", 200 + k, size=(50, 30))
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_fixture(tmp_path)


def test_train_batches_are_seeded_crops(root: Path) -> None:
    batch = next(imagenet.batches(root, "train", 4, seed=1))
    assert batch["inputs"].shape == (4, 3, 224, 224) and batch["inputs"].dtype == torch.float32
    assert set(batch["targets"].tolist()) <= {0, 1, 2} and batch["weights"].tolist() == [1] * 4
    again = next(imagenet.batches(root, "train", 4, seed=1, config=LoaderConfig(num_workers=2)))
    assert torch.equal(batch["inputs"], again["inputs"])  # workers do not change the result
    other = next(imagenet.batches(root, "train", 4, seed=2))
    assert not torch.equal(batch["inputs"], other["inputs"])


def test_eval_is_centre_crop_normalised_and_padded(root: Path) -> None:
    out = list(imagenet.batches(root, "validation", 4))
    assert [b["weights"].sum().item() for b in out] == [4, 2]  # 6 images, last batch padded
    assert torch.cat([b["targets"][b["weights"] > 0] for b in out]).tolist() == [0, 0, 1, 1, 2, 2]
    image = imagenet.open_rgb(next((root / "val" / WNIDS[0]).iterdir()))
    x = imagenet.eval_transform(image)
    resized = np.asarray(
        image.resize((256, int(256 * 48 / 40)), Image.Resampling.BILINEAR), np.float32
    )
    top = round((resized.shape[0] - 224) / 2)
    expect = (resized[top : top + 224, 16:240] - imagenet.MEAN) / imagenet.STD
    np.testing.assert_allclose(x.permute(1, 2, 0).numpy(), expect, atol=1e-5)


def test_crop_box_follows_torchvision_rule() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        left, top, right, bottom = imagenet._crop_box(300, 200, rng)
        w, h = right - left, bottom - top
        assert left >= 0 and right <= 300 and top >= 0 and bottom <= 200
        assert 0.08 * 60000 * 0.9 <= w * h <= 60000
    assert imagenet._crop_box(1000, 10, _NoFit()) == (493, 0, 506, 10)  # centre, 13x10 (ratio 4/3)


class _NoFit:
    """A generator whose crops never fit, to reach the centre-crop fallback."""

    def uniform(self, lo: float, hi: float) -> float:
        return hi

    def integers(self, lo: int, hi: int) -> int:
        return lo


def test_check_counts_splits(root: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    code, out = data_check("imagenet_resnet", root)
    assert code == 0, out
    assert (
        "train: 12" in out and "validation: 6" in out and "test: 3" in out and "classes: 3" in out
    )


def test_check_names_the_missing_or_corrupt_file(root: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    bad = root / "val" / WNIDS[1]
    for p in bad.iterdir():
        p.unlink()
    line = one_error_line(data_check("imagenet_vit", root)[1])
    assert f"validation has no images for class(es) {WNIDS[1]}" in line
    _jpeg(bad / "x.JPEG", 1)
    (root / "train" / WNIDS[2] / f"{WNIDS[2]}_0.JPEG").write_bytes(b"not a jpeg")
    line = one_error_line(data_check("imagenet_vit", root)[1])
    assert f"{WNIDS[2]}_0.JPEG is not a readable image" in line
    line = one_error_line(data_check("imagenet_resnet", root / "nowhere")[1])
    assert line.endswith("does not exist")
