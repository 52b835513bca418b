"""PyTorch weights as Flax variables, for the parity tests (test helper, not a fixture).

Leaves convert by the type of the torch module that owns them: ``Linear`` weights are
transposed into ``kernel``, ``LayerNorm``/``BatchNorm`` weights become ``scale``,
``Embedding`` weights ``embedding``, convolution weights ``[out, in, *k]`` become
``[*k, in, out]`` kernels, batch-norm running statistics go to ``batch_stats`` and an
``LSTM`` gives ``<direction>_ih`` (input kernel, with both biases) and
``<direction>_hh`` (recurrent kernel) per layer-0 direction; any other parameter a
module owns keeps its name and value. Module paths are mapped
by the family's ``rename`` (torch dotted path -> Flax ``/`` path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from flax import traverse_util
from torch import nn


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _leaves(module: nn.Module) -> dict[tuple[str, ...], np.ndarray]:
    """``{(collection, *relative path): array}`` of one module's own tensors."""
    p = dict(module.named_parameters(recurse=False))
    out: dict[tuple[str, ...], np.ndarray] = {}
    if isinstance(module, nn.LSTM):
        for suffix, direction in (("", "forward"), ("_reverse", "backward")):
            if f"weight_ih_l0{suffix}" in p:
                bias = p[f"bias_ih_l0{suffix}"] + p[f"bias_hh_l0{suffix}"]
                out[("params", f"{direction}_ih", "kernel")] = _np(p[f"weight_ih_l0{suffix}"]).T
                out[("params", f"{direction}_ih", "bias")] = _np(bias)
                out[("params", f"{direction}_hh", "kernel")] = _np(p[f"weight_hh_l0{suffix}"]).T
        return out
    out.update({("params", k): _np(v) for k, v in p.items() if k not in ("weight", "bias")})
    if p.get("bias") is not None:
        out[("params", "bias")] = _np(p["bias"])
    if "weight" not in p:
        return out
    w = p["weight"]
    if isinstance(module, nn.Linear):
        out[("params", "kernel")] = _np(w).T
    elif isinstance(module, nn.Embedding):
        out[("params", "embedding")] = _np(w)
    elif isinstance(module, nn.modules.conv._ConvNd):
        out[("params", "kernel")] = np.moveaxis(_np(w), (0, 1), (-1, -2))
    else:  # LayerNorm, BatchNorm
        out[("params", "scale")] = _np(w)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        out[("batch_stats", "mean")] = _np(module.get_buffer("running_mean"))
        out[("batch_stats", "var")] = _np(module.get_buffer("running_var"))
    return out


def flax_variables(model: nn.Module, rename: Callable[[str], str]) -> dict[str, Any]:
    """``{"params": ..., "batch_stats": ...}`` (the latter only if the model has any)."""
    flat = {}
    for name, module in model.named_modules():
        for (collection, *leaf), value in _leaves(module).items():
            path = tuple(p for p in rename(name).split("/") if p)
            flat[(collection, *path, *leaf)] = value
    return traverse_util.unflatten_dict(flat)


def assert_same_structure(ours: Any, theirs: Any) -> None:
    """The converted tree has the Flax model's paths and shapes, exactly."""
    a = {k: v.shape for k, v in traverse_util.flatten_dict(ours).items()}
    b = {k: tuple(v.shape) for k, v in traverse_util.flatten_dict(theirs).items()}
    assert a == b, (
        f"only converted: {sorted(set(a) - set(b))}; only Flax: {sorted(set(b) - set(a))}"
    )
