"""Runtime: deserializes offline plans into ICudaEngine objects.

Whatever the input (a plan from another TensorRT version or device, a truncated or
corrupted plan, garbage, a non-buffer object), the outcome is an engine or ``None`` with
an ERROR through the runtime's logger, never a Python traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from trt_netser.offline import _plan
from trt_netser.offline._engine import ICudaEngine
from trt_netser.offline._enums import SeekPosition, _Severity
from trt_netser.offline._hostmem import plan_bytes
from trt_netser.offline._interfaces import IGpuAllocator
from trt_netser.offline._logger import ILogger, refuse_max_threads, report
from trt_netser.offline._plugins import IErrorRecorder, IPluginRegistry, get_plugin_registry
from trt_netser.offline._pyarg import (
    BOOL,
    INT,
    INT32,
    MODULE,
    OPT_STR,
    STR,
    Arg,
    Sig,
    api,
    check_setter,
    instance,
)
from trt_netser.offline._streams import IStreamReader, IStreamReaderV2, read_exactly

if TYPE_CHECKING:
    from trt_netser.offline._pyarg import Setting


#: The parameter names of deserialize_cuda_engine's three overloads in the bindings.
_DESERIALIZE_KWARGS = frozenset({"serialized_engine", "stream_reader", "stream_reader_v2"})
#: keyword -> whether a value fits that overload.
_KWARG_FITS: dict[str, Callable[[Any], bool]] = {
    "serialized_engine": lambda v: not isinstance(v, IStreamReader | IStreamReaderV2),
    "stream_reader": lambda v: isinstance(v, IStreamReader),
    "stream_reader_v2": lambda v: isinstance(v, IStreamReaderV2),
}


class Runtime:
    """Allows a serialized :class:`ICudaEngine` to be deserialized."""

    __slots__ = ("__weakref__", "_s")

    if TYPE_CHECKING:
        # The properties that _runtime_prop adds below, for type checkers.
        DLA_core: Setting[int]
        engine_host_code_allowed: Setting[bool]
        error_recorder: Setting[Any]
        gpu_allocator: Setting[Any]
        max_threads: Setting[int]
        tempfile_control_flags: Setting[int]
        temporary_directory: Setting[str | None]

    @api("Runtime", Sig([Arg("logger", instance(ILogger))], "None"))
    def __init__(self, logger: ILogger) -> None:
        self._s: dict[str, Any] = {
            "logger": logger,
            "DLA_core": -1,
            "engine_host_code_allowed": False,
            "error_recorder": None,
            "gpu_allocator": None,
            "max_threads": 1,
            "tempfile_control_flags": 3,
            "temporary_directory": None,
        }

    def _error(self, msg: str) -> None:
        report(self._s["logger"], _Severity.ERROR, msg)

    def deserialize_cuda_engine(self, *args: Any, **kwargs: Any) -> ICudaEngine:
        """Deserialize an engine from a buffer, IHostMemory or a stream reader (None on error)."""
        values = list(args) + list(kwargs.values())
        if len(values) != 1 or not _DESERIALIZE_KWARGS.issuperset(kwargs):
            raise TypeError(
                "deserialize_cuda_engine(): incompatible function arguments. The following "
                "argument types are supported:\n    1. (self: trt_netser.offline.Runtime, "
                "serialized_engine: typing_extensions.Buffer) -> trt_netser.offline.ICudaEngine"
            )
        source = values[0]
        kind = next(iter(kwargs), None)
        if kind is not None and not _KWARG_FITS[kind](source):
            # a keyword picks its overload: a reader given as serialized_engine (or bytes as
            # stream_reader) matches none
            raise TypeError(
                "deserialize_cuda_engine(): incompatible function arguments. The following "
                "argument types are supported:\n    1. (self: trt_netser.offline.Runtime, "
                "serialized_engine: typing_extensions.Buffer) -> trt_netser.offline.ICudaEngine"
            )
        if isinstance(source, IStreamReader | IStreamReaderV2):
            data = self._read_plan(source)
            if data is None:
                # TensorRT returns None (nullptr) here though its signature says ICudaEngine.
                return None  # type: ignore[return-value]
        else:
            data = plan_bytes(source)
        if data is None:
            raise TypeError(
                "deserialize_cuda_engine(): incompatible function arguments. The following "
                "argument types are supported:\n    1. (self: trt_netser.offline.Runtime, "
                "serialized_engine: typing_extensions.Buffer) -> trt_netser.offline.ICudaEngine\n"
                "    2. (self: trt_netser.offline.Runtime, stream_reader: "
                "trt_netser.offline.IStreamReader) -> trt_netser.offline.ICudaEngine\n\n"
                f"Invoked with: {self!r}, {source!r}"
            )
        try:
            plan = _plan.decode(data)
        except _plan.PlanError as exc:
            self._error(str(exc))
            # TensorRT returns None (nullptr) here though its signature says ICudaEngine.
            return None  # type: ignore[return-value]
        return ICudaEngine._make(plan, self._s["logger"])

    def _read_plan(self, reader: IStreamReader | IStreamReaderV2) -> bytes | None:
        """The plan bytes from a stream reader: the header, then what it says follows."""
        if isinstance(reader, IStreamReaderV2):
            try:
                reader.seek(0, SeekPosition.SET)
            except Exception as exc:
                self._error(
                    "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (the stream "
                    f"reader's seek raised {type(exc).__name__}: {exc}.)"
                )
                return None
        head = read_exactly(reader, _plan.HEADER.size)
        if head is None:
            self._error(
                "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (the stream reader "
                "raised an exception.)"
            )
            return None
        if len(head) < _plan.HEADER.size or head[:8] != _plan.MAGIC:
            return head  # decode reports the bad magic or the truncation
        _, version, _, length, size = _plan.HEADER.unpack(head)
        if version != _plan.FORMAT_VERSION:
            return head  # decode reports the version (whose header may differ)
        rest = read_exactly(reader, length + size + _plan.DIGEST_SIZE)
        if rest is None:
            self._error(
                "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (the stream reader "
                "raised an exception.)"
            )
            return None
        return head + rest

    def get_plugin_registry(self) -> IPluginRegistry:
        """The plugin registry of the runtime."""
        return get_plugin_registry()

    @api("Runtime", Sig([Arg("path", STR)], f"{MODULE}.Runtime"))
    def load_runtime(self, path: str) -> Runtime:
        """Lean runtimes are native libraries: not available offline (ERROR, None)."""
        self._error(
            "IRuntime::loadRuntime: Error Code 9: API Usage Error (runtime libraries cannot be "
            f"loaded by the offline TensorRT model: {path}.)"
        )
        # TensorRT returns None (nullptr) on failure though its signature says Runtime.
        return None  # type: ignore[return-value]

    @property
    def logger(self) -> ILogger:
        """The logger given at construction."""
        return cast(ILogger, self._s["logger"])

    @property
    def num_DLA_cores(self) -> int:
        """The offline device has no DLA."""
        return 0

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


#: Runtime settings the bindings define with a setter and no getter.
_WRITE_ONLY = frozenset({"gpu_allocator"})
#: Settings whose values TensorRT refuses (logged), keeping the setting: name -> check.
_REFUSED: dict[str, Callable[[ILogger, Any], bool]] = {
    "max_threads": lambda logger, value: refuse_max_threads(logger, "IRuntime", value),
}


def _runtime_prop(name: str, conv: Any, doc: str) -> property:
    def fget(self: Runtime) -> Any:
        return self._s[name]

    refused = _REFUSED.get(name)

    def fset(self: Runtime, value: Any) -> None:
        value = value if conv is None else check_setter("Runtime", conv, value)
        if refused is None or not refused(self._s["logger"], value):
            self._s[name] = value

    if name in _WRITE_ONLY:
        return property(None, fset, doc=f"{doc} Write-only, as in the bindings.")
    return property(fget, fset, doc=doc)


for _name, _conv, _doc in (
    ("DLA_core", INT, "The DLA core engines execute on (-1: none offline)."),
    ("engine_host_code_allowed", BOOL, "Whether engines with host code may be deserialized."),
    ("error_recorder", instance(IErrorRecorder, optional=True), "Error recorder (None)."),
    ("gpu_allocator", instance(IGpuAllocator, optional=True), "GPU allocator (None: default)."),
    ("max_threads", INT32, "Maximum threads the runtime may use (default 1)."),
    ("tempfile_control_flags", INT, "TempfileControlFlag bits (default: both allowed)."),
    ("temporary_directory", OPT_STR, "Temporary directory for executable code (None)."),
):
    setattr(Runtime, _name, _runtime_prop(_name, _conv, _doc))

Runtime.__module__ = MODULE
