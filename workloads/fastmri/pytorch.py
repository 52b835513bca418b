"""fastMRI proxy (PyTorch): a small U-Net reconstructing 4x-undersampled phantom slices.

Data from :mod:`workloads.fastmri.data` (cached); the model is AlgoPerf's U-Net
(:mod:`workloads.fastmri.unet`) scaled down; the loss is the per-example mean absolute
error (``MEAN_ABSOLUTE_ERROR``) and the metric SSIM as AlgoPerf computes it
(:mod:`workloads.fastmri.ssim`). ``eval_train`` is a fixed subset of train.
"""

from __future__ import annotations

import torch
from torch import nn

from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.fastmri.data import load_splits
from workloads.fastmri.ssim import ssim
from workloads.fastmri.unet import UNet, UNetConfig


class FastmriWorkload(TorchWorkload):
    def build_model(self) -> nn.Module:
        return UNet(UNetConfig.from_overrides(self.overrides))

    def load_splits(self) -> dict[str, Batch]:
        splits = load_splits(self, int(self.overrides.get("image_size", 32)))
        return {s: {k: torch.from_numpy(v) for k, v in d.items()} for s, d in splits.items()}

    def split_metrics(self, logits: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        per_example = self.loss_fn(batch["targets"], logits)["per_example"]
        values = ssim(logits, batch["targets"], batch["mean"], batch["std"], batch["volume_max"])
        return {"loss": per_example.sum(), "ssim": values.sum()}
