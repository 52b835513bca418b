"""The deepspeech proxy's model size and variant knobs, read from a workload's overrides.

Shared by the PyTorch and JAX workloads, so a variant (``activation``) and the ``tiny``
model mean the same in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workloads.speech.data import ALPHABET

__all__ = ["TINY", "model_config"]

# The model of ``tiny`` runs (contract tests).
TINY = {"encoder_dim": 16, "num_lstm_layers": 1, "num_ffn_layers": 1, "conv_channels": 4}


def model_config(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the DeepSpeech model (either framework's)."""
    o = {**overrides, **(TINY if overrides.get("tiny") else {})}
    return {
        "vocab_size": int(o.get("vocab_size", len(ALPHABET) + 1)),  # + the CTC blank
        "encoder_dim": int(o.get("encoder_dim", 96)),
        "num_lstm_layers": int(o.get("num_lstm_layers", 2)),
        "num_ffn_layers": int(o.get("num_ffn_layers", 1)),
        "conv_channels": int(o.get("conv_channels", 16)),
        "dropout_rate": float(o.get("dropout_rate", 0.1)),
        "activation": str(o.get("activation", "relu")),
    }
