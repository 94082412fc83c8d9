"""Plugins: fields, creators, the registry, IPluginV2/IPluginV3 interfaces.

Users register creators exactly as with real TensorRT: subclass ``IPluginCreator`` (V2) or
``IPluginCreatorV3One`` (V3) in Python, set ``name``/``plugin_version``/``field_names``,
implement ``create_plugin`` and call ``get_plugin_registry().register_creator(creator)``.
Python plugins describe their outputs with the real interfaces (``get_output_dimensions``
/ ``get_output_data_type`` for V2, the BUILD capability's ``get_output_shapes`` /
``get_output_data_types`` for V3), evaluated with a small constant-folding
``IExprBuilder``.

``init_libnvinfer_plugins`` registers a few "native" (C++-like) creators whose plugins
follow one documented rule: ONE output with the shape and type of input 0. Their
fields cannot be read back (as in TensorRT); ``serialize()`` and ``timing_cache_id``
are derived deterministically from the fields.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from trt_netser.offline._enums import (
    APILanguage,
    DataType,
    DimensionOperation,
    PluginCapabilityType,
    PluginFieldType,
    TensorRTPhase,
)
from trt_netser.offline._pyarg import MODULE, STR, Arg, Sig, api, enum, incompatible, instance
from trt_netser.offline._shapes import ShapeError
from trt_netser.offline._types import Dims

if TYPE_CHECKING:
    from trt_netser.offline._layers import LayerImpl
    from trt_netser.offline._shapes import Out

TENSORRT_VERSION = 10_16_01


# ---------------------------------------------------------------------------------------
# fields
# ---------------------------------------------------------------------------------------
# PluginFieldType -> numpy type ``PluginField.data`` returns (others have no conversion).
_FIELD_NP: dict[int, type] = {
    int(PluginFieldType.FLOAT32): np.float32,
    int(PluginFieldType.FLOAT64): np.float64,
    int(PluginFieldType.INT8): np.int8,
    int(PluginFieldType.INT16): np.int16,
    int(PluginFieldType.INT32): np.int32,
    int(PluginFieldType.INT64): np.int64,
    int(PluginFieldType.CHAR): np.int8,
    int(PluginFieldType.UNKNOWN): np.int8,
}


class PluginField:
    """Plugin attribute field name and associated data."""

    __slots__ = ("__weakref__", "_name", "_raw", "_size", "_type")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = ("name", "data", "type")
        vals = dict(zip(names, args, strict=False))
        if len(args) > 3 or any(k not in names or k in vals for k in kwargs):
            raise self._error(args, kwargs)
        vals.update(kwargs)
        name = vals.get("name", "")
        if isinstance(name, bytes):
            name = name.decode()
        if not isinstance(name, str):
            raise self._error(args, kwargs)
        ftype = vals.get("type", PluginFieldType.UNKNOWN)
        if type(ftype) is not PluginFieldType:
            raise self._error(args, kwargs)
        data = vals.get("data")
        if data is None and "data" in vals:
            raise self._error(args, kwargs)
        if data is None:
            raw, size = b"", 0
        elif isinstance(data, np.ndarray):
            raw, size = np.ascontiguousarray(data).tobytes(), int(data.size)
        elif isinstance(data, bytes | bytearray | memoryview):
            raw = bytes(data)
            size = len(raw)
        else:
            raise self._error(args, kwargs)
        self._name, self._type, self._raw, self._size = name, ftype, raw, size

    @staticmethod
    def _error(args: tuple[Any, ...], kwargs: dict[str, Any]) -> TypeError:
        err = incompatible(
            "__init__",
            [
                f"{MODULE}.PluginField(name: {MODULE}.FallbackString = '')",
                f"{MODULE}.PluginField(name: {MODULE}.FallbackString, data: typing_extensions.Buffer, "
                f"type: {MODULE}.PluginFieldType = <PluginFieldType.UNKNOWN: 8>)",
            ],
            args,
            kwargs,
        )
        return TypeError(
            str(err).replace(
                "incompatible function arguments", "incompatible constructor arguments"
            )
        )

    @property
    def name(self) -> str:
        """Plugin field attribute name."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = STR(value)

    @property
    def data(self) -> np.ndarray:
        """The data as ``size`` elements of the numpy type of ``type`` (raises for types
        without a numpy equivalent, as the real bindings do)."""
        np_t = _FIELD_NP.get(int(self._type))
        if np_t is None:
            raise AttributeError("No known conversion for returning data from PluginField")
        need = self._size * np.dtype(np_t).itemsize
        raw = self._raw[:need].ljust(need, b"\0")
        return np.frombuffer(raw, dtype=np_t).copy()

    @data.setter
    def data(self, value: Any) -> None:
        self._raw = np.ascontiguousarray(value).tobytes()

    @property
    def type(self) -> PluginFieldType:
        """Plugin field attribute type."""
        return self._type

    @type.setter
    def type(self, value: PluginFieldType) -> None:
        self._type = enum(PluginFieldType)(value)

    @property
    def size(self) -> int:
        """Number of data entries in the plugin attribute."""
        return self._size

    @size.setter
    def size(self, value: int) -> None:
        self._size = int(value)


