"""Find and read AlgoPerf log folders (autotune writes its trials in the same layout).

Layout: ``<submission>/study_N/<workload>_<jax|pytorch>/trial_N/eval_measurements.csv``,
with an optional ``meta.json`` or ``meta_data_0.json`` beside each CSV (autotune's own
runs record ``rules`` or ``rules_version`` and ``ruleset`` there). Folders are walked in
sorted order, and nothing downstream depends on the order anyway.

Speed: the files are read as bytes, checked (header, field counts, final newline), and
every group of files that shares a header is parsed by a single ``pandas.read_csv``
call. Only when that call fails are the files of the group parsed one at a time, to name
the one at fault.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autotune.errors import UserError

__all__ = ["CSV_NAME", "LAYOUT", "TrialFile", "find_submissions", "find_trials", "read_evals"]

CSV_NAME = "eval_measurements.csv"
META_NAMES = ("meta.json", "meta_data_0.json")
LAYOUT = "<submission>/study_N/<workload>_<jax|pytorch>/trial_N/eval_measurements.csv"
_STUDY = re.compile(r"study_(\d+)")
_WORKLOAD = re.compile(r"(.+)_(jax|pytorch)")
_TRIAL = re.compile(r"trial_(\d+)")
_ANY = re.compile(r".+")
_KEEP = ("score", "global_step")


@dataclass(frozen=True)
class TrialFile:
    """One trial's evaluation log and where it sits in the layout."""

    submission: str
    study: int
    workload: str
    framework: str
    trial: int
    path: str  # the eval_measurements.csv
    meta: Mapping[str, Any] | None = None


def _subdirs(path: str | Path, pattern: re.Pattern[str]) -> list[tuple[re.Match[str], str]]:
    with os.scandir(path) as it:
        found = [(m, e.path) for e in it if (m := pattern.fullmatch(e.name)) and e.is_dir()]
    return sorted(found, key=lambda mp: mp[0].string)


def _is_submission(path: Path) -> bool:
    return bool(_subdirs(path, _STUDY))


def find_submissions(paths: Iterable[str | Path]) -> dict[str, Path]:
    """Submission name -> folder, for PATHs that are submissions or folders of them."""
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise UserError(f"{path}: no such folder (expected AlgoPerf logs laid out as {LAYOUT})")
        subs = [path] if _is_submission(path) else sorted(p for p in path.iterdir() if p.is_dir())
        subs = [p for p in subs if _is_submission(p)]
        if not subs:
            raise UserError(f"{path}: no study_N folders found (expected {LAYOUT})")
        for sub in subs:
            _add(found, sub)
    return found


def _framework(sub: Path) -> str | None:
    """The one framework of a submission folder's workload folders (None if mixed)."""
    names = {m.group(2) for _, study in _subdirs(sub, _STUDY) for wl, _ in _subdirs(study, _WORKLOAD)
             if (m := _WORKLOAD.fullmatch(wl.string))}  # fmt: skip
    return names.pop() if len(names) == 1 else None


def _add(found: dict[str, Path], sub: Path) -> None:
    """Add ``sub`` under its folder name; the same name in two frameworks (a JAX and a
    PyTorch version of one submission) becomes ``name (jax)`` and ``name (pytorch)``."""
    name, fw = sub.name, _framework(sub)
    clash = found.get(name)
    split = fw is not None and any(k.startswith(f"{name} (") for k in found)
    if clash is not None and fw is not None and _framework(clash) not in (None, fw):
        found[f"{name} ({_framework(clash)})"] = found.pop(name)
        split = True
    key = f"{name} ({fw})" if split else name
    if key in found:
        raise UserError(
            f"submission '{name}' appears twice: {found[key]} and {sub}; rename one folder"
        )
    found[key] = sub


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: unreadable or corrupt JSON ({e})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path}: expected a JSON object")
    return meta


def _trial(
    name: str, study: int, wl: re.Match[str], trial: re.Match[str], path: str
) -> TrialFile | None:
    csv = os.path.join(path, CSV_NAME)
    if not os.path.isfile(csv):
        return None
    metas = [p for name in META_NAMES if os.path.exists(p := os.path.join(path, name))]
    meta = _read_meta(Path(metas[0])) if metas else None
    if (
        meta is not None
        and metas[0].endswith("meta_data_0.json")
        and "autotune_version" not in meta
    ):
        meta = None  # AlgoPerf's own meta data: no rules information
    return TrialFile(
        submission=name,
        study=study,
        workload=wl.group(1),
        framework=wl.group(2),
        trial=int(trial.group(1)),
        path=csv,
        meta=meta,
    )


