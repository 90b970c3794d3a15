"""Running a sweep: the folder (new or resumed), the trials through an executor, the summary and figures.

The runner is the only writer of the sweep folder; executors only return results. Each finished trial
is recorded (its run folder, then the manifest) before the next result is taken, so a sweep stopped at
any moment, even by SIGKILL, can be resumed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun import results
from nnrun.data import fingerprint
from nnrun.errors import InvalidArgumentError, StoreError
from nnrun.results import TrialRow
from nnrun.runs import layout
from nnrun.runs.catalog import RunRecord
from nnrun.runs.manifest import SweepManifest, TrialEntry
from nnrun.runs.store import now_iso
from nnrun.runs.sweep_store import (
    CorruptManifestError,
    SweepFolder,
    create_sweep_folder,
    find_resumable,
    open_sweep_folder,
)
from nnrun.sweep.events import SweepObserver, TrialFinished
from nnrun.sweep.executors import Executor
from nnrun.sweep.plan import SweepPlan
from nnrun.sweep.tasks import SweepTasks, open_study, trial_value


class DataChangedError(InvalidArgumentError):
    """A sweep is resumed on data that changed since it started (exit 2)."""

    def __init__(self, folder: Path | str, changes: list[str]) -> None:
        super().__init__(folder, changes)
        self.folder, self.changes = Path(folder), list(changes)

    def __str__(self) -> str:
        listed = "; ".join(self.changes)
        return (
            f"the data changed since the sweep in {self.folder} started: {listed}. Its finished trials were "
            "trained on the old data, so mixing them would rank apples against pears. Start a new sweep with "
            "--new, or resume anyway with --allow-data-change."
        )


@dataclass
class SweepOutcome:
    """What happened: the folder, the rows of the summary (as in summary.json), counts, and whether it was
    interrupted."""

    folder: Path
    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    failed: int
    interrupted: bool
    figures: list[Path] = field(default_factory=list)


def open_folder(
    plan: SweepPlan,
    runs_dir: str | Path,
    resume: str | Path | None = None,
    new: bool = False,
    allow_data_change: bool = False,
    warn: Callable[[str], None] = lambda message: None,
) -> tuple[SweepFolder, bool]:
    """The folder to run in: ``resume``, else the newest unfinished or finished run of the same sweep
    (``new`` forces a fresh one), else a new folder. Returns (folder, resumed).

    A resumed sweep must have the same trials and the same data (:func:`check_data_unchanged`); with
    ``allow_data_change`` a change is only reported through ``warn``."""
    if resume is not None:
        folder = open_sweep_folder(resume)
        _check_resumable(folder, plan, allow_data_change, warn, explicit=True)
        return folder, True
    if not new:
        found = find_resumable(runs_dir, plan.fingerprint, plan.name)
        if found is not None:
            try:
                found.lock()
            except Exception:
                found = None
            if found is not None:
                found.read_manifest()
                _check_resumable(found, plan, allow_data_change, warn)
                return found, True
    return create_sweep_folder(runs_dir, plan.name, new_manifest(plan), sweep_yaml(plan)), False


def _check_resumable(
    folder: SweepFolder,
    plan: SweepPlan,
    allow_data_change: bool,
    warn: Callable[[str], None],
    explicit: bool = False,
) -> None:
    """The locked ``folder`` may be resumed by ``plan`` (same sweep, same trials, same data); if not, its lock
    is released and the error raised. ``explicit``: the user named it with --resume (so check the sweep too)."""
    try:
        if explicit and folder.manifest.fingerprint != plan.fingerprint:
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
        _check_trials_match(folder, plan)
        changes = check_data_unchanged(folder, plan, allow_data_change)
    except BaseException:
        folder.unlock()
        raise
    if changes:
        warn(f"resuming {folder.path} on changed data (--allow-data-change): " + "; ".join(changes))


def data_fingerprints(plan: SweepPlan) -> dict[str, Any] | None:
    """The fingerprints of every data file the sweep's trials read (None when they read none)."""
    paths = sorted({e.config.data.path for e in plan.experiments.values() if e.config.data.path})
    return {path: fingerprint.fingerprint(path) for path in paths} or None


