"""What a search shows while it runs, and the summary it ends with.

A :class:`Display` is told ``start`` once, ``update`` every poll of the coordinator,
``trial_done`` for every finished trial, and ``stop`` once. :class:`LiveDisplay` draws a
rich live table (trials done/total, running, best time-to-target per workload, ETA) on
a terminal; :class:`LineDisplay` prints one line per finished trial (logs, CI, pipes).
:func:`summarize` is the per-workload result: each study's best time, the median over
studies, reached or not, where the logs are; :func:`summary_table` renders it.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from autotune.search.plan import PlannedTrial, Search
    from autotune.search.process import TrialRecord
    from autotune.search.studies import StudyBook

__all__ = [
    "Display",
    "LineDisplay",
    "LiveDisplay",
    "Progress",
    "header",
    "summarize",
    "summary_table",
]


def _fmt(seconds: float) -> str:
    return f"{seconds:.2f}s" if math.isfinite(seconds) else "not reached"


@dataclass(frozen=True)
class Progress:
    """A snapshot of the search for the live display."""

    rows: tuple[tuple[str, int, int, int, float], ...]  # workload, done, total, running, best
    elapsed: float
    eta: float | None

    @classmethod
    def of(cls, search: Search, books: Sequence[StudyBook], walls: Sequence[float],
           running: int, started: float) -> Progress:  # fmt: skip
        rows = []
        for w in search.config.workloads:
            mine = [b for b in books if b.planned and next(iter(b.planned.values())).workload == w]
            values = [v for b in mine for v in b.done.values()]
            rows.append((w, len(values), sum(len(b.planned) for b in mine),
                         sum(len(b.running) for b in mine), min(values, default=math.inf)))  # fmt: skip
        left = sum(r[2] - r[1] for r in rows)
        eta = statistics.fmean(walls) * math.ceil(left / search.config.jobs) if walls else None
        return cls(tuple(rows), time.perf_counter() - started, eta)

    @property
    def done(self) -> int:
        return sum(r[1] for r in self.rows)

    @property
    def total(self) -> int:
        return sum(r[2] for r in self.rows)


def header(search: Search, scales: Mapping[str, float] | None = None) -> str:
    """One line saying what the search runs (shown once its storage is open)."""
    c = search.config
    each = f" on {c.devices} devices each" if c.devices > 1 else ""
    scaled = {w: s for w, s in (scales or {}).items() if s != 1.0}
    budgets = (
        "; budgets x " + ", ".join(f"{s:.2f} ({w})" for w, s in scaled.items()) if scaled else ""
    )
    return (
        f"search '{c.name}': {search.studies} studies x {search.trials_per_study} trials on "
        f"{', '.join(c.workloads)} ({search.rules.label} {search.tuning.ruleset}, official "
        f"protocol: {str(search.official).lower()}), {c.jobs} at once{each}; folder {c.out}"
        f"{budgets}"
    )


class Display:
    """Shows nothing; the base of the displays below."""

    def start(self, progress: Progress, title: str) -> None:
        return None

    def update(self, progress: Progress) -> None:
        return None

    def trial_done(self, planned: PlannedTrial, record: TrialRecord) -> None:
        return None

    def stop(self) -> None:
        return None


def _trial_line(p: PlannedTrial, r: TrialRecord) -> str:
    what = "CRASHED" if r.crashed else r.stop_reason
    line = f"{p.workload} study {p.study} trial {p.trial}: {_fmt(r.value)} ({what}, {r.wall_sec:.1f}s wall)"
    return line + (f" - {r.error[:160]}" if r.error else "")


class LineDisplay(Display):
    def __init__(self, console: Console) -> None:
        self.console = console

    def start(self, progress: Progress, title: str) -> None:
        self.console.print(title)
        self.console.print(f"{progress.done}/{progress.total} trials already done")

    def trial_done(self, planned: PlannedTrial, record: TrialRecord) -> None:
        self.console.print(_trial_line(planned, record))


class LiveDisplay(Display):
    """A live table on a terminal; finished trials scroll above it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None

    def _table(self, progress: Progress) -> Table:
        eta = f"{progress.eta:.0f}s" if progress.eta is not None else "?"
        table = Table(title=f"search: {progress.done}/{progress.total} trials, "
                            f"{progress.elapsed:.0f}s elapsed, ETA {eta}")  # fmt: skip
        for col in ("workload", "done/total", "running", "best time-to-target"):
            table.add_column(col)
        for w, done, total, running, best in progress.rows:
            table.add_row(w, f"{done}/{total}", str(running), _fmt(best) if done else "-")
        return table

    def start(self, progress: Progress, title: str) -> None:
        self.console.print(title)
        self.live = Live(self._table(progress), console=self.console, refresh_per_second=2)
        self.live.start()

    def update(self, progress: Progress) -> None:
        if self.live is not None:
            self.live.update(self._table(progress))

    def trial_done(self, planned: PlannedTrial, record: TrialRecord) -> None:
        if self.live is not None:
            self.live.console.print(_trial_line(planned, record))

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def summarize(search: Search, books: Sequence[StudyBook], logs_root: Path) -> dict[str, Any]:
    """Per workload: each study's best time (inf = not reached) and the median over studies."""
    c = search.config
    workloads = []
    for w in c.workloads:
        studies: list[dict[str, Any]] = []
        for b in books:
            first = next(iter(b.planned.values()))
            if first.workload != w:
                continue
            best = min(b.done.values(), default=math.inf)
            studies.append({
                "study": first.study, "best_time": best, "reached": math.isfinite(best),
                "trials_done": len(b.done), "trials_planned": len(b.planned),
                "logs": str(logs_root / f"study_{first.study}" / f"{w}_{c.framework}"),
            })  # fmt: skip
        complete = all(s["trials_done"] == s["trials_planned"] for s in studies)
        bests = [float(s["best_time"]) for s in studies]
        median = statistics.median(bests) if complete and bests else None
        workloads.append({"workload": w, "studies": studies, "median": median,
                          "reached": median is not None and math.isfinite(median)})  # fmt: skip
    return {
        "search": c.name, "ruleset": search.tuning.ruleset, "rules": search.rules.label,
        "official_protocol": search.official, "storage": c.storage_url,
        "tracking_uri": c.mlflow_uri, "workloads": workloads,
    }  # fmt: skip


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"{summary['search']}: {summary['rules']} {summary['ruleset']} "
                        f"(official protocol: {str(summary['official_protocol']).lower()})")  # fmt: skip
    for col in ("workload", "study", "best time", "trials"):
        table.add_column(col, no_wrap=True)
    table.add_column("logs", overflow="fold")
    for w in summary["workloads"]:
        for s in w["studies"]:
            table.add_row(w["workload"], str(s["study"]), _fmt(s["best_time"]),
                          f"{s['trials_done']}/{s['trials_planned']}", s["logs"])  # fmt: skip
        median = "incomplete" if w["median"] is None else _fmt(w["median"])
        table.add_row(f"[bold]{w['workload']}[/bold]", "median", f"[bold]{median}[/bold]",
                      "reached" if w["reached"] else "not reached", "", end_section=True)  # fmt: skip
    return table
