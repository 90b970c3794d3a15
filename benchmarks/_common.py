"""Helpers shared by the benchmarks: timing, a host-speed probe, environment facts, optional PyTorch,
and output.

Not part of nnrun. Each benchmark computes a dict of numbers first, then renders it as a table and
writes it as JSON under ``benchmarks/results/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.callbacks import Callback

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
# host-speed spread (slowest probe / fastest probe) above which the run is flagged as noisy
NOISY_SPREAD = 1.25


class EpochTimer(Callback):
    """Wall-clock seconds of each epoch of ``fit``, from ``on_epoch_begin`` to ``on_epoch_end``.

    Defines no batch hooks, so nnrun's loop calls nothing per step on its behalf.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def summarize(seconds: list[float], warmup: int) -> dict[str, Any]:
    """Median, min and max of the timed epochs (the first ``warmup`` are dropped), plus all raw times."""
    timed = seconds[warmup:]
    return {
        "median_s": statistics.median(timed),
        "min_s": min(timed),
        "max_s": max(timed),
        "timed_epochs": len(timed),
        "warmup_epochs": warmup,
        "all_epoch_s": seconds,
    }


class SpeedProbe:
    """Times a fixed single-threaded workload (small NumPy calls and Python), once per call.

    On a shared virtual machine the CPU's speed can change by 2x for seconds at a time (other tenants
    on the host); the probe's spread over a run shows how much, so a reader knows how far to trust a
    median. It does not correct anything.
    """

    def __init__(self) -> None:
        self.us: list[float] = []
        self._a = np.zeros(64, np.float32)
        self._b = np.ones(64, np.float32)

    def __call__(self) -> None:
        a, b = self._a, self._b
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(200):
                np.add(a, b, out=a)
            sum(range(3000))
            runs.append(time.perf_counter() - start)
        self.us.append(statistics.median(runs) * 1e6)

    def summary(self) -> dict[str, Any]:
        lo, hi = min(self.us), max(self.us)
        return {"min_us": lo, "max_us": hi, "spread": hi / lo, "all_us": self.us}


def noise_warning(env: dict[str, Any], probe: dict[str, Any]) -> str | None:
    """A warning when other work competed with the benchmark or the host's speed changed during it."""
    start, end = env.get("load_average_at_start"), env.get("load_average_at_end")
    busiest = max(start[0], end[0]) if start and end else 0.0
    lines = []
    # the 1-minute load includes the benchmark itself; more than the cores means others ran too
    if busiest > env["cores"] + 0.5:
        lines.append(
            f"load average reached {busiest:.1f} on {env['cores']} cores: other processes competed for the CPUs "
            "(multithreaded BLAS/OpenMP slow down badly when oversubscribed)."
        )
    if probe["spread"] > NOISY_SPREAD:
        lines.append(
            f"the host-speed probe varied {probe['spread']:.2f}x: the CPU was slower at times. Medians mix fast and "
            "slow phases; the contenders took turns, so their ratio is fairer than the absolute times, and the "
            "minima show the fast-phase cost."
        )
    return "WARNING: " + "\nWARNING: ".join(lines) if lines else None


def import_torch() -> Any:
    """The ``torch`` module, or None when it is not installed (the comparison is then skipped)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_threads(threads: int, torch: Any = None) -> None:
    """Use ``threads`` threads in NumPy's BLAS (through threadpoolctl) and in torch's intra-op pool."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if threads != cores():
            raise SystemExit(
                "--threads needs threadpoolctl: .venv/bin/pip install threadpoolctl "
                "(or set OPENBLAS_NUM_THREADS before starting Python)"
            ) from None
    else:
        threadpool_limits(threads, user_api="blas")
    if torch is not None:
        torch.set_num_threads(threads)


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (None where the OS has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def environment(torch: Any = None) -> dict[str, Any]:
    """What the numbers depend on: CPU, cores, load, library versions and thread pools, nnrun's commit."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": _cpu_model(),
        "cores": cores(),
        "load_average_at_start": load_average(),
        "nnrun_commit": _git("rev-parse", "--short", "HEAD"),
        "nnrun_worktree_dirty": bool(_git("status", "--porcelain", "--", "nnrun")),
    }
    try:
        from threadpoolctl import threadpool_info

        env["blas"] = [
            {k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        ]
    except ImportError:
        env["blas"] = None
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
    return env


def describe_machine(env: dict[str, Any]) -> str:
    blas = ", ".join(f"{b['internal_api']} {b['num_threads']} threads" for b in env.get("blas") or [])
    torch = f", torch {env['torch_threads']} threads" if "torch_threads" in env else ""
    return f"{env['cpu']}, {env['cores']} cores, {blas or 'BLAS threads unknown'}{torch}"


def describe_load(env: dict[str, Any], probe: dict[str, Any]) -> str:
    start, end = env["load_average_at_start"], env["load_average_at_end"]
    return (
        f"load {start[0]:.2f} at start, {end[0]:.2f} at end; "
        f"speed probe {probe['min_us']:.0f}-{probe['max_us']:.0f} µs ({probe['spread']:.2f}x)"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def write_json(name: str, results: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``results`` to ``out`` (default ``benchmarks/results/<name>.json``) and return the path."""
    path = out or RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def table(rows: list[tuple[str, str]]) -> str:
    """Two columns, the labels padded to one width."""
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows)


def format_logs(logs: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in sorted(logs.items()))


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
