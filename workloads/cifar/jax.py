"""CIFAR-10 proxy (JAX/Flax): the model, data and facts of ``workloads/cifar/pytorch.py``.

The Flax ResNet of :mod:`workloads.imagenet_resnet.jax` with basic blocks, on the ten
colour photos' crops (the same numpy splits as the PyTorch workload).
"""

from __future__ import annotations

from workloads.imagenet_resnet.jax import ImagenetResnetWorkload
from workloads.imagenet_resnet.photos import CIFAR_PHOTOS


class CifarWorkload(ImagenetResnetWorkload):
    photos = CIFAR_PHOTOS
    block = "basic"
