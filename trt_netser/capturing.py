"""Record network-building calls whose arguments TensorRT cannot give back.

Some state that decides an engine is write-only in TensorRT's API: the
``PluginFieldCollection`` given to a plugin creator, the arguments of
``add_dist_collective``, the ``IMoELayer`` setters, weight names and refit marks.
``capture(trt)`` wraps exactly those calls (see :data:`CAPTURED_CALLS`) on the module's
classes for the duration of a ``with`` block, records their arguments per network and
layer index, and unwraps them on exit (also on exceptions). The walker then reads the
records for networks built inside the block.

Records are keyed by weak references to the network and plugin objects, so they live
exactly as long as the objects; layers are keyed by their index in the network (TensorRT
has no way to remove a layer, so an index never changes).
"""

from __future__ import annotations

import functools
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

#: The calls that capture wraps: (class name, method name, what the call records).
CAPTURED_CALLS: tuple[tuple[str, str, str], ...] = (
    ("Builder", "create_network", "network"),
    ("IPluginCreator", "create_plugin", "plugin"),
    ("IPluginCreatorV3One", "create_plugin", "plugin"),
    ("INetworkDefinition", "add_plugin_v2", "plugin_layer"),
    ("INetworkDefinition", "add_plugin_v3", "plugin_layer"),
    ("INetworkDefinition", "add_plugin", "plugin_layer"),
    ("INetworkDefinition", "add_dist_collective", "layer"),
    ("INetworkDefinition", "add_moe", "layer"),
    ("IMoELayer", "set_gated_weights", "layer_setter"),
    ("IMoELayer", "set_gated_biases", "layer_setter"),
    ("IMoELayer", "set_quantization_static", "layer_setter"),
    ("IMoELayer", "set_quantization_dynamic_dbl_q", "layer_setter"),
    ("IMoELayer", "set_swiglu_params", "layer_setter"),
    ("INetworkDefinition", "set_weights_name", "weights_name"),
    ("INetworkDefinition", "mark_weights_refittable", "refit_mark"),
    ("INetworkDefinition", "unmark_weights_refittable", "refit_mark"),
    ("IBuilderConfig", "add_optimization_profile", "profile"),
    ("INetworkDefinition", "mark_unfused_tensors_as_debug_tensors", "network_call"),
    ("INetworkDefinition", "unmark_unfused_tensors_as_debug_tensors", "network_call"),
    ("Weights", "__init__", "weights_memory"),
    ("INetworkDefinition", "add_constant", "layer_weights"),
    ("INetworkDefinition", "add_convolution_nd", "layer_weights"),
    ("INetworkDefinition", "add_deconvolution_nd", "layer_weights"),
    ("INetworkDefinition", "add_scale", "layer_weights"),
    ("INetworkDefinition", "add_scale_nd", "layer_weights"),
)

#: The weights parameters of the "layer_weights" calls: method -> ((position after self,
#: parameter name = the layer property that reads the weights back), ...).
WEIGHTS_PARAMETERS: dict[str, tuple[tuple[int, str], ...]] = {
    "add_constant": ((1, "weights"),),
    "add_convolution_nd": ((3, "kernel"), (4, "bias")),
    "add_deconvolution_nd": ((3, "kernel"), (4, "bias")),
    "add_scale": ((2, "shift"), (3, "scale"), (4, "power")),
    "add_scale_nd": ((2, "shift"), (3, "scale"), (4, "power")),
}

#: Layer properties whose setter takes weights (recorded like WEIGHTS_PARAMETERS).
CAPTURED_WEIGHTS_SETTERS: tuple[tuple[str, str], ...] = (
    ("IConstantLayer", "weights"),
    ("IConvolutionLayer", "kernel"),
    ("IConvolutionLayer", "bias"),
    ("IDeconvolutionLayer", "kernel"),
    ("IDeconvolutionLayer", "bias"),
    ("IScaleLayer", "shift"),
    ("IScaleLayer", "scale"),
    ("IScaleLayer", "power"),
)


