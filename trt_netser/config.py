"""Hash a TensorRT ``IBuilderConfig`` and a TensorRT-LLM ``BuildConfig`` canonically.

Like the network walker, the builder config is read generically: every readable property
of the config's class is encoded unless :data:`CONFIG_PROPERTY_EXCLUSIONS` says why not,
and every member of the installed ``BuilderFlag``, ``QuantizationFlag``,
``MemoryPoolType`` and ``PreviewFeature`` enums is queried through its getter
(:data:`CONFIG_ENUM_GETTERS`), so what a future TensorRT adds is hashed without a code
change. Enum values are encoded as (type name, integer value): never ``.name`` alone,
because aliases share a value (``WEIGHTLESS == STRIP_PLAN``) and ``.name`` returns
whichever was registered first.

Optimization profiles cannot be read back from a config (TensorRT has
``add_optimization_profile`` and ``num_optimization_profiles`` but no getter), so they
are passed in (``profiles=``) or recorded by :func:`add_optimization_profile`.
Their shapes are read per network input, so hashing them needs the network.
"""

from __future__ import annotations

import enum
import math
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import blake3

from trt_netser.apicoverage import CoverageReport, Entry, load_dump
from trt_netser.capturing import lookup_profiles
from trt_netser.encode import encode_record
from trt_netser.errors import UnhashableNetworkError
from trt_netser.layers import layer_reading
from trt_netser.records import SCHEMA_VERSION, EnumValue, Record
from trt_netser.walk import readable_properties, trt_api, trt_module_of, unwrap_network

#: Identifies the config record (field "format").
CONFIG_FORMAT = "trt-netser.config"
BUILD_CONFIG_FORMAT = "trt-netser.build_config"

# --------------------------------------------------------------------------- policy

#: IBuilderConfig properties that are not encoded as generic properties, with the reason.
#: "structural" entries are still encoded, in a dedicated field of the record.
CONFIG_PROPERTY_EXCLUSIONS: Mapping[str, str] = {
    "progress_monitor": "callback object that reports build progress; no effect on the engine",
    "profile_stream": "CUDA stream used while profiling tactics during the build; not "
    "part of the engine",
    "int8_calibrator": "an object whose state is not readable (user Python code producing "
    "scales from a data stream); the calibration cache it yields is data, not config. "
    "Implicit INT8 calibration is deprecated since 10.1 and removed in 11: with a calibrator "
    "set, hashing fails unless strict=False or the scales are put in the network "
    "(set_dynamic_range / explicit Q/DQ, which the network hash covers)",
    "algorithm_selector": "an object whose choices cannot be read (user code); deprecated in "
    "10.8 and removed in 11. With a selector set, hashing fails unless strict=False",
    "num_optimization_profiles": "structural: the length of the record's 'profiles'",
    "flags": "structural: encoded as 'flags', the set members of BuilderFlag read one by one "
    "with get_flag (the raw bitmask would depend on the enum's numbering only)",
    "quantization_flags": "structural: encoded as 'quantization_flags' (get_quantization_flag "
    "per member)",
    "all_build_routes": "read-only description of the compiler's knobs, fixed by the "
    "TensorRT library (which the key's tensorrt component identifies)",
}

#: Excluded properties whose *value* still matters when set: hashing fails (strict) or is
#: partial when they are not None, because a build with them set is not reproducible.
CONFIG_OPAQUE_WHEN_SET: frozenset[str] = frozenset({"int8_calibrator", "algorithm_selector"})

#: Getter methods called once per member of an enum: method -> (enum, record field, how).
#: "set" encodes the members for which the getter is true; "value" encodes every member
#: with the value returned.
CONFIG_ENUM_GETTERS: Mapping[str, tuple[str, str, str]] = {
    "get_flag": ("BuilderFlag", "flags", "set"),
    "get_quantization_flag": ("QuantizationFlag", "quantization_flags", "set"),
    "get_preview_feature": ("PreviewFeature", "preview_features", "set"),
    "get_memory_pool_limit": ("MemoryPoolType", "memory_pools", "value"),
}

#: Getter methods called without arguments: method -> record field.
CONFIG_PLAIN_GETTERS: Mapping[str, str] = {
    "get_tactic_sources": "tactic_sources",
}

