"""The callback interfaces and helper classes of TensorRT 10.16 that need a GPU or a native
library to do anything: profilers, allocators, calibrators, algorithm selectors, progress
monitors, timing-cache entries and the ONNX parser.

Client code subclasses and isinstance-checks them at import time (TensorRT-LLM's runtime
subclasses ``IProfiler``), so they exist with the real bases, properties and methods.
Interfaces are subclassable like the bindings' pybind11 trampolines
(``class P(trt.IProfiler): def __init__(self): trt.IProfiler.__init__(self)``); calling a
method the subclass did not override does what a trampoline's pure virtual does: it
prints the bindings' message and returns their default (CALLBACK_DEFAULTS); a subclass
whose ``__init__`` skips the interface's is refused, as pybind11 refuses it. Classes
TensorRT only hands out have no constructor (TypeError). The ONNX parser
needs TensorRT's native libnvonnxparser: constructing one raises TypeError, as the real
factory does when it returns nullptr.
"""

from __future__ import annotations

import sys
from typing import Any

from trt_netser.offline._enums import CalibrationAlgoType
from trt_netser.offline._plugins import IVersionedInterface
from trt_netser.offline._pyarg import MODULE

#: Why each group of classes cannot do anything offline (in their error messages).
_GPU = "needs a GPU and TensorRT's native runtime (libnvinfer)"
_PARSER = (
    "the ONNX parser needs TensorRT's native libnvonnxparser, which the offline model does "
    "not have (the real bindings' factory returns nullptr without it)"
)


class _Unset:
    """Marker: the callback has no default return value (see CALLBACK_DEFAULTS)."""


#: What an interface method does when a subclass did not implement it, as the bindings'
#: trampolines do (observed with the stub-loaded 10.16 bindings): (class, method) ->
#: (what is printed to stderr, with {method} filled in, or None; the value returned).
#: The printed lines are the bindings' own; TensorRT itself never sees them offline.
_PURE = '[ERROR] Exception caught in {method}(): Tried to call pure virtual function "{owner}::{method}"'
_NOT_OVERRIDDEN = (
    "Method: {method} was not overriden. Please provide an implementation for this method."
)
CALLBACK_DEFAULTS: dict[tuple[str, str], tuple[str | None, Any]] = {
    ("IProfiler", "report_layer_time"): (_PURE, None),
    ("IProgressMonitor", "phase_start"): (_PURE, None),
    ("IProgressMonitor", "phase_finish"): (_PURE, None),
    ("IProgressMonitor", "step_complete"): (_PURE, False),
    ("IInt8Calibrator", "get_algorithm"): (_PURE, CalibrationAlgoType.LEGACY_CALIBRATION),
    ("IInt8Calibrator", "get_batch_size"): (_PURE.replace("{owner}", "Derived"), -1),
    ("IInt8Calibrator", "get_batch"): (None, []),
    ("IInt8Calibrator", "read_calibration_cache"): (None, _Unset),
    ("IInt8Calibrator", "write_calibration_cache"): (None, None),
    ("IGpuAllocator", "allocate"): (_NOT_OVERRIDDEN, None),
    ("IGpuAllocator", "allocate_async"): (_NOT_OVERRIDDEN, None),
    ("IGpuAllocator", "reallocate"): (_NOT_OVERRIDDEN, None),
    ("IGpuAllocator", "deallocate"): (_NOT_OVERRIDDEN, False),
    ("IGpuAllocator", "deallocate_async"): (_NOT_OVERRIDDEN, False),
    ("IDebugListener", "process_debug_tensor"): (_PURE, None),
    ("IAlgorithmSelector", "select_algorithms"): (_PURE, []),
    ("IAlgorithmSelector", "report_algorithms"): (None, None),
}

#: The algorithm each concrete calibrator reports (its get_algorithm is not virtual).
_CALIBRATION_ALGORITHMS = {
    "IInt8EntropyCalibrator": CalibrationAlgoType.ENTROPY_CALIBRATION,
    "IInt8EntropyCalibrator2": CalibrationAlgoType.ENTROPY_CALIBRATION_2,
    "IInt8LegacyCalibrator": CalibrationAlgoType.LEGACY_CALIBRATION,
    "IInt8MinMaxCalibrator": CalibrationAlgoType.MINMAX_CALIBRATION,
}


