"""Sweep speed: the 24-trial activation × initializer exercise, 2 workers against 1, and nnrun against Keras.

    python benchmarks/bench_sweep.py [--epochs 10] [--workers 2] [--rounds 3] [--keras-python PATH]

Two parts, each alternating its contenders round by round, medians of ``--rounds``:

- **In process**: the sweep as ``nnrun sweep`` runs it (the workers start while the trials are planned; the
  trials; the summary and the figures), through nnrun's library, once serially in this process (1 worker,
  every core for BLAS) and once on a local process pool (N workers, cores / N BLAS threads each), into
  temporary folders; then on a local Ray instance when Ray is installed. Target: N workers ≥ 1.85× the
  throughput of 1 (N = 2 on 2 cores).
- **End to end**, as a user runs both: the whole command ``nnrun sweep configs/sweep_activation_initializer.yaml
  --workers 1`` and ``--workers N`` (this interpreter's ``nnrun`` script, into a temporary ``--runs-dir``),
  against the for-loop a Keras user writes (``benchmarks/keras_loop.py``: same data, models and training),
  each a fresh process timed from start to exit, imports included. Target: ``nnrun sweep`` (N workers)
  ≤ 0.1× the Keras loop. The Keras loop runs in ``--keras-python`` (default: this interpreter, when
  ``import keras`` works there with its configured backend, e.g. ``KERAS_BACKEND=jax``; else the comparison
  is skipped and the line says why).

Numbers go to stdout and to benchmarks/results/sweep.json (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import keras_loop
import yaml
from _common import REPO_ROOT, environment, load_average, table, verdict, write_json

from nnrun.sweep import ProcessExecutor, SerialExecutor, open_folder, plan_sweep, run_sweep
from nnrun.sweep.executors import available_cores

CONFIG = REPO_ROOT / "configs" / "sweep_activation_initializer.yaml"
KERAS_LOOP = Path(keras_loop.__file__).resolve()
TARGET = 1.85  # in process: N workers / 1 worker, throughput
KERAS_TARGET = 0.1  # end to end: nnrun sweep (N workers) / the Keras loop, wall time
COMMAND_TIMEOUT_S = 3600
# what the Keras interpreter must manage: Keras with its backend, and nnrun's bundled digits (the data)
KERAS_PROBE = (
    "import json, keras, nnrun.datasets.mnist_sample; "
    "print(json.dumps({'keras': keras.__version__, 'backend': keras.backend.backend()}))"
)


# -- in process ---------------------------------------------------------------------------------------------


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


def in_process(overrides: list[str], workers: int, rounds: int) -> dict[str, Any]:
    serial, pooled = [], []
    for _ in range(rounds):
        serial.append(run_once(SerialExecutor(), overrides))
        pooled.append(run_once(ProcessExecutor(workers=workers), overrides))
    speedup = statistics.median(serial) / statistics.median(pooled)
    return {"serial_s": serial, "pool_s": pooled, "speedup": speedup, "meets_target": speedup >= TARGET}


# -- end to end: whole commands in fresh processes ------------------------------------------------------


def nnrun_script() -> Path:
    """The ``nnrun`` console script installed next to this interpreter."""
    script = Path(sys.executable).parent / ("nnrun.exe" if os.name == "nt" else "nnrun")
    if not script.is_file():
        sys.exit(f"bench_sweep: no `nnrun` script next to {sys.executable}; install nnrun there (pip install -e .)")
    return script


def keras_interpreter(given: str | None) -> tuple[str | None, dict[str, Any] | None, str]:
    """``(python, its Keras facts, why not)``: the interpreter for the Keras loop, or None and the reason.

    A ``--keras-python`` that cannot run the loop is an error; the default (this interpreter) is skipped.
    """
    python = given or sys.executable
    try:
        probe = subprocess.run([python, "-c", KERAS_PROBE], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        probe, failure = None, f"{type(e).__name__}: {e}"
    if probe is not None and probe.returncode == 0:
        return python, json.loads(probe.stdout.strip().splitlines()[-1]), ""
    if probe is not None:
        failure = _last_line(probe.stderr)
    why = (
        f"`import keras, nnrun.datasets.mnist_sample` fails in {python}: {failure}. "
        "Set KERAS_BACKEND (e.g. KERAS_BACKEND=jax) or pass --keras-python PATH (an interpreter with Keras, "
        "its backend and nnrun)"
    )
    if given is not None:
        sys.exit(f"bench_sweep: --keras-python {given}: {why}")
    return None, None, why


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no error output"


def check_same_exercise(plan) -> None:
    """Exit if keras_loop.py's grid, model or training differs from the sweep config's."""
    config = next(iter(plan.experiments.values())).config
    train = config.train
    dense = [layer.dense for layer in config.model.layers]
    theirs = {
        "activations": plan.spec.parameters.get("model.hidden.activation"),
        "initializers": plan.spec.parameters.get("model.hidden.kernel_initializer"),
        "units": [d.units for d in dense],
        "output": (dense[-1].activation, dense[-1].kernel_initializer),
        "optimizer": (train.optimizer.name, train.optimizer.learning_rate, train.optimizer.momentum),
        "loss": train.loss.name,
        "batch_size": train.batch_size,
        "validation_split": train.validation_split,
        "seed": config.seed,
    }
    ours = {
        "activations": keras_loop.ACTIVATIONS,
        "initializers": keras_loop.INITIALIZERS,
        "units": [64, 64, 10],
        "output": ("softmax", "glorot_uniform"),
        "optimizer": ("sgd", keras_loop.LEARNING_RATE, 0.0),
        "loss": "sparse_categorical_crossentropy",
        "batch_size": keras_loop.BATCH_SIZE,
        "validation_split": keras_loop.VALIDATION_SPLIT,
        "seed": keras_loop.SEED,
    }
    differ = [f"{k}: config {theirs[k]!r}, keras_loop.py {ours[k]!r}" for k in ours if theirs[k] != ours[k]]
    if differ:
        sys.exit(f"bench_sweep: {CONFIG.name} and keras_loop.py no longer run the same exercise: " + "; ".join(differ))


def timed(command: list[str], what: str) -> float:
    """Run ``command`` to its end; its wall time from start to exit (output captured, shown on failure)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_sweep: {what} failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return elapsed