#: Every other IBuilderConfig method, classified (coverage flags any method not here).
CONFIG_METHODS: Mapping[str, str] = {
    "set_flag": "encoded: 'flags' (get_flag)",
    "clear_flag": "encoded: 'flags' (get_flag)",
    "set_quantization_flag": "encoded: 'quantization_flags' (get_quantization_flag)",
    "clear_quantization_flag": "encoded: 'quantization_flags' (get_quantization_flag)",
    "set_preview_feature": "encoded: 'preview_features' (get_preview_feature)",
    "set_memory_pool_limit": "encoded: 'memory_pools' (get_memory_pool_limit)",
    "set_tactic_sources": "encoded: 'tactic_sources' (get_tactic_sources)",
    "set_device_type": "encoded: 'device_types', per layer of the network "
    "(is_device_type_set / get_device_type)",
    "reset_device_type": "encoded: 'device_types'",
    "get_device_type": "encoded: 'device_types'",
    "is_device_type_set": "encoded: 'device_types'",
    "add_optimization_profile": "captured: profiles cannot be read back from a config; pass "
    "profiles= or add them with trt_netser.config.add_optimization_profile",
    "set_calibration_profile": "encoded: 'calibration_profile' (get_calibration_profile)",
    "get_calibration_profile": "encoded: 'calibration_profile'",
    "reset": "encoded: resets state that is read back through the getters",
    "can_run_on_DLA": "query about a layer; changes nothing",
    "set_timing_cache": "excluded: the timing cache only speeds up or biases tactic "
    "selection; every engine it leads to implements the same network and config (builds "
    "are not bit-for-bit deterministic anyway)",
    "get_timing_cache": "excluded: timing cache (see set_timing_cache)",
    "create_timing_cache": "excluded: creates a timing cache object; changes nothing",
}

#: IOptimizationProfile properties that are not encoded, with the reason.
PROFILE_PROPERTY_EXCLUSIONS: Mapping[str, str] = {
    "profile_stream": "CUDA stream used while profiling; not part of the engine",
}

#: IOptimizationProfile methods, classified.
PROFILE_METHODS: Mapping[str, str] = {
    "get_shape": "encoded: min/opt/max shapes of every network input, in input order",
    "set_shape": "encoded: get_shape",
    "get_shape_input": "encoded: min/opt/max values of every shape-tensor input",
    "set_shape_input": "encoded: get_shape_input",
}

#: TensorRT-LLM ``BuildConfig.to_dict()`` fields that do not change the built engine.
#: Dotted names address nested dicts (``lora_config.lora_dir``). Every other field,
#: including fields a future TensorRT-LLM adds, is hashed.
BUILD_CONFIG_EXCLUSIONS: Mapping[str, str] = {
    "dry_run": "skips the engine build; does not change what a build produces",
    "visualize_network": "writes a picture of the network; no effect on the engine",
    "monitor_memory": "logs memory use during the build; no effect on the engine",
    "input_timing_cache": "path of a timing cache to load: timing data only steers tactic "
    "selection (see IBuilderConfig.set_timing_cache)",
    "output_timing_cache": "path where the timing cache is written after the build",
    "output_dir": "where the engine is written, not what it is",
    "engine_dir": "where the engine is written, not what it is",
    "gpu_weights_percent": "a runtime setting of weight-streaming engines (how much of the "
    "weights stay on the GPU); the engine is the same for every value",
    "lora_config.lora_dir": "paths of the LoRA checkpoints; the engine depends on the "
    "resolved rank, target modules and counts, which are hashed",
}


# --------------------------------------------------------------------------- profiles


_profiles_lock = threading.Lock()
_recorded_profiles: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def add_optimization_profile(config: Any, profile: Any) -> int:
    """``config.add_optimization_profile(profile)``, remembering the profile for hashing.

    TensorRT cannot give a config's profiles back; profiles added through this function
    are found by :func:`hash_builder_config` without a ``profiles=`` argument.
    """
    index = config.add_optimization_profile(profile)
    if isinstance(index, int) and index >= 0:
        try:
            with _profiles_lock:
                _recorded_profiles.setdefault(config, []).append(profile)
        except TypeError as exc:  # not weak-referenceable
            raise TypeError(
                f"{type(config).__name__} cannot be tracked; pass profiles= to "
                "hash_builder_config instead"
            ) from exc
    return int(index)


