"""Sweep throughput: the 24-trial activation × initializer exercise with 2 workers against 1.

    python benchmarks/bench_sweep.py [--epochs 10] [--workers 2] [--rounds 1]

Runs the whole sweep as ``nnrun sweep`` does (the workers start while the trials are planned; the
trials; the summary and the figures) once serially in this process (1 worker, every core for BLAS) and
once on a local process pool (N workers, cores / N BLAS threads each), alternating when there are several
rounds, into temporary folders. Target: 2 workers ≥ 1.8× the throughput of 1 on 2 cores.
Numbers go to stdout and to benchmarks/results/sweep.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from nnrun.sweep import ProcessExecutor, SerialExecutor, open_folder, plan_sweep, run_sweep
from nnrun.sweep.executors import available_cores

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "sweep_activation_initializer.yaml"
RESULTS = Path(__file__).resolve().parent / "results" / "sweep.json"
TARGET = 1.8


def run_once(executor, overrides: list[str]) -> float:
    """One sweep as `nnrun sweep` runs it: workers start while the trials are planned, then run, then the
    summary and figures; wall time from start to end."""
    with tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        executor.start()
        try:
            plan = plan_sweep(CONFIG, overrides=overrides)
            folder, _ = open_folder(plan, runs, new=True)
            outcome = run_sweep(plan, folder, executor)
        finally:
            executor.close()
        elapsed = time.perf_counter() - start
        assert all(r["status"] == "completed" for r in outcome.rows), "a trial did not complete"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    overrides = [f"train.epochs={args.epochs}"]
    plan = plan_sweep(CONFIG, overrides=overrides)
    serial, pooled = [], []
    for _ in range(args.rounds):
        serial.append(run_once(SerialExecutor(), overrides))
        pooled.append(run_once(ProcessExecutor(workers=args.workers), overrides))
    s, p = statistics.median(serial), statistics.median(pooled)
    speedup = s / p
    trials = len(plan.trials)
    rows = [
        ("sweep", f"{CONFIG.name}: {trials} trials, {args.epochs} epochs each"),
        ("cores", str(available_cores())),
        ("1 worker (serial)", f"{s:.1f} s  ({trials / s * 60:.1f} trials/min)"),
        (f"{args.workers} workers (processes)", f"{p:.1f} s  ({trials / p * 60:.1f} trials/min)"),
        ("throughput ratio", f"{speedup:.2f}x  (target ≥ {TARGET}: {'met' if speedup >= TARGET else 'NOT met'})"),
    ]
    width = max(len(k) for k, _ in rows)
    print("Sweep throughput benchmark")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "trials": trials,
                "epochs": args.epochs,
                "workers": args.workers,
                "serial_s": serial,
                "pool_s": pooled,
                "speedup": speedup,
                "meets_target": speedup >= TARGET,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
