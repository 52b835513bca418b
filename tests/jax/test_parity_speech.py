"""librispeech: the JAX and PyTorch speech models given the same weights give the same
CTC loss and WER.

Each family runs its ``tiny`` model on the ``tiny`` splits (64 utterances each),
dropout off, batch-norm statistics as initialised (eval) or of the batch (training).
Tolerance: float32 on CPU, where convolutions, LSTM steps and CTC's forward recursion
(PyTorch's and optax's) round differently: losses agree to 1e-4 relative and logits to
1e-4 absolute. WER comes from argmax paths: a near-tie broken differently could change
one character, so WER may differ by one word edit in the split; as an untrained model's WER is 1.0,
the best paths of a training batch are compared too (all but one identical). The training-mode check
feeds both models PyTorch's exactly trimmed batch, since batch-norm statistics (in both
frameworks) include padded frames and so depend on the padding.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from autotune import rng, spec
from autotune.frameworks import jax_setup
from autotune.testing import make_workload
from tests.jax.torch_weights import assert_same_structure, flax_variables
from workloads.speech import ctc

RTOL = ATOL = 1e-4


def _rename_deepspeech(path: str, layer_norm: bool = False) -> str:
    path = re.sub(r"(lstms|ffns|conv)\.(\d+)", r"\1_\2", path)
    norm = "layernorm" if layer_norm else "batchnorm"  # the ``use_layer_norm`` variant knob
    path = re.sub(r"(lstms_\d+|ffns_\d+)\.norm", rf"\1.{norm}", path)
    return re.sub(r"^norm$", "layernorm", path).replace(".", "/")


def _rename_conformer(path: str) -> str:
    path = re.sub(r"(blocks|conv)\.(\d+)", r"\1_\2", path)
    path = re.sub(r"net\.0$", "layernorm", path).replace("net.", "net_")
    return (
        re.sub(r"(^|\.)norm$", r"\1layernorm", path).replace(".bn", ".batchnorm").replace(".", "/")
    )


RENAME = {"librispeech_deepspeech": _rename_deepspeech, "librispeech_conformer": _rename_conformer}


@functools.cache
def _pair(name: str, **overrides):
    torch_w = make_workload(name, "pytorch", tiny=True, dropout_rate=0.0, **overrides)
    jax_w = make_workload(name, "jax", tiny=True, dropout_rate=0.0, **overrides)
    model, _ = torch_w.init_model_fn(rng.key(0))
    flax_params, flax_state = jax_w.init_model_fn(jax_setup.key(0))
    rename = RENAME[name]
    if overrides.get("use_layer_norm"):
        rename = functools.partial(_rename_deepspeech, layer_norm=True)
    variables = flax_variables(model, rename)
    assert_same_structure(variables, {"params": flax_params, **(flax_state or {})})
    return torch_w, model, jax_w, variables


def _check_eval(name: str) -> None:
    torch_w, model, jax_w, variables = _pair(name)
    state = {"batch_stats": variables["batch_stats"]}
    ours = torch_w.eval_model(64, model, None, rng.key(1), None, None, 0)
    theirs = jax_w.eval_model(64, variables["params"], state, jax_setup.key(1), None, None, 0)
    words = sum(len(t.split()) for t in _texts(torch_w))
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(theirs[f"{split}/loss"], ours[f"{split}/loss"], rtol=RTOL)
        assert abs(theirs[f"{split}/wer"] - ours[f"{split}/wer"]) <= 1.01 / words


def _texts(workload) -> list[str]:
    from workloads.speech.data import decode_text

    return [decode_text(row) for row in workload.splits["validation"]["targets"].tolist()]


def _check_training_loss(name: str, **overrides) -> None:
    torch_w, model, jax_w, variables = _pair(name, **overrides)
    batch = next(iter(torch_w._build_input_queue(rng.key(0), "train", None, 16)))
    mode = spec.ForwardPassMode.TRAIN
    out, _ = torch_w.model_fn(model, batch, None, mode, rng.key(0), update_batch_norm=True)
    ours = torch_w.loss_fn(batch["targets"], out)
    jbatch = {k: v.numpy() for k, v in batch.items()}
    state = {"batch_stats": variables["batch_stats"]} if "batch_stats" in variables else None
    jout, _ = jax_w.model_fn(variables["params"], jbatch, state, mode, jax_setup.key(0), True)
    theirs = jax_w.loss_fn(jbatch["targets"], jout)
    np.testing.assert_allclose(np.asarray(jout[0]), out[0].detach().numpy(), atol=ATOL)
    np.testing.assert_array_equal(np.asarray(jout[1]), out[1].numpy())
    np.testing.assert_allclose(float(theirs["summed"]), ours["summed"].item(), rtol=RTOL)
    assert float(theirs["n_valid_examples"]) == float(ours["n_valid_examples"])
    # an untrained model's WER is 1.0 in both, so compare the best paths themselves
    paths = ctc.greedy_decode(out[0].detach().numpy(), out[1].numpy())
    jpaths = ctc.greedy_decode(np.asarray(jout[0]), np.asarray(jout[1]))
    assert sum(map(len, paths)) > len(paths)
    assert sum(a == b for a, b in zip(paths, jpaths, strict=True)) >= len(paths) - 1


def test_deepspeech_same_weights_same_eval_metrics(two_devices):
    _check_eval("librispeech_deepspeech")


def test_deepspeech_same_weights_same_training_loss(two_devices):
    _check_training_loss("librispeech_deepspeech")


def test_deepspeech_variant_knobs_same_weights_same_training_loss(two_devices):
    # the knobs of the no_resnet and norm_and_spec_aug variants, all off their defaults
    _check_training_loss("librispeech_deepspeech", use_residual=False, use_layer_norm=True,
                         use_decoder_layer_norm=False)  # fmt: skip


def test_conformer_same_weights_same_eval_metrics(two_devices):
    _check_eval("librispeech_conformer")


def test_conformer_same_weights_same_training_loss(two_devices):
    _check_training_loss("librispeech_conformer")


def test_full_size_frontend_same_features_and_trimming_changes_no_valid_frame():
    import torch

    from workloads.speech import flax_frontend, frontend

    gen = np.random.default_rng(0)
    audio = np.round(gen.normal(0, 3000, (2, 12_000))).astype(np.float32)
    paddings = (np.arange(12_000)[None, :] >= np.array([[12_000], [7_000]])).astype(np.float32)
    audio *= 1 - paddings
    ours, our_pads = frontend.features(torch.from_numpy(audio), torch.from_numpy(paddings))
    theirs, their_pads = flax_frontend.features(audio, paddings)
    np.testing.assert_array_equal(np.asarray(their_pads), our_pads.numpy())
    np.testing.assert_allclose(np.asarray(theirs), ours.numpy(), atol=1e-3)
    short, short_pads = flax_frontend.features(audio[:, :8_000], paddings[:, :8_000])
    n = short.shape[1]
    np.testing.assert_array_equal(np.asarray(short_pads), np.asarray(their_pads)[:, :n])
    np.testing.assert_allclose(np.asarray(short)[1], np.asarray(theirs)[1, :n], atol=1e-5)