@dataclass(frozen=True)
class WeightsMemory:
    """Where the values of weights made as ``trt.Weights(dtype, ptr, count)`` live.

    TensorRT's getters return such weights (BF16, FP8, INT4, FP4, E8M0) as ``trt.Weights``
    whose ``numpy()`` gives the weights back and which have no buffer protocol, so their
    values can only be read through the pointer the client passed. TensorRT reads that
    memory at build time and requires it to stay valid until then; the walker reads it
    at hash time (before the build), and only for values its weights policy hashes.
    """

    dtype: Any
    ptr: int
    count: int


@dataclass
class PluginCapture:
    """What a plugin was created with: the name given to the creator and its fields."""

    name: str | None
    fields: list[Any]


@dataclass
class NetworkCapture:
    """Captured calls of one network."""

    layers: dict[int, list[tuple[str, tuple[Any, ...]]]] = field(default_factory=dict)
    plugins: dict[int, PluginCapture] = field(default_factory=dict)
    #: One ``(name, dtype, count, pointer)`` per accepted ``set_weights_name`` call.
    #: ``pointer`` is the address of the weights' values (TensorRT names every Weights
    #: with matching type, pointer and count), or None if it is not known. It is a
    #: process-local memory address: for matching names to buffers in this process only,
    #: never hashed, encoded or dumped.
    weights_names: list[tuple[str, Any, int, int | None]] = field(default_factory=list)
    refit_names: list[str] = field(default_factory=list)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    #: (layer insertion index, weights property) -> the memory of the weights given.
    weights_memory: dict[tuple[int, str], WeightsMemory] = field(default_factory=dict)

    def layer_calls(self, index: int) -> list[tuple[str, tuple[Any, ...]]] | None:
        """The recorded calls of the layer at insertion ``index``, None if not captured."""
        return self.layers.get(index)

    def refit_candidates(self) -> list[str]:
        """Every weights name the capture saw; the walker asks TensorRT which are marked."""
        return sorted(set(self.refit_names) | {entry[0] for entry in self.weights_names})


_lock = threading.RLock()
_networks: weakref.WeakKeyDictionary[Any, NetworkCapture] = weakref.WeakKeyDictionary()
_plugins: weakref.WeakKeyDictionary[Any, PluginCapture] = weakref.WeakKeyDictionary()
_layers: weakref.WeakKeyDictionary[Any, tuple[weakref.ref[Any], int]] = weakref.WeakKeyDictionary()
_profiles: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
_memory: weakref.WeakKeyDictionary[Any, WeightsMemory] = weakref.WeakKeyDictionary()
_WRAPPED = "__trt_netser_capture__"


def lookup_network(network: object) -> NetworkCapture | None:
    """The capture records of ``network``, if it was built inside :func:`capture`."""
    try:
        return _networks.get(network)
    except TypeError:  # not weak-referenceable: cannot have been captured
        return None


def lookup_profiles(config: object) -> tuple[Any, ...] | None:
    """The optimization profiles added to a builder config inside :func:`capture`, in order
    (TensorRT cannot give them back), or None if none were seen."""
    try:
        found = _profiles.get(config)
    except TypeError:
        return None
    return None if found is None else tuple(found)


def lookup_plugin(plugin: object) -> PluginCapture | None:
    """The fields ``plugin`` was created with, if its creator was called inside capture."""
    try:
        return _plugins.get(plugin)
    except TypeError:
        return None


def _network_record(network: object) -> NetworkCapture:
    record = _networks.get(network)
    if record is None:
        record = NetworkCapture()
        _networks[network] = record
    return record


def _plugin_fields(collection: Any) -> list[Any]:
    if collection is None:
        return []
    try:
        return [collection[i] for i in range(len(collection))]
    except TypeError:
        return list(collection)


