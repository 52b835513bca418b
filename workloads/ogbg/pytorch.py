"""ogbg proxy (PyTorch): AlgoPerf's Jraph-style GraphNetwork on real rdkit molecules.

The model is AlgoPerf's ogbg GNN: linear node/edge embedders, then
``num_message_passing_steps`` full GraphNetwork blocks (edge, node and global MLP
updates with sum aggregation, each MLP Dense -> LayerNorm -> activation -> dropout),
and a linear decoder of the global features into one logit per task. Its size knobs
(``latent_dim``, ``hidden_dims``, ``num_message_passing_steps``, ``activation``) come
from the overrides; AlgoPerf's full size is latent 256, hidden (256,), 5 steps.

Batches are padded graphs: per graph, ``inputs`` (node features, ``[B, N_max, 9]``),
``edge_features``, ``senders``/``receivers`` (local node indices) and the true
``n_node``/``n_edge``; the model packs them into one flat graph batch. Loss: sigmoid
cross-entropy over the observed labels only (``weights``); metric: mean average
precision over tasks, as AlgoPerf computes it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from autotune import spec
from autotune.frameworks.torch_workload import Batch, TorchWorkload
from workloads.ogbg.config import model_config
from workloads.ogbg.data import GRAPH_KEYS, load_splits
from workloads.ogbg.metrics import mean_average_precision

NUM_TASKS = 128  # ogbg-molpcba's binary tasks

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def _mlp(in_dim: int, hidden_dims: tuple[int, ...], dropout: float, act: str) -> nn.Sequential:
    layers = nn.Sequential()
    for i, dim in enumerate(hidden_dims):
        layers.add_module(f"dense_{i}", nn.Linear(in_dim, dim))
        layers.add_module(f"norm_{i}", nn.LayerNorm(dim, eps=1e-6))
        layers.add_module(f"activation_{i}", ACTIVATIONS[act]())
        layers.add_module(f"dropout_{i}", nn.Dropout(dropout))
        in_dim = dim
    return layers


def _segment_sum(data: torch.Tensor, ids: torch.Tensor, n: int) -> torch.Tensor:
    out = data.new_zeros((n, data.shape[-1]))
    return out.index_add_(0, ids, data)


class GraphNetwork(nn.Module):
    """One Jraph GraphNetwork block: edge, node, then global update (sum aggregation)."""

    def __init__(self, edge_fn: nn.Module, node_fn: nn.Module, global_fn: nn.Module) -> None:
        super().__init__()
        self.edge_fn, self.node_fn, self.global_fn = edge_fn, node_fn, global_fn

    def forward(self, g: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        nodes, edges, glob = g["nodes"], g["edges"], g["globals"]
        senders, receivers = g["senders"], g["receivers"]
        node_graph, edge_graph = g["node_graph"], g["edge_graph"]
        edges = self.edge_fn(
            torch.cat([edges, nodes[senders], nodes[receivers], glob[edge_graph]], -1)
        )
        n_nodes, n_graphs = len(nodes), len(glob)
        sent = _segment_sum(edges, senders, n_nodes)
        received = _segment_sum(edges, receivers, n_nodes)
        nodes = self.node_fn(torch.cat([nodes, sent, received, glob[node_graph]], -1))
        glob = self.global_fn(
            torch.cat([_segment_sum(nodes, node_graph, n_graphs),
                       _segment_sum(edges, edge_graph, n_graphs), glob], -1)
        )  # fmt: skip
        return {**g, "nodes": nodes, "edges": edges, "globals": glob}


class GNN(nn.Module):
    """AlgoPerf's ogbg model, with its size and activation as constructor arguments."""

    def __init__(self, num_outputs: int, latent_dim: int = 256,
                 hidden_dims: tuple[int, ...] = (256,), num_message_passing_steps: int = 5,
                 dropout_rate: float = 0.1, activation: str = "relu",
                 node_features: int = 9, edge_features: int = 3) -> None:  # fmt: skip
        super().__init__()
        self.num_outputs = num_outputs
        self.node_embedder = nn.Linear(node_features, latent_dim)
        self.edge_embedder = nn.Linear(edge_features, latent_dim)
        h = hidden_dims[-1]
        blocks = []
        for step in range(num_message_passing_steps):
            if step == 0:
                dims = (3 * latent_dim + num_outputs, latent_dim + 2 * h + num_outputs,
                        2 * h + num_outputs)  # fmt: skip
            else:
                dims = (4 * h, 4 * h, 3 * h)
            edge_fn, node_fn, global_fn = (
                _mlp(d, hidden_dims, dropout_rate, activation) for d in dims
            )
            blocks.append(GraphNetwork(edge_fn, node_fn, global_fn))
        self.graph_network = nn.Sequential(*blocks)
        self.decoder = nn.Linear(h, num_outputs)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        g = pack_graphs(batch)
        g["nodes"] = self.node_embedder(g["nodes"])
        g["edges"] = self.edge_embedder(g["edges"])
        g["globals"] = g["nodes"].new_zeros((len(batch["n_node"]), self.num_outputs))
        return self.decoder(self.graph_network(g)["globals"])