class PluginFieldCollection:
    """A list of PluginField (like the pybind11-bound ``std::vector<PluginField>``)."""

    __slots__ = ("__weakref__", "_items")

    def __init__(self, items: Iterable[PluginField] | None = None) -> None:
        self._items: list[PluginField] = []
        if items is not None:
            self.extend(items)

    @staticmethod
    def _check(x: Any) -> PluginField:
        if not isinstance(x, PluginField):
            raise RuntimeError(
                f"Unable to cast Python instance of type {type(x)} to C++ type '?' (#define "
                "PYBIND11_DETAILED_ERROR_MESSAGES or compile in debug mode for details)"
            )
        return x

    def append(self, x: PluginField) -> None:
        """Add an item to the end of the list."""
        self._items.append(self._check(x))

    def clear(self) -> None:
        """Clear the contents."""
        self._items.clear()

    def extend(self, items: Iterable[PluginField]) -> None:
        """Extend the list by appending all the items in the given list."""
        self._items.extend(self._check(x) for x in items)

    def insert(self, i: int, x: PluginField) -> None:
        """Insert an item at a given position."""
        self._items.insert(i, self._check(x))

    def pop(self, i: int = -1) -> PluginField:
        """Remove and return the item at index ``i`` (default last)."""
        return self._items.pop(i)

    def __getitem__(self, i: int) -> PluginField:
        return self._items[i]

    def __setitem__(self, i: int, x: PluginField) -> None:
        self._items[i] = self._check(x)

    def __delitem__(self, i: int) -> None:
        del self._items[i]

    def __iter__(self) -> Iterator[PluginField]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)


class PluginFieldCollection_:
    """Read-only view of plugin fields as passed to ``create_plugin``."""

    __slots__ = ("__weakref__", "_items")

    def __init__(self, fields: PluginFieldCollection | Iterable[PluginField]) -> None:
        self._items = list(fields)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> PluginField:
        return self._items[i]

    def __iter__(self) -> Iterator[PluginField]:
        return iter(list(self._items))


def serialize_fields(fields: Iterable[PluginField]) -> bytes:
    """Deterministic bytes for a field collection: per field name, type, size and data."""
    out = bytearray()
    for f in fields:
        name = f.name.encode()
        raw = f._raw
        out += (
            struct.pack("<I", len(name))
            + name
            + struct.pack("<iQQ", int(f.type), f.size, len(raw))
            + raw
        )
    return bytes(out)


# ---------------------------------------------------------------------------------------
# versioned interfaces
# ---------------------------------------------------------------------------------------
def _pyattr(name: str, default: Any = None, doc: str = "") -> property:
    """A property a Python implementation must initialize; reads ``default`` until set."""
    key = f"_pyattr_{name}"

    def fget(self: Any) -> Any:
        return self.__dict__.get(key, default)

    def fset(self: Any, value: Any) -> None:
        self.__dict__[key] = value

    return property(fget, fset, doc=doc or name)


def _field(name: str, default: Any = None) -> property:
    """A plain read/write data field of a small struct-like class."""
    return _pyattr(name, default)


class InterfaceInfo:
    """Kind and version of a versioned interface."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.InterfaceInfo: No constructor defined!")

    kind = _field("kind")
    major = _field("major", 0)
    minor = _field("minor", 0)

    @classmethod
    def _make(cls, kind: str, major: int, minor: int) -> InterfaceInfo:
        obj = object.__new__(cls)
        obj.kind, obj.major, obj.minor = kind, major, minor
        return obj


class IVersionedInterface:
    """Base of TensorRT's versioned interfaces."""

    _KIND = "VERSIONED"

    @property
    def api_language(self) -> APILanguage:
        """PYTHON for Python implementations, CPP for native (C++-like) ones."""
        return APILanguage.CPP if isinstance(self, _Native) else APILanguage.PYTHON

    @property
    def interface_info(self) -> InterfaceInfo:
        """Kind and version of the interface."""
        return InterfaceInfo._make(type(self)._KIND, 1, 0)


class IPluginCreatorInterface(IVersionedInterface):
    """Base of plugin creators."""

    _KIND = "PLUGIN CREATOR"

    def __init__(self) -> None:
        pass


