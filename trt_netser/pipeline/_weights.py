"""The network's weights as refit sees them: by (layer name, role) and by weights name.

This is the one place where the pipeline touches weight values. It reads each weights
property once through TensorRT's public getters (numpy views of the caller's buffers, or
``trt.Weights`` for types numpy lacks) and hands exactly those objects to the refitter,
so no weight buffer is copied. Values are only *read* to digest weights the engine baked
in (see :mod:`trt_netser.pipeline._entry`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import blake3
import numpy as np

from trt_netser.capturing import lookup_network
from trt_netser.layers import layer_reading
from trt_netser.policy import DATATYPE_BITS, NUMPY_TO_DATATYPE
from trt_netser.walk import trt_api, trt_module_of, unwrap_network

__all__ = [
    "WEIGHT_ROLES",
    "NetworkWeights",
    "WeightSource",
    "collect_weights",
    "dtype_name",
    "values_digest",
    "weights_nbytes",
]

#: Every weights property of a TensorRT 10.16 layer, and the ``WeightsRole`` member a
#: refitter addresses it by. Properties absent here (``IScaleLayer.power``) have no role:
#: TensorRT cannot refit them, so they are always baked into the engine ("pinned").
WEIGHT_ROLES: Mapping[tuple[str, str], str | None] = {
    ("IConvolutionLayer", "kernel"): "KERNEL",
    ("IConvolutionLayer", "bias"): "BIAS",
    ("IDeconvolutionLayer", "kernel"): "KERNEL",
    ("IDeconvolutionLayer", "bias"): "BIAS",
    ("IScaleLayer", "shift"): "SHIFT",
    ("IScaleLayer", "scale"): "SCALE",
    ("IScaleLayer", "power"): None,
    ("IConstantLayer", "weights"): "CONSTANT",
}

_PROPS_BY_CLASS: dict[str, tuple[tuple[str, str | None], ...]] = {}
for (_cls, _prop), _role in WEIGHT_ROLES.items():
    _PROPS_BY_CLASS[_cls] = (*_PROPS_BY_CLASS.get(_cls, ()), (_prop, _role))

#: ``WeightSource.pointer`` before it is first read (a pointer costs ~1 us to read and
#: only names resolution and ``nbytes`` need it).
_UNREAD: Any = object()


class WeightSource:
    """One weights property of one layer, as the network holds it now.

    ``value`` is what the getter returned (a numpy view or ``trt.Weights``) and is what
    the refitter is given. ``role`` is None for weights TensorRT cannot refit.
    ``name`` is the weights name given with ``set_weights_name`` (if resolved).
    ``pointer`` is the buffer's address (None when TensorRT's Python API exposes none),
    read when first asked for.
    """

    __slots__ = (
        "_pointer",
        "count",
        "dtype",
        "index",
        "layer",
        "name",
        "owner",
        "prop",
        "role",
        "value",
    )

    def __init__(
        self,
        index: int,
        layer: str,
        owner: str,
        prop: str,
        role: str | None,
        value: Any,
        dtype: str,
        count: int,
        pointer: int | None = _UNREAD,
        name: str | None = None,
    ) -> None:
        self.index = index
        self.layer = layer
        self.owner = owner
        self.prop = prop
        self.role = role
        self.value = value
        self.dtype = dtype
        self.count = count
        self._pointer = pointer
        self.name = name

    @property
    def pointer(self) -> int | None:
        """The address of the weights buffer (None if it cannot be located)."""
        found = self._pointer
        if found is _UNREAD:
            found = self._pointer = _pointer(self.value)
        return found

    @property
    def where(self) -> str:
        """``layer.prop`` (for messages)."""
        return f"{self.layer!r}.{self.prop}"

    def __repr__(self) -> str:
        return (
            f"WeightSource({self.layer!r}, {self.prop!r}, role={self.role!r}, "
            f"{self.dtype} x {self.count}, name={self.name!r})"
        )


@dataclass
class NetworkWeights:
    """All weights of a network, addressable by (layer, role) and by name."""

    sources: list[WeightSource]
    by_layer_role: dict[tuple[str, str], WeightSource] = field(default_factory=dict)
    by_name: dict[str, list[WeightSource]] = field(default_factory=dict)
    #: names given with set_weights_name whose buffer could not be told apart from
    #: other weights of the same dtype and count (no pointer recorded): name -> reason.
    unresolved_names: dict[str, str] = field(default_factory=dict)
    #: (layer, role) pairs that occur on more than one layer (duplicate layer names).
    duplicate_layers: set[tuple[str, str]] = field(default_factory=set)

    def named(self, name: str) -> WeightSource | None:
        """The first source carrying weights name ``name`` (all share one buffer)."""
        found = self.by_name.get(name)
        return found[0] if found else None

    @property
    def nbytes(self) -> int:
        """Bytes of every non-empty weights buffer (shared buffers counted once)."""
        seen: set[int] = set()
        total = 0
        for s in self.sources:
            if s.pointer is not None:
                if s.pointer in seen:
                    continue
                seen.add(s.pointer)
            total += weights_nbytes(s.value)
        return total


_NUMPY_NAMES: dict[np.dtype[Any], str] = {}


def dtype_name(dtype: Any) -> str:
    """A DataType member name for a numpy dtype, a ``trt.DataType`` or a name."""
    if isinstance(dtype, np.dtype):
        found = _NUMPY_NAMES.get(dtype)
        if found is None:
            found = _NUMPY_NAMES[dtype] = NUMPY_TO_DATATYPE.get(dtype.name, dtype.name)
        return found
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        name = np.dtype(dtype).name
        return NUMPY_TO_DATATYPE.get(name, name)
    attr = getattr(dtype, "name", None)
    if isinstance(attr, str):
        return attr
    return str(dtype)


def weights_nbytes(value: Any) -> int:
    """Bytes of a weights value: a numpy array's own, else its count by the bits of its
    DataType. Not ``trt.Weights.nbytes``: the 10.16 bindings report ``2**64 - count``
    for INT4 and FP4 weights made from a pointer."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    dtype, count = _describe(value)
    bits = DATATYPE_BITS.get(dtype)
    if bits is None:
        n = getattr(value, "nbytes", None)
        return int(n) if isinstance(n, int) and 0 <= n < 1 << 62 else 0
    return (count * bits + 7) // 8


