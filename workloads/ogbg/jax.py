"""ogbg proxy (JAX/Flax): the same GraphNetwork, data and facts as ``workloads/ogbg/pytorch.py``.

The Flax GNN mirrors the PyTorch one module for module (``node_embedder``,
``edge_embedder``, ``graph_network_<i>`` with ``edge_fn``/``node_fn``/``global_fn``
MLPs of ``dense_<j>`` and ``layernorm_<j>``, ``decoder``), so PyTorch weights map onto
it by name (the parity test does). Batches are the padded per-graph arrays of
:func:`workloads.ogbg.data.padded_graphs`, shared with PyTorch; :func:`pack_graphs`
(numpy, before device placement) packs their real nodes and edges into flat arrays, as
the PyTorch model does on the fly, padded to a multiple of :data:`PACK_MULTIPLE` per
device share of the batch and then to coarse size buckets (a few shapes, each
compiled once), with masks that keep the
padding out of every sum. Loss: sigmoid cross-entropy over observed labels; metric:
mean average precision (:mod:`workloads.ogbg.metrics`), computed on the host. At full
size (``--data-dir``) the batches are the same padded per-graph arrays, read from
ogbg-molpcba by :mod:`autotune.datasets.ogbg`, with its 128 tasks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from autotune import spec
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.ogbg.config import model_config
from workloads.ogbg.data import load_splits
from workloads.ogbg.metrics import mean_average_precision

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu, "gelu": functools.partial(nn.gelu, approximate=False), "silu": nn.silu,
}  # fmt: skip


class Mlp(nn.Module):
    """Per hidden dim: Dense -> LayerNorm(eps 1e-6) -> activation -> dropout."""

    hidden_dims: tuple[int, ...]
    dropout_rate: float
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        for i, dim in enumerate(self.hidden_dims):
            x = nn.Dense(dim, name=f"dense_{i}")(x)
            x = nn.LayerNorm(epsilon=1e-6, name=f"layernorm_{i}")(x)
            x = ACTIVATIONS[self.activation](x)
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return x


PACK_MULTIPLE = 256
PACKED_KEYS = ("nodes", "edges", "senders", "receivers", "node_graph", "edge_graph",
               "node_mask", "edge_mask", "n_node")  # fmt: skip


def _bucket(n: int, multiple: int) -> int:
    """``n`` rounded up to a multiple of a quarter of the next power of two (at least
    ``multiple``): at most 33 % padding, and batches of similar size share one shape."""
    step = max(multiple, (1 << max(n - 1, 1).bit_length()) // 4)
    return -(-max(n, 1) // step) * step


def pack_graphs(batch: NumpyBatch, groups: int, multiple: int = PACK_MULTIPLE) -> NumpyBatch:
    """Padded per-graph arrays -> flat node and edge arrays (Jraph's layout), in ``groups``
    equal slices (one per device: graphs, nodes and edges of slice ``g`` sit in slice
    ``g`` of every array), each padded to a size bucket of nodes and of edges.

    Indices are global; the model takes them modulo the array length it sees, which
    makes them local under ``pmap``. Padding has mask 0. Other keys pass through.
    """
    n_node, n_edge = batch["n_node"].astype(np.int64), batch["n_edge"].astype(np.int64)
    b, n_max = batch["inputs"].shape[:2]
    e_max, per = batch["senders"].shape[1], b // groups
    node_mask = np.arange(n_max)[None, :] < n_node[:, None]
    edge_mask = np.arange(e_max)[None, :] < n_edge[:, None]
    nb = _bucket(int(n_node.reshape(groups, per).sum(1).max()), multiple)
    eb = _bucket(int(n_edge.reshape(groups, per).sum(1).max()), multiple)
    out = {"nodes": np.zeros((groups * nb, 9), np.float32),
           "edges": np.zeros((groups * eb, 3), np.float32),
           "node_mask": np.zeros(groups * nb, np.float32),
           "edge_mask": np.zeros(groups * eb, np.float32)}  # fmt: skip
    for key, size in (("senders", eb), ("receivers", eb), ("node_graph", nb), ("edge_graph", eb)):
        out[key] = np.zeros(groups * size, np.int32)
    for g in range(groups):
        rows = slice(g * per, (g + 1) * per)
        nm, em = node_mask[rows], edge_mask[rows]
        k, m = int(nm.sum()), int(em.sum())
        offsets = (np.cumsum(n_node[rows]) - n_node[rows])[:, None] + g * nb
        graph_ids = np.arange(per) + g * per
        out["nodes"][g * nb : g * nb + k] = batch["inputs"][rows][nm]
        out["edges"][g * eb : g * eb + m] = batch["edge_features"][rows][em]
        out["node_mask"][g * nb : g * nb + k] = 1.0
        out["edge_mask"][g * eb : g * eb + m] = 1.0
        for key in ("senders", "receivers"):
            out[key][g * eb : (g + 1) * eb] = g * nb  # padding: this slice's first node
            out[key][g * eb : g * eb + m] = (batch[key][rows] + offsets)[em]
        out["node_graph"][g * nb : (g + 1) * nb] = g * per
        out["node_graph"][g * nb : g * nb + k] = np.repeat(graph_ids, n_node[rows])
        out["edge_graph"][g * eb : (g + 1) * eb] = g * per
        out["edge_graph"][g * eb : g * eb + m] = np.repeat(graph_ids, n_edge[rows])
    rest = {k: v for k, v in batch.items() if k not in ("inputs", "edge_features", "senders",
                                                         "receivers", "n_edge")}  # fmt: skip
    return {**rest, **out}


class GNN(nn.Module):
    """AlgoPerf's ogbg GraphNetwork: embed, message-passing blocks, decode the globals."""

    num_outputs: int
    latent_dim: int = 256
    hidden_dims: tuple[int, ...] = (256,)
    num_message_passing_steps: int = 5
    dropout_rate: float = 0.1
    activation: str = "relu"

    @nn.compact
    def __call__(self, g: dict[str, jax.Array], train: bool = False) -> jax.Array:
        n_nodes, n_graphs = len(g["nodes"]), g["n_node"].shape[0]
        senders, receivers = g["senders"] % n_nodes, g["receivers"] % n_nodes
        node_graph, edge_graph = g["node_graph"] % n_graphs, g["edge_graph"] % n_graphs
        node_mask, edge_mask = g["node_mask"][:, None], g["edge_mask"][:, None]
        nodes = nn.Dense(self.latent_dim, name="node_embedder")(g["nodes"])
        edges = nn.Dense(self.latent_dim, name="edge_embedder")(g["edges"])
        glob = jnp.zeros((n_graphs, self.num_outputs), nodes.dtype)
        mlp = functools.partial(Mlp, self.hidden_dims, self.dropout_rate, self.activation)
        for step in range(self.num_message_passing_steps):
            block = f"graph_network_{step}"
            edges = mlp(name=f"{block}_edge_fn")(
                jnp.concatenate([edges, nodes[senders], nodes[receivers], glob[edge_graph]], -1),
                train,
            )
            edges = edges * edge_mask
            sent = jax.ops.segment_sum(edges, senders, n_nodes)
            received = jax.ops.segment_sum(edges, receivers, n_nodes)
            nodes = mlp(name=f"{block}_node_fn")(
                jnp.concatenate([nodes, sent, received, glob[node_graph]], -1), train
            )
            nodes = nodes * node_mask
            glob = mlp(name=f"{block}_global_fn")(
                jnp.concatenate([jax.ops.segment_sum(nodes, node_graph, n_graphs),
                                 jax.ops.segment_sum(edges, edge_graph, n_graphs),
                                 glob], -1), train)  # fmt: skip
        return nn.Dense(self.num_outputs, name="decoder")(glob)


class OgbgWorkload(JaxWorkload):
    """The ogbg proxy in JAX; variants override ``activation``, sizes or step count."""

    def build_model(self) -> nn.Module:
        return GNN(num_outputs=self.num_tasks, **model_config(self.overrides))

    @property
    def num_tasks(self) -> int:
        if self.full_size:  # ogbg-molpcba's binary tasks
            from autotune.datasets.ogbg import NUM_TASKS

            return NUM_TASKS
        return int(self.splits["train"]["targets"].shape[1])

    def load_splits(self) -> dict[str, NumpyBatch]:
        sizes = self.split_sizes
        return load_splits(int(self.overrides.get("data_seed", 0)), sizes,
                           self.num_eval_train_examples)  # fmt: skip

    def prepare_batch(self, batch: NumpyBatch) -> NumpyBatch:
        n = self.num_devices
        return pack_graphs(batch, n if len(batch["n_node"]) % n == 0 else 1)

    def model_inputs(self, batch: dict[str, Any]) -> Any:
        return {k: batch[k] for k in PACKED_KEYS}

    def loss_fn(
        self,
        label_batch: spec.Tensor,
        logits_batch: spec.Tensor,
        mask_batch: spec.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, spec.Tensor]:
        """AlgoPerf's masked sigmoid CE: summed over observed labels, counted per label."""
        targets = label_batch.astype(logits_batch.dtype)
        if label_smoothing:
            targets = targets * (1 - label_smoothing) + 0.5 * label_smoothing
        per = optax.sigmoid_binary_cross_entropy(logits_batch, targets)
        mask = jnp.ones_like(per) if mask_batch is None else mask_batch.astype(per.dtype)
        per = per * mask
        return {"summed": per.sum(), "n_valid_examples": mask.sum(), "per_example": per}

    def split_metrics(self, logits: jax.Array, batch: dict[str, jax.Array]) -> dict[str, Any]:
        """Per batch: the logits and labels themselves (mAP needs the whole split)."""
        return {"logits": logits, "targets": batch["targets"], "weights": batch["weights"]}

    def _eval_split(self, split: str, params: Any, model_state: Any) -> dict[str, float]:
        parts: dict[str, list[np.ndarray]] = {"logits": [], "targets": [], "weights": []}
        for batch in self._build_input_queue(None, split, None, self.eval_batch_size):
            for name, value in self._eval_step(params, model_state, batch).items():
                parts[name].append(np.asarray(value))
        logits, labels, mask = (np.concatenate(parts[k]) for k in ("logits", "targets", "weights"))
        per = np.asarray(optax.sigmoid_binary_cross_entropy(logits, labels)) * mask
        return {
            "loss": float(per.sum() / max(mask.sum(), 1.0)),
            "mean_average_precision": mean_average_precision(
                labels, np.asarray(jax.nn.sigmoid(logits)), mask
            ),
        }
