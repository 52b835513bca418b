"""The full-size models of the variants defined by model knobs alone: the knob takes effect.

``criteo1tb_test`` (a 65,536-row embedding table), ``librispeech_deepspeech_no_resnet``
(no residual adds) and ``librispeech_deepspeech_norm_and_spec_aug`` (LayerNorm in place
of BatchNorm, no decoder LayerNorm) are built from their official facts as
``autotune run --data-dir`` builds them: shapes on the ``meta`` device, and forward
passes of the ``tiny`` model with the variant's knobs (the same weights as the base's).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from autotune import facts, registry
from autotune.errors import UserError
from workloads.speech.layers import subsample_paddings


def _workload(name: str, **extra: Any) -> Any:
    """The full-size workload ``name`` (official facts), with ``extra`` overrides."""
    wf = facts.official(name, "v0.6")
    wf = dataclasses.replace(wf, overrides={**wf.overrides, **extra})
    return registry.workload_class(wf)(wf)


def _meta_model(name: str) -> nn.Module:
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model: nn.Module = _workload(name).build_model()
    return model


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_criteo1tb_test_has_a_65536_row_embedding_table() -> None:
    base, test = _meta_model("criteo1tb"), _meta_model("criteo1tb_test")
    assert tuple(base.embedding.weight.shape) == (4_194_304, 128)
    assert tuple(test.embedding.weight.shape) == (65_536, 128)
    assert _n_params(base) - _n_params(test) == (4_194_304 - 65_536) * 128  # nothing else
    # real batches' ids (hashed into 4,194,304 buckets) are folded into the smaller table
    ids = torch.tensor([[0.0] * 13 + [4_194_303.0, 65_536.0] + [1.0] * 24])
    cats = _workload("criteo1tb_test").adapt_batch({"inputs": ids})["inputs"][:, 13:]
    assert int(cats.max()) < 65_536 and cats[0, :2].tolist() == [4_194_303 % 65_536, 0]


def _speech_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 40, 80, generator=gen)
    paddings = torch.zeros(3, 40)
    paddings[1, 30:] = 1.0
    return x, paddings


def test_deepspeech_no_resnet_has_no_residual_adds() -> None:
    base = _meta_model("librispeech_deepspeech")
    variant = _meta_model("librispeech_deepspeech_no_resnet")
    assert base.use_residual and all(f.residual for f in base.ffns)
    assert not variant.use_residual and not any(f.residual for f in variant.ffns)
    assert _n_params(variant) == _n_params(base)  # AlgoPerf: 18,381,312 both
    # numerically, on the tiny model: the base's weights, each layer's output as is
    torch.manual_seed(0)
    ref = _workload("librispeech_deepspeech", tiny=True).build_model().eval()
    model = _workload("librispeech_deepspeech_no_resnet", tiny=True).build_model().eval()
    model.load_state_dict(ref.state_dict())
    x, paddings = _speech_inputs()
    with torch.no_grad():
        logits, _ = model(x, paddings)
        ref_logits, _ = ref(x, paddings)
        h = model.subsample(x)
        lengths = (1 - subsample_paddings(paddings)).sum(1).long().clamp_min(1)
        for lstm in model.lstms:
            h = lstm(h, lengths)
        for ffn in model.ffns:
            h = ffn.drop(ffn.act(ffn.fc(ffn.norm(h.transpose(1, 2)).transpose(1, 2))))
        expected = model.head(model.norm(h))
    torch.testing.assert_close(logits, expected)
    assert not torch.allclose(logits, ref_logits, atol=1e-3)


def test_deepspeech_norm_and_spec_aug_has_layer_norm_everywhere_but_the_decoder() -> None:
    base = _meta_model("librispeech_deepspeech")
    variant = _meta_model("librispeech_deepspeech_norm_and_spec_aug")
    layers = [*variant.lstms, *variant.ffns]
    assert len(layers) == 9 and all(isinstance(m.norm, nn.LayerNorm) for m in layers)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in variant.modules())
    assert isinstance(variant.norm, nn.Identity) and isinstance(base.norm, nn.LayerNorm)
    assert variant.use_residual  # residual connections stay
    # AlgoPerf: 18,381,312 - 18,380,288 = the decoder LayerNorm's scale and bias
    assert _n_params(base) - _n_params(variant) == 2 * 512
    torch.manual_seed(0)
    model = _workload("librispeech_deepspeech_norm_and_spec_aug", tiny=True).build_model()
    x, paddings = _speech_inputs()
    logits, _ = model.train()(x, paddings)
    assert logits.shape[:2] == (3, 10) and torch.isfinite(logits).all()


def test_a_variant_without_overrides_is_refused_at_full_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    official = facts.official

    def bare(name: str, version: str, framework: str = "pytorch") -> facts.WorkloadFacts:
        return dataclasses.replace(official(name, version, framework), overrides={})

    monkeypatch.setattr(facts, "official", bare)
    with pytest.raises(UserError, match="has no full-size model definition"):
        registry.workload_facts("librispeech_deepspeech_no_resnet", "v0.6", str(tmp_path))
