"""Running a sweep: the folder (new or resumed), the trials through an executor, the summary and figures.

The runner is the only writer of the sweep folder; executors only return results. Each finished trial
is recorded (its run folder, then the manifest) before the next result is taken, so a sweep stopped at
any moment, even by SIGKILL, can be resumed.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nnrun.runs.store import now_iso
from nnrun.runs.sweep_store import FINAL, SweepFolder, create_sweep_folder, find_resumable, open_sweep_folder
from nnrun.sweep.executors import Executor, TrialTask
from nnrun.sweep.plan import SweepPlan
from nnrun.trial import TrialResult


class SweepObserver(Protocol):
    """What a display needs to follow a sweep."""

    def on_sweep_begin(self, folder: Path, total: int, pending: int, workers: int) -> None: ...
    def on_event(self, trial_id: str, kind: str, info: dict[str, Any]) -> None: ...
    def on_trial_end(self, trial_id: str, result: TrialResult, value: float | None) -> None: ...


@dataclass
class SweepOutcome:
    """What happened: the folder, the rows of the summary, counts, and whether it was interrupted."""

    folder: Path
    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    failed: int
    interrupted: bool
    figures: list[Path] = field(default_factory=list)


def open_folder(
    plan: SweepPlan, runs_dir: str | Path, resume: str | Path | None = None, new: bool = False
) -> tuple[SweepFolder, bool]:
    """The folder to run in: ``resume``, else the newest unfinished or finished run of the same sweep
    (``new`` forces a fresh one), else a new folder. Returns (folder, resumed)."""
    if resume is not None:
        folder = open_sweep_folder(resume)
        if folder.manifest.get("fingerprint") != plan.fingerprint:
            folder.unlock()
            from nnrun.errors import ConfigError, Problem

            raise ConfigError(
                [
                    Problem(
                        "",
                        f"{folder.path} holds a different sweep (its config or sweep section "
                        "changed); run without --resume to start a new one",
                    )
                ],
                plan.source,
            )
        return folder, True
    if not new:
        found = find_resumable(runs_dir, plan.fingerprint)
        if found is not None:
            try:
                found.lock()
            except Exception:
                found = None
            if found is not None:
                found.read_manifest()
                return found, True
    return create_sweep_folder(runs_dir, plan.name, new_manifest(plan), sweep_yaml(plan)), False


def new_manifest(plan: SweepPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "fingerprint": plan.fingerprint,
        "created": now_iso(),
        "metric": plan.metric,
        "mode": plan.mode,
        "parameters": list(plan.spec.parameters),
        "repeats": plan.spec.repeats,
        "trials": [
            {
                "id": t.id,
                "params": t.params,
                "repeat": t.repeat,
                "seed": t.seed,
                "status": "pending",
                "folder": None,
                "reason": None,
            }
            for t in plan.trials
        ],
    }


def sweep_yaml(plan: SweepPlan) -> dict[str, Any]:
    source = Path(plan.source)
    return {
        "name": plan.name,
        "source": str(source.resolve()) if source.is_file() else plan.source,
        "config": plan.base,
        "sweep": plan.spec.model_dump(mode="json", exclude_none=True),
        "metric": plan.metric,
        "mode": plan.mode,
        "trials": len(plan.trials),
    }


def run_sweep(
    plan: SweepPlan,
    folder: SweepFolder,
    executor: Executor,
    observer: SweepObserver | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    log: Callable[[], str] | None = None,
) -> SweepOutcome:
    """Run the folder's pending trials, then write the summary and figures; release the folder's lock."""
    try:
        folder.clean_partial()
        pending = folder.pending()
        for entry in pending:
            entry.update(status="pending", folder=None, reason=None)
        folder.set_status("running", pid=os.getpid())
        if observer is not None:
            observer.on_sweep_begin(folder.path, len(plan.trials), len(pending), executor.workers)
        tasks = [TrialTask(e["id"], plan.experiment(e["id"]).config) for e in pending]
        ran = failed = 0
        on_event = observer.on_event if observer is not None else (lambda *a: None)
        for trial_id, result in executor.run(tasks, on_event, should_stop):
            config = plan.experiment(trial_id).config.to_yaml_dict()
            folder.record(trial_id, config, result)
            ran += 1
            failed += result.status == "failed"
            if observer is not None:
                observer.on_trial_end(trial_id, result, _value(result.metrics, plan.metric))
        interrupted = any(t["status"] in ("pending", "interrupted") for t in folder.manifest["trials"])
        records = read_trials(folder)
        rows = summary_rows(folder, records)
        folder.write_summary(rows)
        figures = write_figures(folder, plan.metric, records, executor)
        status = (
            "interrupted" if interrupted else ("failed" if any(r["status"] == "failed" for r in rows) else "completed")
        )
        if log is not None:
            folder.write_text("log.txt", log())
        folder.set_status(status, trials=len(rows), ran=ran)
        return SweepOutcome(folder.path, rows, ran, len(plan.trials) - len(pending), failed, interrupted, figures)
    finally:
        folder.unlock()


def read_trials(folder: SweepFolder) -> dict[str, Any]:
    """Trial id → its run folder read back (RunRecord), for every trial that has a folder."""
    from nnrun.runs.catalog import read_run

    return {e["id"]: read_run(folder.path / e["folder"]) for e in folder.manifest["trials"] if e.get("folder")}


def summary_rows(folder: SweepFolder, records: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per trial, in manifest order, from the trials' own run folders."""
    rows = []
    for entry in folder.manifest["trials"]:
        row: dict[str, Any] = {
            "id": entry["id"],
            **entry["params"],
            "repeat": entry["repeat"],
            "seed": entry["seed"],
            "status": entry["status"],
            "reason": entry.get("reason"),
        }
        if entry["id"] in records:
            metrics = records[entry["id"]].metrics or {}
            row["epochs_run"] = metrics.get("epochs_run")
            row["duration_seconds"] = metrics.get("duration_seconds")
            for key, value in (metrics.get("final") or {}).items():
                if key != "learning_rate":
                    row[f"final_{key}"] = value
            for key, best in (metrics.get("best") or {}).items():
                row[f"best_{key}"] = best.get("value")
            for key, value in (metrics.get("test") or {}).items():
                row[f"test_{key}"] = value
            row["folder"] = entry["folder"]
        rows.append(row)
    return rows