def recorded_profiles(config: Any) -> tuple[Any, ...] | None:
    """Profiles added with :func:`add_optimization_profile` or inside
    :func:`trt_netser.capture`, None if none were recorded."""
    try:
        with _profiles_lock:
            found = _recorded_profiles.get(config)
    except TypeError:
        return None
    if found is None:
        return lookup_profiles(config)  # added inside trt_netser.capture()
    return tuple(found)


# --------------------------------------------------------------------------- reading


class _Reader:
    """Reads one IBuilderConfig defensively into canonical data."""

    def __init__(self, config: Any, module: ModuleType | None, strict: bool) -> None:
        self.config = config
        self.module = module
        self.strict = strict
        self.issues: list[str] = []

    def problem(self, message: str) -> None:
        if self.strict:
            raise UnhashableNetworkError(message)
        self.issues.append(message)

    def enum_class(self, name: str) -> Any:
        return None if self.module is None else getattr(self.module, name, None)

    def canon(self, value: Any, where: str) -> Any:
        """Canonical data for a property value; unknown objects are a problem."""
        if value is None or isinstance(value, (bool, str, bytes)):
            return value
        kind = type(value)
        if hasattr(kind, "__members__") and hasattr(value, "value"):
            return enum_value(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return _canon_float(value)
        if isinstance(value, (list, tuple)):
            return [self.canon(v, where) for v in value]
        if isinstance(value, Mapping):
            return {str(k): self.canon(v, where) for k, v in sorted(value.items())}
        dims = _dims(value)
        if dims is not None:
            return dims
        self.problem(f"IBuilderConfig.{where}: cannot encode a {kind.__qualname__}")
        return f"<unencodable {kind.__qualname__}>"

    def call(self, method: str, *args: Any) -> tuple[bool, Any]:
        try:
            return True, getattr(self.config, method)(*args)
        except Exception as exc:
            self.failed(method, args, exc)
            return False, None

    def failed(self, method: str, args: tuple[Any, ...], exc: Exception) -> None:
        """A call of the config's ``method`` raised ``exc``: a problem."""
        self.problem(f"IBuilderConfig.{method}({', '.join(map(str, args))}) failed: {exc}")


def _device_types(config: Any, net: Any, reader: _Reader) -> list[list[Any]]:
    """[layer index, DeviceType] of each layer whose device type is set. The config is
    asked once per layer of the network (50k calls for an LLM), so the methods are
    looked up once rather than through reader.call; the layers are the walk's reading
    (see trt_netser.layers), read once when the pipeline shares it."""
    layers = layer_reading(net, trt_api(trt_module_of(net))).layers
    is_set = config.is_device_type_set
    device_types = []
    for i, layer in enumerate(layers):
        try:
            flag = is_set(layer)
        except Exception as exc:
            reader.failed("is_device_type_set", (layer,), exc)
            continue
        if flag:
            ok, device = reader.call("get_device_type", layer)
            if ok:
                device_types.append([i, reader.canon(device, "get_device_type")])
    return device_types


def enum_value(member: Any) -> EnumValue:
    """A TensorRT enum member as (type name, integer value), name for display only."""
    return EnumValue(type(member).__name__, int(member), str(getattr(member, "name", "")))


def unique_members(enum_cls: Any) -> list[Any]:
    """Members of a pybind11 enum, one per integer value (aliases dropped), by value."""
    by_value: dict[int, Any] = {}
    for _, member in sorted(getattr(enum_cls, "__members__", {}).items()):
        by_value.setdefault(int(member), member)
    return [by_value[v] for v in sorted(by_value)]


def _canon_float(value: float) -> float | str:
    return repr(value) if math.isnan(value) else float(value)


def _dims(value: Any) -> list[int] | None:
    """A Dims-like value as a list of ints; None if it is not one. Invalid Dims -> []."""
    if not (hasattr(value, "__len__") and hasattr(value, "__getitem__")):
        return None
    try:
        n = len(value)
        return [int(value[i]) for i in range(n)] if n >= 0 else []
    except (TypeError, ValueError):
        return None
    except Exception:
        return []


def _network_inputs(network: Any) -> list[Any]:
    net: Any = unwrap_network(network)
    return [net.get_input(i) for i in range(net.num_inputs)]


def _profile_data(profile: Any, inputs: Sequence[Any], reader: _Reader, what: str) -> Any:
    """Min/opt/max of every input, in input order, plus the profile's own properties."""
    rows: list[Any] = []
    for tensor in inputs:
        name = tensor.name
        row: dict[str, Any] = {"name": name}
        try:
            shapes = profile.get_shape(name)
        except Exception as exc:
            reader.problem(f"{what}.get_shape({name!r}) failed: {exc}")
            shapes = None
        if shapes:
            row["shape"] = [_dims(d) for d in shapes]
        if bool(getattr(tensor, "is_shape_tensor", False)):
            try:
                values = profile.get_shape_input(name)
            except Exception as exc:
                reader.problem(f"{what}.get_shape_input({name!r}) failed: {exc}")
                values = None
            if values:
                row["values"] = [[int(x) for x in v] for v in values]
        rows.append(row)
    props = {}
    profile_type: Any = type(profile)
    for prop in readable_properties(profile_type):
        if prop in PROFILE_PROPERTY_EXCLUSIONS:
            continue
        try:
            props[prop] = reader.canon(getattr(profile, prop), f"{what}.{prop}")
        except UnhashableNetworkError:
            raise
        except Exception as exc:
            reader.problem(f"{what}.{prop} could not be read: {exc}")
    return {"inputs": rows, "properties": props}


def _is_builder_config(obj: Any) -> bool:
    return callable(getattr(obj, "get_flag", None)) and hasattr(obj, "num_optimization_profiles")


def unwrap_config(config: Any) -> Any:
    """Accept a TensorRT-LLM ``BuilderConfig`` wrapper (it holds ``trt_builder_config``)."""
    inner = getattr(config, "trt_builder_config", None)
    if inner is not None and not _is_builder_config(config):
        config = inner
    if not _is_builder_config(config):
        raise TypeError(
            "expected a tensorrt.IBuilderConfig (or a TensorRT-LLM BuilderConfig), "
            f"got {type(config).__qualname__}"
        )
    return config


def _module_of_config(config: Any) -> ModuleType | None:
    try:
        return trt_module_of(config)
    except TypeError:
        return None


@dataclass(frozen=True)
class ConfigDigest:
    """A config's record, its canonical bytes and digest, and any problems met."""

    record: Record
    data: bytes
    digest: str
    issues: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.issues)


