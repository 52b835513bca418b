"""The conformer proxy's model size and variant knobs, read from a workload's overrides.

Shared by the PyTorch and JAX workloads, so a variant (``attention_temperature``,
``use_post_layer_norm``, ``activation``) and the ``tiny`` model mean the same in both.
``spec_augment`` (and SpecAugment's fields) give the model's
:class:`~workloads.speech.spec_augment.SpecAugmentConfig`: on at full size, off for the
proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workloads.speech.data import ALPHABET
from workloads.speech.spec_augment import spec_augment_config

__all__ = ["TINY", "model_config"]

# The model of ``tiny`` runs (contract tests).
TINY = {"encoder_dim": 16, "num_heads": 2, "num_blocks": 1, "kernel_size": 3,
        "subsample_channels": 4}  # fmt: skip


def model_config(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the Conformer (either framework's)."""
    o = {**overrides, **(TINY if overrides.get("tiny") else {})}
    return {
        "vocab_size": int(o.get("vocab_size", len(ALPHABET) + 1)),  # + the CTC blank
        "encoder_dim": int(o.get("encoder_dim", 64)),
        "num_heads": int(o.get("num_heads", 4)),
        "num_blocks": int(o.get("num_blocks", 2)),
        "kernel_size": int(o.get("kernel_size", 15)),
        "subsample_channels": int(o.get("subsample_channels", 32)),
        "dropout_rate": float(o.get("dropout_rate", 0.1)),
        "attention_temperature": float(o.get("attention_temperature", 1.0)),
        "use_post_layer_norm": bool(o.get("use_post_layer_norm", True)),
        "activation": str(o.get("activation", "swish")),
        "spec_augment": spec_augment_config(o),
    }