class IPluginCreator(IPluginCreatorInterface):
    """Plugin creator class for user implemented (V2) layers."""

    _KIND = "PLUGIN CREATOR_V1"
    name = _pyattr("name")
    plugin_version = _pyattr("plugin_version")
    plugin_namespace = _pyattr("plugin_namespace")
    field_names = _pyattr("field_names")

    def __init__(self) -> None:
        IPluginCreatorInterface.__init__(self)

    def create_plugin(self, name: str, field_collection: Any) -> Any:
        """Creates a new plugin (implemented by subclasses)."""
        raise RuntimeError('Tried to call pure virtual function "IPluginCreator::createPlugin"')

    def deserialize_plugin(self, name: str, serialized_plugin: Any) -> Any:
        """Creates a plugin object from a serialized plugin (implemented by subclasses)."""
        raise RuntimeError(
            'Tried to call pure virtual function "IPluginCreator::deserializePlugin"'
        )


class IPluginCreatorV3One(IPluginCreatorInterface):
    """Plugin creator class for V3 plugins."""

    _KIND = "PLUGIN CREATOR_V3ONE"
    name = _pyattr("name")
    plugin_version = _pyattr("plugin_version")
    plugin_namespace = _pyattr("plugin_namespace")
    field_names = _pyattr("field_names")

    def __init__(self) -> None:
        IPluginCreatorInterface.__init__(self)

    def create_plugin(self, name: str, field_collection: Any, phase: TensorRTPhase) -> Any:
        """Creates a new plugin (implemented by subclasses)."""
        raise RuntimeError(
            'Tried to call pure virtual function "IPluginCreatorV3One::createPlugin"'
        )


class IPluginCreatorV3Quick(IPluginCreatorInterface):
    """Creator of quickly deployable Python plugins (not supported offline)."""

    _KIND = "PLUGIN CREATOR_V3QUICK"
    name = _pyattr("name")
    plugin_version = _pyattr("plugin_version")
    plugin_namespace = _pyattr("plugin_namespace")
    field_names = _pyattr("field_names")

    def create_plugin(self, *args: Any, **kwargs: Any) -> Any:
        """Not available offline."""
        return None


# ---------------------------------------------------------------------------------------
# V2 plugins
# ---------------------------------------------------------------------------------------
class IPluginV2:
    """Plugin class for user-implemented (V2) layers."""

    num_outputs = _pyattr("num_outputs")
    plugin_type = _pyattr("plugin_type")
    plugin_version = _pyattr("plugin_version")
    plugin_namespace = _pyattr("plugin_namespace", "")

    @property
    def tensorrt_version(self) -> int:
        """The API version with which this plugin was built."""
        return TENSORRT_VERSION

    @property
    def serialization_size(self) -> int:
        """The size of the serialization buffer required."""
        return len(bytes(self.serialize()))

    def serialize(self) -> Any:
        """Serialize the plugin."""
        return memoryview(b"")

    def clone(self) -> Any:
        """Clone the plugin object."""
        return self

    def destroy(self) -> None:
        """Destroy the plugin object."""

    def initialize(self) -> int:
        """Initialize the layer for execution."""
        return 0

    def terminate(self) -> None:
        """Release resources acquired during initialization."""

    def get_output_shape(self, index: int, input_shapes: list[Dims]) -> Dims:
        """Get the dimension of an output tensor (implemented by subclasses)."""
        raise RuntimeError('Tried to call pure virtual function "IPluginV2::getOutputDimensions"')

    def get_workspace_size(self, max_batch_size: int) -> int:
        """Workspace size (0 by default)."""
        return 0

    def supports_format(self, dtype: DataType, format: Any) -> bool:
        """Check format support."""
        return True

    def configure_with_format(self, *args: Any) -> None:
        """Configure the layer."""

    def execute_async(self, *args: Any) -> int:
        """Not available offline."""
        return 1


class IPluginV2Ext(IPluginV2):
    """IPluginV2 with support for type configuration."""

    def get_output_data_type(self, index: int, input_types: list[DataType]) -> DataType:
        """Output data type (default: type of input 0, FLOAT without inputs)."""
        return input_types[0] if input_types else DataType.FLOAT

    def configure_plugin(self, *args: Any) -> None:
        """Configure the plugin."""

    def attach_to_context(self, *args: Any) -> None:
        """Attach to an execution context."""

    def detach_from_context(self) -> None:
        """Detach from an execution context."""


class IPluginV2DynamicExtBase(IPluginV2):
    """Base of IPluginV2DynamicExt."""


class IPluginV2DynamicExt(IPluginV2DynamicExtBase):
    """Plugin with dynamic shape support; Python subclasses implement the output rules."""

    FORMAT_COMBINATION_LIMIT = 100

    def get_output_datatype(self, index: int, input_types: list[DataType]) -> DataType:
        """Output data type (default: type of input 0)."""
        return input_types[0] if input_types else DataType.FLOAT

    def get_output_dimensions(
        self, output_index: int, inputs: list[DimsExprs], expr_builder: IExprBuilder
    ) -> DimsExprs:
        """Output dimensions as expressions (default: those of input 0)."""
        return inputs[0]

    def get_serialization_size(self) -> int:
        """Size of the serialized plugin."""
        return len(bytes(self.serialize()))

    def configure_plugin(self, *args: Any) -> None:
        """Configure the plugin."""

    def supports_format_combination(self, *args: Any) -> bool:
        """Format support."""
        return True

    def enqueue(self, *args: Any) -> None:
        """Not available offline."""


