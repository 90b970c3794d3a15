"""MLP 784-256-128-10 on 48,000 images: nnrun vs PyTorch eager on the CPU, and vs the matmul rate.

    python benchmarks/bench_mlp.py [--epochs 5] [--warmup 1] [--threads N] [--no-torch]

Both frameworks train the same model (same initial weights) with Adam(lr=1e-3, eps=1e-7), batch 128,
float32, shuffled every epoch, tracking loss and accuracy. Their epochs alternate (nnrun, torch,
nnrun, torch, ...) so a change in machine speed hits both alike; each reports the median of the
timed epochs after the warm-up ones. Numbers go to stdout and to benchmarks/results/mlp.json.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
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

ROWS = 48_000
BATCH = 128
LAYERS = (784, 256, 128, 10)
LEARNING_RATE = 1e-3
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TARGET_VS_TORCH = 0.8  # nnrun epoch <= 0.8 x PyTorch's
TARGET_MATMUL_SHARE = 0.6  # nnrun GFLOP/s >= 60 % of the 2048x2048 matmul rate
SQUARE = 2048


# -- data ------------------------------------------------------------------------------------------


def load_data(rows: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``rows`` images as float32 (rows, 784) in [0, 1], their int64 labels, and where they came from.

    Fashion-MNIST's training set when Debian's files are present (through nnrun's loader if it
    exists, else a small IDX reader here); otherwise the 5,000 bundled digits tiled to ``rows``.
    """
    if all((FASHION_DIR / f).exists() for f in FASHION_FILES):
        from nnrun.datasets import fashion_mnist

        (x, y), _ = fashion_mnist.load_data()
        x, y = x[:rows], y[:rows]
        source = "fashion-mnist train (nnrun.datasets.fashion_mnist)"
    else:
        from nnrun.datasets import mnist_sample

        (x, y), _ = mnist_sample.load_data()
        x, y = np.resize(x, (rows, 28, 28)), np.resize(y, rows)
        source = f"the bundled MNIST sample tiled to {rows} rows"
    x = x.reshape(len(x), -1).astype(np.float32) / np.float32(255)
    return x, y.astype(np.int64), source


# -- work per epoch -----------------------------------------------------------------------------------


def step_matmuls(batch: int) -> list[tuple[str, tuple[int, int], tuple[int, int], bool]]:
    """The matrix products of one training step, as a Dense layer computes them.

    (label, shape of A, shape of B, whether A is a transposed view) for C = A @ B.
    """
    pairs = list(itertools.pairwise(LAYERS))
    out = [(f"fwd L{i}: x @ W", (batch, k), (k, m), False) for i, (k, m) in enumerate(pairs, 1)]
    out += [(f"dW  L{i}: x.T @ dz", (k, batch), (batch, m), True) for i, (k, m) in enumerate(pairs, 1)]
    # the first layer needs no dx
    out += [(f"dx  L{i}: dz @ W.T", (batch, m), (m, k), True) for i, (k, m) in enumerate(pairs, 1) if i > 1]
    return out


def flops_per_epoch(rows: int) -> dict[str, int]:
    """Matmul FLOPs of one epoch: forward, weight gradients, and input gradients of layers 2.. only."""
    pairs = list(itertools.pairwise(LAYERS))
    forward = 2 * rows * sum(k * m for k, m in pairs)
    input_grads = 2 * rows * sum(k * m for k, m in pairs[1:])
    return {
        "forward": forward,
        "weight_grads": forward,
        "input_grads": input_grads,
        "total": 2 * forward + input_grads,
    }


# -- the machine's matmul rate --------------------------------------------------------------------------