def _pure_virtual(owner: str, name: str) -> Any:
    """A method an implementation overrides; unimplemented, it does what the bindings'
    trampoline does (CALLBACK_DEFAULTS): print why and return a default."""
    message, default = CALLBACK_DEFAULTS.get((owner, name), (_PURE, None))

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if message is not None:
            print(message.format(method=name, owner=owner), file=sys.stderr)
        if default is _Unset:
            raise TypeError(
                "Unable to convert function return value to a Python type! The signature "
                f"was\n\t(self: {MODULE}.{owner}) -> typing_extensions.Buffer"
            )
        return list(default) if isinstance(default, list) else default

    method.__name__ = name
    method.__qualname__ = f"{owner}.{name}"
    method.__doc__ = f"Implemented by subclasses; TensorRT calls it ({_GPU})."
    return method


class Trampoline(type):
    """Metaclass of the offline binding classes that Python may subclass: like pybind11, an instance of a subclass whose
    ``__init__`` did not call the interface's ``__init__`` is refused."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__call__(*args, **kwargs)
        if not getattr(obj, "_trt_initialized", False):
            base = next(k for k in cls.__mro__ if k.__module__ == MODULE)
            raise TypeError(
                f"{MODULE}.{base.__name__}.__init__() must be called when overriding __init__"
            )
        return obj


def _needs_gpu(owner: str, name: str) -> Any:
    """A method of an object that only TensorRT itself hands out."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{owner}.{name}() {_GPU}")

    method.__name__ = name
    method.__qualname__ = f"{owner}.{name}"
    method.__doc__ = f"{owner}.{name} ({_GPU})."
    return method


def _unreadable(owner: str, name: str, writable: bool) -> property:
    def fget(self: Any) -> Any:
        raise RuntimeError(f"{owner}.{name} {_GPU}")

    def fset(self: Any, value: Any) -> None:
        raise RuntimeError(f"{owner}.{name} {_GPU}")

    return property(fget, fset if writable else None, doc=f"{owner}.{name} ({_GPU}).")


def _subclassable_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """Initialize the interface (subclasses call it from their own ``__init__``)."""
    self._trt_initialized = True


def _no_constructor(owner: str) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.{owner}: No constructor defined!")

    return __init__


def _interface(
    name: str,
    bases: tuple[type, ...],
    methods: tuple[str, ...],
    properties: tuple[tuple[str, bool], ...] = (),
    *,
    constructible: bool = True,
    doc: str,
) -> type:
    """One class of the table below: ``methods`` are pure virtual when the class is an
    interface users implement (``constructible``), else they need TensorRT."""
    if not constructible:
        return _plain(name, bases, methods, properties, doc)
    make = _pure_virtual
    namespace: dict[str, Any] = {
        "__doc__": doc,
        "__module__": MODULE,
        "__init__": _subclassable_init if constructible else _no_constructor(name),
    }
    for method in methods:
        namespace[method] = make(name, method)
    for prop, writable in properties:
        namespace[prop] = _unreadable(name, prop, writable)
    if name in _CALIBRATION_ALGORITHMS:
        algorithm = _CALIBRATION_ALGORITHMS[name]
        namespace["get_algorithm"] = lambda self: algorithm
    return Trampoline(name, bases, namespace)


def _plain(
    name: str,
    bases: tuple[type, ...],
    methods: tuple[str, ...],
    properties: tuple[tuple[str, bool], ...],
    doc: str,
) -> type:
    """A class only TensorRT hands out: no constructor, methods that need TensorRT."""
    namespace: dict[str, Any] = {
        "__doc__": doc,
        "__module__": MODULE,
        "__init__": _no_constructor(name),
    }
    for method in methods:
        namespace[method] = _needs_gpu(name, method)
    for prop, writable in properties:
        namespace[prop] = _unreadable(name, prop, writable)
    return Trampoline(name, bases, namespace)


_CALIBRATOR = (
    "get_algorithm",
    "get_batch",
    "get_batch_size",
    "read_calibration_cache",
    "write_calibration_cache",
)
_ALLOCATOR = ("allocate", "allocate_async", "deallocate", "deallocate_async", "reallocate")

