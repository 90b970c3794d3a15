"""The layering of STYLE.md, enforced: every ``import`` of nnrun (top level or inside a function) is read
with ``ast`` and checked against the packages each layer may use.

    cli → (config, sweep, runs, report, tracking) → (experiment, trial, inference, export)
        → (results, evaluation) → (engine, data, datasets)

The engine imports nothing of nnrun outside itself but ``errors``; report imports neither runs nor sweep;
nothing but the console-script entry point imports the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nnrun"

HIGHER = ("cli", "config", "sweep", "runs", "report", "tracking", "experiment", "trial", "inference", "export")
# layer → the top-level nnrun modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    "evaluation": {"cli", "config", "sweep", "runs", "report", "experiment", "trial", "inference", "export", "tracking"},
    "inference": {"cli", "sweep", "report", "tracking", "export"},
    "export": {"cli", "sweep", "report", "tracking"},
    "tracking": {"cli", "sweep"},
    "engine": set(HIGHER) | {"data", "datasets", "results", "evaluation"},
    "data": set(HIGHER) | {"results", "evaluation"},
    "datasets": set(HIGHER) | {"data", "results", "evaluation"},
    "results": set(HIGHER),
    "trial": {"cli", "sweep", "runs", "report"},
    "experiment": {"cli", "sweep", "runs", "report", "trial"},
    "config": {"cli", "sweep", "runs", "report", "trial"},
    "report": {"cli", "sweep", "runs", "config", "experiment", "trial"},
    "runs": {"cli", "sweep", "report"},
    "sweep": {"cli"},
}
# the Keras-style public modules (nnrun.layers, nnrun.models, ...) and the package's own __init__ re-export the
# engine for users; the entry points start the CLI
EXEMPT = {"__init__", "__main__"}


def _layer(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level nnrun module) for every import of nnrun in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "nnrun" else [f"nnrun.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "nnrun" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def _violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = _layer(path)
        if layer in EXEMPT:
            continue
        for line, target in _imports(path):
            if target in FORBIDDEN.get(layer, set()):
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {layer} imports nnrun.{target}")
    return out


def test_imports_follow_the_layering():
    assert _violations() == []


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """A planted upward import is reported (so the test above can fail)."""
    engine = tmp_path / "nnrun" / "engine"
    engine.mkdir(parents=True)
    (engine / "bad.py").write_text("def f():\n    from nnrun.runs import store\n    import nnrun.cli\n")
    (tmp_path / "nnrun" / "report.py").write_text("from nnrun import sweep\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "nnrun")
    assert _violations() == [
        "nnrun/engine/bad.py:2: engine imports nnrun.runs",
        "nnrun/engine/bad.py:3: engine imports nnrun.cli",
        "nnrun/report.py:1: report imports nnrun.sweep",
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_every_layer_exists(layer):
    assert (PACKAGE / layer).is_dir() or (PACKAGE / f"{layer}.py").is_file()
