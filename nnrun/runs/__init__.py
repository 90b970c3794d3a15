"""Run folders: creating them, writing them atomically, and recording a trial's result."""

from nnrun.runs.record import start_run, write_result
from nnrun.runs.store import RunFolder, create_run_folder, default_runs_dir

__all__ = ["RunFolder", "create_run_folder", "default_runs_dir", "start_run", "write_result"]
