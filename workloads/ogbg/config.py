"""The ogbg proxy's model size and variant knobs, read from a workload's overrides.

Shared by the PyTorch and JAX workloads, so a variant (``activation``, sizes,
``num_message_passing_steps``) and the ``tiny`` model mean the same in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TINY", "model_config"]

# The model of ``tiny`` runs (contract tests).
TINY = {"latent_dim": 16, "hidden_dims": (16,), "num_message_passing_steps": 1}


def model_config(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of the GNN (either framework's) that ``overrides`` ask for."""
    o = {**overrides, **(TINY if overrides.get("tiny") else {})}
    return {
        "latent_dim": int(o.get("latent_dim", 64)),
        "hidden_dims": tuple(int(d) for d in o.get("hidden_dims", (64,))),
        "num_message_passing_steps": int(o.get("num_message_passing_steps", 3)),
        "dropout_rate": float(o.get("dropout_rate", 0.1)),
        "activation": str(o.get("activation", "relu")),
    }
