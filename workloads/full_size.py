"""AlgoPerf's full-size model of every family, stored once for both frameworks.

Each entry gives the overrides of the family's model config (the dataclass or
``model_config`` shared by ``pytorch.py`` and ``jax.py``) that turn the proxy's model
into AlgoPerf's architecture. A workload built with official facts (``--data-dir``)
starts from its family's entry and applies the variant's overrides on top
(:func:`model_overrides`); a proxy uses its own overrides only. Framework-free: both
:class:`autotune.frameworks.torch_workload.TorchWorkload` and
:class:`autotune.frameworks.jax_workload.JaxWorkload` read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from autotune.facts import WorkloadFacts

__all__ = ["FULL_SIZE_MODELS", "model_overrides"]

_MODELS: dict[str, dict[str, Any]] = {
    # ResNet-50 on ImageNet (25.56M parameters).
    "imagenet_resnet": {"stage_sizes": (3, 4, 6, 3), "width": 64, "stem": "imagenet",
                        "num_classes": 1000},
    # ViT-S/16 on ImageNet (22.12M parameters).
    "imagenet_vit": {"width": 384, "depth": 12, "mlp_dim": 1536, "num_heads": 6,
                     "patch_size": 16, "image_size": 224, "num_classes": 1000},
    # DLRM-small (539M parameters, nearly all in the embedding table).
    "criteo1tb": {"vocab_size": 4194304, "embed_dim": 128, "bottom_mlp": (512, 256, 128),
                  "top_mlp": (1024, 1024, 512, 256, 1)},
    # The U-Net (7.76M parameters).
    "fastmri": {"num_channels": 32, "num_pool_layers": 4},
    # The GNN on ogbg-molpcba (3.55M parameters).
    "ogbg": {"latent_dim": 256, "hidden_dims": (256,), "num_message_passing_steps": 5},
    # The Transformer on WMT (133.52M parameters, 32k shared vocabulary).
    "wmt": {"vocab_size": 32000, "d_model": 1024, "num_heads": 16, "mlp_dim": 1024,
            "num_layers": 6},
    # The Conformer (32.32M parameters, 1024 SentencePiece outputs) with AlgoPerf's
    # SpecAugment (workloads.speech.spec_augment).
    "librispeech_conformer": {"vocab_size": 1024, "encoder_dim": 512, "num_heads": 8,
                              "num_blocks": 4, "kernel_size": 5,
                              "subsample_channels": 512, "spec_augment": True},
    # DeepSpeech (18.39M parameters, 1024 SentencePiece outputs) with AlgoPerf's
    # SpecAugment (workloads.speech.spec_augment).
    "librispeech_deepspeech": {"vocab_size": 1024, "encoder_dim": 512, "num_lstm_layers": 6,
                               "num_ffn_layers": 3, "conv_channels": 512,
                               "spec_augment": True},
}  # fmt: skip
FULL_SIZE_MODELS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {family: MappingProxyType(model) for family, model in _MODELS.items()}
)


def model_overrides(wf: WorkloadFacts) -> dict[str, Any]:
    """The model overrides of the workload ``wf`` describes: for official (full-size)
    facts the family's AlgoPerf architecture, then the variant's own overrides."""
    base = FULL_SIZE_MODELS.get(wf.family, {}) if wf.kind == "official" else {}
    return {**base, **wf.overrides}
