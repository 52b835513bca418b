"""The deepspeech proxy's model size and variant knobs, read from a workload's overrides.

Shared by the PyTorch and JAX workloads, so a variant's knobs and the ``tiny`` model mean
the same in both. Variant knobs (AlgoPerf's DeepSpeech config names in brackets):
``activation`` ("relu"; "tanh": ``use_tanh``), ``use_residual`` (True: the LSTM and
feed-forward layers add their input back; ``enable_residual_connections``),
``use_layer_norm`` (False; True: LayerNorm instead of BatchNorm before each LSTM and
feed-forward layer; ``layernorm_everywhere``) and ``use_decoder_layer_norm`` (True: the
LayerNorm before the output layer; ``enable_decoder_layer_norm``). ``spec_augment``
(on at full size, off for the proxy) and SpecAugment's fields (``freq_mask_count``,
``time_mask_count``, ...: :mod:`workloads.speech.spec_augment`) give the model's
SpecAugment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workloads.speech.data import ALPHABET
from workloads.speech.spec_augment import spec_augment_config

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
        "use_residual": bool(o.get("use_residual", True)),
        "use_layer_norm": bool(o.get("use_layer_norm", False)),
        "use_decoder_layer_norm": bool(o.get("use_decoder_layer_norm", True)),
        "spec_augment": spec_augment_config(o),
    }
