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


def ray_round(overrides: list[str], cpus: int, rounds: int) -> dict | None:
    """The sweep on a local Ray instance with ``cpus`` CPUs: start-up, sweep (median) and shutdown times."""
    from nnrun.errors import InvalidArgumentError
    from nnrun.sweep.ray_executor import RayExecutor

    try:
        executor = RayExecutor(num_cpus=cpus)
    except InvalidArgumentError:  # Ray is not installed
        return None
    start = time.perf_counter()
    executor.start()
    start_s = time.perf_counter() - start
    times = []
    try:
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as runs:
                t = time.perf_counter()
                plan = plan_sweep(CONFIG, overrides=overrides)
                folder, _ = open_folder(plan, runs, new=True)
                outcome = run_sweep(plan, folder, executor)
                times.append(time.perf_counter() - t)
                assert all(r["status"] == "completed" for r in outcome.rows), "a trial did not complete"
    finally:
        t = time.perf_counter()
        executor.close()
        stop_s = time.perf_counter() - t
    return {"start_s": start_s, "sweep_s": statistics.median(times), "all_sweep_s": times, "stop_s": stop_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray executor (also skipped without Ray)")
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
    ray_info = None if args.no_ray else ray_round(overrides, args.workers, args.rounds)
    rows = [
        ("sweep", f"{CONFIG.name}: {trials} trials, {args.epochs} epochs each"),
        ("cores", str(available_cores())),
        ("1 worker (serial)", f"{s:.1f} s  ({trials / s * 60:.1f} trials/min)"),
        (f"{args.workers} workers (processes)", f"{p:.1f} s  ({trials / p * 60:.1f} trials/min)"),
        ("throughput ratio", f"{speedup:.2f}x  (target ≥ {TARGET}: {'met' if speedup >= TARGET else 'NOT met'})"),
    ]
    if ray_info is not None:
        r = ray_info["sweep_s"]
        rows += [
            ("Ray: start a local instance", f"{ray_info['start_s']:.1f} s  (ray.init, {args.workers} CPUs)"),
            ("Ray: the sweep", f"{r:.1f} s  ({trials / r * 60:.1f} trials/min; {p / r:.2f}x the process pool)"),
            ("Ray: stop the instance", f"{ray_info['stop_s']:.1f} s"),
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
