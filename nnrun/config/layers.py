"""The layers a config can list: each one's config model, short form and builder, registered by name.

Adding a layer is one engine file (``nnrun/engine/layers/``) and one ``LAYERS.add(LayerSpec(...))`` here:
the schema's union of layer items, the short forms the loader expands, the README's config reference and
``build_model`` all read :data:`LAYERS`.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    Tag,
    create_model,
    model_validator,
)
from pydantic_core import CoreSchema

from nnrun.config.base import ShortForm, StrictModel, nnrun_error
from nnrun.config.names import ActivationName, InitializerName
from nnrun.engine import layers as engine_layers
from nnrun.engine import regularizers
from nnrun.engine.initializers import INITIALIZERS, Initializer
from nnrun.errors import did_you_mean


class BuildContext:
    """What a layer builder draws on: the model's dtype and the stream of seeds for its weights."""

    def __init__(self, dtype: str, seeds: Iterator[int]) -> None:
        self.dtype, self._seeds = dtype, seeds

    def seed(self) -> int:
        """The next seed of the model's weight stream (the order of the calls fixes the weights)."""
        return next(self._seeds)

    def initializer(self, name: str) -> Initializer:
        """A registered initializer, seeded from the stream when it takes a seed."""
        cls = INITIALIZERS.get(name)
        seed = self.seed()
        return cls(seed=seed) if "seed" in inspect.signature(cls).parameters else cls()


Builder = Callable[[Any, str, BuildContext], engine_layers.Layer]
Shape = tuple[int, ...]
Sizer = Callable[[Any, Shape], tuple[Shape, int]]


def _same_shape(config: Any, shape: Shape) -> tuple[Shape, int]:
    return shape, 0


@dataclass(frozen=True)
class LayerSpec:
    """One layer type of the config: ``name`` is its YAML key (Keras's class name in snake_case)."""

    name: str
    config: type[StrictModel]
    """the layer's keys (every config has ``name``, the layer's name)"""
    build: Builder
    """(resolved config, layer name, context) → the engine layer"""
    short: str | None = None
    """the key a scalar stands for (``dense: 64`` → units); None: only ``null`` (all defaults)"""
    short_types: tuple[type, ...] = (str,)
    """the scalar types of the short form"""
    aliases: tuple[str, ...] = ()
    """other YAML keys for the same layer"""
    flat_input: bool = False
    """the layer needs vectors: with ``data.flatten: auto``, images are flattened before it"""
    flattens: bool = False
    """the layer turns its input into vectors itself (what comes after it gets vectors)"""
    size: Sizer = _same_shape
    """(config, input shape of one sample) → (its output shape, its number of weights), without building it"""
    size_key: str | None = None
    """the key that sets the layer's size (named when the model would not fit in memory)"""
    item: type[StrictModel] = field(init=False, repr=False)
    """the one-key model ``{name: config}`` in ``model.layers``"""

    def __post_init__(self) -> None:
        if "name" not in self.config.model_fields:
            raise TypeError(f"layer config {self.config.__name__} needs a 'name' key")
        title = self.config.__name__.removesuffix("Config")
        annotated = Annotated[
            self.config, ShortForm(self.short, self.short_types), Field(description=self.config.__doc__)
        ]
        item = create_model(
            f"{title}Item", __base__=StrictModel, __module__=self.config.__module__, **{self.name: annotated}
        )
        # a module attribute under its own name, so that configs pickle (process pools, Ray) by reference
        setattr(sys.modules[self.config.__module__], item.__name__, item)
        object.__setattr__(self, "item", item)

    @property
    def bare(self) -> bool:
        """The layer may be written as its name alone (``- flatten``): it has no required key."""
        return not any(f.is_required() for f in self.config.model_fields.values())


class LayerRegistry:
    """Layer specs by YAML key, with aliases."""

    def __init__(self) -> None:
        self._specs: dict[str, LayerSpec] = {}
        self._aliases: dict[str, str] = {}

    def add(self, spec: LayerSpec) -> LayerSpec:
        for key in (spec.name, *spec.aliases):
            if key in self._specs or key in self._aliases:
                raise KeyError(f"layer type {key!r} is registered twice")
        self._specs[spec.name] = spec
        self._aliases.update(dict.fromkeys(spec.aliases, spec.name))
        return spec

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self._specs.values())

    def __getitem__(self, name: str) -> LayerSpec:
        return self._specs[name]

    def spellings(self) -> list[str]:
        """Every key a layer may be given as: the names, then the aliases."""
        return [*self._specs, *self._aliases]

    def canonical(self, key: str) -> str:
        """The layer name a key stands for; a config error (listing the types) when it is unknown."""
        name = self._aliases.get(key, key)
        if name not in self._specs:
            choices = self.spellings()
            raise nnrun_error(
                f"unknown layer type '{key}'. Expected one of: {', '.join(choices)}.{did_you_mean(key, choices)}"
            )
        return name

    def of(self, item: BaseModel) -> tuple[LayerSpec, Any]:
        """The spec of a validated layer item, and the item's config."""
        name = next(iter(type(item).model_fields))
        return self._specs[name], getattr(item, name)

    def short_forms(self) -> dict[str, str]:
        """YAML key → the key its scalar form stands for."""
        return {key: spec.short for spec in self for key in (spec.name, *spec.aliases) if spec.short is not None}


