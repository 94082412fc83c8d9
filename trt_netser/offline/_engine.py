"""ICudaEngine, IExecutionContext, ISerializationConfig and IRuntimeConfig of the offline model.

An offline engine is a :class:`~trt_netser.offline._plan.Plan` in memory: the network's
layer-graph IR with its weights, the builder config and the refit inventory. Serializing
it writes the plan format again; a Refitter replaces weight bytes in place. Execution
(``execute_v2``/``execute_async_v3``) runs on the CPU through small hooks into
:mod:`trt_netser.offline._execute` (offline "device" memory is host memory).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from trt_netser.offline import _plan
from trt_netser.offline._enumbase import PybindEnum
from trt_netser.offline._enums import (
    BuilderFlag,
    DataType,
    EngineCapability,
    EngineStat,
    ExecutionContextAllocationStrategy,
    HardwareCompatibilityLevel,
    ProfilingVerbosity,
    SerializationFlag,
    TensorFormat,
    TensorIOMode,
    TensorLocation,
    _Severity,
)
from trt_netser.offline._interfaces import IDebugListener, IGpuAllocator, IProfiler
from trt_netser.offline._ir import TensorIR
from trt_netser.offline._logger import ILogger, report
from trt_netser.offline._plan import Plan
from trt_netser.offline._plugins import IErrorRecorder
from trt_netser.offline._pyarg import (
    BOOL,
    INT,
    INTS,
    MODULE,
    OBJECT,
    SIZE_T,
    STR,
    Arg,
    Conv,
    Mismatch,
    Sig,
    api,
    check_setter,
    enum,
    instance,
)
from trt_netser.offline._types import Dims
from trt_netser.offline._types import _itemsize as itemsize

if TYPE_CHECKING:
    from trt_netser.offline._hostmem import IHostMemory
    from trt_netser.offline._inspector import EngineInspector
    from trt_netser.offline._pyarg import Setting

_STRATEGY = enum(ExecutionContextAllocationStrategy)
_ERROR_RECORDER = instance(IErrorRecorder, optional=True)
# IRuntimeConfig is defined below; the check looks the class up when called
_RUNTIME_CONFIG = Conv(
    f"{MODULE}.IRuntimeConfig",
    lambda v: v if v is None or isinstance(v, IRuntimeConfig) else _mismatch(),
)


def _mismatch() -> Any:
    raise Mismatch


_E = TypeVar("_E", bound=PybindEnum)


#: How TensorRT names a data type in format descriptions ("Row major linear FP32 format":
#: FP32 and FP16 are the docstring's examples, Int8 the developer guide's inspector output;
#: the rest follow those spellings and are not documented).
_FORMAT_DTYPE_NAMES: dict[DataType, str] = {
    DataType.FLOAT: "FP32",
    DataType.HALF: "FP16",
    DataType.BF16: "BF16",
    DataType.INT8: "Int8",
    DataType.INT32: "Int32",
    DataType.INT64: "Int64",
    DataType.BOOL: "Bool",
    DataType.UINT8: "UInt8",
    DataType.FP8: "FP8",
    DataType.INT4: "Int4",
    DataType.FP4: "FP4",
    DataType.E8M0: "E8M0",
}


def format_dtype_name(dtype: DataType) -> str:
    """TensorRT's name of ``dtype`` in a tensor format description."""
    return _FORMAT_DTYPE_NAMES.get(dtype, dtype.name)


def _flag(flags: int, flag: Any) -> bool:
    return bool(flags >> int(flag) & 1)


class IRuntimeConfig:
    """Runtime configuration of an execution context (allocation strategy)."""

    __slots__ = ("__weakref__", "_strategy")
    _strategy: ExecutionContextAllocationStrategy

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IRuntimeConfig: No constructor defined!")

    @classmethod
    def _make(cls) -> IRuntimeConfig:
        obj = object.__new__(cls)
        obj._strategy = ExecutionContextAllocationStrategy.STATIC
        return obj

    def get_execution_context_allocation_strategy(self) -> ExecutionContextAllocationStrategy:
        """The execution context allocation strategy (default STATIC)."""
        return self._strategy

    @api(
        "IRuntimeConfig",
        Sig([Arg("strategy", _STRATEGY, ExecutionContextAllocationStrategy.STATIC)], "None"),
    )
    def set_execution_context_allocation_strategy(
        self, strategy: ExecutionContextAllocationStrategy
    ) -> None:
        """Set the execution context allocation strategy."""
        self._strategy = strategy


class ISerializationConfig:
    """Flags that decide how an engine is serialized (SerializationFlag bits)."""

    __slots__ = ("__weakref__", "_flags")
    _flags: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.ISerializationConfig: No constructor defined!")

    @classmethod
    def _make(cls, flags: int) -> ISerializationConfig:
        obj = object.__new__(cls)
        obj._flags = flags
        return obj

    @property
    def flags(self) -> int:
        """Bit mask of SerializationFlag values."""
        return self._flags

    @flags.setter
    def flags(self, value: int) -> None:
        self._flags = check_setter("ISerializationConfig", INT, value)

    @api("ISerializationConfig", Sig([Arg("flag", enum(SerializationFlag))], "bool"))
    def set_flag(self, flag: SerializationFlag) -> bool:
        """Add the input serialization flag to the already enabled flags."""
        self._flags |= 1 << int(flag)
        return True

    @api("ISerializationConfig", Sig([Arg("flag", enum(SerializationFlag))], "bool"))
    def clear_flag(self, flag: SerializationFlag) -> bool:
        """Clears the serialization flag from the config."""
        self._flags &= ~(1 << int(flag))
        return True

    @api("ISerializationConfig", Sig([Arg("flag", enum(SerializationFlag))], "bool"))
    def get_flag(self, flag: SerializationFlag) -> bool:
        """Check if a serialization flag is set."""
        return _flag(self._flags, flag)