# ---------------------------------------------------------------------------------------
# V3 plugins
# ---------------------------------------------------------------------------------------
class IPluginCapability(IVersionedInterface):
    """Base of the plugin capability interfaces."""

    _KIND = "PLUGIN CAPABILITY"


class IPluginV3(IVersionedInterface):
    """Plugin class for the V3 generation of user-implemented layers."""

    _KIND = "PLUGIN"

    def __init__(self, *args: Any) -> None:
        pass

    def get_capability_interface(self, type: PluginCapabilityType) -> Any:
        """Return an object implementing the capability (implemented by subclasses)."""
        raise RuntimeError(
            'Tried to call pure virtual function "IPluginV3::getCapabilityInterface"'
        )

    def clone(self) -> Any:
        """Clone the plugin object."""
        return self

    def destroy(self) -> None:
        """Cleanup hook."""


class IPluginV3OneCore(IPluginCapability):
    """Core capability: name, version, namespace."""

    _KIND = "PLUGIN_V3ONE_CORE"
    plugin_name = _pyattr("plugin_name")
    plugin_version = _pyattr("plugin_version")
    plugin_namespace = _pyattr("plugin_namespace")

    def __init__(self, *args: Any) -> None:
        pass


class IPluginV3OneBuild(IPluginCapability):
    """Build capability: outputs, formats, metadata string, timing cache id."""

    _KIND = "PLUGIN_V3ONE_BUILD"
    DEFAULT_FORMAT_COMBINATION_LIMIT = 100
    num_outputs = _pyattr("num_outputs", -1)
    format_combination_limit = _pyattr("format_combination_limit")
    metadata_string = _pyattr("metadata_string")
    timing_cache_id = _pyattr("timing_cache_id")

    def __init__(self, *args: Any) -> None:
        pass

    def get_output_data_types(self, input_types: list[DataType]) -> list[DataType]:
        """Output data types (implemented by subclasses)."""
        raise RuntimeError(
            'Tried to call pure virtual function "IPluginV3OneBuild::getOutputDataTypes"'
        )

    def get_output_shapes(
        self, inputs: list[DimsExprs], shape_inputs: list[DimsExprs], expr_builder: IExprBuilder
    ) -> list[DimsExprs]:
        """Output shapes as expressions (implemented by subclasses)."""
        raise RuntimeError(
            'Tried to call pure virtual function "IPluginV3OneBuild::getOutputShapes"'
        )

    def configure_plugin(self, *args: Any) -> None:
        """Configure the plugin."""

    def supports_format_combination(self, *args: Any) -> bool:
        """Format support."""
        return True

    def get_workspace_size(self, *args: Any) -> int:
        """Workspace size."""
        return 0

    def get_valid_tactics(self) -> list[int]:
        """Valid tactics."""
        return []


class IPluginV3OneBuildV2(IPluginV3OneBuild):
    """Build capability with aliased I/O."""

    _KIND = "PLUGIN_V3ONE_BUILD_V2"

    def get_aliased_input(self, output_index: int) -> int:
        """No aliasing by default."""
        return -1


class IPluginV3OneRuntime(IPluginCapability):
    """Runtime capability (not executed offline)."""

    _KIND = "PLUGIN_V3ONE_RUNTIME"

    def __init__(self, *args: Any) -> None:
        pass

    def get_fields_to_serialize(self) -> Any:
        """Fields to serialize (implemented by subclasses)."""
        return PluginFieldCollection_([])

    def set_tactic(self, tactic: int) -> None:
        """Set the tactic."""

    def on_shape_change(self, *args: Any) -> None:
        """Shape change hook."""

    def attach_to_context(self, *args: Any) -> Any:
        """Attach to a resource context."""
        return self

    def enqueue(self, *args: Any) -> None:
        """Not available offline."""


class IPluginV3QuickCore(IPluginCapability):
    """Quick plugin core capability."""

    plugin_name = _pyattr("plugin_name")
    plugin_version = _pyattr("plugin_version")
    plugin_namespace = _pyattr("plugin_namespace")


class IPluginV3QuickBuild(IPluginCapability):
    """Quick plugin build capability."""


class IPluginV3QuickAOTBuild(IPluginV3QuickBuild):
    """Quick plugin AOT build capability."""


class IPluginV3QuickRuntime(IPluginCapability):
    """Quick plugin runtime capability."""


