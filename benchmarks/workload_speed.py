"""Training-step speed of the full-size workloads: autotune's API path vs plain PyTorch.

Per family, one full-size model (AlgoPerf's architecture, built by the workload class
exactly as ``autotune run --data-dir`` builds it) and one synthetic batch of the real
input shapes, at a documented fraction of AlgoPerf's per-device batch size (``BATCHES``:
the baseline's global batch over 8 devices, cut to what a CPU core steps in seconds).
Timed, each the median of ``--steps`` after one warm-up step:

* **autotune**: a training step as a submission takes it: ``workload.model_fn`` (train
  mode), ``workload.loss_fn``, ``summed / n_valid_examples``, backward, ``AdamW.step``;
* **eager**: the same module, batch and optimizer in a hand-written loop: a direct call
  and PyTorch's fused mean loss;
* **compiled**: the autotune path with the module wrapped in ``torch.compile`` (the
  compile time, the first call, is reported apart; ``--compile`` picks the families,
  since compiling costs minutes per model on one CPU core);
* **eval**: one forward pass of ``model_fn`` in eval mode, without and with compile.

    taskset -c 1 .venv/bin/python -m benchmarks.workload_speed [--steps 3] [--threads 1]
        [--families imagenet_resnet,wmt] [--compile ogbg,fastmri] [--json out.json]

All paths share one module and one optimizer (so a 539M-parameter DLRM fits once in
memory); after one warm-up call each, a family's paths run in rounds of one step each
(order rotated every round), so a busy machine slows them alike.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from autotune import facts, registry, spec
from autotune import rng as prng
from autotune.frameworks.torch_workload import TorchWorkload

Batch = dict[str, torch.Tensor]
VERSION = "v0.6"
DEVICES = 8  # AlgoPerf's reference machine: 8 accelerators, global batch split evenly


@dataclass(frozen=True)
class Case:
    """A family's CPU batch (and AlgoPerf's per-device one), its inputs and plain loss."""

    batch: int
    algoperf_per_device: int
    make: Callable[[int, torch.Generator], Batch]
    plain_loss: Callable[[nn.Module, Batch], torch.Tensor]
    shape: str


def _images(b: int, g: torch.Generator) -> Batch:
    return {"inputs": torch.randn(b, 3, 224, 224, generator=g),
            "targets": torch.randint(0, 1000, (b,), generator=g)}  # fmt: skip


def _tokens(b: int, g: torch.Generator, length: int = 64) -> Batch:
    ids = torch.randint(3, 32_000, (b, length), generator=g)
    return {"inputs": ids, "targets": ids.roll(1, 1), "weights": torch.ones(b, length)}


def _graphs(b: int, g: torch.Generator, nodes: int = 26, edges: int = 56) -> Batch:
    return {"inputs": torch.randint(0, 10, (b, nodes, 9), generator=g),
            "edge_features": torch.randint(0, 4, (b, edges, 3), generator=g),
            "senders": torch.randint(0, nodes, (b, edges), generator=g),
            "receivers": torch.randint(0, nodes, (b, edges), generator=g),
            "n_node": torch.full((b,), nodes), "n_edge": torch.full((b,), edges),
            "targets": torch.randint(0, 2, (b, 128), generator=g).float(),
            "weights": torch.ones(b, 128)}  # fmt: skip


def _clicks(b: int, g: torch.Generator) -> Batch:
    dense = torch.rand(b, 13, generator=g) * 5
    ids = torch.randint(0, 4_194_304, (b, 26), generator=g).float()
    return {"inputs": torch.cat([dense, ids], 1),
            "targets": torch.randint(0, 2, (b,), generator=g).float()}  # fmt: skip


def _slices(b: int, g: torch.Generator) -> Batch:
    return {"inputs": torch.randn(b, 320, 320, generator=g),
            "targets": torch.randn(b, 320, 320, generator=g)}  # fmt: skip


def _speech(b: int, g: torch.Generator, frames: int = 500) -> Batch:
    return {"inputs": torch.randn(b, frames, 80, generator=g),
            "input_paddings": torch.zeros(b, frames),
            "targets": torch.randint(1, 1024, (b, 40), generator=g)}  # fmt: skip


def _ce(model: nn.Module, b: Batch) -> torch.Tensor:
    return F.cross_entropy(model(b["inputs"]), b["targets"])


def _wmt(model: nn.Module, b: Batch) -> torch.Tensor:
    logits = model(b["inputs"], F.pad(b["targets"], (1, 0))[:, :-1])
    return F.cross_entropy(logits.flatten(0, 1), b["targets"].flatten(), ignore_index=0)


def _gnn(model: nn.Module, b: Batch) -> torch.Tensor:
    keys = ("inputs", "edge_features", "senders", "receivers", "n_node", "n_edge")
    return F.binary_cross_entropy_with_logits(model({k: b[k] for k in keys}), b["targets"])


def _dlrm(model: nn.Module, b: Batch) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(model(b["inputs"]).reshape(-1), b["targets"])


def _unet(model: nn.Module, b: Batch) -> torch.Tensor:
    return F.l1_loss(model(b["inputs"]), b["targets"])


def _ctc(model: nn.Module, b: Batch) -> torch.Tensor:
    logits, paddings = model(b["inputs"], b["input_paddings"])
    log_probs = logits.log_softmax(-1).transpose(0, 1)
    lengths = (1 - paddings).sum(1).long()
    target_lengths = (b["targets"] > 0).sum(1)
    return F.ctc_loss(log_probs, b["targets"], lengths, target_lengths, zero_infinity=True)


CASES = {
    "imagenet_resnet": Case(8, 128, _images, _ce, "224x224 images"),
    "imagenet_vit": Case(8, 128, _images, _ce, "224x224 images"),
    "wmt": Case(4, 16, _tokens, _wmt, "64 source and 64 target tokens"),
    "ogbg": Case(32, 64, _graphs, _gnn, "graphs of 26 nodes, 56 directed edges"),
    "criteo1tb": Case(2048, 32_768, _clicks, _dlrm, "13 dense + 26 hashed ids"),
    "fastmri": Case(2, 4, _slices, _unet, "320x320 slices"),
    "librispeech_conformer": Case(2, 32, _speech, _ctc, "500 frames x 80 log-mel (5 s)"),
    "librispeech_deepspeech": Case(2, 32, _speech, _ctc, "500 frames x 80 log-mel (5 s)"),
}


def _workload(name: str) -> TorchWorkload:
    wf = facts.official(name, VERSION)
    workload = registry.workload_class(wf)(wf)
    assert isinstance(workload, TorchWorkload)
    return workload


def _seconds(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _interleaved(paths: dict[str, Callable[[], Any]], steps: int) -> dict[str, float]:
    """Per path: ``<path>_first`` (the warm-up call: compilation) and ``<path>_s``, the
    median of ``steps`` calls made in rounds of one call per path, the order rotated
    every round, so a busy machine (and the path that follows another) slows all alike."""
    out = {f"{name}_first": _seconds(fn) for name, fn in paths.items()}
    times: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for r in range(steps):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(_seconds(paths[name]))
    out.update({f"{name}_s": statistics.median(t) for name, t in times.items()})
    return out


def _api_step(workload: TorchWorkload, model: nn.Module, opt: torch.optim.Optimizer,
              batch: Batch) -> None:  # fmt: skip
    opt.zero_grad(set_to_none=True)
    out, _ = workload.model_fn(model, batch, None, spec.ForwardPassMode.TRAIN, None, True)
    loss = workload.loss_fn(batch["targets"], out, batch.get("weights"))
    (loss["summed"] / loss["n_valid_examples"]).backward()
    opt.step()


def _eager_step(case: Case, model: nn.Module, opt: torch.optim.Optimizer, batch: Batch) -> None:
    opt.zero_grad(set_to_none=True)
    model.train()
    case.plain_loss(model, batch).backward()
    opt.step()


def _eval(workload: TorchWorkload, model: nn.Module, batch: Batch) -> None:
    with torch.no_grad():
        workload.model_fn(model, batch, None, spec.ForwardPassMode.EVAL, None, False)


def measure(name: str, steps: int, compile_too: bool) -> dict[str, Any]:
    """Seconds per step of every path for family ``name``."""
    case, workload = CASES[name], _workload(name)
    model, _ = workload.init_model_fn(prng.key(0))
    batch = case.make(case.batch, torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    row: dict[str, Any] = {"family": name, "batch": case.batch, "shape": case.shape,
                           "algoperf_per_device": case.algoperf_per_device,
                           "params": sum(p.numel() for p in model.parameters())}  # fmt: skip
    paths: dict[str, Callable[[], Any]] = {
        "api": lambda: _api_step(workload, model, opt, batch),
        "eager": lambda: _eager_step(case, model, opt, batch),
        "eval": lambda: _eval(workload, model, batch),
    }
    if compile_too:
        compiled = torch.compile(model)
        paths["compiled"] = lambda: _api_step(workload, compiled, opt, batch)
        paths["eval_compiled"] = lambda: _eval(workload, compiled, batch)
    row.update(_interleaved(paths, steps))
    torch._dynamo.reset()
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--families", default=",".join(CASES))
    parser.add_argument(
        "--compile",
        default=",".join(CASES),
        help="families also timed under torch.compile ('' for none)",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{platform.machine()}, Python {platform.python_version()}", flush=True)  # fmt: skip
    for name in args.families.split(","):
        t0 = time.perf_counter()
        row = measure(name, args.steps, name in args.compile.split(","))
        row["wall_s"] = time.perf_counter() - t0
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
