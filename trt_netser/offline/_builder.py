"""Builder, IBuilderConfig and IOptimizationProfile.

``build_serialized_network`` checks and lowers the network (trt_netser.offline._build)
and returns the offline plan as an IHostMemory. Defaults not stated in the API docstrings are those of TensorRT 10.16 on a
fixed "offline device" (see :data:`OFFLINE_DEVICE`), so nothing depends on the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from trt_netser.offline._enums import (
    BuilderFlag,
    DeviceType,
    EngineCapability,
    HardwareCompatibilityLevel,
    MemoryPoolType,
    PreviewFeature,
    ProfilingVerbosity,
    QuantizationFlag,
    RuntimePlatform,
    TacticSource,
    TilingOptimizationLevel,
    _Severity,
)
from trt_netser.offline._hostmem import IHostMemory
from trt_netser.offline._interfaces import (
    IAlgorithmSelector,
    IGpuAllocator,
    IInt8Calibrator,
    IProgressMonitor,
    Trampoline,
)
from trt_netser.offline._layers import ILayer
from trt_netser.offline._logger import ILogger, refuse_max_threads, report
from trt_netser.offline._netimpl import NetworkImpl
from trt_netser.offline._network import INetworkDefinition
from trt_netser.offline._plan import TENSORRT_VERSION
from trt_netser.offline._plugins import IErrorRecorder, IPluginRegistry, get_plugin_registry
from trt_netser.offline._pyarg import (
    BOOL,
    FLOAT,
    INT,
    INT32,
    INT64,
    INTS,
    MODULE,
    SIZE_T,
    STR,
    UINT32,
    Arg,
    Conv,
    Mismatch,
    Sig,
    api,
    check_setter,
    enum,
    instance,
)
from trt_netser.offline._streams import IStreamWriter
from trt_netser.offline._types import Dims, to_dims_tuple

if TYPE_CHECKING:
    from trt_netser.offline._engine import ICudaEngine
    from trt_netser.offline._pyarg import Setting

# The device the offline builder pretends to have (memory pool defaults, platform caps).
OFFLINE_DEVICE: dict[str, int] = {
    "total_memory": 80 << 30,
    "shared_memory_per_block": 48 << 10,
}
_POOL_DEFAULTS: dict[int, int] = {
    int(MemoryPoolType.WORKSPACE): OFFLINE_DEVICE["total_memory"],
    int(MemoryPoolType.DLA_MANAGED_SRAM): 1 << 20,
    int(MemoryPoolType.DLA_LOCAL_DRAM): 1 << 30,
    int(MemoryPoolType.DLA_GLOBAL_DRAM): 512 << 20,
    int(MemoryPoolType.TACTIC_DRAM): OFFLINE_DEVICE["total_memory"],
    int(MemoryPoolType.TACTIC_SHARED_MEMORY): OFFLINE_DEVICE["shared_memory_per_block"],
}
_DEFAULT_FLAGS = 1 << int(BuilderFlag.TF32)
_DEFAULT_TACTICS = (1 << int(TacticSource.EDGE_MASK_CONVOLUTIONS)) | (
    1 << int(TacticSource.JIT_CONVOLUTIONS)
)
_ALL_TACTICS = sum(1 << int(t) for t in TacticSource.__members__.values())
_DEFAULT_PREVIEW = {
    int(PreviewFeature.PROFILE_SHARING_0806): True,
    int(PreviewFeature.RUNTIME_ACTIVATION_RESIZE_10_10): True,
}
_DLA_POOLS = frozenset(
    (MemoryPoolType.DLA_MANAGED_SRAM, MemoryPoolType.DLA_LOCAL_DRAM, MemoryPoolType.DLA_GLOBAL_DRAM)
)


def _pool_size_problem(pool: MemoryPoolType, size: int) -> str:
    """What is wrong with ``size`` for ``pool`` per MemoryPoolType's docstring, "" if nothing:
    DLA pools "must be at least 4 KiB and must be a power of 2", TACTIC_SHARED_MEMORY "must
    be less than 1GiB"."""
    if pool in _DLA_POOLS and (size < 4 << 10 or size & (size - 1)):
        return "a DLA pool must be at least 4 KiB and a power of 2"
    if pool == MemoryPoolType.TACTIC_SHARED_MEMORY and size >= 1 << 30:
        return "the TACTIC_SHARED_MEMORY pool must be less than 1 GiB"
    return ""