def find_trials(submissions: Mapping[str, Path]) -> tuple[list[TrialFile], list[str]]:
    """Every trial log under the submissions, sorted; notes on what was skipped."""
    trials: list[TrialFile] = []
    notes: list[str] = []
    for name, sub in sorted(submissions.items()):
        for study_m, study in _subdirs(sub, _STUDY):
            for wl_m, wl_dir in _subdirs(study, _ANY):
                match = _WORKLOAD.fullmatch(wl_m.string)
                if match is None:
                    notes.append(f"{wl_dir}: not a <workload>_<framework> folder; skipped")
                    continue
                for trial_m, trial_dir in _subdirs(wl_dir, _TRIAL):
                    trial = _trial(name, int(study_m.group(1)), match, trial_m, trial_dir)
                    if trial is None:
                        notes.append(f"{trial_dir}: no {CSV_NAME}; skipped")
                    else:
                        trials.append(trial)
    return trials, notes


def _split(path: str) -> tuple[bytes, bytes, int]:
    """(header, body, number of eval rows) of one CSV, with its shape checked."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None
    header, _, body = data.partition(b"\n")
    header = header.rstrip(b"\r")
    body = body.rstrip(b"\r\n") + b"\n" if body.strip() else b""  # trailing blank lines
    if not header.strip():
        raise UserError(f"{path}: empty file, expected a CSV header")
    if data and not data.endswith(b"\n"):
        raise UserError(f"{path}: truncated CSV (the last line has no line end)")
    ncols = header.count(b",") + 1
    nrows = body.count(b"\n")
    if b'"' not in body and body.count(b",") != nrows * (ncols - 1):
        for number, line in enumerate(body.split(b"\n")[:-1], start=2):
            if line.count(b",") != ncols - 1:
                raise UserError(
                    f"{path}: corrupt or truncated CSV (line {number} has "
                    f"{line.count(b',') + 1} fields, the header has {ncols})"
                )
    return header, body, nrows


def _parse(header: bytes, body: bytes, paths: Sequence[str]) -> pd.DataFrame:
    cols = header.decode("utf-8", "replace").split(",")
    if len(set(cols)) != len(cols):
        raise UserError(f"{paths[0]}: duplicate column names in the CSV header")
    use = [c for c in cols if c in _KEEP or c.startswith("validation/")]
    if not body:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in use})
    try:
        return pd.read_csv(
            io.BytesIO(body), header=None, names=cols, usecols=use, dtype=dict.fromkeys(use, float)
        )
    except (ValueError, pd.errors.ParserError) as e:
        if len(paths) == 1:
            raise UserError(f"{paths[0]}: corrupt CSV ({e})") from None
        raise


def _parse_group(header: bytes, bodies: list[bytes], paths: list[str]) -> pd.DataFrame:
    try:
        return _parse(header, b"".join(bodies), paths)
    except (ValueError, pd.errors.ParserError):
        for body, path in zip(bodies, paths, strict=True):
            _parse(header, body, [path])
        raise UserError(f"{paths[0]}: the CSV files of this header could not be read") from None


def _evals_of_group(
    frame: pd.DataFrame, ids: list[int], counts: list[int], metrics: list[str], first: str
) -> pd.DataFrame:
    if len(frame) != sum(counts):  # only possible with quoted fields holding line breaks
        raise UserError(f"{first} (or a file with the same header): line breaks inside quotes")
    files = np.repeat(np.asarray(ids, dtype=np.int64), counts)
    starts = np.repeat(np.cumsum([0, *counts[:-1]]), counts)
    value = np.full(len(frame), np.nan)
    per_row_metric = np.repeat(np.asarray(metrics, dtype=object), counts)
    for metric in set(metrics):
        mask = per_row_metric == metric
        value[mask] = frame[metric].to_numpy()[mask]
    step = frame.get("global_step", np.nan)
    return pd.DataFrame(
        {
            "file": files,
            "row": np.arange(len(frame)) - starts,
            "time": frame["score"].to_numpy(),
            "step": step,
            "value": value,
        }
    )


def read_evals(trials: Sequence[TrialFile], metric_of: Mapping[str, str]) -> pd.DataFrame:
    """All eval rows of ``trials``: file (index into trials), row, time, step, value.

    ``metric_of`` maps a workload name to its target column (``validation/<metric>``);
    ``value`` holds that column. Rows keep their order within each file.
    """
    groups: dict[bytes, tuple[list[bytes], list[str], list[int], list[int], list[str]]] = {}
    for i, trial in enumerate(trials):
        header, body, nrows = _split(trial.path)
        metric = metric_of[trial.workload]
        columns = header.decode("utf-8", "replace").split(",")
        for needed in ("score", metric):
            if needed not in columns:
                raise UserError(
                    f"{trial.path}: no '{needed}' column (workload {trial.workload} needs it)"
                )
        bodies, paths, ids, counts, metrics = groups.setdefault(header, ([], [], [], [], []))
        bodies.append(body)
        paths.append(trial.path)
        ids.append(i)
        counts.append(nrows)
        metrics.append(metric)
    parts = [
        _evals_of_group(_parse_group(h, g[0], g[1]), g[2], g[3], g[4], g[1][0])
        for h, g in groups.items()
    ]
    if not parts:
        return pd.DataFrame({c: [] for c in ("file", "row", "time", "step", "value")})
    evals = pd.concat(parts, ignore_index=True)
    return evals.sort_values("file", kind="stable", ignore_index=True)
