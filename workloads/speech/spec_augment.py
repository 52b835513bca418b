"""SpecAugment as data: AlgoPerf's masking settings, shared by both frameworks' speech models.

AlgoPerf's LibriSpeech models (Conformer and DeepSpeech, both frameworks) mask the
log-mel features in training mode only, after the frontend and before the convolutional
subsampler (https://arxiv.org/abs/1904.08779, masking only: no time warping). Each
utterance gets ``freq_mask_count`` frequency bands and ``time_mask_count`` time spans set
to zero. A mask's width is ``floor(max_width * u)`` with ``u ~ U[0, 1)``, capped at
``max(floor(time_mask_max_ratio * length), 1)`` (1.0 of the 80 bins for frequency), and
its start ``floor(u' * (length - width + 1))``, so a mask stays within the utterance's
``length`` real frames (from its paddings) or the bins. ``max_width`` is
``freq_mask_max_bins`` for frequency; for time it is ``time_mask_max_frames``, or, with
``use_dynamic_time_mask_max_frames`` (AlgoPerf's setting), ``time_mask_max_ratio *
length``: the fixed 40 frames are then ignored, as in AlgoPerf. With
``time_masks_per_frame > 0`` only the first ``time_masks_per_frame * length`` time masks
apply. The implementations, vectorised over the batch and the masks:
:class:`workloads.speech.layers.SpecAugment` (PyTorch, global RNG) and
:class:`workloads.speech.flax_layers.SpecAugment` (the ``dropout`` rng stream).

A workload turns SpecAugment on with the override ``spec_augment = true`` (the families'
full-size models in :mod:`workloads.full_size`); any field below may be overridden by
name, as ``librispeech_deepspeech_norm_and_spec_aug`` does (4 frequency and 15 time
masks). The CPU proxies leave it off: their targets were calibrated without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["SpecAugmentConfig", "spec_augment_config"]


@dataclasses.dataclass(frozen=True)
class SpecAugmentConfig:
    """AlgoPerf's SpecAugment settings (its defaults for both LibriSpeech families)."""

    freq_mask_count: int = 2
    freq_mask_max_bins: int = 27
    time_mask_count: int = 10
    time_mask_max_frames: int = 40
    time_mask_max_ratio: float = 0.05
    time_masks_per_frame: float = 0.0
    use_dynamic_time_mask_max_frames: bool = True


FIELDS = {f.name: f.type for f in dataclasses.fields(SpecAugmentConfig)}
_CAST = {"int": int, "float": float, "bool": bool}


def spec_augment_config(overrides: Mapping[str, Any]) -> SpecAugmentConfig | None:
    """The SpecAugment of a workload's ``overrides``: None unless ``spec_augment`` is set,
    else AlgoPerf's settings with any of :class:`SpecAugmentConfig`'s fields overridden.

    >>> spec_augment_config({}) is None
    True
    >>> spec_augment_config({"spec_augment": True, "time_mask_count": 15}).time_mask_count
    15
    """
    if not overrides.get("spec_augment", False):
        return None
    changed = {k: _CAST[str(t)](overrides[k]) for k, t in FIELDS.items() if k in overrides}
    return SpecAugmentConfig(**changed)
