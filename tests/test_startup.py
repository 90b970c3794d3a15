"""Start-up without fixed costs: ``nnrun --help``, ``nnrun check`` and a sweep worker's start import neither the
plotting stack nor the optional extras (measured with ``python -X importtime``, in a fresh process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
OPTIONAL = ("matplotlib", "optuna", "ray", "onnx", "onnxruntime", "h5py", "mlflow", "tensorboardX", "jax", "keras")


def imported(args: list[str]) -> set[str]:
    """Top-level packages a fresh ``python -X importtime ARGS`` imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return {name.split(".")[0] for name in names}


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["-m", "nnrun", "--help"],
        ["-m", "nnrun", "sweep", "--help"],
        ["-m", "nnrun", "check", "configs/sweep_activation_initializer.yaml"],
        ["-c", "import nnrun.sweep.executors, nnrun.sweep.worker"],  # what a pool worker imports when it starts
    ],
    ids=["help", "sweep-help", "check", "worker"],
)
def test_start_up_imports_no_plotting_stack_and_no_extras(args):
    modules = imported(args)
    assert "nnrun" in modules  # the measurement works
    assert not modules & set(OPTIONAL), sorted(modules & set(OPTIONAL))


POOL_SWEEP = """
import sys, tempfile
from nnrun.sweep import ProcessExecutor, open_folder, plan_sweep, run_sweep
with tempfile.TemporaryDirectory() as runs:
    plan = plan_sweep("configs/sweep_activation_initializer.yaml", overrides=["train.epochs=1"])
    folder, _ = open_folder(plan, runs, new=True)
    with ProcessExecutor(workers=2) as executor:
        outcome = run_sweep(plan, folder, executor)
    figures = sorted(p.name for p in outcome.figures)
print(len(figures), sum(name.endswith(".png") for name in figures), "matplotlib" in sys.modules)
"""


@pytest.mark.slow
def test_a_pooled_sweep_plans_its_figures_without_the_plotting_stack():
    """The workers draw every figure; the sweep's own process only plans them and writes the files."""
    proc = subprocess.run([sys.executable, "-c", POOL_SWEEP], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    written, pngs, plotting_here = proc.stdout.split()
    assert int(written) == int(pngs) >= 8  # 5 comparison figures and the best trial's 3 plots
    assert plotting_here == "False"
