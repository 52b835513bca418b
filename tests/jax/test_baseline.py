"""The JAX NAdamW baseline: chosen by ``--framework jax``, same steps as the PyTorch one."""

from __future__ import annotations

import collections

import jax
import mlflow
import numpy as np
import torch

from autotune import registry, rng, trial
from autotune.baselines import nadamw_jax, nadamw_torch
from autotune.frameworks import jax_setup
from tests.jax.conftest import HPARAMS, capped_rules


def _step(module, workload, params, opt, hp, batch, step, key):
    return module.update_params(
        workload=workload, current_param_container=params,
        current_params_types=workload.model_params_types, model_state=None,
        hyperparameters=hp, batch=batch, loss_type=workload.loss_type, optimizer_state=opt,
        eval_results=[], global_step=step, rng=key,
    )  # fmt: skip


def test_same_updates_as_the_pytorch_baseline(two_devices):
    """Five steps from the same weights on the same batches: the same weights after."""
    hp = collections.namedtuple("Hyperparameters", HPARAMS)(**{**HPARAMS, "warmup_factor": 0.001})
    tw, jw = registry.get_workload("mnist", "pytorch"), registry.get_workload("mnist", "jax")
    model, _ = tw.init_model_fn(rng.key(0))
    jparams, _ = jw.init_model_fn(jax_setup.key(0))
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    jparams = {f"Dense_{i}": {"kernel": m.weight.detach().numpy().T.copy(),
                              "bias": m.bias.detach().numpy().copy()}
               for i, m in enumerate(linear)}  # fmt: skip
    topt = nadamw_torch.init_optimizer_state(tw, model, None, hp, rng.key(1))
    jopt = nadamw_jax.init_optimizer_state(jw, jparams, None, hp, jax_setup.key(1))
    data = tw.splits["train"]
    for step in range(5):
        tb = {k: v[64 * step : 64 * (step + 1)] for k, v in data.items()}
        topt, model, _ = _step(nadamw_torch, tw, model, topt, hp, tb, step, rng.key(step))
        jb = {k: v.numpy() for k, v in tb.items()}
        jopt, jparams, _ = _step(nadamw_jax, jw, jparams, jopt, hp, jb, step,
                                  jax_setup.key(step))  # fmt: skip
    for i, m in enumerate(linear):
        got = np.asarray(jax.device_get(jparams[f"Dense_{i}"]["kernel"]))
        np.testing.assert_allclose(got, m.weight.detach().numpy().T, atol=2e-5)


def test_builtin_baseline_selected_by_framework(tmp_path, two_devices):
    spec_ = trial.TrialSpec(workload="mnist", submission="baseline", hparams=HPARAMS,
                            framework="jax", out_dir=tmp_path, experiment="jax-baseline",
                            rules=capped_rules("v0.6", 100, tmp_path))  # fmt: skip
    compiled = nadamw_jax._train_step._cache_size()
    outcome = trial.run(spec_)
    assert outcome.result.error is None and outcome.result.global_step == 100
    # one compilation of the step for the whole trial: the optimizer state is placed like
    # the parameters, so step 2 does not recompile (inside submission time)
    assert nadamw_jax._train_step._cache_size() == compiled + 1
    assert outcome.log_dir.parent.name == "mnist_jax"
    assert outcome.result.evals[-1].metrics["validation/accuracy"] > 0.6  # still warming up
    run = mlflow.MlflowClient(outcome.tracking_uri).get_run(outcome.run_id)
    assert run.data.tags["framework"] == "jax"
    assert run.data.tags["jax_batch_layout"] == "sharded"
    assert run.data.tags["submission_path"].endswith("nadamw_jax.py")
    assert "jax_version" in run.data.tags
