"""fastMRI loader on 2-slice single-coil volumes written with h5py (shapes scaled down)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from autotune.datasets import fastmri
from tests.datasets.conftest import one_error_line
from workloads.fastmri.data import undersampling_mask

h5py = pytest.importorskip("h5py")
KSPACE, TARGET = (32, 24), (16, 16)


def _phantom(rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[-1 : 1 : KSPACE[0] * 1j, -1 : 1 : KSPACE[1] * 1j]
    image = ((x / 0.8) ** 2 + (y / 0.9) ** 2 < 1).astype(np.float64)
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    return image + 0.5 * (((x - cx) / 0.2) ** 2 + ((y - cy) / 0.3) ** 2 < 1)


def _volume(path: Path, seed: int, slices: int = 2) -> None:
    rng = np.random.default_rng(seed)
    images = np.stack([_phantom(rng) for _ in range(slices)])
    kspace = np.fft.fftshift(
        np.fft.fft2(np.fft.ifftshift(images, axes=(1, 2)), norm="ortho"), axes=(1, 2)
    )
    top, left = (KSPACE[0] - TARGET[0]) // 2, (KSPACE[1] - TARGET[1]) // 2
    target = np.abs(images[:, top : top + TARGET[0], left : left + TARGET[1]]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", data=kspace.astype(np.complex64))
        f.create_dataset("reconstruction_esc", data=target)
        f.attrs["max"] = float(target.max())


def write_fixture(root: Path) -> Path:
    """Two training and two validation volumes of two slices each."""
    for i in range(2):
        _volume(root / fastmri.TRAIN_DIR / f"file100{i}.h5", i)
        _volume(root / fastmri.VAL_DIR / f"file200{i}.h5", 10 + i)
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_fixture(tmp_path)


def test_mask_has_centre_band_and_quarter_of_columns() -> None:
    mask = undersampling_mask(368, np.random.default_rng(0))
    n_low = int(368 * 0.08)
    pad = (368 - n_low + 1) // 2
    assert mask[pad : pad + n_low].all() and 0 < mask.sum() < 368
    masks = np.stack([undersampling_mask(368, np.random.default_rng(s)) for s in range(200)])
    assert abs(masks.mean() - 0.25) < 0.01  # 4x acceleration on average


def test_preprocess_matches_direct_formula() -> None:
    rng = np.random.default_rng(3)
    image = _phantom(rng)
    kspace = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image), norm="ortho")).astype(
        np.complex64
    )
    target = image[8:24, 4:20].astype(np.float32)
    out = fastmri.preprocess(kspace, target, 1.5, np.random.default_rng(7))
    mask = undersampling_mask(KSPACE[1], np.random.default_rng(7))
    zero_filled = np.abs(
        np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace * mask), norm="ortho"))
    )[8:24, 4:20]
    mean, std = zero_filled.mean(), zero_filled.std()
    np.testing.assert_allclose(out["inputs"], np.clip((zero_filled - mean) / std, -6, 6), atol=1e-4)
    np.testing.assert_allclose(out["targets"], np.clip((target - mean) / std, -6, 6), atol=1e-4)
    assert out["mean"] == pytest.approx(mean, rel=1e-5) and out["volume_max"] == 1.5


def test_batches(root: Path) -> None:
    val = list(fastmri.batches(root, "validation", 3))
    assert [b["weights"].tolist() for b in val] == [[1, 1, 1], [1, 0, 0]]
    assert val[0]["inputs"].shape == (3, *TARGET) and val[0]["targets"].dtype == torch.float32
    with h5py.File(root / fastmri.VAL_DIR / "file2000.h5") as f:
        assert val[0]["volume_max"][0] == pytest.approx(f.attrs["max"])
    a = next(fastmri.batches(root, "train", 2, seed=4))
    b = next(fastmri.batches(root, "train", 2, seed=4))
    assert torch.equal(a["inputs"], b["inputs"]) and a["weights"].tolist() == [1, 1]


def test_check_counts(root: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    code, out = data_check("fastmri", root)
    assert code == 0, out
    assert "train slices: 4" in out and "validation volumes: 2" in out and "test volumes: 0" in out


def test_check_names_corrupt_and_incomplete_volumes(root: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    (root / fastmri.VAL_DIR / "file2001.h5").write_bytes(b"\x89HDF\r\n garbage")
    assert "file2001.h5 is not a readable HDF5 file" in one_error_line(
        data_check("fastmri", root)[1]
    )
    with h5py.File(root / fastmri.VAL_DIR / "file2001.h5", "w") as f:
        f.create_dataset("kspace", data=np.zeros((2, *KSPACE), np.complex64))
    assert "file2001.h5 has no dataset 'reconstruction_esc'" in one_error_line(
        data_check("fastmri_tanh", root)[1])  # fmt: skip
    for p in (root / fastmri.TRAIN_DIR).iterdir():
        p.unlink()
    assert "knee_singlecoil_train has no .h5 volumes" in one_error_line(
        data_check("fastmri", root)[1]
    )
