"""Models to and from Keras 3's ``config.json`` (``{"module", "class_name", "config", "registered_name"}``).

nnrun's layers take Keras's argument names, so a layer's config crosses over nearly as is: nested objects
(initializers, regularizers, dtype policies) change form, and Keras arguments that nnrun does not
implement are dropped only when they hold Keras's default (else the load fails, saying which).
"""

from __future__ import annotations

import inspect
from typing import Any

from nnrun.engine import initializers
from nnrun.engine.layers.input_layer import InputLayer
from nnrun.engine.layers.layer import Layer
from nnrun.engine.symbolic import KerasTensor
from nnrun.errors import DataError

#: Keras arguments nnrun may not take, with the value that makes them do nothing.
KERAS_DEFAULTS: dict[str, Any] = {
    "kernel_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "beta_regularizer": None,
    "gamma_regularizer": None,
    "kernel_constraint": None,
    "bias_constraint": None,
    "beta_constraint": None,
    "gamma_constraint": None,
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
    "synchronized": False,
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "data_format": "channels_last",
    "noise_shape": None,
    "seed": None,
    "input_axes": None,
    "output_axes": None,
    "axis": -1,
    "from_logits": False,
    "label_smoothing": 0.0,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
    "sparse": False,
    "ragged": False,
    "optional": False,
}

_MODULES = {"initializer": "keras.initializers", "regularizer": "keras.regularizers", "constraint": "keras.constraints"}


def keras_object(module: str, class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _dtype_policy(name: str) -> dict[str, Any]:
    return keras_object("keras", "DTypePolicy", {"name": name})


def fit_arguments(cls: Any, config: dict[str, Any], where: str) -> dict[str, Any]:
    """``config`` without the arguments ``cls`` does not take; those must hold Keras's default."""
    accepted: set[str] = set()
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        accepted |= {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            break
    out = {}
    for key, value in config.items():
        if key in accepted:
            out[key] = value
        elif value is None or (key in KERAS_DEFAULTS and value == KERAS_DEFAULTS[key]):
            continue
        else:
            raise DataError(f"{where}: nnrun's {cls.__name__} does not support {key}={value!r}.")
    return out


# -- nnrun → Keras ---------------------------------------------------------------------------------


def _keras_value(key: str, value: Any) -> Any:
    """One layer argument in Keras's form."""
    kind = key.rsplit("_", 1)[-1]
    if kind == "initializer":
        init = initializers.get(value, key)
        return keras_object("keras.initializers", type(init).__name__, init.get_config())
    if kind in _MODULES and isinstance(value, dict) and "class_name" in value:
        return keras_object(_MODULES[kind], value["class_name"], value.get("config", {}))
    if key == "dtype":
        return _dtype_policy(value)
    return value


def layer_to_keras(layer: Layer) -> dict[str, Any]:
    """``{"module": "keras.layers", "class_name", "config", "registered_name"}`` for a layer."""
    if isinstance(layer, InputLayer):
        config = {
            "batch_shape": [None, *layer.shape],
            "dtype": layer.dtype.name,
            "sparse": False,
            "ragged": False,
            "name": layer.name,
            "optional": False,
        }
        return keras_object("keras.layers", "InputLayer", config)
    nnrun_config = layer.get_config()
    nnrun_config.pop("input_shape", None)  # a Keras file records the input as an InputLayer
    config = {key: _keras_value(key, value) for key, value in nnrun_config.items()}
    if type(layer).__name__ == "Flatten":
        config.setdefault("data_format", "channels_last")
    out = keras_object("keras.layers", type(layer).__name__, config)
    if layer._build_input_shape is not None and layer._variables:
        out["build_config"] = {"input_shape": _listify(layer._build_input_shape)}
    return out


def _listify(shape: Any) -> Any:
    return [_listify(s) for s in shape] if isinstance(shape, (list, tuple)) else shape


def _tensor_ref(t: KerasTensor) -> dict[str, Any]:
    producer = t.input_layer.name if t.node is None else t.node.layer.name  # type: ignore[attr-defined]
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": list(t.shape), "dtype": t.dtype.name, "keras_history": [producer, 0, 0]},
    }


def model_to_keras(model: Any) -> dict[str, Any]:
    """The whole ``config.json`` of a built model (with ``compile_config`` when compiled)."""
    model._require_built()
    if type(model).__name__ == "Sequential":
        shape = [None, *model._input_layer.shape]
        layers = [layer_to_keras(model._input_layer)] + [layer_to_keras(layer) for layer in model.layers]
        config = {
            "name": model.name,
            "trainable": True,
            "dtype": _dtype_policy("float32"),
            "layers": layers,
            "build_input_shape": shape,
        }
        out = keras_object("keras", "Sequential", config)
        out["build_config"] = {"input_shape": shape}
    else:
        layers = []
        for layer in model.layers:
            entry = layer_to_keras(layer)
            entry["name"] = layer.name
            if isinstance(layer, InputLayer):
                entry["inbound_nodes"] = []
            else:
                refs = [_tensor_ref(t) for t in layer._inbound_nodes[0].inputs]
                entry["inbound_nodes"] = [{"args": [refs] if layer.multi_input else refs, "kwargs": {}}]
            layers.append(entry)
        inputs = [[t.input_layer.name, 0, 0] for t in model.inputs]
        config = {
            "name": model.name,
            "trainable": True,
            "layers": layers,
            "input_layers": inputs[0] if len(inputs) == 1 else inputs,
            "output_layers": _output_layers(model),
        }
        out = keras_object("keras.src.models.functional", "Functional", config)
        out["registered_name"] = "Functional"
        out["build_config"] = {"input_shape": None}
    out["compile_config"] = compile_to_keras(model)
    return out


def _output_layers(model: Any) -> Any:
    """``[name, 0, 0]`` for one output; a list of them (or a dict, as the outputs were given) for several."""
    refs = [[name, 0, 0] for name in _producer_names(model)]
    if not model._multi_output:
        return refs[0]
    return dict(zip(model._output_keys, refs)) if model._output_keys is not None else refs


def _producer_names(model: Any) -> list[str]:
    return [t.input_layer.name if t.node is None else t.node.layer.name for t in model.outputs]


def _loss_to_keras(loss: Any) -> Any:
    """A loss as Keras's compile_config holds it: a name, a serialized Loss, or a list/dict of them."""
    from nnrun.engine import losses

    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple)):
        return [_loss_to_keras(x) for x in loss]
    if isinstance(loss, dict):
        return {k: _loss_to_keras(v) for k, v in loss.items()}
    out = losses.serialize(loss)
    return keras_object("keras.losses", out["class_name"], out["config"]) if isinstance(out, dict) else out