_DIMS = Conv(f"{MODULE}.Dims", to_dims_tuple)
_REFIT_FLAGS = (BuilderFlag.REFIT, BuilderFlag.REFIT_IDENTICAL, BuilderFlag.REFIT_INDIVIDUAL)


class IOptimizationProfile:
    """Optimization profile for dynamic input dimensions and shape tensors."""

    __slots__ = ("__weakref__", "_broken", "_extra", "_shape_inputs", "_shapes")
    _extra: float
    _shape_inputs: dict[str, tuple[tuple[int, ...], ...]]  # (min, opt, max) values
    _shapes: dict[str, tuple[tuple[int, ...], ...]]  # (min, opt, max) dimensions
    _broken: set[tuple[str, str]]  # (kind, input) whose last set_shape(_input) failed

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IOptimizationProfile: No constructor defined!")

    @classmethod
    def _make(cls) -> IOptimizationProfile:
        obj = object.__new__(cls)
        obj._shapes = {}
        obj._shape_inputs = {}
        obj._extra = 1.0
        obj._broken = set()
        return obj

    @api(
        "IOptimizationProfile",
        Sig([Arg("input", STR), Arg("min", _DIMS), Arg("opt", _DIMS), Arg("max", _DIMS)], "None"),
    )
    def set_shape(
        self, input: str, min: tuple[int, ...], opt: tuple[int, ...], max: tuple[int, ...]
    ) -> None:
        """Set min/opt/max dimensions of a dynamic input (ValueError if inconsistent).

        Like the binding, which calls ``setDimensions`` for MIN, OPT and MAX in turn, the
        ValueError names the first of the three that is inconsistent with those before it
        (another rank, a negative dimension, or not min <= opt <= max)."""
        shapes = (min, opt, max)
        for i, (which, dims) in enumerate(zip(("min", "opt", "max"), shapes, strict=True)):
            before = shapes[i - 1] if i else None
            if any(d < 0 for d in dims) or (
                before is not None
                and (
                    len(dims) != len(before)
                    or any(a > b for a, b in zip(before, dims, strict=True))
                )
            ):
                # The binding set the shapes before this one: the input is left half set,
                # so the profile is invalid until a set_shape of the input succeeds.
                self._broken.add(("shape", input))
                raise ValueError(f"Shape provided for {which} is inconsistent with other shapes.")
        self._shapes[input] = (tuple(min), tuple(opt), tuple(max))
        self._broken.discard(("shape", input))

    @api("IOptimizationProfile", Sig([Arg("input", STR)], f"list[{MODULE}.Dims]"))
    def get_shape(self, input: str) -> list[Dims]:
        """[min, opt, max] dimensions of an input, or [] if not set."""
        return [Dims._from(d) for d in self._shapes.get(input, ())]

    @api(
        "IOptimizationProfile",
        Sig([Arg("input", STR), Arg("min", INTS), Arg("opt", INTS), Arg("max", INTS)], "None"),
    )
    def set_shape_input(
        self, input: str, min: tuple[int, ...], opt: tuple[int, ...], max: tuple[int, ...]
    ) -> None:
        """Set min/opt/max values of a shape input tensor (ValueError if inconsistent).

        Like set_shape, the binding sets MIN, OPT and MAX in turn (``setShapeValues``) and the
        ValueError names the first that is inconsistent (another count, or not min <= opt
        <= max)."""
        values = (min, opt, max)
        for i, which in enumerate(("min", "opt", "max")):
            if i and (
                len(values[i]) != len(values[i - 1])
                or any(a > b for a, b in zip(values[i - 1], values[i], strict=True))
            ):
                self._broken.add(("values", input))
                raise ValueError(
                    f"{which} input provided for shape tensor is inconsistent with other inputs."
                )
        self._shape_inputs[input] = (tuple(min), tuple(opt), tuple(max))
        self._broken.discard(("values", input))

    @api("IOptimizationProfile", Sig([Arg("input", STR)], "list[list[int]]"))
    def get_shape_input(self, input: str) -> list[list[int]]:
        """[min, opt, max] values of a shape input, or [] if not set."""
        return [list(v) for v in self._shape_inputs.get(input, ())]

    def _opt_only(self) -> IOptimizationProfile:
        """A copy whose min and max are the opt shapes and values (a calibration profile)."""
        copy = IOptimizationProfile._make()
        copy._shapes = {k: (v[1], v[1], v[1]) for k, v in self._shapes.items()}
        copy._shape_inputs = {k: (v[1], v[1], v[1]) for k, v in self._shape_inputs.items()}
        copy._extra = self._extra
        return copy

    @property
    def extra_memory_target(self) -> float:
        """Extra memory target for this profile (default 1.0)."""
        return self._extra

    @extra_memory_target.setter
    def extra_memory_target(self, value: float) -> None:
        # A C++ float: pybind11 refuses str/None with the setter's TypeError; a value
        # outside [0, 1] makes setExtraMemoryTarget return false and change nothing.
        val = check_setter("IOptimizationProfile", FLOAT, value)
        if 0.0 <= val <= 1.0:
            self._extra = val

    def __bool__(self) -> bool:
        """Whether the profile can be added to a config: no input was left half set by a
        failed set_shape / set_shape_input (IOptimizationProfile::isValid checks the state)."""
        return not self._broken

    __nonzero__ = __bool__