IProfiler = _interface(
    "IProfiler", (), ("report_layer_time",), doc="Application-implemented profiling callback."
)


class Profiler(IProfiler):  # type: ignore[misc,valid-type]  # IProfiler is made by _interface()
    """TensorRT's default profiler, which prints each layer's time."""

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        """Print the time a layer took (TensorRT calls it while profiling on a GPU)."""
        print(f"{layer_name}: {ms}ms")


IGpuAllocator = _interface(
    "IGpuAllocator",
    (IVersionedInterface,),
    _ALLOCATOR,
    doc="Application-implemented device memory allocator.",
)
IGpuAsyncAllocator = _interface(
    "IGpuAsyncAllocator",
    (IGpuAllocator,),
    (),
    doc="Application-implemented stream-ordered device memory allocator.",
)
IOutputAllocator = _interface(
    "IOutputAllocator", (), (), doc="Application-implemented allocator of output buffers."
)
IDebugListener = _interface(
    "IDebugListener",
    (),
    ("process_debug_tensor",),
    doc="Application-implemented listener of debug tensors.",
)
IInt8Calibrator = _interface(
    "IInt8Calibrator", (), _CALIBRATOR, doc="[DEPRECATED] Application-implemented INT8 calibrator."
)
IInt8EntropyCalibrator = _interface(
    "IInt8EntropyCalibrator", (IInt8Calibrator,), (), doc="[DEPRECATED] Entropy calibrator."
)
IInt8EntropyCalibrator2 = _interface(
    "IInt8EntropyCalibrator2", (IInt8Calibrator,), (), doc="[DEPRECATED] Entropy calibrator 2."
)
IInt8LegacyCalibrator = _interface(
    "IInt8LegacyCalibrator", (IInt8Calibrator,), (), doc="[DEPRECATED] Legacy calibrator."
)
IInt8MinMaxCalibrator = _interface(
    "IInt8MinMaxCalibrator", (IInt8Calibrator,), (), doc="[DEPRECATED] MinMax calibrator."
)
IAlgorithmSelector = _interface(
    "IAlgorithmSelector",
    (),
    ("report_algorithms", "select_algorithms"),
    doc="[DEPRECATED] Application-implemented algorithm selector.",
)
IProgressMonitor = _interface(
    "IProgressMonitor",
    (),
    ("phase_finish", "phase_start", "step_complete"),
    doc="Application-implemented monitor of build progress.",
)
IAlgorithm = _interface(
    "IAlgorithm",
    (),
    ("get_algorithm_io_info",),
    (("algorithm_variant", False), ("timing_msec", False), ("workspace_size", False)),
    constructible=False,
    doc="[DEPRECATED] An algorithm TensorRT chose for a layer.",
)
IAlgorithmContext = _interface(
    "IAlgorithmContext",
    (),
    ("get_shape",),
    (("name", False), ("num_inputs", False), ("num_outputs", False)),
    constructible=False,
    doc="[DEPRECATED] The context of an algorithm choice.",
)
IAlgorithmIOInfo = _interface(
    "IAlgorithmIOInfo",
    (),
    (),
    (
        ("components_per_element", False),
        ("dtype", False),
        ("strides", False),
        ("vectorized_dim", False),
    ),
    constructible=False,
    doc="[DEPRECATED] An algorithm's input/output description.",
)
IAlgorithmVariant = _interface(
    "IAlgorithmVariant",
    (),
    (),
    (("implementation", False), ("tactic", False)),
    constructible=False,
    doc="[DEPRECATED] An algorithm's implementation and tactic.",
)
TimingCacheKey = _interface(
    "TimingCacheKey", (), ("parse",), constructible=False, doc="A timing-cache key."
)
TimingCacheValue = _interface(
    "TimingCacheValue",
    (),
    (),
    (("tacticHash", True), ("timingMSec", True)),
    constructible=False,
    doc="A timing-cache value.",
)
ParserError = _interface(
    "ParserError",
    (),
    (
        "code",
        "desc",
        "file",
        "func",
        "line",
        "local_function_stack",
        "local_function_stack_size",
        "node",
        "node_name",
        "node_operator",
    ),
    constructible=False,
    doc="An error of the ONNX parser.",
)


