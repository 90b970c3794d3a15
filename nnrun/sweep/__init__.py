"""Sweeps: grids and random searches over any config keys, run in parallel, resumable."""

from nnrun.sweep.executors import ProcessExecutor, SerialExecutor, TrialTask, make_executor
from nnrun.sweep.plan import SweepPlan, plan_from_sweep_folder, plan_sweep
from nnrun.sweep.runner import SweepOutcome, open_folder, rank, run_sweep

__all__ = [
    "ProcessExecutor",
    "SerialExecutor",
    "SweepOutcome",
    "SweepPlan",
    "TrialTask",
    "make_executor",
    "open_folder",
    "plan_from_sweep_folder",
    "plan_sweep",
    "rank",
    "run_sweep",
]