def nnrun_cli(workers: int, sets: list[str], trials: int, epochs: int) -> dict[str, Any]:
    """``nnrun sweep CONFIG --workers N`` into a fresh runs folder: wall time and the best val_accuracy."""
    with tempfile.TemporaryDirectory() as runs:
        command = [str(nnrun_script()), "sweep", str(CONFIG), "--workers", str(workers), "--runs-dir", runs]
        command += [arg for s in sets for arg in ("--set", s)]
        seconds = timed(command, f"nnrun sweep --workers {workers}")
        rows = json.loads(next(Path(runs).glob("sweep-*/summary.json")).read_text())
    completed = [r for r in rows if r["status"] == "completed" and r["epochs_run"] == epochs]
    if len(completed) != trials:
        sys.exit(
            f"bench_sweep: nnrun sweep --workers {workers} completed {len(completed)} of {trials} trials "
            f"with {epochs} epochs each"
        )
    return {
        "s": seconds,
        "best_val_accuracy": max(r["final_val_accuracy"] for r in completed),
        "runs": [
            {
                "activation": r["model.hidden.activation"],
                "kernel_initializer": r["model.hidden.kernel_initializer"],
                "final_val_accuracy": r["final_val_accuracy"],
                "test_accuracy": r.get("test_accuracy"),
            }
            for r in completed
        ],
    }