def check_data_unchanged(folder: SweepFolder, plan: SweepPlan, allow_change: bool = False) -> list[str]:
    """What changed in the data since the sweep started; raises unless ``allow_change`` (then the caller warns
    and the manifest records the new fingerprints)."""
    before = folder.manifest.data
    if before is None:
        return []  # named data sets, or a folder from before fingerprints were recorded
    now = data_fingerprints(plan) or {}
    changes = []
    for path in sorted(set(before) | set(now)):
        if path not in now:
            changes.append(f"{path} is no longer used")
        elif path not in before:
            changes.append(f"{path} is new")
        else:
            changes += [f"{path}: {c}" for c in fingerprint.changes(before[path], now[path])]
    if changes and not allow_change:
        raise DataChangedError(folder.path, changes)
    if changes:
        folder.manifest.data = now
        folder.write_manifest()
    return changes


def _check_trials_match(folder: SweepFolder, plan: SweepPlan) -> None:
    """A resumed grid or random sweep's manifest lists exactly the plan's trials (ids, values, seeds): a
    hand-edited manifest must not make the sweep run something else than its sweep.yaml says."""
    if getattr(plan.spec, "method", "grid") not in ("grid", "random"):
        return  # searches that add trials as they go (tpe, ...) check their own study
    recorded = [(t.id, t.params, t.seed) for t in folder.manifest.trials]
    planned = [(t.id, t.params, t.seed) for t in plan.trials]
    if recorded != planned:
        raise CorruptManifestError(
            folder.path / layout.MANIFEST,
            f"its trials ({len(recorded)}) are not the {len(planned)} trials of the sweep it records in "
            f"{layout.SWEEP_YAML} (was it edited?)",
        )


def new_manifest(plan: SweepPlan) -> SweepManifest:
    """A new sweep's manifest: every trial pending."""
    return SweepManifest(
        name=plan.name,
        fingerprint=plan.fingerprint,
        created=now_iso(),
        metric=plan.metric,
        mode=plan.mode,
        parameters=list(plan.spec.parameters),
        repeats=plan.spec.repeats,
        trials=[TrialEntry(t.id, t.params, t.repeat, t.seed) for t in plan.trials],
        data=data_fingerprints(plan),
    )


