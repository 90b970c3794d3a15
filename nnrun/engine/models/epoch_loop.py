"""The loops over batches: one training epoch, one evaluation pass, one prediction pass.

Per training step: forward in training mode, the loss (``Σ values·w / n``) and its gradient, the metrics on
the pre-update predictions, backward, one optimizer step. The epoch ``loss`` is the batch-size-weighted mean
of the batch losses, each metric a mean over samples. Batch callbacks receive the running means, as in Keras.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nnrun.engine.callbacks.callback import CallbackList
    from nnrun.engine.models.targets import Targets
    from nnrun.engine.models.trainer import Trainer

Batch = tuple[list[np.ndarray], np.ndarray, np.ndarray, "np.ndarray | None"]


class EpochLoop:
    """The inner loop of ``fit``: batches, steps, running means, batch callbacks."""

    #: data up to this size is permuted once per epoch (then batches are slices); larger data is
    #: gathered batch by batch, which keeps each batch hot in the cache for its matmuls
    PERMUTE_WHOLE_BYTES = 64 * 2**20

    def __init__(
        self,
        model: Trainer,
        xs: list[np.ndarray],
        targets: Targets,
        sw: np.ndarray | None,
        batch_size: int,
        rng: np.random.Generator | None,
        shuffle: bool,
        callbacks: CallbackList | None,
    ):
        self.model, self.xs, self.targets, self.sw = model, xs, targets, sw
        self.n = len(targets)
        self.batch_size, self.rng, self.shuffle, self.callbacks = batch_size, rng, shuffle, callbacks
        self.dtype = xs[0].dtype.type
        self._bufs: dict[tuple[int, int], np.ndarray] = {}
        parts = getattr(targets, "parts", [targets])
        arrays = [*xs, *(a for t in parts for a in (t.loss, t.metric))]
        self._permute_whole = sum(a.nbytes for a in arrays) <= self.PERMUTE_WHOLE_BYTES

    def _gather(self, key: int, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``a[idx]`` into a buffer reused for every call with the same key and length."""
        buf = self._bufs.get((key, len(idx)))
        if buf is None:
            buf = self._bufs[(key, len(idx))] = np.empty((len(idx), *a.shape[1:]), a.dtype)
        return np.take(a, idx, axis=0, out=buf, mode="clip")  # "clip" skips the slow bounds-checked path

    def _batches(self) -> Iterator[Batch]:
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
        if self.model._heads is not None:
            return self._run_epoch_heads()
        model, dtype = self.model, self.dtype
        loss, optimizer, fused = model.loss, model.optimizer, model._fused
        forward, backward, step_fn = model._run_forward, model._run_backward, optimizer.step
        value_and_grad = loss.value_and_grad
        reduce = np.add.reduce
        cbs = self.callbacks
        batch_begin = cbs.batch_begin if cbs else []
        batch_end = cbs.batch_end if cbs else []
        metrics = model._metrics
        for m in metrics or []:
            m.reset_state()
        total, count = dtype(0), dtype(0)
        regularized = [layer for layer in model.layers if getattr(layer, "regularized", False)]
        for step, (xb, yb, ymb, swb) in enumerate(self._batches()):
            for cb in batch_begin:
                cb.on_train_batch_begin(step, {})
            p = forward(xb, True)
            if metrics is None:
                metrics = model._build_metrics(self.targets.raw_shape, p.shape)
            n = len(p)
            b = dtype(n)
            # the loss of this batch: the one place it is computed (Σ values·w / n)
            if swb is None:
                values, grad = value_and_grad(yb, p, 1.0 / n, fused)
                batch_loss = reduce(values) / b
            else:
                values, grad = value_and_grad(yb, p, (swb / b)[:, None], fused)
                batch_loss = reduce(values * swb) / b
            if regularized:  # Keras's loss includes the regularization penalties (their gradients: in backward)
                batch_loss += dtype(sum(v for layer in regularized for v in layer.losses))
            total += batch_loss * b
            count += b
            for m in metrics:
                m.update_state(ymb, p)
            backward(grad)
            step_fn()
            if batch_end:
                logs = {"loss": float(total / count), **{m.name: float(m.result()) for m in metrics}}
                for cb in batch_end:
                    cb.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        logs = {"loss": float(total / count)}
        logs.update({m.name: float(m.result()) for m in metrics or []})
        return logs

    # -- several outputs, or a weighted loss (outputs.py): per-output losses and metrics -----------------------

    def _batches_heads(self) -> Iterator[tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], Any]]:
        """(x list, y list for the losses, y list for the metrics, sample weights) per batch."""
        parts = getattr(self.targets, "parts", [self.targets])
        n, bs, sw = self.n, self.batch_size, self.sw
        order = self.rng.permutation(n) if self.shuffle and self.rng is not None else None
        for start in range(0, n, bs):
            rows: Any = slice(start, start + bs) if order is None else order[start : start + bs]

            def take(a: np.ndarray, rows: Any = rows) -> np.ndarray:
                return a[rows] if isinstance(rows, slice) else np.take(a, rows, axis=0)

            yl = [take(t.loss) for t in parts]
            ym = [yl[k] if t.metric is t.loss else take(t.metric) for k, t in enumerate(parts)]
            yield [take(a) for a in self.xs], yl, ym, None if sw is None else take(sw)

    def _run_epoch_heads(self) -> dict[str, float]:
        model, dtype, heads = self.model, self.dtype, self.model._heads
        assert heads is not None
        listed = model._multi_output  # the model returns (and takes back) one array per output
        parts = getattr(self.targets, "parts", [self.targets])
        optimizer = model.optimizer
        cbs = self.callbacks
        batch_begin = cbs.batch_begin if cbs else []
        batch_end = cbs.batch_end if cbs else []
        for ms in heads.metrics or []:
            for m in ms:
                m.reset_state()
        total, count = dtype(0), dtype(0)
        out_totals = [dtype(0)] * len(heads.active)
        regularized = [layer for layer in model.layers if getattr(layer, "regularized", False)]
        for step, (xb, ybs, ymbs, swb) in enumerate(self._batches_heads()):
            for cb in batch_begin:
                cb.on_train_batch_begin(step, {})
            out = model._run_forward(xb, True)
            ps = out if listed else [out]
            metrics = heads.build_metrics([t.raw_shape for t in parts], [p.shape for p in ps])
            b = dtype(len(ps[0]))
            grads: list[Any] = [None] * len(ps)
            batch_loss = dtype(0)
            for k, i in enumerate(heads.active):
                loss, w = heads.losses[i], heads.weights[i]
                assert loss is not None
                # each output's loss: Σ values·w / n, as the single-output loop computes it; the total weighs them
                if swb is None:
                    values, grads[i] = loss.value_and_grad(ybs[i], ps[i], w / len(ps[i]), heads.fused[i])
                    li = np.add.reduce(values) / b
                else:
                    values, grads[i] = loss.value_and_grad(ybs[i], ps[i], (swb * dtype(w) / b)[:, None], heads.fused[i])
                    li = np.add.reduce(values * swb) / b
                out_totals[k] += li * b
                batch_loss += dtype(w) * li
            if regularized:
                batch_loss += dtype(sum(v for layer in regularized for v in layer.losses))
            total += batch_loss * b
            count += b
            for i, ms in enumerate(metrics):
                for m in ms:
                    m.update_state(ymbs[i], ps[i])
            model._run_backward(grads if listed else grads[0])
            optimizer.step()
            if batch_end:
                logs = _heads_logs(heads, total, count, out_totals)
                for cb in batch_end:
                    cb.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        return _heads_logs(heads, total, count, out_totals)