LAYERS = LayerRegistry()


# -- dense -----------------------------------------------------------------------------------------------


class RegularizerConfig(StrictModel):
    """``l2`` (Keras's default factor, 0.01), ``{l2: 0.001}``, ``{l1: 0.01}`` or ``{l1: 0.01, l2: 0.01}`` (L1L2)."""

    model_config = ConfigDict(
        json_schema_extra={  # a name or factors, not both, not neither (as _name_or_factors)
            "minProperties": 1,
            "not": {"required": ["name"], "anyOf": [{"required": ["l1"]}, {"required": ["l2"]}]},
        }
    )

    name: Literal["l1", "l2", "l1_l2", "L1", "L2", "L1L2"] | None = None
    """a regularizer with Keras's default factors (l1, l2: 0.01; l1_l2: 0)"""
    l1: NonNegativeFloat | None = None
    """factor of the L1 penalty, l1·Σ|w|"""
    l2: NonNegativeFloat | None = None
    """factor of the L2 penalty, l2·Σw²"""

    @model_validator(mode="after")
    def _name_or_factors(self) -> RegularizerConfig:
        factors = self.l1 is not None or self.l2 is not None
        if self.name is None and not factors:
            raise nnrun_error("give a regularizer name (l2) or its factors ({l2: 0.01}, {l1: 0.01, l2: 0.01})")
        if self.name is not None and factors:
            raise nnrun_error(
                f"give a regularizer name or its factors, not both. Received: name={self.name!r}, "
                f"l1={self.l1!r}, l2={self.l2!r}"
            )
        return self

    def resolved(self) -> RegularizerConfig:
        """A name as the factors it stands for (``l2`` → ``{l2: 0.01}``), so the saved config shows them."""
        return self if self.name is None else RegularizerConfig(**self.build().get_config())

    def build(self) -> regularizers.Regularizer:
        """The engine regularizer: the named one, or L1, L2 or L1L2 by the factors given."""
        if self.name is not None:
            return regularizers.get(self.name)  # type: ignore[return-value]
        if self.l1 is not None and self.l2 is not None:
            return regularizers.L1L2(l1=self.l1, l2=self.l2)
        return regularizers.L1(self.l1) if self.l1 is not None else regularizers.L2(self.l2)  # type: ignore[arg-type]


Regularizer = Annotated[RegularizerConfig, ShortForm("name")] | None


def build_regularizer(config: RegularizerConfig | None) -> regularizers.Regularizer | None:
    return None if config is None else config.build()


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
    kernel_regularizer: Regularizer = None
    """penalty on the kernel added to the loss: l1, l2, l1_l2, or factors ({l2: 0.01})"""
    bias_regularizer: Regularizer = None
    """penalty on the bias: as kernel_regularizer"""
    activity_regularizer: Regularizer = None
    """penalty on the layer's output (divided by the batch size): as kernel_regularizer"""
    name: str | None = None
    """layer name (default: dense, dense_1, ...)"""


def size_dense(c: DenseConfig, shape: Shape) -> tuple[Shape, int]:
    return (*shape[:-1], c.units), shape[-1] * c.units + (c.units if c.use_bias is not False else 0)


def build_dense(c: DenseConfig, name: str, ctx: BuildContext) -> engine_layers.Layer:
    return engine_layers.Dense(
        c.units,
        activation=c.activation,
        use_bias=c.use_bias,
        kernel_initializer=ctx.initializer(c.kernel_initializer),  # type: ignore[arg-type]
        bias_initializer=ctx.initializer(c.bias_initializer),  # type: ignore[arg-type]
        kernel_regularizer=build_regularizer(c.kernel_regularizer),
        bias_regularizer=build_regularizer(c.bias_regularizer),
        activity_regularizer=build_regularizer(c.activity_regularizer),
        name=name,
        dtype=ctx.dtype,
    )


# -- dropout ---------------------------------------------------------------------------------------------


class DropoutConfig(StrictModel):
    """``dropout: 0.2`` or ``dropout: {rate: 0.2, seed: 1}``."""

    rate: Annotated[float, Field(ge=0.0, le=1.0)]
    """fraction of the inputs dropped during training"""
    seed: NonNegativeInt | None = None
    """seed of the dropout masks (default: derived from the experiment seed)"""
    name: str | None = None
    """layer name"""


def build_dropout(c: DropoutConfig, name: str, ctx: BuildContext) -> engine_layers.Layer:
    seed = c.seed if c.seed is not None else ctx.seed()
    return engine_layers.Dropout(c.rate, seed=seed, name=name, dtype=ctx.dtype)


# -- batch normalization ---------------------------------------------------------------------------------


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


