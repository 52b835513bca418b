"""Flax initialisers that draw from the same distributions as PyTorch's layer defaults.

A JAX workload's model is the PyTorch family's model, initial distribution included, so
that a submission tuned in one framework starts from the same kind of point in the
other. PyTorch's ``nn.Linear`` / ``nn.Conv*`` default is ``U(-1/sqrt(fan_in),
1/sqrt(fan_in))`` for weights and biases alike (``kaiming_uniform_(a=sqrt(5))``); Flax's
defaults differ (LeCun normal kernels, zero biases). A family's own initialisation
(He, Xavier, N(0, 0.01)) is written in its Flax module with ``nn.initializers``.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax

__all__ = ["he_fan_out", "torch_bias", "torch_kernel", "uniform_symmetric"]

# ``kaiming_uniform_(a=sqrt(5))``: variance 1 / (3 fan_in), i.e. U(+-1/sqrt(fan_in)); Flax
# computes fan_in of a ``(*window, in, out)`` kernel as torch does of ``(out, in, *window)``.
torch_kernel = nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform")
# ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``: N(0, 2 / fan_out), untruncated.
he_fan_out = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def uniform_symmetric(scale: float) -> nn.initializers.Initializer:
    """``U(-scale, scale)``."""

    def init(key: jax.Array, shape: Any, dtype: Any = jax.numpy.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


def torch_bias(fan_in: int) -> nn.initializers.Initializer:
    """PyTorch's default bias of a layer with ``fan_in`` inputs: U(+-1/sqrt(fan_in))."""
    return uniform_symmetric(fan_in**-0.5 if fan_in > 0 else 0.0)
