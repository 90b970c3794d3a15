"""The optimizer base class: argument checks, clipping, weight decay and the step counter.

An optimizer writes only ``update_step`` (and, when a step needs them, per-step scalars in
``prepare_step``). A compiled model hands the optimizer its trainable weights as views into one flat
buffer, so each step is a handful of whole-buffer NumPy operations however many layers there are;
``apply_gradients`` also works on separate arrays, for Keras-style custom loops.

All state is kept in the weights' dtype (float32 by default); the learning rate is a float32, as in
Keras, where ``0.1`` is really ``0.10000000149011612``. A learning-rate schedule (or a zero-argument
callable) is evaluated once per step, before the updates.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from nnrun.engine.naming import to_snake_case, unique_name
from nnrun.engine.optimizers import schedules
from nnrun.engine.registry import Registry
from nnrun.engine.variable import Variable
from nnrun.errors import InvalidArgumentError

OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer")


class _Group:
    """A weight array, its gradient array, and the optimizer's slot arrays for it."""

    __slots__ = ("g", "slots", "w")

    def __init__(self, w: np.ndarray, g: np.ndarray, slots: dict[str, np.ndarray]) -> None:
        self.w, self.g, self.slots = w, g, slots


class Optimizer:
    """Base class. Subclasses set ``slots`` (name → initial value) and implement ``update_step``."""

    #: per-weight state arrays: name -> initial fill value
    slots: dict[str, float] = {}
    default_learning_rate = 0.001

    def __init__(
        self,
        learning_rate: float | None = None,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        lr: float | None = None,
        **kwargs: Any,
    ) -> None:
        cls = type(self).__name__
        if "decay" in kwargs:
            kwargs.pop("decay")
            warnings.warn(f"{cls}: argument 'decay' is no longer supported and is ignored.", stacklevel=3)
        if kwargs:
            raise InvalidArgumentError(f"{cls}: argument(s) not recognized: {kwargs!r}")
        if lr is not None:
            if learning_rate is not None:
                raise InvalidArgumentError(
                    f"{cls}: pass learning_rate or its Keras 2 alias lr, not both. "
                    f"Received: learning_rate={learning_rate!r}, lr={lr!r}"
                )
            learning_rate = lr
        if learning_rate is None:
            learning_rate = self.default_learning_rate
        if isinstance(learning_rate, dict):  # a serialized schedule, as in a Keras config
            learning_rate = schedules.deserialize(learning_rate)
        self.iterations = 0
        self._schedule: Any = None
        if isinstance(learning_rate, schedules.LearningRateSchedule) or callable(learning_rate):
            self._schedule = self._lr_given = learning_rate
            self._lr = np.float32(self._scheduled_lr())
        else:
            self._lr_given = _check_number(cls, "learning_rate", learning_rate, low=0.0, low_open=True)
            self._lr = np.float32(self._lr_given)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise InvalidArgumentError(
                f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can be set. Received: "
                f"clipnorm={clipnorm!r}, clipvalue={clipvalue!r}, global_clipnorm={global_clipnorm!r}"
            )
        self.clipnorm = _optional_number(cls, "clipnorm", clipnorm)
        self.clipvalue = _optional_number(cls, "clipvalue", clipvalue)
        self.global_clipnorm = _optional_number(cls, "global_clipnorm", global_clipnorm)
        self.weight_decay = _optional_number(cls, "weight_decay", weight_decay)
        self.name = name or unique_name(to_snake_case(cls))  # adam, adam_1, ... as Keras names them
        self.built = False
        self._groups: list[_Group] = []
        self._variables: list[Variable] = []
        self._flat_views: list[tuple[Variable, slice]] = []
        self._excluded_names: tuple[str, ...] = ()
        self._excluded_ids: set[int] = set()

    # -- learning rate --------------------------------------------------------------------------

    @property
    def learning_rate(self) -> np.float32:
        """The current learning rate (a schedule's value at the current step)."""
        return np.float32(self._scheduled_lr()) if self._schedule is not None else self._lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            raise TypeError(
                f"{type(self).__name__} was created with a LearningRateSchedule as its learning_rate, so its "
                "learning rate cannot be set. Create the optimizer with a float learning_rate to set it."
            )
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            self._schedule = self._lr_given = value
            self._lr = np.float32(self._scheduled_lr())
            return
        self._schedule = None
        self._lr_given = _check_number(type(self).__name__, "learning_rate", value, low=0.0)
        self._lr = np.float32(self._lr_given)

    def _scheduled_lr(self) -> Any:
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            return self._schedule(self.iterations)
        return self._schedule()

    lr = learning_rate  # Keras 2 spelling

    # -- building -------------------------------------------------------------------------------

    def build(self, variables: list[Variable], flat: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Create the slot state. ``flat=(W, G)``: the variables are views into these flat buffers."""
        self._variables = list(variables)
        if flat is not None:
            w, g = flat
            self._groups = [_Group(w, g, self._make_slots(w))]
            offsets = np.cumsum([0] + [v.size for v in self._variables])
            self._flat_views = [(v, slice(a, b)) for v, a, b in zip(self._variables, offsets[:-1], offsets[1:])]
        else:
            # a 0-d variable is updated through a 1-element view, so every kernel can write with out=
            self._groups = []
            for v in self._variables:
                w = v.value if v.value.ndim else v.value.reshape(1)
                g = v.grad if v.value.ndim else v.grad.reshape(1)
                self._groups.append(_Group(w, g, self._make_slots(w)))
            self._flat_views = []
        self._dtype = self._groups[0].w.dtype.type if self._groups else np.float32  # type: ignore[assignment]
        self._clips = bool(self.clipnorm or self.clipvalue or self.global_clipnorm)
        self.build_extra()
        self.built = True

    def _make_slots(self, like: np.ndarray) -> dict[str, np.ndarray]:
        return {name: np.full_like(like, fill) for name, fill in self.slots.items()}

    def build_extra(self) -> None:
        """Scalar state beyond the per-weight slots (Nadam's u_product)."""

    def exclude_from_weight_decay(
        self, var_list: Iterable[Variable] | None = None, var_names: Iterable[str] | None = None
    ) -> None:
        """Exempt variables (or any whose name contains one of ``var_names``) from weight decay."""
        if self.built:
            raise InvalidArgumentError("exclude_from_weight_decay must be called before the optimizer is built.")
        self._excluded_ids = {id(v) for v in (var_list or [])}
        self._excluded_names = tuple(var_names or ())

    def _decays(self, var: Variable) -> bool:
        return id(var) not in self._excluded_ids and not any(n in var.path for n in self._excluded_names)

    # -- one step ---------------------------------------------------------------------------------

    def step(self) -> None:
        """Apply the gradients already in the variables' ``grad`` slots, then count the step."""
        groups = self._groups
        dtype = self._dtype
        if self._schedule is not None:  # once per step, at the step's 0-based iteration
            self._lr = np.float32(self._scheduled_lr())
        lr = dtype(self._lr)
        if self._clips:
            self._clip_gradients(dtype)
        if self.weight_decay:
            self._apply_weight_decay(lr, dtype)
        self.prepare_step(dtype(self.iterations + 1), lr, dtype)
        for group in groups:
            self.update_step(group.g, group.w, lr, group.slots)
        self.iterations += 1

    def prepare_step(self, t: Any, lr: Any, dtype: type) -> None:
        """Compute per-step scalars (bias corrections) once, before the per-group updates."""

    def update_step(self, g: np.ndarray, w: np.ndarray, lr: Any, slots: dict[str, np.ndarray]) -> None:
        """Update ``w`` in place from its gradient ``g``."""
        raise NotImplementedError

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> None:
        """Keras-style: apply ``(gradient, variable)`` pairs (builds the optimizer on first use)."""
        pairs = list(grads_and_vars)
        # as Keras: variables without a gradient are skipped with a warning; none at all is an error
        missing = [v.path for g, v in pairs if g is None]
        pairs = [(g, v) for g, v in pairs if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. "
                "If using model.compile(), did you forget to provide a loss argument?",
                stacklevel=2,
            )
        variables = [v for _, v in pairs]
        if not self.built:
            self.build(variables)
        elif [id(v) for v in variables] != [id(v) for v in self._variables]:
            raise InvalidArgumentError(
                f"{type(self).__name__} was built for other variables; create a new optimizer for these."
            )
        for g, v in pairs:
            v.grad[...] = g
        self.step()

    def apply(self, grads: list[Any], trainable_variables: list[Variable]) -> None:
        """Keras-style: ``apply(grads, variables)``."""
        self.apply_gradients(zip(grads, trainable_variables))

    def _clip_gradients(self, dtype: type) -> None:
        if self.clipnorm and self.clipnorm > 0:
            c = dtype(self.clipnorm)
            for g in self._per_variable_grads():
                norm = np.sqrt(np.vdot(g, g))
                g *= c
                g /= max(norm, c)
        elif self.global_clipnorm and self.global_clipnorm > 0:
            c = dtype(self.global_clipnorm)
            norm = np.sqrt(sum(np.vdot(gr.g, gr.g) for gr in self._groups))
            scale = c * min(1 / norm, 1 / c) if norm > 0 else dtype(1)
            for gr in self._groups:
                gr.g *= scale
        elif self.clipvalue and self.clipvalue > 0:
            v = dtype(self.clipvalue)
            for gr in self._groups:
                np.clip(gr.g, -v, v, out=gr.g)

    def _per_variable_grads(self) -> list[np.ndarray]:
        if self._flat_views:
            g = self._groups[0].g
            return [g[s] for _, s in self._flat_views]
        return [gr.g for gr in self._groups]

    def _apply_weight_decay(self, lr: Any, dtype: type) -> None:
        # w ← w − w·wd·lr (decoupled, before the update, on the pre-update w)
        wd = dtype(self.weight_decay)
        if self._flat_views:
            w = self._groups[0].w
            if all(self._decays(v) for v, _ in self._flat_views):
                w -= w * wd * lr
            else:
                for v, s in self._flat_views:
                    if self._decays(v):
                        w[s] -= w[s] * wd * lr
        else:
            for v, gr in zip(self._variables, self._groups):
                if self._decays(v):
                    gr.w -= gr.w * wd * lr

    # -- state and config ---------------------------------------------------------------------------

    def slot_order(self) -> tuple[tuple[str, ...], ...]:
        """Keras's order of the slot arrays: each tuple's slots interleaved variable by variable, tuple after
        tuple (as Keras's ``add_optimizer_variables`` calls create them)."""
        return (tuple(self.slots),)

    def _slot_views(self) -> list[np.ndarray]:
        """Every slot array, in Keras's order, as a view shaped like its variable."""
        if self._flat_views:
            group = self._groups[0]
            per_var = [{n: group.slots[n][s].reshape(v.shape) for n in self.slots} for v, s in self._flat_views]
        else:
            per_var = [
                {n: gr.slots[n].reshape(v.shape) for n in self.slots} for v, gr in zip(self._variables, self._groups)
            ]
        return [slots[n] for names in self.slot_order() for slots in per_var for n in names]

    @property
    def variables(self) -> list[np.ndarray]:
        """Keras order: iteration, learning_rate (unless scheduled), then the slot arrays (once built)."""
        out = [np.array(self.iterations, np.int64)]
        if self._schedule is None:
            out.append(np.array(self._lr))
        if self.built:
            out += self._slot_views() + self.extra_variables()
        return out

    def extra_variables(self) -> list[np.ndarray]:
        return []

    def set_extra_variables(self, values: list[np.ndarray]) -> None:
        """Restore what ``extra_variables`` returned."""

    def set_weights(self, weights: list[Any]) -> None:
        """Restore ``variables`` (after build): the step counter, the learning rate and every slot array."""
        if not self.built:
            raise InvalidArgumentError(
                f"You are calling set_weights() on optimizer '{self.name}', which is not built yet. Call "
                "optimizer.build(trainable_variables) first."
            )
        current = self.variables
        weights = [np.asarray(w) for w in weights]
        if len(weights) != len(current) or any(w.shape != c.shape for w, c in zip(weights, current)):
            raise InvalidArgumentError(
                f"Optimizer '{self.name}' has {len(current)} variables of shapes {[c.shape for c in current]}. "
                f"Received: {len(weights)} arrays of shapes {[w.shape for w in weights]}"
            )
        self.iterations = int(weights[0])
        k = 1
        if self._schedule is None:
            self._lr = np.float32(weights[1])
            self._lr_given = float(self._lr)
            k = 2
        views = self._slot_views()
        for view, w in zip(views, weights[k : k + len(views)]):
            view[...] = w
        self.set_extra_variables(weights[k + len(views) :])

    def count_params(self) -> int:
        return sum(math.prod(v.shape) for v in self.variables)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments."""
        lr = self._lr_given
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None and k != "name")
        return f"{type(self).__name__}({args})"


def _check_number(
    cls: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A real number within bounds, or an InvalidArgumentError that says what was received."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = math.isfinite(v)
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v < high if high_open else v <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        expected = (
            f"a number in {lo}, {hi}"
            if low is not None and high is not None
            else (f"a number {'>' if low_open else '>='} {low:g}" if low is not None else "a number")
        )
        raise InvalidArgumentError(f"{cls}: {name} must be {expected}. Received: {name}={value!r}")
    return float(value)


def _optional_number(cls: str, name: str, value: Any) -> float | None:
    return None if value is None else _check_number(cls, name, value, low=0.0)