def size_batch_normalization(c: BatchNormalizationConfig, shape: Shape) -> tuple[Shape, int]:
    return shape, 4 * shape[-1]  # gamma, beta, moving mean and variance


def build_batch_normalization(c: BatchNormalizationConfig, name: str, ctx: BuildContext) -> engine_layers.Layer:
    return engine_layers.BatchNormalization(
        momentum=c.momentum, epsilon=c.epsilon, center=c.center, scale=c.scale, name=name, dtype=ctx.dtype
    )


# -- activation ------------------------------------------------------------------------------------------


class ActivationConfig(StrictModel):
    """``activation: relu`` as a layer of its own."""

    activation: ActivationName
    """the activation function"""
    name: str | None = None
    """layer name"""


def build_activation(c: ActivationConfig, name: str, ctx: BuildContext) -> engine_layers.Layer:
    return engine_layers.Activation(c.activation, name=name, dtype=ctx.dtype)


# -- flatten ---------------------------------------------------------------------------------------------


class FlattenConfig(StrictModel):
    """``flatten`` (or ``flatten: {}``): images to vectors inside the model."""

    name: str | None = None
    """layer name"""


def size_flatten(c: FlattenConfig, shape: Shape) -> tuple[Shape, int]:
    return (math.prod(shape),), 0


def build_flatten(c: FlattenConfig, name: str, ctx: BuildContext) -> engine_layers.Layer:
    return engine_layers.Flatten(name=name, dtype=ctx.dtype)


DENSE = LAYERS.add(
    LayerSpec(
        "dense",
        DenseConfig,
        build_dense,
        short="units",
        short_types=(int,),
        flat_input=True,
        size=size_dense,
        size_key="units",
    )
)
LAYERS.add(LayerSpec("dropout", DropoutConfig, build_dropout, short="rate", short_types=(int, float)))
LAYERS.add(
    LayerSpec(
        "batch_normalization",
        BatchNormalizationConfig,
        build_batch_normalization,
        aliases=("batchnorm", "bn"),
        size=size_batch_normalization,
    )
)
LAYERS.add(LayerSpec("activation", ActivationConfig, build_activation, short="activation"))
LAYERS.add(LayerSpec("flatten", FlattenConfig, build_flatten, flattens=True, size=size_flatten))

DenseItem = DENSE.item


# -- the union of layer items ----------------------------------------------------------------------------


def normalize_layer(item: Any) -> Any:
    """``"flatten"`` → ``{"flatten": None}``; ``batchnorm`` → ``batch_normalization``; one key per layer."""
    if isinstance(item, BaseModel):
        return item
    if isinstance(item, str):
        item = {item: None}
    if not isinstance(item, dict) or len(item) != 1:
        raise nnrun_error(
            "each layer is a mapping with one key, the layer type, e.g. '- dense: 64' or '- dropout: 0.2'. "
            f"Received: {item!r}"
        )
    ((kind, value),) = item.items()
    return {LAYERS.canonical(str(kind)): value}


def _layer_tag(item: Any) -> str | None:
    if isinstance(item, BaseModel):  # serialising: the item's one field is its type
        return next(iter(type(item).model_fields))
    return next(iter(item)) if isinstance(item, dict) and len(item) == 1 else None


@dataclass(frozen=True)
class _LayerItemJsonSchema:
    """The JSON Schema of one layer: the registered items, their aliases, and the bare names."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        union = handler(schema)
        forms: list[dict[str, Any]] = list(union.get("oneOf") or union.get("anyOf") or [union])
        for spec, ref in zip(LAYERS, list(forms), strict=True):
            item = handler.resolve_ref_schema(ref)
            for alias in spec.aliases:
                forms.append(
                    {**item, "title": alias, "properties": {alias: item["properties"][spec.name]}, "required": [alias]}
                )
        bare = [key for spec in LAYERS if spec.bare for key in (spec.name, *spec.aliases)]
        forms.append({"type": "string", "enum": bare, "description": "a layer with all its defaults"})
        return {"anyOf": forms}


def layer_item_type() -> Any:
    """The type of one entry of ``model.layers``: a discriminated union of every registered layer."""
    union = Union[tuple(Annotated[spec.item, Tag(spec.name)] for spec in LAYERS)]  # noqa: UP007
    return Annotated[
        Annotated[union, Discriminator(_layer_tag)],
        BeforeValidator(normalize_layer),
        _LayerItemJsonSchema(),
    ]


def first_needing_vectors(layers: list[Any]) -> int | None:
    """The index of the first layer that needs vectors and gets the model's input as it is, if any."""
    for i, item in enumerate(layers):
        spec, _ = LAYERS.of(item)
        if spec.flattens:
            return None
        if spec.flat_input:
            return i
    return None


__all__ = [
    "LAYERS",
    "ActivationConfig",
    "BatchNormalizationConfig",
    "BuildContext",
    "DenseConfig",
    "DenseItem",
    "DropoutConfig",
    "FlattenConfig",
    "LayerSpec",
    "RegularizerConfig",
    "first_needing_vectors",
    "layer_item_type",
]
