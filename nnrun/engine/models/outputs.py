"""Per-output losses, loss weights and metrics (Keras's ``CompileLoss`` / ``CompileMetrics``).

``compile(loss=..., loss_weights=..., metrics=...)`` on a model with several outputs takes a list (one entry
per output, in output order) or a dict keyed by output name (the dict's keys when the outputs were a dict,
else the names of the layers that produce them); a single loss applies to every output. The logs follow
Keras 3: ``loss`` is ``Σ weight·loss`` (plus the regularization penalties), ``<output>_loss`` each output's
unweighted loss (when more than one output has a loss), ``<output>_<metric>`` each metric.

A single-output model takes this path only when its loss is weighted; otherwise it trains on the fast path.
"""

from __future__ import annotations

from typing import Any

from nnrun.engine import losses as losses_module
from nnrun.engine import metrics as metrics_module
from nnrun.errors import InvalidArgumentError, did_you_mean


class Heads:
    """The losses, weights and metrics of each output, and the names of their logs."""

    def __init__(self, names: list[str], loss: Any, loss_weights: Any, metrics: Any) -> None:
        self.names = names
        n = len(names)
        self.prefix = n > 1
        self.losses: list[losses_module.Loss | None] = _per_output("loss", loss, names, allow_none=True)
        if self.losses is None or all(x is None for x in self.losses):
            raise InvalidArgumentError(f"A loss is required for at least one output {names}. Received: loss={loss!r}")
        self.losses = [None if x is None else losses_module.get(x) for x in self.losses]
        self.active = [i for i, x in enumerate(self.losses) if x is not None]
        self.weights = _loss_weights(loss_weights, names, len(self.active))
        self.metric_ids: list[list[Any]] = _metrics(metrics, names)
        self.metrics: list[list[metrics_module.Metric]] | None = None
        self.fused = [False] * n
        self.loss_keys = [f"{names[i]}_loss" for i in self.active] if len(self.active) > 1 else []

    metrics_of = staticmethod(lambda metrics, names: _metrics(metrics, names))

    def key(self, i: int, metric_name: str) -> str:
        """The log key of output ``i``'s metric."""
        return f"{self.names[i]}_{metric_name}" if self.prefix else metric_name

    def build_metrics(
        self, raw_shapes: list[tuple[int, ...]], pred_shapes: list[tuple[int, ...]]
    ) -> list[list[metrics_module.Metric]]:
        if self.metrics is None:
            self.metrics = [
                [metrics_module.get(m, raw, pred) for m in ids]
                for ids, raw, pred in zip(self.metric_ids, raw_shapes, pred_shapes)
            ]
        return self.metrics

    def metric_logs(self) -> dict[str, float]:
        return {self.key(i, m.name): float(m.result()) for i, ms in enumerate(self.metrics or []) for m in ms}

    def directions(self) -> dict[str, str]:
        """log key → "max"/"min" for every metric (for callbacks' mode="auto")."""
        out = {}
        for i, ids in enumerate(self.metric_ids):
            for m in ids:
                if isinstance(m, metrics_module.Metric):
                    out[self.key(i, m.name)] = m.direction
                else:
                    out[self.key(i, m)] = metrics_module.direction(m)
        return out

    def ordered(self, logs: dict[str, float]) -> list[float]:
        """``evaluate``'s list, in Keras 3's order: loss, the outputs' losses, then the other keys sorted (one
        output: its metrics in compile order)."""
        if not self.prefix:
            return [logs["loss"]] + [logs[m.name] for ms in self.metrics or [] for m in ms]
        first = ["loss", *self.loss_keys]
        return [logs[k] for k in first] + [logs[k] for k in sorted(logs) if k not in first]


def _per_output(argument: str, value: Any, names: list[str], allow_none: bool) -> list[Any]:
    """One entry per output from a single value (the same for all), a list, or a dict keyed by output name."""
    n = len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        missing = [k for k in names if k not in value]
        if unknown or (missing and not allow_none):
            hint = did_you_mean(unknown[0], names) if unknown else ""
            raise InvalidArgumentError(
                f"Expected keys {names} in {argument} dict, but found {argument}.keys()={list(value)}.{hint}"
            )
        if missing:
            raise InvalidArgumentError(
                f"Expected keys {names} in {argument} dict, but found {argument}.keys()={list(value)}. "
                "Give None for an output without a loss."
            )
        return [value[k] for k in names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise InvalidArgumentError(
                f"{argument} is a list of {len(value)} entries, but the model has {n} output(s) {names}: give one "
                f"entry per output, or a dict keyed by output name. Received: {argument}={value!r}"
            )
        return list(value)
    return [value] * n


def _loss_weights(value: Any, names: list[str], n_losses: int) -> list[float]:
    if value is None:
        return [1.0] * len(names)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if n_losses != 1:
            raise InvalidArgumentError(
                f"`loss_weights` must match the number of losses, got {n_losses} losses and 1 weights. "
                f"Received: loss_weights={value!r}"
            )
        return [float(value)] * len(names)
    if not isinstance(value, (list, tuple, dict)):
        raise InvalidArgumentError(
            "Expected `loss_weights` argument to be a float (single output case) or a list, tuple, or dict "
            f"(multiple output case). Received instead: loss_weights={value!r} of type {type(value).__name__}"
        )
    weights = _per_output("loss_weights", value, names, allow_none=False)
    out = []
    for name, w in zip(names, weights):
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise InvalidArgumentError(f"loss_weights for output '{name}' must be a number. Received: {w!r}")
        out.append(float(w))
    return out


def _metrics(value: Any, names: list[str]) -> list[list[Any]]:
    """Each output's metric identifiers (checked), following Keras's rules for lists and dicts."""
    n = len(names)
    if not value:
        return [[] for _ in names]
    if n == 1:
        entries = [value]
    elif isinstance(value, (list, tuple)) and len(value) == n:
        entries = list(value)
    elif isinstance(value, dict) and set(value) <= set(names):
        entries = [value.get(k) for k in names]
    else:
        raise InvalidArgumentError(
            "Invalid `metrics`. `metrics` should contain metrics objects and either be a dict or a list matching "
            f"the output names of the functional model {names} or match the output structure of the model: "
            f"{['X'] * n}. Received: metrics={value!r}"
        )
    out = []
    for entry in entries:
        ids = [] if entry is None else _flatten(entry)
        for m in ids:
            metrics_module.check_identifier(m)
        out.append(ids)
    return out


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _flatten(v)]
    return [] if value is None else [value]


def single_loss(loss: Any, loss_weights: Any, name: str) -> tuple[Any, float | None]:
    """A single output's loss and weight from Keras's accepted forms (a value, a 1-list, a dict by name)."""
    (loss,) = _per_output("loss", loss, [name], allow_none=False)
    weight = None if loss_weights is None else _loss_weights(loss_weights, [name], 1)[0]
    return loss, weight


__all__ = ["Heads", "single_loss"]
