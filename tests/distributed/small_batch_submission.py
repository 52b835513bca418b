"""The NAdamW baseline asking for a global batch of 4: two per rank on 2 devices, so a
full-size workload trains on a tiny real-format fixture."""

from __future__ import annotations

from autotune.baselines.nadamw_torch import data_selection, init_optimizer_state, update_params

__all__ = ["data_selection", "get_batch_size", "init_optimizer_state", "update_params"]


def get_batch_size(workload_name: str) -> int:
    return 4