class ICudaEngine:
    """An engine for executing inference on a built network (offline: a plan in memory)."""

    __slots__ = ("__weakref__", "_budget", "_error_recorder", "_io", "_logger", "_plan")
    _budget: int
    _error_recorder: Any
    _io: list[TensorIR]
    _logger: ILogger | None
    _plan: Plan

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.ICudaEngine: No constructor defined!")

    @classmethod
    def _make(cls, plan: Plan, logger: ILogger | None) -> ICudaEngine:
        obj = object.__new__(cls)
        obj._plan = plan
        obj._logger = logger
        obj._error_recorder = None
        head = plan.head
        io = [head.tensors[t] for t in head.inputs]
        seen = {t.id for t in io}
        for tid in (*head.outputs, *head.shape_outputs):
            if tid not in seen:
                seen.add(tid)
                io.append(head.tensors[tid])
        obj._io = io
        obj._budget = obj.streamable_weights_size
        return obj

    # -- helpers ---------------------------------------------------------------------------
    def _error(self, msg: str) -> None:
        report(self._logger, _Severity.ERROR, msg)

    def _tensor(self, name: str, api_name: str) -> TensorIR | None:
        for t in self._io:
            if t.name == name:
                return t
        self._error(
            f"ICudaEngine::{api_name}: Error Code 3: API Usage Error (Parameter check failed, "
            f"condition: tensor '{name}' is an input or output tensor of the engine.)"
        )
        return None

    def _mode(self, t: TensorIR) -> TensorIOMode:
        return TensorIOMode.INPUT if t.id in self._plan.head.inputs else TensorIOMode.OUTPUT

    def _config_flag(self, flag: BuilderFlag) -> bool:
        return _flag(int(self._plan.config.get("flags", 0)), flag)

    def _config_enum(self, key: str, default: _E) -> _E:
        rec = self._plan.config.get(key)
        return type(default)(rec) if rec is not None else default

    def _refittable_weights(self) -> frozenset[int]:
        return frozenset(e.weights for e in self._plan.inventory if e.refittable)

    # -- IO introspection ----------------------------------------------------------------------
    @property
    def num_io_tensors(self) -> int:
        """The number of IO tensors."""
        return len(self._io)

    @api("ICudaEngine", Sig([Arg("index", INT)], "str"))
    def get_tensor_name(self, index: int) -> str:
        """Name of the IO tensor at ``index`` (inputs first, then outputs)."""
        if not 0 <= index < len(self._io):
            self._error(
                f"ICudaEngine::getIOTensorName: Error Code 3: API Usage Error (Parameter check "
                f"failed, condition: index >= 0 && index < getNbIOTensors(). index {index} is out "
                f"of range [0, {len(self._io)}).)"
            )
            # TensorRT returns None (nullptr) here though its signature says str.
            return None  # type: ignore[return-value]
        return self._io[index].name

    @api("ICudaEngine", Sig([Arg("name", STR)], f"{MODULE}.TensorIOMode"))
    def get_tensor_mode(self, name: str) -> TensorIOMode:
        """INPUT, OUTPUT, or NONE if ``name`` is not an IO tensor."""
        for t in self._io:
            if t.name == name:
                return self._mode(t)
        return TensorIOMode.NONE

    @api("ICudaEngine", Sig([Arg("name", STR)], f"{MODULE}.Dims"))
    def get_tensor_shape(self, name: str) -> Dims:
        """Shape of an IO tensor (-1 for dimensions that vary within the profiles); the
        invalid Dims (nbDims == -1) for a name that is not one, as TensorRT documents."""
        t = self._tensor(name, "getTensorShape")
        return Dims._from(t.shape) if t is not None else Dims._invalid()

    @api("ICudaEngine", Sig([Arg("name", STR)], f"{MODULE}.DataType"))
    def get_tensor_dtype(self, name: str) -> DataType:
        """Data type of an IO tensor."""
        t = self._tensor(name, "getTensorDataType")
        return t.dtype if t is not None else DataType.FLOAT

    @api("ICudaEngine", Sig([Arg("name", STR)], f"{MODULE}.TensorLocation"))
    def get_tensor_location(self, name: str) -> TensorLocation:
        """Where an IO tensor lives (DEVICE, or HOST for shape tensors)."""
        t = self._tensor(name, "getTensorLocation")
        if t is None:
            return TensorLocation.DEVICE
        return TensorLocation.HOST if t.is_shape else t.location

    @api(
        "ICudaEngine",
        Sig([Arg("name", STR)], f"{MODULE}.TensorFormat"),
        Sig([Arg("name", STR), Arg("profile_index", INT)], f"{MODULE}.TensorFormat"),
    )
    def get_tensor_format(self, name: str, profile_index: int = 0) -> TensorFormat:
        """Format of an IO tensor (offline engines use LINEAR everywhere)."""
        self._tensor(name, "getTensorFormat")
        return TensorFormat.LINEAR

    @api(
        "ICudaEngine",
        Sig([Arg("name", STR)], "str"),
        Sig([Arg("name", STR), Arg("profile_index", INT)], "str"),
    )
    def get_tensor_format_desc(self, name: str, profile_index: int = 0) -> str:
        """Human-readable format description of an IO tensor (LINEAR, with TensorRT's name
        of the data type); None for a name that is not one (TensorRT returns nullptr)."""
        t = self._tensor(name, "getTensorFormatDesc")
        if t is None:
            return None  # type: ignore[return-value]
        return f"Row major linear {format_dtype_name(t.dtype)} format (kLINEAR)"

    @api(
        "ICudaEngine",
        Sig([Arg("name", STR)], "int"),
        Sig([Arg("name", STR), Arg("profile_index", INT)], "int"),
    )
    def get_tensor_bytes_per_component(self, name: str, profile_index: int = 0) -> int:
        """Bytes per element of an IO tensor (LINEAR format: the dtype's size, at least 1)."""
        t = self._tensor(name, "getTensorBytesPerComponent")
        if t is None:
            return -1
        return max(1, int(itemsize(t.dtype) or 1))

    @api(
        "ICudaEngine",
        Sig([Arg("name", STR)], "int"),
        Sig([Arg("name", STR), Arg("profile_index", INT)], "int"),
    )
    def get_tensor_components_per_element(self, name: str, profile_index: int = 0) -> int:
        """Components per element (1: LINEAR format is not vectorized)."""
        return 1 if self._tensor(name, "getTensorComponentsPerElement") is not None else -1

    @api(
        "ICudaEngine",
        Sig([Arg("name", STR)], "int"),
        Sig([Arg("name", STR), Arg("profile_index", INT)], "int"),
    )
    def get_tensor_vectorized_dim(self, name: str, profile_index: int = 0) -> int:
        """The vectorized dimension (-1: LINEAR format is not vectorized)."""
        self._tensor(name, "getTensorVectorizedDim")
        return -1

    @api("ICudaEngine", Sig([Arg("name", STR)], "bool"))
    def is_shape_inference_io(self, name: str) -> bool:
        """Whether the IO tensor is a shape tensor (read or written on the host)."""
        t = self._tensor(name, "isShapeInferenceIO")
        return bool(t is not None and t.is_shape)

    @api("ICudaEngine", Sig([Arg("name", STR)], "bool"))
    def is_debug_tensor(self, name: str) -> bool:
        """Whether the tensor was marked as a debug tensor (not recorded offline: False)."""
        return False

    @api("ICudaEngine", Sig([Arg("name", STR)], "str"))
    def get_aliased_input_tensor(self, name: str) -> str:
        """The input an output aliases (KV-cache updates), or None."""
        # None (documented: no alias) though the binding's signature says str.
        return None  # type: ignore[return-value]

    @api("ICudaEngine", Sig([Arg("name", STR), Arg("profile_index", INT)], f"list[{MODULE}.Dims]"))
    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[Dims]:
        """[min, opt, max] shapes of an input in an optimization profile (a static input's
        own shape three times). The binding asks TensorRT once per selector, so a refused
        query (unknown name, an output, a profile out of range) gives three invalid Dims
        (nbDims == -1), each logged, never a shorter list client code cannot unpack."""
        return [self._profile_shape(name, profile_index, i) for i in range(3)]

    def _profile_shape(self, name: str, profile_index: int, select: int) -> Dims:
        """ICudaEngine::getProfileShape for one OptProfileSelector (0 min, 1 opt, 2 max)."""
        t = self._tensor(name, "getProfileShape")
        if t is None:
            return Dims._invalid()
        if not 0 <= profile_index < self.num_optimization_profiles:
            self._error(
                f"ICudaEngine::getProfileShape: Error Code 3: API Usage Error (Parameter check "
                f"failed, condition: profileIndex >= 0 && profileIndex < "
                f"getNbOptimizationProfiles(). profile index {profile_index} is out of range.)"
            )
            return Dims._invalid()
        if self._mode(t) != TensorIOMode.INPUT:
            self._error(
                f"ICudaEngine::getProfileShape: Error Code 3: API Usage Error (Parameter check "
                f"failed, condition: tensor '{name}' is an input tensor.)"
            )
            return Dims._invalid()
        profiles = self._plan.head.profiles
        shapes = profiles[profile_index].shapes.get(name) if profiles else None
        return Dims._from(shapes[select] if shapes is not None else t.shape)

    @api(
        "ICudaEngine",
        Sig([Arg("name", INT), Arg("profile_index", STR)], "list[list[int]]"),
    )
    def get_tensor_profile_values(self, name: int, profile_index: str) -> list[list[int]]:
        """[min, opt, max] values of a shape input in a profile. The real binding's first
        parameter (called ``name``) is the profile index and its second (``profile_index``)
        the tensor name, so ``(profile, tensor)`` is the one order it accepts; a tensor that
        is no shape input raises RuntimeError (its docstring: "an exception is raised")."""
        profile, tensor = name, profile_index
        shape_input = (
            self.is_shape_inference_io(tensor)
            and self.get_tensor_mode(tensor) == TensorIOMode.INPUT
        )
        if not shape_input:
            raise RuntimeError(f"Tensor {tensor} is not an input shape tensor.")
        profiles = self._plan.head.profiles
        if not 0 <= profile < len(profiles):
            self._error(
                f"ICudaEngine::getProfileTensorValues: Error Code 3: API Usage Error (Parameter "
                f"check failed, condition: profileIndex >= 0 && profileIndex < "
                f"getNbOptimizationProfiles(). profile index {profile} is out of range.)"
            )
            return []
        return [list(v) for v in profiles[profile].values.get(tensor, ())]

    # -- engine properties ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The name of the network the engine was built from."""
        return self._plan.head.name

    @property
    def num_layers(self) -> int:
        """The number of layers (offline engines keep every layer of the network)."""
        return self._plan.head.num_layers

    @property
    def num_optimization_profiles(self) -> int:
        """The number of optimization profiles (at least 1)."""
        return max(1, len(self._plan.head.profiles))

    @property
    def refittable(self) -> bool:
        """Whether the engine can be refit."""
        return self._plan.refittable

    @property
    def engine_capability(self) -> EngineCapability:
        """The engine capability it was built with."""
        return self._config_enum("engine_capability", EngineCapability.STANDARD)

    @property
    def hardware_compatibility_level(self) -> HardwareCompatibilityLevel:
        """The hardware compatibility level it was built with."""
        return self._config_enum("hardware_compatibility_level", HardwareCompatibilityLevel.NONE)

    @property
    def profiling_verbosity(self) -> ProfilingVerbosity:
        """The profiling verbosity it was built with."""
        return self._config_enum("profiling_verbosity", ProfilingVerbosity.LAYER_NAMES_ONLY)

    @property
    def tactic_sources(self) -> int:
        """The tactic sources it was built with."""
        return int(self._plan.config.get("tactic_sources", 0))

    @property
    def has_implicit_batch_dimension(self) -> bool:
        """[DEPRECATED] Always False."""
        return False

    @property
    def num_aux_streams(self) -> int:
        """Auxiliary streams used (0: offline engines run layers one after another)."""
        return 0

    def _weights_bytes(self, indices: Iterable[int]) -> int:
        weights = self._plan.weights
        total = 0
        for i in indices:
            w = weights[i]
            size = itemsize(w.dtype) or 1
            total += int(-(-w.count * size // 1))
        return total

    @property
    def device_memory_size(self) -> int:
        """Activation memory an execution context needs (0: offline memory is host memory)."""
        return 0

    @property
    def device_memory_size_v2(self) -> int:
        """Activation memory an execution context needs (0 offline)."""
        return 0

    @api("ICudaEngine", Sig([Arg("profile_index", INT)], "int"))
    def get_device_memory_size_for_profile(self, profile_index: int) -> int:
        """Activation memory for a profile (0 offline)."""
        return 0

    @api("ICudaEngine", Sig([Arg("profile_index", INT)], "int"))
    def get_device_memory_size_for_profile_v2(self, profile_index: int) -> int:
        """Activation memory for a profile (0 offline)."""
        return 0

    @api("ICudaEngine", Sig([Arg("stat", enum(EngineStat), EngineStat.TOTAL_WEIGHTS_SIZE)], "int"))
    def get_engine_stat(self, stat: EngineStat) -> int:
        """TOTAL_WEIGHTS_SIZE: bytes of all weights; STRIPPED_WEIGHTS_SIZE: of those stripped
        (-1 for an engine not built with STRIP_PLAN, as the docstring says)."""
        weights = self._plan.weights
        if stat == EngineStat.STRIPPED_WEIGHTS_SIZE:
            if not self._config_flag(BuilderFlag.STRIP_PLAN):
                return -1  # "a normal engine ... will return -1" (the docstring)
            stripped = [i for i in self._refittable_weights() if weights[i].data is None]
            return self._weights_bytes(stripped)
        return self._weights_bytes(range(len(weights)))

    # -- weight streaming -------------------------------------------------------------------------
    @property
    def streamable_weights_size(self) -> int:
        """Bytes of weights that can be streamed (all weights of a WEIGHT_STREAMING engine)."""
        if not self._config_flag(BuilderFlag.WEIGHT_STREAMING):
            return 0
        return self._weights_bytes(range(len(self._plan.weights)))

    @property
    def minimum_weight_streaming_budget(self) -> int:
        """[DEPRECATED] Minimum budget (0: offline engines stream layer by layer)."""
        return 0

    @property
    def weight_streaming_budget(self) -> int:
        """[DEPRECATED] The weight streaming budget (-1 when streaming is disabled)."""
        return -1 if self._budget >= self.streamable_weights_size else self._budget

    @weight_streaming_budget.setter
    def weight_streaming_budget(self, value: int) -> None:
        val = check_setter("ICudaEngine", INT, value)
        self._budget = self.streamable_weights_size if val < 0 else val

    @property
    def weight_streaming_budget_v2(self) -> int:
        """The weight streaming budget (default: streamable_weights_size, no streaming)."""
        return self._budget

    @weight_streaming_budget_v2.setter
    def weight_streaming_budget_v2(self, value: int) -> None:
        val = check_setter("ICudaEngine", INT, value)
        if val < 0:
            self._error(
                "ICudaEngine::setWeightStreamingBudgetV2: Error Code 3: API Usage Error (Parameter "
                "check failed, condition: gpuMemoryBudget >= 0.)"
            )
            return
        if not self._config_flag(BuilderFlag.WEIGHT_STREAMING):
            self._error(
                "ICudaEngine::setWeightStreamingBudgetV2: Error Code 3: API Usage Error (The "
                "engine was not built with kWEIGHT_STREAMING.)"
            )
            return
        self._budget = val

    @property
    def weight_streaming_scratch_memory_size(self) -> int:
        """Scratch memory for weight streaming (0 offline)."""
        return 0

    def get_weight_streaming_automatic_budget(self) -> int:
        """The budget TensorRT would choose (all streamable weights fit offline)."""
        return self.streamable_weights_size

    @property
    def error_recorder(self) -> Any:
        """Error recorder (None by default)."""
        return self._error_recorder

    @error_recorder.setter
    def error_recorder(self, value: Any) -> None:
        self._error_recorder = check_setter("ICudaEngine", _ERROR_RECORDER, value)

    # -- serialization -----------------------------------------------------------------------
    def _default_serialization_flags(self) -> int:
        flags = 0
        if self._config_flag(BuilderFlag.STRIP_PLAN):
            flags |= 1 << int(SerializationFlag.EXCLUDE_WEIGHTS)
        if self._config_flag(BuilderFlag.EXCLUDE_LEAN_RUNTIME):
            flags |= 1 << int(SerializationFlag.EXCLUDE_LEAN_RUNTIME)
        if self._plan.refittable:
            flags |= 1 << int(SerializationFlag.INCLUDE_REFIT)
        return flags

    def create_serialization_config(self) -> ISerializationConfig:
        """A serialization config with the flags the engine was built with."""
        return ISerializationConfig._make(self._default_serialization_flags())

    def _serialize(self, flags: int) -> bytes | None:
        plan = self._plan
        exclude = _flag(flags, SerializationFlag.EXCLUDE_WEIGHTS)
        if exclude and not plan.refittable:
            self._error(
                "ICudaEngine::serializeWithConfig: Error Code 3: API Usage Error (Parameter check "
                "failed, condition: !excludeWeights || isRefittable(). kEXCLUDE_WEIGHTS requires an "
                "engine built with kREFIT, kREFIT_IDENTICAL, kREFIT_INDIVIDUAL or kSTRIP_PLAN.)"
            )
            return None
        refittable = self._refittable_weights()
        missing = [i for i in refittable if plan.weights[i].data is None]
        if missing and not exclude:
            self._error(
                "ICudaEngine::serialize: Error Code 3: API Usage Error (the engine's refittable "
                f"weights were stripped and {len(missing)} of them have not been refit; serialize "
                "with kEXCLUDE_WEIGHTS or refit them first.)"
            )
            return None
        # A plan without its refittable weights must stay refittable to be usable; one with
        # them stays refittable only with INCLUDE_REFIT (TensorRT 10.14+).
        keep_refit = plan.refittable and (exclude or _flag(flags, SerializationFlag.INCLUDE_REFIT))
        out = plan.derive(
            refittable=keep_refit, weights_excluded=exclude, serialization_flags=flags
        )
        return _plan.encode(out, exclude=refittable if exclude else frozenset())

    def serialize(self) -> IHostMemory:
        """The engine's plan, as it was built (same bytes as the builder's, after a refit too)."""
        from trt_netser.offline._hostmem import IHostMemory

        data = self._serialize(self._default_serialization_flags())
        if data is None:
            # TensorRT returns None (nullptr) here though its signature says IHostMemory.
            return None  # type: ignore[return-value]
        return IHostMemory._make(data)

    @api("ICudaEngine", Sig([Arg("arg0", OBJECT)], f"{MODULE}.IHostMemory"))
    def serialize_with_config(self, arg0: ISerializationConfig) -> IHostMemory:
        """The engine's plan with the serialization flags of ``arg0``."""
        from trt_netser.offline._hostmem import IHostMemory

        if not isinstance(arg0, ISerializationConfig):
            raise TypeError(
                "serialize_with_config(): incompatible function arguments. The following argument "
                "types are supported:\n    1. (self: trt_netser.offline.ICudaEngine, arg0: "
                "trt_netser.offline.ISerializationConfig) -> trt_netser.offline.IHostMemory"
            )
        data = self._serialize(arg0._flags)
        if data is None:
            # TensorRT returns None (nullptr) here though its signature says IHostMemory.
            return None  # type: ignore[return-value]
        return IHostMemory._make(data)

    # -- contexts --------------------------------------------------------------------------------
    @api(
        "ICudaEngine",
        Sig(
            [Arg("strategy", _STRATEGY, ExecutionContextAllocationStrategy.STATIC)],
            f"{MODULE}.IExecutionContext",
        ),
        Sig(
            [Arg("runtime_config", _RUNTIME_CONFIG, None)],
            f"{MODULE}.IExecutionContext",
        ),
    )
    def create_execution_context(self, **kwargs: Any) -> IExecutionContext:
        """A new execution context: with an allocation strategy or a runtime config, the
        two overloads of the bindings (anything else is their TypeError)."""
        if "runtime_config" in kwargs:
            config = kwargs["runtime_config"] or IRuntimeConfig._make()
        else:
            config = IRuntimeConfig._make()
            config._strategy = kwargs["strategy"]
        return IExecutionContext._make(self, config)

    def create_execution_context_without_device_memory(self) -> IExecutionContext:
        """A new execution context whose device memory the user provides."""
        config = IRuntimeConfig._make()
        config._strategy = ExecutionContextAllocationStrategy.USER_MANAGED
        return IExecutionContext._make(self, config)

    def create_runtime_config(self) -> IRuntimeConfig:
        """A runtime configuration with the defaults."""
        return IRuntimeConfig._make()

    def create_engine_inspector(self) -> EngineInspector:
        """An EngineInspector of this engine's layers."""
        from trt_netser.offline._inspector import EngineInspector

        return EngineInspector._make(self)

    @api("ICudaEngine", Sig([Arg("arg0", INT)], "str"))
    def __getitem__(self, arg0: int) -> str:
        """The name of the IO tensor at index ``arg0``; negative indices count from the end
        and an index out of range raises IndexError, so ``for name in engine`` stops (the
        real ``__getitem__`` takes an int only, unlike the class docstring's str indexing)."""
        n = len(self._io)
        index = arg0 + n if arg0 < 0 else arg0
        if not 0 <= index < n:
            raise IndexError
        return self._io[index].name

    def __enter__(self) -> ICudaEngine:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def _shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise Mismatch
    return tuple(INT(v) for v in value)


_SHAPE = Conv("tuple", _shape)


def _allocator(value: Any) -> Any:
    from trt_netser.offline._interfaces import IOutputAllocator

    if value is not None and not isinstance(value, IOutputAllocator):
        raise Mismatch
    return value


_ALLOCATOR = Conv(f"{MODULE}.IOutputAllocator", _allocator)
_LISTENER = instance(IDebugListener, optional=True)


class IExecutionContext:
    """Context for executing an engine: input shapes, tensor addresses (no execution here)."""

    __slots__ = (
        "__weakref__",
        "_addresses",
        "_config",
        "_engine",
        "_inferred",
        "_p",
        "_profile",
        "_shapes",
        "_values",
    )
    _addresses: dict[str, int]
    _config: IRuntimeConfig
    _engine: ICudaEngine
    #: (input shapes set, IO tensor shapes by id) of the last shape replay
    _inferred: tuple[tuple[tuple[str, tuple[int, ...]], ...], dict[int, tuple[int, ...]]] | None
    _p: dict[str, Any]  # stored settings, by property name
    _profile: int
    _shapes: dict[str, tuple[int, ...]]
    _values: dict[str, tuple[int, ...]]

    if TYPE_CHECKING:
        # The stored-setting properties that _ctx_prop adds below, for type checkers.
        debug_sync: Setting[bool]
        device_memory: Setting[int]
        enqueue_emits_profile: Setting[bool]
        error_recorder: Setting[Any]
        name: Setting[str]
        nvtx_verbosity: Setting[ProfilingVerbosity]
        persistent_cache_limit: Setting[int]
        profiler: Setting[Any]
        temporary_allocator: Setting[Any]
        unfused_tensors_debug_state: Setting[bool]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IExecutionContext: No constructor defined!")

    @classmethod
    def _make(cls, engine: ICudaEngine, config: IRuntimeConfig) -> IExecutionContext:
        obj = object.__new__(cls)
        obj._engine = engine
        obj._config = config
        obj._profile = 0
        obj._shapes = {}
        obj._values = {}
        obj._addresses = {}
        obj._inferred = None
        obj._p = {
            "debug_sync": False,
            "device_memory": 0,
            "enqueue_emits_profile": True,
            "error_recorder": None,
            "name": "",
            "nvtx_verbosity": engine.profiling_verbosity,
            "persistent_cache_limit": 0,
            "profiler": None,
            "temporary_allocator": None,
            "unfused_tensors_debug_state": False,
        }
        return obj

    def _error(self, msg: str) -> None:
        self._engine._error(msg)

    def _input(self, name: str, api_name: str) -> TensorIR | None:
        ir = self._engine._plan.head
        for tid in ir.inputs:
            if ir.tensors[tid].name == name:
                return ir.tensors[tid]
        self._error(
            f"IExecutionContext::{api_name}: Error Code 3: API Usage Error (Parameter check "
            f"failed, condition: tensor '{name}' is an input tensor of the engine.)"
        )
        return None

    # -- shapes ------------------------------------------------------------------------------------
    @property
    def engine(self) -> ICudaEngine:
        """The engine of this context."""
        return self._engine

    @property
    def active_optimization_profile(self) -> int:
        """The active optimization profile (0 by default)."""
        return self._profile

    @api(
        "IExecutionContext",
        Sig([Arg("profile_index", INT), Arg("stream_handle", INT)], "bool"),
    )
    def set_optimization_profile_async(self, profile_index: int, stream_handle: int) -> bool:
        """Select the active profile; input shapes must then be set again."""
        if not 0 <= profile_index < self._engine.num_optimization_profiles:
            self._error(
                "IExecutionContext::setOptimizationProfileAsync: Error Code 3: API Usage Error "
                f"(Parameter check failed, condition: profileIndex >= 0 && profileIndex < "
                f"mEngine.getNbOptimizationProfiles(). profile index {profile_index} is out of range.)"
            )
            return False
        self._profile = profile_index
        self._shapes.clear()
        return True

    def _profile_shapes(self, name: str) -> tuple[tuple[int, ...], ...] | None:
        profiles = self._engine._plan.head.profiles
        if not profiles:
            return None
        return profiles[self._profile].shapes.get(name)

    @api("IExecutionContext", Sig([Arg("name", STR), Arg("shape", _SHAPE)], "bool"))
    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        """Set the runtime shape of an input (must lie within the active profile)."""
        t = self._input(name, "setInputShape")
        if t is None:
            return False
        ok = len(shape) == len(t.shape) and all(
            s == d or d == -1 for s, d in zip(shape, t.shape, strict=False)
        )
        bounds = self._profile_shapes(name)
        if ok and bounds is not None:
            lo, _, hi = bounds
            ok = all(a <= s <= b for a, s, b in zip(lo, shape, hi, strict=False))
        if not ok:
            rng = (
                f" Valid range for profile {self._profile}: {list(bounds[0])}..{list(bounds[2])}."
                if bounds is not None
                else ""
            )
            self._error(
                "IExecutionContext::setInputShape: Error Code 3: API Usage Error (Parameter check "
                f"failed, condition: satisfyProfile. Set dimension {list(shape)} for tensor {name} "
                f"does not satisfy any optimization profiles.{rng})"
            )
            return False
        self._shapes[name] = tuple(shape)
        return True

    def _missing_inputs(self) -> list[str]:
        ir = self._engine._plan.head
        return [
            ir.tensors[tid].name
            for tid in ir.inputs
            if -1 in ir.tensors[tid].shape and ir.tensors[tid].name not in self._shapes
        ]

    @property
    def all_binding_shapes_specified(self) -> bool:
        """Whether every dynamic input shape has been set."""
        return not self._missing_inputs()

    @property
    def all_shape_inputs_specified(self) -> bool:
        """Whether every input shape tensor has values (host addresses set)."""
        ir = self._engine._plan.head
        return all(
            ir.tensors[tid].name in self._addresses for tid in ir.inputs if ir.tensors[tid].is_shape
        )

    def infer_shapes(self) -> list[str]:
        """Names of inputs insufficiently specified (empty when all are known): dynamic
        inputs whose shape is not set, and shape inputs (``is_shape_inference_io``) whose
        address is not set, as the docstring lists them."""
        ir = self._engine._plan.head
        missing = self._missing_inputs() + [
            ir.tensors[tid].name
            for tid in ir.inputs
            if ir.tensors[tid].is_shape and not self._addresses.get(ir.tensors[tid].name)
        ]
        if missing:
            self._error(
                "IExecutionContext::inferShapes: Error Code 3: API Usage Error (Parameter check "
                f"failed, condition: allInputDimensionsSpecified. Input shapes not set: {missing}.)"
            )
        return missing

    @api("IExecutionContext", Sig([Arg("name", STR)], f"{MODULE}.Dims"))
    def get_tensor_shape(self, name: str) -> Dims:
        """Shape of an IO tensor in this context (-1 where not yet known); the invalid Dims
        (nbDims == -1) for a name that is not one, as TensorRT documents."""
        engine = self._engine
        t = engine._tensor(name, "getTensorShape")
        if t is None:
            return Dims._invalid()
        if engine._mode(t) == TensorIOMode.INPUT:
            return Dims._from(self._shapes.get(name, t.shape))
        if -1 not in t.shape or self._missing_inputs():
            return Dims._from(t.shape)
        return Dims._from(self._output_shapes()[t.id])

    def _output_shapes(self) -> dict[int, tuple[int, ...]]:
        """IO tensor shapes for the input shapes set now (replayed once per set of shapes)."""
        from trt_netser.offline._replay import tensor_shapes

        head = self._engine._plan.head
        key = tuple(sorted(self._shapes.items()))
        if self._inferred is None or self._inferred[0] != key:
            shapes = {
                tid: self._shapes.get(head.tensors[tid].name, head.tensors[tid].shape)
                for tid in head.inputs
            }
            try:
                ir = self._engine._plan.ir
            except _plan.PlanError as exc:
                self._error(str(exc))
                return {tid: t.shape for tid, t in head.tensors.items()}
            every = tensor_shapes(ir, shapes)
            self._inferred = (key, {tid: every[tid] for tid in head.tensors})
        return self._inferred[1]

    @api("IExecutionContext", Sig([Arg("name", STR)], f"{MODULE}.Dims"))
    def get_tensor_strides(self, name: str) -> Dims:
        """C-order strides of an IO tensor in elements (-1 where the shape is unknown; the
        invalid Dims for a name that is not an IO tensor)."""
        dims = self.get_tensor_shape(name)
        if dims.__len__() < 0:  # Dims.__len__ is nbDims: -1 when invalid (len() would raise)
            return dims
        shape = tuple(dims)
        strides = []
        acc = 1
        for d in reversed(shape):
            strides.append(acc if acc >= 0 else -1)
            acc = acc * d if d >= 0 and acc >= 0 else -1
        return Dims._from(tuple(reversed(strides)))

    # -- addresses -------------------------------------------------------------------------------
    @api("IExecutionContext", Sig([Arg("name", STR), Arg("memory", INT)], "bool"))
    def set_tensor_address(self, name: str, memory: int) -> bool:
        """Set the address of an IO tensor's buffer (host memory offline)."""
        if self._engine._tensor(name, "setTensorAddress") is None:
            return False
        self._addresses[name] = memory
        return True

    @api("IExecutionContext", Sig([Arg("name", STR)], "int"))
    def get_tensor_address(self, name: str) -> int:
        """The address set for an IO tensor (0 if none)."""
        return self._addresses.get(name, 0)

    @api("IExecutionContext", Sig([Arg("name", STR)], "int"))
    def get_max_output_size(self, name: str) -> int:
        """Upper bound of an output's size in bytes for the input shapes set: data-dependent
        dimensions count at their documented bounds (``_execute/bounds.py``); -1 for a name
        that is no output or while input shapes are missing, as the docstring says."""
        dims = self.get_tensor_shape(name)
        if dims.__len__() < 0:  # not an IO tensor (logged): TensorRT answers -1
            return -1
        t = self._engine._tensor(name, "getMaxOutputSize")
        if t is None or self._engine._mode(t) != TensorIOMode.OUTPUT:
            return -1
        shape = tuple(dims)
        if any(d < 0 for d in shape) and not self._missing_inputs():
            shape = self._bound_shapes().get(t.id, shape)
        if any(d < 0 for d in shape):
            return -1
        size = 1
        for d in shape:
            size *= d
        return int(size * (itemsize(t.dtype) or 1))

    def _bound_shapes(self) -> dict[int, tuple[int, ...]]:
        """Tensor shapes for the input shapes set, data-dependent dimensions at their bounds."""
        from trt_netser.offline._execute.shapes import runtime_shapes

        try:
            ir = self._engine._plan.ir
        except _plan.PlanError as exc:
            self._error(str(exc))
            return {}
        return runtime_shapes(ir, self._shapes, bounds=True)

    # -- execution: i15 hooks, delegating to trt_netser.offline._execute.context ------------------
    @api(
        "IExecutionContext",
        Sig(
            [Arg("bindings", Conv("collections.abc.Sequence[typing.SupportsInt]", INTS.fn))], "bool"
        ),
    )
    def execute_v2(self, bindings: Any) -> bool:
        """Synchronous execution; ``bindings`` are the IO tensors' (host) addresses."""
        from trt_netser.offline._execute.context import execute_v2

        return execute_v2(self, list(bindings))

    @api("IExecutionContext", Sig([Arg("stream_handle", INT)], "bool"))
    def execute_async_v3(self, stream_handle: int) -> bool:
        """Execution on the CPU (complete on return) with the tensor addresses set."""
        from trt_netser.offline._execute.context import execute

        return execute(self, "enqueueV3", stream_handle)

    # -- the rest of the API: stored settings -------------------------------------------------------
    def get_runtime_config(self) -> IRuntimeConfig:
        """The runtime configuration the context was created with."""
        return self._config

    def update_device_memory_size_for_shapes(self) -> int:
        """Device memory needed for the current shapes (0 offline)."""
        return 0

    @api("IExecutionContext", Sig([Arg("memory", INT), Arg("size", INT)], "None"))
    def set_device_memory(self, memory: int, size: int) -> None:
        """Provide device memory for the context."""
        self._p["device_memory"] = memory

    @api(
        "IExecutionContext",
        Sig(
            [Arg("aux_streams", Conv("collections.abc.Sequence[typing.SupportsInt]", INTS.fn))],
            "None",
        ),
    )
    def set_aux_streams(self, aux_streams: Any) -> None:
        """Auxiliary streams, a sequence of stream handles (unused offline: num_aux_streams
        is 0)."""

    def set_communicator(self, communicator: Any) -> bool:
        """A communicator for multi-device layers (not modelled offline)."""
        return False

    @api("IExecutionContext", Sig([Arg("event", INT)], "bool"))
    def set_input_consumed_event(self, event: int) -> bool:
        """Event signalled when inputs may be reused."""
        self._p["input_consumed_event"] = event
        return True

    def get_input_consumed_event(self) -> int:
        """The input-consumed event (0 if none)."""
        return int(self._p.get("input_consumed_event", 0))

    @api("IExecutionContext", Sig([Arg("name", STR), Arg("output_allocator", _ALLOCATOR)], "bool"))
    def set_output_allocator(self, name: str, output_allocator: Any) -> bool:
        """Set (None: unset) the IOutputAllocator execute_async_v3 asks for the memory of an
        output tensor (see ``_execute/allocators.py``); False for a name that is no output."""
        t = self._engine._tensor(name, "setOutputAllocator")
        if t is None:
            return False
        if self._engine._mode(t) != TensorIOMode.OUTPUT:
            self._error(
                "IExecutionContext::setOutputAllocator: Error Code 3: API Usage Error (Parameter "
                f"check failed, condition: tensor '{name}' is an output tensor of the engine.)"
            )
            return False
        allocators = self._p.setdefault("output_allocators", {})
        if output_allocator is None:
            allocators.pop(name, None)
        else:
            allocators[name] = output_allocator
        return True

    @api("IExecutionContext", Sig([Arg("name", STR)], f"{MODULE}.IOutputAllocator"))
    def get_output_allocator(self, name: str) -> Any:
        """The output allocator of an output tensor, or None."""
        return self._p.get("output_allocators", {}).get(name)

    @api("IExecutionContext", Sig([Arg("listener", _LISTENER)], "bool"))
    def set_debug_listener(self, listener: Any) -> bool:
        """Set the debug listener (an IDebugListener, or None)."""
        self._p["debug_listener"] = listener
        return True

    def get_debug_listener(self) -> Any:
        """The debug listener, or None."""
        return self._p.get("debug_listener")

    @api("IExecutionContext", Sig([Arg("name", STR), Arg("flag", BOOL)], "bool"))
    def set_tensor_debug_state(self, name: str, flag: bool) -> bool:
        """Debug tensors are not recorded in offline engines: False."""
        return False

    @api("IExecutionContext", Sig([Arg("name", STR)], "bool"))
    def get_debug_state(self, name: str) -> bool:
        """Whether a tensor is being debugged (False offline)."""
        return False

    @api("IExecutionContext", Sig([Arg("flag", BOOL)], "bool"))
    def set_all_tensors_debug_state(self, flag: bool) -> bool:
        """Debug tensors are not recorded in offline engines: True (nothing to change)."""
        return True

    def report_to_profiler(self) -> bool:
        """Report the last execution's layer times kept with ``enqueue_emits_profile``
        False; False without a profiler (the docstring's "e.g. profiler not provided")."""
        from trt_netser.offline._execute.profiling import report_pending

        return report_pending(self)

    def __enter__(self) -> IExecutionContext:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


#: Context settings the bindings define with a setter and no getter.
_CTX_WRITE_ONLY = frozenset({"device_memory"})


def _ctx_prop(name: str, conv: Conv, doc: str) -> property:
    def fget(self: IExecutionContext) -> Any:
        return self._p[name]

    def fset(self: IExecutionContext, value: Any) -> None:
        self._p[name] = check_setter("IExecutionContext", conv, value)

    if name in _CTX_WRITE_ONLY:
        return property(None, fset, doc=f"{doc} Write-only, as in the bindings.")
    return property(fget, fset, doc=doc)


#: name -> (the type the real setter takes, as its signature shows; doc).
_CTX_SETTINGS: dict[str, tuple[Conv, str]] = {
    "debug_sync": (BOOL, "The debug sync flag."),
    "device_memory": (INT, "The device memory for use by this context."),
    "enqueue_emits_profile": (BOOL, "Whether enqueue emits layer timing to the profiler."),
    "error_recorder": (instance(IErrorRecorder, optional=True), "Error recorder (None)."),
    "name": (STR, "The name of the context."),
    "nvtx_verbosity": (enum(ProfilingVerbosity), "The NVTX verbosity of the context."),
    "persistent_cache_limit": (SIZE_T, "Persistent L2 cache limit in bytes (0)."),
    "profiler": (instance(IProfiler, optional=True), "The profiler (None)."),
    "temporary_allocator": (
        instance(IGpuAllocator, optional=True, name="IGpuAllocator"),
        "GPU allocator for temporary storage (None).",
    ),
    "unfused_tensors_debug_state": (BOOL, "Debug state of unfused tensors (False)."),
}
for _name, (_conv, _doc) in _CTX_SETTINGS.items():
    setattr(IExecutionContext, _name, _ctx_prop(_name, _conv, _doc))

for _cls in (IRuntimeConfig, ISerializationConfig, ICudaEngine, IExecutionContext):
    _cls.__module__ = MODULE