def _pointer(value: Any) -> int | None:
    if isinstance(value, np.ndarray):
        return int(value.__array_interface__["data"][0]) if value.size else None
    return None  # trt.Weights exposes no pointer in the Python API


def _describe(value: Any) -> tuple[str, int]:
    if isinstance(value, np.ndarray):
        return dtype_name(value.dtype), int(value.size)
    return dtype_name(getattr(value, "dtype", "?")), int(getattr(value, "size", 0) or 0)


@dataclass(frozen=True, slots=True)
class _LayerPlan:
    """What to read from layers of one LayerType that hold weights."""

    owner: str
    props: tuple[tuple[str, str | None], ...]


@lru_cache(maxsize=8)
def _layer_plans(module: Any) -> dict[int, _LayerPlan | None]:
    """``int(LayerType)`` -> the plan of its layer class, None for types without weights
    (decided by type, before any property is read)."""
    plans: dict[int, _LayerPlan | None] = {}
    for layer_type, cls in trt_api(module).classes_by_type.items():
        props = _PROPS_BY_CLASS.get(cls.__name__)
        plans[layer_type] = None if props is None else _LayerPlan(cls.__name__, props)
    return plans


def collect_weights(network: Any, names: Mapping[str, Any] | None = None) -> NetworkWeights:
    """Read every weights property of ``network`` once (no copies) and resolve names.

    ``names`` maps weights names to the arrays (or ``trt.Weights``) they were given with
    ``set_weights_name`` (TensorRT-LLM: the model's named parameters); a name then goes
    to the layer weights sharing that buffer. Otherwise names come from the capture.
    The layers are the walk's reading (shared with the key inside the pipeline, see
    :mod:`trt_netser.layers`); a layer's type decides whether any property is read, and
    the (layer, role) index is filled as the sources are made.
    """
    net: Any = unwrap_network(network)
    module = trt_module_of(net)
    reading = layer_reading(net, trt_api(module))
    get_plan = _layer_plans(module).get
    ndarray = np.ndarray
    numpy_names = _NUMPY_NAMES
    sources: list[WeightSource] = []
    by_layer_role: dict[tuple[str, str], WeightSource] = {}
    duplicates: set[tuple[str, str]] = set()
    for index, (layer, layer_type) in enumerate(zip(reading.layers, reading.types, strict=True)):
        plan = get_plan(int(layer_type))
        if plan is None:
            continue  # no weights properties (or a type this module has no class for)
        layer_name = layer.name
        if type(layer_name) is not str:
            layer_name = str(layer_name)
        for prop, role in plan.props:
            value = getattr(layer, prop, None)
            if value is None:
                continue
            if type(value) is ndarray:
                dtype = numpy_names.get(value.dtype) or dtype_name(value.dtype)
                count = value.size
            else:
                dtype, count = _describe(value)
            if count <= 0:
                continue  # an unset bias: nothing to refit or pin
            source = WeightSource(index, layer_name, plan.owner, prop, role, value, dtype, count)
            sources.append(source)
            if role is not None:
                slot = (layer_name, role)
                if by_layer_role.setdefault(slot, source) is not source:
                    duplicates.add(slot)
    weights = NetworkWeights(sources, by_layer_role, duplicate_layers=duplicates)
    if names:
        _attach_names(weights, names)
    _resolve_names(net, weights)
    return weights


