"""The proxies' model code at AlgoPerf's full size, their metric and data generators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity as skimage_ssim

from autotune import facts
from workloads.criteo1tb.data import ClickModel, generate
from workloads.criteo1tb.dlrm import DlrmConfig, DlrmSmall
from workloads.fastmri.data import undersampling_mask
from workloads.fastmri.ssim import structural_similarity
from workloads.fastmri.unet import UNet, UNetConfig
from workloads.imagenet_resnet.photos import photo_crops
from workloads.imagenet_resnet.resnet import ResNet, ResNetConfig
from workloads.imagenet_vit.vit import ViT, ViTConfig

VIT_S16: dict[str, Any] = dict(width=384, depth=12, mlp_dim=1536, num_heads=6, patch_size=16, image_size=224,
               num_classes=1000)  # fmt: skip
DLRM: dict[str, Any] = dict(vocab_size=4_194_304, embed_dim=128, bottom_mlp=(512, 256, 128),
            top_mlp=(1024, 1024, 512, 256, 1))  # fmt: skip
FULL_SIZE = {
    "imagenet_resnet": (ResNet, ResNetConfig(stage_sizes=(3, 4, 6, 3), width=64,
                                             stem="imagenet", num_classes=1000)),
    "imagenet_vit": (ViT, ViTConfig(**VIT_S16)),
    "imagenet_vit_glu": (ViT, ViTConfig(**VIT_S16, use_glu=True)),
    "imagenet_vit_post_ln": (ViT, ViTConfig(**VIT_S16, use_post_layer_norm=True)),
    "imagenet_vit_map": (ViT, ViTConfig(**VIT_S16, use_map=True)),
    "fastmri": (UNet, UNetConfig(num_channels=32, num_pool_layers=4)),
    "fastmri_model_size": (UNet, UNetConfig(num_channels=64, num_pool_layers=3)),
    "fastmri_layernorm": (UNet, UNetConfig(num_channels=32, num_pool_layers=4,
                                           use_layer_norm=True)),
    "criteo1tb": (DlrmSmall, DlrmConfig(**DLRM)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FULL_SIZE))
def test_full_size_models_match_algoperf_parameter_counts(name: str) -> None:
    cls, config = FULL_SIZE[name]
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model: Any = cls(config)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == _official_num_params(name)


def _official_num_params(name: str) -> int:
    import tomllib

    family = facts.official(name, "v0.5").family
    with facts.facts_file(family).open("rb") as f:
        return int(tomllib.load(f)["official"][name]["num_params"])


def test_ssim_matches_scikit_image() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(3, 40, 36, generator=gen, dtype=torch.float64)
    b = a + 0.3 * torch.rand(3, 40, 36, generator=gen, dtype=torch.float64)
    ranges = torch.tensor([1.0, 1.5, 2.0], dtype=torch.float64)
    ours = structural_similarity(a, b, ranges)
    ref = [skimage_ssim(a[i].numpy(), b[i].numpy(), data_range=float(ranges[i])) for i in range(3)]
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10)


def test_undersampling_mask_keeps_the_centre_and_a_quarter_of_columns() -> None:
    rng = np.random.default_rng(0)
    masks = np.stack([undersampling_mask(320, rng) for _ in range(200)])
    assert masks[:, 148:173].all()  # int(320 * 0.08) = 25 centre columns from (320-25+1)//2
    assert abs(masks.mean() - 0.25) < 0.01


def test_photo_crops_are_balanced_deterministic_and_region_split() -> None:
    photos, sizes = ("astronaut", "camera", "coffee"), {"train": 12, "validation": 6}
    first, again = photo_crops(photos, sizes, seed=0), photo_crops(photos, sizes, seed=0)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert first["train_x"].shape == (12, 3, 32, 32) and first["train_x"].dtype == np.uint8
    assert np.bincount(first["validation_y"]).tolist() == [2, 2, 2]
    other = photo_crops(photos, sizes, seed=1)
    assert not np.array_equal(first["train_x"], other["train_x"])


def test_click_generator_hits_its_rate_and_leaves_room_to_learn() -> None:
    data = generate({"train": 20_000}, seed=0, model=ClickModel())
    y = data["train_y"]
    assert abs(y.mean() - 0.033) < 0.006
    base_rate_loss = -(y.mean() * np.log(y.mean()) + (1 - y.mean()) * np.log(1 - y.mean()))
    assert float(data["bayes_loss_train"]) < 0.8 * base_rate_loss


def test_variants_inherit_their_base_facts_but_not_its_targets() -> None:
    base, variant = facts.proxy("fastmri"), facts.proxy("fastmri_tanh")
    assert variant.num_train_examples == base.num_train_examples > 0
    assert variant.extra["max_batch_size"] == base.extra["max_batch_size"]
    assert variant.overrides == {"activation": "tanh"} and variant.base == "fastmri"


def test_a_variant_without_its_own_calibration_does_not_take_its_base_s() -> None:
    tables = {
        "fam": {"validation_target": 0.5, "step_hint": 100, "calibration": {"date": "d"}},
        "fam_v": {"base": "fam", "overrides": {"activation": "tanh"}, "validation_target": 0.4},
    }
    entry = facts._with_base(tables, "fam_v")
    assert entry["step_hint"] == 100 and entry["validation_target"] == 0.4
    assert "calibration" not in entry
