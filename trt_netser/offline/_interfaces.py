"""The callback interfaces and helper classes of TensorRT 10.16 that need a GPU or a native
library to do anything: profilers, allocators, calibrators, algorithm selectors, progress
monitors, timing-cache entries and the ONNX parser.

Client code subclasses and isinstance-checks them at import time (TensorRT-LLM's runtime
subclasses ``IProfiler``), so they exist with the real bases, properties and methods.
Interfaces are subclassable like the bindings' pybind11 trampolines
(``class P(trt.IProfiler): def __init__(self): trt.IProfiler.__init__(self)``); calling a
method the subclass did not override raises RuntimeError, as a trampoline's pure virtual
does. Classes TensorRT only hands out have no constructor (TypeError). The ONNX parser
needs TensorRT's native libnvonnxparser: constructing one raises TypeError, as the real
factory does when it returns nullptr.
"""

from __future__ import annotations

from typing import Any

from trt_netser.offline._plugins import IVersionedInterface
from trt_netser.offline._pyarg import MODULE

#: Why each group of classes cannot do anything offline (in their error messages).
_GPU = "needs a GPU and TensorRT's native runtime (libnvinfer)"
_PARSER = (
    "the ONNX parser needs TensorRT's native libnvonnxparser, which the offline model does "
    "not have (the real bindings' factory returns nullptr without it)"
)


def _pure_virtual(owner: str, name: str) -> Any:
    """A method that an implementation must override (pybind11's pure-virtual error)."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f'Tried to call pure virtual function "{owner}::{name}" ({owner} {_GPU}; '
            "subclasses implement it)"
        )

    method.__name__ = name
    method.__qualname__ = f"{owner}.{name}"
    method.__doc__ = f"Implemented by subclasses; TensorRT calls it ({_GPU})."
    return method


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
    make = _pure_virtual if constructible else _needs_gpu
    namespace: dict[str, Any] = {
        "__doc__": doc,
        "__module__": MODULE,
        "__init__": _subclassable_init if constructible else _no_constructor(name),
    }
    for method in methods:
        namespace[method] = make(name, method)
    for prop, writable in properties:
        namespace[prop] = _unreadable(name, prop, writable)
    return type(name, bases, namespace)


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


class Profiler(IProfiler):  # type: ignore[misc,valid-type]
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
    return type(name, (), namespace)


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


class _List:
    """A pybind11 bound vector: a list with the methods the bindings expose."""

    def __init__(self, items: Any = ()) -> None:
        self._items = list(items)

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