class _ParserFactory:
    """Construction of the ONNX parser classes fails: they need libnvonnxparser."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{type(self).__name__}: {_PARSER}")


def _parser(name: str, methods: tuple[str, ...], properties: tuple[tuple[str, bool], ...]) -> type:
    namespace: dict[str, Any] = {
        "__doc__": f"TensorRT's {name} ({_PARSER}).",
        "__module__": MODULE,
        "__init__": _ParserFactory.__init__,
    }
    for method in methods:
        namespace[method] = _needs_gpu(name, method)
    for prop, writable in properties:
        namespace[prop] = _unreadable(name, prop, writable)
    if name == "OnnxParser":  # a context manager in the bindings
        namespace["__enter__"] = lambda self: self
        namespace["__exit__"] = lambda self, *exc: None
    return Trampoline(name, (), namespace)


OnnxParser = _parser(
    "OnnxParser",
    (
        "clear_errors",
        "clear_flag",
        "get_error",
        "get_flag",
        "get_layer_output_tensor",
        "get_subgraph_nodes",
        "get_used_vc_plugin_libraries",
        "is_subgraph_supported",
        "load_initializer",
        "load_model_proto",
        "parse",
        "parse_from_file",
        "parse_model_proto",
        "parse_with_weight_descriptors",
        "set_builder_config",
        "set_flag",
        "supports_model",
        "supports_model_v2",
        "supports_operator",
    ),
    (("flags", True), ("num_errors", False), ("num_subgraphs", False)),
)
OnnxParserRefitter = _parser(
    "OnnxParserRefitter",
    (
        "clear_errors",
        "get_error",
        "load_initializer",
        "load_model_proto",
        "refit_from_bytes",
        "refit_from_file",
        "refit_model_proto",
    ),
    (("num_errors", False),),
)


class _List(metaclass=Trampoline):
    """A pybind11 bound vector: a list with the methods the bindings expose."""

    def __init__(self, items: Any = ()) -> None:
        self._items = list(items)
        self._trt_initialized = True

    def append(self, x: Any) -> None:
        """Add an item to the end."""
        self._items.append(x)

    def clear(self) -> None:
        """Remove all items."""
        self._items.clear()

    def count(self, x: Any) -> int:
        """How many items equal ``x``."""
        return self._items.count(x)

    def extend(self, items: Any) -> None:
        """Append the items of ``items``."""
        self._items.extend(items)

    def insert(self, i: int, x: Any) -> None:
        """Insert ``x`` at position ``i``."""
        self._items.insert(i, x)

    def pop(self, i: int = -1) -> Any:
        """Remove and return the item at ``i`` (the last by default)."""
        return self._items.pop(i)

    def remove(self, x: Any) -> None:
        """Remove the first item equal to ``x``."""
        self._items.remove(x)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> Any:
        return self._items[i]

    def __setitem__(self, i: int, x: Any) -> None:
        self._items[i] = x

    def __contains__(self, x: Any) -> bool:
        return x in self._items

    def __iter__(self) -> Any:
        return iter(self._items)


class NodeIndices(_List):
    """Indices of ONNX nodes (a list of int)."""


class SubGraphCollection(_List):
    """Subgraphs of an ONNX model, each (NodeIndices, supported)."""


__all__ = [
    "IAlgorithm",
    "IAlgorithmContext",
    "IAlgorithmIOInfo",
    "IAlgorithmSelector",
    "IAlgorithmVariant",
    "IDebugListener",
    "IGpuAllocator",
    "IGpuAsyncAllocator",
    "IInt8Calibrator",
    "IInt8EntropyCalibrator",
    "IInt8EntropyCalibrator2",
    "IInt8LegacyCalibrator",
    "IInt8MinMaxCalibrator",
    "IOutputAllocator",
    "IProfiler",
    "IProgressMonitor",
    "NodeIndices",
    "OnnxParser",
    "OnnxParserRefitter",
    "ParserError",
    "Profiler",
    "SubGraphCollection",
    "TimingCacheKey",
    "TimingCacheValue",
]
