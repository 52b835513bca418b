"""A search, as data: an experiment TOML file merged with command-line overrides.

``experiments/<name>.toml`` holds any of the keys of :class:`SearchConfig`; flags given
on the command line win over the file. Parsed once, here, into a frozen value that the
rest of :mod:`autotune.search` is given; nothing downstream reads flags or files.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from autotune import paths
from autotune.errors import UserError
from autotune.speed import parse_budget_scale

__all__ = ["SAMPLERS", "STUDY_POINTS", "SearchConfig", "build_config", "read_experiment"]

SAMPLERS = ("halton", "tpe", "gp", "cmaes", "random")
STUDY_POINTS = ("same", "split")


@dataclass(frozen=True)
class SearchConfig:
    """Everything that defines a search (and the knobs that only change how it runs)."""

    name: str
    submission: str
    workloads: tuple[str, ...]
    out: Path
    search_space: Path | None = None
    rules: str = "v0.6"
    ruleset: str = "external"
    framework: str = "pytorch"
    sampler: str = "halton"
    seed: int = 0
    jobs: int = 1
    devices: int = 1  # per trial: >1 runs it as that many DDP processes (torchrun)
    studies: int | None = None  # override of the ruleset's count (not official)
    trials: int | None = None  # override of trials per study (not official)
    study_points: str = "same"  # halton: every study searches the same points, or disjoint ones
    budget_sec: float | None = None  # development only: replaces the ruleset budget
    # Proxies: budget x this, or "auto" (probe this machine, see autotune.speed)
    budget_scale: float | str = 1.0
    storage: str | None = None  # Optuna RDB URL; default SQLite in `out`
    tracking_uri: str | None = None  # MLflow; default SQLite in `out`

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.out / 'optuna.db').resolve()}"

    @property
    def mlflow_uri(self) -> str:
        from autotune.tracking import default_tracking_uri

        return self.tracking_uri or default_tracking_uri(self.out)


_TYPES: dict[str, type] = {
    "name": str, "submission": str, "workloads": list, "out": str, "search_space": str,
    "rules": str, "ruleset": str, "framework": str, "sampler": str, "seed": int, "jobs": int,
    "devices": int, "studies": int, "trials": int, "study_points": str, "budget_sec": float,
    "budget_scale": object, "storage": str, "tracking_uri": str,
}  # fmt: skip


def read_experiment(path: Path) -> dict[str, Any]:
    """The keys of an experiment file, type-checked; unknown keys are an error."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"experiment file '{path}' does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: malformed TOML ({e})") from None
    for key, value in data.items():
        if key not in _TYPES:
            raise UserError(f"{path}: unknown key '{key}'; known: {', '.join(_TYPES)}")
        want = _TYPES[key]
        ok = isinstance(value, want) or (want is float and isinstance(value, int))
        if not ok or isinstance(value, bool):
            raise UserError(f"{path}: '{key}' must be a {want.__name__}, not {value!r}")
    return data


def _resolve_file(value: str, base: Path | None) -> Path:
    """A relative path: from the working folder, else beside the experiment file, else from
    the project root (where the built-in search spaces live)."""
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path
    for root in (base, paths.project_root()):
        if root is not None and (root / path).exists():
            return root / path
    return path


def _default_name(v: Mapping[str, Any]) -> str:
    stem = Path(str(v["submission"])).stem or str(v["submission"])
    return f"search-{stem}-{v.get('rules', 'v0.6')}-{v.get('ruleset', 'external')}"


def build_config(overrides: Mapping[str, Any], config_file: Path | None = None) -> SearchConfig:
    """Merge ``config_file`` (if any) and ``overrides`` (``None`` values = not given)."""
    values: dict[str, Any] = read_experiment(config_file) if config_file else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    base = config_file.parent if config_file else None
    for key in ("submission", "workloads"):
        if not values.get(key):
            raise UserError(f"a search needs '{key}' (flag --{key.rstrip('s')} or the config file)")
    if isinstance(values["workloads"], str):
        values["workloads"] = [w for w in values["workloads"].split(",") if w]
    values["workloads"] = tuple(str(w) for w in values["workloads"])
    if config_file and "name" not in values:
        values["name"] = config_file.stem
    values.setdefault("name", _default_name(values))
    if "out" in values:
        values["out"] = Path(values["out"])
    else:
        values["out"] = (base / "runs" if base else Path("runs")) / values["name"]
    if values.get("search_space"):
        values["search_space"] = _resolve_file(str(values["search_space"]), base)
    submission = str(values["submission"])
    if os.sep in submission or submission.endswith(".py"):
        values["submission"] = str(_resolve_file(submission, base))
    values["budget_scale"] = parse_budget_scale(values.get("budget_scale"))
    known = {f.name for f in fields(SearchConfig)}
    config = SearchConfig(**{k: v for k, v in values.items() if k in known})
    _check(config)
    return config


def _check(c: SearchConfig) -> None:
    if c.sampler not in SAMPLERS:
        raise UserError(f"unknown sampler '{c.sampler}'; choose one of {', '.join(SAMPLERS)}")
    if c.ruleset not in ("external", "self"):
        raise UserError(f"unknown ruleset '{c.ruleset}'; choose 'external' or 'self'")
    if c.study_points not in STUDY_POINTS:
        raise UserError(f"study_points must be one of {', '.join(STUDY_POINTS)}")
    for key in ("jobs", "devices", "studies", "trials"):
        value = getattr(c, key)
        if value is not None and value < 1:
            raise UserError(f"--{key} must be at least 1, not {value}")
    if c.devices > 1 and c.framework != "pytorch":
        raise UserError(f"--devices {c.devices} runs PyTorch DDP; {c.framework} is not supported")
    if c.budget_sec is not None and not c.budget_sec > 0:
        raise UserError(f"budget_sec must be positive, not {c.budget_sec}")
    if c.ruleset == "external" and c.search_space is None:
        raise UserError("external tuning needs a search space (--search-space FILE)")
    if not c.name or "/" in c.name:
        raise UserError(f"experiment name '{c.name}' must be non-empty and contain no '/'")