def keras_run(python: str, epochs: int, trials: int) -> dict[str, Any]:
    """``python keras_loop.py --epochs N``: the process's wall time and what the script reports."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "keras.json"
        seconds = timed([python, str(KERAS_LOOP), "--epochs", str(epochs), "--out", str(out)], "the Keras loop")
        result = json.loads(out.read_text())
    if result["runs_count"] != trials:
        sys.exit(f"bench_sweep: the Keras loop ran {result['runs_count']} models, the sweep has {trials} trials")
    return {"s": seconds, **result}


def end_to_end(plan, args: argparse.Namespace, python: str | None) -> dict[str, Any]:
    """The commands, alternating round by round; medians and the nnrun / Keras ratios."""
    trials = len(plan.trials)
    config_epochs = yaml.safe_load(CONFIG.read_text())["train"]["epochs"]  # the command as given, when it can be
    sets = [] if args.epochs == config_epochs else [f"train.epochs={args.epochs}"]
    counts = sorted({1, args.workers})
    nnrun: dict[int, list[dict[str, Any]]] = {w: [] for w in counts}
    keras: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for w in counts:
            nnrun[w].append(nnrun_cli(w, sets, trials, args.epochs))
        if python is not None:
            keras.append(keras_run(python, args.epochs, trials))
    result: dict[str, Any] = {
        "commands": {
            **{
                f"nnrun_workers_{w}": " ".join(
                    ["nnrun sweep", str(CONFIG.relative_to(REPO_ROOT)), f"--workers {w} --runs-dir TMP"]
                    + [f"--set {s}" for s in sets]
                )
                for w in counts
            },
            "keras": None if python is None else f"{python} benchmarks/keras_loop.py --epochs {args.epochs}",
        },
        **{f"nnrun_workers_{w}_s": [r["s"] for r in nnrun[w]] for w in counts},
        **{f"nnrun_workers_{w}_median_s": statistics.median(r["s"] for r in nnrun[w]) for w in counts},
        "nnrun_best_val_accuracy": nnrun[args.workers][-1]["best_val_accuracy"],
        "nnrun_runs": nnrun[args.workers][-1]["runs"],
    }
    if not keras:
        return result
    k = statistics.median(r["s"] for r in keras)
    last = keras[-1]
    ratios = {w: result[f"nnrun_workers_{w}_median_s"] / k for w in counts}
    paired = [n["s"] / r["s"] for n, r in zip(nnrun[args.workers], keras)]
    result.update(
        {
            "keras_s": [r["s"] for r in keras],
            "keras_median_s": k,
            "keras_loop_s": [r["loop_s"] for r in keras],
            "keras_imports_and_data_s": [r["imports_and_data_s"] for r in keras],
            "keras": {key: last[key] for key in ("keras", "backend", "backend_version", "python", "executable")},
            "keras_best_val_accuracy": last["best_val_accuracy"],
            "keras_runs": last["runs"],
            "same_data": last["data_fingerprint"] == nnrun_data_fingerprint(plan),
            **{f"ratio_nnrun_workers_{w}_to_keras": ratios[w] for w in counts},
            "ratio_paired_rounds": statistics.median(paired),
            "ratio_target": KERAS_TARGET,
            "meets_keras_target": ratios[args.workers] <= KERAS_TARGET,
        }
    )
    return result


def nnrun_data_fingerprint(plan) -> str:
    d = next(iter(plan.experiments.values())).dataset
    return keras_loop.data_fingerprint(d.x_train, d.y_train, d.x_test, d.y_test)


# -- report ---------------------------------------------------------------------------------------------


def report(results: dict[str, Any], args: argparse.Namespace, trials: int, keras_skipped: str) -> str:
    n = args.workers
    rows = [
        ("sweep", f"{CONFIG.name}: {trials} trials, {args.epochs} epochs each"),
        ("cores", str(available_cores())),
        ("rounds", f"{args.rounds} (medians; contenders alternate)"),
    ]
    lines = ["Sweep benchmark", table(rows)]
    inner = results if "serial_s" in results else None
    if inner is not None:
        s, p = statistics.median(inner["serial_s"]), statistics.median(inner["pool_s"])
        rows = [
            ("1 worker (serial)", f"{s:.1f} s  ({trials / s * 60:.1f} trials/min)"),
            (f"{n} workers (processes)", f"{p:.1f} s  ({trials / p * 60:.1f} trials/min)"),
            ("throughput ratio", f"{inner['speedup']:.2f}x  (target ≥ {TARGET}: {verdict(inner['meets_target'])})"),
        ]
        ray_info = results.get("ray")
        if ray_info is not None:
            r = ray_info["sweep_s"]
            rows += [
                ("Ray: start a local instance", f"{ray_info['start_s']:.1f} s  (ray.init, {n} CPUs)"),
                ("Ray: the sweep", f"{r:.1f} s  ({trials / r * 60:.1f} trials/min; {p / r:.2f}x the process pool)"),
                ("Ray: stop the instance", f"{ray_info['stop_s']:.1f} s"),
            ]
        lines += ["In process (nnrun's library, no interpreter start-up)", table(rows)]
    e2e = results.get("end_to_end")
    if e2e is not None:
        counts = sorted({1, n})
        rows = [(f"nnrun sweep --workers {w}", f"{e2e[f'nnrun_workers_{w}_median_s']:.1f} s") for w in counts]
        rows[-1] = (rows[-1][0], rows[-1][1] + f"  (best val_accuracy {e2e['nnrun_best_val_accuracy']:.4f})")
        if n != 1:
            w1, wn = e2e["nnrun_workers_1_median_s"], e2e[f"nnrun_workers_{n}_median_s"]
            rows.append((f"{n} workers vs 1, end to end", f"{w1 / wn:.2f}x"))
        if "keras_median_s" in e2e:
            kinfo = e2e["keras"]
            loop = statistics.median(e2e["keras_loop_s"])
            rows += [
                (
                    "Keras loop (keras_loop.py)",
                    f"{e2e['keras_median_s']:.1f} s  (the loop {loop:.1f} s; "
                    f"best val_accuracy {e2e['keras_best_val_accuracy']:.4f})",
                ),
                (
                    "  Keras",
                    f"{kinfo['keras']} on {kinfo['backend']} {kinfo['backend_version']}, {kinfo['executable']}",
                ),
                ("  same data as nnrun", "yes" if e2e["same_data"] else "NO (the fingerprints differ)"),
            ]
            rows += [
                (f"nnrun ({w} worker{'s' if w > 1 else ''}) / Keras", f"{e2e[f'ratio_nnrun_workers_{w}_to_keras']:.3f}")
                for w in counts
            ]
            ok = e2e["meets_keras_target"]
            rows[-1] = (
                rows[-1][0],
                rows[-1][1] + f"  (target ≤ {KERAS_TARGET}: {verdict(ok)}; "
                f"paired rounds {e2e['ratio_paired_rounds']:.3f})",
            )
        else:
            rows.append(("Keras loop", f"skipped: {keras_skipped}"))
        lines += ["End to end, as a user runs them (whole commands, imports included)", table(rows)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray executor (also skipped without Ray)")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process part (and Ray)")
    parser.add_argument("--no-end-to-end", action="store_true", help="skip the whole-command part (and Keras)")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras loop")
    parser.add_argument(
        "--keras-python",
        metavar="PATH",
        help="the interpreter that runs benchmarks/keras_loop.py (needs Keras, its backend and nnrun); "
        "default: this one, if `import keras` works here",
    )
    parser.add_argument("--out", type=Path, help="write the JSON here (default: benchmarks/results/sweep.json)")
    args = parser.parse_args()

    overrides = [f"train.epochs={args.epochs}"]
    plan = plan_sweep(CONFIG, overrides=overrides)
    trials = len(plan.trials)
    python, keras_skipped = None, "--no-keras"
    if not (args.no_end_to_end or args.no_keras):
        check_same_exercise(plan)
        python, _, keras_skipped = keras_interpreter(args.keras_python)
    results: dict[str, Any] = {
        "trials": trials,
        "epochs": args.epochs,
        "workers": args.workers,
        "rounds": args.rounds,
        "environment": environment(),
    }
    if not args.no_in_process:
        inner = in_process(overrides, args.workers, args.rounds)
        results.update(inner)  # serial_s, pool_s, speedup, meets_target: at the top level, as before
        results["ray"] = None if args.no_ray else ray_round(overrides, args.workers, args.rounds)
    if not args.no_end_to_end:
        results["end_to_end"] = end_to_end(plan, args, python)
        if python is None:
            results["end_to_end"]["keras_skipped"] = keras_skipped
    results["environment"]["load_average_at_end"] = load_average()
    print(report(results, args, trials, keras_skipped))
    print(f"\nwrote {write_json('sweep', results, args.out)}")


if __name__ == "__main__":
    main()
