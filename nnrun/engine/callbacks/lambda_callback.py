"""``LambdaCallback``: a callback made of plain functions, one per hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnrun.engine.callbacks.callback import Callback
from nnrun.errors import InvalidArgumentError, did_you_mean

HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class LambdaCallback(Callback):
    """``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``: each keyword names a hook (Keras's names,
    including ``on_batch_end`` and the test/predict hooks); the function is called with that hook's
    arguments."""

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
        **kwargs: Callable[..., Any],
    ) -> None:
        super().__init__()
        for name in kwargs:
            if name not in HOOKS:
                raise InvalidArgumentError(
                    f"LambdaCallback: {name!r} is not a callback hook. Hooks: {', '.join(HOOKS)}."
                    + did_you_mean(name, HOOKS)
                )
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise InvalidArgumentError(f"LambdaCallback: {name} must be a function. Received: {fn!r}")
            setattr(self, name, fn)
