"""``Dense``: y = activation(x @ kernel + bias)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine import activations, initializers, regularizers
from nnrun.engine.layers.layer import Layer, Shape
from nnrun.errors import InvalidArgumentError


class Dense(Layer):
    """A fully connected layer; ``kernel`` is (in_features, units) and ``bias`` is (units,)."""

    def __init__(
        self,
        units: int,
        activation: str | activations.ActivationFunction | None = None,
        use_bias: bool = True,
        kernel_initializer: str | initializers.Initializer | dict = "glorot_uniform",
        bias_initializer: str | initializers.Initializer | dict = "zeros",
        kernel_regularizer: str | regularizers.Regularizer | dict | None = None,
        bias_regularizer: str | regularizers.Regularizer | dict | None = None,
        activity_regularizer: str | regularizers.Regularizer | dict | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise InvalidArgumentError(
                f"Dense units must be a positive integer. Received: units={units!r} (layer '{self.name}')"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.activity_regularizer = regularizers.get(activity_regularizer, "activity_regularizer")
        self._activity_batch = 0  # the batch size of the last forward (Keras divides the activity penalty by it)
        # Set by the model when the loss computes dL/dz for this (output) layer directly.
        self.fused_activation_grad = False
        self._forward_buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def activation(self) -> activations.ActivationFunction:
        return self._activation

    @activation.setter
    def activation(self, value: Any) -> None:
        """Any activation ``activations.get`` accepts; ``None`` is linear (as Keras's ``layer.activation = None``)."""
        self._activation = activations.get(value)
        getattr(self, "_forward_buffers", {}).clear()  # the in-place output buffers depend on the activation

    # -- regularization: the penalties Keras adds to the loss, and their gradients in backward ----------

    @property
    def regularized(self) -> bool:
        return self.trainable and any(
            r is not None for r in (self.kernel_regularizer, self.bias_regularizer, self.activity_regularizer)
        )

    @property
    def losses(self) -> list[Any]:
        """The current penalties (Keras's ``layer.losses``): kernel, bias, then activity of the last call."""
        out = []
        if self.built and self.trainable:
            if self.kernel_regularizer is not None:
                out.append(self.kernel_regularizer(self.kernel.value))
            if self.bias_regularizer is not None and self.bias is not None:
                out.append(self.bias_regularizer(self.bias.value))
        if self.activity_regularizer is not None and self._activity_batch:
            y = self._bufs[1]
            out.append(self.activity_regularizer(y) / y.dtype.type(self._activity_batch))
        return out

    def build(self, input_shape: Shape) -> None:
        in_features = input_shape[-1]
        self.kernel = self.add_weight("kernel", (in_features, self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if x.ndim != 2:  # (batch, ..., in): apply to the last axis
            y = self.forward(x.reshape(-1, x.shape[-1]), training)
            self._activity_batch = x.shape[0]
            return y.reshape(*x.shape[:-1], self.units)
        # x: (n, in) → z = x @ kernel + bias: (n, units) → y = activation(z)
        bufs = self._forward_buffers.get(x.shape[0])
        if bufs is None:
            bufs = self._make_buffers(x.shape[0])
        z, y, _, _ = bufs
        np.dot(x, self.kernel.value, out=z)
        if self.bias is not None:
            np.add(z, self.bias.value, out=z)
        self._x, self._bufs, self._activity_batch = x, bufs, x.shape[0]
        return self.activation.forward(z, y)

    def _make_buffers(self, n: int) -> tuple[np.ndarray, ...]:
        """z, y, dx and a row of ones (for the bias gradient) for batches of n rows."""
        if len(self._forward_buffers) > 8:
            self._forward_buffers.clear()
        z = np.empty((n, self.units), self.dtype)
        # an activation whose derivative needs only its output is computed in place
        y = np.empty_like(z) if self.activation.uses_input else z
        dx = np.empty((n, self.kernel.shape[0]), self.dtype)
        bufs = self._forward_buffers[n] = (z, y, dx, np.ones(n, self.dtype))
        return bufs

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if dy.ndim != 2:
            dx = self.backward(dy.reshape(-1, self.units), need_dx)
            return None if dx is None else dx.reshape(*dy.shape[:-1], dx.shape[-1])
        z, y, dx, ones = self._bufs
        if self.activity_regularizer is not None:  # d(R(y) / batch)/dy joins the upstream gradient
            g_act = self.activity_regularizer.grad(y) / self._activity_batch
            if not self.fused_activation_grad:
                dy = dy + g_act
        dz = dy if self.fused_activation_grad else self.activation.backward(dy, z, y)
        if self.fused_activation_grad and self.activity_regularizer is not None:
            dz = dz + self.activation.backward(g_act, z, y)
        if self.trainable:
            np.dot(self._x.T, dz, out=self.kernel.grad)
            if self.kernel_regularizer is not None:
                self.kernel.grad += self.kernel_regularizer.grad(self.kernel.value)
            if self.bias is not None:
                np.dot(ones, dz, out=self.bias.grad)
                if self.bias_regularizer is not None:
                    self.bias.grad += self.bias_regularizer.grad(self.bias.value)
        return np.dot(dz, self.kernel.value.T, out=dx) if need_dx else None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }
