"""The engine's layer-graph IR: what an offline plan holds and what an executor walks.

An engine is a :class:`GraphIR`: tensors numbered densely (network inputs first, then every
layer's outputs in layer order), layers in network order with their inputs and outputs
as tensor ids and every attribute as a plain value, constructs (loops, conditionals,
attention) that own layers, and a flat weights table referenced from layer attributes by
index. Nothing in it refers to Python objects of the network it was built from, so a
deserialized engine is the same IR as the one the builder made.

Attribute values are plain Python values (``bool``, ``int``, ``float``, ``str``, ``None``,
``bytes``, tuples), offline enum members, :class:`WeightsRef`, :class:`TensorRef`,
:class:`ArrayValue` (numpy arrays a plugin was given) and :class:`MapValue`. The CBOR form
of each is defined by :func:`to_record` / :func:`from_record` (see docs/offline-engine.md).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trt_netser.offline import _enums
from trt_netser.offline._enumbase import PybindEnum


@dataclass(frozen=True)
class WeightsRef:
    """An attribute that holds weights: index into :attr:`GraphIR.weights`."""

    index: int


@dataclass(frozen=True)
class TensorRef:
    """An attribute that refers to a tensor: its id in :attr:`GraphIR.tensors`."""

    id: int


@dataclass(frozen=True)
class ArrayValue:
    """A numpy array attribute (plugin fields): dtype string, shape, C-order bytes."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes

    def numpy(self) -> np.ndarray:
        """The array (read-only view of the bytes)."""
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape)


@dataclass(frozen=True)
class MapValue:
    """A mapping attribute, as (key, value) pairs in a canonical order."""

    items: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class TensorIR:
    """A tensor of the engine's graph."""

    id: int
    name: str
    dtype: Any  # DataType
    shape: tuple[int, ...]
    location: Any  # TensorLocation
    is_shape: bool
    is_execution: bool
    producer: int | None  # layer index, None for network inputs
    index: int  # output slot of the producer


@dataclass
class WeightIR:
    """One use of weights by a layer attribute; ``data`` is None when stripped from the plan.

    ``data`` is immutable bytes, or a read-only byte view of a buffer the engine holds (a
    deserialized plan's, or a refit's copy) so that large engines are not copied per weight.
    """

    layer: int
    attr: str
    dtype: Any  # DataType
    count: int
    name: str | None
    data: bytes | memoryview | None

    def numpy(self) -> np.ndarray | None:
        """The values as a flat numpy array of the weights' dtype (uint8 for packed types)."""
        if self.data is None:
            return None
        from trt_netser.offline._types import _NP_OF

        np_t = _NP_OF.get(int(self.dtype), np.uint8)
        return np.frombuffer(self.data, dtype=np_t)


@dataclass
class LayerIR:
    """A layer: type, name, tensor ids in/out and every attribute."""

    index: int
    name: str
    type: Any  # LayerType
    inputs: tuple[int | None, ...]
    outputs: tuple[int, ...]
    attrs: dict[str, Any]
    private: dict[str, Any]
    metadata: str
    num_ranks: int
    precision: Any  # DataType or None when not set
    output_types: dict[int, Any]
    construct: int | None


@dataclass
class ConstructIR:
    """A loop, if-conditional or attention and the layers it owns."""

    index: int
    kind: str  # "ILoop", "IIfConditional", "IAttention"
    name: str
    metadata: str
    num_ranks: int
    inputs: tuple[int | None, ...]
    attrs: dict[str, Any]
    layers: tuple[int, ...]


@dataclass
class ProfileIR:
    """One optimization profile: min/opt/max per input (shapes) and per shape input (values)."""

    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]
    values: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]
    extra_memory_target: float


@dataclass
class GraphIR:
    """The whole network as the engine holds it."""

    name: str
    flags: int  # NetworkDefinitionCreationFlag bits
    tensors: list[TensorIR]
    inputs: list[int]
    outputs: list[int]
    shape_outputs: list[int]
    layers: list[LayerIR]
    constructs: list[ConstructIR]
    weights: list[WeightIR]
    profiles: list[ProfileIR] = field(default_factory=list)

    def tensor_by_name(self, name: str) -> TensorIR | None:
        """The IO tensor (or any tensor) with this name, inputs and outputs first."""
        for tid in (*self.inputs, *self.outputs, *self.shape_outputs):
            if self.tensors[tid].name == name:
                return self.tensors[tid]
        return next((t for t in self.tensors if t.name == name), None)


class Unencodable(Exception):
    """An attribute value the plan format cannot hold."""


# -- values <-> CBOR records ------------------------------------------------------------------
# Tagged values are one-key maps whose key starts with "$", so they never collide with the
# string-keyed maps of the plan itself.


_PLAIN = frozenset({type(None), bool, str, bytes, int, float})
#: Plain types whose subclasses are recorded as the plain value (bool before int).
_PLAIN_BASES: tuple[type[Any], ...] = (bool, int, float, str, bytes)
_ENUM_TYPES: dict[str, type] = {}


def to_record(value: Any) -> Any:
    """The CBOR-ready form of an IR attribute value."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t is tuple or t is list:
        return [to_record(v) for v in value]
    if isinstance(value, PybindEnum):
        return {"$enum": [t.__name__, value._value]}
    if t is WeightsRef:
        return {"$weights": value.index}
    if t is TensorRef:
        return {"$tensor": value.id}
    if t is ArrayValue:
        return {"$array": [value.dtype, list(value.shape), value.data]}
    if t is MapValue:
        return {"$map": [[to_record(k), to_record(v)] for k, v in value.items]}
    for plain in _PLAIN_BASES:  # subclasses of the plain types
        if isinstance(value, plain):
            return plain(value)
    if isinstance(value, tuple | list):
        return [to_record(v) for v in value]
    if isinstance(value, np.generic):
        return to_record(value.item())
    raise Unencodable(f"{t.__name__} value")


def _enum_type(name: str) -> type:
    cls = _ENUM_TYPES.get(name)
    if cls is None:
        found = getattr(_enums, name, None)
        if not (isinstance(found, type) and issubclass(found, PybindEnum)):
            raise ValueError(f"unknown enum {name!r}")
        cls = _ENUM_TYPES[name] = found
    return cls


def from_record(rec: Any) -> Any:
    """The IR value of a CBOR record made by :func:`to_record` (lists become tuples)."""
    t = type(rec)
    if t is list:
        return tuple(from_record(v) for v in rec)
    if t is not dict:
        return rec
    if len(rec) != 1:
        raise ValueError(f"bad tagged value {sorted(rec)}")
    ((tag, body),) = rec.items()
    if tag == "$enum":
        return _enum_type(body[0])(body[1])
    if tag == "$weights":
        return WeightsRef(int(body))
    if tag == "$tensor":
        return TensorRef(int(body))
    if tag == "$array":
        return ArrayValue(str(body[0]), tuple(int(d) for d in body[1]), bytes(body[2]))
    if tag == "$map":
        return MapValue(tuple((from_record(k), from_record(v)) for k, v in body))
    raise ValueError(f"unknown tag {tag!r}")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small acyclic objects are made.

    Building or decoding a large plan allocates records faster than they die, which makes
    CPython's generational collector rescan the growing heap again and again (quadratic
    time); reference counting frees these objects anyway. The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def enum_record(value: Any) -> Any:
    """An enum member as its record (None stays None)."""
    return None if value is None else to_record(value)