def write_figures(
    folder: SweepFolder, metric: str, records: dict[str, Any], executor: Executor | None = None
) -> list[Path]:
    """The comparison figures, from the trials' histories, into figures/ (drawn on the executor's workers)."""
    from nnrun.report.sweep import sweep_figures

    trials = []
    for entry in folder.manifest["trials"]:
        if entry["status"] in FINAL and entry["id"] in records:
            record = records[entry["id"]]
            trials.append((entry["params"], record.history or {}, record.metrics or {}))
    if not trials:
        return []
    names = sorted(sweep_figures(folder.manifest, trials, metric))
    workers = executor.workers if executor is not None else 1
    jobs = [(folder.manifest, trials, metric, names[i::workers]) for i in range(workers) if names[i::workers]]
    rendered = executor.map(render_sweep_figures, jobs) if executor is not None else map(render_sweep_figures, jobs)
    return [folder.write_bytes(f"figures/{name}", data) for part in rendered for name, data in part.items()]


def render_sweep_figures(job: tuple[dict, list, str, list[str]]) -> dict[str, bytes]:
    """Draw the named sweep figures as PNG files in memory (runs on a worker)."""
    import io

    from nnrun.report.sweep import sweep_figures

    manifest, trials, metric, names = job
    out = {}
    for name, figure in sweep_figures(manifest, trials, metric).items():
        if name in names:
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            out[name] = buffer.getvalue()
    return out


def rank(rows: list[dict[str, Any]], metric: str, mode: str, parameters: list[str]) -> list[dict[str, Any]]:
    """Points (parameter combinations) ranked by the mean of ``final_<metric>``, with std over repeats."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(str(row.get(p)) for p in parameters), []).append(row)
    ranked = []
    for group in groups.values():
        values = [v for r in group if (v := _finite(r.get(f"final_{metric}"))) is not None]
        ranked.append(
            {
                **{p: group[0].get(p) for p in parameters},
                "mean": statistics.fmean(values) if values else None,
                "std": statistics.stdev(values) if len(values) > 1 else None,
                "n": len(values),
                "trials": len(group),
                "statuses": sorted({r["status"] for r in group}),
            }
        )
    sign = -1 if mode == "max" else 1
    ranked.sort(key=lambda r: (r["mean"] is None, sign * (r["mean"] or 0)))
    return ranked


def _value(metrics: dict[str, Any], metric: str) -> float | None:
    return _finite((metrics.get("final") or {}).get(metric))


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