def describe_builder_config(
    config: Any,
    network: Any = None,
    *,
    profiles: Iterable[Any] | None = None,
    strict: bool = True,
) -> ConfigDigest:
    """The canonical record of an ``IBuilderConfig`` with its digest (see module doc)."""
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be a bool, not {type(strict).__name__}")
    config = unwrap_config(config)
    module = _module_of_config(config)
    reader = _Reader(config, module, strict)
    fields: dict[str, Any] = {"format": CONFIG_FORMAT, "schema": SCHEMA_VERSION}

    for method, (enum_name, field_name, how) in sorted(CONFIG_ENUM_GETTERS.items()):
        enum_cls = reader.enum_class(enum_name)
        if enum_cls is None or not callable(getattr(config, method, None)):
            continue
        items: list[Any] = []
        for member in unique_members(enum_cls):
            ok, value = reader.call(method, member)
            if not ok:
                continue
            if how == "set":
                if value:
                    items.append(enum_value(member))
            else:
                items.append([enum_value(member), reader.canon(value, f"{method}({member})")])
        fields[field_name] = items
    for method, field_name in sorted(CONFIG_PLAIN_GETTERS.items()):
        if callable(getattr(config, method, None)):
            ok, value = reader.call(method)
            if ok:
                fields[field_name] = reader.canon(value, method)

    props: dict[str, Any] = {}
    config_type: Any = type(config)
    for prop in readable_properties(config_type):
        if prop in CONFIG_PROPERTY_EXCLUSIONS:
            if prop in CONFIG_OPAQUE_WHEN_SET:
                try:
                    value = getattr(config, prop)
                except Exception:
                    value = None
                if value is not None:
                    reader.problem(
                        f"IBuilderConfig.{prop} is set: {CONFIG_PROPERTY_EXCLUSIONS[prop]}"
                    )
                    props[prop] = "<set>"
            continue
        try:
            value = getattr(config, prop)
        except Exception as exc:
            reader.problem(f"IBuilderConfig.{prop} could not be read: {exc}")
            continue
        props[prop] = reader.canon(value, prop)
    fields["properties"] = props

    count = int(getattr(config, "num_optimization_profiles", 0) or 0)
    if profiles is None:
        known = recorded_profiles(config)
        profiles = () if known is None else known
    else:
        profiles = tuple(profiles)
    if len(profiles) != count:
        raise ValueError(
            f"the config has {count} optimization profile(s) but {len(profiles)} were given: "
            "TensorRT cannot read profiles back from an IBuilderConfig, so pass them in "
            "add order (profiles=[...]) or add them with "
            "trt_netser.config.add_optimization_profile"
        )
    calibration = None
    if callable(getattr(config, "get_calibration_profile", None)):
        ok, calibration = reader.call("get_calibration_profile")
    if (profiles or calibration is not None) and network is None:
        raise ValueError(
            "hashing optimization profiles needs the network (their shapes are read per "
            "network input): pass network="
        )
    inputs = _network_inputs(network) if network is not None else []
    fields["profiles"] = [
        _profile_data(p, inputs, reader, f"profiles[{i}]") for i, p in enumerate(profiles)
    ]
    if calibration is not None:
        fields["calibration_profile"] = _profile_data(
            calibration, inputs, reader, "calibration_profile"
        )
    if network is not None and callable(getattr(config, "is_device_type_set", None)):
        fields["device_types"] = _device_types(config, unwrap_network(network), reader)

    record = Record("config", fields)
    data = encode_record(record)
    return ConfigDigest(record, data, blake3.blake3(data).hexdigest(), tuple(reader.issues))


