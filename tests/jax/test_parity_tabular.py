"""fastmri (U-Net, SSIM) and criteo1tb (DLRM-small, log loss): same weights, same metrics.

Each runs the ``tiny`` model on the ``tiny`` splits (64 examples each), dropout off, with
perturbed PyTorch weights converted to Flax (:mod:`tests.jax.parity`); fastmri's
layer-norm (+ tanh) variant and criteo's layer-norm + residual variant run as ``slow``. Tolerance:
float32 on CPU, where convolutions, instance norms and matmuls accumulate in different
orders: outputs agree to 1e-4 absolute (they are O(1)) and losses to 1e-5 relative.
SSIM divides local (co)variances, differences of nearly equal window means, so the
float32 noise of the outputs is amplified there: it must agree to 1e-4 absolute.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pytest
import torch

from tests.jax.parity import Pair, eval_metrics, make_pair, training_outputs

ATOL_OUTPUTS, RTOL, ATOL_SSIM = 1e-4, 1e-5, 1e-4
UNET_LAYERS = {"0": "Conv_0", "1": "GroupNorm_0", "4": "Conv_1", "5": "GroupNorm_1"}


def _unet_rename(path: str) -> str:
    path = re.sub(r"^(down|up_conv|up)\.(\d+)", r"\1_\2", path).replace("head", "HeadConv")
    block, _, layer = path.partition(".")
    if block.startswith("up_") and not block.startswith("up_conv"):
        return f"{block}/ConvTranspose" if layer == "0" else block
    return f"{block}/{UNET_LAYERS[layer]}" if layer in UNET_LAYERS else block


def _dlrm_rename(path: str) -> str:
    path = re.sub(r"layers\.(\d+)", r"Dense_\1", path.replace("embedding", "Embed"))
    return re.sub(r"norms\.(\d+)", r"LayerNorm_\1", path).replace(".", "/")


def _dlrm_adjust(params: dict[str, Any], model: torch.nn.Module) -> None:
    """PyTorch's top MLP owns a LayerNorm for its linear last layer that it never calls
    (``norms[-1]``); the Flax MLP makes no such parameters."""
    params["top"].pop(f"LayerNorm_{len(model.top.layers) - 1}", None)


CASES = {  # name, torch -> Flax names, conversion fix-up, extra overrides
    "fastmri": ("fastmri", _unet_rename, None, {}),
    "fastmri_layernorm_tanh": ("fastmri_layernorm", _unet_rename, None, {"activation": "tanh"}),
    "criteo1tb": ("criteo1tb", _dlrm_rename, None, {}),
    "criteo1tb_layernorm_resnet": ("criteo1tb_layernorm", _dlrm_rename, _dlrm_adjust,
                                   {"use_resnet": True, "bottom_mlp": (4, 4, 4)}),
}  # fmt: skip
SLOW = {"fastmri_layernorm_tanh", "criteo1tb_layernorm_resnet"}


@functools.cache
def _pair(case: str) -> Pair:
    name, rename, adjust, overrides = CASES[case]
    return make_pair(name, rename, adjust, **overrides)


@pytest.fixture(params=[pytest.param(c, marks=[pytest.mark.slow] if c in SLOW else [])
                        for c in CASES])  # fmt: skip
def pair(request, two_devices):
    return _pair(request.param)


def test_same_weights_same_eval_metrics(pair):
    ours, theirs = eval_metrics(pair)
    metric = pair.torch_w.target_metric_name
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(theirs[f"{split}/loss"], ours[f"{split}/loss"], rtol=RTOL)
        if metric == "ssim":
            np.testing.assert_allclose(theirs[f"{split}/ssim"], ours[f"{split}/ssim"],
                                       atol=ATOL_SSIM)  # fmt: skip


def test_same_weights_same_training_loss(pair):
    out = training_outputs(pair, label_smoothing=0.1)
    np.testing.assert_allclose(*out["logits"], atol=ATOL_OUTPUTS)
    np.testing.assert_allclose(*out["summed"], rtol=RTOL)
