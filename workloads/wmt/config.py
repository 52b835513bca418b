"""The wmt proxy's model size and variant knobs, read from a workload's overrides.

Shared by the PyTorch and JAX workloads, so a variant (``post_ln``, ``attention_temp``,
``glu``/``activation``) and the ``tiny`` model mean the same in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TINY", "model_config"]

# The model of ``tiny`` runs (contract tests).
TINY = {"d_model": 16, "num_heads": 2, "mlp_dim": 32, "num_layers": 1}


def model_config(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the Transformer (either framework's), less ``vocab_size``."""
    o = {**overrides, **(TINY if overrides.get("tiny") else {})}
    return {
        "d_model": int(o.get("d_model", 64)),
        "num_heads": int(o.get("num_heads", 4)),
        "mlp_dim": int(o.get("mlp_dim", 128)),
        "num_layers": int(o.get("num_layers", 2)),
        "dropout_rate": float(o.get("dropout_rate", 0.1)),
        "attention_dropout_rate": float(o.get("attention_dropout_rate", 0.1)),
        "attention_temp": float(o.get("attention_temp", 1.0)),
        "activation": str(o.get("activation", "relu")),
        "glu": bool(o.get("glu", False)),
        "post_ln": bool(o.get("post_ln", False)),
    }
