"""The experiment config: one YAML file → validated models. Keys are Keras's argument names.

Unknown keys are errors; every value is checked where it enters, names against the engine's
registries. ``ExperimentConfig.resolved()`` fills in every default (hidden-layer defaults, optimizer
and loss arguments, metrics) so the saved config repeats a run exactly.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from nnrun.config.names import ActivationName, InitializerName, LossName, MetricName, OptimizerName
from nnrun.config.sweep import SweepConfig
from nnrun.data import DATASET_NAMES
from nnrun.engine import losses as engine_losses
from nnrun.engine import optimizers as engine_optimizers
from nnrun.engine.registry import normalize_name
from nnrun.errors import InvalidArgumentError, closest

Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]


class StrictModel(BaseModel):
    """Unknown keys are errors; values are not silently coerced from other types."""

    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)


def nnrun_error(message: str, key: str | None = None) -> PydanticCustomError:
    """An error whose message is already complete; ``key`` extends the path below the current model."""
    return PydanticCustomError("nnrun", message, {"key": key} if key else {})


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
        "auto", description="flatten images to vectors (auto: when the first layer is dense)"
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
            match = closest(value, DATASET_NAMES)
            hint = f" Did you mean '{match}'?" if match else ""
            raise nnrun_error(f"unknown data set '{value}'. Expected one of: {', '.join(DATASET_NAMES)}.{hint}")
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


class DenseConfig(StrictModel):
    """``dense: 64`` or ``dense: {units: 64, activation: tanh, ...}``."""

    units: PositiveInt
    """number of units (neurons)"""
    activation: ActivationName | None = None
    """activation (hidden layers: model.hidden.activation; the output layer: linear)"""
    use_bias: bool | None = None
    """add a bias vector (default: model.hidden.use_bias; output layer: true)"""
    kernel_initializer: InitializerName | None = None
    """kernel initializer (default: model.hidden's; output layer: glorot_uniform)"""
    bias_initializer: InitializerName | None = None
    """bias initializer (default: model.hidden's; output layer: zeros)"""
    name: str | None = None
    """layer name (default: dense, dense_1, ...)"""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"units": data} if isinstance(data, int) and not isinstance(data, bool) else data


class DropoutConfig(StrictModel):
    """``dropout: 0.2`` or ``dropout: {rate: 0.2, seed: 1}``."""

    rate: Annotated[float, Field(ge=0.0, le=1.0)]
    """fraction of the inputs dropped during training"""
    seed: NonNegativeInt | None = None
    """seed of the dropout masks (default: derived from the experiment seed)"""
    name: str | None = None
    """layer name"""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"rate": data} if isinstance(data, (int, float)) and not isinstance(data, bool) else data


class BatchNormalizationConfig(StrictModel):
    """``batchnorm: {}`` (or ``batch_normalization``) with Keras's arguments."""

    momentum: Annotated[float, Field(ge=0.0, le=1.0)] = 0.99
    """momentum of the moving mean and variance"""
    epsilon: Annotated[float, Field(gt=0.0)] = 1e-3
    """added to the variance before the square root"""
    center: bool = True
    """learn an offset (beta)"""
    scale: bool = True
    """learn a scale (gamma)"""
    name: str | None = None
    """layer name"""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {} if data is None else data


class ActivationConfig(StrictModel):
    """``activation: relu`` as a layer of its own."""

    activation: ActivationName
    """the activation function"""
    name: str | None = None
    """layer name"""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"activation": data} if isinstance(data, str) else data


class FlattenConfig(StrictModel):
    """``flatten`` (or ``flatten: {}``): images to vectors inside the model."""

    name: str | None = None
    """layer name"""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {} if data is None else data


class DenseItem(StrictModel):
    dense: DenseConfig


class DropoutItem(StrictModel):
    dropout: DropoutConfig


class BatchNormalizationItem(StrictModel):
    batch_normalization: BatchNormalizationConfig


class ActivationItem(StrictModel):
    activation: ActivationConfig


class FlattenItem(StrictModel):
    flatten: FlattenConfig


LAYER_TYPES = {
    "dense": DenseItem,
    "dropout": DropoutItem,
    "batch_normalization": BatchNormalizationItem,
    "activation": ActivationItem,
    "flatten": FlattenItem,
}
LAYER_ALIASES = {"batchnorm": "batch_normalization", "bn": "batch_normalization"}


def _normalize_layer(item: Any) -> Any:
    """``"flatten"`` → ``{"flatten": None}``; ``batchnorm`` → ``batch_normalization``; one key per layer."""
    if isinstance(item, str):
        item = {item: None}
    if not isinstance(item, dict) or len(item) != 1:
        raise nnrun_error(
            "each layer is a mapping with one key, the layer type, e.g. '- dense: 64' or '- dropout: 0.2'. "
            f"Received: {item!r}"
        )
    ((kind, value),) = item.items()
    canonical = LAYER_ALIASES.get(str(kind), str(kind))
    if canonical not in LAYER_TYPES:
        choices = [*LAYER_TYPES, *LAYER_ALIASES]
        match = closest(str(kind), choices)
        hint = f" Did you mean '{match}'?" if match else ""
        raise nnrun_error(f"unknown layer type '{kind}'. Expected one of: {', '.join(choices)}.{hint}")
    return {canonical: value}


def _layer_tag(item: Any) -> str | None:
    if isinstance(item, BaseModel):  # serialising: the item's one field is its type
        return next(iter(type(item).model_fields))
    return next(iter(item)) if isinstance(item, dict) and len(item) == 1 else None


LayerItem = Annotated[
    Annotated[
        Annotated[DenseItem, Tag("dense")]
        | Annotated[DropoutItem, Tag("dropout")]
        | Annotated[BatchNormalizationItem, Tag("batch_normalization")]
        | Annotated[ActivationItem, Tag("activation")]
        | Annotated[FlattenItem, Tag("flatten")],
        Discriminator(_layer_tag),
    ],
    BeforeValidator(lambda item: item if isinstance(item, BaseModel) else _normalize_layer(item)),
]


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

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

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

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
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

    loss: LossConfig
    """loss name, or a mapping with name and arguments"""
    optimizer: OptimizerConfig = OptimizerConfig(name="rmsprop")
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
                match = closest(cb.monitor, known)
                hint = f" Did you mean '{match}'?" if match else ""
                raise nnrun_error(
                    f"monitors '{cb.monitor}', which training does not report. Expected one of: "
                    f"{', '.join(known)}.{hint}",
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
    # where it was read from: the file and the line of every key (for errors found after validation)
    _source: str | None = PrivateAttr(None)
    _lines: dict = PrivateAttr(default_factory=dict)

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
