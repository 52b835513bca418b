"""The JAX side shared by the librispeech workloads: splits, batching, CTC loss and WER.

A family supplies ``build_model``: a Flax module called as ``model({"inputs",
"input_paddings"}, train=...)`` returning ``(logits [B, T', V], logit_paddings [B,
T'])``; as in AlgoPerf (and the PyTorch side, :mod:`workloads.speech.workload`),
``model_fn`` returns that pair as its "logits". Proxy splits are the shared numpy ones
of :mod:`workloads.speech.data`; unlike PyTorch, proxy batches keep their split's width
rather than being trimmed per batch: one shape, so jit compiles the step once.

At full size (``--data-dir``) batches are the PyTorch side's (the LibriSpeech reader's
padded 16 kHz audio and SentencePiece targets). ``prepare_batch`` trims each to the
next multiple of :data:`AUDIO_STEP` samples and :data:`TARGET_STEP` tokens (at most 8 x
4 shapes, each compiled once; PyTorch keeps all 320,000 samples, and trimming changes
no valid frame's features) and ``model_inputs`` turns the audio into log-mel features with
:mod:`workloads.speech.flax_frontend` inside the compiled step, as AlgoPerf's JAX
models do. WER decodes ids with the dataset's tokenizer
(:mod:`workloads.speech.decoding`, shared with PyTorch).

Padded frames are masked in attention, convolution inputs, LSTMs, the loss and WER,
but (in both frameworks) batch-norm statistics in training include them, so training
steps see slightly different statistics than PyTorch's trimmed batches. Loss: optax's
CTC, summed over utterances and normalised by target tokens; an utterance no alignment
fits scores 0, as PyTorch's ``zero_infinity``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from autotune import spec
from autotune.datasets.librispeech import MAX_SAMPLES, MAX_TARGETS
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.speech import flax_frontend
from workloads.speech.data import load_splits
from workloads.speech.decoding import Decoder, batch_word_errors, text_decoder

__all__ = ["AUDIO_STEP", "TARGET_STEP", "SpeechWorkload", "ctc_loss", "trim_to_steps"]

AUDIO_STEP, TARGET_STEP = MAX_SAMPLES // 8, MAX_TARGETS // 4  # 2.5 s of audio, 64 tokens


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


def _round_up(n: int, step: int, cap: int) -> int:
    return min(max(-(-n // step), 1) * step, cap)


def trim_to_steps(batch: NumpyBatch) -> NumpyBatch:
    """A full-size batch's audio and targets cut after the last column any row uses,
    rounded up to a multiple of :data:`AUDIO_STEP` / :data:`TARGET_STEP`
    (``target_paddings`` dropped: padding is target id 0)."""
    samples = int((batch["input_paddings"] < 1).sum(1).max(initial=0))
    used = np.flatnonzero(batch["targets"].any(0))
    t = _round_up(samples, AUDIO_STEP, batch["inputs"].shape[1])
    n = _round_up(int(used[-1]) + 1 if len(used) else 0, TARGET_STEP, batch["targets"].shape[1])
    out = {k: v for k, v in batch.items() if k != "target_paddings"}
    out.update(inputs=batch["inputs"][:, :t], input_paddings=batch["input_paddings"][:, :t],
               targets=batch["targets"][:, :n])  # fmt: skip
    return out


class SpeechWorkload(JaxWorkload):
    """Base of the conformer and deepspeech workloads in JAX (CTC, WER): proxies on
    characters, full size on LibriSpeech audio and SentencePiece ids."""

    def load_splits(self) -> dict[str, NumpyBatch]:
        sizes = self.split_sizes
        return load_splits(int(self.overrides.get("data_seed", 0)), sizes,
                           self.num_eval_train_examples)  # fmt: skip

    @functools.cached_property
    def decode(self) -> Decoder:
        """Text of CTC or target ids: characters (proxy) or SentencePiece pieces (full)."""
        return text_decoder(self.data_dir)

    def prepare_batch(self, batch: NumpyBatch) -> NumpyBatch:
        if "weights" in batch:  # eval rows added to fill a batch are all padding
            pad = np.maximum(batch["input_paddings"], 1 - batch["weights"][:, None])
            batch = {**batch, "input_paddings": pad.astype(np.float32)}
        return trim_to_steps(batch) if self.full_size else batch

    def model_inputs(self, batch: dict[str, Any]) -> Any:
        """The model's features: at full size computed here from the audio, in the step."""
        if self.full_size:
            feats, paddings = flax_frontend.features(batch["inputs"], batch["input_paddings"])
            return {"inputs": feats, "input_paddings": paddings}
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
            e, w = batch_word_errors(np.asarray(out["logits"])[real],
                                     np.asarray(out["logit_paddings"])[real],
                                     np.asarray(batch["targets"])[real], self.decode)  # fmt: skip
            edits, words = edits + e, words + w
        return {"loss": loss / max(tokens, 1.0), "wer": edits / max(words, 1)}
