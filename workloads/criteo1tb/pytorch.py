"""Criteo 1TB proxy (PyTorch): DLRM-small on planted-model click logs.

Rows come from :mod:`workloads.criteo1tb.data` (cached); the model is AlgoPerf's
DLRM-small (:mod:`workloads.criteo1tb.dlrm`) scaled down. As AlgoPerf's input pipeline
does, each batch's ``inputs`` are one float tensor: 13 preprocessed dense features then
26 categorical ids hashed into the embedding table. Sigmoid cross-entropy; the metric
is the loss. ``eval_train`` is a fixed subset of train.
"""

from __future__ import annotations

import torch
from torch import nn

from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.criteo1tb.data import load_splits
from workloads.criteo1tb.dlrm import DlrmConfig, DlrmSmall


class Criteo1tbWorkload(TorchWorkload):
    def adapt_batch(self, batch: Batch) -> Batch:
        """The real reader hashes into AlgoPerf's 4 194 304 buckets; a smaller (``tiny``)
        table folds them (identity at full size)."""
        vocab = self._config().vocab_size
        inputs = batch["inputs"]
        cats = torch.remainder(inputs[:, 13:], vocab)
        return {**batch, "inputs": torch.cat([inputs[:, :13], cats], 1)}

    def _config(self) -> DlrmConfig:
        return DlrmConfig.from_overrides(self.overrides)

    def build_model(self) -> nn.Module:
        return DlrmSmall(self._config())

    def load_splits(self) -> dict[str, Batch]:
        splits = load_splits(self, self._config().vocab_size)
        return {s: {k: torch.from_numpy(v) for k, v in d.items()} for s, d in splits.items()}
