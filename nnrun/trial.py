"""``run_trial``: one experiment, from a prepared config to a result. Writes nothing, prints nothing.

A trial can run in the CLI's process, a process pool or a Ray worker: it takes a picklable
:class:`~nnrun.experiment.Experiment` and returns a picklable :class:`TrialResult`. Progress goes to an
optional observer; a ``should_stop`` callable (e.g. set by Ctrl-C) ends training after the current batch.
"""

from __future__ import annotations

import math
import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from nnrun import __version__
from nnrun.config.build import build_callbacks, build_compile_arguments, build_model, seeds
from nnrun.engine.callbacks import Callback, EarlyStopping
from nnrun.engine.models.training_state import TrainingCheckpoint, capture_training_state, restore_training_state
from nnrun.evaluation import ClassReport, predicted_classes
from nnrun.experiment import Experiment
from nnrun.results import NOT_METRICS, direction
from nnrun.results.chance import at_chance


class TrainingObserver(Protocol):
    """What a display needs to follow training (all methods optional in practice)."""

    def on_model(self, summary: str) -> None: ...
    def on_train_begin(self, epochs: int, steps: int) -> None: ...
    def on_epoch_begin(self, epoch: int) -> None: ...
    def on_batch_end(self, step: int, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    # optional: when the observer has it, the state after each complete epoch (to resume the run exactly)
    def on_checkpoint(self, checkpoint: TrainingCheckpoint) -> None: ...
    # optional: asked after each epoch but the last (epochs from 1); True stops training there, as "pruned"
    def should_prune(self, epoch: int) -> bool: ...


@dataclass
class TrialResult:
    """Everything a run folder records, as plain data."""

    status: str
    stop_reason: str
    history: dict[str, list[float]] = field(default_factory=dict)
    epoch_times: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    summary: str = ""
    duration: float = 0.0
    error: str | None = None
    traceback: str | None = None
    plots: dict[str, bytes] = field(default_factory=dict)  # pre-rendered plot files (a sweep's workers fill it)
    # where a sweep ran it: {"hostname", "pid", "node_id" (Ray only, else None)}; also in metrics["ran_on"]
    ran_on: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] | None = None  # preprocessing.json: how new data must be prepared
    test_classes: ClassReport | None = None  # a classifier's test set, class by class (confusion matrix)


