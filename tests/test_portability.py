"""nnrun runs where POSIX-only modules do not exist (Windows): every module imports and the main commands
work with ``fcntl`` hidden. POSIX-only calls sit behind platform checks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HIDE = "import sys; sys.modules['fcntl'] = None; sys.modules['termios'] = None\n"


def run_hidden(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", HIDE + textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.mark.slow
def test_every_module_imports_without_fcntl(tmp_path):
    code = """
        import importlib, pkgutil
        import nnrun
        failed = []
        for info in pkgutil.walk_packages(nnrun.__path__, "nnrun."):
            if info.name == "nnrun.__main__":  # importing it runs the CLI
                continue
            try:
                importlib.import_module(info.name)
            except ImportError as e:
                # optional extras (ray, h5py, onnx, ...) may be absent; a POSIX-only module must not be the cause
                if "fcntl" in str(e) or "termios" in str(e):
                    failed.append(f"{info.name}: {e}")
        print("\\n".join(failed) or "ok")
    """
    proc = run_hidden(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


@pytest.mark.slow
def test_version_and_a_one_epoch_train_without_fcntl(tmp_path):
    code = f"""
        import sys
        from nnrun.cli import app, main
        sys.argv = sys.argv[:1] + {["--version"]!r}
        try:
            app()  # main() would end the process: it is the last call
        except SystemExit as e:
            assert e.code in (0, None), e.code
        sys.argv = sys.argv[:1] + {["train", str(ROOT / "configs" / "mnist_mlp.yaml"), "--set", "train.epochs=1",
                                    "--set", "data.limit=500", "--runs-dir", str(tmp_path / "runs"), "--quiet"]!r}
        main()
    """
    proc = run_hidden(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    assert "nnrun" in proc.stdout.splitlines()[0]
