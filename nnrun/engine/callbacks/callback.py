"""The callback base class and the list that dispatches hooks (Keras's names and routing).

As in Keras, every hook receives a dict of logs (``{}`` when there is nothing to report), and the training
batch hooks ``on_train_batch_begin/end`` call the Keras 2 names ``on_batch_begin/end``, so a callback written
for either spelling is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnrun.engine.models.model import Model

Logs = dict[str, Any]


class Callback:
    """Override any hook. ``self.model`` is set before training starts; ``self.params`` holds
    ``epochs``, ``steps`` and ``verbose``."""

    def __init__(self) -> None:
        self.model: Model | None = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_begin(self, logs: Logs | None = None) -> None: ...
    def on_predict_end(self, logs: Logs | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...


def overrides(cb: Callback, *hooks: str) -> bool:
    """Whether ``cb`` implements any of ``hooks`` itself, in its class or as an attribute (``LambdaCallback``),
    so the loops can skip the hooks nobody uses."""
    return any(hook in vars(cb) or getattr(type(cb), hook) is not getattr(Callback, hook) for hook in hooks)


class CallbackList:
    """Calls each hook on every callback, in order; batch hooks only on those that define them."""

    def __init__(self, callbacks: list[Callback], model: Any, params: dict[str, Any]) -> None:
        self.callbacks = callbacks
        self.params = params
        for cb in callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self.batch_begin = [cb for cb in callbacks if overrides(cb, "on_train_batch_begin", "on_batch_begin")]
        self.batch_end = [cb for cb in callbacks if overrides(cb, "on_train_batch_end", "on_batch_end")]
        self.test_batch_begin = [cb for cb in callbacks if overrides(cb, "on_test_batch_begin")]
        self.test_batch_end = [cb for cb in callbacks if overrides(cb, "on_test_batch_end")]
        self.predict_batch_begin = [cb for cb in callbacks if overrides(cb, "on_predict_batch_begin")]
        self.predict_batch_end = [cb for cb in callbacks if overrides(cb, "on_predict_batch_end")]

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args: Any) -> None:
            for cb in self.callbacks:
                getattr(cb, hook)(*args)

        return call
