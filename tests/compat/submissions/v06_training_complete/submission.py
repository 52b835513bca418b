"""NAdam on a shortened schedule that ends training itself (v0.6 era).

Like leaderboard submissions with a ``step_reduce`` knob, it trains for a fraction of
``workload.step_hint`` and then raises ``spec.TrainingCompleteError``; the runner ends
the trial after one final eval.
"""

import torch
from algoperf import spec
from torch.optim.lr_scheduler import CosineAnnealingLR

STEP_FRACTION = 0.0005  # of step_hint


def _total_steps(workload):
    return max(1, int(workload.step_hint * STEP_FRACTION))


def init_optimizer_state(workload: spec.Workload, model_params: spec.ParameterContainer,
                         model_state: spec.ModelAuxiliaryState,
                         hyperparameters: spec.Hyperparameters,
                         rng: spec.RandomState) -> spec.OptimizerState:  # fmt: skip
    optimizer = torch.optim.NAdam(model_params.parameters(), lr=hyperparameters.learning_rate,
                                  decoupled_weight_decay=True,
                                  weight_decay=hyperparameters.weight_decay)  # fmt: skip
    scheduler = CosineAnnealingLR(optimizer, T_max=_total_steps(workload))
    return {"optimizer": optimizer, "scheduler": scheduler}


def update_params(workload: spec.Workload, current_param_container: spec.ParameterContainer,
                  current_params_types: spec.ParameterTypeTree,
                  model_state: spec.ModelAuxiliaryState, hyperparameters: spec.Hyperparameters,
                  batch, loss_type: spec.LossType, optimizer_state: spec.OptimizerState,
                  eval_results, global_step: int, rng: spec.RandomState,
                  train_state=None) -> spec.UpdateReturn:  # fmt: skip
    if global_step >= _total_steps(workload):
        raise spec.TrainingCompleteError(f"schedule done at step {global_step}")
    model = current_param_container
    optimizer_state["optimizer"].zero_grad(set_to_none=True)
    logits, new_model_state = workload.model_fn(
        model, batch, model_state, spec.ForwardPassMode.TRAIN, rng, True,
    )  # fmt: skip
    loss_dict = workload.loss_fn(label_batch=batch["targets"], logits_batch=logits,
                                 mask_batch=None, label_smoothing=0.0)  # fmt: skip
    (loss_dict["summed"] / loss_dict["n_valid_examples"]).backward()
    optimizer_state["optimizer"].step()
    optimizer_state["scheduler"].step()
    return optimizer_state, model, new_model_state


def get_batch_size(workload_name):
    if workload_name == "mnist":
        return 128
    if workload_name in ("criteo1tb", "fastmri", "imagenet_resnet", "imagenet_vit", "ogbg",
                         "librispeech_conformer", "librispeech_deepspeech", "wmt"):  # fmt: skip
        return 256
    raise ValueError(f"Unsupported workload name: {workload_name}.")


def data_selection(workload: spec.Workload, input_queue, optimizer_state: spec.OptimizerState,
                   current_param_container: spec.ParameterContainer,
                   model_state: spec.ModelAuxiliaryState, hyperparameters: spec.Hyperparameters,
                   global_step: int, rng: spec.RandomState):  # fmt: skip
    return next(input_queue)
