"""A run's model in a file another tool reads, with the preprocessing it needs beside it.

- ``keras``: Keras 3's ``.keras`` file (the engine's ``model.save``), which ``keras.saving.load_model`` reads:
  architecture and weights, not compiled (the run folder keeps no optimizer state);
- ``onnx``: an ONNX graph (:mod:`nnrun.engine.export_onnx`), the preprocessing in its ``metadata_props``;
- ``npz``: nnrun's weights archive (``model.load_weights`` reads it) and the model's JSON (``<out>.model.json``,
  for ``nnrun.models.model_from_json``).

Every export also writes ``<out>.preprocessing.json``: how to prepare inputs the way the run was trained
(flatten, divide by ``scale.divisor``, subtract ``standardize.mean`` and divide by ``standardize.std``) and what
the outputs mean (``classes``, ``class_names``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nnrun.config.build import build_model
from nnrun.engine.saving import atomic_write_bytes
from nnrun.errors import InvalidArgumentError
from nnrun.inference import LoadedRun

FORMATS = {"keras": ".keras", "onnx": ".onnx", "npz": ".npz"}
PREPROCESSING_SUFFIX = ".preprocessing.json"


def preprocessing_record(run: LoadedRun) -> dict[str, Any]:
    """The run's preprocessing, and where it came from, as written beside (and into) every export."""
    return {
        **run.preprocessing.to_dict(),
        "run": run.path.name,
        "name": run.config.name,
        "notes": list(run.notes),
    }


def export_run(run: LoadedRun, fmt: str, out: str | Path) -> list[Path]:
    """Write the run's model to ``out`` in ``fmt`` (keras, onnx or npz); returns the files written."""
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}.")
    out = Path(out)
    suffix = FORMATS[fmt]
    if out.suffix.lower() != suffix:
        raise InvalidArgumentError(f"--out {out}: a {fmt} export is a '{suffix}' file. Received: {out.name!r}")
    if out.is_dir():
        raise InvalidArgumentError(f"--out {out} is a folder; give a file name ending in '{suffix}'.")
    record = preprocessing_record(run)
    text = json.dumps(record, indent=2) + "\n"
    written = [out]
    if fmt == "keras":  # architecture and weights, not compiled: the run folder keeps no optimizer state
        _uncompiled(run).save(str(out), include_optimizer=False)
    elif fmt == "onnx":
        from nnrun.engine.export_onnx import model_to_onnx

        metadata = {"nnrun.preprocessing": json.dumps(record), "nnrun.run": run.path.name}
        proto = model_to_onnx(run.model, metadata, name=run.config.name)
        atomic_write_bytes(out, lambda f: f.write(proto.SerializeToString()))
    else:
        run.model.save_weights(str(out))
        model_json = out.with_name(out.name[: -len(suffix)] + ".model.json")
        atomic_write_bytes(model_json, lambda f: f.write(run.model.to_json().encode("utf-8")))
        written.append(model_json)
    beside = out.with_name(out.name + PREPROCESSING_SUFFIX)
    atomic_write_bytes(beside, lambda f: f.write(text.encode("utf-8")))
    return [*written, beside]


def _uncompiled(run: LoadedRun) -> Any:
    model = build_model(run.config, run.preprocessing.model_input_shape)
    model.set_weights(run.model.get_weights())
    return model


__all__ = ["FORMATS", "export_run", "preprocessing_record"]
