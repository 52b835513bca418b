"""cifar, imagenet_resnet, imagenet_vit: same weights, same loss and accuracy in both.

Each runs the ``tiny`` model on the ``tiny`` splits (64 crops each), dropout off, with
perturbed PyTorch weights converted to Flax (:mod:`tests.jax.parity`). By default two
cases cover every layer kind (bottleneck ResNet with the ImageNet stem and GELU; ViT
with GLU and MAP pooling); the others (basic blocks, post-LN, the base configs) are
``slow``, as each case compiles its model for a few seconds. Tolerance:
float32 on CPU, where the two frameworks' convolution, matmul and softmax kernels
accumulate in different orders: logits agree to 1e-4 absolute (they are O(1); the
largest measured difference was ~1e-6), losses to 1e-5 relative; accuracy counts the
same examples, but for an argmax tie broken differently (at most one example in 64).
Batch norm: the eval metrics use the converted running statistics; a training-mode
step normalises by the batch's statistics in both and updates the running means alike.
Flax updates the running variance with the biased batch variance where PyTorch uses the
unbiased one: with n >= 256 values per channel here (16 examples of at least 4x4
pixels), PyTorch's factor n / (n - 1) moves it by under 0.4 %, so variances agree to 1 %.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pytest
import torch

from tests.jax.parity import Pair, eval_metrics, make_pair, training_outputs

ATOL_LOGITS, RTOL, VAR_RTOL = 1e-4, 1e-5, 1e-2
RESNET_NAMES = {r"^stem\.0": "StemConv", r"^stem\.1": "StemBatchNorm",
                r"blocks\.(\d+)": r"Block_\1", r"convs\.(\d+)": r"Conv_\1",
                r"norms\.(\d+)": r"BatchNorm_\1", r"shortcut\.0": "ShortcutConv",
                r"shortcut\.1": "ShortcutBatchNorm"}  # fmt: skip
VIT_NAMES = {r"^patch$": "PatchConv", r"blocks\.(\d+)": r"Block_\1", r"norm1": "LayerNorm_0",
             r"norm2": "LayerNorm_1", r"\battn\b": "Attention", r"\bmlp\b": "Mlp",
             r"^pool": "MapHead", r"\bnorm$": "LayerNorm", r"pre_logits\.0": "pre_logits"}  # fmt: skip


def _renamer(table: dict[str, str]):
    def rename(path: str) -> str:
        for pattern, repl in table.items():
            path = re.sub(pattern, repl, path)
        return path.replace(".", "/")

    return rename


def _vit_adjust(params: dict[str, Any], model: torch.nn.Module) -> None:
    """Attention in-projections as the Flax ``in_proj`` module's kernel and bias."""
    rename = _renamer(VIT_NAMES)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.MultiheadAttention):
            node = params
            for key in rename(name).split("/"):
                node = node[key]
            del node["in_proj_weight"], node["in_proj_bias"]
            node["in_proj"] = {"kernel": module.in_proj_weight.detach().numpy().T,
                               "bias": module.in_proj_bias.detach().numpy()}  # fmt: skip


CASES = {  # name, torch -> Flax names, extra overrides; each a few seconds
    "cifar": ("cifar", RESNET_NAMES, {}),
    "imagenet_resnet_gelu_imagenet_stem": ("imagenet_resnet", RESNET_NAMES,
                                           {"activation": "gelu", "stem": "imagenet"}),
    "imagenet_vit_map_glu": ("imagenet_vit_map", VIT_NAMES, {"use_glu": True}),
    "imagenet_vit_post_ln": ("imagenet_vit_post_ln", VIT_NAMES, {}),
    "imagenet_resnet": ("imagenet_resnet", RESNET_NAMES, {}),
    "imagenet_vit": ("imagenet_vit", VIT_NAMES, {}),
}  # fmt: skip
SLOW = {"imagenet_resnet", "imagenet_vit", "imagenet_vit_post_ln", "cifar"}


@functools.cache
def _pair(case: str) -> Pair:
    name, table, overrides = CASES[case]
    adjust = _vit_adjust if table is VIT_NAMES else None
    return make_pair(name, _renamer(table), adjust, **overrides)


@pytest.fixture(params=[pytest.param(c, marks=[pytest.mark.slow] if c in SLOW else [])
                        for c in CASES])  # fmt: skip
def pair(request, two_devices):
    return _pair(request.param)


def test_same_weights_same_eval_metrics(pair):
    ours, theirs = eval_metrics(pair)
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(theirs[f"{split}/loss"], ours[f"{split}/loss"], rtol=RTOL)
        assert abs(theirs[f"{split}/accuracy"] - ours[f"{split}/accuracy"]) <= 1 / 64 + 1e-9


def test_same_weights_same_training_step(pair):
    out = training_outputs(pair, label_smoothing=0.1)
    np.testing.assert_allclose(*out["logits"], atol=ATOL_LOGITS)
    np.testing.assert_allclose(*out["summed"], rtol=RTOL)
    model, state = out["state"]
    norms = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    rename = _renamer(RESNET_NAMES)
    for name, module in norms.items():
        node = state["batch_stats"]
        for key in rename(name).split("/"):
            node = node[key]
        np.testing.assert_allclose(np.asarray(node["mean"]), module.running_mean.numpy(),
                                   rtol=1e-4, atol=1e-5)  # fmt: skip
        np.testing.assert_allclose(np.asarray(node["var"]), module.running_var.numpy(),
                                   rtol=VAR_RTOL)  # fmt: skip
