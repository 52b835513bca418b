"""Synthetic Criteo-style click logs drawn from a planted model (numpy only).

No click-log data ship in any offline package, so rows come from a known generator
shaped like Criteo's: 13 log-normal count features (20 % missing, read as 0) and 26
categorical fields with vocabularies of 3 to ``max_vocab`` ids drawn Zipf-like. The
click probability is ``sigmoid(logit)`` with

    logit = b + a . dense + sum_f w[f, id_f] + s * sum_{f<g} <v[f, id_f], v[g, id_g]>
            + tanh(dense_0) * u[id_0]

(linear dense and categorical terms, factorisation-machine pairwise interactions,
exactly what DLRM's dot interaction can fit, and one nonlinear dense x categorical
term). The intercept ``b`` is set by bisection so the click rate is ``positive_rate``.
Dense features are stored preprocessed as AlgoPerf reads them, ``log(max(x, 0) + 1)``;
categorical features as global ids (field offset + id) for the workload to hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from autotune.data_cache import cached_arrays
from autotune.spec import Workload

__all__ = ["N_CATEGORICAL", "N_DENSE", "ClickModel", "generate", "hash_ids", "load_splits"]

N_DENSE, N_CATEGORICAL = 13, 26
DATA_VERSION = 1
SPLIT_SEED = 0
_HASH = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class ClickModel:
    """The planted model's shape; fixed per data version (part of the cache key)."""

    max_vocab: int = 2_000
    latent_dim: int = 4
    pairwise_scale: float = 0.35
    missing_rate: float = 0.2
    zipf_exponent: float = 1.1
    positive_rate: float = 0.033  # Criteo 1TB's click rate

    def key(self) -> str:
        return "-".join(f"{v}" for v in asdict(self).values())


def _fields(model: ClickModel) -> np.ndarray:
    """Vocabulary size of each categorical field, 3 to ``max_vocab``, log-spaced."""
    return np.geomspace(3, model.max_vocab, N_CATEGORICAL).round().astype(np.int64)


def _draw_rows(model: ClickModel, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    mu = np.linspace(0.5, 4.0, N_DENSE)
    counts = np.floor(np.exp(rng.normal(mu, 1.2, size=(n, N_DENSE))))
    counts[rng.random((n, N_DENSE)) < model.missing_rate] = 0
    dense = np.log1p(np.maximum(counts, 0)).astype(np.float32)
    ids = np.empty((n, N_CATEGORICAL), np.int64)
    for f, size in enumerate(_fields(model)):
        p = (np.arange(size) + 1.0) ** -model.zipf_exponent
        ids[:, f] = rng.choice(size, size=n, p=p / p.sum())
    return dense, ids


def _logits(model: ClickModel, dense: np.ndarray, ids: np.ndarray, seed: int) -> np.ndarray:
    """The planted logit without intercept; the model's parameters come from ``seed``."""
    rng = np.random.default_rng([seed, 1])
    sizes = _fields(model)
    a = rng.normal(0, 0.3, N_DENSE) / dense.std(0).clip(1e-3)
    out = (dense - dense.mean(0)) @ a
    factors = np.zeros((len(dense), model.latent_dim))
    sq = np.zeros(len(dense))
    for f, size in enumerate(sizes):
        w, v = rng.normal(0, 0.4, size), rng.normal(0, 1.0, (size, model.latent_dim))
        out += w[ids[:, f]]
        vf = v[ids[:, f]]
        factors += vf
        sq += (vf**2).sum(1)
    pairs = 0.5 * ((factors**2).sum(1) - sq) / N_CATEGORICAL  # sum_{f<g} <v_f, v_g>, scaled
    u = rng.normal(0, 1.0, sizes[0])
    return out + model.pairwise_scale * pairs + np.tanh(dense[:, 0] - 1.0) * u[ids[:, 0]]


def _intercept(logits: np.ndarray, rate: float) -> float:
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(logits + mid)))).mean() < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def generate(sizes: dict[str, int], seed: int, model: ClickModel) -> dict[str, np.ndarray]:
    """``<split>_dense`` (float32), ``<split>_cat`` (global ids), ``<split>_y`` (0/1)
    per split, plus ``bayes_loss_<split>``: the planted model's own log loss."""
    out: dict[str, np.ndarray] = {}
    offsets = np.concatenate([[0], np.cumsum(_fields(model))[:-1]])
    bias = None
    for index, (split, n) in enumerate(sorted(sizes.items())):
        rng = np.random.default_rng([seed, 2, index])
        dense, ids = _draw_rows(model, n, rng)
        logits = _logits(model, dense, ids, seed)
        bias = _intercept(logits, model.positive_rate) if bias is None else bias
        p = 1 / (1 + np.exp(-(logits + bias)))
        y = (rng.random(n) < p).astype(np.float32)
        out[f"{split}_dense"], out[f"{split}_cat"], out[f"{split}_y"] = dense, ids + offsets, y
        eps = 1e-7
        loss = -(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)).mean()
        out[f"bayes_loss_{split}"] = np.array(loss)
    return out


def hash_ids(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """Global categorical ids hashed into ``vocab_size`` rows (collisions included, as
    hashing Criteo's 8-hex-digit values into a fixed vocabulary has)."""
    mixed = (ids.astype(np.uint64) * _HASH) >> np.uint64(20)
    return (mixed % np.uint64(vocab_size)).astype(np.int64)


def load_splits(workload: Workload, vocab_size: int) -> dict[str, dict[str, np.ndarray]]:
    """``{split: {"inputs", "targets"}}`` at ``workload``'s sizes (cached; read by either
    framework). As AlgoPerf's input pipeline, ``inputs`` is one float32 array: the 13
    dense features then the 26 ids hashed into ``vocab_size`` rows; ``eval_train`` is the
    first ``num_eval_train_examples`` of train."""
    model = ClickModel()
    sizes = {"train": workload.num_train_examples,
             "validation": workload.num_validation_examples,
             "test": workload.num_test_examples}  # fmt: skip
    key = f"criteo-v{DATA_VERSION}-{model.key()}-{sorted(sizes.items())}-seed{SPLIT_SEED}"
    arrays = cached_arrays(key.replace(" ", ""), lambda: generate(sizes, SPLIT_SEED, model))
    splits = {}
    for split in sizes:
        ids = hash_ids(arrays[f"{split}_cat"], vocab_size).astype(np.float32)
        inputs = np.concatenate([arrays[f"{split}_dense"], ids], axis=1)
        splits[split] = {"inputs": inputs, "targets": arrays[f"{split}_y"]}
    n = workload.num_eval_train_examples
    splits["eval_train"] = {k: v[:n] for k, v in splits["train"].items()}
    return splits