# The offline timing cache's serialized form (offline-only format: real caches hold kernel
# timings and a device header): a magic tag and the TensorRT version. A cache serializes
# to it and create_timing_cache accepts only it (or b"" for a new cache).
_TIMING_CACHE_BLOB = b"trt-netser.offline.ITimingCache\0" + TENSORRT_VERSION.encode() + b"\0"


def _buffer_bytes(value: Any) -> bytes:
    """The bytes of a buffer-protocol object (pybind11's py::buffer: str is refused)."""
    if isinstance(value, IHostMemory):
        return value._bytes()
    if isinstance(value, str):
        raise Mismatch
    try:
        return bytes(memoryview(value).cast("B"))
    except (TypeError, ValueError):
        raise Mismatch from None


def _timing_cache(value: Any) -> ITimingCache:
    """An ITimingCache argument (a C++ reference: None does not convert)."""
    if not isinstance(value, ITimingCache):
        raise Mismatch
    return value


_BUFFER = Conv("typing_extensions.Buffer", _buffer_bytes)
_TIMING_CACHE = Conv(f"{MODULE}.ITimingCache", _timing_cache)


class ITimingCache(metaclass=Trampoline):
    """A timing cache: no entries offline, since entries are kernel timings measured on a GPU."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.ITimingCache: No constructor defined!")

    def serialize(self) -> IHostMemory:
        """The serialized cache, an IHostMemory (as the binding's signature says)."""
        return IHostMemory._make(_TIMING_CACHE_BLOB)

    @api(
        "ITimingCache",
        Sig([Arg("input_cache", _TIMING_CACHE), Arg("ignore_mismatch", BOOL)], "bool"),
    )
    def combine(self, input_cache: ITimingCache, ignore_mismatch: bool) -> bool:
        """Combine with another cache (offline caches are all of this TensorRT version)."""
        return True

    def reset(self) -> bool:
        """Empty the cache."""
        return True

    def query(self, keys: Any) -> Any:
        """The timing-cache value of a key (entries come from kernel timing on a GPU)."""
        raise RuntimeError("ITimingCache.query() needs entries timed on a GPU")

    def queryKeys(self) -> list[Any]:
        """The keys in the cache: none offline (no kernel was timed)."""
        return []

    def update(self, key: Any, value: Any) -> bool:
        """Set an entry (needs an editable cache filled on a GPU)."""
        raise RuntimeError("ITimingCache.update() needs entries timed on a GPU")


class IBuilderConfig:
    """Holds the properties used to build an engine from a network."""

    __slots__ = ("__weakref__", "_s")
    _s: dict[str, Any]  # every setting, by property name (see reset)

    if TYPE_CHECKING:
        # The properties that _config_prop adds below, for type checkers.
        flags: Setting[int]
        quantization_flags: Setting[int]
        avg_timing_iterations: Setting[int]
        builder_optimization_level: Setting[int]
        default_device_type: Setting[DeviceType]
        DLA_core: Setting[int]
        engine_capability: Setting[EngineCapability]
        hardware_compatibility_level: Setting[HardwareCompatibilityLevel]
        max_aux_streams: Setting[int]
        max_num_tactics: Setting[int]
        profiling_verbosity: Setting[ProfilingVerbosity]
        runtime_platform: Setting[RuntimePlatform]
        tiling_optimization_level: Setting[TilingOptimizationLevel]
        l2_limit_for_tiling: Setting[int]
        plugins_to_serialize: Setting[list[str]]
        profile_stream: Setting[int]
        int8_calibrator: Setting[Any]
        algorithm_selector: Setting[Any]
        progress_monitor: Setting[Any]
        remote_auto_tuning_config: Setting[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IBuilderConfig: No constructor defined!")

    @classmethod
    def _make(cls, logger: ILogger | None) -> IBuilderConfig:
        obj = object.__new__(cls)
        obj._s = {"logger": logger}
        obj.reset()
        return obj

    def reset(self) -> None:
        """Reset every setting to its default."""
        logger = self._s.get("logger")
        self._s = {
            "logger": logger,
            "flags": _DEFAULT_FLAGS,
            "quantization_flags": 0,
            "avg_timing_iterations": 1,
            "builder_optimization_level": 3,
            "default_device_type": DeviceType.GPU,
            "DLA_core": -1,
            "engine_capability": EngineCapability.STANDARD,
            "hardware_compatibility_level": HardwareCompatibilityLevel.NONE,
            "max_aux_streams": -1,
            "max_num_tactics": -1,
            "profiling_verbosity": ProfilingVerbosity.LAYER_NAMES_ONLY,
            "runtime_platform": RuntimePlatform.SAME_AS_BUILD,
            "tiling_optimization_level": TilingOptimizationLevel.NONE,
            "l2_limit_for_tiling": -1,
            "plugins_to_serialize": [],
            "profile_stream": 0,
            "int8_calibrator": None,
            "algorithm_selector": None,
            "progress_monitor": None,
            "remote_auto_tuning_config": "",
            "tactic_sources": _DEFAULT_TACTICS,
            "preview": dict(_DEFAULT_PREVIEW),
            "pools": {},
            "profiles": [],
            "calibration_profile": None,
            "device_types": {},
            "timing_cache": None,
        }

    def _error(self, msg: str) -> None:
        report(self._s.get("logger"), _Severity.ERROR, msg)

    # -- flags ------------------------------------------------------------------------------
    @api("IBuilderConfig", Sig([Arg("flag", enum(BuilderFlag))], "None"))
    def set_flag(self, flag: BuilderFlag) -> None:
        """Set a builder flag (REFIT, REFIT_IDENTICAL and REFIT_INDIVIDUAL exclude each other)."""
        if flag in _REFIT_FLAGS:
            others = sum(1 << int(f) for f in _REFIT_FLAGS if f != flag)
            if self._s["flags"] & others:
                report(
                    self._s.get("logger"),
                    _Severity.WARNING,
                    "Unset previous flag because kREFIT, kREFIT_INDIVIDUAL and kREFIT_IDENTICAL "
                    "are mutually exclusive.",
                )
                self._s["flags"] &= ~others
        self._s["flags"] |= 1 << int(flag)

    @api("IBuilderConfig", Sig([Arg("flag", enum(BuilderFlag))], "None"))
    def clear_flag(self, flag: BuilderFlag) -> None:
        """Clear a builder flag."""
        self._s["flags"] &= ~(1 << int(flag))

    @api("IBuilderConfig", Sig([Arg("flag", enum(BuilderFlag))], "bool"))
    def get_flag(self, flag: BuilderFlag) -> bool:
        """Whether a builder flag is set."""
        return bool(self._s["flags"] >> int(flag) & 1)

    @api("IBuilderConfig", Sig([Arg("flag", enum(QuantizationFlag))], "None"))
    def set_quantization_flag(self, flag: QuantizationFlag) -> None:
        """Set a quantization flag."""
        self._s["quantization_flags"] |= 1 << int(flag)

    @api("IBuilderConfig", Sig([Arg("flag", enum(QuantizationFlag))], "None"))
    def clear_quantization_flag(self, flag: QuantizationFlag) -> None:
        """Clear a quantization flag."""
        self._s["quantization_flags"] &= ~(1 << int(flag))

    @api("IBuilderConfig", Sig([Arg("flag", enum(QuantizationFlag))], "bool"))
    def get_quantization_flag(self, flag: QuantizationFlag) -> bool:
        """Whether a quantization flag is set."""
        return bool(self._s["quantization_flags"] >> int(flag) & 1)

    @api("IBuilderConfig", Sig([Arg("feature", enum(PreviewFeature)), Arg("enable", BOOL)], "None"))
    def set_preview_feature(self, feature: PreviewFeature, enable: bool) -> None:
        """Enable or disable a preview feature."""
        self._s["preview"][int(feature)] = enable

    @api("IBuilderConfig", Sig([Arg("feature", enum(PreviewFeature))], "bool"))
    def get_preview_feature(self, feature: PreviewFeature) -> bool:
        """Whether a preview feature is enabled."""
        return cast(bool, self._s["preview"].get(int(feature), False))

    @api("IBuilderConfig", Sig([Arg("tactic_sources", UINT32)], "bool"))
    def set_tactic_sources(self, tactic_sources: int) -> bool:
        """Set the tactic sources bit mask (a C++ uint32_t: negative values are a TypeError)."""
        if tactic_sources & ~_ALL_TACTICS:
            self._error(
                "IBuilderConfig::setTacticSources: Error Code 3: API Usage Error (invalid tactic sources.)"
            )
            return False
        self._s["tactic_sources"] = tactic_sources
        return True

    def get_tactic_sources(self) -> int:
        """The tactic sources bit mask."""
        return cast(int, self._s["tactic_sources"])

    # -- memory pools -------------------------------------------------------------------------
    @api(
        "IBuilderConfig", Sig([Arg("pool", enum(MemoryPoolType)), Arg("pool_size", SIZE_T)], "None")
    )
    def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: int) -> None:
        """Set the size limit of a memory pool (a C++ size_t: negative sizes are a TypeError).

        A size that fails the pool's requirement (MemoryPoolType's docstring) is refused with
        an ERROR (ErrorCode INVALID_ARGUMENT) and the limit is left unchanged."""
        problem = "invalid pool" if pool.name == "???" else _pool_size_problem(pool, pool_size)
        if problem:
            self._error(
                f"IBuilderConfig::setMemoryPoolLimit: Error Code 3: API Usage Error ({problem}: "
                f"{pool.name} pool size {pool_size}.)"
            )
            return
        self._s["pools"][int(pool)] = pool_size

    @api("IBuilderConfig", Sig([Arg("pool", enum(MemoryPoolType))], "int"))
    def get_memory_pool_limit(self, pool: MemoryPoolType) -> int:
        """The size limit of a memory pool (the offline device's default if not set)."""
        return cast(int, self._s["pools"].get(int(pool), _POOL_DEFAULTS.get(int(pool), 0)))

    # -- profiles -----------------------------------------------------------------------------
    @api(
        "IBuilderConfig",
        Sig([Arg("profile", instance(IOptimizationProfile, optional=True))], "int"),
    )
    def add_optimization_profile(self, profile: IOptimizationProfile | None) -> int:
        """Add a profile; returns its index, or -1 if it is invalid (or None: the C++
        parameter is a pointer, so pybind11 passes None through as nullptr)."""
        if profile is None or not profile:
            self._error(
                "IBuilderConfig::addOptimizationProfile: Error Code 3: API Usage Error (invalid profile.)"
            )
            return -1
        self._s["profiles"].append(profile)
        return len(self._s["profiles"]) - 1

    @property
    def num_optimization_profiles(self) -> int:
        """The number of optimization profiles."""
        return len(self._s["profiles"])

    def get_calibration_profile(self) -> IOptimizationProfile:
        """[DEPRECATED] The calibration profile, or None."""
        # None when unset (documented) though the binding's signature says IOptimizationProfile.
        return cast(IOptimizationProfile, self._s["calibration_profile"])

    @api(
        "IBuilderConfig",
        Sig([Arg("profile", instance(IOptimizationProfile, optional=True))], "bool"),
    )
    def set_calibration_profile(self, profile: IOptimizationProfile | None) -> bool:
        """[DEPRECATED] Set the calibration profile: a valid profile or None (the docstring:
        "must satisfy bool(profile) == True or be None"), False otherwise. The config keeps
        its own copy whose MIN and MAX "will be overwritten by OPT"."""
        if profile is None:
            self._s["calibration_profile"] = None
            return True
        if not profile:
            self._error(
                "IBuilderConfig::setCalibrationProfile: Error Code 3: API Usage Error "
                "(invalid calibration profile.)"
            )
            return False
        self._s["calibration_profile"] = profile._opt_only()
        return True

    # -- devices ------------------------------------------------------------------------------
    @api(
        "IBuilderConfig",
        Sig([Arg("layer", instance(ILayer)), Arg("device_type", enum(DeviceType))], "None"),
    )
    def set_device_type(self, layer: ILayer, device_type: DeviceType) -> None:
        """Set the device a layer runs on."""
        self._s["device_types"][layer._impl] = device_type

    @api("IBuilderConfig", Sig([Arg("layer", instance(ILayer))], f"{MODULE}.DeviceType"))
    def get_device_type(self, layer: ILayer) -> DeviceType:
        """The device a layer runs on."""
        return cast(
            DeviceType, self._s["device_types"].get(layer._impl, self._s["default_device_type"])
        )

    @api("IBuilderConfig", Sig([Arg("layer", instance(ILayer))], "bool"))
    def is_device_type_set(self, layer: ILayer) -> bool:
        """Whether a device was set for the layer."""
        return layer._impl in self._s["device_types"]

    @api("IBuilderConfig", Sig([Arg("layer", instance(ILayer))], "None"))
    def reset_device_type(self, layer: ILayer) -> None:
        """Reset the layer's device to the default."""
        self._s["device_types"].pop(layer._impl, None)

    @api("IBuilderConfig", Sig([Arg("layer", instance(ILayer))], "bool"))
    def can_run_on_DLA(self, layer: ILayer) -> bool:
        """The offline device has no DLA."""
        return False

    # -- timing cache -------------------------------------------------------------------------
    @api(
        "IBuilderConfig",
        Sig([Arg("serialized_timing_cache", _BUFFER)], f"{MODULE}.ITimingCache"),
    )
    def create_timing_cache(self, serialized_timing_cache: bytes) -> ITimingCache:
        """A timing cache from serialized data (b"": a new cache); None after an ERROR if the
        data is not a serialized timing cache."""
        if serialized_timing_cache not in (b"", _TIMING_CACHE_BLOB):
            self._error(
                "IBuilderConfig::createTimingCache: Error Code 1: Serialization (the data is not "
                f"a serialized timing cache of TensorRT {TENSORRT_VERSION}: "
                f"{len(serialized_timing_cache)} bytes.)"
            )
            # TensorRT returns None (nullptr) here though its signature says ITimingCache.
            return None  # type: ignore[return-value]
        return object.__new__(ITimingCache)

    @api(
        "IBuilderConfig",
        Sig([Arg("cache", _TIMING_CACHE), Arg("ignore_mismatch", BOOL)], "bool"),
    )
    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        """Attach a timing cache (a C++ reference: None is a TypeError)."""
        self._s["timing_cache"] = cache
        return True

    def get_timing_cache(self) -> ITimingCache:
        """The attached timing cache (None if none is set)."""
        # None when unset (documented) though the binding's signature says ITimingCache.
        return cast(ITimingCache, self._s["timing_cache"])

    def __enter__(self) -> IBuilderConfig:
        """Deprecated in the bindings and without effect: objects are freed by refcount."""
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


#: Lower bounds that the property docstrings state (max_num_tactics: "Valid values include
#: integers from -1 to the maximum 32-bit integer"; builder_optimization_level: "Valid values
#: include integers from 0 to the maximum optimization level", higher ones act as the
#: maximum); a smaller value is refused with an ERROR.
_SETTING_MINIMUM: dict[str, int] = {"max_num_tactics": -1, "builder_optimization_level": 0}


def _config_prop(name: str, conv: Conv, doc: str) -> property:
    def fget(self: IBuilderConfig) -> Any:
        val = self._s[name]
        return list(val) if isinstance(val, list) else val

    def fset(self: IBuilderConfig, value: Any) -> None:
        val = check_setter("IBuilderConfig", conv, value)
        if getattr(val, "name", None) == "???":
            self._error(
                f"IBuilderConfig: Error Code 3: API Usage Error (invalid {name} {int(val)}.)"
            )
            return
        low = _SETTING_MINIMUM.get(name)
        if low is not None and val < low:
            self._error(
                f"IBuilderConfig: Error Code 3: API Usage Error (Parameter check failed, "
                f"condition: {name} >= {low}. {name} is {val}.)"
            )
            return
        self._s[name] = val

    return property(fget, fset, doc=doc)


def _strs(value: Any) -> list[str]:
    """A sequence of str (pybind11's list caster refuses a str or bytes as the sequence)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise Mismatch
    return [STR(x) for x in value]


_STRS = Conv("collections.abc.Sequence[str]", _strs)
for _name, _conv, _doc in (
    ("flags", UINT32, "Bit mask of BuilderFlag values (default: TF32)."),
    ("quantization_flags", UINT32, "Bit mask of QuantizationFlag values."),
    ("avg_timing_iterations", INT32, "Averaging iterations when timing layers (default 1)."),
    ("builder_optimization_level", INT32, "Builder optimization level (default 3)."),
    ("default_device_type", enum(DeviceType), "Default device type (GPU)."),
    ("DLA_core", INT32, "DLA core (default -1)."),
    ("engine_capability", enum(EngineCapability), "Engine capability (STANDARD)."),
    (
        "hardware_compatibility_level",
        enum(HardwareCompatibilityLevel),
        "Hardware compatibility (NONE).",
    ),
    ("max_aux_streams", INT32, "Maximum auxiliary streams (default -1: heuristic)."),
    ("max_num_tactics", INT32, "Maximum tactics to time (default -1: heuristic; at least -1)."),
    ("profiling_verbosity", enum(ProfilingVerbosity), "Profiling verbosity (LAYER_NAMES_ONLY)."),
    ("runtime_platform", enum(RuntimePlatform), "Runtime platform (SAME_AS_BUILD)."),
    (
        "tiling_optimization_level",
        enum(TilingOptimizationLevel),
        "Tiling optimization level (NONE).",
    ),
    ("l2_limit_for_tiling", INT64, "Target L2 usage for tiling (default -1)."),
    ("plugins_to_serialize", _STRS, "Plugin libraries serialized with version-compatible engines."),
    ("profile_stream", INT, "CUDA stream used for profiling (0)."),
    (
        "int8_calibrator",
        instance(IInt8Calibrator, optional=True),
        "[DEPRECATED] INT8 calibrator (None).",
    ),
    (
        "algorithm_selector",
        instance(IAlgorithmSelector, optional=True),
        "[DEPRECATED] Algorithm selector (None).",
    ),
    ("progress_monitor", instance(IProgressMonitor, optional=True), "Progress monitor (None)."),
    ("remote_auto_tuning_config", STR, "Remote auto-tuning configuration string."),
):
    setattr(IBuilderConfig, _name, _config_prop(_name, _conv, _doc))


# Interface-typed settings are C++ pointers: an instance of the interface (a Python
# subclass) or None; pybind11 refuses any other object with the setter's TypeError.
_ERROR_RECORDER = instance(IErrorRecorder, optional=True)
_GPU_ALLOCATOR = instance(IGpuAllocator, optional=True)


class Builder:
    """Builds an engine from an INetworkDefinition (offline: creates networks and configs only)."""

    __slots__ = ("__weakref__", "_s")

    @api("Builder", Sig([Arg("logger", instance(ILogger))], "None"))
    def __init__(self, logger: ILogger) -> None:
        self._s: dict[str, Any] = {
            "logger": logger,
            "max_threads": 1,
            "error_recorder": None,
            "gpu_allocator": None,
        }

    @api("Builder", Sig([Arg("flags", UINT32, 0)], f"{MODULE}.INetworkDefinition"))
    def create_network(self, flags: int) -> INetworkDefinition:
        """Create an empty network (flags: NetworkDefinitionCreationFlag bits, a C++ uint32_t:
        a negative value is a TypeError)."""
        impl = NetworkImpl(self, self._s["logger"], flags)
        net = INetworkDefinition._make(impl)
        return net

    def create_builder_config(self) -> IBuilderConfig:
        """Create a builder configuration with TensorRT's defaults."""
        return IBuilderConfig._make(self._s["logger"])

    def create_optimization_profile(self) -> IOptimizationProfile:
        """Create a new (empty) optimization profile."""
        return IOptimizationProfile._make()

    def get_plugin_registry(self) -> IPluginRegistry:
        """The plugin registry used by the builder."""
        return get_plugin_registry()

    @api(
        "Builder",
        Sig(
            [Arg("network", instance(INetworkDefinition)), Arg("config", instance(IBuilderConfig))],
            f"{MODULE}.IHostMemory",
        ),
    )
    def build_serialized_network(
        self, network: INetworkDefinition, config: IBuilderConfig
    ) -> IHostMemory:
        """Build an engine and serialize it: an IHostMemory plan, or None after an ERROR."""
        from trt_netser.offline._build import build_serialized
        from trt_netser.offline._hostmem import IHostMemory

        data = build_serialized(self, network, config)
        if data is None:
            # TensorRT returns None (nullptr) here though its signature says IHostMemory.
            return None  # type: ignore[return-value]
        return IHostMemory._make(data)

    @api(
        "Builder",
        Sig(
            [Arg("network", instance(INetworkDefinition)), Arg("config", instance(IBuilderConfig))],
            f"{MODULE}.ICudaEngine",
        ),
    )
    def build_engine_with_config(
        self, network: INetworkDefinition, config: IBuilderConfig
    ) -> ICudaEngine:
        """Build an engine in memory: an ICudaEngine, or None after an ERROR."""
        from trt_netser.offline._build import build_engine

        # TensorRT returns None (nullptr) on failure though its signature says ICudaEngine.
        return build_engine(self, network, config)  # type: ignore[return-value]

    @api(
        "Builder",
        Sig(
            [
                Arg("network", instance(INetworkDefinition)),
                Arg("config", instance(IBuilderConfig)),
                Arg("writer", instance(IStreamWriter)),
            ],
            "bool",
        ),
    )
    def build_serialized_network_to_stream(
        self, network: INetworkDefinition, config: IBuilderConfig, writer: IStreamWriter
    ) -> bool:
        """Build and hand the plan to ``writer.write(data)``; False after an ERROR."""
        from trt_netser.offline._build import build_serialized

        data = build_serialized(self, network, config)
        if data is None:
            return False
        try:
            written = writer.write(data)
        except Exception as exc:
            report(
                self._s["logger"],
                _Severity.ERROR,
                f"Builder::buildSerializedNetworkToStream: Error Code 1: Serialization (the stream "
                f"writer raised {type(exc).__name__}: {exc}.)",
            )
            return False
        if written is not None and int(written) != len(data):
            report(
                self._s["logger"],
                _Severity.ERROR,
                f"Builder::buildSerializedNetworkToStream: Error Code 1: Serialization (the stream "
                f"writer wrote {written} of {len(data)} bytes.)",
            )
            return False
        return True

    @api(
        "Builder",
        Sig(
            [Arg("network", instance(INetworkDefinition)), Arg("config", instance(IBuilderConfig))],
            "bool",
        ),
    )
    def is_network_supported(self, network: INetworkDefinition, config: IBuilderConfig) -> bool:
        """Every network definition is within scope of the offline model."""
        return True

    def reset(self) -> None:
        """Reset the builder state."""

    @property
    def logger(self) -> ILogger:
        """The logger given at construction."""
        return cast(ILogger, self._s["logger"])

    @property
    def max_threads(self) -> int:
        """Maximum threads the builder may use (default 1)."""
        return cast(int, self._s["max_threads"])

    @max_threads.setter
    def max_threads(self, value: int) -> None:
        threads = check_setter("Builder", INT32, value)
        if not refuse_max_threads(self._s["logger"], "IBuilder", threads):
            self._s["max_threads"] = threads

    @property
    def error_recorder(self) -> Any:
        """Error recorder (None by default)."""
        return self._s["error_recorder"]

    @error_recorder.setter
    def error_recorder(self, value: Any) -> None:
        self._s["error_recorder"] = check_setter("Builder", _ERROR_RECORDER, value)

    def _set_gpu_allocator(self, value: Any) -> None:
        self._s["gpu_allocator"] = check_setter("Builder", _GPU_ALLOCATOR, value)

    # Write-only, as in the bindings (the property has a setter and no getter): reading it
    # raises AttributeError.
    gpu_allocator = property(
        None, _set_gpu_allocator, doc="GPU allocator (write-only; None: default allocator)."
    )

    @property
    def platform_has_tf32(self) -> bool:
        """The offline device supports TF32."""
        return True

    @property
    def platform_has_fast_fp16(self) -> bool:
        """The offline device has fast FP16."""
        return True

    @property
    def platform_has_fast_int8(self) -> bool:
        """The offline device has fast INT8."""
        return True

    @property
    def num_DLA_cores(self) -> int:
        """The offline device has no DLA."""
        return 0

    @property
    def max_DLA_batch_size(self) -> int:
        """Maximum DLA batch size (1: no DLA offline)."""
        return 1

    def __enter__(self) -> Builder:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


for _cls in (IOptimizationProfile, ITimingCache, IBuilderConfig, Builder):
    _cls.__module__ = MODULE
