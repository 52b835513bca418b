"""wmt: the JAX and PyTorch Transformers given the same weights give the same loss,
token accuracy and BLEU.

Both run the ``tiny`` model (d_model 16, one layer each side) on the ``tiny`` splits
(64 pairs each), dropout off. Tolerance: float32 on CPU, two frameworks' attention and
log-softmax orders: losses agree to 1e-5 relative and logits to 1e-5 absolute (JAX
batches keep their split's width, PyTorch's are trimmed per batch: padding is masked,
so this must not matter). Token accuracy and the
greedy decodes behind BLEU come from argmaxes: a near-tie broken differently could
change one token, so accuracy may differ by one token in the split and BLEU by 0.5. An
untrained model's BLEU is 0, so the greedy decodes themselves are compared too: at
least 62 of 64 rows identical.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from autotune import rng, spec
from autotune.frameworks import jax_setup
from autotune.testing import make_workload
from tests.jax.torch_weights import assert_same_structure, flax_variables
from workloads.wmt.data import EOS
from workloads.wmt.flax_models import greedy_decode

RTOL = 1e-5


def _rename(path: str) -> str:
    path = re.sub(r"coder\.(\d+)", r"coder_\1", path).replace("norms.", "layernorm_")
    return re.sub(r"^(enc|dec)_norm$", r"\1_layernorm", path).replace(".", "/")


@functools.cache
def _pair(name: str):
    torch_w = make_workload(name, "pytorch", tiny=True, dropout_rate=0.0,
                            attention_dropout_rate=0.0)  # fmt: skip
    jax_w = make_workload(name, "jax", tiny=True, dropout_rate=0.0, attention_dropout_rate=0.0)
    model, _ = torch_w.init_model_fn(rng.key(0))
    flax_params, _ = jax_w.init_model_fn(jax_setup.key(0))
    params = flax_variables(model, _rename)["params"]
    assert_same_structure(params, flax_params)
    return torch_w, model, jax_w, params


def test_wmt_same_weights_same_eval_metrics(two_devices):
    torch_w, model, jax_w, params = _pair("wmt")
    ours = torch_w.eval_model(64, model, None, rng.key(1), None, None, 0)
    theirs = jax_w.eval_model(64, params, None, jax_setup.key(1), None, None, 0)
    tokens = float(torch_w.splits["validation"]["weights"].sum())
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(theirs[f"{split}/loss"], ours[f"{split}/loss"], rtol=RTOL)
        assert abs(theirs[f"{split}/accuracy"] - ours[f"{split}/accuracy"]) <= 1.01 / tokens
        assert abs(theirs[f"{split}/bleu"] - ours[f"{split}/bleu"]) <= 0.5


def test_wmt_same_weights_same_training_loss(two_devices):
    torch_w, model, jax_w, params = _pair("wmt")
    batch = {k: v[:16] for k, v in torch_w.splits["train"].items()}
    mode = spec.ForwardPassMode.TRAIN
    logits, _ = torch_w.model_fn(model, batch, None, mode, rng.key(0), update_batch_norm=True)
    ours = torch_w.loss_fn(batch["targets"], logits, batch["weights"], label_smoothing=0.1)
    jbatch = jax_w.prepare_batch({k: v.numpy() for k, v in batch.items()})
    jlogits, _ = jax_w.model_fn(params, jbatch, None, mode, jax_setup.key(0), True)
    theirs = jax_w.loss_fn(jbatch["targets"], jlogits, jbatch["weights"], label_smoothing=0.1)
    width = logits.shape[1]  # JAX's columns beyond PyTorch's trimmed width are padding
    np.testing.assert_allclose(np.asarray(jlogits)[:, :width], logits.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(float(theirs["summed"]), ours["summed"].item(), rtol=RTOL)
    assert float(theirs["n_valid_examples"]) == float(ours["n_valid_examples"])


def test_wmt_same_weights_same_greedy_decodes(two_devices):
    torch_w, model, jax_w, params = _pair("wmt")
    src = torch_w.splits["validation"]["inputs"]
    max_len = int(1.5 * src.shape[1]) + 10
    ours = model.greedy_decode(src, max_len, EOS).numpy()
    theirs = np.asarray(greedy_decode(jax_w.model, params, src.numpy(), max_len, EOS))
    n = ours.shape[1]  # PyTorch stops once every row has ended; JAX pads with 0 after EOS
    assert (theirs[:, n:] == 0).all() and (ours != 0).sum() > len(src)
    assert (ours == theirs[:, :n]).all(1).sum() >= len(src) - 2
