"""The experiment config: one YAML file → validated models. Keys are Keras's argument names.

Unknown keys are errors; every value is checked where it enters, names against the engine's
registries. ``ExperimentConfig.resolved()`` fills in every default (hidden-layer defaults, optimizer
and loss arguments, metrics) so the saved config repeats a run exactly.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    PrivateAttr,
    field_validator,
    model_validator,
)

from nnrun.config.base import ShortForm, StrictModel, nnrun_error
from nnrun.config.layers import (
    LAYERS,
    ActivationConfig,
    BatchNormalizationConfig,
    DenseConfig,
    DenseItem,
    DropoutConfig,
    FlattenConfig,
    layer_item_type,
)
from nnrun.config.names import ActivationName, InitializerName, LossName, MetricName, OptimizerName
from nnrun.config.sweep import SweepConfig
from nnrun.config.tracking import TrackingConfig
from nnrun.data import DATASET_NAMES
from nnrun.engine import losses as engine_losses
from nnrun.engine import optimizers as engine_optimizers
from nnrun.engine.registry import normalize_name
from nnrun.errors import InvalidArgumentError, did_you_mean

Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]


# -- data -----------------------------------------------------------------------------------------------


class DataConfig(StrictModel):
    """Where the data comes from and how it is prepared."""

    dataset: str | None = Field("mnist_sample", description=f"a named data set: {', '.join(DATASET_NAMES)}")
    path: str | None = Field(None, description="a .npz or .csv file, or a folder of IDX files (instead of dataset)")
    label_column: str = Field("label", description="the label column of a .csv file")
    n_samples: PositiveInt | None = Field(None, description="synthetic data sets: number of samples")
    noise: NonNegativeFloat | None = Field(None, description="synthetic data sets: noise level")
    n_features: PositiveInt | None = Field(None, description="blobs / regression: number of input features")
    n_classes: Annotated[int, Field(ge=2)] | None = Field(None, description="blobs / spirals: number of classes")
    flatten: bool | Literal["auto"] = Field(
        "auto", description="flatten images to vectors (auto: when a dense layer would get them unflattened)"
    )
    scale: bool | Literal["auto"] = Field("auto", description="divide pixel values by 255 (auto: for 8-bit images)")
    standardize: bool = Field(False, description="subtract the training mean, divide by the training std, per feature")
    one_hot: bool | Literal["auto"] = Field("auto", description="one-hot encode labels (auto: when the loss needs it)")
    test_split: Fraction = Field(
        0.0, description="fraction held out and evaluated after training (data without a test set)"
    )
    limit: PositiveInt | None = Field(None, description="use only this many training samples")
    seed: NonNegativeInt = Field(0, description="shuffles and generates the data; independent of the experiment seed")

    @model_validator(mode="before")
    @classmethod
    def _path_replaces_dataset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("path") is not None and "dataset" not in data:
            data = {**data, "dataset": None}
        return data

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str | None) -> str | None:
        if value is not None and value not in DATASET_NAMES:
            raise nnrun_error(
                f"unknown data set '{value}'. Expected one of: {', '.join(DATASET_NAMES)}."
                + did_you_mean(value, DATASET_NAMES)
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if self.dataset is None and self.path is None:
            raise nnrun_error("give a data set name (dataset: mnist_sample) or a file (path: data.npz)", "dataset")
        if self.dataset is not None and self.path is not None:
            raise nnrun_error(
                f"give either dataset or path, not both. Received: dataset={self.dataset!r}, path={self.path!r}",
                "path",
            )
        return self


# -- model ----------------------------------------------------------------------------------------------


class HiddenDefaults(StrictModel):
    """Defaults for every Dense layer but the last (the output layer); any layer may override them."""

    activation: ActivationName = "relu"
    """activation of the hidden Dense layers"""
    kernel_initializer: InitializerName = "glorot_uniform"
    """initializer of their kernels"""
    bias_initializer: InitializerName = "zeros"
    """initializer of their biases"""
    use_bias: bool = True
    """whether they have a bias"""


# The layer configs, their short forms and builders live in config/layers.py, registered in LAYERS.
LayerItem = layer_item_type()
LAYER_TYPES = {spec.name: spec.item for spec in LAYERS}
LAYER_ALIASES = {alias: spec.name for spec in LAYERS for alias in spec.aliases}


class ModelConfig(StrictModel):
    """The layers, in order (the input shape comes from the data), and defaults for the hidden layers."""

    hidden: HiddenDefaults = HiddenDefaults()
    """defaults for every Dense layer but the last"""
    layers: Annotated[list[LayerItem], Field(min_length=1)]
    """the layers in order; the input shape comes from the data"""
    dtype: Literal["float32", "float64"] = "float32"
    """float type of the weights and computations"""

    @model_validator(mode="after")
    def _has_dense_output(self) -> ModelConfig:
        if not any(isinstance(item, DenseItem) for item in self.layers):
            raise nnrun_error("the model needs at least one dense layer (the last one is the output layer)", "layers")
        return self

    def dense_layers(self) -> list[DenseConfig]:
        return [item.dense for item in self.layers if isinstance(item, DenseItem)]


# -- loss and optimizer ----------------------------------------------------------------------------------


def _arguments(cls: type) -> dict[str, inspect.Parameter]:
    """Constructor arguments of an engine class and its bases (without *args/**kwargs, name, reduction)."""
    out: dict[str, inspect.Parameter] = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            for name, p in inspect.signature(klass.__init__).parameters.items():
                if name not in ("self", "name", "reduction") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    out[name] = p
    return out


class LossConfig(StrictModel):
    """``loss: mse`` or ``loss: {name: binary_crossentropy, from_logits: true, label_smoothing: 0.1}``."""

    name: LossName
    """loss function"""
    from_logits: bool | None = None
    """the output is raw scores, not probabilities (cross-entropies)"""
    label_smoothing: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """smooth the targets towards uniform (binary and categorical cross-entropy)"""
    delta: Annotated[float, Field(gt=0.0)] | None = None
    """where huber switches from quadratic to linear"""

    @model_validator(mode="after")
    def _arguments_apply(self) -> LossConfig:
        cls = engine_losses.LOSSES.get(self.name)
        allowed = _arguments(cls)
        for key in ("from_logits", "label_smoothing", "delta"):
            if getattr(self, key) is not None and key not in allowed:
                raise nnrun_error(
                    f"{self.name} has no argument '{key}'. Its arguments: {', '.join(allowed) or 'none'}", key
                )
        return self

    def arguments(self) -> dict[str, Any]:
        return {k: v for k in ("from_logits", "label_smoothing", "delta") if (v := getattr(self, k)) is not None}

    def resolved(self) -> LossConfig:
        defaults = {k: p.default for k, p in _arguments(engine_losses.LOSSES.get(self.name)).items()}
        return LossConfig(name=self.name, **{**defaults, **self.arguments()})


class OptimizerConfig(StrictModel):
    """``optimizer: adam`` or ``optimizer: {name: sgd, learning_rate: 0.01, momentum: 0.9}`` (``lr`` is accepted)."""

    name: OptimizerName
    """optimizer: sgd, rmsprop, adagrad, adadelta, adam, adamax, nadam, adamw (any case)"""
    learning_rate: Annotated[float, Field(gt=0.0)] | None = None
    """step size (alias lr); default per optimizer, as Keras (sgd 0.01, others 0.001)"""
    momentum: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """sgd, rmsprop: momentum"""
    nesterov: bool | None = None
    """sgd: Nesterov momentum"""
    rho: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """rmsprop, adadelta: decay of the running averages"""
    centered: bool | None = None
    """rmsprop: subtract the mean gradient"""
    epsilon: NonNegativeFloat | None = None
    """numerical stability constant"""
    initial_accumulator_value: NonNegativeFloat | None = None
    """adagrad: starting accumulator"""
    beta_1: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    """adam family: decay of the first moment"""
    beta_2: Annotated[float, Field(ge=0.0, lt=1.0)] | None = None
    """adam family: decay of the second moment"""
    amsgrad: bool | None = None
    """adam: use the AMSGrad variant"""
    weight_decay: NonNegativeFloat | None = None
    """decoupled weight decay (adamw default 0.004)"""
    clipnorm: NonNegativeFloat | None = None
    """clip each gradient to this norm"""
    clipvalue: NonNegativeFloat | None = None
    """clip each gradient element to ±this value"""
    global_clipnorm: NonNegativeFloat | None = None
    """clip all gradients together to this norm"""

    model_config = ConfigDict(json_schema_extra=lambda schema: _lr_alias(schema))

    @model_validator(mode="before")
    @classmethod
    def _lr_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "lr" in data:  # Keras 2 spelling
            if "learning_rate" in data:
                raise nnrun_error("give learning_rate or its alias lr, not both", "lr")
            data = {("learning_rate" if k == "lr" else k): v for k, v in data.items()}
        return data

    def arguments(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"name"}).items() if v is not None}

    @model_validator(mode="after")
    def _arguments_apply(self) -> OptimizerConfig:
        cls = engine_optimizers.OPTIMIZERS.get(self.name)
        allowed = _arguments(cls)
        for key in self.arguments():
            if key not in allowed:
                names = ", ".join(a for a in allowed if a != "lr")
                raise nnrun_error(f"{cls.__name__} has no argument '{key}'. Its arguments: {names}", key)
        try:
            cls(**self.arguments())
        except InvalidArgumentError as e:
            raise nnrun_error(str(e), _argument_in(str(e), self.arguments())) from None
        return self

    def resolved(self) -> OptimizerConfig:
        config = engine_optimizers.OPTIMIZERS.get(self.name)(**self.arguments()).get_config()
        config.pop("name")
        return OptimizerConfig(name=self.name, **config)


def _lr_alias(schema: dict[str, Any]) -> None:
    """The JSON Schema accepts ``lr`` as the loader does (one of the two, not both)."""
    learning_rate = schema["properties"]["learning_rate"]
    schema["properties"]["lr"] = {**learning_rate, "title": "Lr", "description": "alias of learning_rate"}
    schema["not"] = {"required": ["learning_rate", "lr"]}


def _argument_in(message: str, arguments: dict[str, Any]) -> str | None:
    """The argument an engine error names (``... Received: momentum=1.5``), if it is one of ours."""
    for key in arguments:
        if f"Received: {key}=" in message or f", {key}=" in message:
            return key
    return None


# -- callbacks -------------------------------------------------------------------------------------------

Mode = Literal["auto", "min", "max"]


class EarlyStoppingConfig(StrictModel):
    """Keras's EarlyStopping arguments."""

    monitor: str = "val_loss"
    """the quantity watched: loss, a metric, or val_ + either"""
    min_delta: NonNegativeFloat = 0.0
    """smallest change counted as an improvement"""
    patience: NonNegativeInt = 0
    """epochs without improvement before stopping"""
    mode: Mode = "auto"
    """min, max, or auto (from the monitored name)"""
    baseline: float | None = None
    """a value the monitor must beat"""
    restore_best_weights: bool = False
    """end with the weights of the best epoch"""
    start_from_epoch: NonNegativeInt = 0
    """epochs to wait before watching"""


class ReduceLROnPlateauConfig(StrictModel):
    """Keras's ReduceLROnPlateau arguments."""

    monitor: str = "val_loss"
    """the quantity watched"""
    factor: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    """multiply the learning rate by this"""
    patience: NonNegativeInt = 10
    """epochs without improvement before reducing"""
    mode: Mode = "auto"
    """min, max, or auto"""
    min_delta: NonNegativeFloat = 1e-4
    """smallest change counted as an improvement"""
    cooldown: NonNegativeInt = 0
    """epochs to wait after a reduction"""
    min_lr: NonNegativeFloat = 0.0
    """lower bound of the learning rate"""


class CallbacksConfig(StrictModel):
    """Training callbacks (a NaN or infinite loss always stops the run as 'diverged')."""

    early_stopping: EarlyStoppingConfig | None = None
    """stop when the monitored value stops improving"""
    reduce_lr_on_plateau: ReduceLROnPlateauConfig | None = None
    """lower the learning rate on a plateau"""


# -- training -------------------------------------------------------------------------------------------


class TrainConfig(StrictModel):
    """``compile`` and ``fit`` arguments (Keras's names and defaults)."""

    loss: Annotated[LossConfig, ShortForm("name")]
    """loss name, or a mapping with name and arguments"""
    optimizer: Annotated[OptimizerConfig, ShortForm("name")] = OptimizerConfig(name="rmsprop")
    """optimizer name, or a mapping with name and arguments"""
    metrics: list[MetricName] | None = Field(
        None, description="default: [accuracy] for classification data, [mae] for regression"
    )
    epochs: PositiveInt = 1
    """passes over the training data"""
    batch_size: PositiveInt = 32
    """samples per gradient step"""
    validation_split: Fraction = 0.0
    """fraction of the training data held out for validation (the last rows, as Keras)"""
    shuffle: bool = True
    """shuffle the training rows every epoch"""
    callbacks: CallbacksConfig = CallbacksConfig()
    """early_stopping and reduce_lr_on_plateau"""

    @model_validator(mode="after")
    def _monitors_exist(self) -> TrainConfig:
        metrics = ["loss", *(self.metrics or ["accuracy", "acc", "mae", "mse"])]
        known = metrics + [f"val_{m}" for m in metrics]
        for key in ("early_stopping", "reduce_lr_on_plateau"):
            cb = getattr(self.callbacks, key)
            if cb is None:
                continue
            if cb.monitor not in known:
                raise nnrun_error(
                    f"monitors '{cb.monitor}', which training does not report. Expected one of: "
                    f"{', '.join(known)}.{did_you_mean(cb.monitor, known)}",
                    f"callbacks.{key}.monitor",
                )
            if cb.monitor.startswith("val_") and not self.validation_split:
                raise nnrun_error(
                    f"monitors '{cb.monitor}', which needs validation data: set train.validation_split "
                    f"(e.g. 0.2) or monitor '{cb.monitor[4:]}'",
                    f"callbacks.{key}.monitor",
                )
        return self


class ExperimentConfig(StrictModel):
    """One experiment: name, seed, data, model, training."""

    name: Annotated[str, Field(min_length=1, max_length=100)] = "experiment"
    """names the run folder and the plots"""
    description: str | None = None
    """free text, kept with the run"""
    seed: NonNegativeInt = 0
    """seeds the initial weights, dropout and shuffling"""
    data: DataConfig = DataConfig()
    """the data set and its preparation"""
    model: ModelConfig
    """the network"""
    train: TrainConfig
    """compile and fit settings"""
    sweep: SweepConfig | None = None
    """nnrun sweep: the keys to vary (ignored by nnrun train)"""
    tracking: TrackingConfig | None = None
    """logging to TensorBoard / MLflow (a failure never fails the run)"""
    # where it was read from: the file and the line of every key (for errors found after validation)
    _source: str | None = PrivateAttr(None)
    _lines: dict = PrivateAttr(default_factory=dict)
    # the mapping as the user wrote it (file plus --set overrides), before any default: what a run "is"
    _user: dict | None = PrivateAttr(None)

    def resolved(self, task: str | None = None) -> ExperimentConfig:
        """Every default in place: hidden-layer defaults on the dense layers, loss and optimizer arguments,
        and the metrics (``[accuracy]`` for classification, ``[mae]`` for regression)."""
        hidden = self.model.hidden
        dense = self.model.dense_layers()
        layers = []
        for item in self.model.layers:
            if isinstance(item, DenseItem):
                d = item.dense
                is_output = d is dense[-1]
                d = d.model_copy(
                    update={
                        "activation": d.activation or ("linear" if is_output else hidden.activation),
                        "use_bias": d.use_bias if d.use_bias is not None else (True if is_output else hidden.use_bias),
                        "kernel_initializer": d.kernel_initializer
                        or ("glorot_uniform" if is_output else hidden.kernel_initializer),
                        "bias_initializer": d.bias_initializer or ("zeros" if is_output else hidden.bias_initializer),
                        **{
                            key: r.resolved()
                            for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer")
                            if (r := getattr(d, key)) is not None
                        },
                    }
                )
                item = DenseItem(dense=d)
            layers.append(item)
        metrics = self.train.metrics
        if metrics is None:
            metrics = ["mae"] if task == "regression" else ["accuracy"]
        train = self.train.model_copy(
            update={
                "loss": self.train.loss.resolved(),
                "optimizer": self.train.optimizer.resolved(),
                "metrics": metrics,
            }
        )
        return self.model_copy(update={"model": self.model.model_copy(update={"layers": layers}), "train": train})

    def to_yaml_dict(self) -> dict[str, Any]:
        """A plain dict for YAML: None values dropped, layers in their one-key form."""
        return _drop_none(self.model_dump(mode="json"))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


__all__ = [
    "LAYERS",
    "LAYER_TYPES",
    "ActivationConfig",
    "BatchNormalizationConfig",
    "CallbacksConfig",
    "DataConfig",
    "DenseConfig",
    "DropoutConfig",
    "EarlyStoppingConfig",
    "ExperimentConfig",
    "FlattenConfig",
    "HiddenDefaults",
    "LossConfig",
    "ModelConfig",
    "OptimizerConfig",
    "ReduceLROnPlateauConfig",
    "TrainConfig",
    "normalize_name",
]
