"""wmt proxy (JAX/Flax): the same Transformer, data and facts as ``workloads/wmt/pytorch.py``.

Splits come from :func:`workloads.wmt.data.load_splits` (shared with PyTorch), each
trimmed to its longest pair. Unlike PyTorch, batches keep their split's width rather than
being trimmed per batch: one shape, so jit compiles the step once (per-batch widths
compiled a new step every few batches); padding is masked, so the loss and metrics do
not depend on it. The model is fed the
targets shifted right (start token 0). Loss: AlgoPerf's label-smoothed per-token
cross-entropy; metrics: loss and accuracy per target token and corpus BLEU of greedy
decodes (:func:`workloads.wmt.flax_models.greedy_decode`, cut to PyTorch's length rule).
At full size (``--data-dir``) the vocabulary is the dataset's SentencePiece model and
each batch (as wide as its longest sentence) is padded to a multiple of
:data:`WIDTH_BUCKET` tokens: a few shapes, each compiled once.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from autotune import spec
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.wmt.config import model_config
from workloads.wmt.data import EOS, Vocab, load_splits
from workloads.wmt.flax_models import Transformer, greedy_decode
from workloads.wmt.metrics import corpus_bleu

WIDTH_BUCKET = 64  # full size: token columns rounded up to a multiple of this


def _max_decode_len(source_width: int) -> int:
    """PyTorch's rule: 1.5 x the (trimmed) source width, plus 10."""
    return int(1.5 * source_width) + 10


def _pad_columns(array: np.ndarray) -> np.ndarray:
    width = -(-array.shape[1] // WIDTH_BUCKET) * WIDTH_BUCKET
    return np.pad(array, ((0, 0), (0, width - array.shape[1])))


class WmtWorkload(JaxWorkload):
    """The wmt proxy in JAX; variants override ``post_ln``, ``attention_temp`` or ``glu``."""

    vocab: Vocab

    def build_model(self) -> nn.Module:
        if self.data_dir is not None:  # the dataset's SentencePiece model (AlgoPerf's: 32k)
            from autotune.datasets.wmt import model_path

            self.vocab = Vocab(model_path(self.data_dir).read_bytes())
        elif not self.full_size:
            _ = self.splits  # the vocabulary comes with the data
        vocab_size = len(self.vocab) if hasattr(self, "vocab") else self.overrides["vocab_size"]
        return Transformer(vocab_size=vocab_size, **model_config(self.overrides))

    def prepare_batch(self, batch: NumpyBatch) -> NumpyBatch:
        """At full size, token columns padded to a multiple of :data:`WIDTH_BUCKET`."""
        if self.data_dir is None:
            return batch
        return {k: _pad_columns(v) if v.ndim == 2 else v for k, v in batch.items()}

    def load_splits(self) -> dict[str, NumpyBatch]:
        sizes = self.split_sizes
        splits, self.vocab = load_splits(int(self.overrides.get("data_seed", 0)), sizes,
                                         self.num_eval_train_examples)  # fmt: skip
        return splits

    def model_inputs(self, batch: dict[str, Any]) -> Any:
        targets = batch["targets"]
        return {"inputs": batch["inputs"], "targets_in": jnp.pad(targets, ((0, 0), (1, 0)))[:, :-1]}

    def loss_fn(
        self,
        label_batch: spec.Tensor,
        logits_batch: spec.Tensor,
        mask_batch: spec.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, spec.Tensor]:
        """AlgoPerf's per-token cross-entropy: 1 - s on the label, s / (V - 1) elsewhere."""
        vocab = logits_batch.shape[-1]
        confidence, low = 1.0 - label_smoothing, label_smoothing / (vocab - 1)
        log_probs = jax.nn.log_softmax(logits_batch.astype(jnp.float32), -1)
        nll = -jnp.take_along_axis(log_probs, label_batch[..., None], -1)[..., 0]
        per = confidence * nll - low * (log_probs.sum(-1) + nll) if label_smoothing else nll
        mask = (label_batch > 0) if mask_batch is None else mask_batch
        mask = mask.astype(per.dtype)
        per = per * mask
        return {"summed": per.sum(), "n_valid_examples": mask.sum(), "per_example": per}

    def split_metrics(self, logits: jax.Array, batch: dict[str, jax.Array]) -> dict[str, Any]:
        out = self.loss_fn(batch["targets"], logits, batch["weights"])
        hits = (logits.argmax(-1) == batch["targets"]) * batch["weights"]
        return {"loss": out["summed"], "tokens": out["n_valid_examples"], "correct": hits.sum()}

    def _eval_split(self, split: str, params: Any, model_state: Any) -> dict[str, float]:
        totals = {"loss": 0.0, "tokens": 0.0, "correct": 0.0}
        hyps: list[str] = []
        refs: list[str] = []
        for batch in self._build_input_queue(None, split, None, self.eval_batch_size):
            for name, value in self._eval_step(params, model_state, batch).items():
                totals[name] += float(value)
            src, targets = np.asarray(batch["inputs"]), np.asarray(batch["targets"])
            real = np.asarray(batch["weights"]).sum(1) > 0  # rows that are not batch padding
            width = int((src > 0).sum(1).max())
            decodes = greedy_decode(self.model, params, batch["inputs"],
                                    _max_decode_len(src.shape[1]), EOS)  # fmt: skip
            decodes = np.asarray(decodes)[real, : _max_decode_len(width)]
            hyps += [self.vocab.decode(row) for row in decodes]
            refs += [self.vocab.decode(row) for row in targets[real]]
        tokens = max(totals["tokens"], 1.0)
        return {
            "loss": totals["loss"] / tokens,
            "accuracy": totals["correct"] / tokens,
            "bleu": corpus_bleu(hyps, refs),
        }
