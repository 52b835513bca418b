"""Workload facts: targets, budgets, eval periods, step hints and sizes, read from data.

Each family keeps its facts once, in ``workloads/<family>/workload.toml``:

* ``[official.<name>."<version>"]``: the AlgoPerf constants of a benchmark workload
  (base or held-out variant) under one rules version;
* ``[proxy.<name>]``: a CPU-sized proxy of the family (base or variant), with its
  calibrated target and budget and the model overrides that define a variant.

Everything else (the runner, the scorer, the search) asks this module.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autotune import paths
from autotune.errors import UserError

__all__ = [
    "WorkloadFacts",
    "families",
    "official",
    "official_names",
    "proxy",
    "proxy_names",
]


@dataclass(frozen=True)
class WorkloadFacts:
    """Everything the runner and the scorer need to know about one workload."""

    name: str
    family: str
    kind: str  # "proxy" or "official"
    target_metric_name: str
    minimize: bool
    loss_type: str
    validation_target: float
    test_target: float
    max_allowed_runtime_sec: float
    eval_period_time_sec: float
    step_hint: int
    num_train_examples: int = 0
    num_eval_train_examples: int = 0
    num_validation_examples: int = 0
    num_test_examples: int = 0
    eval_batch_size: int = 0
    scoring_step_cap: dict[str, int] | None = None
    base: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def validation_metric(self) -> str:
        return f"validation/{self.target_metric_name}"

    def reached(self, value: float, target: float | None = None) -> bool:
        """Scoring's comparison (inclusive), as AlgoPerf's scorer applies it."""
        goal = self.validation_target if target is None else target
        return value <= goal if self.minimize else value >= goal


@functools.cache
def _family_file(family: str) -> dict[str, Any]:
    path = paths.workloads_dir() / family / "workload.toml"
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"no facts for workload family '{family}' ({path} is missing)") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: malformed TOML: {e}") from None


@functools.cache
def families() -> tuple[str, ...]:
    root = paths.workloads_dir()
    return tuple(sorted(p.parent.name for p in root.glob("*/workload.toml")))


def _index(section: str) -> dict[str, str]:
    """Workload name -> family, for every entry of ``section`` across families."""
    return {name: fam for fam in families() for name in _family_file(fam).get(section, {})}


def official_names() -> list[str]:
    return sorted(_index("official"))


def proxy_names() -> list[str]:
    return sorted(_index("proxy"))


def _unknown(name: str, known: list[str], what: str) -> UserError:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(known)}"
    return UserError(f"unknown {what} '{name}'{hint}")


def _common(family: str) -> dict[str, Any]:  # keyword arguments of WorkloadFacts
    data = _family_file(family)
    return {
        "family": family,
        "target_metric_name": data["target_metric_name"],
        "minimize": bool(data["minimize"]),
        "loss_type": data["loss_type"],
    }


_SIZE_KEYS = (
    "num_train_examples",
    "num_eval_train_examples",
    "num_validation_examples",
    "num_test_examples",
    "eval_batch_size",
)


def _sizes(entry: dict[str, Any], framework: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _SIZE_KEYS:
        value = entry.get(key, 0)
        out[key] = int(value[framework] if isinstance(value, dict) else value)
    return out


def official(name: str, version: str, framework: str = "pytorch") -> WorkloadFacts:
    """The AlgoPerf constants of benchmark workload ``name`` under rules ``version``;
    a held-out variant's ``overrides`` are the model knobs that define it at full size."""
    index = _index("official")
    if name not in index:
        raise _unknown(name, sorted(index), "AlgoPerf workload")
    family = index[name]
    entry = _family_file(family)["official"][name]
    if version not in entry:
        raise UserError(f"workload '{name}' has no constants for rules version {version}")
    v = entry[version]
    return WorkloadFacts(
        name=name,
        kind="official",
        validation_target=float(v["validation_target"]),
        test_target=float(v["test_target"]),
        max_allowed_runtime_sec=float(v["max_allowed_runtime_sec"]),
        eval_period_time_sec=float(v["eval_period_time_sec"]),
        step_hint=int(v["step_hint"]),
        scoring_step_cap=v.get("scoring_step_cap"),
        base=family,
        overrides=dict(entry.get("overrides", {})),
        extra={"role": v.get("role", ""), "workload_kind": entry.get("kind", "")},
        **_sizes(entry, framework),
        **_common(family),
    )


_OWN_KEYS = ("base", "overrides", "validation_target", "test_target", "calibration")


def _with_base(tables: dict[str, Any], name: str) -> dict[str, Any]:
    """A proxy's table, with a variant inheriting its base's sizes, budget, eval period
    and step hint (everything but the targets and overrides) unless it sets them."""
    entry = dict(tables[name])
    base = entry.get("base")
    if base and base != name and base in tables:
        inherited = {k: v for k, v in tables[base].items() if k not in _OWN_KEYS}
        entry = {**inherited, **entry}
    return entry


def proxy(name: str) -> WorkloadFacts:
    """The facts of CPU proxy ``name`` (a family base, or one of its variants)."""
    index = _index("proxy")
    if name not in index:
        raise _unknown(name, sorted(index), "workload")
    family = index[name]
    entry = _with_base(_family_file(family)["proxy"], name)
    base = entry.pop("base", family)
    overrides = entry.pop("overrides", {})
    keys = (
        "validation_target",
        "test_target",
        "max_allowed_runtime_sec",
        "eval_period_time_sec",
        "step_hint",
    )
    missing = [k for k in keys if k not in entry]
    if missing:
        raise UserError(f"workloads/{family}/workload.toml: proxy '{name}' lacks {missing}")
    return WorkloadFacts(
        name=name,
        kind="proxy",
        validation_target=float(entry.pop("validation_target")),
        test_target=float(entry.pop("test_target")),
        max_allowed_runtime_sec=float(entry.pop("max_allowed_runtime_sec")),
        eval_period_time_sec=float(entry.pop("eval_period_time_sec")),
        step_hint=int(entry.pop("step_hint")),
        base=base,
        overrides=dict(overrides),
        extra={k: v for k, v in entry.items() if k not in _SIZE_KEYS},
        **_sizes(entry, "pytorch"),
        **_common(family),
    )


def facts_file(family: str) -> Path:
    return paths.workloads_dir() / family / "workload.toml"
