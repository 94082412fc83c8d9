"""Visit a TensorRT network in topological order and produce its canonical records.

Works on any module with TensorRT's Python API (the real bindings or
``trt_netser.offline``) through public names only. Attributes are discovered
generically: every readable property of a layer's concrete class is encoded except the
entries of the tables in :mod:`trt_netser.policy`.

The walk has two passes. The first reads every layer's type, inputs and outputs and
sorts the layers topologically (Kahn's algorithm, ties broken by insertion index), so
every tensor reference can name its producer's canonical position. The second emits one
record per network header, input, construct, layer and output, in that order.
"""

from __future__ import annotations

import ctypes
import heapq
import importlib
import inspect
import operator
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np

from trt_netser import capturing as _capture
from trt_netser.canonical import encode_text, head, join_array
from trt_netser.encode import (
    encode_record,
    encode_value,
    encoded,
    input_ref_bytes,
    output_ref_bytes,
    record_layout,
)
from trt_netser.errors import UnhashableNetworkError
from trt_netser.layers import layer_reading
from trt_netser.policy import (
    CAPTURED_LAYER_STATE,
    CLASS_PROPERTY_EXCLUSIONS,
    CONDITIONAL_PROPERTIES,
    CONSTRUCT_CLASSES,
    CONSTRUCT_PROPERTY_EXCLUSIONS,
    DATATYPE_BITS,
    DEFAULT_NAMES,
    LAYER_CLASS_OVERRIDES,
    LAYER_GETTER_METHODS,
    LAYER_PROPERTY_EXCLUSIONS,
    NETWORK_PROPERTY_EXCLUSIONS,
    NUMPY_TO_DATATYPE,
    TENSOR_PROPERTY_EXCLUSIONS,
    DefaultName,
    Policy,
    Relevance,
)
from trt_netser.records import (
    SCHEMA_VERSION,
    STREAM_FORMAT,
    ConstructRef,
    Encoded,
    EnumValue,
    Record,
    TensorRef,
    WeightsValue,
)

_compiled: ModuleType | None
try:  # the compiled twin of the layer loop (_layer_chunk, _encode_refs, read_edges), if built
    _compiled = importlib.import_module("trt_netser._layerwriter")
except ImportError:  # pragma: no cover - depends on the installation
    _compiled = None

_PLAIN = frozenset({type(None), bool, int, float, str, bytes})


_DEFAULT_LAYER_NAME = DEFAULT_NAMES["layer"]
_DEFAULT_TENSOR_NAME = DEFAULT_NAMES["tensor"]
_DEFAULT_NETWORK_NAME = DEFAULT_NAMES["network"]
_DEFAULT_CONSTRUCT_NAME = DEFAULT_NAMES["construct"]


_INT_ONLY = frozenset({int})

#: Types whose equal values always encode equally (see Walk._is_key_safe).
_KEY_SAFE = frozenset({type(None), bool, int, str, bytes})


def _is_enum_type(kind: type) -> bool:
    """Whether ``kind`` is a TensorRT enum: its values are canonical by type and int
    (Walk._enum), so they are key-safe, and the compiled writer keys them by their int."""
    return hasattr(kind, "__members__") and hasattr(kind, "name")


#: A layer record's fields in the order _layer_record inserts them, and their layout, for
#: the layers that _layer_chunk writes straight to bytes.
_LAYER_FIELDS = ("index", "type", "name", "inputs", "outputs", "attrs")
_LAYER_LAYOUT = record_layout("layer", _LAYER_FIELDS)
_NULL = encode_value(None)
_LITTLE_ENDIAN = sys.byteorder == "little"
_LAYERS_PER_CHUNK = 256  # layer records per piece of Walk.chunks (hashed in one call)
_UNSET: Any = object()  # a dict.get default: not looked up yet

#: Input slot of IRecurrenceLayer that carries the loop's back edge (the one legal cycle).
_RECURRENCE_BACK_EDGE = 1


def user_name(name: object, default: DefaultName) -> str | None:
    """``name`` if the user gave it, None if it is TensorRT's counter-bearing default."""
    if not isinstance(name, str) or _is_default(name, default):
        return None
    return name


def _is_default(name: str, default: DefaultName) -> bool:
    """Whether ``name`` is one of TensorRT's default names of this kind."""
    prefix, rest = default
    return name.startswith(prefix) and rest.fullmatch(name, len(prefix)) is not None


# --------------------------------------------------------------------------- API tables


@dataclass(frozen=True)
class TrtApi:
    """What the walker needs to know about one TensorRT module, computed once."""

    module: ModuleType
    ILayer: type
    ITensor: type | None
    Weights: type | None
    sequences: tuple[type, ...]
    constructs: tuple[tuple[type, str], ...]
    layer_type_getter: Any
    classes_by_type: Mapping[int, type]

    @property
    def version(self) -> str:
        return str(getattr(self.module, "__version__", "unknown"))


_R = TypeVar("_R")


def _per_class(maxsize: int) -> Callable[[Callable[[type], _R]], Callable[[type], _R]]:
    """``lru_cache`` for a function of a class. Typed as a plain function of ``type``:
    mypy's stub for the cache wants ``Hashable`` arguments, and it does not see the
    ``type(x)`` of an ``Any`` (every TensorRT object here) as one."""
    return cast(Callable[[Callable[[type], _R]], Callable[[type], _R]], lru_cache(maxsize))


@_per_class(maxsize=512)
def readable_properties(cls: type) -> tuple[str, ...]:
    """Public property names readable on ``cls`` (inherited ones included), sorted."""
    names = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if not name.startswith("_") and isinstance(value, property) and value.fget:
                names.add(name)
    return tuple(sorted(names))


def layer_class_name(type_name: str, names: Iterable[str]) -> str | None:
    """Which of ``names`` is the layer class of LayerType member ``type_name``:
    ``MATRIX_MULTIPLY`` -> ``IMatrixMultiplyLayer`` (ignoring case and underscores), or
    the entry of LAYER_CLASS_OVERRIDES. Used on live modules and on API dumps alike."""
    candidates = sorted(names)
    override = LAYER_CLASS_OVERRIDES.get(type_name)
    if override is not None:
        return override if override in candidates else None
    wanted = type_name.replace("_", "").upper()
    for name in candidates:
        if (
            name.startswith("I")
            and name.endswith("Layer")
            and name[1:-5].replace("_", "").upper() == wanted
        ):
            return name
    return None


def _class_for(module: ModuleType, type_name: str) -> type | None:
    name = layer_class_name(
        type_name, (n for n in dir(module) if isinstance(getattr(module, n), type))
    )
    return None if name is None else getattr(module, name)


@lru_cache(maxsize=8)
def trt_api(module: ModuleType) -> TrtApi:
    """Build the walker's tables (layer classes by LayerType, ...) from ``module``."""
    ilayer = module.ILayer
    layer_type = module.LayerType
    classes: dict[int, type] = {}
    for name, member in layer_type.__members__.items():
        cls = _class_for(module, name)
        if cls is not None:
            classes.setdefault(int(member), cls)
    sequences = tuple(
        cls
        for cls in (getattr(module, n, None) for n in ("Dims", "Permutation"))
        if isinstance(cls, type)
    )
    constructs = tuple(
        (cls, kind)
        for cls, kind in (
            (getattr(module, name, None), kind) for name, kind in CONSTRUCT_CLASSES.items()
        )
        if isinstance(cls, type)
    )
    return TrtApi(
        module=module,
        ILayer=ilayer,
        ITensor=getattr(module, "ITensor", None),
        Weights=getattr(module, "Weights", None),
        sequences=sequences,
        constructs=constructs,
        layer_type_getter=inspect.getattr_static(ilayer, "type"),
        classes_by_type=classes,
    )


def trt_module_of(network: object) -> ModuleType:
    """The TensorRT-like module that defines ``network``'s class."""
    parts = type(network).__module__.split(".")
    for end in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        if module is not None and hasattr(module, "LayerType") and hasattr(module, "ILayer"):
            return module
    raise TypeError(
        f"expected a TensorRT INetworkDefinition, got {type(network).__module__}."
        f"{type(network).__qualname__}"
    )


