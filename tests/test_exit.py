"""How the ``nnrun`` process ends: the command's exit code, every line written, every exit handler run, and a
running non-daemon thread waited for; without the interpreter's module-by-module teardown."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def nnrun(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
    """``nnrun ARGS`` through the console-script entry point, in a fresh process, output to pipes."""
    script = textwrap.dedent(prelude) + f"\nimport sys\nsys.argv = ['nnrun', *{list(args)!r}]\nfrom nnrun.cli import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.slow
def test_exit_codes_and_output_are_those_of_the_command(tmp_path):
    done = nnrun("--help")
    assert done.returncode == 0 and "Usage" in done.stdout and done.stdout.rstrip().endswith("╯")
    done = nnrun("check", str(tmp_path / "missing.yaml"))
    assert done.returncode == 2
    assert "the config file does not exist" in done.stderr and "Traceback" not in done.stderr
    done = nnrun("check", "configs/sweep_activation_initializer.yaml")
    assert done.returncode == 0 and done.stdout.strip()


@pytest.mark.slow
def test_every_exit_handler_runs_and_its_output_is_flushed():
    prelude = """
    import atexit
    atexit.register(lambda: print("handler ran", end=""))  # unflushed: the exit must flush it
    """
    done = nnrun("--version", prelude=prelude)
    assert done.returncode == 0 and done.stdout.startswith("nnrun ") and done.stdout.endswith("handler ran")


@pytest.mark.slow
def test_a_running_non_daemon_thread_is_waited_for():
    prelude = """
    import threading
    def late():
        threading.main_thread().join()  # returns once the main thread has ended: the command is done
        print("thread finished", flush=True)
    threading.Thread(target=late).start()
    """
    done = nnrun("--version", prelude=prelude)
    assert done.returncode == 0 and done.stdout.rstrip().endswith("thread finished")