class _Watch(Callback):
    """Epoch times and learning rates, divergence, external stop requests, and the observer."""

    def __init__(self, observer: TrainingObserver | None, should_stop: Callable[[], bool] | None) -> None:
        super().__init__()
        self.observer, self.should_stop = observer, should_stop
        self.epoch_times: list[float] = []
        self.learning_rates: list[float] = []
        self.diverged: tuple[int, int, float] | None = None
        self.interrupted_at: int | None = None
        self.aborted_at: int | None = None
        self.pruned_at: int | None = None
        self.epoch = 0
        # resuming (``resume``) and checkpointing need the callbacks with state and the shuffling generator
        self.resume: TrainingCheckpoint | None = None
        self.stateful: list[Callback] = []
        self.rng: np.random.Generator | None = None
        self.logs: list[dict[str, float]] = []  # each finished epoch's logs (History may miss the last on abort)

    def on_train_begin(self, logs=None):
        if self.resume is not None:  # after the other callbacks reset themselves, and the optimizer is built
            restore_training_state(self.model, self.stateful, self.rng, self.resume)
        if self.observer is not None:
            self.observer.on_train_begin(self.params["epochs"], self.params["steps"])

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._start = time.perf_counter()
        self.learning_rates.append(float(self.model.optimizer.learning_rate))  # type: ignore[union-attr]
        if self.observer is not None:
            self.observer.on_epoch_begin(epoch)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.diverged = (self.epoch, batch, loss)
            self.model.stop_training = True  # type: ignore[union-attr]
        elif self.should_stop is not None and self.should_stop():
            self.interrupted_at = self.epoch
            self.model.stop_training = True  # type: ignore[union-attr]
        if self.observer is not None:
            self.observer.on_batch_end(batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_times.append(time.perf_counter() - self._start)
        self.logs.append(dict(logs or {}))
        complete = self.interrupted_at is None and self.diverged is None  # a stopped epoch is not resumable
        if complete and hasattr(self.observer, "on_checkpoint"):  # before the observer shows the epoch as done
            history = _continued(self.resume, self.model.history.history)  # type: ignore[union-attr]
            for key, value in (logs or {}).items():
                history.setdefault(key, []).append(value)
            self.observer.on_checkpoint(  # type: ignore[union-attr]
                capture_training_state(
                    self.model,
                    self.stateful,
                    self.rng,
                    epoch + 1,
                    history=history,
                    epoch_times=list(self.epoch_times),
                    learning_rates=list(self.learning_rates),
                )
            )
        if self.observer is not None:
            self.observer.on_epoch_end(epoch, logs or {})
        prune = getattr(self.observer, "should_prune", None)
        last = epoch + 1 >= self.params["epochs"]
        if complete and prune is not None and not last and not self.model.stop_training and prune(epoch + 1):
            self.pruned_at = epoch
            self.model.stop_training = True  # type: ignore[union-attr]


def run_trial(
    experiment: Experiment,
    observer: TrainingObserver | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: TrainingCheckpoint | None = None,
) -> TrialResult:
    """Build, train and evaluate the experiment's model; errors become a ``failed`` result. ``resume``: continue
    from that end-of-epoch state (the observer's ``on_checkpoint`` receives one after every complete epoch)."""
    start = time.perf_counter()
    config, data = experiment.config, experiment.dataset
    try:
        model = build_model(config, tuple(data.x_train.shape[1:]))
        model.compile(**build_compile_arguments(config))
        lines: list[str] = []
        model.summary(line_length=88, print_fn=lines.append)
        if observer is not None:
            observer.on_model("".join(lines))
        watch = _Watch(observer, should_stop)
        user_callbacks = build_callbacks(config)
        shuffle_rng = np.random.default_rng(seeds(config)[1])
        watch.resume, watch.stateful, watch.rng = resume, user_callbacks, shuffle_rng
        if resume is not None:
            watch.epoch_times = list(resume.meta["epoch_times"])
            watch.learning_rates = list(resume.meta["learning_rates"])
        t = config.train
        try:
            history = model.fit(
                data.x_train,
                data.y_train,
                batch_size=t.batch_size,
                epochs=t.epochs,
                verbose=0,
                validation_split=t.validation_split,
                shuffle=t.shuffle,
                callbacks=[*user_callbacks, watch],
                seed=shuffle_rng,
                initial_epoch=0 if resume is None else resume.epoch,
            ).history
        except KeyboardInterrupt:  # a second stop request aborts the batch: the finished epochs are kept
            history = {}
            for logs in watch.logs:  # the watch's record: an abort can land before History sees an epoch
                for key, value in logs.items():
                    history.setdefault(key, []).append(value)
            watch.aborted_at = watch.epoch
        history = _continued(resume, history)
        status, reason = _outcome(watch, user_callbacks, len(history.get("loss", [])), t.epochs)
        test = test_classes = None
        if data.x_test is not None and status in ("completed", "interrupted", "pruned"):
            test = model.evaluate(
                data.x_test, data.y_test, batch_size=max(t.batch_size, 256), verbose=0, return_dict=True
            )
            test_classes = _test_classes(model, experiment, max(t.batch_size, 256))
        metrics = summarize(history, test, config, data, model.count_params())
        metrics.update(status=status, stop_reason=reason, epochs_planned=t.epochs)
        if watch.aborted_at is None:  # an aborted run's weights are from the middle of an epoch
            metrics.update(kept_weights(history, user_callbacks))
        chance = chance_note(metrics, data)
        if chance is not None:
            metrics["at_chance"] = chance
        return TrialResult(
            status=status,
            stop_reason=reason,
            history=history,
            epoch_times=watch.epoch_times,
            learning_rates=watch.learning_rates,
            metrics=metrics,
            weights={f"{i:04d}/{v.path}": v.numpy() for i, v in enumerate(model.weights)},
            summary="".join(lines),
            duration=time.perf_counter() - start,
            preprocessing=None if experiment.preprocessing is None else experiment.preprocessing.to_dict(),
            test_classes=test_classes,
        )
    except Exception as e:  # a trial never raises: the failure is its result
        return TrialResult(
            status="failed",
            stop_reason=str(e),
            error=f"{type(e).__name__}: {e}",
            traceback=traceback.format_exc(),
            duration=time.perf_counter() - start,
        )


def _test_classes(model: Any, experiment: Experiment, batch_size: int) -> ClassReport | None:
    """The confusion matrix of a classifier on the test set (None for regression)."""
    data, p = experiment.dataset, experiment.preprocessing
    if data.task != "classification" or data.n_classes is None or data.x_test is None:
        return None
    outputs = model.predict(data.x_test, batch_size=batch_size, verbose=0)
    labels = p.class_labels() if p is not None else [str(i) for i in range(data.n_classes)]
    return ClassReport.of(data.y_test, predicted_classes(outputs, data.n_classes), labels)


def _continued(resume: TrainingCheckpoint | None, history: dict[str, list[float]]) -> dict[str, list[float]]:
    """The history of a resumed run: the checkpoint's epochs, then this session's."""
    out = {k: list(v) for k, v in (resume.meta["history"] if resume is not None else {}).items()}
    for key, values in history.items():
        out.setdefault(key, []).extend(values)
    return out


def _outcome(watch: _Watch, callbacks: list[Callback], epochs_run: int, epochs: int) -> tuple[str, str]:
    if watch.diverged is not None:
        epoch, batch, loss = watch.diverged
        return "diverged", (
            f"the loss became {loss} at epoch {epoch + 1}, batch {batch + 1}; try a smaller "
            "learning rate (train.optimizer.learning_rate)"
        )
    if watch.aborted_at is not None:
        return "interrupted", (
            f"aborted during epoch {watch.aborted_at + 1} of {epochs}: the history holds the {epochs_run} "
            f"finished epochs; the weights are from the middle of epoch {watch.aborted_at + 1}"
        )
    if watch.interrupted_at is not None:
        return "interrupted", f"stopped during epoch {watch.interrupted_at + 1} of {epochs}"
    if watch.pruned_at is not None:
        return "pruned", (
            f"pruned after epoch {watch.pruned_at + 1} of {epochs}: the sweep's pruner found it behind the other "
            "trials at that epoch"
        )
    for cb in callbacks:
        if isinstance(cb, EarlyStopping) and cb.stopped_epoch:
            restored = " (best weights restored)" if cb.restore_best_weights and cb.best_weights is not None else ""
            return "completed", (
                f"early stopping after epoch {cb.stopped_epoch + 1}: {cb.monitor} stopped "
                f"improving (best {cb.best:.4g} at epoch {cb.best_epoch + 1}){restored}"
            )
    return "completed", f"completed {epochs_run} of {epochs} epochs"


def chance_note(metrics: dict[str, Any], data: Any) -> str | None:
    """A warning when a classifier's kept accuracy (validation if any, else training) is no better than
    guessing among its classes: a run can end ``completed`` having learned nothing (lr=10)."""
    classes = data.n_classes if getattr(data, "task", None) == "classification" else None
    values = metrics.get("kept") or metrics.get("final") or {}
    key = next((k for k in ("val_accuracy", "val_acc", "accuracy", "acc") if values.get(k) is not None), None)
    if key is None or not at_chance(values[key], classes):
        return None
    return (
        f"{key} {values[key]:.4f} is no better than chance for {classes} classes (1/{classes} = {1 / classes:.4f}): "
        "the model learned nothing; check the learning rate and the initializer"
    )


def kept_weights(history: dict[str, list[float]], callbacks: list[Callback]) -> dict[str, Any]:
    """Which epoch's weights the run keeps, and what they scored then: the last epoch, or the best one
    that ``EarlyStopping(restore_best_weights=True)`` put back. A sweep ranks trials by these values."""
    epochs = len(history.get("loss", []))
    epoch = epochs
    for cb in callbacks:
        if isinstance(cb, EarlyStopping) and cb.restore_best_weights and cb.best_weights is not None:
            epoch = min(cb.best_epoch + 1, epochs)
    if epoch < 1:
        return {}
    kept = {k: _finite(v[epoch - 1]) for k, v in history.items() if len(v) >= epoch and k not in NOT_METRICS}
    return {"weights_epoch": epoch, "kept": kept}


def summarize(
    history: dict[str, list[float]], test: dict[str, float] | None, config: Any, data: Any, n_params: int
) -> dict[str, Any]:
    """Final and best metrics, the test evaluation, and what produced them."""
    final = {k: _finite(v[-1]) for k, v in history.items() if v}
    best = {}
    for key, values in history.items():
        if key in NOT_METRICS:
            continue
        finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
        if finite:
            value, epoch = (min if direction(key) == "min" else max)(finite)
            best[key] = {"value": value, "epoch": epoch + 1}
    n = len(data.x_train)
    n_val = n - math.floor(n * (1.0 - config.train.validation_split)) if config.train.validation_split else 0
    return {
        "final": final,
        "best": best,
        "test": test,
        "epochs_run": len(history.get("loss", [])),
        "seed": config.seed,
        "n_params": n_params,
        "data": {
            "source": data.source,
            "train": n - n_val,
            "validation": n_val,
            "test": None if data.x_test is None else len(data.x_test),
        },
        "versions": {"nnrun": __version__, "numpy": np.__version__, "python": platform.python_version()},
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
