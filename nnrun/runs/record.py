"""Writing a trial's result into its run folder, status last.

The store only writes what it is handed: the plots come as PNG bytes in ``TrialResult.plots``, drawn by
the caller (:func:`nnrun.report.render_plots`), so writing a run folder never draws a figure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nnrun.experiment import Experiment
from nnrun.runs import layout
from nnrun.runs.evaluations import write_class_files
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


def start_run(
    runs_dir: str | Path,
    experiment: Experiment,
    user_config: dict | None = None,
    **provenance: object,
) -> RunFolder:
    """A new run folder holding the resolved config (and ``user_config.yaml``, the config as the user wrote it),
    with status ``running``; ``provenance`` (``overrides``, ``command``) is recorded in the status."""
    folder = create_run_folder(runs_dir, experiment.config.name)
    folder.write_yaml(layout.CONFIG, experiment.config.to_yaml_dict())
    if user_config is not None:
        folder.write_yaml(layout.USER_CONFIG, user_config)
    folder.set_status("running", pid=os.getpid(), **provenance)
    return folder


def write_result(folder: RunFolder, name: str, result: TrialResult, log: str | None = None) -> None:
    """history.json, metrics.json, summary.txt, weights.npz, the plots (``result.plots``, as they are) and the
    log; then the status."""
    folder.write_json(layout.HISTORY, history_record(result))
    folder.write_json(
        layout.METRICS,
        {
            "name": name,
            **result.metrics,
            "duration_seconds": result.duration,
            **({"error": result.error} if result.error else {}),
        },
    )
    if result.summary:
        folder.write_text(layout.SUMMARY_TXT, result.summary)
    if result.weights:
        folder.write_npz(layout.WEIGHTS, result.weights)
    if result.preprocessing is not None:
        folder.write_json("preprocessing.json", result.preprocessing)
    if result.test_classes is not None:  # a classifier's test set: confusion matrix and per-class scores
        write_class_files(folder, result.test_classes)  # its figure comes in result.plots
    for file, data in result.plots.items():
        folder.write_bytes(file, data)
    if result.traceback:
        folder.write_text(layout.ERROR, result.traceback)
    if log is not None:
        folder.write_text(layout.LOG, log)
    folder.set_status(result.status, stop_reason=result.stop_reason)