def hash_builder_config(
    config: Any,
    network: Any = None,
    *,
    profiles: Iterable[Any] | None = None,
    strict: bool = True,
) -> str:
    """The blake3-256 digest (64 hex chars) of an ``IBuilderConfig``'s canonical record.

    ``network`` is needed when the config has optimization profiles (their shapes are
    read per network input, in input order) and to read per-layer device types.
    ``profiles`` are the config's profiles in add order, unless they were added with
    :func:`add_optimization_profile` (TensorRT cannot read them back).
    """
    return describe_builder_config(config, network, profiles=profiles, strict=strict).digest


# --------------------------------------------------------------------------- TensorRT-LLM


def _build_config_dict(build_config: Any) -> dict[str, Any]:
    if isinstance(build_config, Mapping):
        data = build_config
    else:
        to_dict = getattr(build_config, "to_dict", None)
        if not callable(to_dict):
            raise TypeError(
                "expected a TensorRT-LLM BuildConfig (an object with to_dict()) or a dict, "
                f"got {type(build_config).__qualname__}"
            )
        data = to_dict()
    if not isinstance(data, Mapping):
        raise TypeError(f"BuildConfig.to_dict() returned a {type(data).__qualname__}, not a dict")
    return dict(data)


def canonical_data(value: Any, path: str) -> Any:
    """JSON-like data canonically; enums as (type, value); anything else is a TypeError."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return value
    if isinstance(value, enum.Enum):
        inner = value.value
        if isinstance(inner, int) and not isinstance(inner, bool):
            return EnumValue(type(value).__name__, inner, value.name)
        return [type(value).__name__, canonical_data(inner, path)]
    kind = type(value)
    if hasattr(kind, "__members__") and hasattr(value, "value"):
        return enum_value(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _canon_float(value)
    if isinstance(value, (list, tuple)):
        return [canonical_data(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [canonical_data(v, path) for v in value]
        return sorted(items, key=lambda v: encode_record(Record("v", {"v": v})))
    if isinstance(value, Mapping):
        return {str(k): canonical_data(v, f"{path}.{k}") for k, v in sorted(value.items())}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return canonical_data(to_dict(), path)
    raise TypeError(f"{path}: cannot hash a {kind.__qualname__} (use plain data or enums)")


def _drop_excluded(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if dotted in BUILD_CONFIG_EXCLUSIONS:
            continue
        if isinstance(value, Mapping):
            value = _drop_excluded(value, dotted + ".")
        out[str(key)] = value
    return out


def build_config_record(build_config: Any) -> Record:
    """The canonical record of a TensorRT-LLM ``BuildConfig`` (excluded fields dropped)."""
    data = _drop_excluded(_build_config_dict(build_config))
    return Record(
        "build_config",
        {
            "format": BUILD_CONFIG_FORMAT,
            "schema": SCHEMA_VERSION,
            "fields": canonical_data(data, "build_config"),
        },
    )


def hash_build_config(build_config: Any) -> str:
    """The blake3-256 digest of a TensorRT-LLM ``BuildConfig`` (through ``to_dict()``),
    without the fields of :data:`BUILD_CONFIG_EXCLUSIONS`."""
    return blake3.blake3(encode_record(build_config_record(build_config))).hexdigest()


def build_config_flag(build_config: Any, name: str) -> bool:
    """A boolean field of a BuildConfig (``use_refit``, ``weight_streaming``...)."""
    return bool(_build_config_dict(build_config).get(name, False))


# --------------------------------------------------------------------------- coverage


def _classify(owner: str, name: str, kind: str, table: Mapping[str, str]) -> Entry:
    reason = table.get(name)
    if reason is None:
        return Entry(owner, name, kind, "unclassified", "no hashing rule")  # type: ignore[arg-type]
    status = reason.split(":", 1)[0] if ":" in reason else "excluded"
    if status not in ("encoded", "excluded", "captured", "structural"):
        status = "excluded"
    return Entry(owner, name, kind, status, reason)  # type: ignore[arg-type]


def config_coverage(api: ModuleType | str | Mapping[str, Any]) -> CoverageReport:
    """Classify every IBuilderConfig / IOptimizationProfile property and method of a
    TensorRT module, committed dump version or dump: encoded, excluded or captured."""
    if isinstance(api, ModuleType):
        version = str(getattr(api, "__version__", "unknown"))
        classes = {}
        for owner in ("IBuilderConfig", "IOptimizationProfile"):
            cls = getattr(api, owner, None)
            if isinstance(cls, type):
                props = {p: "r" for p in readable_properties(cls)}
                methods = sorted(
                    m
                    for m in dir(cls)
                    if (not m.startswith("_") or m == "__init__")
                    and m not in props
                    and callable(getattr(cls, m, None))
                )
                classes[owner] = {"properties": props, "methods": methods}
    else:
        dump = api if isinstance(api, Mapping) else load_dump(api)
        version = str(dump["version"])
        classes = dump["classes"]
    entries: list[Entry] = []
    generic = "encoded: discovered generically (read and hashed as a property)"
    sources: tuple[tuple[str, Mapping[str, str], Mapping[str, str]], ...] = (
        ("IBuilderConfig", CONFIG_PROPERTY_EXCLUSIONS, CONFIG_METHODS),
        ("IOptimizationProfile", PROFILE_PROPERTY_EXCLUSIONS, PROFILE_METHODS),
    )
    for owner, exclusions, method_table in sources:
        info = classes.get(owner)
        if info is None:
            continue
        for prop in sorted(info.get("properties", {})):
            one = {prop: exclusions.get(prop, generic)}
            entries.append(_classify(owner, prop, "property", one))
        getters = {
            m: f"encoded: called for every {e} member into '{f}'"
            for m, (e, f, _) in CONFIG_ENUM_GETTERS.items()
        }
        getters.update({m: f"encoded: '{f}'" for m, f in CONFIG_PLAIN_GETTERS.items()})
        for method in sorted(info.get("methods", ())):
            if method == "__init__":
                continue
            table = {**method_table, **getters} if owner == "IBuilderConfig" else dict(method_table)
            entries.append(_classify(owner, method, "method", table))
    return CoverageReport(version, {}, tuple(entries))


__all__ = [
    "BUILD_CONFIG_EXCLUSIONS",
    "CONFIG_ENUM_GETTERS",
    "CONFIG_METHODS",
    "CONFIG_PROPERTY_EXCLUSIONS",
    "ConfigDigest",
    "add_optimization_profile",
    "build_config_record",
    "config_coverage",
    "describe_builder_config",
    "hash_build_config",
    "hash_builder_config",
]