def _attach_names(weights: NetworkWeights, names: Mapping[str, Any]) -> None:
    """Names given with their buffers: matched by pointer, dtype and count, as TensorRT does."""
    by_buffer: dict[tuple[int, str, int], list[WeightSource]] = {}
    for s in weights.sources:
        if s.pointer is not None:
            by_buffer.setdefault((s.pointer, s.dtype, s.count), []).append(s)
    for name in sorted(names):
        value = names[name]
        if not isinstance(value, np.ndarray):
            to_numpy = getattr(value, "numpy", None)
            with contextlib.suppress(Exception):
                value = to_numpy() if callable(to_numpy) else value
        if not isinstance(value, np.ndarray):
            weights.unresolved_names[name] = "its buffer cannot be located (not numpy-backed)"
            continue
        pointer = _pointer(value)
        dtype, count = _describe(value)
        found = by_buffer.get((pointer, dtype, count), []) if pointer is not None else []
        if not found:
            weights.unresolved_names[name] = "no layer of the network uses its buffer"
            continue
        for s in found:
            s.name = name
        weights.by_name[name] = found


def _resolve_names(network: Any, weights: NetworkWeights) -> None:
    """Attach weights names recorded by ``trt_netser.capture`` to the sources they name.

    TensorRT names "all Weights with matching type, value pointer, and count". When the
    capture recorded the pointer it decides; otherwise a name is resolved only if one
    buffer (or one source) in the network has its dtype and count.
    """
    record = lookup_network(network)
    if record is None:
        return
    latest: dict[str, tuple[Any, ...]] = {}
    for entry in record.weights_names:
        latest[str(entry[0])] = tuple(entry)
    # indexed once (not one scan of every source per name): sources by (dtype, count) and
    # by (dtype, count, pointer), and how many buffers each group spans
    groups: dict[tuple[Any, ...], list[WeightSource]] = {}
    if latest:
        for s in weights.sources:
            groups.setdefault((s.dtype, s.count), []).append(s)
            groups.setdefault((s.dtype, s.count, s.pointer), []).append(s)
    spans: dict[tuple[Any, ...], int] = {}
    for name in sorted(latest):
        if name in weights.by_name:
            continue  # given with its buffer
        entry = latest[name]
        dtype, count = dtype_name(entry[1]), int(entry[2])
        pointer = entry[3] if len(entry) > 3 and isinstance(entry[3], int) else None
        group = (dtype, count) if pointer is None else (dtype, count, pointer)
        matches = groups.get(group, [])
        if group not in spans:
            spans[group] = len({s.pointer if s.pointer is not None else id(s) for s in matches})
        buffers = spans[group]
        if not matches:
            weights.unresolved_names[name] = f"no weights of {dtype} x {count} in the network"
            continue
        if buffers > 1:
            weights.unresolved_names[name] = (
                f"{buffers} weight buffers of {dtype} x {count} could carry it "
                "(the capture recorded no pointer to tell them apart)"
            )
            continue
        for s in matches:
            s.name = name
        weights.by_name[name] = matches


def values_digest(value: Any) -> str | None:
    """blake3 of the weights' values as little-endian bytes; None if unreadable."""
    array: Any = value
    if not isinstance(array, np.ndarray):
        to_numpy = getattr(value, "numpy", None)
        try:
            array = to_numpy() if callable(to_numpy) else None
        except Exception:
            array = None
        if not isinstance(array, np.ndarray):
            try:
                return blake3.blake3(memoryview(value)).hexdigest()
            except TypeError:
                return None
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    if not array.flags["C_CONTIGUOUS"]:
        array = np.ascontiguousarray(array)
    hasher = blake3.blake3()
    hasher.update(array.dtype.str.encode() + b"\0")
    hasher.update(memoryview(array.reshape(-1)).cast("B"))
    return hasher.hexdigest()