def sweep_yaml(plan: SweepPlan) -> dict[str, Any]:
    """What sweep.yaml records: the spec as resolved, from which ``--resume`` plans the sweep again."""
    source = Path(plan.source)
    return {
        "name": plan.name,
        "source": str(source.resolve()) if source.is_file() else plan.source,
        "config": plan.base,
        "sweep": plan.spec.model_dump(mode="json", exclude_none=True),
        "metric": plan.metric,
        "mode": plan.mode,
        "trials": plan.size,
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
        study = open_study(plan, folder)  # None unless a search or a pruner needs one; reconciled after a crash
        pending = folder.pending()
        for entry in pending:
            entry.reset()
        skipped = len(folder.manifest.trials) - len(pending)
        folder.set_status("running", pid=os.getpid())
        tasks = SweepTasks(plan, folder, study, pending, should_stop)  # a search asks for each point when it runs
        executor.prepare(len(tasks))  # before the observer starts a display thread: workers may be forked now
        if observer is not None:  # an executor never runs more trials at once than there are to run
            workers = max(1, min(executor.workers, len(tasks)))
            observer.on_sweep_begin(folder.path, plan.size, len(tasks), workers)
        ran = failed = 0
        on_event = observer.on_event if observer is not None else (lambda event: None)
        decide = study.report if study is not None and plan.spec.pruner is not None else None
        for trial_id, result in executor.run(tasks, on_event, should_stop, decide):
            folder.record(trial_id, tasks.config(trial_id).to_yaml_dict(), result)
            if study is not None:  # after the run folder: a crash in between is reconciled on resume
                study.finish(trial_id, result.status, trial_value(result, plan.metric))
            ran += 1
            failed += result.status == "failed"
            if observer is not None:
                params = folder.manifest.trial(trial_id).params
                observer.on_event(TrialFinished(trial_id, result, _value(result.metrics, plan.metric), params))
        ran += tasks.invalid
        interrupted = any(t.status in ("pending", "interrupted") for t in folder.manifest.trials)
        interrupted |= len(folder.manifest.trials) < plan.size  # a search stopped before its budget was spent
        records = read_trials(folder)
        rows = summary_rows(folder, records)
        folder.write_summary(rows)
        figures = write_figures(folder, plan.metric, records, executor, rows, plan.spec.trial_figures)
        failed_any = any(r.status == "failed" for r in rows)
        status = "interrupted" if interrupted else ("failed" if failed_any else "completed")
        if log is not None:
            folder.write_text(layout.LOG, log())
        folder.set_status(status, trials=len(rows), ran=ran)
        json_rows = [r.to_json() for r in rows]
        return SweepOutcome(folder.path, json_rows, ran, skipped, failed, interrupted, figures)
    except StoreError as e:  # a full disk: say so in the folder if it still can be, and how to go on
        with contextlib.suppress(StoreError):
            folder.set_status("failed", stop_reason=f"the sweep folder could not be written: {e}")
        raise StoreError(
            f"{e}. Every trial recorded before this is kept; free some space, then resume with: "
            f"nnrun sweep --resume {folder.path}",
            e.path,
            e.folder,
        ) from e
    finally:
        folder.unlock()


def read_trials(folder: SweepFolder) -> dict[str, RunRecord]:
    """Trial id → its run folder read back, for every trial that has a folder."""
    from nnrun.runs.catalog import read_run

    return {e.id: read_run(folder.path / e.folder) for e in folder.manifest.trials if e.folder}


def summary_rows(folder: SweepFolder, records: dict[str, RunRecord]) -> list[TrialRow]:
    """One row per trial, in manifest order, from the trials' own run folders (:func:`nnrun.results.trial_row`)."""
    rows = []
    for e in folder.manifest.trials:
        run = records.get(e.id)
        rows.append(
            results.trial_row(
                e.id,
                e.params,
                e.repeat,
                e.seed,
                e.status,
                e.reason,
                folder=e.folder if run is not None else None,
                metrics=run.metrics if run is not None else None,
                history=run.history if run is not None else None,
            )
        )
    return rows


def write_figures(
    folder: SweepFolder,
    metric: str,
    records: dict[str, RunRecord],
    executor: Executor | None = None,
    rows: list[TrialRow] | None = None,
    trial_figures: str = "all",
) -> list[Path]:
    """The comparison figures, from the trials' rows and histories, into figures/; with ``trial_figures="best"``,
    also the best point's trials' own plots, into their run folders (``"all"``: the workers drew them already).

    The report layer plans the figures by name (nothing drawn here); the executor's workers draw their share.
    """
    from nnrun.report.planning import plan_sweep_figures  # no plotting stack here: the workers draw

    manifest = folder.manifest
    rows = summary_rows(folder, records) if rows is None else rows
    done = {e.id for e in manifest.trials if e.done and e.id in records}
    finished = {e.id: e.finished for e in manifest.trials}  # the optimization history follows the order trials ended
    data = [({**r.to_json(), "finished": finished[r.id]}, records[r.id].history or {}) for r in rows if r.id in done]
    if not data:
        return []
    trial_rows, histories = [r for r, _ in data], [h for _, h in data]
    repeated = manifest.repeats > 1 or any(e.repeat > 0 for e in manifest.trials)
    mode = manifest.mode if metric == manifest.metric else None
    planned = plan_sweep_figures(trial_rows, histories, metric, manifest.parameters or [], mode, repeated)
    drawings: list[Drawing] = [("sweep", f.name, f) for f in planned]
    if trial_figures == "best" and mode is not None:
        best = _best_trials(folder, trial_rows, mode)
        drawings += [("trial", e.folder, _trial_job(records[e.id])) for e in best]
    jobs = [(part, trial_rows, histories) for part in _shares(drawings, executor.workers if executor else 1)]
    rendered = executor.map(render_sweep_figures, jobs) if executor is not None else map(render_sweep_figures, jobs)
    written = []
    for part in rendered:
        for (kind, where), files in part.items():
            if kind == "sweep":
                written.append(folder.write_bytes(layout.figure_file(where), files[where]))
            else:
                written += [folder.write_bytes(f"{where}/{name}", data) for name, data in files.items()]
    return written


Drawing = tuple[str, str, Any]  # ("sweep", file name, planned figure) or ("trial", trial folder, its plots' inputs)

TRIAL_COST = 2.0  # a trial's three plots cost about as much as two sweep figures: shares are balanced by it


def _best_trials(folder: SweepFolder, rows: list[dict[str, Any]], mode: str) -> list[TrialEntry]:
    """The trials of the best point (one per repeat) that have a run folder; ``rows`` as in summary.json."""
    manifest = folder.manifest
    best = results.best_point(rows, f"final_{manifest.metric}", mode, manifest.parameters or [])
    ids = {r["id"] for r in best.rows} if best is not None else set()
    return [e for e in manifest.trials if e.id in ids and e.folder and e.done]


def _trial_job(run: RunRecord) -> tuple:
    """What a worker needs to draw a trial's plots: its name, history, metrics, config, preprocessing, classes."""
    from nnrun.runs.evaluations import read_class_report

    name = str(run.config.get("name") or run.name)
    return name, run.history, run.metrics, run.config, run.preprocessing or None, read_class_report(run.path)


def _shares(drawings: list[Drawing], workers: int) -> list[list[Drawing]]:
    """The drawings split among the workers, the costliest first to the least loaded (no empty share)."""
    loads = [[0.0, []] for _ in range(max(1, workers))]
    for d in sorted(drawings, key=lambda d: d[0] != "trial"):  # trials first: each costs TRIAL_COST
        load = min(loads, key=lambda x: x[0])
        load[0] += TRIAL_COST if d[0] == "trial" else 1.0
        load[1].append(d)
    return [share for _, share in loads if share]


def render_sweep_figures(job: tuple[list[Drawing], list, list]) -> dict[tuple[str, str], dict[str, bytes]]:
    """Draw a share of the sweep's figures as PNG files in memory (runs on a worker): (kind, where) → file name →
    bytes, where a sweep figure's ``where`` is its file name and a trial's is its run folder."""
    from nnrun.report import figure_bytes, render_plots
    from nnrun.report.sweep import draw_sweep_figure

    drawings, rows, histories = job
    out: dict[tuple[str, str], dict[str, bytes]] = {}
    for kind, where, what in drawings:
        if kind == "sweep":
            out[kind, where] = {where: figure_bytes(draw_sweep_figure(what, rows, histories))}
        else:
            out[kind, where] = render_plots(*what)
    return out


def rank(rows: list[dict[str, Any]], metric: str, mode: str, parameters: list[str]) -> list[dict[str, Any]]:
    """Points (parameter combinations) ranked by the mean of ``final_<metric>`` (:func:`nnrun.results.rank`),
    with std over repeats, as rows for the ranked table."""
    return [
        {
            **point.params,
            "mean": point.mean,
            "std": point.std,
            "n": point.n,
            "trials": len(point.rows),
            "statuses": point.statuses,
        }
        for point in results.rank(rows, f"final_{metric}", mode, parameters)
    ]


def _value(metrics: dict[str, Any], metric: str) -> float | None:
    return results.finite((metrics.get("final") or {}).get(metric))
