"""The example counts an evaluation reports, the same in both frameworks."""

from __future__ import annotations

from typing import Any

__all__ = ["eval_example_counts"]


def eval_example_counts(workload: Any) -> dict[str, float]:
    """``validation/num_examples`` and ``test/num_examples`` of ``workload``'s evals:
    AlgoPerf's split sizes for a full-size workload (``data_dir`` set), else the sizes of
    the proxy's in-memory splits."""
    if workload.data_dir is not None:
        return {"validation/num_examples": float(workload.num_validation_examples),
                "test/num_examples": float(workload.num_test_examples)}  # fmt: skip
    return {f"{split}/num_examples": float(len(workload.splits[split]["targets"]))
            for split in ("validation", "test")}  # fmt: skip
