"""SpecAugment (PyTorch): identity in eval mode and for the proxies, masks within AlgoPerf's
bounds in training, on for the full-size speech models, stronger for the variant.

The masks are measured on all-ones features: a zeroed frequency bin is zero in every
frame, a zeroed frame in every bin. With one mask of a kind per utterance, each zero run
is one mask, so its width can be checked against its bound directly.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

from autotune import facts, registry
from autotune.testing import make_workload
from workloads.speech.layers import SpecAugment
from workloads.speech.spec_augment import SpecAugmentConfig, spec_augment_config

SPEECH = ("librispeech_conformer", "librispeech_deepspeech")
FREQ_ONLY = SpecAugmentConfig(freq_mask_count=1, time_mask_count=0)
TIME_ONLY = SpecAugmentConfig(freq_mask_count=0, time_mask_count=1)
STRONGER = SpecAugmentConfig(freq_mask_count=4, time_mask_count=15)  # norm_and_spec_aug


def _batch(b: int = 256, t: int = 1000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """All-ones features ``[b, t, 80]`` and paddings of random lengths in ``[t / 5, t]``."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(t // 5, t + 1, (b,), generator=gen)
    paddings = (torch.arange(t)[None, :] >= lengths[:, None]).float()
    return torch.ones(b, t, 80), paddings


def _augment(config: SpecAugmentConfig, x: torch.Tensor, p: torch.Tensor, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return SpecAugment(config).train()(x, p)


def _runs(zero: torch.Tensor) -> list[int]:
    """Widths of the runs of True in a 1-d boolean tensor."""
    edges = torch.diff(torch.cat([torch.tensor([0]), zero.int(), torch.tensor([0])]))
    starts, ends = torch.nonzero(edges == 1)[:, 0], torch.nonzero(edges == -1)[:, 0]
    return (ends - starts).tolist()


def _workload(name: str, **extra: Any) -> Any:
    """The full-size workload ``name`` (official facts) with ``extra`` overrides."""
    wf = facts.official(name, "v0.6")
    wf = dataclasses.replace(wf, overrides={**wf.overrides, **extra})
    return registry.workload_class(wf)(wf)


def test_eval_mode_and_the_proxies_leave_features_alone() -> None:
    x, p = _batch(8, 100)
    x = torch.randn_like(x)
    assert SpecAugment(SpecAugmentConfig()).eval()(x, p) is x
    for name in facts.proxy_names():
        if facts.proxy(name).family in SPEECH:
            model = make_workload(name, tiny=True).build_model()  # type: ignore[attr-defined]
            assert model.spec_augment is None, name


def test_frequency_masks_stay_within_their_bound() -> None:
    x, p = _batch()
    out = _augment(FREQ_ONLY, x, p)
    zero_bins = (out == 0).all(1)  # [B, 80]
    assert ((out == 0) | (out == 1)).all()
    assert torch.equal(out == 0, zero_bins[:, None, :].expand_as(out))
    widths = [w for row in zero_bins for w in _runs(row)]
    assert all(len(_runs(row)) <= 1 for row in zero_bins)
    assert max(widths) <= FREQ_ONLY.freq_mask_max_bins - 1 and max(widths) >= 20
    out = _augment(SpecAugmentConfig(time_mask_count=0), x, p)  # AlgoPerf's two masks
    assert int((out == 0).all(1).sum(1).max()) <= 2 * 26


@pytest.mark.parametrize("dynamic", [True, False])
def test_time_masks_stay_within_the_valid_frames_and_their_bound(dynamic: bool) -> None:
    config = dataclasses.replace(TIME_ONLY, use_dynamic_time_mask_max_frames=dynamic)
    x, p = _batch()
    out = _augment(config, x, p)
    zero_frames = (out == 0).all(2)  # [B, T]
    assert torch.equal(out == 0, zero_frames[..., None].expand_as(out))
    assert not (zero_frames & (p > 0)).any()  # padded frames are never masked
    lengths = (1 - p).sum(1)
    ratio_cap = torch.clamp(torch.floor(0.05 * lengths), min=1)
    cap = ratio_cap if dynamic else torch.clamp(ratio_cap, max=config.time_mask_max_frames - 1)
    widths = torch.tensor([sum(_runs(row)) for row in zero_frames])
    assert all(len(_runs(row)) <= 1 for row in zero_frames)
    assert (widths <= cap).all() and (widths > 0.8 * cap).any()
    assert bool((widths > 40).any()) == dynamic  # dynamic: up to 5% of up to 1000 frames


def test_algoperfs_time_masks_cover_at_most_ten_spans() -> None:
    x, p = _batch()
    zero_frames = (_augment(SpecAugmentConfig(freq_mask_count=0), x, p) == 0).all(2)
    cap = torch.clamp(torch.floor(0.05 * (1 - p).sum(1)), min=1)
    assert all(len(_runs(row)) <= 10 for row in zero_frames)
    assert (zero_frames.sum(1) <= 10 * cap).all() and zero_frames.any()


def test_masks_are_deterministic_given_the_seed() -> None:
    x, p = _batch(16, 300)
    config = SpecAugmentConfig()
    assert torch.equal(_augment(config, x, p, seed=3), _augment(config, x, p, seed=3))
    assert not torch.equal(_augment(config, x, p, seed=3), _augment(config, x, p, seed=4))


@pytest.mark.parametrize("name", SPEECH)
def test_full_size_models_mask_their_features_in_training_only(name: str) -> None:
    torch.manual_seed(0)
    model = _workload(name, tiny=True).build_model()
    assert model.spec_augment.config == SpecAugmentConfig()  # AlgoPerf's settings
    seen: list[torch.Tensor] = []
    model.spec_augment.register_forward_hook(lambda m, args, out: seen.append(out))
    x, p = torch.randn(2, 120, 80), torch.zeros(2, 120)
    with torch.no_grad():
        model.eval()(x, p)
        model.train()(x, p)
    assert torch.equal(seen[0], x)
    assert (seen[1] == 0).sum() > (x == 0).sum() and torch.equal(seen[1] != 0, seen[1] == x)


def test_mask_fields_override_algoperfs_settings() -> None:
    config = spec_augment_config({"spec_augment": True, "freq_mask_count": 4.0,
                                  "time_mask_count": 15})  # fmt: skip
    assert config == STRONGER and spec_augment_config({"freq_mask_count": 4}) is None


def test_the_norm_and_spec_aug_variant_has_stronger_masks() -> None:
    """The variant's official overrides (its ``workload.toml``) set 4 and 15 masks."""
    model = _workload("librispeech_deepspeech_norm_and_spec_aug", tiny=True).build_model()
    assert model.spec_augment.config == STRONGER
