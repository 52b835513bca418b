"""ImageNet ViT proxy (PyTorch): a small Vision Transformer on the photo-crop task.

Same data as the ResNet proxy (32x32 crops of 21 real photos, classified by source
photo); the model is AlgoPerf's ViT (:mod:`workloads.imagenet_vit.vit`) scaled down.
Variants are :class:`ViTConfig` overrides (``use_glu``, ``use_post_layer_norm``,
``use_map``, sizes); ``dropout_rate`` comes from the submission's hyperparameters.
"""

from __future__ import annotations

from torch import nn

from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.imagenet_resnet.photos import IMAGENET_PHOTOS
from workloads.imagenet_resnet.pytorch import photo_splits
from workloads.imagenet_vit.vit import ViT, ViTConfig


class ImagenetVitWorkload(TorchWorkload):
    def build_model(self) -> nn.Module:
        config = ViTConfig.from_overrides(self.overrides, num_classes=len(IMAGENET_PHOTOS))
        return ViT(config)

    def load_splits(self) -> dict[str, Batch]:
        return photo_splits(self, IMAGENET_PHOTOS)