def _heads_logs(heads: Any, total: Any, count: Any, out_totals: list[Any]) -> dict[str, float]:
    logs = {"loss": float(total / count)}
    logs.update({key: float(t / count) for key, t in zip(heads.loss_keys, out_totals)})
    logs.update(heads.metric_logs())
    return dict(sorted(logs.items()))  # Keras's order


def _evaluate_heads(
    model: Trainer, xs: list[np.ndarray], targets: Any, sw: np.ndarray | None, batch_size: int, callbacks: Any
) -> dict[str, float]:
    """``evaluate_batches`` for several outputs (or a weighted loss)."""
    heads = model._heads
    assert heads is not None
    listed = model._multi_output
    parts = getattr(targets, "parts", [targets])
    n, dtype = len(targets), xs[0].dtype.type
    total, count = dtype(0), dtype(0)
    out_totals = [dtype(0)] * len(heads.active)
    batch_begin = callbacks.test_batch_begin if callbacks else []
    batch_end = callbacks.test_batch_end if callbacks else []
    regularized = any(getattr(la, "regularized", False) for la in model.layers)
    reset = False
    for step, start in enumerate(range(0, n, batch_size)):
        for cb in batch_begin:
            cb.on_test_batch_begin(step, {})
        end = min(start + batch_size, n)
        out = model._run_forward([a[start:end] for a in xs], False)
        ps = out if listed else [out]
        metrics = heads.build_metrics([t.raw_shape for t in parts], [p.shape for p in ps])
        if not reset:
            for ms in metrics:
                for m in ms:
                    m.reset_state()
            reset = True
        b = dtype(end - start)
        batch_loss = dtype(sum(model.losses)) if regularized else dtype(0)
        for k, i in enumerate(heads.active):
            loss = heads.losses[i]
            assert loss is not None
            values = loss.call(parts[i].loss[start:end], ps[i])
            if sw is not None:
                values = values * sw[start:end]
            li = values.sum() / b
            out_totals[k] += li * b
            batch_loss += dtype(heads.weights[i]) * li
        total += batch_loss * b
        count += b
        for i, ms in enumerate(metrics):
            for m in ms:
                m.update_state(parts[i].metric[start:end], ps[i])
        if batch_end:
            logs = _heads_logs(heads, total, count, out_totals)
            for cb in batch_end:
                cb.on_test_batch_end(step, logs)
    return _heads_logs(heads, total, count, out_totals)