def _metrics_to_keras(metrics: Any) -> Any:
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, (list, tuple)):
        return [_metrics_to_keras(m) for m in metrics]
    if isinstance(metrics, dict):
        return {k: _metrics_to_keras(m) for k, m in metrics.items()}
    return _metric_to_keras(metrics)


def compile_to_keras(model: Any) -> dict[str, Any]:
    """Keras's ``compile_config``: the optimizer, loss and metrics (``{}`` when not compiled)."""
    if not model.compiled:
        return {}
    optimizer = model.optimizer
    given = model._compile_config
    loss = _loss_to_keras(given["loss"] if model._multi_output else model.loss)
    metrics = _metrics_to_keras(given.get("metrics"))
    return {
        "optimizer": keras_object("keras.optimizers", type(optimizer).__name__, _optimizer_config(optimizer)),
        "loss": loss,
        "loss_weights": given.get("loss_weights"),
        "metrics": metrics or None,
        "weighted_metrics": None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def _optimizer_config(optimizer: Any) -> dict[str, Any]:
    config = optimizer.get_config()
    if isinstance(config.get("learning_rate"), float):
        config["learning_rate"] = float(optimizer.learning_rate)  # the float32 value, as Keras records it
    return config


def _metric_to_keras(metric: Any) -> Any:
    get_config = getattr(metric, "get_config", None)
    if get_config is None:
        return getattr(metric, "__name__", str(metric))
    return keras_object("keras.metrics", type(metric).__name__, get_config())


# -- Keras → nnrun ---------------------------------------------------------------------------------


def _nnrun_value(key: str, value: Any, where: str) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "DTypePolicy":
        name = value.get("config", {}).get("name", "float32")
        if name not in ("float32", "float64", "float16"):
            raise DataError(f"{where}: nnrun does not support the dtype policy {name!r}.")
        return name
    kind = key.rsplit("_", 1)[-1]
    if kind == "initializer" and isinstance(value, dict):
        cls = initializers.INITIALIZERS.get(value.get("class_name", ""), f"{where}.{key}")
        return {"class_name": cls.__name__, "config": fit_arguments(cls, value.get("config") or {}, f"{where}.{key}")}
    if isinstance(value, dict) and "class_name" in value:
        return {"class_name": value["class_name"], "config": value.get("config") or {}}
    return value


def layer_from_keras(spec: dict[str, Any]) -> Layer:
    """A fresh nnrun layer from one entry of a Keras ``layers`` list."""
    from nnrun.engine.layers import LAYERS

    class_name = spec.get("class_name", "")
    where = f"layer {spec.get('config', {}).get('name', class_name)!r}"
    if class_name not in LAYERS:
        raise DataError(
            f"{where}: nnrun has no layer {class_name!r}. It implements: {', '.join(sorted(LAYERS.names()))}."
        )
    cls = LAYERS.get(class_name)
    config = {k: _nnrun_value(k, v, where) for k, v in (spec.get("config") or {}).items()}
    return cls(**fit_arguments(cls, config, where))


def model_from_keras(spec: dict[str, Any]) -> Any:
    """An nnrun Sequential or functional Model (fresh weights) from a Keras ``config.json``."""
    from nnrun.engine.models.model import Model
    from nnrun.engine.models.sequential import Sequential

    class_name = spec.get("class_name")
    config = spec.get("config") or {}
    if class_name == "Sequential":
        entries = config.get("layers", [])
        model = Sequential(name=config.get("name"))
        if (not entries or entries[0].get("class_name") != "InputLayer") and config.get("build_input_shape"):
            model.add(InputLayer(batch_shape=config["build_input_shape"]), rebuild=False)
        for entry in entries:
            model.add(layer_from_keras(entry), rebuild=False)
        model._maybe_rebuild()
    elif class_name in ("Functional", "Model"):
        model = _functional_from_keras(config, Model)
    else:
        raise DataError(f"nnrun reads Sequential and functional models; this file holds a {class_name!r}.")
    compile_config = spec.get("compile_config")
    if compile_config:
        compile_from_keras(model, compile_config)
    return model


def _functional_from_keras(config: dict[str, Any], model_cls: Any) -> Any:
    tensors: dict[str, KerasTensor] = {}
    for entry in config.get("layers", []):
        layer = layer_from_keras(entry)
        if isinstance(layer, InputLayer):
            tensors[layer.name] = layer.output_tensor
            continue
        nodes = entry.get("inbound_nodes", [])
        if len(nodes) != 1:
            raise DataError(f"layer {layer.name!r} is called {len(nodes)} times; nnrun does not share layers.")
        args = nodes[0].get("args", [])
        refs = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        inputs = [tensors[ref["config"]["keras_history"][0]] for ref in refs]
        tensors[layer.name] = layer(inputs if layer.multi_input else inputs[0])

    def names(spec: Any) -> list[str]:
        return [spec[0]] if spec and isinstance(spec[0], str) else [s[0] for s in spec]

    inputs = [tensors[n] for n in names(config.get("input_layers", []))]
    spec = config.get("output_layers", [])
    outputs: Any = (
        {k: tensors[v[0]] for k, v in spec.items()} if isinstance(spec, dict) else [tensors[n] for n in names(spec)]
    )
    return model_cls(inputs, outputs, name=config.get("name"))


def compile_from_keras(model: Any, config: dict[str, Any]) -> None:
    """``model.compile`` from Keras's ``compile_config``."""
    from nnrun.engine import optimizers

    if config.get("weighted_metrics") not in (None, [], {}):
        raise DataError(f"compile_config: nnrun does not support weighted_metrics={config['weighted_metrics']!r}.")
    opt = config.get("optimizer") or "rmsprop"
    if isinstance(opt, dict):
        cls = optimizers.OPTIMIZERS.get(opt.get("class_name", ""), "compile_config.optimizer")
        opt = cls.from_config(fit_arguments(cls, opt.get("config") or {}, "compile_config.optimizer"))
    loss = _from_keras_objects(config.get("loss"), "loss")
    metrics = _from_keras_objects(config.get("metrics"), "metrics")
    model.compile(optimizer=opt, loss=loss, loss_weights=config.get("loss_weights"), metrics=metrics or None)


def _from_keras_objects(value: Any, kind: str) -> Any:
    """Losses or metrics from a compile_config: names stay names; serialized objects become objects with their
    whole config (a ``Recall(name="recall")`` keeps its name, so its history key stays ``recall``)."""
    if isinstance(value, (list, tuple)):
        return [_from_keras_objects(v, kind) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" not in value:  # keyed by output name
        return {k: _from_keras_objects(v, kind) for k, v in value.items()}
    from nnrun.engine.losses import LOSSES
    from nnrun.engine.metrics import METRICS

    where = f"compile_config.{kind}"
    cls = (LOSSES if kind == "loss" else METRICS).get(value.get("class_name", ""), where)
    return cls.from_config(fit_arguments(cls, value.get("config") or {}, where))
