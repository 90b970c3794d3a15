"""The budget of a search: the full grid against TPE with median pruning and the grid with successive halving.

    python benchmarks/bench_search.py [--seeds 3] [--epochs 10] [--trials 30] [--workers 2]

The space: 3 activations × 8 weight initializers × 4 learning rates (96 points) of the exercise network on the
bundled digits (64-64-10, SGD, batch 64, 20 % validation), ranked by the final validation accuracy. For each
seed (the config's seed, and the search's), three sweeps run into temporary folders:

- grid: all 96 points, every epoch;
- tpe: Optuna's TPE over the same 96 points with ``trials`` trials and the median pruner;
- grid + successive halving: all 96 points, the successive-halving pruner stopping the ones behind (a grid
  with a pruner runs its points in an order shuffled by the sweep's seed: in grid order the first trials,
  all sigmoid, are compared only among themselves and many weak ones go on).

For each, the best final validation accuracy and the epochs trained (the sum of every trial's ``epochs_run``).
Target: within 0.005 of the grid's best with at most 30 % of the grid's epochs; the table shows the medians
over the seeds. Numbers go to stdout and to benchmarks/results/search.json. Needs ``pip install 'nnrun[optuna]'``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from nnrun.sweep import ProcessExecutor, SerialExecutor, open_folder, plan_sweep, run_sweep

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
TARGET_GAP, TARGET_EPOCHS = 0.005, 0.30

CONFIG = """\
name: bench-search-{method}
seed: {seed}
data: {{dataset: mnist_sample}}
model:
  hidden: {{activation: relu, kernel_initializer: glorot_uniform}}
  layers:
    - dense: 64
    - dense: 64
    - dense: {{units: 10, activation: softmax}}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {{name: sgd, learning_rate: 0.1}}
  metrics: [accuracy]
  epochs: {epochs}
  batch_size: 64
  validation_split: 0.2
sweep:
  method: {method}
{trials}  seed: {seed}
  parameters:
    model.hidden.activation: [sigmoid, tanh, relu]
    model.hidden.kernel_initializer: [zeros, RandomUniform, RandomNormal, glorot_normal, glorot_uniform, he_normal,
                                      lecun_normal, he_uniform]
    train.optimizer.learning_rate: [0.01, 0.03, 0.1, 0.3]
  metric: val_accuracy
{pruner}"""

PRUNERS = {
    "median": "  pruner: {name: median, n_startup_trials: 5, n_warmup_steps: 1}\n",
    "successive_halving": "  pruner: {name: successive_halving, min_resource: 1, reduction_factor: 3}\n",
}


def sweep(method: str, pruner: str | None, seed: int, epochs: int, trials: int, workers: int, root: Path) -> dict:
    """One sweep: its best final validation accuracy, the epochs it trained, its trials and wall time."""
    text = CONFIG.format(
        method=method,
        seed=seed,
        epochs=epochs,
        trials=f"  trials: {trials}\n" if method != "grid" else "",
        pruner=PRUNERS[pruner] if pruner else "",
    )
    path = root / f"{method}-{pruner}-{seed}.yaml"
    path.write_text(text)
    start = time.perf_counter()
    plan = plan_sweep(path)
    folder, _ = open_folder(plan, root / "runs", new=True)
    with SerialExecutor() if workers == 1 else ProcessExecutor(workers=workers) as executor:
        outcome = run_sweep(plan, folder, executor)
    seconds = time.perf_counter() - start
    rows = outcome.rows
    done = [r for r in rows if r["status"] == "completed" and r.get("final_val_accuracy") is not None]
    best = max(done, key=lambda r: r["final_val_accuracy"])
    return {
        "best": best["final_val_accuracy"],
        "best_point": {k: best[k] for k in plan.spec.parameters},
        "epochs": sum(r.get("epochs_run") or 0 for r in rows),
        "trials": len(rows),
        "pruned": sum(r["status"] == "pruned" for r in rows),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--trials", type=int, default=30, help="the TPE budget")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    methods = {"grid": ("grid", None), "tpe+median": ("tpe", "median"), "grid+sh": ("grid", "successive_halving")}
    runs: dict[str, list[dict]] = {name: [] for name in methods}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for name, (method, pruner) in methods.items():
                result = sweep(method, pruner, seed, args.epochs, args.trials, args.workers, Path(tmp))
                runs[name].append(result)
                print(f"seed {seed} {name:>11}: best {result['best']:.4f}, {result['epochs']} epochs, "
                      f"{result['trials']} trials ({result['pruned']} pruned), {result['seconds']:.1f}s", flush=True)
    summary = {}
    for name, results in runs.items():
        gaps = [g["best"] - r["best"] for g, r in zip(runs["grid"], results, strict=True)]
        shares = [r["epochs"] / g["epochs"] for g, r in zip(runs["grid"], results, strict=True)]
        summary[name] = {
            "best": statistics.median(r["best"] for r in results),
            "epochs": statistics.median(r["epochs"] for r in results),
            "gap_to_grid": statistics.median(gaps),
            "epoch_share": statistics.median(shares),
            "seconds": statistics.median(r["seconds"] for r in results),
            "meets_target": statistics.median(gaps) <= TARGET_GAP and statistics.median(shares) <= TARGET_EPOCHS,
        }
    print(f"\nmedian over {args.seeds} seed(s), {args.epochs} epochs, TPE budget {args.trials} trials, "
          f"{args.workers} worker(s)")
    print(f"{'method':>11}  {'best val_acc':>12}  {'gap':>7}  {'epochs':>7}  {'share':>6}  {'time':>7}  target")
    for name, s in summary.items():
        target = "-" if name == "grid" else ("yes" if s["meets_target"] else "no")
        print(f"{name:>11}  {s['best']:12.4f}  {s['gap_to_grid']:7.4f}  {s['epochs']:7.0f}  {s['epoch_share']:6.1%}  "
              f"{s['seconds']:6.1f}s  {target}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)}, "summary": summary, "runs": runs},
                                   indent=2, default=str))
    print(f"\n{args.out}")


if __name__ == "__main__":
    main()
