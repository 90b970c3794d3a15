"""Writing a trial's result into its run folder, status last."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from nnrun.config.build import Experiment
from nnrun.report import history_figure, primary_metric, readable_name
from nnrun.runs.store import RunFolder, create_run_folder
from nnrun.trial import TrialResult


def history_record(result: TrialResult) -> dict[str, Any]:
    """Keras's History layout plus per-epoch time and learning rate."""
    record: dict[str, Any] = dict(result.history)
    n = len(result.history.get("loss", []))
    record["epoch_time"] = result.epoch_times[:n]
    if "learning_rate" not in record:
        record["learning_rate"] = result.learning_rates[:n]
    return record


def plot_names(history: dict[str, list[float]]) -> list[tuple[str, str]]:
    """(metric, file name): the loss and the primary metric (accuracy, or the regression metric)."""
    out = [("loss", "loss.png")]
    metric = primary_metric(history)
    if metric != "loss":
        out.append((metric, "accuracy.png" if "acc" in metric else f"{metric}.png"))
    return out


def render_plots(name: str, history: dict[str, list[float]]) -> dict[str, bytes]:
    """The run's plots as PNG files in memory: loss and the primary metric (nothing without history)."""
    plots = {}
    if history.get("loss"):
        for metric, file in plot_names(history):
            title = f"{name} — {readable_name(metric).lower()}"
            buffer = io.BytesIO()
            history_figure(history, metric=metric, title=title).savefig(buffer, format="png")
            plots[file] = buffer.getvalue()
    return plots


def start_run(runs_dir: str | Path, experiment: Experiment) -> RunFolder:
    """A new run folder holding the resolved config, with status ``running``."""
    folder = create_run_folder(runs_dir, experiment.config.name)
    folder.write_yaml("config.yaml", experiment.config.to_yaml_dict())
    folder.set_status("running", pid=os.getpid())
    return folder


def write_result(folder: RunFolder, name: str, result: TrialResult, log: str | None = None) -> None:
    """history.json, metrics.json, summary.txt, weights.npz, the plots and the log; then the status."""
    folder.write_json("history.json", history_record(result))
    folder.write_json(
        "metrics.json",
        {
            "name": name,
            **result.metrics,
            "duration_seconds": result.duration,
            **({"error": result.error} if result.error else {}),
        },
    )
    if result.summary:
        folder.write_text("summary.txt", result.summary)
    if result.weights:
        folder.write_npz("weights.npz", result.weights)
    for file, data in (result.plots or render_plots(name, result.history)).items():
        folder.write_bytes(file, data)
    if result.traceback:
        folder.write_text("error.txt", result.traceback)
    if log is not None:
        folder.write_text("log.txt", log)
    folder.set_status(result.status, stop_reason=result.stop_reason)
