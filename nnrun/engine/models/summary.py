"""``model.summary()`` in Keras's layout (rendered with rich, as Keras does)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnrun.engine.models.model import Model


def readable_size(n_bytes: float) -> str:
    """``84.00 B``, ``1.23 KB``, ... in steps of 1024."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _class_name(layer: Any) -> str:
    """Keras's type column: a nested model shows as ``Sequential`` or ``Functional``."""
    name = getattr(layer, "class_name", type(layer).__name__)
    return "Functional" if name == "Model" else name


def summary_rows(model: Model) -> tuple[list[list[str]], bool]:
    """The table rows, and whether the model is sequential-like (no 'Connected to' column)."""
    from nnrun.engine.layers.input_layer import InputLayer
    from nnrun.engine.models.sequential import Sequential

    steps = getattr(model, "_steps", [])
    sequential_like = model._chain is not None or not model.built
    show_inputs = not isinstance(model, Sequential)  # Keras 3 lists a functional model's InputLayers
    rows = []
    producer: dict[int, str] = {}
    if model.built:
        for i, t in enumerate(model._input_tensors):
            producer[i] = t.input_layer.name
    by_layer = {id(layer): (ins, out) for layer, ins, out, _ in steps}
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            if show_inputs:
                row = [f"{layer.name} (InputLayer)", _shape((None, *layer.shape)), "0"]
                rows.append(row if sequential_like else [*row, "-"])
            continue
        if not layer.built:
            shape, params = "?", "0 (unbuilt)"
        else:
            shape = _shape(layer.output_shape) if layer._inbound_nodes else "?"
            params = f"{layer.count_params():,}"
        row = [f"{layer.name} ({_class_name(layer)})", shape, params]
        if not sequential_like:
            ins, out = by_layer[id(layer)]
            row.append(", ".join(f"{producer[i]}[0][0]" for i in ins) or "-")
            producer[out] = layer.name
        rows.append(row)
    return rows, sequential_like


def print_summary(
    model: Model,
    line_length: int | None = None,
    positions: list[float] | None = None,
    print_fn: Callable[[str], Any] | None = None,
    **kwargs: Any,
) -> None:
    """Print the summary (to stdout, or as one string to ``print_fn``)."""
    import rich.console
    import rich.markup
    import rich.table

    if kwargs:
        from nnrun.errors import InvalidArgumentError

        raise InvalidArgumentError(f"summary: argument(s) not recognized: {kwargs!r}")
    rows, sequential_like = summary_rows(model)
    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths, current = [], 0
    for pos in positions:
        widths.append(int(pos * line_length) - current)
        current += widths[-1]
    table = rich.table.Table(
        *[rich.table.Column(h, justify=a, width=w) for h, a, w in zip(header, align, widths)],  # type: ignore[arg-type]
        width=line_length,
        show_lines=True,
    )
    for row in rows:
        table.add_row(*[rich.markup.escape(cell) for cell in row])

    itemsize = model.weights[0].dtype.itemsize if model.weights else 4
    trainable = sum(v.size for v in model.trainable_weights)
    non_trainable = sum(v.size for v in model.non_trainable_weights)
    opt = model.optimizer if model.compiled and model.optimizer is not None and model.optimizer.built else None
    opt_count = opt.count_params() if opt is not None else 0
    total = trainable + non_trainable + opt_count

    if print_fn is not None:
        width = max(line_length, shutil.get_terminal_size().columns)
        console = rich.console.Console(highlight=False, force_terminal=False, color_system=None, width=width)
        console.begin_capture()
    else:
        console = rich.console.Console(highlight=False)
    console.print(f'[bold]Model: "{rich.markup.escape(model.name)}"[/]')
    console.print(table)
    console.print(f"[bold] Total params: [/]{total:,} ({readable_size(total * itemsize)})")
    console.print(f"[bold] Trainable params: [/]{trainable:,} ({readable_size(trainable * itemsize)})")
    console.print(f"[bold] Non-trainable params: [/]{non_trainable:,} ({readable_size(non_trainable * itemsize)})")
    if opt is not None:
        console.print(f"[bold] Optimizer params: [/]{opt_count:,} ({readable_size(opt_count * itemsize)})")
    if print_fn is not None:
        print_fn(console.end_capture())
