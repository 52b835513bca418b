"""The JAX side shared by the librispeech proxies: splits, batching, CTC loss and WER.

A family supplies ``build_model``: a Flax module called as ``model({"inputs",
"input_paddings"}, train=...)`` returning ``(logits [B, T', V], logit_paddings [B,
T'])``; as in AlgoPerf (and the PyTorch side, :mod:`workloads.speech.workload`),
``model_fn`` returns that pair as its "logits". Splits and trimming are the shared
numpy ones of :mod:`workloads.speech.data`. Unlike PyTorch, batches keep their split's
width rather than being trimmed per batch: one shape, so jit compiles the step once.
Padded frames are masked in attention, convolution inputs, LSTMs, the loss and WER,
but (in both frameworks) batch-norm statistics in training include them, so training
steps see slightly different statistics than PyTorch's trimmed batches. Loss: optax's CTC, summed over utterances and normalised by target
tokens; an utterance no alignment fits scores 0, as PyTorch's ``zero_infinity``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from autotune import spec
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.speech import ctc
from workloads.speech.data import decode_text, load_splits

__all__ = ["SpeechWorkload", "ctc_loss"]


def ctc_loss(logits: jax.Array, logit_paddings: jax.Array, targets: jax.Array,
             mask: jax.Array | None = None) -> dict[str, jax.Array]:  # fmt: skip
    """Per-utterance CTC losses (blank 0), their sum and the number of target tokens."""
    label_paddings = (targets == 0).astype(jnp.float32)
    per = optax.ctc_loss(logits.astype(jnp.float32), logit_paddings, targets, label_paddings)
    n_frames = (1 - logit_paddings).sum(1)
    n_labels = (1 - label_paddings).sum(1)
    repeats = ((targets[:, 1:] == targets[:, :-1]) & (targets[:, 1:] > 0)).sum(1)
    per = jnp.where(n_labels + repeats > n_frames, 0.0, per)  # no alignment: zero_infinity
    counts = n_labels
    if mask is not None:
        per, counts = per * mask, counts * mask
    return {"summed": per.sum(), "n_valid_examples": counts.sum(), "per_example": per}


class SpeechWorkload(JaxWorkload):
    """Base of the conformer and deepspeech proxies in JAX (CTC over characters, WER)."""

    def load_splits(self) -> dict[str, NumpyBatch]:
        sizes = self.split_sizes
        return load_splits(int(self.overrides.get("data_seed", 0)), sizes,
                           self.num_eval_train_examples)  # fmt: skip

    def prepare_batch(self, batch: NumpyBatch) -> NumpyBatch:
        if "weights" in batch:  # eval rows added to fill a batch are all padding
            pad = np.maximum(batch["input_paddings"], 1 - batch["weights"][:, None])
            batch = {**batch, "input_paddings": pad.astype(np.float32)}
        return batch

    def model_inputs(self, batch: dict[str, Any]) -> Any:
        return {"inputs": batch["inputs"], "input_paddings": batch["input_paddings"]}

    def loss_fn(
        self,
        label_batch: spec.Tensor,
        logits_batch: spec.Tensor,
        mask_batch: spec.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, spec.Tensor]:
        """AlgoPerf's CTC loss; ``logits_batch`` is ``(logits, logit_paddings)``."""
        logits, logit_paddings = logits_batch
        return ctc_loss(logits, logit_paddings, label_batch, mask_batch)

    def output_activation_fn(self, logits_batch: spec.Tensor, framework: str) -> spec.Tensor:
        return jax.nn.log_softmax(logits_batch[0], axis=-1)

    def split_metrics(self, logits: Any, batch: dict[str, jax.Array]) -> dict[str, Any]:
        out = self.loss_fn(batch["targets"], logits, batch["weights"])
        return {"loss": out["summed"], "tokens": out["n_valid_examples"],
                "logits": logits[0], "logit_paddings": logits[1]}  # fmt: skip

    def _eval_split(self, split: str, params: Any, model_state: Any) -> dict[str, float]:
        loss = tokens = 0.0
        edits = words = 0
        for batch in self._build_input_queue(None, split, None, self.eval_batch_size):
            out = self._eval_step(params, model_state, batch)
            loss, tokens = loss + float(out["loss"]), tokens + float(out["tokens"])
            real = np.asarray(batch["weights"]) > 0
            paths = ctc.greedy_decode(np.asarray(out["logits"])[real],
                                      np.asarray(out["logit_paddings"])[real])  # fmt: skip
            hyps = [decode_text(ids) for ids in paths]
            refs = [decode_text(row) for row in np.asarray(batch["targets"])[real].tolist()]
            e, w = ctc.word_errors(hyps, refs)
            edits, words = edits + e, words + w
        return {"loss": loss / max(tokens, 1.0), "wer": edits / max(words, 1)}
