"""compile / fit / evaluate / predict with Keras's bookkeeping: the training half of ``Model``.

The targets are checked and prepared in ``targets.py``; the loops over batches (one training epoch, one
evaluation or prediction pass) are in ``epoch_loop.py``. What ``Trainer`` needs from the graph half of the
model is the ``ModelGraph`` Protocol of ``contract.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.engine import losses as losses_module
from nnrun.engine import metrics as metrics_module
from nnrun.engine import optimizers as optimizers_module
from nnrun.engine.callbacks import CallbackList, History, ProgbarLogger
from nnrun.engine.callbacks.callback import Callback
from nnrun.engine.data_adapter import check_lengths, split_at, to_numeric
from nnrun.engine.models.epoch_loop import EpochLoop, evaluate_batches, predict_batches
from nnrun.engine.models.outputs import Heads, single_loss
from nnrun.engine.models.targets import (
    MultiTargets,
    Targets,
    apply_class_weight,
    prepare_plain_targets,
    prepare_targets,
    sample_weights,
    split_targets,
)
from nnrun.engine.random import Seed, make_rng
from nnrun.errors import DataError, InvalidArgumentError, NotBuiltError

if TYPE_CHECKING:
    from nnrun.engine.layers.layer import Layer
    from nnrun.engine.models.contract import ModelGraph
    from nnrun.engine.variable import Variable

    _Graph = ModelGraph
else:
    _Graph = object

_COMPILE_ARGS = ("optimizer", "loss", "loss_weights", "metrics")

#: (inputs, targets, sample weights) of a validation set
Validation = tuple[list[np.ndarray], "Targets | MultiTargets", "np.ndarray | None"]


class Trainer(_Graph):
    """The training half of ``Model``: it runs on any ``ModelGraph``."""

    def __init__(self) -> None:
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.compiled = False
        self.stop_training = False
        self.history: History | None = None
        self._metric_ids: list[Any] = []
        self._metrics: list[metrics_module.Metric] | None = None
        self._flat_vars: list[Variable] | None = None
        self._flat_w: np.ndarray | None = None
        self._fused = False
        self._initial_epoch: int | None = None  # set by BackupAndRestore when it resumes a run
        self._heads: Heads | None = None  # several outputs, or a weighted loss: see outputs.py
        self._compile_config: dict[str, Any] = {}  # loss, loss_weights and metrics as given (for saving)

    # -- compile ---------------------------------------------------------------------------------------

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        **kwargs: Any,
    ) -> None:
        """Choose the optimizer, loss and metrics (names or objects), as ``keras.Model.compile``. With several
        outputs, ``loss``, ``loss_weights`` and ``metrics`` may be lists (output order) or dicts keyed by
        output name (see ``outputs.py``)."""
        if kwargs:
            raise InvalidArgumentError(
                f"compile: argument(s) not recognized: {kwargs!r}. nnrun's compile takes {', '.join(_COMPILE_ARGS)}."
            )
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise InvalidArgumentError(f"compile: metrics must be a list. Received: metrics={metrics!r}")
        heads = None
        if self.built and getattr(self, "_multi_output", False):
            heads = Heads(self.output_names, loss, loss_weights, metrics)
            resolved: Any = loss
            metric_ids = [m for ids in heads.metric_ids for m in ids]
        else:
            names = self.output_names if self.built else [self.layers[-1].name if self.layers else "output"]
            one, weight = single_loss(loss, loss_weights, names[0])
            resolved = losses_module.get(one)
            (metric_ids,) = Heads.metrics_of(metrics, names)
            if weight is not None and weight != 1.0:
                heads = Heads(names, resolved, weight, [metric_ids])
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = resolved
        self._heads = heads
        self._compile_config = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics}
        self._metric_ids = list(metric_ids)
        self._metrics = None
        self._flat_vars = None
        self.compiled = True
        if self.built:
            self._plan_gradients()
            self._setup_fusion()

    @property
    def metrics_names(self) -> list[str]:
        """As Keras 3: ``[]`` before compile, ``["loss"]``, plus ``"compile_metrics"`` when metrics were given."""
        if not self.compiled:
            return []
        names = ["loss", "compile_metrics"] if self._metric_ids else ["loss"]
        return names + (self._heads.loss_keys if self._heads is not None else [])

    def _require_compiled(self) -> None:
        if not self.compiled:
            raise NotBuiltError(
                f"Model '{self.name}' must be compiled before training or evaluating: "
                "call model.compile(optimizer=..., loss=..., metrics=[...]) first."
            )

    def _on_graph_changed(self) -> None:
        self._flat_vars = None
        self._metrics = None
        if self._heads is not None:
            self._heads.metrics = None
        if self.compiled:
            self._plan_gradients()
            self._setup_fusion()

    def _output_layer(self, i: int = 0) -> Layer:
        slot = self._out_slots[i]
        producer = next((layer for layer, _, out, _ in self._steps if out == slot), None)
        return producer if producer is not None else self._input_tensors[slot].input_layer  # type: ignore[attr-defined]

    def _setup_fusion(self) -> None:
        """Let a softmax/sigmoid output layer hand its gradient straight to the matching cross-entropy."""
        for layer in self.layers:
            if hasattr(layer, "fused_activation_grad"):
                layer.fused_activation_grad = False
        if self._heads is not None:
            self._setup_heads_fusion(self._heads)
            return
        out = self._output_layer()
        act = getattr(out, "activation", None)
        self._fused = bool(
            hasattr(out, "fused_activation_grad")
            and act is not None
            and self.loss is not None
            and self.loss.fused_activation == act.name
        )
        if self._fused:
            out.fused_activation_grad = True  # type: ignore[attr-defined]

    def _setup_heads_fusion(self, heads: Heads) -> None:
        """Fuse each output whose layer feeds nothing else (its dL/dx then comes only from its own loss)."""
        consumed = {i for _, ins, _, _ in self._steps for i in ins}
        for i in range(len(heads.names)):
            out, loss, act = self._output_layer(i), heads.losses[i], None
            act = getattr(out, "activation", None)
            heads.fused[i] = bool(
                loss is not None
                and self._out_slots[i] not in consumed
                and self._out_slots.count(self._out_slots[i]) == 1
                and hasattr(out, "fused_activation_grad")
                and act is not None
                and loss.fused_activation == act.name
            )
            if heads.fused[i]:
                out.fused_activation_grad = True  # type: ignore[attr-defined]

    def _ensure_flat(self) -> None:
        """Put every trainable weight (and its gradient) in one flat buffer shared with the optimizer."""
        variables = self.trainable_weights
        if (
            self._flat_vars is not None
            and [id(v) for v in variables] == [id(v) for v in self._flat_vars]
            and all(v.value.base is self._flat_w for v in variables)  # not moved by an outer model's buffer
        ):
            return
        dtype = variables[0].dtype if variables else np.dtype("float32")
        total = sum(v.size for v in variables)
        w = np.empty(total, dtype)
        g = np.zeros(total, dtype)
        offset = 0
        for v in variables:
            end = offset + v.size
            w[offset:end] = v.value.ravel()
            v.value = w[offset:end].reshape(v.shape)
            v.grad = g[offset:end].reshape(v.shape)
            offset = end
        self._flat_vars, self._flat_w = variables, w
        if variables and self.optimizer is not None:
            self.optimizer.build(variables, flat=(w, g))

    # -- data ----------------------------------------------------------------------------------------

    def _maybe_build_from(self, xs: list[np.ndarray]) -> None:
        """Sequential overrides this to build from the first data it sees."""

    def _prepare_inputs(self, x: Any, name: str = "x") -> list[np.ndarray]:
        if x is None:
            raise InvalidArgumentError(f"{name} is required. Received: {name}=None")
        n_inputs = len(self._input_tensors) if self.built else 1
        if isinstance(x, dict):
            items = self._inputs_from_dict(x, name)
        else:
            items = list(x) if n_inputs > 1 and isinstance(x, (list, tuple)) else [x]
        arrays = [to_numeric(a, name if len(items) == 1 else f"{name}[{i}]") for i, a in enumerate(items)]
        self._maybe_build_from(arrays)
        self._require_built()
        inputs = self._input_tensors
        if len(arrays) != len(inputs):
            raise DataError(
                f"Model '{self.name}' has {len(inputs)} input(s) "
                f"({', '.join(t.name for t in inputs)}). Received: {len(arrays)} array(s)"
            )
        out = []
        for i, (a, t) in enumerate(zip(arrays, inputs)):
            expected = tuple(t.shape[1:])
            if a.shape[1:] != expected:
                raise DataError(self._shape_message(i, a.shape, expected, name))
            out.append(np.ascontiguousarray(a, dtype=t.dtype))
        return out

    def _inputs_from_dict(self, x: dict[str, Any], name: str) -> list[Any]:
        """Arrays keyed by the names of the model's ``Input(name=...)``, in the model's input order."""
        self._require_built()
        names = [t.name for t in self._input_tensors]
        unknown = sorted(set(x) - set(names))
        missing = [n for n in names if n not in x]
        if unknown or missing:
            raise DataError(
                f"{name} is a dict, so its keys must be the model's input names {names}. "
                + (f"Unknown: {unknown}. " if unknown else "")
                + (f"Missing: {missing}." if missing else "")
            )
        return [x[n] for n in names]

    def _shape_message(self, i: int, got: tuple[int, ...], expected: tuple[int, ...], name: str) -> str:
        consumer = next((layer.name for layer, ins, _, _ in self._steps if i in ins), "?")
        if len(expected) == 1 and len(got) == 2:
            msg = f"layer '{consumer}' expects {expected[0]} features, got {got[1]} ({name} has shape {got})"
        else:
            msg = (
                f"layer '{consumer}' expects inputs of shape {(None, *expected)}, "
                f"got {(None, *got[1:])} ({name} has shape {got})"
            )
        if int(np.prod(got[1:])) == int(np.prod(expected)) and len(expected) == 1:
            msg += f". Flatten {name} first ({name}.reshape(len({name}), -1)) or start the model with a Flatten layer"
        return msg

    def _prepare_targets(self, y: Any, n_out: tuple[Any, ...] | None = None, name: str = "y") -> Any:
        """``y`` checked against the output and the loss (``n_out``: the output shape, batch first); a
        :class:`MultiTargets` for a model with several outputs."""
        if self.loss is None:
            raise NotBuiltError(f"Model '{self.name}' has no loss: call model.compile(loss=...) first.")
        if self._multi_output:
            return self._prepare_multi_targets(y, name)
        if isinstance(y, dict) and self.built:
            y = split_targets(y, self.output_names, name)[0]
        out = self._output_tensors[0]
        shape = n_out if n_out is not None else (None, *out.shape[1:])
        return prepare_targets(y, self.loss, self._output_layer(), shape, out.dtype, name)

    def _prepare_multi_targets(self, y: Any, name: str) -> MultiTargets:
        heads, names = self._heads, self.output_names
        assert heads is not None  # compile made them: a multi-output model always has heads
        parts = []
        for i, (yi, t) in enumerate(zip(split_targets(y, names, name), self._output_tensors)):
            shape, label, loss = (None, *t.shape[1:]), f"{name}[{names[i]!r}]", heads.losses[i]
            if loss is None:
                parts.append(prepare_plain_targets(yi, shape, t.dtype, label))
            else:
                parts.append(prepare_targets(yi, loss, self._output_layer(i), shape, t.dtype, label))
        return MultiTargets(parts, names)

    def _sample_weights(self, sample_weight: Any, n: int, dtype: Any, name: str = "sample_weight") -> Any:
        if self._multi_output and isinstance(sample_weight, (list, tuple, dict)):
            raise InvalidArgumentError(
                f"{name}: nnrun takes one sample weight per sample, applied to every output; per-output sample "
                f"weights are not supported. Received: a {type(sample_weight).__name__}"
            )
        return sample_weights(sample_weight, n, dtype, name)

    def _flatten_logs(self, logs: dict[str, float]) -> Any:
        """``evaluate``'s and ``train_on_batch``'s list (a scalar when it would hold only the loss)."""
        if self._heads is not None:
            values = self._heads.ordered(logs)
        else:
            values = [logs["loss"]] + [logs[m.name] for m in self._metrics or []]
        return values[0] if len(values) == 1 else values

    def _build_metrics(self, raw_y_shape: tuple[int, ...], pred_shape: tuple[int, ...]) -> list[metrics_module.Metric]:
        if self._metrics is None:
            self._metrics = [metrics_module.get(m, raw_y_shape, pred_shape) for m in self._metric_ids]
        return self._metrics

    def metric_directions(self) -> dict[str, str]:
        """name → "max"/"min" for the compiled metrics (used by callbacks' mode="auto")."""
        if self._heads is not None:
            return self._heads.directions()
        if self._metrics is not None:
            return {m.name: m.direction for m in self._metrics}
        out = {}
        for m in self._metric_ids:
            if isinstance(m, metrics_module.Metric):
                out[m.name] = m.direction
            elif m.lower() in metrics_module.ACCURACY_NAMES:
                out[m] = "max"
            else:
                out[m] = metrics_module.METRICS.get(m).direction
        return out

    # -- regularization (issue 10): Keras adds every layer's penalty to the loss it trains on and reports ------

    @property
    def losses(self) -> list[Any]:
        """The regularization penalties of every layer, as Keras's ``model.losses`` (summed into the loss)."""
        return [value for layer in self.layers for value in getattr(layer, "losses", None) or []]

    def _callbacks(self, callbacks: list[Callback] | None, verbose: int, params: dict[str, Any]) -> CallbackList:
        cbs = list(callbacks or [])
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise InvalidArgumentError(f"callbacks must be Callback instances. Received: {cb!r}")
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
            cbs.append(ProgbarLogger(verbose))
        return CallbackList(cbs, self, {**params, "verbose": verbose})

    # -- fit -------------------------------------------------------------------------------------------

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: str | int = "auto",
        callbacks: list[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
        seed: Seed = None,
    ) -> History:
        """Train for ``epochs`` epochs; returns a ``History``. ``seed`` fixes the shuffling (an int or a
        ``np.random.Generator``); otherwise nnrun's default generator is used."""
        self._require_compiled()
        if steps_per_epoch is not None:
            raise InvalidArgumentError("steps_per_epoch is not supported for arrays: every epoch covers all samples.")
        if y is None:
            raise InvalidArgumentError("fit needs targets: fit(x, y, ...). Received: y=None")
        batch_size = _check_positive_int("batch_size", 32 if batch_size is None else batch_size)
        epochs = _check_positive_int("epochs", epochs, allow_zero=True)
        initial_epoch = _check_positive_int("initial_epoch", initial_epoch, allow_zero=True)
        validation_freq = _check_positive_int("validation_freq", validation_freq)
        verbose = _verbosity(verbose)
        xs = self._prepare_inputs(x)
        targets = self._prepare_targets(y)
        sw = self._sample_weights(sample_weight, len(targets), xs[0].dtype)
        if class_weight is not None:
            if isinstance(targets, MultiTargets):
                raise InvalidArgumentError("`class_weight` is only supported for Models with a single output.")
            sw = apply_class_weight(class_weight, targets, sw, xs[0].dtype)
        n = check_lengths(
            {"x": xs[0], **targets.named("y"), **{f"x[{i}]": a for i, a in enumerate(xs[1:], 1)}, "sample_weight": sw}
        )
        val: Validation | None = None
        if validation_data is not None:
            val = self._unpack_validation(validation_data)
        elif validation_split:
            at = split_at(n, validation_split)
            val = ([a[at:] for a in xs], targets.rows(at), None if sw is None else sw[at:])
            xs = [a[:at] for a in xs]
            targets = targets.rows(None, at)
            sw = None if sw is None else sw[:at]
            n = at
        steps = -(-n // batch_size)
        rng = make_rng(seed) if shuffle else None
        history = History()
        cb_list = self._callbacks([*(callbacks or []), history], verbose, {"epochs": epochs, "steps": steps})
        self._ensure_flat()
        self.stop_training = False
        self.history = history
        loop = EpochLoop(self, xs, targets, sw, batch_size, rng, shuffle, cb_list)
        self._initial_epoch = None
        cb_list.on_train_begin({})
        if self._initial_epoch is not None:
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        logs: dict[str, float] = {}
        with np.errstate(all="ignore"):
            for epoch in range(initial_epoch, epochs):
                cb_list.on_epoch_begin(epoch, {})
                logs = loop.run_epoch()
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._test_loop(*val, validation_batch_size or batch_size, cb_list)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                logs = dict(sorted(logs.items()))
                cb_list.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        cb_list.on_train_end(logs)
        return history

    def _unpack_validation(self, data: Any) -> Validation:
        if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
            raise InvalidArgumentError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val). "
                f"Received: {type(data).__name__}"
            )
        xs = self._prepare_inputs(data[0], "validation_data x")
        targets = self._prepare_targets(data[1], name="validation_data y")
        sw = None
        if len(data) == 3 and data[2] is not None:
            sw = self._sample_weights(data[2], len(targets), xs[0].dtype, "validation_data sample_weight")
        check_lengths({"validation_data x": xs[0], **targets.named("validation_data y")})
        return xs, targets, sw

    def _test_loop(
        self, xs: list[np.ndarray], targets: Any, sw: np.ndarray | None, batch_size: int, cbs: CallbackList
    ) -> dict[str, float]:
        """One evaluation pass with the ``on_test_*`` hooks (``evaluate``, and validation inside ``fit``)."""
        cbs.on_test_begin({})
        logs = evaluate_batches(self, xs, targets, sw, batch_size, cbs)
        cbs.on_test_end(logs)
        return logs

    # -- evaluate / predict ---------------------------------------------------------------------------

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list[Callback] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """Loss and metrics in inference mode: ``[loss, *metrics]``, a scalar loss, or a dict."""
        self._require_compiled()
        if y is None:
            raise InvalidArgumentError("evaluate needs targets: evaluate(x, y). Received: y=None")
        if steps is not None:
            raise InvalidArgumentError("steps is not supported for arrays: evaluate covers all samples.")
        batch_size = _check_positive_int("batch_size", 32 if batch_size is None else batch_size)
        verbose = _verbosity(verbose)
        xs = self._prepare_inputs(x)
        targets = self._prepare_targets(y)
        sw = self._sample_weights(sample_weight, len(targets), xs[0].dtype)
        n = check_lengths({"x": xs[0], **targets.named("y")})
        cbs = self._callbacks(callbacks, verbose, {"epochs": 1, "steps": -(-n // batch_size)})
        with np.errstate(all="ignore"):
            logs = self._test_loop(xs, targets, sw, batch_size, cbs)
        if return_dict:
            return logs
        return self._flatten_logs(logs)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        steps: int | None = None,
        callbacks: list[Callback] | None = None,
    ) -> Any:
        """Outputs for ``x`` in inference mode, computed in batches of ``batch_size`` (default 32), with a
        progress bar unless ``verbose=0`` (as Keras); a list (or dict) of arrays for several outputs."""
        if steps is not None:
            raise InvalidArgumentError("steps is not supported for arrays: predict covers all samples.")
        batch_size = _check_positive_int("batch_size", 32 if batch_size is None else batch_size)
        verbose = _verbosity(verbose)
        xs = self._prepare_inputs(x)
        n = check_lengths({"x": xs[0], **{f"x[{i}]": a for i, a in enumerate(xs[1:], 1)}})
        outs = [np.empty((n, *t.shape[1:]), t.dtype) for t in self._output_tensors]
        out: Any = outs if self._multi_output else outs[0]
        cbs = self._callbacks(callbacks, verbose, {"epochs": 1, "steps": -(-n // batch_size)})
        cbs.on_predict_begin({})
        with np.errstate(all="ignore"):
            predict_batches(self, xs, out, batch_size, cbs)
        cbs.on_predict_end({})
        return self._structure(outs)

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Outputs for one batch (no batching, no progress bar)."""
        return self.predict(x, batch_size=max(1, len(self._prepare_inputs(x)[0])), verbose=0)

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the batch's loss (and metrics)."""
        self._require_compiled()
        xs = self._prepare_inputs(x)
        targets = self._prepare_targets(y)
        sw = self._sample_weights(sample_weight, len(targets), xs[0].dtype)
        self._ensure_flat()
        loop = EpochLoop(self, xs, targets, sw, len(targets), None, False, None)
        with np.errstate(all="ignore"):
            logs = loop.run_epoch()
        if return_dict:
            return logs
        return self._flatten_logs(logs)

    def test_on_batch(self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) of one batch in inference mode."""
        n = len(self._prepare_inputs(x)[0])
        return self.evaluate(
            x, y, batch_size=max(1, n), verbose=0, sample_weight=sample_weight, return_dict=return_dict
        )


def _check_positive_int(name: str, value: Any, allow_zero: bool = False) -> int:
    ok = (
        isinstance(value, (int, np.integer))
        and not isinstance(value, bool)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        raise InvalidArgumentError(
            f"{name} must be a {'non-negative' if allow_zero else 'positive'} integer. Received: {name}={value!r}"
        )
    return int(value)


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise InvalidArgumentError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


__all__ = ["Trainer"]