def _hook(kind: str, method: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A wrapper that calls ``original`` and records what ``kind`` of call it was."""

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if result is None and kind not in (
            "layer_setter",
            "refit_mark",
            "network_call",
            "weights_memory",
        ):
            return result  # TensorRT rejected the call: nothing was built
        with _lock:
            _record(kind, method, self, args, kwargs, result)
        return result

    setattr(wrapper, _WRAPPED, original)
    return wrapper


def _record(
    kind: str, method: str, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
) -> None:
    call_args = tuple(args) + tuple(v for _, v in sorted(kwargs.items()))
    if kind == "network":
        _network_record(result)
    elif kind == "plugin":
        name = args[0] if args else kwargs.get("name")
        collection = args[1] if len(args) > 1 else kwargs.get("field_collection")
        _plugins[result] = PluginCapture(name, _plugin_fields(collection))
    elif kind == "weights_memory":
        _record_memory(obj, args, kwargs)
    elif kind in ("plugin_layer", "layer", "layer_weights"):
        record = _network_record(obj)
        index = obj.num_layers - 1
        _layers[result] = (weakref.ref(obj), index)
        if kind == "layer_weights":
            for position, role in WEIGHTS_PARAMETERS.get(method, ()):
                given = args[position] if len(args) > position else kwargs.get(role)
                _note_weights(record, index, role, given)
        elif kind == "layer":
            record.layers[index] = [(method, call_args)]
        else:
            plugin = getattr(result, "plugin", None)
            found = lookup_plugin(plugin) if plugin is not None else None
            if found is None:
                found = next((lookup_plugin(a) for a in call_args if lookup_plugin(a)), None)
            if found is not None:
                record.plugins[index] = found
    elif kind == "layer_setter":
        owner = _layers.get(obj)
        network = owner[0]() if owner else None
        if owner is None or network is None:
            warnings.warn(
                f"trt_netser.capture: {method}() was called on a layer that was not created "
                "inside this capture (or through another wrapper object); it is not recorded",
                stacklevel=3,
            )
            return
        _network_record(network).layers.setdefault(owner[1], []).append((method, call_args))
    elif kind == "weights_name":
        weights = args[0] if args else kwargs.get("weights")
        name = args[1] if len(args) > 1 else kwargs.get("name")
        if result and isinstance(name, str):
            _network_record(obj).weights_names.append(
                (
                    name,
                    getattr(weights, "dtype", None),
                    int(getattr(weights, "size", 0) or 0),
                    weights_pointer(weights),
                )
            )
    elif kind == "profile":
        if isinstance(result, int) and result >= 0 and args:
            _profiles.setdefault(obj, []).append(args[0])
    elif kind == "network_call":
        _network_record(obj).calls.append((method, call_args))
    elif kind == "refit_mark":
        name = args[0] if args else kwargs.get("name")
        if isinstance(name, str):
            _network_record(obj).refit_names.append(name)


def _record_memory(weights: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Remember the pointer of ``Weights(type, ptr, count)`` (the other forms need not:
    weights made from a numpy array read back as numpy)."""
    values = list(args) + [kwargs[k] for k in ("type", "ptr", "count") if k in kwargs]
    if len(values) != 3:
        return
    try:
        ptr, count = int(values[1]), int(values[2])
        _memory[weights] = WeightsMemory(values[0], ptr, count)
    except (TypeError, ValueError):  # not weak-referenceable or not ints: nothing to note
        return


def lookup_weights_memory(weights: object) -> WeightsMemory | None:
    """Where the values of ``weights`` live, if they were made from a pointer in capture."""
    try:
        return _memory.get(weights)
    except TypeError:
        return None


def weights_pointer(weights: object) -> int | None:
    """The address of the values of ``weights``, as TensorRT matches weights by it.

    ``trt.Weights(dtype, ptr, count)`` made inside capture gives its ``ptr``; a numpy
    array (or any object with ``__array_interface__``) its data address. Other weights
    (``trt.Weights(array)``, weights made outside capture) have no readable pointer in
    TensorRT's API: None. Process-local: never part of a digest.
    """
    memory = lookup_weights_memory(weights)
    if memory is not None:
        return memory.ptr
    interface = getattr(weights, "__array_interface__", None)
    data = interface.get("data") if isinstance(interface, dict) else None
    if isinstance(data, tuple) and data and isinstance(data[0], int):
        return data[0]
    return None


def _note_weights(record: NetworkCapture, index: int, role: str, weights: Any) -> None:
    """The weights a layer holds in property ``role`` now come from ``weights``."""
    memory = lookup_weights_memory(weights) if weights is not None else None
    if memory is None:
        record.weights_memory.pop((index, role), None)
    else:
        record.weights_memory[(index, role)] = memory


def _weights_setter(prop: property, role: str) -> property:
    """``prop`` with a setter that also notes the memory of the weights it is given."""
    setter = prop.fset
    assert setter is not None

    def fset(layer: Any, value: Any) -> None:
        setter(layer, value)
        with _lock:
            owner = _layers.get(layer)
            network = owner[0]() if owner else None
            if owner is not None and network is not None:
                _note_weights(_network_record(network), owner[1], role, value)

    wrapped = property(prop.fget, fset, prop.fdel, prop.__doc__)
    setattr(fset, _WRAPPED, prop)
    return wrapped


def lookup_layer_plugin(network: object, index: int) -> PluginCapture | None:
    """The plugin fields recorded for the plugin layer at insertion ``index``."""
    record = lookup_network(network)
    return record.plugins.get(index) if record is not None else None


def _subclasses(cls: type) -> list[type]:
    """Every subclass of ``cls`` defined so far, depth first, without repeats."""
    found: list[type] = []
    stack: list[type] = list(cls.__subclasses__())
    while stack:
        sub = stack.pop()
        if sub not in found:
            found.append(sub)
            stack.extend(sub.__subclasses__())
    return found


@contextmanager
def capture(trt: ModuleType) -> Iterator[ModuleType]:
    """Record the write-only network-building calls made on ``trt`` inside the block.

    ``trt`` is the TensorRT module (``import tensorrt as trt``) or ``trt_netser.offline``.
    Networks (and plugins) built inside the block hash completely; the wrappers are
    removed on exit, also when the block raises. Nesting is allowed. Plugin creators
    written in Python (subclasses of ``IPluginCreator`` / ``IPluginCreatorV3One``) are
    wrapped too if their class exists when the block starts.

    >>> with trt_netser.capture(trt):
    ...     network = build(trt)
    >>> trt_netser.hash_network(network)
    """
    if not isinstance(trt, ModuleType):
        raise TypeError(f"capture() takes the tensorrt module, not {type(trt).__name__}")
    if not hasattr(trt, "INetworkDefinition"):
        raise TypeError(
            f"module {trt.__name__!r} does not look like tensorrt (no INetworkDefinition)"
        )
    installed: list[tuple[type, str, Any]] = []
    with _lock:
        for class_name, method, kind in CAPTURED_CALLS:
            base = getattr(trt, class_name, None)
            if not isinstance(base, type):
                continue  # absent in this TensorRT version
            # Python plugin creators subclass IPluginCreator and override create_plugin:
            # wrap every existing class that defines the method itself.
            for cls in (base, *_subclasses(base)):
                if cls is not base and method not in vars(cls):
                    continue
                original = getattr(cls, method, None)
                if original is None or hasattr(original, _WRAPPED):
                    continue  # already wrapped (nested capture)
                previous = cls.__dict__.get(method)
                setattr(cls, method, _hook(kind, method, original))
                installed.append((cls, method, previous))
        for class_name, role in CAPTURED_WEIGHTS_SETTERS:
            owner = getattr(trt, class_name, None)
            if not isinstance(owner, type):
                continue  # absent in this TensorRT version
            prop = vars(owner).get(role)
            if not isinstance(prop, property) or prop.fset is None:
                continue
            if hasattr(prop.fset, _WRAPPED):
                continue  # nested capture
            setattr(owner, role, _weights_setter(prop, role))
            installed.append((owner, role, prop))
    try:
        yield trt
    finally:
        with _lock:
            for cls, method, previous in reversed(installed):
                if previous is None:
                    delattr(cls, method)
                else:
                    setattr(cls, method, previous)
