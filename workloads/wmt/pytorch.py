"""wmt proxy (PyTorch): AlgoPerf's encoder-decoder Transformer on num2words de -> en.

Batches carry ``inputs`` (source ids), ``targets`` (target ids ending in EOS) and
``weights`` (1 on real target tokens); the input pipeline trims all-padding columns
per batch, as AlgoPerf's length bucketing avoids padding. The model is fed the
targets shifted right (start token 0) and returns per-token logits. Loss: AlgoPerf's
label-smoothed softmax cross-entropy per target token; metric: corpus BLEU of greedy
decodes. Size knobs (``d_model``, ``num_heads``, ``mlp_dim``, ``num_layers``) and
variant knobs (``post_ln``, ``attention_temp``, ``glu``/``activation``) are overrides.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autotune import spec
from autotune.datasets import wmt as wmt_data
from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.wmt.config import model_config
from workloads.wmt.data import EOS, Vocab, load_splits, trim
from workloads.wmt.metrics import corpus_bleu
from workloads.wmt.models import Transformer


def shift_right(targets: torch.Tensor) -> torch.Tensor:
    return F.pad(targets, (1, 0))[:, :-1]


class WmtWorkload(TorchWorkload):
    """The wmt proxy; variants override ``post_ln``, ``attention_temp`` or ``glu``."""

    vocab: Vocab

    def build_model(self) -> nn.Module:
        if self.data_dir is not None:  # the dataset's SentencePiece model (AlgoPerf's: 32k)
            self.vocab = Vocab(wmt_data.model_path(self.data_dir).read_bytes())
        elif not self.full_size:
            _ = self.splits  # the vocabulary comes with the data
        vocab_size = len(self.vocab) if hasattr(self, "vocab") else self.overrides["vocab_size"]
        return Transformer(vocab_size=vocab_size, **model_config(self.overrides))

    def load_splits(self) -> dict[str, Batch]:
        sizes = self.split_sizes
        splits, self.vocab = load_splits(int(self.overrides.get("data_seed", 0)), sizes,
                                         self.num_eval_train_examples)  # fmt: skip
        return {
            name: {k: torch.from_numpy(v.astype(np.int64) if k != "weights" else v)
                   for k, v in d.items()}
            for name, d in splits.items()
        }  # fmt: skip

    def proxy_batch(self, batch: Batch) -> Batch:
        return trim(batch)

    def forward(self, model: nn.Module, batch: dict[str, spec.Tensor]) -> spec.Tensor:
        return model(batch["inputs"], shift_right(batch["targets"]))

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
        log_probs = F.log_softmax(logits_batch.float(), -1)
        nll = -log_probs.gather(-1, label_batch[..., None]).squeeze(-1)
        per = confidence * nll - low * (log_probs.sum(-1) + nll) if label_smoothing else nll
        mask = (label_batch > 0).float() if mask_batch is None else mask_batch.float()
        per = per * mask
        return {"summed": per.sum(), "n_valid_examples": mask.sum(), "per_example": per}

    @torch.no_grad()
    def _eval_split(
        self, split: str, params: nn.Module, model_state: Any, rng: Any
    ) -> dict[str, float]:
        loss = correct = tokens = 0.0
        hyps: list[str] = []
        refs: list[str] = []
        for batch in self._build_input_queue(rng, split, None, self.eval_batch_size):
            logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL,
                                      rng, update_batch_norm=False)  # fmt: skip
            out = self.loss_fn(batch["targets"], logits, batch["weights"])
            loss += float(out["summed"])
            tokens += float(out["n_valid_examples"])
            correct += float(((logits.argmax(-1) == batch["targets"]) * batch["weights"]).sum())
            max_len = int(1.5 * batch["inputs"].shape[1]) + 10  # from the source only
            model = cast(Transformer, getattr(params, "module", params))  # unwrapped under DDP
            decodes = model.greedy_decode(batch["inputs"], max_len, EOS)
            hyps += [self.vocab.decode(row) for row in decodes.tolist()]
            refs += [self.vocab.decode(row) for row in batch["targets"].tolist()]
        tokens = max(tokens, 1.0)
        return {
            "loss": loss / tokens,
            "accuracy": correct / tokens,
            "bleu": corpus_bleu(hyps, refs),
        }