def evaluate_batches(
    model: Trainer,
    xs: list[np.ndarray],
    targets: Targets,
    sw: np.ndarray | None,
    batch_size: int,
    callbacks: CallbackList | None = None,
) -> dict[str, float]:
    """Loss and metrics over ``xs`` in inference mode (the logs of ``evaluate`` and of validation)."""
    if model._heads is not None:
        return _evaluate_heads(model, xs, targets, sw, batch_size, callbacks)
    loss = model.loss
    n = len(targets.loss)
    dtype = xs[0].dtype.type
    total, count = dtype(0), dtype(0)
    metrics: list[Any] | None = None
    batch_begin = callbacks.test_batch_begin if callbacks else []
    batch_end = callbacks.test_batch_end if callbacks else []
    for step, start in enumerate(range(0, n, batch_size)):
        for cb in batch_begin:
            cb.on_test_batch_begin(step, {})
        end = min(start + batch_size, n)
        p = model._run_forward([a[start:end] for a in xs], False)
        if metrics is None:
            metrics = model._build_metrics(targets.raw_shape, p.shape)
            for m in metrics:
                m.reset_state()
        values = loss.call(targets.loss[start:end], p)
        if sw is not None:
            values = values * sw[start:end]
        b = dtype(end - start)
        penalty = sum(model.losses) if any(getattr(la, "regularized", False) for la in model.layers) else 0
        total += (values.sum() / b + dtype(penalty)) * b  # Keras's loss includes the regularization penalties
        count += b
        for m in metrics:
            m.update_state(targets.metric[start:end], p)
        if batch_end:
            logs = {"loss": float(total / count), **{m.name: float(m.result()) for m in metrics}}
            for cb in batch_end:
                cb.on_test_batch_end(step, logs)
    logs = {"loss": float(total / count)}
    logs.update({m.name: float(m.result()) for m in metrics or []})
    return logs


def predict_batches(
    model: Trainer, xs: list[np.ndarray], out: Any, batch_size: int, callbacks: CallbackList | None = None
) -> Any:
    """Fill ``out`` (a list of arrays for several outputs) with the outputs for ``xs`` in inference mode."""
    if isinstance(out, list):
        return _predict_listed(model, xs, out, batch_size, callbacks)
    n = len(out)
    batch_begin = callbacks.predict_batch_begin if callbacks else []
    batch_end = callbacks.predict_batch_end if callbacks else []
    for step, start in enumerate(range(0, n, batch_size)):
        for cb in batch_begin:
            cb.on_predict_batch_begin(step, {})
        end = min(start + batch_size, n)
        out[start:end] = model._run_forward([a[start:end] for a in xs], False)
        for cb in batch_end:
            cb.on_predict_batch_end(step, {"outputs": out[start:end]})
    return out


def _predict_listed(
    model: Trainer, xs: list[np.ndarray], outs: list[np.ndarray], batch_size: int, callbacks: CallbackList | None
) -> list[np.ndarray]:
    n = len(outs[0])
    batch_begin = callbacks.predict_batch_begin if callbacks else []
    batch_end = callbacks.predict_batch_end if callbacks else []
    for step, start in enumerate(range(0, n, batch_size)):
        for cb in batch_begin:
            cb.on_predict_batch_begin(step, {})
        end = min(start + batch_size, n)
        for out, p in zip(outs, model._run_forward([a[start:end] for a in xs], False)):
            out[start:end] = p
        for cb in batch_end:
            cb.on_predict_batch_end(step, {"outputs": [out[start:end] for out in outs]})
    return outs
