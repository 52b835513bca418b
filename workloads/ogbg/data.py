"""Molecular graphs for the ogbg proxy: the real molecules shipped in the ``rdkit`` wheel.

The molecules are the NCI set (``Data/NCI/first_5K.smi``) and the WEHI set
(``Data/Pains/test_data/wehi_mols.csv``), deduplicated by canonical SMILES. Each one
becomes a graph with OGB's ``smiles2graph`` featurisation (9 integer atom features, 3
integer bond features, both bond directions as edges), and its labels are the presence
of each RDKit ``fr_*`` functional-group fragment: a multi-label binary task as sparse
as OGBG-molpcba's. Like molpcba, not every molecule is "assayed" for every task: each
task observes a seeded random share (40-100 %) of the molecules, the rest are missing
labels (weight 0). The split is OGB's scaffold split (Bemis-Murcko scaffolds, largest
scaffold groups to train). RDKit is only needed to build the cache.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from autotune.data_cache import cached_arrays
from autotune.errors import UserError

__all__ = [
    "DATA_VERSION",
    "GRAPH_KEYS",
    "MAX_ATOMS",
    "load_molecules",
    "load_splits",
    "padded_graphs",
]

DATA_VERSION = "ogbg-rdkit-v1"
MAX_ATOMS = 64  # larger molecules are dropped, to keep padded batches compact
MIN_POSITIVES = 30  # fragments rarer than this over all molecules are not tasks
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
# The per-graph arrays a model reads (the rest of a batch: ``targets``, ``weights``).
GRAPH_KEYS = ("inputs", "edge_features", "senders", "receivers", "n_node", "n_edge")

# OGB's allowable feature values (ogb.utils.features); the last entry is "misc".
_ATOM_LISTS: tuple[list[Any], ...] = (
    [*range(1, 119), "misc"],
    ["CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW", "CHI_OTHER", "misc"],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "misc"],
    [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, "misc"],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, "misc"],
    [0, 1, 2, 3, 4, "misc"],
    ["SP", "SP2", "SP3", "SP3D", "SP3D2", "misc"],
    [False, True],
    [False, True],
)
_BOND_LISTS: tuple[list[Any], ...] = (
    ["SINGLE", "DOUBLE", "TRIPLE", "AROMATIC", "misc"],
    ["STEREONONE", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS", "STEREOANY"],
    [False, True],
)


def _index(values: list[Any], value: Any) -> int:
    try:
        return values.index(value)
    except ValueError:
        return len(values) - 1


def _atom_features(atom: Any) -> list[int]:
    raw = (
        atom.GetAtomicNum(), str(atom.GetChiralTag()), atom.GetTotalDegree(),
        atom.GetFormalCharge(), atom.GetTotalNumHs(), atom.GetNumRadicalElectrons(),
        str(atom.GetHybridization()), atom.GetIsAromatic(), atom.IsInRing(),
    )  # fmt: skip
    return [_index(lst, v) for lst, v in zip(_ATOM_LISTS, raw, strict=True)]


def _bond_features(bond: Any) -> list[int]:
    raw = (str(bond.GetBondType()), str(bond.GetStereo()), bond.GetIsConjugated())
    return [_index(lst, v) for lst, v in zip(_BOND_LISTS, raw, strict=True)]


def _smiles() -> list[str]:
    """Every SMILES string shipped in the two rdkit data files."""
    import rdkit

    root = Path(rdkit.__file__).parent / "Data"
    nci = [line.split()[0] for line in (root / "NCI/first_5K.smi").read_text().splitlines()]
    with (root / "Pains/test_data/wehi_mols.csv").open() as f:
        wehi = [row[0] for row in csv.reader(f) if row]
    return nci + wehi


def _molecules() -> list[Any]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    seen: dict[str, Any] = {}
    for smi in _smiles():
        mol = Chem.MolFromSmiles(smi)
        if mol is None or not 2 <= mol.GetNumAtoms() <= MAX_ATOMS:
            continue
        seen.setdefault(Chem.MolToSmiles(mol), mol)
    return [seen[k] for k in sorted(seen)]


def _graph(mol: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nodes = np.array([_atom_features(a) for a in mol.GetAtoms()], dtype=np.int16)
    edges, index = [], []
    for bond in mol.GetBonds():
        i, j, feats = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), _bond_features(bond)
        edges += [feats, feats]
        index += [(i, j), (j, i)]
    return (
        nodes,
        np.array(edges, dtype=np.int16).reshape(-1, 3),
        np.array(index, dtype=np.int32).reshape(-1, 2),
    )


def _fragment_labels(mols: list[Any]) -> tuple[np.ndarray, list[str]]:
    from rdkit.Chem import Fragments

    names = sorted(n for n in dir(Fragments) if n.startswith("fr_"))
    labels = np.array([[getattr(Fragments, n)(m) > 0 for n in names] for m in mols], dtype=np.int8)
    keep = labels.sum(0) >= MIN_POSITIVES
    return labels[:, keep], [n for n, k in zip(names, keep, strict=True) if k]


def _scaffold_split(mols: list[Any]) -> np.ndarray:
    """OGB's scaffold split: 0 train, 1 validation, 2 test."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    groups: dict[str, list[int]] = defaultdict(list)
    for i, mol in enumerate(mols):
        groups[MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=True)].append(i)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    split = np.zeros(len(mols), dtype=np.int8)
    n_train, n_val = (int(f * len(mols)) for f in SPLIT_FRACTIONS[:2])
    filled = 0
    for group in ordered:
        split[group] = 0 if filled + len(group) <= n_train else (
            1 if filled + len(group) <= n_train + n_val else 2
        )  # fmt: skip
        filled += len(group)
    return split


