"""compile / fit / evaluate / predict with Keras's bookkeeping.

Per step: forward in training mode, the loss (``Σ values·w / n``) and its gradient, the metrics on the
pre-update predictions, backward, one optimizer step. The epoch ``loss`` is the batch-size-weighted
mean of the batch losses, each metric a mean over samples; validation runs on the end-of-epoch weights.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.engine import losses as losses_module
from nnrun.engine import metrics as metrics_module
from nnrun.engine import optimizers as optimizers_module
from nnrun.engine.callbacks import CallbackList, History, ProgbarLogger
from nnrun.engine.callbacks.callback import Callback
from nnrun.engine.data_adapter import check_lengths, split_at, to_numeric
from nnrun.engine.random import Seed, make_rng
from nnrun.errors import DataError, InvalidArgumentError, NotBuiltError

if TYPE_CHECKING:
    from nnrun.engine.layers.layer import Layer
    from nnrun.engine.variable import Variable

_COMPILE_ARGS = ("optimizer", "loss", "metrics")


class _Targets:
    """The targets of one fit/evaluate call, prepared once: for the loss and for the metrics."""

    def __init__(self, loss: np.ndarray, metric: np.ndarray, raw_shape: tuple[int, ...]) -> None:
        self.loss, self.metric, self.raw_shape = loss, metric, raw_shape

    def rows(self, start: int, stop: int | None = None) -> _Targets:
        """The targets of rows [start, stop) (the same array serves both roles when it did before)."""
        loss = self.loss[start:stop]
        return _Targets(loss, loss if self.metric is self.loss else self.metric[start:stop], self.raw_shape)


class Trainer:
    """The training half of ``Model``."""

    def __init__(self) -> None:
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.compiled = False
        self.stop_training = False
        self.history: History | None = None
        self._metric_ids: list[Any] = []
        self._metrics: list[metrics_module.Metric] | None = None
        self._flat_vars: list[Variable] | None = None
        self._fused = False

    # -- compile ---------------------------------------------------------------------------------------

    def compile(
        self, optimizer: Any = "rmsprop", loss: Any = None, metrics: list[Any] | None = None, **kwargs: Any
    ) -> None:
        """Choose the optimizer, loss and metrics (names or objects), as ``keras.Model.compile``."""
        if kwargs:
            raise InvalidArgumentError(
                f"compile: argument(s) not recognized: {kwargs!r}. nnrun's compile takes {', '.join(_COMPILE_ARGS)}."
            )
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise InvalidArgumentError(f"compile: metrics must be a list. Received: metrics={metrics!r}")
        for m in metrics or []:
            metrics_module.check_identifier(m)
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        self._metric_ids = list(metrics or [])
        self._metrics = None
        self._flat_vars = None
        self.compiled = True
        if self.built:
            self._plan_gradients()  # type: ignore[attr-defined]
            self._setup_fusion()

    def _require_compiled(self) -> None:
        if not self.compiled:
            raise NotBuiltError(
                f"Model '{self.name}' must be compiled before training or evaluating: "  # type: ignore[attr-defined]
                "call model.compile(optimizer=..., loss=..., metrics=[...]) first."
            )

    def _on_graph_changed(self) -> None:
        self._flat_vars = None
        self._metrics = None
        if self.compiled:
            self._plan_gradients()  # type: ignore[attr-defined]
            self._setup_fusion()

    def _output_layer(self) -> Layer:
        return next(layer for layer, _, out, _ in self._steps if out == self._out_slot)  # type: ignore[attr-defined]

    def _setup_fusion(self) -> None:
        """Let a softmax/sigmoid output layer hand its gradient straight to the matching cross-entropy."""
        for layer in self.layers:  # type: ignore[attr-defined]
            if hasattr(layer, "fused_activation_grad"):
                layer.fused_activation_grad = False
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

    def _ensure_flat(self) -> None:
        """Put every trainable weight (and its gradient) in one flat buffer shared with the optimizer."""
        variables = self.trainable_weights  # type: ignore[attr-defined]
        if self._flat_vars is not None and [id(v) for v in variables] == [id(v) for v in self._flat_vars]:
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
        self._flat_vars = variables
        if variables:
            self.optimizer.build(variables, flat=(w, g))  # type: ignore[union-attr]

    # -- data ----------------------------------------------------------------------------------------

    def _maybe_build_from(self, xs: list[np.ndarray]) -> None:
        """Sequential overrides this to build from the first data it sees."""

    def _prepare_inputs(self, x: Any, name: str = "x") -> list[np.ndarray]:
        if x is None:
            raise InvalidArgumentError(f"{name} is required. Received: {name}=None")
        n_inputs = len(self._input_tensors) if self.built else 1  # type: ignore[attr-defined]
        items = list(x) if n_inputs > 1 and isinstance(x, (list, tuple)) else [x]
        arrays = [to_numeric(a, name if len(items) == 1 else f"{name}[{i}]") for i, a in enumerate(items)]
        self._maybe_build_from(arrays)
        self._require_built()  # type: ignore[attr-defined]
        inputs = self._input_tensors  # type: ignore[attr-defined]
        if len(arrays) != len(inputs):
            raise DataError(
                f"Model '{self.name}' has {len(inputs)} input(s) "  # type: ignore[attr-defined]
                f"({', '.join(t.name for t in inputs)}). Received: {len(arrays)} array(s)"
            )
        out = []
        for i, (a, t) in enumerate(zip(arrays, inputs)):
            expected = tuple(t.shape[1:])
            if a.shape[1:] != expected:
                raise DataError(self._shape_message(i, a.shape, expected, name))
            out.append(np.ascontiguousarray(a, dtype=t.dtype))
        return out

    def _shape_message(self, i: int, got: tuple[int, ...], expected: tuple[int, ...], name: str) -> str:
        consumer = next((layer.name for layer, ins, _, _ in self._steps if i in ins), "?")  # type: ignore[attr-defined]
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

    def _prepare_targets(self, y: Any, n_out: tuple[int, ...], name: str = "y") -> _Targets:
        y = to_numeric(y, name)
        loss = self.loss
        out_layer = self._output_layer()
        units = n_out[-1]
        dtype = self._output_tensor.dtype  # type: ignore[attr-defined]
        integral = (
            np.issubdtype(y.dtype, np.integer)
            or np.issubdtype(y.dtype, np.bool_)
            or (y.size > 0 and np.array_equal(y, np.round(y)))
        )
        if loss.sparse:  # type: ignore[union-attr]
            if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
                raise DataError(
                    f"{loss.name} expects integer class labels of shape (n,) or (n, 1). Received: {name} with "  # type: ignore[union-attr]
                    f"shape {y.shape}. For one-hot targets use loss='categorical_crossentropy'."
                )
            if not integral:
                raise DataError(
                    f"{loss.name} expects integer class labels; {name} has non-integer values "  # type: ignore[union-attr]
                    f"(for example {y.flat[int(np.argmax(y != np.round(y)))]})."
                )
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= units:
                bad = lo if lo < 0 else hi
                raise DataError(
                    f"{name} contains the label {bad}, outside the output's classes: layer '{out_layer.name}' has "
                    f"{units} units, so labels must be in [0, {units - 1}]. Give the output layer as many units as "
                    "there are classes."
                )
        else:
            squeezed = y.reshape(len(y), -1) if y.ndim > 1 else y.reshape(len(y), 1)
            if squeezed.shape[1] != units:
                if y.ndim == 1 and integral and units > 1 and loss.fused_activation == "softmax":  # type: ignore[union-attr]
                    raise DataError(
                        f"{loss.name} expects one-hot targets of shape (n, {units}), but {name} has shape {y.shape} "  # type: ignore[union-attr]
                        "with integer class labels. Use loss='sparse_categorical_crossentropy', or one-hot encode "
                        f"{name}."
                    )
                raise DataError(
                    f"{name} has shape {y.shape}, which does not match the model's output shape "
                    f"{(None, *n_out[1:])} from layer '{out_layer.name}' (loss {loss.name})."  # type: ignore[union-attr]
                )
            if isinstance(loss, losses_module.BinaryCrossentropy) and integral and y.size and y.max() > 1:
                k = int(y.max()) + 1
                warnings.warn(
                    f"binary_crossentropy is being used with integer labels 0..{k - 1} ({k} classes); it treats "
                    "every label above 1 as a probability, so the model cannot learn the classes. For "
                    f"{k} classes use an output Dense({k}, activation='softmax') with "
                    "loss='sparse_categorical_crossentropy'.",
                    UserWarning,
                    stacklevel=4,
                )
        shape = (len(y), *n_out[1:])
        y_loss = np.ascontiguousarray(loss.prepare_targets(y, shape, dtype))  # type: ignore[union-attr]
        if not loss.sparse:  # type: ignore[union-attr]
            return _Targets(y_loss, y_loss, y.shape)
        y_metric = losses_module.Loss.prepare_targets(loss, y, shape, dtype)  # type: ignore[arg-type]
        return _Targets(y_loss, np.ascontiguousarray(y_metric), y.shape)

    def _build_metrics(self, raw_y_shape: tuple[int, ...], pred_shape: tuple[int, ...]) -> None:
        if self._metrics is None:
            self._metrics = [metrics_module.get(m, raw_y_shape, pred_shape) for m in self._metric_ids]

    def metric_directions(self) -> dict[str, str]:
        """name → "up"/"down" for the compiled metrics (used by callbacks' mode="auto")."""
        if self._metrics is not None:
            return {m.name: m.direction for m in self._metrics}
        out = {}
        for m in self._metric_ids:
            if isinstance(m, metrics_module.Metric):
                out[m.name] = m.direction
            elif m.lower() in metrics_module.ACCURACY_NAMES:
                out[m] = "up"
            else:
                out[m] = metrics_module.METRICS.get(m).direction
        return out

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
        validation_freq = _check_positive_int("validation_freq", validation_freq)
        verbose = _verbosity(verbose)
        xs = self._prepare_inputs(x)
        n_out = (None, *self._output_tensor.shape[1:])  # type: ignore[attr-defined]
        targets = self._prepare_targets(y, n_out)
        sw = None
        if sample_weight is not None:
            sw = losses_module.prepare_sample_weight(
                to_numeric(sample_weight, "sample_weight"), len(targets.loss), xs[0].dtype
            )
        if class_weight is not None:
            sw = _apply_class_weight(class_weight, targets, sw, xs[0].dtype)
        n = check_lengths(
            {"x": xs[0], "y": targets.loss, **{f"x[{i}]": a for i, a in enumerate(xs[1:], 1)}, "sample_weight": sw}
        )
        val = None
        if validation_data is not None:
            val = self._unpack_validation(validation_data)
        elif validation_split:
            at = split_at(n, validation_split)
            val = (
                [a[at:] for a in xs],
                _Targets(targets.loss[at:], targets.metric[at:], targets.raw_shape),
                None if sw is None else sw[at:],
            )
            xs = [a[:at] for a in xs]
            targets = _Targets(targets.loss[:at], targets.metric[:at], targets.raw_shape)
            sw = None if sw is None else sw[:at]
            n = at
        steps = -(-n // batch_size)
        rng = make_rng(seed) if shuffle else None
        history = History()
        cbs = list(callbacks or [])
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise InvalidArgumentError(f"callbacks must be Callback instances. Received: {cb!r}")
        cbs.append(history)
        if verbose:
            cbs.append(ProgbarLogger(verbose))
        cb_list = CallbackList(cbs, self, {"epochs": epochs, "steps": steps, "verbose": verbose})  # type: ignore[arg-type]
        self._ensure_flat()
        self.stop_training = False
        self.history = history
        loop = _EpochLoop(self, xs, targets, sw, batch_size, rng, shuffle, cb_list)
        cb_list.on_train_begin()
        logs: dict[str, float] = {}
        with np.errstate(all="ignore"):
            for epoch in range(initial_epoch, epochs):
                cb_list.on_epoch_begin(epoch)
                logs = loop.run_epoch()
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._evaluate_prepared(*val, validation_batch_size or batch_size)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                logs = dict(sorted(logs.items()))
                cb_list.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        cb_list.on_train_end(logs)
        return history

    def _unpack_validation(self, data: Any) -> tuple[list[np.ndarray], _Targets, np.ndarray | None]:
        if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
            raise InvalidArgumentError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val). "
                f"Received: {type(data).__name__}"
            )
        xs = self._prepare_inputs(data[0], "validation_data x")
        n_out = (None, *self._output_tensor.shape[1:])  # type: ignore[attr-defined]
        targets = self._prepare_targets(data[1], n_out, "validation_data y")
        sw = None
        if len(data) == 3 and data[2] is not None:
            sw = losses_module.prepare_sample_weight(data[2], len(targets.loss), xs[0].dtype)
        check_lengths({"validation_data x": xs[0], "validation_data y": targets.loss})
        return xs, targets, sw

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
        batch_size = _check_positive_int("batch_size", 32 if batch_size is None else batch_size)
        verbose = _verbosity(verbose)
        xs = self._prepare_inputs(x)
        n_out = (None, *self._output_tensor.shape[1:])  # type: ignore[attr-defined]
        targets = self._prepare_targets(y, n_out)
        sw = None
        if sample_weight is not None:
            sw = losses_module.prepare_sample_weight(sample_weight, len(targets.loss), xs[0].dtype)
        n = check_lengths({"x": xs[0], "y": targets.loss})
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            logs = self._evaluate_prepared(xs, targets, sw, batch_size)
        if verbose:
            steps_done = -(-n // batch_size)
            elapsed = time.perf_counter() - start
            from nnrun.engine.callbacks.progbar_logger import format_logs

            print(
                f"{steps_done}/{steps_done} ━━━━━━━━━━━━━━━━━━━━ {elapsed:.0f}s "
                f"{elapsed / steps_done * 1e3:.0f}ms/step - {format_logs(logs)}"
            )
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in self._metrics or []]
        return values[0] if len(values) == 1 else values

    def _evaluate_prepared(
        self, xs: list[np.ndarray], targets: _Targets, sw: np.ndarray | None, batch_size: int
    ) -> dict[str, float]:
        loss = self.loss
        n = len(targets.loss)
        dtype = xs[0].dtype.type
        total, count = dtype(0), dtype(0)
        metrics = None
        for start in range(0, n, batch_size):
            end = min(start + batch_size, n)
            p = self._run_forward([a[start:end] for a in xs], False)  # type: ignore[attr-defined]
            if metrics is None:
                self._build_metrics(targets.raw_shape, p.shape)
                metrics = self._metrics
                for m in metrics:  # type: ignore[union-attr]
                    m.reset_state()
            values = loss.call(targets.loss[start:end], p)  # type: ignore[union-attr]
            if sw is not None:
                values = values * sw[start:end]
            b = dtype(end - start)
            total += (values.sum() / b) * b
            count += b
            for m in metrics:  # type: ignore[union-attr]
                m.update_state(targets.metric[start:end], p)
        logs = {"loss": float(total / count)}
        logs.update({m.name: float(m.result()) for m in metrics or []})
        return logs

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        steps: int | None = None,
        callbacks: list[Callback] | None = None,
    ) -> np.ndarray:
        """Outputs for ``x`` in inference mode, computed in batches of ``batch_size`` (default 32)."""
        batch_size = _check_positive_int("batch_size", 32 if batch_size is None else batch_size)
        xs = self._prepare_inputs(x)
        n = check_lengths({"x": xs[0], **{f"x[{i}]": a for i, a in enumerate(xs[1:], 1)}})
        out = np.empty((n, *self._output_tensor.shape[1:]), self._output_tensor.dtype)  # type: ignore[attr-defined]
        with np.errstate(all="ignore"):
            for start in range(0, n, batch_size):
                end = min(start + batch_size, n)
                out[start:end] = self._run_forward([a[start:end] for a in xs], False)  # type: ignore[attr-defined]
        return out

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Outputs for one batch (no batching)."""
        return self.predict(x, batch_size=max(1, len(self._prepare_inputs(x)[0])))

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the batch's loss (and metrics)."""
        self._require_compiled()
        xs = self._prepare_inputs(x)
        n_out = (None, *self._output_tensor.shape[1:])  # type: ignore[attr-defined]
        targets = self._prepare_targets(y, n_out)
        sw = (
            None
            if sample_weight is None
            else losses_module.prepare_sample_weight(sample_weight, len(targets.loss), xs[0].dtype)
        )
        self._ensure_flat()
        loop = _EpochLoop(self, xs, targets, sw, len(targets.loss), None, False, None)
        with np.errstate(all="ignore"):
            logs = loop.run_epoch()
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in self._metrics or []]
        return values[0] if len(values) == 1 else values