def pack_graphs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Padded per-graph tensors -> one flat graph batch (Jraph's GraphsTuple layout)."""
    n_node, n_edge = batch["n_node"].long(), batch["n_edge"].long()
    n_max, e_max = batch["inputs"].shape[1], batch["senders"].shape[1]
    node_mask = torch.arange(n_max, device=n_node.device) < n_node[:, None]
    edge_mask = torch.arange(e_max, device=n_edge.device) < n_edge[:, None]
    offsets = (torch.cumsum(n_node, 0) - n_node)[:, None]
    graph_ids = torch.arange(len(n_node), device=n_node.device)
    return {
        "nodes": batch["inputs"][node_mask].float(),
        "edges": batch["edge_features"][edge_mask].float(),
        "senders": (batch["senders"].long() + offsets)[edge_mask],
        "receivers": (batch["receivers"].long() + offsets)[edge_mask],
        "node_graph": torch.repeat_interleave(graph_ids, n_node),
        "edge_graph": torch.repeat_interleave(graph_ids, n_edge),
    }


class OgbgWorkload(TorchWorkload):
    """The ogbg proxy; variants override ``activation``, sizes or ``num_message_passing_steps``."""

    def build_model(self) -> nn.Module:
        return GNN(num_outputs=self.num_tasks, **model_config(self.overrides))

    @property
    def num_tasks(self) -> int:
        if self.full_size:
            return NUM_TASKS
        return int(self.splits["train"]["targets"].shape[1])

    def load_splits(self) -> dict[str, Batch]:
        sizes = self.split_sizes
        splits = load_splits(int(self.overrides.get("data_seed", 0)), sizes,
                             self.num_eval_train_examples)  # fmt: skip
        return {name: {k: torch.from_numpy(v) for k, v in d.items()} for name, d in splits.items()}

    def forward(self, model: nn.Module, batch: dict[str, spec.Tensor]) -> spec.Tensor:
        return model({k: batch[k] for k in GRAPH_KEYS})

    def loss_fn(
        self,
        label_batch: spec.Tensor,
        logits_batch: spec.Tensor,
        mask_batch: spec.Tensor | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, spec.Tensor]:
        """AlgoPerf's masked sigmoid CE: summed over observed labels, counted per label."""
        targets = label_batch.float()
        if label_smoothing:
            targets = targets * (1 - label_smoothing) + 0.5 * label_smoothing
        per = F.binary_cross_entropy_with_logits(logits_batch, targets, reduction="none")
        mask = torch.ones_like(per) if mask_batch is None else mask_batch.float()
        per = per * mask
        return {"summed": per.sum(), "n_valid_examples": mask.sum(), "per_example": per}

    @torch.no_grad()
    def _eval_split(
        self, split: str, params: nn.Module, model_state: Any, rng: Any
    ) -> dict[str, float]:
        logits, labels, masks = [], [], []
        for batch in self._build_input_queue(rng, split, None, self.eval_batch_size):
            out, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL,
                                   rng, update_batch_norm=False)  # fmt: skip
            logits.append(out)
            labels.append(batch["targets"])
            masks.append(batch["weights"])
        lg, lb, mk = torch.cat(logits), torch.cat(labels), torch.cat(masks)
        loss = self.loss_fn(lb, lg, mk)
        return {
            "loss": float(loss["summed"] / loss["n_valid_examples"].clamp_min(1)),
            "mean_average_precision": mean_average_precision(
                lb.cpu().numpy(), torch.sigmoid(lg).cpu().numpy(), mk.cpu().numpy()
            ),
        }
