"""ImageNet ResNet proxy (PyTorch): a small bottleneck ResNet with batch norm on photo crops.

The model is AlgoPerf's ResNet (:mod:`workloads.imagenet_resnet.resnet`) scaled down;
the data are 32x32 crops of 21 real photos, classified by source photo
(:mod:`workloads.imagenet_resnet.photos`); full size (``--data-dir``): ResNet-50 on ImageNet. Split sizes come from the facts;
``eval_train`` is a fixed subset of train. Variants are overrides of the
:class:`ResNetConfig` fields (``activation``, ``bn_init_scale``, sizes).
"""

from __future__ import annotations

import torch
from torch import nn

from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.imagenet_resnet.photos import IMAGENET_PHOTOS, workload_photo_splits
from workloads.imagenet_resnet.resnet import ResNet, ResNetConfig

SPLIT_SEED = 0


def photo_splits(workload: TorchWorkload, photos: tuple[str, ...]) -> dict[str, Batch]:
    """The photo-crop splits at the sizes the workload's facts give, as CPU tensors."""
    splits = workload_photo_splits(workload, photos, SPLIT_SEED)
    return {s: {k: torch.from_numpy(v) for k, v in d.items()} for s, d in splits.items()}


class ImagenetResnetWorkload(TorchWorkload):
    def build_model(self) -> nn.Module:
        config = ResNetConfig.from_overrides(self.overrides, num_classes=len(IMAGENET_PHOTOS))
        return ResNet(config)

    def load_splits(self) -> dict[str, Batch]:
        return photo_splits(self, IMAGENET_PHOTOS)
