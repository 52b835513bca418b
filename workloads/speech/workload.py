"""The PyTorch side shared by the librispeech workloads: splits, batching, CTC loss and WER.

A family supplies ``build_model``: a module mapping ``(features [B, T, 80],
paddings [B, T])`` to ``(logits [B, T', V], logit_paddings [B, T'])``. As in AlgoPerf,
``model_fn`` returns that pair as its "logits", and ``loss_fn`` takes it with the
padded character targets (0 = padding). At full size (``--data-dir``) batches are
LibriSpeech audio turned into features by :mod:`workloads.speech.frontend`, targets are
SentencePiece ids, and WER decodes them with the dataset's tokenizer.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

from autotune import spec
from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.speech import ctc, frontend
from workloads.speech.data import ALPHABET, load_splits, trim
from workloads.speech.decoding import Decoder, batch_word_errors, text_decoder

__all__ = ["VOCAB_SIZE", "SpeechWorkload"]

VOCAB_SIZE = len(ALPHABET) + 1  # + the CTC blank


def _trim(batch: Batch) -> Batch:
    """Drop all-padding frames and target columns; features to float32."""
    batch = trim(batch)
    return {**batch, "inputs": batch["inputs"].float()}


class SpeechWorkload(TorchWorkload):
    """Base of the conformer and deepspeech proxies (CTC over characters, WER)."""

    def adapt_batch(self, batch: Batch) -> Batch:
        """Real LibriSpeech audio -> log-mel features (:mod:`workloads.speech.frontend`)."""
        feats, paddings = frontend.features(batch["inputs"], batch["input_paddings"])
        return {"inputs": feats, "input_paddings": paddings, "targets": batch["targets"]}

    @functools.cached_property
    def decode(self) -> Decoder:
        """Text of CTC or target ids: characters (proxy) or SentencePiece pieces (full)."""
        return text_decoder(self.data_dir)

    def load_splits(self) -> dict[str, Batch]:
        sizes = self.split_sizes
        splits = load_splits(int(self.overrides.get("data_seed", 0)), sizes,
                             self.num_eval_train_examples)  # fmt: skip
        return {
            name: {k: torch.from_numpy(v.astype(np.int64) if k == "targets" else v)
                   for k, v in d.items()}
            for name, d in splits.items()
        }  # fmt: skip

    def proxy_batch(self, batch: Batch) -> Batch:
        return _trim(batch)

    def forward(self, model: nn.Module, batch: dict[str, spec.Tensor]) -> spec.Tensor:
        return model(batch["inputs"], batch["input_paddings"])

    def loss_fn(
        self,
        label_batch: spec.Tensor,
        logits_batch: spec.Tensor,
        mask_batch: spec.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, spec.Tensor]:
        """AlgoPerf's CTC loss; ``logits_batch`` is ``(logits, logit_paddings)``."""
        logits, logit_paddings = logits_batch
        return ctc.ctc_loss(logits, logit_paddings, label_batch, mask_batch)

    def output_activation_fn(self, logits_batch: spec.Tensor, framework: str) -> spec.Tensor:
        return torch.log_softmax(logits_batch[0], dim=-1)

    @torch.no_grad()
    def _eval_split(
        self, split: str, params: nn.Module, model_state: Any, rng: Any
    ) -> dict[str, float]:
        loss = tokens = 0.0
        edits = words = 0
        for batch in self._build_input_queue(rng, split, None, self.eval_batch_size):
            out, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL,
                                   rng, update_batch_norm=False)  # fmt: skip
            losses = self.loss_fn(batch["targets"], out)
            loss += float(losses["summed"])
            tokens += float(losses["n_valid_examples"])
            logits, logit_paddings = (t.cpu().numpy() for t in out)
            e, w = batch_word_errors(logits, logit_paddings, batch["targets"].cpu().numpy(),
                                     self.decode)  # fmt: skip
            edits, words = edits + e, words + w
        return {"loss": loss / max(tokens, 1.0), "wer": edits / max(words, 1)}
