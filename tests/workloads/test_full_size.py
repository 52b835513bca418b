"""Full-size workloads: AlgoPerf's parameter counts, and a few real steps on real-format data.

The parameter counts are of the very models ``autotune run --data-dir`` trains (the
workload class with official facts, built on the ``meta`` device). The end-to-end test
writes each family's tiny fixture in the official on-disk format, then runs the timed
runner for a few baseline steps and two evaluations on the ``tiny`` model.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from autotune import facts, registry
from autotune.datasets import fastmri
from autotune.hparams import make_hyperparameters
from autotune.rules import load_rules
from autotune.runner import TrialConfig, run_trial
from autotune.submission import load_submission
from autotune.testing import CONTRACT_HPARAMS
from autotune.timing import DeviceClock
from tests.datasets import (
    test_criteo,
    test_fastmri,
    test_imagenet,
    test_librispeech,
    test_ogbg,
    test_wmt,
)


def _counted() -> list[tuple[str, int]]:
    """(workload, AlgoPerf's parameter count) of every full-size model autotune defines."""
    out = []
    for name in facts.official_names():
        wf = facts.official(name, "v0.6")
        entry = tomllib.loads(facts.facts_file(wf.family).read_text())["official"][name]
        defined = wf.extra["workload_kind"] != "variant" or wf.overrides
        if entry.get("num_params") and defined and wf.family in registry.FAMILIES:
            out.append((name, int(entry["num_params"])))
    return out


@pytest.mark.parametrize(("name", "expected"), _counted())
def test_full_size_model_has_algoperfs_parameter_count(name: str, expected: int) -> None:
    wf = facts.official(name, "v0.6")
    workload = registry.workload_class(wf)(wf)
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = workload.build_model()  # type: ignore[attr-defined]
    n_params = sum(p.numel() for p in model.parameters())
    # DeepSpeech: PyTorch's LSTM has two bias vectors per gate where Flax's (whose count
    # workloads.json gives) has one: 2,048 more per layer, 0.07% in all.
    assert n_params == pytest.approx(expected, rel=0.005)


FIXTURES: dict[str, Callable[[Path], Path]] = {
    "imagenet_resnet": test_imagenet.write_fixture,
    "imagenet_vit": test_imagenet.write_fixture,
    "wmt": test_wmt.write_fixture,
    "ogbg": test_ogbg.write_fixture,
    "criteo1tb": test_criteo.write_fixture,
    "fastmri": test_fastmri.write_fixture,
    "librispeech_conformer": test_librispeech.write_fixture,
    "librispeech_deepspeech": test_librispeech.write_fixture,
}
STEPS, BATCH = 2, 4


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_full_size_workload_trains_on_real_format_data(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = FIXTURES[name](tmp_path)
    # fastMRI's test split is the validation files after the first 100; the fixture has 2
    monkeypatch.setattr(fastmri, "NUM_VALIDATION_FILES", 1)
    wf = registry.workload_facts(name, "v0.6", str(root))
    assert wf.kind == "official" and wf.step_hint > 10_000  # AlgoPerf's facts, not a proxy's
    never = -math.inf if wf.minimize else math.inf  # tiny data may "reach" a real target
    wf = dataclasses.replace(wf, overrides={**wf.overrides, "tiny": True}, eval_batch_size=BATCH,
                             num_eval_train_examples=BATCH, validation_target=never,
                             test_target=never)  # fmt: skip
    workload = registry.workload_class(wf)(wf, data_dir=root)  # type: ignore[call-arg]
    config = TrialConfig(budget_sec=600.0, timing=load_rules("v0.6").timing, batch_size=BATCH,
                         seed=1, step_cap=STEPS, data_dir=str(root))  # fmt: skip
    result = run_trial(workload, load_submission("baseline"),
                       make_hyperparameters(CONTRACT_HPARAMS), config, DeviceClock())  # fmt: skip
    assert result.error is None, result.traceback
    assert (result.stop_reason, result.global_step) == ("step_cap", STEPS)
    assert [e.global_step for e in result.evals] == [1, STEPS]
    metrics = result.evals[-1].metrics
    for split in ("train", "validation", "test"):
        assert math.isfinite(metrics[f"{split}/loss"]), metrics
    assert math.isfinite(metrics[wf.validation_metric])
    assert metrics["validation/num_examples"] == wf.num_validation_examples


@pytest.mark.parametrize(
    ("workload", "folder", "message"),
    [
        ("imagenet_resnet", "missing", "does not exist"),
        ("mnist", ".", "no real-data loader for workload 'mnist'"),
    ],
)
@pytest.mark.parametrize("framework", ["pytorch", "jax"])
def test_run_with_a_bad_data_dir_is_one_error_line(
    workload: str,
    folder: str,
    message: str,
    framework: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from autotune.cli import main

    code = main(["run", "--workload", workload, "--submission", "baseline", "--framework",
                 framework, "--data-dir", str(tmp_path / folder), "--out", str(tmp_path)])  # fmt: skip
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
