"""Where nnrun's training step spends its time, on the model of bench_tiny.py or bench_mlp.py.

    python benchmarks/profile_step.py tiny            # cProfile, per step, sorted by own time
    python benchmarks/profile_step.py mlp --epochs 1
    python benchmarks/profile_step.py tiny --trace    # every nnrun source line one step executes

cProfile sees Python functions and NumPy functions called by name (``np.dot``), not ufuncs called as
objects or operators (``np.add(...)``, ``a += b``): their time is inside the caller's own time. For a
line-by-line view: ``pip install line_profiler`` and ``kernprof``, or ``pyinstrument``.
"""

from __future__ import annotations

import argparse
import cProfile
import linecache
import pstats
import sys
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.callbacks import Callback

NNRUN_DIR = str(Path(__file__).resolve().parent.parent / "nnrun")


def setup(which: str) -> tuple[Any, np.ndarray, np.ndarray, int, int]:
    """(model, x, y, batch size, steps per epoch) of the benchmark ``which``."""
    if which == "tiny":
        import bench_tiny as bench

        x, y = bench.xor_data(bench.ROWS, np.random.default_rng(0))
        model = bench.build_nnrun([])
    else:
        import bench_mlp as bench

        x, y, _ = bench.load_data(bench.ROWS)
        model = bench.build_nnrun()
    return model, x, y, bench.BATCH, -(-len(x) // bench.BATCH)


def profile(model: Any, x: np.ndarray, y: np.ndarray, batch: int, steps: int, epochs: int, top: int) -> str:
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, seed=0)  # warm-up: buffers, metrics
    profiler = cProfile.Profile()
    profiler.enable()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, seed=0)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    n = steps * epochs
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    total = sum(v[2] for v in stats.values())
    lines = [f"{n} steps profiled; {total / n * 1e6:.1f} µs/step under cProfile (its overhead included)",
             f"{'own µs/step':>12} {'calls/step':>10}  function"]  # fmt: skip
    for (filename, lineno, name), (_, calls, own, _, _) in rows:
        where = f"{filename.split('nnrun/')[-1]}:{lineno}({name})" if filename != "~" else name
        lines.append(f"{own / n * 1e6:12.1f} {calls / n:10.2f}  {where}")
    return "\n".join(lines)


class _TraceOneStep(Callback):
    """Records the nnrun lines executed between the starts of batch ``at`` and batch ``at + 1``."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.lines = at, []

    def _tracer(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_code.co_filename.startswith(NNRUN_DIR):
            self.lines.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        return self._tracer

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if batch == self.at:
            sys.settrace(self._tracer)
            frame = sys._getframe(1)
            while frame is not None:  # trace the frames already running (the epoch loop) too
                frame.f_trace = self._tracer
                frame = frame.f_back
        elif batch == self.at + 1:
            sys.settrace(None)


def trace(model: Any, x: np.ndarray, y: np.ndarray, batch: int) -> str:
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, seed=0)
    tracer = _TraceOneStep(at=5)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, seed=0, callbacks=[tracer])
    sys.settrace(None)
    out = [f"{len(tracer.lines)} nnrun lines executed in one step:"]
    for filename, lineno, name in tracer.lines:
        source = linecache.getline(filename, lineno).strip()
        out.append(f"  {filename.split('nnrun/')[-1]}:{lineno} [{name}] {source}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", choices=["tiny", "mlp"])
    parser.add_argument("--epochs", type=int, default=None, help="epochs to profile (default: tiny 20, mlp 1)")
    parser.add_argument("--top", type=int, default=30, help="functions to list (default 30)")
    parser.add_argument("--trace", action="store_true", help="list the lines of one step instead of profiling")
    args = parser.parse_args()
    model, x, y, batch, steps = setup(args.which)
    if args.trace:
        print(trace(model, x, y, batch))
    else:
        epochs = args.epochs or (20 if args.which == "tiny" else 1)
        print(profile(model, x, y, batch, steps, epochs, args.top))


if __name__ == "__main__":
    main()