def _best_seconds(fn: Callable[[], Any], repeat: int, number: int) -> float:
    """The best, over ``repeat`` runs, of the mean time of ``number`` calls of ``fn`` (after one call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _matmul_seconds(a: np.ndarray, b: np.ndarray, repeat: int, number: int) -> float:
    out = np.empty((a.shape[0], b.shape[1]), np.float32)
    return _best_seconds(lambda: np.matmul(a, b, out=out), repeat, number)


class SquareRate:
    """NumPy's float32 GFLOP/s on 2048x2048 @ 2048x2048 (best of two), measured each time it is called."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((SQUARE, SQUARE), dtype=np.float32)
        self.b = rng.standard_normal((SQUARE, SQUARE), dtype=np.float32)
        self.gflops: list[float] = []

    def __call__(self) -> float:
        rate = 2 * SQUARE**3 / _matmul_seconds(self.a, self.b, repeat=2, number=1) / 1e9
        self.gflops.append(rate)
        return rate


def step_shape_rates(batch: int) -> dict[str, Any]:
    """NumPy's float32 GFLOP/s on the matmul shapes of one training step."""
    rng = np.random.default_rng(0)
    shapes = []
    for label, sa, sb, transposed in step_matmuls(batch):
        left = rng.random(sa[::-1], dtype=np.float32).T if transposed else rng.random(sa, dtype=np.float32)
        secs = _matmul_seconds(left, rng.random(sb, dtype=np.float32), repeat=5, number=200)
        flops = 2 * sa[0] * sa[1] * sb[1]
        shapes.append({"op": label, "a": sa, "b": sb, "flops": flops, "us": secs * 1e6, "gflops": flops / secs / 1e9})
    step_us = sum(s["us"] for s in shapes)
    return {
        "numpy_step_shapes": shapes,
        "numpy_step_matmul_us": step_us,
        "numpy_step_gflops": sum(s["flops"] for s in shapes) / step_us / 1e3,
    }


def torch_square_rate(torch: Any, square: SquareRate) -> float:
    ta, tb = torch.from_numpy(square.a), torch.from_numpy(square.b)
    tc = torch.empty_like(ta)
    return 2 * SQUARE**3 / _best_seconds(lambda: torch.mm(ta, tb, out=tc), repeat=3, number=1) / 1e9


# -- the two trainers -----------------------------------------------------------------------------------