class IPluginResource(IVersionedInterface):
    """A resource shared by plugins."""

    def release(self) -> None:
        """Release the resource."""

    def clone(self) -> Any:
        """Clone the resource."""
        return self


# ---------------------------------------------------------------------------------------
# symbolic dimensions (enough for Python plugins to describe their outputs)
# ---------------------------------------------------------------------------------------
class IDimensionExpr:
    """A dimension expression: a build-time constant or a run-time value."""

    __slots__ = ("__weakref__", "_size_tensor", "_value")
    _size_tensor: bool
    _value: int | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IDimensionExpr: No constructor defined!")

    @classmethod
    def _make(cls, value: int | None, size_tensor: bool = False) -> IDimensionExpr:
        obj = object.__new__(cls)
        obj._value, obj._size_tensor = value, size_tensor
        return obj

    def is_constant(self) -> bool:
        """Whether the expression is a build-time constant."""
        return self._value is not None

    def get_constant_value(self) -> int:
        """The constant value (undefined if not constant)."""
        return -1 if self._value is None else self._value

    def is_size_tensor(self) -> bool:
        """Whether the expression is a size tensor."""
        return self._size_tensor


class DimsExprs:
    """Shape of a tensor as a list of IDimensionExpr."""

    __slots__ = ("__weakref__", "_d")

    def __init__(self, arg: Any = 0) -> None:
        if isinstance(arg, int):
            self._d: list[IDimensionExpr | None] = [None] * arg
        else:
            self._d = list(arg)

    def __len__(self) -> int:
        return len(self._d)

    def __getitem__(self, i: int) -> Any:
        return self._d[i]

    def __setitem__(self, i: int, v: IDimensionExpr) -> None:
        self._d[i] = v

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._d))


