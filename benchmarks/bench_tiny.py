"""A 2-8-1 network on 3,200 XOR points: nnrun's time per training step, where overhead is everything.

    python benchmarks/bench_tiny.py [--rounds 6] [--epochs 10] [--threads N] [--no-torch]

The matmuls here are a few hundred FLOPs, so a step costs what nnrun's Python and NumPy calls cost.
nnrun's time per step is an epoch of ``fit`` (verbose=0) divided by its 100 steps, median over
epochs, without metrics and (a second model) with ``metrics=["accuracy"]``. PyTorch eager runs the
same model (same initial weights, Adam, BCE on the logits) in a plain loop. The contenders take
turns, a few epochs each per round, so a change in machine speed (or a CPU still clocking up) hits
all alike; the first round is the warm-up. Numbers go to stdout and to benchmarks/results/tiny.json.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    EpochTimer,
    SpeedProbe,
    cores,
    describe_load,
    describe_machine,
    environment,
    format_logs,
    import_torch,
    load_average,
    noise_warning,
    set_threads,
    summarize,
    table,
    verdict,
    write_json,
)

from nnrun.layers import Dense, Input
from nnrun.models import Sequential
from nnrun.optimizers import Adam

ROWS = 3_200
BATCH = 32
HIDDEN = 8
LEARNING_RATE = 1e-3
TARGET_US_PER_STEP = 60.0


def xor_data(rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]²; the label is 1 where the two coordinates have the same sign."""
    x = rng.uniform(-1.0, 1.0, size=(rows, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.float32)
    return x, y


def build_nnrun(metrics: list[str]) -> Sequential:
    model = Sequential([Input((2,)), Dense(HIDDEN, "tanh"), Dense(1, "sigmoid")])
    model.compile(optimizer=Adam(learning_rate=LEARNING_RATE), loss="binary_crossentropy", metrics=metrics)
    return model


class NnrunTrainer:
    """``fit`` for a few epochs at a time (verbose=0), timing each epoch with a callback."""

    def __init__(self, x: np.ndarray, y: np.ndarray, metrics: list[str]) -> None:
        self.model = build_nnrun(metrics)
        self.initial_weights = self.model.get_weights()
        self.x, self.y = x, y
        self.timer = EpochTimer()
        self.rng = np.random.default_rng(0)
        self.logs: dict[str, float] = {}

    def run_epochs(self, epochs: int) -> None:
        history = self.model.fit(
            self.x, self.y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=True, seed=self.rng,
            callbacks=[self.timer],
        )  # fmt: skip
        self.logs = {k: v[-1] for k, v in history.history.items()}

    @property
    def seconds(self) -> list[float]:
        return self.timer.seconds


class TorchTrainer:
    """The same model in PyTorch eager: shuffled indices each epoch, tensor slices, no DataLoader."""

    def __init__(self, torch: Any, x: np.ndarray, y: np.ndarray, weights: list[np.ndarray]) -> None:
        nn = torch.nn
        self.torch = torch
        self.model = nn.Sequential(nn.Linear(2, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1))
        with torch.no_grad():
            for lin, w, b in zip([self.model[0], self.model[2]], weights[0::2], weights[1::2]):
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
        self.loss_fn = nn.BCEWithLogitsLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE, eps=1e-7)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y).reshape(-1, 1)
        self.generator = torch.Generator().manual_seed(0)
        self.seconds: list[float] = []
        self.logs: dict[str, float] = {}

    def run_epochs(self, epochs: int) -> None:
        torch, model, opt, loss_fn = self.torch, self.model, self.optimizer, self.loss_fn
        n = len(self.x)
        for _ in range(epochs):
            start = time.perf_counter()
            order = torch.randperm(n, generator=self.generator)
            total = torch.zeros(())
            for i in range(0, n, BATCH):
                idx = order[i : i + BATCH]
                xb, yb = self.x[idx], self.y[idx]
                loss = loss_fn(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    total += loss.detach() * len(idx)
            self.seconds.append(time.perf_counter() - start)
            self.logs = {"loss": total.item() / n}


def _per_step(seconds: list[float], warmup: int, steps: int) -> dict[str, Any]:
    summary = summarize(seconds, warmup)
    return {
        "us_per_step": summary["median_s"] / steps * 1e6,
        "min_us_per_step": summary["min_s"] / steps * 1e6,
        "steps_per_epoch": steps,
        **summary,
    }


def _paired_ratio(a: list[float], b: list[float], epochs: int) -> float:
    """Median over rounds of (a's median epoch / b's median epoch) within the same round."""
    ratios = [
        statistics.median(a[i : i + epochs]) / statistics.median(b[i : i + epochs]) for i in range(0, len(a), epochs)
    ]
    return statistics.median(ratios)


def run(rounds: int, epochs: int, use_torch: bool, threads: int) -> dict[str, Any]:
    """``rounds`` rounds of ``epochs`` epochs per contender, in turn; the first round is the warm-up."""
    torch = import_torch() if use_torch else None
    set_threads(threads, torch)
    env = environment(torch)
    x, y = xor_data(ROWS, np.random.default_rng(0))
    contenders: dict[str, Any] = {
        "nnrun": NnrunTrainer(x, y, []),
        "nnrun_with_accuracy": NnrunTrainer(x, y, ["accuracy"]),
    }
    if torch is not None:
        contenders["torch"] = TorchTrainer(torch, x, y, contenders["nnrun"].initial_weights)
    probe = SpeedProbe()
    for _ in range(rounds):
        for trainer in contenders.values():
            probe()
            trainer.run_epochs(epochs)
    env["load_average_at_end"] = load_average()
    steps = -(-ROWS // BATCH)
    results: dict[str, Any] = {
        "benchmark": "tiny",
        "model": f"2-{HIDDEN}-1 tanh,sigmoid; binary_crossentropy; Adam",
        "rows": ROWS,
        "batch_size": BATCH,
        "environment": env,
        "speed_probe": probe.summary(),
        "target_us_per_step": TARGET_US_PER_STEP,
    }
    for name, trainer in contenders.items():
        results[name] = {**_per_step(trainer.seconds, epochs, steps), "last_epoch_logs": trainer.logs}
    results["meets_target"] = results["nnrun"]["us_per_step"] <= TARGET_US_PER_STEP
    if torch is not None:
        results["torch"]["threads"] = torch.get_num_threads()
        results["nnrun_over_torch"] = results["nnrun"]["us_per_step"] / results["torch"]["us_per_step"]
        results["nnrun_over_torch_paired"] = _paired_ratio(
            contenders["nnrun"].seconds[epochs:], contenders["torch"].seconds[epochs:], epochs
        )
    return results


def render(r: dict[str, Any]) -> str:
    nn, acc, env = r["nnrun"], r["nnrun_with_accuracy"], r["environment"]
    rows = [
        ("data", f"XOR, {r['rows']} rows, batch {r['batch_size']}, {nn['steps_per_epoch']} steps/epoch"),
        ("model", r["model"]),
        ("machine", describe_machine(env)),
        ("noise", describe_load(env, r["speed_probe"])),
        ("nnrun µs/step (median)", f"{nn['us_per_step']:.1f}  [min {nn['min_us_per_step']:.1f}, "
                                   f"{nn['timed_epochs']} epochs]  "
                                   f"(target ≤ {TARGET_US_PER_STEP:.0f}: {verdict(r['meets_target'])})"),
        ("nnrun µs/step, + accuracy", f"{acc['us_per_step']:.1f}  [min {acc['min_us_per_step']:.1f}]"),
        ("nnrun last epoch", format_logs(nn["last_epoch_logs"])),
    ]  # fmt: skip
    if "torch" in r:
        t = r["torch"]
        rows += [
            ("torch µs/step (median)", f"{t['us_per_step']:.1f}  [min {t['min_us_per_step']:.1f}, "
                                       f"{t['threads']} threads]"),
            ("torch last epoch", format_logs(t["last_epoch_logs"])),
            ("nnrun / torch", f"{r['nnrun_over_torch']:.2f}  (paired rounds {r['nnrun_over_torch_paired']:.2f})"),
        ]  # fmt: skip
    else:
        rows.append(("torch", "not installed or --no-torch: comparison skipped"))
    warning = noise_warning(env, r["speed_probe"])
    return f"Tiny-network benchmark\n{table(rows)}" + (f"\n\n{warning}" if warning else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds, the first one untimed (default 6)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per contender per round (default 10)")
    parser.add_argument("--threads", type=int, default=cores(), help="BLAS and torch threads (default: all cores)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/tiny.json)")
    args = parser.parse_args()
    results = run(args.rounds, args.epochs, not args.no_torch, args.threads)
    print(render(results))
    print(f"\nwrote {write_json('tiny', results, args.out)}")


if __name__ == "__main__":
    main()