def build_nnrun() -> Sequential:
    model = Sequential(
        [Input((LAYERS[0],)), Dense(LAYERS[1], "relu"), Dense(LAYERS[2], "relu"), Dense(LAYERS[3], "softmax")]
    )
    model.compile(
        optimizer=Adam(learning_rate=LEARNING_RATE), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


class NnrunTrainer:
    """``fit`` one epoch at a time (verbose=0), timing each epoch with a callback."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.model = build_nnrun()
        self.initial_weights = self.model.get_weights()
        self.x, self.y = x, y
        self.timer = EpochTimer()
        self.rng = np.random.default_rng(0)
        self.logs: dict[str, float] = {}

    def run_epoch(self) -> None:
        history = self.model.fit(
            self.x, self.y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True, seed=self.rng, callbacks=[self.timer]
        )
        self.logs = {k: v[-1] for k, v in history.history.items()}

    @property
    def seconds(self) -> list[float]:
        return self.timer.seconds


class TorchTrainer:
    """The same MLP in PyTorch eager: Linear/ReLU, CrossEntropyLoss on logits, Adam, no DataLoader."""

    def __init__(self, torch: Any, x: np.ndarray, y: np.ndarray, weights: list[np.ndarray]) -> None:
        nn = torch.nn
        self.torch = torch
        self.model = nn.Sequential(
            nn.Linear(LAYERS[0], LAYERS[1]), nn.ReLU(), nn.Linear(LAYERS[1], LAYERS[2]), nn.ReLU(),
            nn.Linear(LAYERS[2], LAYERS[3]),
        )  # fmt: skip
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, weights[0::2], weights[1::2]):
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE, eps=1e-7)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.generator = torch.Generator().manual_seed(0)
        self.seconds: list[float] = []
        self.logs: dict[str, float] = {}

    def run_epoch(self) -> None:
        torch, model, opt, loss_fn = self.torch, self.model, self.optimizer, self.loss_fn
        start = time.perf_counter()
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator)
        total = torch.zeros(())
        correct = torch.zeros((), dtype=torch.int64)
        for i in range(0, n, BATCH):
            idx = order[i : i + BATCH]
            xb, yb = self.x[idx], self.y[idx]
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                total += loss.detach() * len(idx)
                correct += (logits.argmax(dim=1) == yb).sum()
        self.seconds.append(time.perf_counter() - start)
        self.logs = {"loss": total.item() / n, "accuracy": correct.item() / n}


# -- the benchmark --------------------------------------------------------------------------------------


def run(epochs: int, warmup: int, use_torch: bool, threads: int) -> dict[str, Any]:
    torch = import_torch() if use_torch else None
    set_threads(threads, torch)
    env = environment(torch)
    x, y, source = load_data(ROWS)
    flops = flops_per_epoch(len(x))
    rates = step_shape_rates(BATCH)
    square = SquareRate()
    if torch is not None:
        rates["torch_square_gflops"] = torch_square_rate(torch, square)
    steps = -(-len(x) // BATCH)

    nnrun = NnrunTrainer(x, y)
    trainers: list[Any] = [nnrun]
    if torch is not None:
        trainers.append(TorchTrainer(torch, x, y, nnrun.initial_weights))
    probe = SpeedProbe()
    for _ in range(warmup + epochs):
        square()  # the machine's rate just before each nnrun epoch, so both see the same host speed
        for trainer in trainers:
            probe()
            trainer.run_epoch()
    env["load_average_at_end"] = load_average()

    nn_time = summarize(nnrun.seconds, warmup)
    nn_gflops = flops["total"] / nn_time["median_s"] / 1e9
    square_timed = square.gflops[warmup:]
    rates["numpy_square_gflops"] = statistics.median(square_timed)
    rates["numpy_square_gflops_all"] = square.gflops
    # each epoch's GFLOP/s over the 2048² rate measured just before it
    shares = [flops["total"] / s / 1e9 / r for s, r in zip(nnrun.seconds[warmup:], square_timed)]
    results: dict[str, Any] = {
        "benchmark": "mlp",
        "model": "-".join(map(str, LAYERS)) + " relu,relu,softmax; sparse_categorical_crossentropy; Adam",
        "rows": len(x),
        "batch_size": BATCH,
        "steps_per_epoch": steps,
        "data": source,
        "environment": env,
        "speed_probe": probe.summary(),
        "flops_per_epoch": flops,
        "matmul": rates,
        "nnrun": {
            **nn_time,
            "gflops": nn_gflops,
            "best_gflops": flops["total"] / nn_time["min_s"] / 1e9,
            "share_of_square_matmul": statistics.median(shares),
            "share_of_square_matmul_best": max(shares),
            "share_of_step_matmul": nn_gflops / rates["numpy_step_gflops"],
            "matmul_floor_s": rates["numpy_step_matmul_us"] * 1e-6 * steps,
            "last_epoch_logs": nnrun.logs,
        },
        "targets": {"nnrun_over_torch_max": TARGET_VS_TORCH, "share_of_square_matmul_min": TARGET_MATMUL_SHARE},
    }
    results["meets_matmul_target"] = results["nnrun"]["share_of_square_matmul"] >= TARGET_MATMUL_SHARE
    if torch is not None:
        tt = trainers[1]
        t_time = summarize(tt.seconds, warmup)
        paired = [a / b for a, b in zip(nnrun.seconds[warmup:], tt.seconds[warmup:])]
        results["torch"] = {
            **t_time,
            "gflops": flops["total"] / t_time["median_s"] / 1e9,
            "threads": torch.get_num_threads(),
            "last_epoch_logs": tt.logs,
        }
        results["nnrun_over_torch"] = nn_time["median_s"] / t_time["median_s"]
        results["nnrun_over_torch_paired"] = statistics.median(paired)
        results["meets_torch_target"] = results["nnrun_over_torch"] <= TARGET_VS_TORCH
    return results


def render(r: dict[str, Any]) -> str:
    nn, mm, env = r["nnrun"], r["matmul"], r["environment"]
    rows = [
        ("data", f"{r['data']}, {r['rows']} rows, batch {r['batch_size']}, {r['steps_per_epoch']} steps/epoch"),
        ("machine", describe_machine(env)),
        ("noise", describe_load(env, r["speed_probe"])),
        ("FLOPs per epoch", f"{r['flops_per_epoch']['total'] / 1e9:.2f} GFLOP (matmuls: fwd + dW + dx of L2, L3)"),
        ("matmul rate 2048² (numpy)", f"{mm['numpy_square_gflops']:.1f} GFLOP/s (median of one before each epoch; "
                                      f"max {max(mm['numpy_square_gflops_all']):.1f})"),
        ("matmul rate, step shapes", f"{mm['numpy_step_gflops']:.1f} GFLOP/s "
                                     f"({mm['numpy_step_matmul_us']:.0f} µs/step)"),
    ]  # fmt: skip
    if "torch_square_gflops" in mm:
        rows.append(("matmul rate 2048² (torch)", f"{mm['torch_square_gflops']:.1f} GFLOP/s"))
    rows += [
        ("nnrun s/epoch (median)", f"{nn['median_s']:.3f} s  [min {nn['min_s']:.3f}, max {nn['max_s']:.3f}, "
                                   f"{nn['timed_epochs']} epochs]"),
        ("nnrun matmul-only floor", f"{nn['matmul_floor_s']:.3f} s/epoch (step shapes at the rate above)"),
        ("nnrun GFLOP/s", f"{nn['gflops']:.1f}  (best epoch {nn['best_gflops']:.1f})"),
        ("nnrun share of 2048² rate", f"{nn['share_of_square_matmul']:.0%}  [best epoch "
                                      f"{nn['share_of_square_matmul_best']:.0%}]  (paired epoch by epoch; "
                                      f"target ≥ {TARGET_MATMUL_SHARE:.0%}: {verdict(r['meets_matmul_target'])})"),
        ("nnrun share of step-shape rate", f"{nn['share_of_step_matmul']:.0%}"),
        ("nnrun last epoch", format_logs(nn["last_epoch_logs"])),
    ]  # fmt: skip
    if "torch" in r:
        t = r["torch"]
        rows += [
            ("torch s/epoch (median)", f"{t['median_s']:.3f} s  [min {t['min_s']:.3f}, max {t['max_s']:.3f}, "
                                       f"{t['threads']} threads]"),
            ("torch GFLOP/s", f"{t['gflops']:.1f}"),
            ("torch last epoch", format_logs(t["last_epoch_logs"])),
            ("nnrun / torch", f"{r['nnrun_over_torch']:.2f}  (paired epochs {r['nnrun_over_torch_paired']:.2f}; "
                              f"target ≤ {TARGET_VS_TORCH}: {verdict(r['meets_torch_target'])})"),
        ]  # fmt: skip
    else:
        rows.append(("torch", "not installed or --no-torch: comparison skipped"))
    shapes = "\n".join(
        f"    {s['op']:<17} {s['a']!s:>11} @ {s['b']!s:<11} {s['us']:8.1f} µs {s['gflops']:7.1f} GFLOP/s"
        for s in mm["numpy_step_shapes"]
    )
    text = f"MLP benchmark\n{table(rows)}\n  numpy matmuls of one step:\n{shapes}"
    warning = noise_warning(env, r["speed_probe"])
    return text + (f"\n\n{warning}" if warning else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per framework (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (default 1)")
    parser.add_argument("--threads", type=int, default=cores(), help="BLAS and torch threads (default: all cores)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/mlp.json)")
    args = parser.parse_args()
    results = run(args.epochs, args.warmup, not args.no_torch, args.threads)
    print(render(results))
    print(f"\nwrote {write_json('mlp', results, args.out)}")


if __name__ == "__main__":
    main()