_DIM_OPS: dict[int, Any] = {
    int(DimensionOperation.SUM): lambda a, b: a + b,
    int(DimensionOperation.PROD): lambda a, b: a * b,
    int(DimensionOperation.MAX): max,
    int(DimensionOperation.MIN): min,
    int(DimensionOperation.SUB): lambda a, b: a - b,
    int(DimensionOperation.EQUAL): lambda a, b: int(a == b),
    int(DimensionOperation.LESS): lambda a, b: int(a < b),
    int(DimensionOperation.FLOOR_DIV): lambda a, b: a // b,
    int(DimensionOperation.CEIL_DIV): lambda a, b: -(-a // b),
}


class IExprBuilder:
    """Builds dimension expressions; folds constants, anything else is a run-time value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IExprBuilder: No constructor defined!")

    @classmethod
    def _make(cls) -> IExprBuilder:
        return object.__new__(cls)

    def constant(self, value: int) -> IDimensionExpr:
        """A constant expression."""
        return IDimensionExpr._make(int(value))

    def operation(
        self, op: DimensionOperation, first: IDimensionExpr, second: IDimensionExpr
    ) -> IDimensionExpr:
        """Combine two expressions."""
        a, b = first._value, second._value
        if a is None or b is None:
            return IDimensionExpr._make(None)
        try:
            return IDimensionExpr._make(int(_DIM_OPS[int(op)](a, b)))
        except (KeyError, ZeroDivisionError):
            return IDimensionExpr._make(None)

    def declare_size_tensor(
        self, output_index: int, opt: IDimensionExpr, upper: IDimensionExpr
    ) -> IDimensionExpr:
        """A data-dependent size."""
        return IDimensionExpr._make(None, True)


def _exprs(shape: tuple[int, ...]) -> DimsExprs:
    return DimsExprs([IDimensionExpr._make(None if d < 0 else d) for d in shape])


def _shape_of(exprs: Any) -> tuple[int, ...]:
    if isinstance(exprs, Dims):
        return tuple(exprs)
    out = []
    for e in exprs:
        if isinstance(e, IDimensionExpr):
            out.append(-1 if e._value is None else e._value)
        else:
            out.append(int(e))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# native ("C++") plugins registered by init_libnvinfer_plugins
# ---------------------------------------------------------------------------------------
class _Native:
    """Marker: a plugin object implemented inside the library (fields are not readable)."""


class _NativePluginV2(_Native, IPluginV2DynamicExt):
    def __init__(self, ptype: str, version: str, namespace: str, fields: list[PluginField]) -> None:
        self.__dict__["_pyattr_plugin_type"] = ptype
        self.__dict__["_pyattr_plugin_version"] = version
        self.__dict__["_pyattr_plugin_namespace"] = namespace
        self.__dict__["_pyattr_num_outputs"] = 1
        self._blob = serialize_fields(fields)

    def serialize(self) -> memoryview:
        return memoryview(self._blob)


class _NativeCore(_Native, IPluginV3OneCore):
    pass


class _NativeBuild(_Native, IPluginV3OneBuild):
    def get_output_data_types(self, input_types: list[DataType]) -> list[DataType]:
        return [input_types[0] if input_types else DataType.FLOAT]

    def get_output_shapes(
        self, inputs: list[DimsExprs], shape_inputs: list[DimsExprs], expr_builder: IExprBuilder
    ) -> list[DimsExprs]:
        return [inputs[0]] if inputs else [DimsExprs(0)]


class _NativePluginV3(_Native, IPluginV3):
    def __init__(self, name: str, version: str, namespace: str, fields: list[PluginField]) -> None:
        blob = serialize_fields(fields)
        self._core = _NativeCore()
        self._core.plugin_name, self._core.plugin_version, self._core.plugin_namespace = (
            name,
            version,
            namespace,
        )
        self._build = _NativeBuild()
        self._build.num_outputs = 1
        self._build.format_combination_limit = 1
        self._build.timing_cache_id = hashlib.sha256(blob).hexdigest()[:32]
        self._build.metadata_string = ";".join(f"{f.name}:{int(f.type)}:{f.size}" for f in fields)
        self._runtime = IPluginV3OneRuntime()

    def get_capability_interface(self, type: PluginCapabilityType) -> Any:
        return {
            PluginCapabilityType.CORE: self._core,
            PluginCapabilityType.BUILD: self._build,
            PluginCapabilityType.RUNTIME: self._runtime,
        }.get(type)


class _NativeCreatorV2(_Native, IPluginCreator):
    def __init__(self, name: str, version: str, field_names: list[PluginField]) -> None:
        IPluginCreator.__init__(self)
        self.name, self.plugin_version, self.plugin_namespace = name, version, ""
        self.field_names = PluginFieldCollection_(field_names)

    def create_plugin(self, name: str, field_collection: Any) -> _NativePluginV2:
        return _NativePluginV2(
            self.name, self.plugin_version, self.plugin_namespace, list(field_collection)
        )


class _NativeCreatorV3(_Native, IPluginCreatorV3One):
    def __init__(self, name: str, version: str, field_names: list[PluginField]) -> None:
        IPluginCreatorV3One.__init__(self)
        self.name, self.plugin_version, self.plugin_namespace = name, version, ""
        self.field_names = PluginFieldCollection_(field_names)

    def create_plugin(
        self, name: str, field_collection: Any, phase: TensorRTPhase
    ) -> _NativePluginV3:
        return _NativePluginV3(
            self.name, self.plugin_version, self.plugin_namespace, list(field_collection)
        )


# (type, version, V3?) of the native creators: same-shape plugins named after TensorRT OSS plugins.
NATIVE_CREATORS: tuple[tuple[str, str, bool], ...] = (
    ("LReLU_TRT", "1", False),
    ("Clip_TRT", "1", False),
    ("CustomSkipLayerNormPluginDynamic", "1", False),
    ("CustomSkipLayerNormPluginDynamic", "5", True),
    ("CustomGeluPluginDynamic", "1", False),
)


# ---------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------
_CREATOR = instance(IPluginCreatorInterface, name="IPluginCreatorInterface")


class IPluginRegistry:
    """Registers plugin creators."""

    _creators: list[IPluginCreatorInterface]
    _parent_search: bool
    _error_recorder: Any
    _resources: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IPluginRegistry: No constructor defined!")

    @classmethod
    def _make(cls) -> IPluginRegistry:
        obj = object.__new__(cls)
        obj._creators = []
        obj._parent_search = True
        obj._error_recorder = None
        obj._resources = {}
        return obj

    @staticmethod
    def _key(c: Any) -> tuple[Any, Any, Any]:
        return (c.name, c.plugin_version, c.plugin_namespace or "")

    @api(
        "IPluginRegistry", Sig([Arg("creator", _CREATOR), Arg("plugin_namespace", STR, "")], "bool")
    )
    def register_creator(self, creator: IPluginCreatorInterface, plugin_namespace: str) -> bool:
        """Register a plugin creator; False if one with the same name/version/namespace exists."""
        if plugin_namespace:
            creator.plugin_namespace = plugin_namespace  # type: ignore[attr-defined]  # on the V2/V3 subclasses
        elif getattr(creator, "plugin_namespace", None) is None:
            creator.plugin_namespace = ""  # type: ignore[attr-defined]  # as above
        key = self._key(creator)
        if key[0] is None or key[1] is None or any(self._key(c) == key for c in self._creators):
            return False
        self._creators.append(creator)
        return True

    @api("IPluginRegistry", Sig([Arg("creator", _CREATOR)], "bool"))
    def deregister_creator(self, creator: IPluginCreatorInterface) -> bool:
        """Deregister a previously registered creator."""
        for i, c in enumerate(self._creators):
            if c is creator:
                del self._creators[i]
                return True
        return False

    def _find(self, type: str, version: str, plugin_namespace: str) -> Any:
        for c in self._creators:
            if self._key(c) == (type, version, plugin_namespace):
                return c
        return None

    @api(
        "IPluginRegistry",
        Sig(
            [Arg("type", STR), Arg("version", STR), Arg("plugin_namespace", STR, "")],
            f"{MODULE}.IPluginCreator",
        ),
    )
    def get_plugin_creator(
        self, type: str, version: str, plugin_namespace: str
    ) -> IPluginCreator | None:
        """The V2 creator with this type, version and namespace (None if not a V2 creator)."""
        c = self._find(type, version, plugin_namespace)
        return c if isinstance(c, IPluginCreator) else None

    @api(
        "IPluginRegistry",
        Sig([Arg("type", STR), Arg("version", STR), Arg("plugin_namespace", STR, "")], "object"),
    )
    def get_creator(self, type: str, version: str, plugin_namespace: str) -> Any:
        """The creator (any kind) with this type, version and namespace."""
        return self._find(type, version, plugin_namespace)

    @property
    def plugin_creator_list(self) -> list[IPluginCreator]:
        """[DEPRECATED] The registered IPluginV2 creators."""
        return [c for c in self._creators if isinstance(c, IPluginCreator)]

    @property
    def all_creators(self) -> list[Any]:
        """All registered creators."""
        return list(self._creators)

    @property
    def all_creators_recursive(self) -> list[Any]:
        """All registered creators (this registry has no parent)."""
        return list(self._creators)

    @property
    def parent_search_enabled(self) -> bool:
        """Whether parent search is enabled (default True)."""
        return self._parent_search

    @parent_search_enabled.setter
    def parent_search_enabled(self, value: bool) -> None:
        self._parent_search = bool(value)

    @property
    def error_recorder(self) -> Any:
        """Error recorder (None by default)."""
        return self._error_recorder

    @error_recorder.setter
    def error_recorder(self, value: Any) -> None:
        self._error_recorder = value

    def load_library(self, plugin_path: str) -> None:
        """Plugin libraries cannot be loaded offline: returns None."""
        return None

    def deregister_library(self, handle: Any) -> None:
        """No libraries are loaded offline."""

    def acquire_plugin_resource(self, key: str, resource: Any) -> Any:
        """Register (a clone of) a resource under ``key``."""
        return self._resources.setdefault(
            key, resource.clone() if hasattr(resource, "clone") else resource
        )

    def release_plugin_resource(self, key: str) -> int:
        """Release the resource under ``key``."""
        return 0 if self._resources.pop(key, None) is not None else -1


_REGISTRY = IPluginRegistry._make()


def get_plugin_registry() -> IPluginRegistry:
    """Return the plugin registry for the standard runtime (one per process)."""
    return _REGISTRY


def get_builder_plugin_registry(arg0: Any) -> IPluginRegistry:
    """Return the plugin registry used for building engines (the same offline)."""
    return _REGISTRY


def init_libnvinfer_plugins(logger: Any, namespace: str) -> bool:
    """Register the native creators (see NATIVE_CREATORS) under ``namespace``."""
    for ptype, version, v3 in NATIVE_CREATORS:
        fields = [PluginField("type_id"), PluginField("ld"), PluginField("alpha")]
        creator: IPluginCreatorInterface = (
            _NativeCreatorV3(ptype, version, fields)
            if v3
            else _NativeCreatorV2(ptype, version, fields)
        )
        if _REGISTRY._find(ptype, version, namespace) is None:
            _REGISTRY.register_creator(creator, namespace)
    return True


# ---------------------------------------------------------------------------------------
# output inference for plugin layers
# ---------------------------------------------------------------------------------------
def plugin_v2_display(plugin: Any) -> str:
    """TensorRT's display name of a V2 plugin layer, by plugin interface."""
    if isinstance(plugin, IPluginV2DynamicExt):
        return "PluginV2DynamicExt"
    if isinstance(plugin, IPluginV2Ext):
        return "PluginV2Ext"
    return "PluginV2"


def infer_plugin_v2(impl: LayerImpl) -> list[Out]:
    """Outputs of a V2 plugin layer, asking the plugin (user code errors become ShapeErrors)."""
    plugin = impl.p["plugin"]
    if any(t is None for t in impl.inputs):
        raise ShapeError("plugin inputs must not be null")
    ins = [t for t in impl.inputs if t is not None]
    types = [t._dtype for t in ins]
    try:
        n = int(plugin.num_outputs)
        outs: list[Out] = []
        for i in range(n):
            if isinstance(plugin, IPluginV2DynamicExt):
                dtype = plugin.get_output_datatype(i, types)
                shape = _shape_of(
                    plugin.get_output_dimensions(
                        i, [_exprs(t._shape) for t in ins], IExprBuilder._make()
                    )
                )
            else:
                dtype = (
                    plugin.get_output_data_type(i, types)
                    if isinstance(plugin, IPluginV2Ext)
                    else (types[0] if types else DataType.FLOAT)
                )
                shape = tuple(plugin.get_output_shape(i, [Dims._from(t._shape) for t in ins]))
            outs.append((shape, dtype, None))
    except ShapeError:
        raise
    except Exception as exc:
        raise ShapeError(
            f"the plugin failed to describe its outputs: {type(exc).__name__}: {exc}"
        ) from None
    return outs


def infer_plugin_v3(impl: LayerImpl) -> list[Out]:
    """Outputs of a V3 plugin layer from its BUILD capability."""
    plugin = impl.p["plugin"]
    nd = impl.private["num_data_inputs"]
    if any(t is None for t in impl.inputs):
        raise ShapeError("plugin inputs must not be null")
    inputs = [t for t in impl.inputs if t is not None]
    ins, shape_ins = inputs[:nd], inputs[nd:]
    try:
        build = plugin.get_capability_interface(PluginCapabilityType.BUILD)
        n = int(build.num_outputs)
        types = list(build.get_output_data_types([t._dtype for t in ins]))
        shapes = list(
            build.get_output_shapes(
                [_exprs(t._shape) for t in ins],
                [
                    DimsExprs([IDimensionExpr._make(v) for v in (t._values or ())])
                    for t in shape_ins
                ],
                IExprBuilder._make(),
            )
        )
        if len(types) != n or len(shapes) != n:
            raise ShapeError(
                f"the plugin declares {n} outputs but describes {len(types)} types and {len(shapes)} shapes"
            )
        return [(_shape_of(s), d, None) for s, d in zip(shapes, types, strict=True)]
    except ShapeError:
        raise
    except Exception as exc:
        raise ShapeError(
            f"the plugin failed to describe its outputs: {type(exc).__name__}: {exc}"
        ) from None


# ---------------------------------------------------------------------------------------
# small descriptor structs of the plugin API
# ---------------------------------------------------------------------------------------
class PluginTensorDesc:
    """Fields that a plugin might see for an input or output."""

    dims = _field("dims")
    format = _field("format")
    scale = _field("scale", 1.0)
    type = _field("type", DataType.FLOAT)


class DynamicPluginTensorDesc:
    """A tensor description with its min/opt/max dimensions."""

    desc = _field("desc")
    min = _field("min")
    opt = _field("opt")
    max = _field("max")


class KernelLaunchParams:
    """Launch parameters of a kernel (for AOT Python plugins)."""

    block_x = _field("block_x", 1)
    block_y = _field("block_y", 1)
    block_z = _field("block_z", 1)
    grid_x = _field("grid_x", 1)
    grid_y = _field("grid_y", 1)
    grid_z = _field("grid_z", 1)
    shared_mem = _field("shared_mem", 0)


class ISymExpr:
    """A symbolic expression (for AOT Python plugins)."""

    # Write-only, as in the bindings (each property has a setter and no getter).
    dtype = property(None, _field("dtype").fset)
    expr = property(None, _field("expr").fset)
    type = property(None, _field("type").fset)


class ISymExprs:
    """A list of symbolic expressions."""

    nbSymExprs = _field("nbSymExprs", 0)


class FallbackString:
    """A string argument that also accepts bytes."""

    def __init__(self, value: Any = "") -> None:
        self._value = value.decode() if isinstance(value, bytes) else str(value)


class IPluginResourceContext:
    """Resources available to a plugin at run time (none offline)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IPluginResourceContext: No constructor defined!")

    @property
    def error_recorder(self) -> Any:
        """The error recorder (None)."""
        return None

    @property
    def gpu_allocator(self) -> Any:
        """The GPU allocator (None)."""
        return None


class IErrorRecorder:
    """Application-implemented error reporting interface (subclass it in Python)."""

    MAX_DESC_LENGTH = property(lambda self: 127, doc="Maximum length of an error description.")

    def __init__(self) -> None:
        pass

    def clear(self) -> None:
        """Clear the recorded errors (implemented by subclasses)."""

    def get_error_code(self, arg0: int) -> Any:
        """The code of error ``arg0`` (implemented by subclasses)."""
        raise RuntimeError('Tried to call pure virtual function "IErrorRecorder::getErrorCode"')

    def get_error_desc(self, arg0: int) -> str:
        """The description of error ``arg0`` (implemented by subclasses)."""
        raise RuntimeError('Tried to call pure virtual function "IErrorRecorder::getErrorDesc"')

    def has_overflowed(self) -> bool:
        """Whether errors were dropped (implemented by subclasses)."""
        return False

    def num_errors(self) -> int:
        """Number of recorded errors (implemented by subclasses)."""
        return 0

    def report_error(self, arg0: Any, arg1: str) -> bool:
        """Record an error (implemented by subclasses)."""
        raise RuntimeError('Tried to call pure virtual function "IErrorRecorder::reportError"')