def _build(seed: int) -> dict[str, np.ndarray]:
    try:
        mols = _molecules()
    except ImportError:
        raise UserError("the ogbg proxy needs rdkit: pip install 'autotune[proxies]'") from None
    graphs = [_graph(m) for m in mols]
    labels, _ = _fragment_labels(mols)
    rng = np.random.default_rng(seed)
    coverage = rng.uniform(0.4, 1.0, size=labels.shape[1])
    observed = (rng.random(labels.shape) < coverage).astype(np.int8)
    return {
        "node_feat": np.concatenate([g[0] for g in graphs]),
        "edge_feat": np.concatenate([g[1] for g in graphs]),
        "edge_index": np.concatenate([g[2] for g in graphs]),
        "n_node": np.array([len(g[0]) for g in graphs], dtype=np.int32),
        "n_edge": np.array([len(g[1]) for g in graphs], dtype=np.int32),
        "labels": labels,
        "observed": observed,
        "split": _scaffold_split(mols),
    }


def load_molecules(seed: int = 0) -> dict[str, np.ndarray]:
    """The featurised molecules (flat, ragged arrays), built once and cached."""
    return cached_arrays(f"{DATA_VERSION}-seed{seed}", lambda: _build(seed))


def padded_graphs(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The graphs ``rows`` of the flat cache arrays as padded per-graph arrays.

    ``inputs`` (node features ``[B, N_max, 9]``), ``edge_features`` (``[B, E_max, 3]``),
    ``senders``/``receivers`` (local node indices, 0 on padding), the true
    ``n_node``/``n_edge``, ``targets`` and ``weights`` (1 where a label is observed).
    ``N_max``/``E_max`` are over all molecules, so every batch has one shape.
    """
    n_node, n_edge = arrays["n_node"], arrays["n_edge"]
    node_start = np.concatenate([[0], np.cumsum(n_node)])
    edge_start = np.concatenate([[0], np.cumsum(n_edge)])
    n_max, e_max = int(n_node.max()), int(n_edge.max())
    nodes = np.zeros((len(rows), n_max, 9), np.int16)
    edges = np.zeros((len(rows), e_max, 3), np.int16)
    index = np.zeros((len(rows), e_max, 2), np.int32)
    for out, g in enumerate(rows):
        nodes[out, : n_node[g]] = arrays["node_feat"][node_start[g] : node_start[g + 1]]
        edges[out, : n_edge[g]] = arrays["edge_feat"][edge_start[g] : edge_start[g + 1]]
        index[out, : n_edge[g]] = arrays["edge_index"][edge_start[g] : edge_start[g + 1]]
    return {
        "inputs": nodes, "edge_features": edges,
        "senders": index[..., 0], "receivers": index[..., 1],
        "n_node": n_node[rows], "n_edge": n_edge[rows],
        "targets": arrays["labels"][rows].astype(np.float32),
        "weights": arrays["observed"][rows].astype(np.float32),
    }  # fmt: skip


def load_splits(
    seed: int, sizes: dict[str, int], num_eval_train: int
) -> dict[str, dict[str, np.ndarray]]:
    """Padded graphs per split (``train``, ``validation``, ``test`` cut to ``sizes``, 0 =
    all; ``eval_train`` = the first ``num_eval_train`` training graphs, 0 = as many as
    validation), for either framework."""
    arrays = load_molecules(seed)
    out = {}
    for code, name in enumerate(("train", "validation", "test")):
        rows = np.flatnonzero(arrays["split"] == code)
        out[name] = padded_graphs(arrays, rows[: sizes[name] or None])
    n_eval = num_eval_train or len(out["validation"]["targets"])
    out["eval_train"] = {k: v[:n_eval] for k, v in out["train"].items()}
    return out