class _EpochLoop:
    """The inner loop of ``fit``: batches, steps, running means, batch callbacks."""

    #: data up to this size is permuted once per epoch (then batches are slices); larger data is
    #: gathered batch by batch, which keeps each batch hot in the cache for its matmuls
    PERMUTE_WHOLE_BYTES = 64 * 2**20

    def __init__(
        self,
        model: Trainer,
        xs: list[np.ndarray],
        targets: _Targets,
        sw: np.ndarray | None,
        batch_size: int,
        rng: np.random.Generator | None,
        shuffle: bool,
        callbacks: CallbackList | None,
    ):
        self.model, self.xs, self.targets, self.sw = model, xs, targets, sw
        self.n = len(targets.loss)
        self.batch_size, self.rng, self.shuffle, self.callbacks = batch_size, rng, shuffle, callbacks
        self.dtype = xs[0].dtype.type
        self._bufs: dict[tuple[int, int], np.ndarray] = {}
        arrays = [*xs, targets.loss, targets.metric]
        self._permute_whole = sum(a.nbytes for a in arrays) <= self.PERMUTE_WHOLE_BYTES

    def _gather(self, key: int, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``a[idx]`` into a buffer reused for every call with the same key and length."""
        buf = self._bufs.get((key, len(idx)))
        if buf is None:
            buf = self._bufs[(key, len(idx))] = np.empty((len(idx), *a.shape[1:]), a.dtype)
        return np.take(a, idx, axis=0, out=buf, mode="clip")  # "clip" skips the slow bounds-checked path

    def _batches(self):
        """(x list, y for the loss, y for the metrics, sample weights) per batch, in this epoch's order."""
        n, bs = self.n, self.batch_size
        xs, y_loss, y_metric, sw = self.xs, self.targets.loss, self.targets.metric, self.sw
        same = y_metric is y_loss
        order = self.rng.permutation(n) if self.shuffle and self.rng is not None else None
        if order is not None and self._permute_whole:
            xs = [self._gather(i, a, order) for i, a in enumerate(xs)]
            y_loss = self._gather(-1, y_loss, order)
            y_metric = y_loss if same else self._gather(-2, y_metric, order)
            sw = None if sw is None else sw[order]
            order = None
        for start in range(0, n, bs):
            end = start + bs
            if order is None:
                yb = y_loss[start:end]
                yield (
                    [a[start:end] for a in xs],
                    yb,
                    yb if same else y_metric[start:end],
                    None if sw is None else sw[start:end],
                )
            else:
                idx = order[start:end]
                yb = self._gather(-1, y_loss, idx)
                yield (
                    [self._gather(i, a, idx) for i, a in enumerate(xs)],
                    yb,
                    yb if same else self._gather(-2, y_metric, idx),
                    None if sw is None else sw[idx],
                )

    def run_epoch(self) -> dict[str, float]:
        model, dtype = self.model, self.dtype
        loss, optimizer, fused = model.loss, model.optimizer, model._fused
        forward, backward, step_fn = model._run_forward, model._run_backward, optimizer.step  # type: ignore[union-attr,attr-defined]
        value_and_grad = loss.value_and_grad  # type: ignore[union-attr]
        reduce = np.add.reduce
        cbs = self.callbacks
        batch_begin = cbs.batch_begin if cbs else []
        batch_end = cbs.batch_end if cbs else []
        metrics = model._metrics
        for m in metrics or []:
            m.reset_state()
        total, count = dtype(0), dtype(0)
        for step, (xb, yb, ymb, swb) in enumerate(self._batches()):
            for cb in batch_begin:
                cb.on_train_batch_begin(step)
            p = forward(xb, True)
            if metrics is None:
                model._build_metrics(self.targets.raw_shape, p.shape)
                metrics = model._metrics
            n = len(p)
            b = dtype(n)
            if swb is None:
                values, grad = value_and_grad(yb, p, 1.0 / n, fused)
                batch_loss = reduce(values) / b
            else:
                values, grad = value_and_grad(yb, p, (swb / b)[:, None], fused)
                batch_loss = reduce(values * swb) / b
            total += batch_loss * b
            count += b
            for m in metrics:  # type: ignore[union-attr]
                m.update_state(ymb, p)
            backward(grad)
            step_fn()
            if batch_end:
                logs = {"loss": float(total / count), **{m.name: float(m.result()) for m in metrics}}  # type: ignore[union-attr]
                for cb in batch_end:
                    cb.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        logs = {"loss": float(total / count)}
        logs.update({m.name: float(m.result()) for m in metrics or []})
        return logs


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


def _apply_class_weight(
    class_weight: dict[int, float], targets: _Targets, sw: np.ndarray | None, dtype: Any
) -> np.ndarray:
    y = targets.metric
    classes = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y)).round().astype(int)
    missing = sorted(set(np.unique(classes).tolist()) - set(class_weight))
    if missing:
        raise InvalidArgumentError(f"class_weight has no weight for class(es) {missing}. Received: {class_weight!r}")
    w = np.array([class_weight[int(c)] for c in classes], dtype)
    return w if sw is None else w * sw
