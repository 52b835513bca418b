"""CIFAR-10 proxy (PyTorch): AlgoPerf's dev family, a basic-block ResNet on 10-class crops.

No package ships CIFAR-10, so the data are the photo-crop generator's 32x32 colour crops
of the ten colour photos (:data:`workloads.imagenet_resnet.photos.CIFAR_PHOTOS`). The
model is AlgoPerf's CIFAR ResNet (basic blocks, :mod:`workloads.imagenet_resnet.resnet`)
scaled down; its size knobs are :class:`ResNetConfig` overrides.
"""

from __future__ import annotations

from torch import nn

from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.imagenet_resnet.photos import CIFAR_PHOTOS
from workloads.imagenet_resnet.pytorch import photo_splits
from workloads.imagenet_resnet.resnet import ResNet, ResNetConfig


class CifarWorkload(TorchWorkload):
    def build_model(self) -> nn.Module:
        config = ResNetConfig.from_overrides(
            self.overrides, block="basic", num_classes=len(CIFAR_PHOTOS)
        )
        return ResNet(config)

    def load_splits(self) -> dict[str, Batch]:
        return photo_splits(self, CIFAR_PHOTOS)
