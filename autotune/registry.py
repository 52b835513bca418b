"""The workload registry: one entry per family, framework classes imported lazily.

A workload name (``mnist``, ``ogbg``, ``ogbg_gelu``) is looked up in the facts
(``workloads/<family>/workload.toml``); its family's entry here says which class
implements it in each framework. Variants are data (overrides in the facts), never
classes of their own.

A workload is a CPU proxy (``[proxy.<name>]``) unless a dataset folder is given: then it
is the full-size AlgoPerf workload (``[official.<name>."<version>"]``), whose model is
the family's full-size configuration (:mod:`workloads.full_size`) plus the variant's
overrides and whose batches come from :mod:`autotune.datasets` reading that folder, in
either framework.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from autotune import facts
from autotune.errors import UserError
from autotune.spec import Workload

__all__ = [
    "FAMILIES",
    "Family",
    "get_workload",
    "list_workloads",
    "workload_class",
    "workload_facts",
]


@dataclass(frozen=True)
class Family:
    """A family's workload class: ``workloads.<family>.<framework>:<class_name>`` in each
    framework it is implemented in."""

    family: str
    class_name: str
    frameworks: tuple[str, ...] = ("pytorch", "jax")

    def implementation(self, framework: str) -> str | None:
        if framework not in self.frameworks:
            return None
        return f"workloads.{self.family}.{framework}:{self.class_name}"


FAMILIES: dict[str, Family] = {
    f.family: f
    for f in (
        Family("mnist", "MnistWorkload"),
        Family("cifar", "CifarWorkload"),
        Family("imagenet_resnet", "ImagenetResnetWorkload"),
        Family("imagenet_vit", "ImagenetVitWorkload"),
        Family("criteo1tb", "Criteo1tbWorkload"),
        Family("fastmri", "FastmriWorkload"),
        Family("ogbg", "OgbgWorkload"),
        Family("wmt", "WmtWorkload"),
        Family("librispeech_deepspeech", "DeepspeechWorkload"),
        Family("librispeech_conformer", "ConformerWorkload"),
    )
}

FRAMEWORKS = ("pytorch", "jax")


def _load_class(path: str) -> type[Workload]:
    module_name, _, class_name = path.partition(":")
    module = importlib.import_module(module_name)
    cls: type[Workload] = getattr(module, class_name)
    return cls


def workload_class(wf: facts.WorkloadFacts, framework: str = "pytorch") -> type[Workload]:
    """The class implementing ``wf``'s family in ``framework``."""
    family = FAMILIES.get(wf.family)
    impl = family.implementation(framework) if family else None
    if impl is None:
        raise UserError(f"workload '{wf.name}' has no {framework} implementation yet")
    return _load_class(impl)


def workload_facts(
    name: str, version: str = "v0.6", data_dir: str | None = None, framework: str = "pytorch"
) -> facts.WorkloadFacts:
    """The proxy's facts, or with ``data_dir`` the full-size workload's under ``version``."""
    if data_dir is None:
        return facts.proxy(name)
    wf = facts.official(name, version, framework)
    if wf.extra.get("workload_kind") == "variant" and not wf.overrides:
        raise UserError(f"the held-out variant '{name}' has no full-size model definition yet "
                        f"(no overrides in {facts.facts_file(wf.family)})")  # fmt: skip
    return wf


def get_workload(
    name: str, framework: str = "pytorch", version: str = "v0.6", data_dir: str | None = None
) -> Workload:
    """A fresh workload object: proxy ``name`` in ``framework``, or with ``data_dir`` the
    full-size AlgoPerf workload reading its dataset from that folder."""
    if framework not in FRAMEWORKS:
        raise UserError(f"unknown framework '{framework}'; choose one of {', '.join(FRAMEWORKS)}")
    wf = workload_facts(name, version, data_dir, framework)
    cls = workload_class(wf, framework)
    if data_dir is None:
        return cls(wf)
    return cls(wf, data_dir=data_dir)  # type: ignore[call-arg]


def list_workloads() -> list[facts.WorkloadFacts]:
    """Facts of every registered proxy workload, sorted by name."""
    return [facts.proxy(n) for n in facts.proxy_names() if facts.proxy(n).family in FAMILIES]
