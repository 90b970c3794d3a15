"""The exercise sweep as a Keras user writes it: a for-loop over activations × initializers.

    python benchmarks/keras_loop.py [--epochs 10] [--out FILE.json]

The reference for ``bench_sweep.py``: the same 24 models as ``configs/sweep_activation_initializer.yaml``
(784 → Dense(64) → Dense(64) → Dense(10, softmax); the activation and kernel initializer on the two hidden
layers, the output layer with Keras's defaults, which are nnrun's too), SGD(0.1), sparse categorical
cross-entropy with accuracy, 10 epochs of batch 64 with ``validation_split=0.2``, then ``evaluate`` on the
test split. The data are nnrun's bundled digits loaded the way a Keras user loads MNIST
(``nnrun.datasets.mnist_sample.load_data()``, the fixed 4,000/1,000 split that ``nnrun sweep`` uses too),
flattened and divided by 255 as float32, as nnrun's preprocessing does; ``data_fingerprint`` lets the
benchmark check that both saw the same arrays.

Needs Keras 3 with a working backend (``KERAS_BACKEND``) and nnrun (only for the data) in the interpreter
that runs it. Writes one JSON object (to ``--out``, else to stdout): the wall time of the loop, of the
imports and data, and of the whole script, the backend and versions, and each run's final val_accuracy.
"""

from __future__ import annotations

import time

SCRIPT_START = time.perf_counter()

import argparse  # noqa: E402  (the clock starts before the imports)
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

# the grid of configs/sweep_activation_initializer.yaml (bench_sweep.py checks they agree)
ACTIVATIONS = ["sigmoid", "tanh", "relu"]
INITIALIZERS = [
    "zeros",
    "RandomUniform",
    "RandomNormal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "lecun_normal",
    "he_uniform",
]
LEARNING_RATE = 0.1
BATCH_SIZE = 64
VALIDATION_SPLIT = 0.2
SEED = 1


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x_train, y_train, x_test, y_test``: the bundled digits, flattened, float32 in [0, 1], int64 labels."""
    from nnrun.datasets.mnist_sample import load_data as load_digits

    (x, y), (xt, yt) = load_digits()
    scale = np.float32(255)
    x = (x.reshape(len(x), -1) / scale).astype(np.float32)
    xt = (xt.reshape(len(xt), -1) / scale).astype(np.float32)
    return x, y.astype(np.int64), xt, yt.astype(np.int64)


def data_fingerprint(*arrays: np.ndarray) -> str:
    """SHA-256 over the dtype, shape and bytes of each array: equal only for the same data in the same order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    parser.add_argument("--verbose", action="store_true", help="print each run's accuracy as it finishes (stderr)")
    args = parser.parse_args()

    import keras

    x, y, xt, yt = load_data()
    loop_start = time.perf_counter()
    # ---- the loop a Keras user writes ----
    runs = []
    for activation in ACTIVATIONS:
        for initializer in INITIALIZERS:
            keras.utils.set_random_seed(SEED)
            model = keras.Sequential(
                [
                    keras.Input((x.shape[1],)),
                    keras.layers.Dense(64, activation=activation, kernel_initializer=initializer),
                    keras.layers.Dense(64, activation=activation, kernel_initializer=initializer),
                    keras.layers.Dense(10, activation="softmax"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.SGD(LEARNING_RATE),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            history = model.fit(
                x, y, epochs=args.epochs, batch_size=BATCH_SIZE, validation_split=VALIDATION_SPLIT, verbose=0
            )
            _, test_accuracy = model.evaluate(xt, yt, verbose=0)
            # ---- (bookkeeping for the benchmark) ----
            run = {
                "activation": activation,
                "kernel_initializer": initializer,
                "final_val_accuracy": float(history.history["val_accuracy"][-1]),
                "test_accuracy": float(test_accuracy),
            }
            runs.append(run)
            if args.verbose:
                print(
                    f"{activation:<8} {initializer:<15} val_accuracy {run['final_val_accuracy']:.4f}", file=sys.stderr
                )
    loop_s = time.perf_counter() - loop_start

    result: dict[str, Any] = {
        "runs_count": len(runs),
        "epochs": args.epochs,
        "loop_s": loop_s,
        "imports_and_data_s": loop_start - SCRIPT_START,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "backend_version": _backend_version(keras.backend.backend()),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "executable": sys.executable,
        "best_val_accuracy": max(r["final_val_accuracy"] for r in runs),
        "runs": runs,
        "data_fingerprint": data_fingerprint(x, y, xt, yt),
    }
    result["script_s"] = time.perf_counter() - SCRIPT_START  # from the script's first line: imports included
    text = json.dumps(result, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    print(
        f"{len(runs)} Keras runs ({result['backend']}), {args.epochs} epochs: loop {loop_s:.1f} s, "
        f"script {result['script_s']:.1f} s (imports and data {result['imports_and_data_s']:.1f} s)",
        file=sys.stderr,
    )


def _backend_version(backend: str) -> str | None:
    """The version of the backend's own module (tensorflow, jax, torch)."""
    import importlib

    return getattr(importlib.import_module(backend), "__version__", None)


if __name__ == "__main__":
    main()
