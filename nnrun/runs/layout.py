"""Where things are in a sweep folder and a run folder: every file name, defined once.

A sweep folder ``<runs>/sweep-<YYYYmmdd-HHMMSS>-<name>/`` holds::

    sweep.yaml        the spec as resolved (name, source, base config, sweep section, metric, mode, trials)
    manifest.json     every trial: id, parameters, repeat, seed, status, folder (``runs.manifest.SweepManifest``)
    trials/<id>-<param=value...>[-r<repeat>]/   one run folder per trial
    summary.csv       one row per trial (:class:`~nnrun.results.TrialRow`), and the same as summary.json
    figures/          the comparison figures (:func:`nnrun.report.sweep.plan_sweep_figures`)
    study.db          the Optuna study of a tpe/cmaes search or a pruned sweep (SQLite; :mod:`nnrun.sweep.study`)
    status.json       running, completed, failed or interrupted
    log.txt           what the terminal showed

A run folder holds ``config.yaml``, ``history.json``, ``metrics.json``, ``status.json``, ``summary.txt``,
``weights.npz``, its plots, ``log.txt`` and, after a failure, ``error.txt``.

These names are what folders already on disk use: never change one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SWEEP_PREFIX = "sweep-"  # a sweep folder's name starts with it
SWEEP_YAML = "sweep.yaml"
MANIFEST = "manifest.json"
SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"
STATUS = "status.json"
LOG = "log.txt"
TRIALS = "trials"
FIGURES = "figures"
STUDY = "study.db"
SWEEP_FILES = (MANIFEST, SWEEP_YAML)  # a folder holding either is a sweep folder

CONFIG = "config.yaml"
USER_CONFIG = "user_config.yaml"  # the config as the user wrote it, with the command line's overrides
HISTORY = "history.json"
METRICS = "metrics.json"
SUMMARY_TXT = "summary.txt"
WEIGHTS = "weights.npz"
ERROR = "error.txt"
RUN_FILES = (STATUS, CONFIG, HISTORY, METRICS)  # a folder holding any of them is a run folder

TRIAL_FOLDER_CHARS = 120  # a trial folder's name is cut to this length


def figure_file(name: str) -> str:
    """A figure's path in a sweep folder: ``figures/<name>``."""
    return f"{FIGURES}/{name}"


def trial_folder_label(trial_id: str, params: Mapping[str, Any], repeat: int, repeats: int) -> str:
    """A trial folder's name before it is made file-safe: ``0001-activation=relu-learning_rate=0.1[-r1]``.

    Keys are shortened to their last part; the repeat is named only when the sweep has repeats. A float with
    many digits (a search's ``0.5394669285817165``) is named by 4 significant ones (``0.5395``): the id keeps
    the name unique, and ``config.yaml`` and the manifest keep the value.
    """
    label = "-".join(f"{k.rsplit('.', 1)[-1]}={_short(v)}" for k, v in params.items())
    return f"{trial_id}-{label}" + (f"-r{repeat}" if repeats > 1 else "")


def _short(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) and len(repr(value)) > 10 else value


__all__ = [
    "CONFIG",
    "ERROR",
    "FIGURES",
    "HISTORY",
    "LOG",
    "MANIFEST",
    "METRICS",
    "RUN_FILES",
    "STATUS",
    "STUDY",
    "SUMMARY_CSV",
    "SUMMARY_JSON",
    "SUMMARY_TXT",
    "SWEEP_FILES",
    "SWEEP_PREFIX",
    "SWEEP_YAML",
    "TRIALS",
    "TRIAL_FOLDER_CHARS",
    "WEIGHTS",
    "figure_file",
    "trial_folder_label",
]