def unwrap_network(network: object) -> object:
    """Accept a TensorRT-LLM ``Network`` (it holds the TensorRT network in ``trt_network``)."""
    inner = getattr(network, "trt_network", None)
    if inner is not None and not hasattr(network, "get_layer"):
        return inner
    if not (hasattr(network, "get_layer") and hasattr(network, "num_layers")):
        raise TypeError(
            "expected a tensorrt.INetworkDefinition (or a TensorRT-LLM Network), "
            f"got {type(network).__qualname__}"
        )
    return network


def _reader(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """Read all ``names`` of an object in one call (a tuple, whatever their number)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return operator.attrgetter(*names)


class Adjacency:
    """Each layer's input or output tensors, in one flat list with offsets: ``adj[i]`` is
    layer i's list. A walk of 100k layers would otherwise keep 200k small lists alive
    until it ends, and the garbage collector's full passes (which survivors trigger)
    would traverse them."""

    __slots__ = ("flat", "starts")

    def __init__(self) -> None:
        #: All layers' tensors, layer i's at ``flat[starts[i]:starts[i + 1]]``.
        self.flat: list[Any] = []
        self.starts = [0]

    def append(self, tensors: list[Any]) -> None:
        self.flat += tensors
        self.starts.append(len(self.flat))

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, i: int) -> list[Any]:
        return self.flat[self.starts[i] : self.starts[i + 1]]

    def __iter__(self) -> Iterator[list[Any]]:
        flat, starts = self.flat, self.starts
        return (flat[starts[i] : starts[i + 1]] for i in range(len(starts) - 1))


def read_edges(
    layers: Sequence[Any],
    producer: dict[int, tuple[int, int]],
    input_index: Mapping[int, int],
    inputs: Adjacency,
    outputs: Adjacency,
) -> bool:
    """The walk's structure pass over ``layers`` (a :class:`~trt_netser.layers.LayerReading`'s):
    each layer's inputs and outputs appended to ``inputs`` and ``outputs`` (which then
    hold every tensor wrapper, so ids stay valid), each output's first producer in
    ``producer``, and whether every input is a network input (``input_index``) or an
    output of an earlier layer: the insertion order is then topological. Its compiled
    twin is ``_layerwriter.read_edges``."""
    in_flat, in_starts = inputs.flat, inputs.starts
    out_flat, out_starts = outputs.flat, outputs.starts
    forward = True
    for i, layer in enumerate(layers):
        for s in range(layer.num_inputs):
            tensor = layer.get_input(s)
            in_flat.append(tensor)
            if forward and tensor is not None:
                key = id(tensor)
                forward = key in producer or key in input_index
        in_starts.append(len(in_flat))
        for j in range(layer.num_outputs):
            tensor = layer.get_output(j)
            out_flat.append(tensor)
            if tensor is not None:
                producer.setdefault(id(tensor), (i, j))
        out_starts.append(len(out_flat))
    return forward


class Plan:
    """Which properties of one class are encoded (with their relevance rules), read all
    at once by ``read_all``; for layer classes also the getter methods that are called,
    whether the class holds a plugin, and its CAPTURED_LAYER_STATE rule."""

    __slots__ = (
        "captured",
        "has_plugin",
        "key_order",
        "methods",
        "names",
        "owner",
        "props",
        "read_all",
        "rule_slots",
        "rules",
        "rules_by_position",
        "shape_index",
    )

    def __init__(
        self,
        owner: str,
        props: tuple[tuple[str, Relevance | None], ...],
        methods: tuple[tuple[str, str], ...] = (),
        has_plugin: bool = False,
        captured: tuple[bool, str] | None = None,
    ) -> None:
        self.owner = owner
        self.props = props
        self.methods = methods
        self.has_plugin = has_plugin
        self.captured = captured
        self.names = tuple(name for name, _ in props)
        self.read_all = _reader(self.names)
        self.rules = tuple((i, rule) for i, (_, rule) in enumerate(props) if rule is not None)
        self.shape_index = self.names.index("shape") if "shape" in self.names else None
        self.rules_by_position = _rules_by_position(self.names, self.rules)
        #: (encoded name, position) in canonical map order (bytewise by encoded name).
        self.key_order = tuple(sorted((encode_text(n), i) for i, n in enumerate(self.names)))
        #: The input slots that rules look at (whether they are connected is in the key).
        self.rule_slots = tuple(sorted({s for _, rule in self.rules for s in rule.unless_input}))


class PositionalRule(NamedTuple):
    """A Relevance rule of the value at ``position`` with its sibling properties given by
    their positions in the values read (``unless_nonempty``, ``only_if_true``)."""

    position: int
    unless_input: tuple[int, ...]
    unless_nonempty: tuple[int, ...]
    only_if_true: tuple[int, ...]


def _rules_by_position(
    names: tuple[str, ...], rules: tuple[tuple[int, Relevance], ...]
) -> tuple[PositionalRule, ...] | None:
    """The rules with siblings by position, or None if a sibling is not among ``names``
    (it must then be read separately)."""
    siblings = {s for _, r in rules for s in (*r.unless_nonempty, *r.only_if_true)}
    if not siblings.issubset(names):
        return None
    return tuple(
        PositionalRule(
            i,
            rule.unless_input,
            tuple(names.index(s) for s in rule.unless_nonempty),
            tuple(names.index(s) for s in rule.only_if_true),
        )
        for i, rule in rules
    )


def _irrelevant_positions(
    rules: tuple[PositionalRule, ...], raw: tuple[Any, ...], inputs: list[Any] | None
) -> list[int]:
    """Positions of the values that ``rules`` make irrelevant (Walk._relevant, for rules
    whose siblings are among the values read)."""
    irrelevant = []
    for position, unless_input, unless_nonempty, only_if_true in rules:
        if (
            unless_input
            and inputs is not None
            and any(slot < len(inputs) and inputs[slot] is not None for slot in unless_input)
        ):
            irrelevant.append(position)
            continue
        for k in unless_nonempty:
            value = raw[k]
            try:
                if value is not None and len(value) > 0:
                    break
            except TypeError:
                pass
        else:
            for k in only_if_true:
                if not raw[k]:
                    break
            else:
                continue
        irrelevant.append(position)
    return irrelevant


@_per_class(maxsize=256)
def _class_plan(cls: type) -> Plan:
    """Which properties of a layer class are encoded, with their relevance rule, and
    which getter methods are called."""
    mro_names = [k.__name__ for k in cls.__mro__]
    props = []
    for name in readable_properties(cls):
        if name in LAYER_PROPERTY_EXCLUSIONS and not _shadows_ilayer(cls, name):
            continue
        if any((owner, name) in CLASS_PROPERTY_EXCLUSIONS for owner in mro_names):
            continue
        rule = next(
            (
                CONDITIONAL_PROPERTIES[(owner, name)]
                for owner in mro_names
                if (owner, name) in CONDITIONAL_PROPERTIES
            ),
            None,
        )
        props.append((name, rule))
    methods = tuple(
        (method, how)
        for (owner, method), how in sorted(LAYER_GETTER_METHODS.items())
        if owner in mro_names and callable(getattr(cls, method, None))
    )
    captured = next(
        (CAPTURED_LAYER_STATE[owner] for owner in mro_names if owner in CAPTURED_LAYER_STATE),
        None,
    )
    has_plugin = "plugin" in readable_properties(cls)
    if has_plugin:  # plugin layers report their fields in the record's 'plugin'
        captured = None
    return Plan(cls.__name__, tuple(props), methods, has_plugin, captured)


def _shadows_ilayer(cls: type, name: str) -> bool:
    """Whether ``cls`` redefines an ILayer property with other state (IActivationLayer.type
    and IPoolingLayer.type hold the ActivationType / PoolingType, not the LayerType)."""
    base = next((k for k in cls.__mro__ if k.__name__ == "ILayer"), None)
    if base is None or base is cls:
        return False
    try:
        return inspect.getattr_static(cls, name) is not inspect.getattr_static(base, name)
    except AttributeError:
        return False


# --------------------------------------------------------------------------- the walk


class _Unencodable(Exception):
    """A value of a type the canonical encoding does not know."""


class Walk:
    """One walk over one network; produces records through :meth:`records`."""

    def __init__(self, network: object, policy: Policy) -> None:
        self.network: Any = unwrap_network(network)
        self.api = trt_api(trt_module_of(self.network))
        self.policy = policy
        self.issues: list[str] = []
        self.capture = _capture.lookup_network(self.network)
        self._keep: list[object] = []  # keeps wrappers alive so identities stay valid
        self._producer: dict[int, tuple[int, int]] = {}
        self._by_name: dict[str, list[tuple[int, int]]] | None = None
        self._outputs = Adjacency()
        self._input_index: dict[int, int] = {}
        self._canonical: list[int] = []  # insertion index -> canonical index
        self._order: list[int] = []  # canonical index -> insertion index
        self._constructs: dict[int, ConstructRef] = {}
        self._pending_constructs: list[tuple[object, ConstructRef]] = []
        self._construct_counts: dict[str, int] = {}
        self._handlers: dict[type, Any] = {}
        self._enums: dict[tuple[type, int], EnumValue] = {}
        is_debug = getattr(self.network, "is_debug_tensor", None)
        self._is_debug = is_debug if callable(is_debug) else None
        self._interned: dict[Any, Encoded] = {}  # equal values share one Encoded
        self._unsafe_positions: dict[tuple[type, ...], tuple[int, ...]] = {}
        self._refs: dict[int, TensorRef] = {}
        self._ref_bytes: dict[int, bytes] = {}  # tensor id -> its reference, encoded
        self._simple_plans: dict[type, Any] = {}  # class -> _simple_plan(class)
        self._layer_types: dict[Any, Any] = {}  # LayerType -> encoded (None: unknown)
        self._templates: dict[tuple[Any, ...], tuple[Any, bytes]] = {}  # see _layer_chunk
        self._descs: dict[Any, bytes] = {}  # output key -> description (_layer_template)
        self._values: dict[tuple[type, Any], tuple[Any, bytes]] = {}  # see _encode_map
        self._numpy_dtypes: dict[np.dtype[Any], tuple[str, EnumValue | str]] = {}
        #: The insertion index of the layer whose record is being made (see _captured_values).
        self._weights_site: int | None = None
        #: Whether values of a type freeze to their items when those are all ints (Dims...).
        self._is_sequence: dict[type, bool] = {}
        #: Writes the bytes of a run of layer records: the compiled LayerWriter when it was
        #: built, else _layer_chunks. Both do the same (tests/hashing/test_fastpath.py).
        self._write_layers: Callable[..., bytes] = self._layer_chunks
        if _compiled is not None:
            self._write_layers = _compiled.LayerWriter(
                self,
                tensor_plan=_tensor_plan,
                layer_default=_DEFAULT_LAYER_NAME,
                tensor_default=_DEFAULT_TENSOR_NAME,
                layout=_LAYER_LAYOUT,
                ndarray=np.ndarray,
                little_endian_bytes=_little_endian_bytes,
                null=_NULL,
            ).chunks

    # ------------------------------------------------------------------ problems

    def problem(self, message: str) -> None:
        """Engine-relevant state is missing: raise, or note it when not strict."""
        if self.policy.strict:
            raise UnhashableNetworkError(message)
        self.issues.append(message)

    # ------------------------------------------------------------------ pass 1

    def _read_structure(self) -> tuple[list[Any], list[Any], Adjacency, Adjacency, bool]:
        """The network's inputs, then every layer with its type (one
        :func:`~trt_netser.layers.layer_reading`, shared with the key's other readers),
        inputs and outputs (see read_edges), and whether the insertion order is
        topological."""
        net = self.network
        for k in range(net.num_inputs):
            tensor = net.get_input(k)
            self._keep.append(tensor)
            self._input_index[id(tensor)] = k
        reading = layer_reading(net, self.api)
        inputs, outputs = Adjacency(), Adjacency()
        read = read_edges if _compiled is None else _compiled.read_edges
        forward = read(reading.layers, self._producer, self._input_index, inputs, outputs)
        self._outputs = outputs
        return reading.layers, reading.types, inputs, outputs, forward

    def _producer_of(self, tensor: object) -> tuple[int, int] | None:
        found = self._producer.get(id(tensor))
        if found is None:
            # Wrappers of one C++ tensor are normally one Python object while alive; fall
            # back to the (in practice unique) tensor name if a binding ever differs.
            name = _safe_name(tensor)
            candidates = self._names_index().get(name, []) if name is not None else []
            if len(candidates) == 1:
                found = candidates[0]
        return found

    def _names_index(self) -> dict[str, list[tuple[int, int]]]:
        """Producers by tensor name, built on first use (only for the fallback above)."""
        if self._by_name is None:
            self._by_name = {}
            for i, outs in enumerate(self._outputs):
                for j, tensor in enumerate(outs):
                    name = _safe_name(tensor) if tensor is not None else None
                    if name is not None:
                        self._by_name.setdefault(name, []).append((i, j))
        return self._by_name

    def _topological_order(
        self, layers: list[Any], types: list[Any], inputs: Adjacency, forward: bool = False
    ) -> list[int]:
        """Kahn's algorithm, ties broken by the smallest insertion index. If every input
        comes from an earlier layer (``forward``, see _read_structure) that order is the
        insertion order itself: each layer is ready once the ones before it are out."""
        n = len(layers)
        if forward:
            return list(range(n))
        consumers: list[list[int]] = [[] for _ in range(n)]
        indegree = [0] * n
        recurrence = getattr(self.api.module.LayerType, "RECURRENCE", None)
        for i, ins in enumerate(inputs):
            is_recurrence = recurrence is not None and types[i] == recurrence
            for slot, tensor in enumerate(ins):
                if tensor is None or id(tensor) in self._input_index:
                    continue
                if is_recurrence and slot == _RECURRENCE_BACK_EDGE:
                    continue
                producer = self._producer_of(tensor)
                if producer is None:
                    raise UnhashableNetworkError(
                        f"input {slot} of layer {i} {_safe_name(layers[i])!r} is neither a "
                        "network input nor produced by a layer of this network"
                    )
                consumers[producer[0]].append(i)
                indegree[i] += 1
        ready = [i for i in range(n) if indegree[i] == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for c in consumers[i]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    heapq.heappush(ready, c)
        if len(order) != n:
            stuck = min(i for i in range(n) if indegree[i] > 0)
            raise UnhashableNetworkError(
                f"the network has a cycle through layer {stuck} {_safe_name(layers[stuck])!r} "
                "(only the back edge into input 1 of an IRecurrenceLayer may close a cycle)"
            )
        return order

    # ------------------------------------------------------------------ values

    def ref(self, tensor: object) -> TensorRef:
        """The canonical reference of a tensor of this network (made once per tensor)."""
        found = self._refs.get(id(tensor))
        if found is not None:
            return found
        k = self._input_index.get(id(tensor))
        if k is not None:
            found = TensorRef(input=k)
        else:
            producer = self._producer_of(tensor)
            if producer is None:
                raise _Unencodable(f"tensor {_safe_name(tensor)!r} does not belong to this network")
            found = TensorRef(layer=self._canonical[producer[0]], slot=producer[1])
        self._keep.append(tensor)  # its id must not be reused while the walk runs
        self._refs[id(tensor)] = found
        return found

    def canon(self, value: Any, owner: str = "", prop: str = "") -> Any:
        """Canonical data for an attribute value (``owner``.``prop`` for weights policy)."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        handler = self._handlers.get(kind)
        if handler is None:
            handler = self._handlers[kind] = self._handler_for(kind)
        return handler(value, owner, prop)

    def _handler_for(self, kind: type) -> Any:
        """How values of one type are made canonical (decided once per type and walk)."""
        api = self.api
        if _is_enum_type(kind):
            return self._enum
        if issubclass(kind, bool):
            return lambda v, o, p: bool(v)
        if issubclass(kind, int):
            return lambda v, o, p: int(v)
        if issubclass(kind, float):
            return lambda v, o, p: float(v)
        if issubclass(kind, (str, bytes)):
            return lambda v, o, p: kind.__mro__[-2](v)
        if api.ITensor is not None and issubclass(kind, api.ITensor):
            return lambda v, o, p: self.ref(v)
        for cls, construct_kind in api.constructs:
            if issubclass(kind, cls):
                return lambda v, o, p, k=construct_kind: self.construct_ref(v, k)
        if (api.Weights is not None and issubclass(kind, api.Weights)) or issubclass(
            kind, np.ndarray
        ):
            return self.weights
        if issubclass(kind, np.generic):
            return lambda v, o, p: self.canon(v.item(), o, p)
        if issubclass(kind, np.dtype):  # set_weights_name(numpy array, ...) in a capture
            return lambda v, o, p: self._numpy_datatype(v)
        if issubclass(kind, type):  # a numpy scalar type given for a dtype (np.float16)
            return self._type_value
        if issubclass(kind, (bytearray, memoryview)):
            return lambda v, o, p: bytes(v)
        if issubclass(kind, (list, tuple, *api.sequences)):
            return lambda v, o, p: [self.canon(x, o, p) for x in v]
        if issubclass(kind, Mapping):
            return lambda v, o, p: {str(k): self.canon(x, o, p) for k, x in sorted(v.items())}

        def unencodable(v: Any, o: str, p: str) -> Any:
            raise _Unencodable(f"a value of type {kind.__module__}.{kind.__qualname__}")

        return unencodable

    def _numpy_datatype(self, dtype: np.dtype[Any]) -> EnumValue | str:
        """The DataType that TensorRT converts a numpy dtype to (its name if none): a
        numpy array and the ``trt.Weights`` made from it then give the same value."""
        name = dtype.name
        return self.datatype(NUMPY_TO_DATATYPE.get(name, name))

    def _type_value(self, value: type, owner: str = "", prop: str = "") -> EnumValue | str:
        if issubclass(value, np.generic):
            return self._numpy_datatype(np.dtype(value))
        raise _Unencodable(f"the class {value.__module__}.{value.__qualname__}")

    def safe_canon(self, value: Any, what: str) -> Any:
        """:meth:`canon`, or None after a problem naming ``what`` if the value cannot be
        encoded (for values outside attribute maps: captured calls, fields, names)."""
        try:
            return self.canon(value)
        except _Unencodable as exc:
            self.problem(f"{what} holds {exc}, which cannot be encoded")
            return None

    def _enum(self, value: Any, owner: str = "", prop: str = "") -> EnumValue:
        key = (type(value), int(value))
        found = self._enums.get(key)
        if found is None:
            found = self._enums[key] = EnumValue(
                type(value).__name__, key[1], str(getattr(value, "name", ""))
            )
        return found

    def datatype(self, name: str) -> EnumValue | str:
        member = getattr(getattr(self.api.module, "DataType", None), name, None)
        if member is None:
            return name
        return EnumValue("DataType", int(member), name)

    def weights(self, value: Any, owner: str, prop: str) -> WeightsValue:
        """Weights by dtype and count; values only where the weights policy says so."""
        return WeightsValue(*self._weights_fields(value, owner, prop))

    def _weights_fields(
        self, value: Any, owner: str, prop: str
    ) -> tuple[EnumValue | str, int, bytes | None]:
        """The dtype, count and hashed values (or None) of :meth:`weights`."""
        policy = self.policy.weights
        dtype: EnumValue | str
        if isinstance(value, np.ndarray):
            found = self._numpy_dtypes.get(value.dtype)
            if found is None:
                np_name = value.dtype.name
                dtype_name = NUMPY_TO_DATATYPE.get(np_name, np_name)
                found = self._numpy_dtypes[value.dtype] = (dtype_name, self.datatype(dtype_name))
            dtype_name, dtype = found
            count = int(value.size)
        else:
            raw = value.dtype
            dtype = self.canon(raw)
            dtype_name = str(getattr(raw, "name", raw))
            count = int(value.size)
        wanted = (
            policy.mode == "all"
            or dtype_name in policy.structural_dtypes
            or (policy.hash_single_element and count == 1)
            or (owner, prop) in policy.non_refittable
        )
        values = None
        if wanted and count:
            array = value if isinstance(value, np.ndarray) else _weights_array(value)
            if array is not None:
                values = _little_endian_bytes(array)
            else:
                values = self._captured_values(value, prop, dtype_name, count)
                if values is None:
                    self.problem(
                        f"{owner}.{prop}: the values of {dtype_name} weights cannot be read "
                        "back (TensorRT gives them as trt.Weights, which numpy cannot view); "
                        "build the network inside trt_netser.capture(trt), which notes where "
                        "trt.Weights(dtype, ptr, count) keep them"
                    )
        return dtype, count, values

    def _captured_values(self, value: Any, prop: str, dtype_name: str, count: int) -> bytes | None:
        """The bytes of weights that numpy cannot view, read where capture() saw them made
        (``trt.Weights(dtype, ptr, count)`` given to this layer's ``prop``), if the dtype
        and count still agree; None outside a layer record or without such a note."""
        if self.capture is None or self._weights_site is None:
            return None
        memory = self.capture.weights_memory.get((self._weights_site, prop))
        bits = DATATYPE_BITS.get(dtype_name)
        if memory is None or bits is None or not memory.ptr:
            return None
        if int(memory.count) != count or _enum_int(memory.dtype) != _enum_int(value.dtype):
            return None
        return ctypes.string_at(memory.ptr, (count * bits + 7) // 8)

    def construct_ref(self, construct: object, kind: str) -> ConstructRef:
        found = self._constructs.get(id(construct))
        if found is None:
            index = self._construct_counts.get(kind, 0)
            self._construct_counts[kind] = index + 1
            found = ConstructRef(kind, index)
            self._constructs[id(construct)] = found
            self._keep.append(construct)
            self._pending_constructs.append((construct, found))
        return found

    def read(self, obj: Any, name: str, what: str) -> tuple[bool, Any]:
        """Read one attribute defensively: (True, value) or (False, None) after a problem."""
        try:
            return True, getattr(obj, name)
        except Exception as exc:  # a binding may raise anything from a getter
            self.problem(f"{what}: reading {name!r} raised {type(exc).__name__}")
            return False, None

    def encode_attrs(
        self, obj: Any, plan: Plan, what: str, inputs: list[Any] | None = None
    ) -> dict[str, Any]:
        """``obj``'s attribute map, read property by property: a getter that raises, or a
        value that cannot be encoded, is reported as a problem naming the property."""
        attrs: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for name, rule in plan.props:
            if rule is not None and not self._relevant(obj, rule, inputs, values, what):
                continue
            ok, value = self.read(obj, name, what)
            if not ok:
                continue
            values[name] = value
            try:
                attrs[name] = self.canon(value, plan.owner, name)
            except _Unencodable as exc:
                self.problem(f"{what}: property {name!r} holds {exc}, which cannot be encoded")
        return attrs

    def attrs(
        self, obj: Any, plan: Plan, what: str | None, inputs: list[Any] | None = None
    ) -> tuple[Encoded, tuple[Any, ...] | None]:
        """``obj``'s encoded attribute map and the raw values read (None if the careful
        path was taken). All properties are read in one call, and the map is shared with
        every earlier object of the walk whose values are equal: an LLM repeats the same
        layers block after block, so most maps are looked up rather than encoded."""
        mark = len(self.issues)
        try:
            raw = plan.read_all(obj)
        except Exception:  # some getter raised: read one by one to report which
            return self._careful_attrs(obj, plan, what, inputs, mark), None
        if plan.rules and plan.rules_by_position is None:  # rules read other properties
            return self._careful_attrs(obj, plan, what, inputs, mark), None
        try:
            return self._intern_attrs(plan, raw, inputs), raw
        except _Unencodable:
            return self._careful_attrs(obj, plan, what, inputs, mark), None

    def _intern_attrs(
        self, plan: Plan, raw: tuple[Any, ...], inputs: list[Any] | None = None
    ) -> Encoded:
        """The encoded map of ``plan``'s names to the values ``raw`` (read by
        ``plan.read_all``, its rules by position), without the values that the relevance
        rules make irrelevant; shared by all equal maps of the walk (see _values_key)."""
        canonical: dict[int, Any] = {}
        key = self._values_key(plan, raw, inputs, canonical)
        found = self._interned.get(key)
        if found is None:
            found = self._interned[key] = self._encode_map(plan, raw, inputs, canonical, key)
        return found

    def _values_key(
        self,
        plan: Plan,
        raw: tuple[Any, ...],
        inputs: list[Any] | None,
        canonical: dict[int, Any] | None = None,
        holes: list[tuple[int, bytes]] | None = None,
    ) -> tuple[Any, ...]:
        """What decides the encoded map of values ``raw``: the plan, the values' types and
        values (for floats, containers and other values that are not key-safe, their
        canonical bytes; Dims their ints) and which of the rules' input slots are
        connected (the rules' sibling values are among the values). The canonical forms
        made on the way go to ``canonical`` (by position), so they are made once; for
        ``holes``, see _frozen."""
        types = tuple(map(type, raw))
        unsafe = self._unsafe_positions.get(types)
        if unsafe is None:
            unsafe = self._unsafe_of(types)
        if unsafe:
            values = list(raw)
            for i in unsafe:
                values[i] = self._frozen(raw[i], types[i], plan, i, canonical, holes)
            raw = tuple(values)
        if plan.rule_slots:
            n = 0 if inputs is None else len(inputs)
            connected = tuple([s < n and inputs[s] is not None for s in plan.rule_slots])  # type: ignore[index]  # inputs is None only when n == 0
            return (plan, types, raw, connected)
        return (plan, types, raw)

    def _frozen(
        self,
        value: Any,
        kind: type,
        plan: Plan,
        i: int,
        canonical: dict[int, Any] | None,
        holes: list[tuple[int, bytes]] | None = None,
    ) -> Any:
        """The key of a value that is not key-safe: a sequence of ints (Dims) stands for
        itself, an array of weights for what its encoding is made of, anything else for
        its canonical bytes. With ``holes`` (layer templates), a construct stands for its
        kind and its reference goes to ``holes``: every loop's or attention's layers then
        share one template, filled with their own construct (see _fill_holes)."""
        is_sequence = self._is_sequence.get(kind)
        if is_sequence is None:
            is_sequence = self._sequence_kind(kind)
        if is_sequence:
            try:
                items = tuple(value)
            except ValueError:  # TensorRT's invalid Dims (nbDims == -1): len() raises
                items = (None,)  # not ints: canon below iterates it (no entries)
            if _INT_ONLY.issuperset(map(type, items)):
                return ("ints", items)
        if kind is np.ndarray:  # weights: their numpy dtype, count and hashed values decide
            _, count, values = fields = self._weights_fields(value, plan.owner, plan.names[i])
            if canonical is not None:
                canonical[i] = WeightsValue(*fields)
            return ("array", value.dtype, count, values)
        form = self.canon(value, plan.owner, plan.names[i])
        if canonical is not None:
            canonical[i] = form
        if holes is not None and type(form) is ConstructRef:
            holes.append((i, encode_value(form)))
            return ("construct", form.kind)
        return ("bytes", encode_value(form))

    def _unsafe_of(self, types: tuple[type, ...]) -> tuple[int, ...]:
        """Positions of the values of ``types`` that are not key-safe (memoized)."""
        found = tuple(i for i, t in enumerate(types) if not self._is_key_safe(t))
        self._unsafe_positions[types] = found
        return found

    def _enum_positions(self, types: tuple[type, ...]) -> tuple[int, ...]:
        """Positions of the TensorRT enums among ``types`` (for the compiled writer)."""
        return tuple(i for i, t in enumerate(types) if _is_enum_type(t))

    def _sequence_kind(self, kind: type) -> bool:
        """Whether values of ``kind`` are sequences that may freeze to ints (memoized)."""
        found = self._is_sequence[kind] = issubclass(kind, (list, tuple, *self.api.sequences))
        return found

    def _encode_map(
        self,
        plan: Plan,
        raw: tuple[Any, ...],
        inputs: list[Any] | None,
        canonical: dict[int, Any],
        key: tuple[Any, ...],
    ) -> Encoded:
        """The attribute map of values ``raw`` (``canonical`` holds the canonical forms
        already made, by position; ``key`` is their _values_key), without the irrelevant
        ones. Each value's canonical form and bytes are shared within the walk by its type
        and key (which decide them), so a new map mostly joins known values."""
        irrelevant = (
            _irrelevant_positions(plan.rules_by_position, raw, inputs)
            if plan.rules_by_position
            else ()
        )
        owner, types, frozen = plan.owner, key[1], key[2]
        values = self._values
        forms: dict[int, tuple[Any, bytes]] = {}
        for i, (name, value) in enumerate(zip(plan.names, raw, strict=True)):
            if i in irrelevant:
                continue
            value_key = (types[i], frozen[i])
            found = values.get(value_key)
            if found is None:
                form = canonical[i] if i in canonical else self.canon(value, owner, name)
                found = values[value_key] = (form, encode_value(form))
            forms[i] = found
        parts = [head(5, len(forms))]
        for name_bytes, i in plan.key_order:  # the map's canonical order, known in advance
            if i in forms:
                parts += (name_bytes, forms[i][1])
        return Encoded({plan.names[i]: form for i, (form, _) in forms.items()}, b"".join(parts))

    def _careful_attrs(
        self, obj: Any, plan: Plan, what: str | None, inputs: list[Any] | None, mark: int
    ) -> Encoded:
        del self.issues[mark:]  # the careful path reports every problem itself
        return encoded(self.encode_attrs(obj, plan, what or _describe(obj), inputs))

    def _is_key_safe(self, kind: type) -> bool:
        """Whether equal values of type ``kind`` always have equal canonical encodings,
        so the raw value can be part of an interning key (not so for floats: 0.0 equals
        -0.0; nor for containers, whose items may be such floats, or bools and ints)."""
        if kind in _KEY_SAFE:
            return True
        return _is_enum_type(kind)

    def _relevant(
        self,
        obj: Any,
        rule: Relevance,
        inputs: list[Any] | None,
        values: dict[str, Any],
        what: str | None,
    ) -> bool:
        if inputs is not None:
            for slot in rule.unless_input:
                if slot < len(inputs) and inputs[slot] is not None:
                    return False
        for sibling in rule.unless_nonempty:
            value = values[sibling] if sibling in values else self._sibling(obj, sibling, what)
            try:
                if value is not None and len(value) > 0:
                    return False
            except TypeError:
                pass
        for flag in rule.only_if_true:
            value = values[flag] if flag in values else self._sibling(obj, flag, what)
            if not value:
                return False
        return True

    def _sibling(self, obj: Any, name: str, what: str | None) -> Any:
        return self.read(obj, name, what or _describe(obj))[1]

    # ------------------------------------------------------------------ records

    def tensor_desc(
        self, tensor: Any, *, binding: bool = False, output_type: Any = None
    ) -> Encoded:
        """A tensor's description (name, properties, dimension names, debug mark and the
        producer's explicit output type), shared between equal descriptions. ``binding``
        tensors (network I/O) keep default names: they are the engine's binding names."""
        plan = _tensor_plan(type(tensor))
        try:
            raw, name, dim_names, debug = self._read_tensor(tensor, plan, binding)
            attrs = self._intern_attrs(plan, raw)
        except Exception:  # read piece by piece, with the general path's defaults
            return self._careful_tensor_desc(tensor, plan, binding, output_type)
        return self._tensor_desc(attrs, name, dim_names, debug, output_type)

    def _read_tensor(
        self, tensor: Any, plan: Plan, binding: bool
    ) -> tuple[tuple[Any, ...], str | None, tuple[Any, ...], bool | None]:
        """A tensor's reads for its description: the plan's values, its user name (None
        for a default name, unless ``binding``), dimension names and debug mark. Raises
        if a read fails (callers then take a careful or general path)."""
        name = tensor.name
        raw = plan.read_all(tensor)
        rank = len(raw[plan.shape_index])  # type: ignore[index]  # a tensor plan has "shape"
        dim_names = tuple([tensor.get_dimension_name(d) for d in range(rank)])
        debug = None if self._is_debug is None else bool(self._is_debug(tensor))
        if type(name) is not str or (not binding and _is_default(name, _DEFAULT_TENSOR_NAME)):
            name = None
        return raw, name, dim_names, debug

    def _careful_tensor_desc(
        self, tensor: Any, plan: Plan, binding: bool, output_type: Any
    ) -> Encoded:
        """tensor_desc for a tensor whose reads raise or are unusual: every piece is read
        on its own, and a piece that fails is left out (or reported by :meth:`attrs`)."""
        name = _safe_name(tensor)
        if not binding:
            name = user_name(name, _DEFAULT_TENSOR_NAME)
        attrs, raw = self.attrs(tensor, plan, None)
        if raw is not None and plan.shape_index is not None:
            shape = raw[plan.shape_index]
            try:
                rank = 0 if shape is None else len(shape)
            except ValueError:  # an invalid Dims (nbDims == -1): no dimensions to name
                rank = 0
        else:
            rank = len(attrs.value.get("shape") or [])
        dim_names: tuple[Any, ...] | None = None
        get_dim_name = getattr(tensor, "get_dimension_name", None)
        if callable(get_dim_name):
            try:
                dim_names = tuple([get_dim_name(d) for d in range(rank)])
            except Exception:
                dim_names = tuple([_call(get_dim_name, d) for d in range(rank)])
        debug: bool | None = None
        if self._is_debug is not None:
            try:
                debug = bool(self._is_debug(tensor))
            except Exception:
                debug = False
        return self._tensor_desc(attrs, name, dim_names, debug, output_type)

    def _tensor_desc(
        self,
        attrs: Encoded,
        name: str | None,
        dim_names: tuple[Any, ...] | None,
        debug: bool | None,
        output_type: Any,
    ) -> Encoded:
        key = (attrs, name, dim_names, debug, output_type)
        found = self._interned.get(key)
        if found is None:
            desc: dict[str, Any] = {"name": name, "attrs": attrs}
            if dim_names is not None:
                desc["dim_names"] = list(dim_names)
            if debug is not None:
                desc["debug"] = debug
            if output_type is not None:
                desc["output_type"] = output_type
            found = self._interned[key] = encoded(desc)
        return found

    def records(self) -> Iterator[Record]:
        """All records of the network, in stream order."""
        with warnings.catch_warnings():
            # Some getters are deprecated (an error under -W error); reading them is fine.
            warnings.simplefilter("ignore")
            for item in self._stream(fast=False):
                yield cast("Record", item)

    def chunks(self) -> Iterator[bytes]:
        """The canonical stream in pieces of one or more records: the records of
        :meth:`records`, encoded, except that common layers are written straight to bytes
        (_layer_chunk), a few hundred per piece."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for item in self._stream(fast=True):
                yield item if type(item) is bytes else encode_record(cast("Record", item))

    def _stream(self, fast: bool) -> Iterator[Record | bytes]:
        try:
            yield from self._stream_records(fast)
        except _Unencodable as exc:  # a private error never leaves the walk
            raise UnhashableNetworkError(
                f"the network holds {exc}, which cannot be encoded"
            ) from None
        finally:
            self._release()

    def _release(self) -> None:
        """Drop the per-network tables once the stream has ended (or was abandoned), and
        the references back to the walk that the layer writer and the value handlers
        hold: without the cycles, a walk's memory returns when it is dropped, not at the
        next full pass of the garbage collector. ``issues`` and ``api`` stay readable."""
        self._write_layers = _released
        self._handlers.clear()
        for table in (
            self._keep, self._producer, self._refs, self._ref_bytes, self._interned,
            self._templates, self._descs, self._values, self._constructs, self._input_index,
        ):  # fmt: skip
            table.clear()
        self._outputs = Adjacency()

    def _stream_records(self, fast: bool) -> Iterator[Record | bytes]:
        net = self.network
        layers, types, inputs, outputs, forward = self._read_structure()
        order = self._topological_order(layers, types, inputs, forward)
        self._order = order
        self._canonical = [0] * len(layers)
        for position, i in enumerate(order):
            self._canonical[i] = position
        self._encode_refs(outputs)

        yield Record(
            "header",
            {
                "format": STREAM_FORMAT,
                "schema": SCHEMA_VERSION,
                "policy": self.policy.describe(),
            },
        )
        yield self._network_record()
        for k in range(net.num_inputs):
            tensor = net.get_input(k)
            yield Record("input", {"index": k, "tensor": self.tensor_desc(tensor, binding=True)})
        if fast:
            for start in range(0, len(order), _LAYERS_PER_CHUNK):
                stop = min(len(order), start + _LAYERS_PER_CHUNK)
                yield self._write_layers(start, stop, order, layers, types, inputs, outputs)
        else:
            for position, i in enumerate(order):
                record = self._layer_record(position, layers[i], types[i], inputs[i], outputs[i])
                yield from self._construct_records()
                yield record
        for k in range(net.num_outputs):
            tensor = net.get_output(k)
            try:
                ref = self.ref(tensor)
            except _Unencodable as exc:
                raise UnhashableNetworkError(f"network output {k}: {exc}") from None
            yield Record(
                "output",
                {"index": k, "tensor": ref, "desc": self.tensor_desc(tensor, binding=True)},
            )
        yield self._weights_record()
        yield Record("end", {"layers": len(layers), "partial": list(self.issues)})

    def _layer_chunks(
        self,
        start: int,
        stop: int,
        order: list[int],
        layers: list[Any],
        types: list[Any],
        inputs: Adjacency,
        outputs: Adjacency,
    ) -> bytes:
        """The bytes of the layer records at canonical positions ``start`` to ``stop``,
        each after the records of the constructs it is the first to refer to: written by
        _layer_chunk, or through the record path for the layers it leaves."""
        parts = []
        for position in range(start, stop):
            i = order[position]
            chunk = self._layer_chunk(position, layers[i], types[i], inputs[i], outputs[i])
            if chunk is None:
                chunk = self._layer_record_bytes(
                    position, layers[i], types[i], inputs[i], outputs[i]
                )
            parts.extend(self._construct_record_bytes())
            parts.append(chunk)
        return b"".join(parts)

    def _layer_record_bytes(self, *args: Any) -> bytes:
        """_layer_record's record, encoded (for the layers the fast writers leave)."""
        return encode_record(self._layer_record(*args))

    def _construct_records(self) -> Iterator[Record]:
        """The records of the constructs met since the last call, in order met."""
        while self._pending_constructs:
            construct, construct_ref = self._pending_constructs.pop(0)
            yield self._construct_record(construct, construct_ref)

    def _construct_record_bytes(self) -> list[bytes]:
        """_construct_records, encoded."""
        return [encode_record(record) for record in self._construct_records()]

    def _network_record(self) -> Record:
        net = self.network
        flags = []
        flag_enum = getattr(self.api.module, "NetworkDefinitionCreationFlag", None)
        get_flag = getattr(net, "get_flag", None)
        if flag_enum is not None and callable(get_flag):
            seen: set[int] = set()
            for member in sorted(flag_enum.__members__.values(), key=int):
                if int(member) in seen:
                    continue
                seen.add(int(member))
                if _call(get_flag, member):
                    flags.append(self.canon(member))
        fields: dict[str, Any] = {
            "name": user_name(_safe_name(net), _DEFAULT_NETWORK_NAME),
            "flags": flags,
            "attrs": self.encode_attrs(net, _network_plan(type(net)), "the network"),
        }
        if self.capture is not None and self.capture.calls:
            fields["calls"] = [
                [m, self._captured_args(args, f"the network: captured call {m}()")]
                for m, args in self.capture.calls
            ]
        return Record("network", fields)

    def _layer_record(
        self, position: int, layer: Any, layer_type: Any, ins: list[Any], outs: list[Any]
    ) -> Record:
        cls = type(layer)
        cls_name = cls.__name__
        name = _safe_name(layer)
        what = f"layer {position} {name!r} ({cls_name})"
        if self.api.classes_by_type.get(int(layer_type)) is None:
            self.problem(
                f"{what}: LayerType {layer_type} has no layer class in this TensorRT module, "
                "so its attributes cannot be read"
            )
        fields: dict[str, Any] = {
            "index": position,
            "type": self.canon(layer_type),
            "name": user_name(name, _DEFAULT_LAYER_NAME),
        }
        refs: list[TensorRef | None] = []
        for slot, tensor in enumerate(ins):
            if tensor is None:
                refs.append(None)
                continue
            try:
                refs.append(self.ref(tensor))
            except _Unencodable as exc:
                raise UnhashableNetworkError(f"{what}: input {slot}: {exc}") from None
        fields["inputs"] = refs
        out_descs: list[Any] = []
        for j, tensor in enumerate(outs):
            output_type = self._output_type(layer, j)
            if output_type is not None:
                output_type = self.canon(output_type)
            if tensor is not None:
                out_descs.append(self.tensor_desc(tensor, output_type=output_type))
                continue
            missing: dict[str, Any] = {"missing": True}
            if output_type is not None:
                missing["output_type"] = output_type
            out_descs.append(missing)
        fields["outputs"] = out_descs
        plan = _class_plan(cls)
        self._weights_site = self._insertion_of(position)
        try:
            attrs, _ = self.attrs(layer, plan, what, ins)
        finally:
            self._weights_site = None
        if plan.methods:
            extended = dict(attrs.value)
            for method, _how in plan.methods:
                try:
                    extended[f"{method}()"] = self.canon(getattr(layer, method)())
                except Exception as exc:
                    self.problem(f"{what}: calling {method}() raised {type(exc).__name__}")
            attrs = encoded(extended)
        fields["attrs"] = attrs
        if plan.has_plugin:
            fields["plugin"] = self._plugin(layer, self._insertion_of(position), what)
        if plan.captured is not None:
            captured = self._captured_layer_state(position, plan.captured, what)
            if captured is not None:
                fields["captured"] = captured
        return Record("layer", fields)

    def _layer_chunk(
        self, position: int, layer: Any, layer_type: Any, ins: list[Any], outs: list[Any]
    ) -> bytes | None:
        """The bytes of _layer_record's record, written directly for the common layer: a
        known type, no plugin, getter methods or captured state, and nothing unusual (a
        getter that raises, a value that cannot be encoded, a missing output, a problem).
        None otherwise, and _layer_record then builds the record (and reports problems).

        Everything but the name, index and inputs is looked up as one template, keyed
        by the layer's and its outputs' values: LLM blocks repeat, so most layers cost
        their reads and two keys."""
        plan = self._simple_plans.get(type(layer), _UNSET)
        if plan is _UNSET:
            plan = self._simple_plan_of(type(layer))
        type_bytes = self._layer_types.get(layer_type, _UNSET)
        if type_bytes is _UNSET:
            type_bytes = self._layer_type_of(layer_type)
        if plan is None or type_bytes is None:
            return None
        mark = len(self.issues)
        try:
            name = layer.name
            if type(name) is not str:
                return None
            raw = plan.read_all(layer)
            holes: list[tuple[int, bytes]] = []
            key = [type_bytes, self._values_key(plan, raw, ins, None, holes)]
            is_set = layer.output_type_is_set
            for j, tensor in enumerate(outs):
                output_type = self.canon(layer.get_output_type(j)) if is_set(j) else None
                key.append(self._tensor_key(tensor, output_type))
            template = self._templates.get(tuple(key))
            if template is None:
                template = self._templates[tuple(key)] = self._layer_template(
                    layer, plan, raw, ins, outs, holes, key[2:]
                )
            ref_bytes = self._ref_bytes
            refs = [_NULL if t is None else ref_bytes.get(id(t)) or self._ref_chunk(t) for t in ins]
        except Exception:  # the general path reads it again and reports what went wrong
            del self.issues[mark:]
            return None
        if len(self.issues) != mark:
            del self.issues[mark:]
            return None
        name_bytes = _NULL if _is_default(name, _DEFAULT_LAYER_NAME) else encode_text(name)
        attrs, outputs_bytes = template
        attrs_bytes = attrs if type(attrs) is bytes else _fill_holes(attrs, holes)
        return _LAYER_LAYOUT.join(
            (
                encode_value(position),
                type_bytes,
                name_bytes,
                join_array(refs),
                outputs_bytes,
                attrs_bytes,
            )
        )

    def _tensor_key(self, tensor: Any, output_type: Any) -> tuple[Any, ...]:
        """What decides a layer output's description (see tensor_desc); raises if a read
        fails or the tensor is missing (the general path then takes the layer)."""
        plan = _tensor_plan(type(tensor))
        raw, name, dim_names, debug = self._read_tensor(tensor, plan, False)
        return (self._values_key(plan, raw, None), name, dim_names, debug, output_type)

    def _layer_template(
        self,
        layer: Any,
        plan: Plan,
        raw: tuple[Any, ...],
        ins: list[Any],
        outs: list[Any],
        holes: list[tuple[int, bytes]],
        output_keys: Sequence[Any],
    ) -> tuple[Any, bytes]:
        """A layer's template: its encoded outputs, and its encoded attribute map, or if
        it refers to constructs, that map as (pieces, slots) with the constructs'
        references left out (see _fill_holes). ``output_keys`` are the outputs' keys
        (_tensor_key's, or the compiled writer's): equal keys, equal descriptions."""
        descs = []
        for j, tensor in enumerate(outs):
            desc = self._descs.get(output_keys[j])
            if desc is None:
                output_type = self._output_type(layer, j)
                if output_type is not None:
                    output_type = self.canon(output_type)
                desc = self._descs[output_keys[j]] = self.tensor_desc(
                    tensor, output_type=output_type
                ).data
            descs.append(desc)
        attrs = self._intern_attrs(plan, raw, ins)
        if not holes:
            return attrs.data, join_array(descs)
        return _with_holes(attrs, [plan.names[i] for i, _ in holes]), join_array(descs)

    def _simple_plan_of(self, cls: type) -> Plan | None:
        """_simple_plan(cls), memoized for _layer_chunk."""
        found = self._simple_plans[cls] = _simple_plan(cls)
        return found

    def _layer_type_of(self, layer_type: Any) -> bytes | None:
        """A LayerType's encoding, None if this module has no layer class for it (memoized
        for _layer_chunk)."""
        found = None
        if self.api.classes_by_type.get(int(layer_type)) is not None:
            found = encode_value(self.canon(layer_type))
        self._layer_types[layer_type] = found
        return found

    def _encode_refs(self, outputs: Adjacency) -> None:
        """Encode the reference of every layer output and network input at once (what
        :meth:`ref` gives them, encoded: inputs first, then the first producer)."""
        if _compiled is not None:
            _compiled.encode_refs(
                outputs, self._canonical, self._input_index, self._ref_bytes, input_ref_bytes
            )
            return
        ref_bytes = self._ref_bytes
        canonical = self._canonical
        for i, outs in enumerate(outputs):
            position = canonical[i]
            for j, tensor in enumerate(outs):
                if tensor is not None:
                    ref_bytes.setdefault(id(tensor), output_ref_bytes(position, j))
        for key, k in self._input_index.items():
            ref_bytes[key] = input_ref_bytes(k)

    def _ref_chunk(self, tensor: object) -> bytes:
        """The encoded reference of a tensor (see _encode_refs; others via :meth:`ref`)."""
        found = self._ref_bytes.get(id(tensor))
        if found is None:
            found = self._ref_bytes[id(tensor)] = encode_value(self.ref(tensor))
        return found

    def _output_type(self, layer: Any, slot: int) -> Any:
        """The raw DataType explicitly set for output ``slot``, or None."""
        is_set = getattr(layer, "output_type_is_set", None)
        get_type = getattr(layer, "get_output_type", None)
        if not (callable(is_set) and callable(get_type)):
            return None
        if not _call(is_set, slot):
            return None
        return _call(get_type, slot)

    def _construct_record(self, construct: Any, ref: ConstructRef) -> Record:
        plan = _construct_plan(type(construct))
        name = _safe_name(construct)
        what = f"{ref.kind} {ref.index} {name!r}"
        return Record(
            "construct",
            {
                "construct": ref.kind,
                "index": ref.index,
                "name": user_name(name, _DEFAULT_CONSTRUCT_NAME),
                "attrs": self.attrs(construct, plan, what)[0],
            },
        )

    # ------------------------------------------------------------------ plugins & capture

    def _plugin(self, layer: Any, insertion: int, what: str) -> dict[str, Any]:
        ok, plugin = self.read(layer, "plugin", what)
        if not ok or plugin is None:
            self.problem(f"{what}: the layer has no readable plugin")
            return {}
        module = self.api.module
        info: dict[str, Any] = {}
        capability = getattr(module, "PluginCapabilityType", None)
        get_interface = getattr(plugin, "get_capability_interface", None)
        if callable(get_interface) and capability is not None:
            info["api"] = "v3"
            core = _call(get_interface, capability.CORE)
            for field_name, attr in (
                ("name", "plugin_name"),
                ("version", "plugin_version"),
                ("namespace", "plugin_namespace"),
            ):
                info[field_name] = _safe_attr(core, attr)
        else:
            info["api"] = "v2"
            for field_name, attr in (
                ("name", "plugin_type"),
                ("version", "plugin_version"),
                ("namespace", "plugin_namespace"),
            ):
                info[field_name] = _safe_attr(plugin, attr)

        captured = _capture.lookup_layer_plugin(self.network, insertion) or _capture.lookup_plugin(
            plugin
        )
        if captured is not None:
            info["fields_from"] = "capture"
            info["fields"] = self._fields(captured.fields)
            return info
        llm_fields = _tensorrt_llm_fields(self.network, _safe_name(layer))
        if llm_fields is not None:
            info["fields_from"] = "tensorrt_llm"
            info["fields"] = self._fields(llm_fields)
            return info
        if info["api"] == "v2":
            data = _call(getattr(plugin, "serialize", None))
            if data is None:
                self.problem(
                    f"{what}: the plugin's fields were not captured and serialize() failed"
                )
            else:
                info["fields_from"] = "serialize"
                info["serialized"] = _digest(bytes(memoryview(data)))
            return info
        build = _call(get_interface, capability.BUILD) if capability is not None else None
        metadata = _safe_attr(build, "metadata_string")
        cache_id = _safe_attr(build, "timing_cache_id")
        if metadata or cache_id:
            info["fields_from"] = "build_interface"
            info["metadata_string"] = metadata
            info["timing_cache_id"] = cache_id
            return info
        self.problem(
            f"{what}: the plugin's creation fields cannot be read back from IPluginV3 and were "
            "not captured, and its build interface reports no metadata_string or "
            "timing_cache_id; build the network inside trt_netser.capture(trt)"
        )
        return info

    def _fields(self, fields: Any) -> list[dict[str, Any]]:
        out = []
        for field in fields:
            data = getattr(field, "data", None)
            out.append(
                {
                    "name": _safe_attr(field, "name"),
                    "type": self.safe_canon(getattr(field, "type", None), "a plugin field's type"),
                    "data": _field_bytes(data),
                }
            )
        return out

    def _captured_layer_state(
        self, position: int, rule: tuple[bool, str], what: str
    ) -> dict[str, Any] | None:
        required, missing = rule
        insertion = self._insertion_of(position)
        calls = self.capture.layer_calls(insertion) if self.capture is not None else None
        if calls is None:
            if required:
                self.problem(
                    f"{what}: {missing} cannot be read back from TensorRT and was not "
                    "captured; build the network inside trt_netser.capture(trt)"
                )
            return None
        recorded = []
        for method, args in calls:
            recorded.append(
                [method, self._captured_args(args, f"{what}: captured call {method}()")]
            )
        return {"calls": recorded}

    def _captured_args(self, args: tuple[Any, ...], what: str) -> list[Any]:
        """A captured call's arguments, canonical (an unencodable one is a problem)."""
        return [self.safe_canon(a, f"{what} argument {k}") for k, a in enumerate(args)]

    def _insertion_of(self, position: int) -> int:
        return self._order[position]

    def _weights_record(self) -> Record:
        if self.capture is None:
            return Record("weights", {"captured": False})
        named = [
            [name, self.safe_canon(dtype, f"the dtype of weights {name!r}"), count]
            for name, dtype, count, _pointer in self.capture.weights_names  # no address
        ]
        names = sorted(named, key=lambda e: (e[0], encode_value(e[1]), e[2]))
        marked_query = getattr(self.network, "are_weights_marked_refittable", None)
        refittable = sorted(
            name
            for name in self.capture.refit_candidates()
            if callable(marked_query) and _call(marked_query, name)
        )
        return Record("weights", {"captured": True, "names": names, "refittable": refittable})


# --------------------------------------------------------------------------- helpers


def _released(*args: Any) -> bytes:
    raise RuntimeError("this Walk has ended; walk a network once per Walk")


def _plan_excluding(cls: type, owner: str, exclusions: Mapping[str, str]) -> Plan:
    """Every readable property of ``cls`` except the ``exclusions``, unconditionally."""
    return Plan(
        owner,
        tuple((name, None) for name in readable_properties(cls) if name not in exclusions),
    )


def _with_holes(attrs: Encoded, names: list[str]) -> tuple[tuple[bytes, ...], tuple[Any, ...]]:
    """An attribute map's bytes as pieces, with the values of the properties ``names`` (in
    the order of _frozen's holes) left empty: (pieces, ((piece index, hole number), ...))."""
    items = sorted(
        (encode_text(name), encode_value(value), name) for name, value in attrs.value.items()
    )
    pieces: list[bytes] = [head(5, len(items))]
    slots = []
    for key, value, name in items:
        if name in names:
            pieces += (key, b"")
            slots.append((len(pieces) - 1, names.index(name)))
        else:
            pieces.append(key + value)
    if b"".join(pieces[:1] + [k + v for k, v, _ in items]) != attrs.data:
        raise AssertionError("an attribute map's pieces do not join to its bytes")
    return tuple(pieces), tuple(slots)


def _fill_holes(
    attrs: tuple[tuple[bytes, ...], tuple[Any, ...]], holes: list[tuple[int, bytes]]
) -> bytes:
    """A template's attribute map with this layer's construct references filled in."""
    pieces, slots = attrs
    parts = list(pieces)
    for index, hole in slots:
        parts[index] = holes[hole][1]
    return b"".join(parts)


def _simple_plan(cls: type) -> Plan | None:
    """The class's plan if _layer_chunk can write its layers (no plugin, getter methods,
    captured state or relevance rules that read properties outside the plan), else None."""
    plan = _class_plan(cls)
    if plan.has_plugin or plan.methods or plan.captured is not None:
        return None
    if plan.rules and plan.rules_by_position is None:
        return None
    return plan


@_per_class(maxsize=16)
def _tensor_plan(cls: type) -> Plan:
    return _plan_excluding(cls, "ITensor", TENSOR_PROPERTY_EXCLUSIONS)


@_per_class(maxsize=16)
def _network_plan(cls: type) -> Plan:
    return _plan_excluding(cls, "INetworkDefinition", NETWORK_PROPERTY_EXCLUSIONS)


@_per_class(maxsize=16)
def _construct_plan(cls: type) -> Plan:
    return _plan_excluding(cls, cls.__name__, CONSTRUCT_PROPERTY_EXCLUSIONS)


def _safe_name(obj: Any) -> str | None:
    try:
        name = obj.name
    except Exception:
        return None
    return name if isinstance(name, str) else None


def _describe(obj: object) -> str:
    """How problems name an object: its class and name."""
    return f"{type(obj).__name__} {_safe_name(obj)!r}"


def _safe_attr(obj: object, attr: str) -> Any:
    if obj is None:
        return None
    try:
        value = getattr(obj, attr)
    except Exception:
        return None
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _call(fn: Any, *args: Any) -> Any:
    if not callable(fn):
        return None
    try:
        return fn(*args)
    except Exception:
        return None


def _digest(data: bytes) -> str:
    import blake3

    return blake3.blake3(data).hexdigest()


def _enum_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _weights_array(weights: Any) -> np.ndarray | None:
    try:
        array = weights.numpy()
    except Exception:
        return None
    return array if isinstance(array, np.ndarray) else None


def _little_endian_bytes(array: np.ndarray) -> bytes:
    """The values as little-endian bytes, whatever the platform's byte order."""
    if _LITTLE_ENDIAN and array.dtype.isnative and array.flags.c_contiguous:
        return array.tobytes()
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
        array = array.astype(array.dtype.newbyteorder("<"))
    return array.tobytes()


def _field_bytes(data: Any) -> Any:
    if data is None or isinstance(data, (bytes, str)):
        return data
    if isinstance(data, np.ndarray):
        return {"dtype": data.dtype.newbyteorder("<").str, "values": _little_endian_bytes(data)}
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    return str(data)


def _tensorrt_llm_fields(network: object, layer_name: str | None) -> Any:
    """Plugin creation fields from TensorRT-LLM's side table, if TensorRT-LLM is in use.

    TensorRT-LLM's ``set_plugin_info`` stores a ``PluginInfo`` (creator, plugin_name, pfc)
    per layer name under the ``plugin_infos`` extra attribute of the TensorRT network,
    kept in ``tensorrt_llm._utils``. We never import TensorRT-LLM ourselves.
    """
    if layer_name is None or "tensorrt_llm" not in sys.modules:
        return None
    utils = sys.modules.get("tensorrt_llm._utils")
    infos = None
    getter = getattr(utils, "get_extra_attr", None)
    has = getattr(utils, "has_extra_attr", None)
    if callable(getter) and (not callable(has) or _call(has, network, "plugin_infos")):
        infos = _call(getter, network, "plugin_infos")
    if not isinstance(infos, Mapping):
        return None
    info = infos.get(layer_name)
    pfc = getattr(info, "pfc", None)
    if pfc is None:
        return None
    return [pfc[i] for i in range(len(pfc))]
