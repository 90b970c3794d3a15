"""``Model``: a graph of layers built from symbolic tensors (the functional API)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from nnrun.engine.layers.input_layer import InputLayer
from nnrun.engine.layers.layer import Layer, set_variables
from nnrun.engine.models.eager_array import EagerArray
from nnrun.engine.models.trainer import Trainer
from nnrun.engine.naming import unique_name
from nnrun.engine.symbolic import KerasTensor, Node
from nnrun.engine.variable import Variable
from nnrun.errors import InvalidArgumentError, NotBuiltError


class Model(Trainer):
    """``Model(inputs, outputs)``: every layer between the inputs and the output, run in call order."""

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise InvalidArgumentError(f"Model: argument(s) not recognized: {kwargs!r}")
        self.name = name or unique_name(self._default_name())
        self.built = False
        self._steps: list[tuple[Layer, tuple[int, ...], int, bool]] = []
        self._chain: list[tuple[Layer, bool]] | None = None
        self._input_tensors: list[KerasTensor] = []
        self._output_tensors: list[KerasTensor] = []
        self._out_slots: list[int] = []
        self._output_keys: list[str] | None = None  # the keys when the outputs were given as a dict
        self._multi_output = False  # outputs given as a list of several, or as a dict: arrays come as lists
        self._layers: list[Layer] = []
        self._as_layer: Layer | None = None
        super().__init__()
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise InvalidArgumentError("Model needs both inputs and outputs: Model(inputs=..., outputs=...)")
            self._init_graph(inputs, outputs)

    @classmethod
    def _default_name(cls) -> str:
        return "functional"

    # -- graph --------------------------------------------------------------------------------------

    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        keys: list[str] | None = None
        if isinstance(outputs, dict):
            keys = [str(k) for k in outputs]
            outs = list(outputs.values())
        elif isinstance(outputs, (list, tuple)):
            outs = list(outputs)
        else:
            outs = [outputs]
        if not outs:
            raise InvalidArgumentError("Model needs at least one output. Received: outputs=[]")
        for t in [*inputs, *outs]:
            if not isinstance(t, KerasTensor):
                raise InvalidArgumentError(
                    "Model inputs and outputs must be symbolic tensors from Input(...) and layer calls. "
                    f"Received: {t!r}"
                )
        for t in inputs:
            if t.node is not None:
                raise InvalidArgumentError(f"Model inputs must come from Input(...). Received: {t!r}")
        nodes: dict[int, Node] = {}
        reached_inputs: set[int] = set()
        stack = list(outs)
        while stack:
            t = stack.pop()
            if t.node is None:
                reached_inputs.add(id(t))
            elif t.node.id not in nodes:
                nodes[t.node.id] = t.node
                stack.extend(t.node.inputs)
        missing = reached_inputs - {id(t) for t in inputs}
        if missing:
            raise InvalidArgumentError(
                "The output depends on an Input that is not in the model's inputs; "
                "pass every Input to Model(inputs=[...])."
            )
        ordered = [nodes[i] for i in sorted(nodes)]
        slot = {id(t): i for i, t in enumerate(inputs)}
        for node in ordered:
            slot[id(node.output)] = len(slot)
        steps = [(node.layer, tuple(slot[id(t)] for t in node.inputs), slot[id(node.output)], True) for node in ordered]
        self._input_tensors = inputs
        self._output_tensors = outs
        self._output_keys = keys
        self._steps = steps
        self._n_slots = len(slot)
        self._out_slots = [slot[id(t)] for t in outs]
        self._out_slot = self._out_slots[0]
        self._multi_output = len(outs) > 1 or keys is not None
        self._layers = [t.input_layer for t in inputs] + [s[0] for s in steps]  # type: ignore[attr-defined]
        self._plan_gradients()
        names = [layer.name for layer in self._layers]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise InvalidArgumentError(f"Layer names must be unique in a model. Duplicated: {sorted(dupes)}")
        self.built = True
        self._on_graph_changed()

    def _plan_gradients(self) -> None:
        """Decide which layers must return dL/dx: those downstream of a layer with trainable weights."""
        needs_grad = [False] * self._n_slots
        steps = []
        for layer, ins, out, _ in self._steps:
            need_dx = any(needs_grad[i] for i in ins)
            needs_grad[out] = need_dx or bool(layer.trainable_weights)
            steps.append((layer, ins, out, need_dx))
        self._steps = steps
        self._chain = None
        if (
            not self._multi_output
            and len(self._input_tensors) == 1
            and all(
                not layer.multi_input and ins == (k,) and out == k + 1 for k, (layer, ins, out, _) in enumerate(steps)
            )
        ):
            self._chain = [(layer, need) for layer, _, _, need in steps]

    def _run_forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        if self._chain is not None:
            y = xs[0]
            for layer, _ in self._chain:
                y = layer.forward(y, training)
            return y
        vals: list[Any] = [None] * self._n_slots
        vals[: len(xs)] = xs
        for layer, ins, out, _ in self._steps:
            vals[out] = layer.forward([vals[i] for i in ins] if layer.multi_input else vals[ins[0]], training)
        if self._multi_output:
            return [vals[s] for s in self._out_slots]
        return vals[self._out_slot]

    def _run_backward(self, dy: Any) -> None:
        # Layers upstream of every trainable weight need no backward pass at all.
        if self._chain is not None:
            for layer, need in reversed(self._chain):
                if dy is None:
                    return
                dy = layer.backward(dy, need)
            return
        grads: list[Any] = [None] * self._n_slots
        if self._multi_output:  # one gradient (or None: no loss) per output; an output may feed another layer
            for s, d in zip(self._out_slots, dy):
                if d is not None:
                    grads[s] = d if grads[s] is None else grads[s] + d
        else:
            grads[self._out_slot] = dy
        for layer, ins, out, need in reversed(self._steps):
            g = grads[out]
            grads[out] = None
            if g is None:
                continue
            dxs = layer.backward(g, need)
            if not need:
                continue
            for i, dx in zip(ins, dxs if layer.multi_input else [dxs]):
                grads[i] = dx if grads[i] is None else grads[i] + dx

    @property
    def layers(self) -> list[Layer]:
        """The layers, in call order (a functional model lists its InputLayers first, as Keras does)."""
        return list(self._layers)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._input_tensors)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._output_tensors)

    @property
    def input_shape(self) -> Any:
        shapes = [t.shape for t in self._input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        """The output's shape (batch dimension None); a list (or dict) of shapes for several outputs."""
        self._require_built()
        return self._structure([t.shape for t in self._output_tensors])

    @property
    def output_names(self) -> list[str]:
        """The names of the outputs (the dict's keys, else the layers that produce them), as Keras names them."""
        if self._output_keys is not None:
            return list(self._output_keys)
        return [
            t.input_layer.name if t.node is None else t.node.layer.name  # type: ignore[attr-defined]
            for t in self._output_tensors
        ]

    def _structure(self, values: list[Any]) -> Any:
        """One value per output, arranged as the outputs were given: the value, a list, or a dict."""
        if self._output_keys is not None:
            return dict(zip(self._output_keys, values))
        return values if self._multi_output else values[0]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index in ``layers``."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        from nnrun.errors import did_you_mean

        raise InvalidArgumentError(
            f"No layer named {name!r}. Layers: {[layer.name for layer in self.layers]}."
            + did_you_mean(name, [layer.name for layer in self.layers])
        )

    def _require_built(self) -> None:
        if not self.built:
            raise NotBuiltError(
                f"Model '{self.name}' is not built yet: give its first layer an input shape "
                "(Input(shape=...) or input_shape=...), call build(input_shape), or fit it on data first."
            )

    # -- weights ------------------------------------------------------------------------------------

    @property
    def weights(self) -> list[Variable]:
        return [v for layer in self.layers for v in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for layer in self.layers for v in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for layer in self.layers for v in layer.non_trainable_weights]

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight, in Keras order (layer by layer, e.g. kernel then bias)."""
        self._require_built()
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Overwrite every weight (the order and shapes of ``get_weights``)."""
        self._require_built()
        set_variables(self.weights, weights, f"Model '{self.name}'")

    def count_params(self) -> int:
        """Trainable plus non-trainable parameters (not the optimizer's)."""
        self._require_built()
        return sum(v.size for v in self.weights)

    # -- serialisation --------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Layers with their configs and the graph's connections."""
        self._require_built()
        slot_name = {i: t.input_layer.name for i, t in enumerate(self._input_tensors)}  # type: ignore[attr-defined]
        layers = []
        for layer, ins, out, _ in self._steps:
            slot_name[out] = layer.name
            layers.append(
                {
                    "class_name": type(layer).__name__,
                    "config": layer.get_config(),
                    "inbound": [slot_name[i] for i in ins],
                }
            )
        return {
            "name": self.name,
            "inputs": [t.input_layer.get_config() for t in self._input_tensors],  # type: ignore[attr-defined]
            "layers": layers,
            **(
                {"outputs": self._structure([slot_name[s] for s in self._out_slots])}
                if self._multi_output
                else {"output": slot_name[self._out_slot]}
            ),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        from nnrun.engine.layers import deserialize

        tensors: dict[str, KerasTensor] = {}
        inputs = []
        for c in config["inputs"]:
            t = InputLayer(**c).output_tensor
            tensors[c["name"]] = t
            inputs.append(t)
        for spec in config["layers"]:
            layer = deserialize(spec)
            ins = [tensors[n] for n in spec["inbound"]]
            tensors[layer.name] = layer(ins if layer.multi_input else ins[0])
        if "output" in config:
            outputs: Any = tensors[config["output"]]
        elif isinstance(config["outputs"], dict):
            outputs = {k: tensors[n] for k, n in config["outputs"].items()}
        else:
            outputs = [tensors[n] for n in config["outputs"]]
        return Model(inputs, outputs, name=config["name"])

    def to_json(self, **kwargs: Any) -> str:
        """The model's architecture as JSON (no weights); ``model_from_json`` rebuilds it."""
        return json.dumps(
            {
                "class_name": type(self).__name__ if type(self).__name__ == "Sequential" else "Functional",
                "config": self.get_config(),
            },
            **kwargs,
        )

    def save(self, filepath: str, overwrite: bool = True, include_optimizer: bool = True) -> None:
        """Save the whole model as Keras 3's ``.keras`` file (loads in ``keras.saving.load_model``)."""
        import os

        from nnrun.engine.saving import save_model

        if not overwrite and os.path.exists(filepath):
            raise InvalidArgumentError(f"{filepath} exists and overwrite=False.")
        save_model(self, filepath, include_optimizer=include_optimizer)

    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        """Save every weight: ``.weights.h5`` in Keras 3's layout, or ``.npz`` (nnrun's archive)."""
        from nnrun.engine.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str) -> None:
        """Load ``.weights.h5``, ``.keras`` or ``.npz`` weights (checked by count and shape; nothing changes on
        error)."""
        from nnrun.engine.saving import load_weights

        load_weights(self, filepath)

    def summary(
        self, line_length: int | None = None, positions: list[float] | None = None, print_fn: Any = None, **kwargs: Any
    ) -> None:
        """Print Keras's summary table: Layer (type), Output Shape, Param #, and the totals."""
        from nnrun.engine.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn, **kwargs)

    def __call__(self, inputs: Any, training: bool | None = None) -> Any:
        """Run the model on arrays (inference unless ``training=True``) and return a new ndarray (with
        TensorFlow's ``.numpy()``; a list or dict of them for several outputs); on a symbolic tensor, use the
        model as a layer of a new functional model."""
        if isinstance(inputs, KerasTensor):
            return self.as_layer()(inputs)
        xs = self._prepare_inputs(inputs, "inputs")
        with np.errstate(all="ignore"):
            out = self._run_forward(xs, bool(training))
        if self._multi_output:
            return self._structure([a.copy().view(EagerArray) for a in out])
        return out.copy().view(EagerArray)

    def as_layer(self) -> Layer:
        """This model as a layer of another model (one wrapper per model: its weights are shared)."""
        from nnrun.engine.models.model_layer import ModelLayer

        if self._as_layer is None:
            self._as_layer = ModelLayer(self)
        return self._as_layer

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
