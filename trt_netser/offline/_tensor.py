"""ITensor: a tensor of an offline network.

Tensors are plain slotted objects owned by their network; a layer's ``get_output(i)``
returns the same ITensor object every time. Shapes are stored as tuples (``-1`` for
dynamic dims) and handed out as fresh ``Dims`` objects, as the bindings do. ``_values``
holds the known integer contents of small shape tensors (``None`` per unknown element),
which lets dynamic reshapes built from ``shape``/``slice``/``concatenation`` keep the
dimensions that are static.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trt_netser.offline._enums import DataType, TensorLocation
from trt_netser.offline._pyarg import (
    BOOL,
    FLOAT,
    INT,
    OPT_STR,
    STR,
    Arg,
    Conv,
    Sig,
    api,
    check_setter,
    enum,
)
from trt_netser.offline._types import Dims, to_dims_tuple

if TYPE_CHECKING:
    from trt_netser.offline._layers import LayerImpl
    from trt_netser.offline._netimpl import NetworkImpl

ALL_FORMATS = (1 << 13) - 1
_new = object.__new__
Values = tuple[int | None, ...] | None


class ITensor:
    """A tensor in an :class:`INetworkDefinition`."""

    __slots__ = (
        "__weakref__",
        "_consumers",
        "_dim_names",
        "_dtype",
        "_dyn_range",
        "_formats",
        "_location",
        "_name",
        "_net",
        "_out_index",
        "_producer",
        "_shape",
        "_values",
    )
    _consumers: list[LayerImpl]
    _dim_names: dict[int, str]
    _dtype: DataType
    _dyn_range: tuple[float, float] | None
    _formats: int
    _location: TensorLocation
    _name: str
    _net: NetworkImpl
    _out_index: int
    _producer: LayerImpl | None
    _shape: tuple[int, ...]
    _values: Values

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("trt_netser.offline.ITensor: No constructor defined!")

    @classmethod
    def _create(
        cls,
        net: NetworkImpl,
        name: str,
        shape: tuple[int, ...],
        dtype: DataType,
        producer: LayerImpl | None = None,
        out_index: int = 0,
    ) -> ITensor:
        t = object.__new__(cls)
        t._net = net
        t._name = name
        t._shape = shape
        t._dtype = dtype
        t._producer = producer
        t._out_index = out_index
        t._values = None
        t._consumers = []
        t._location = TensorLocation.DEVICE
        t._formats = ALL_FORMATS
        t._dyn_range = None
        t._dim_names = {}
        return t

    # -- identity & naming -------------------------------------------------------------
    @property
    def name(self) -> str:
        """The tensor name."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = check_setter("ITensor", STR, value)
        self._net.touch()

    # -- shape & type ------------------------------------------------------------------
    @property
    def shape(self) -> Dims:
        """The shape of the tensor (settable only for network inputs); an invalid Dims
        (nbDims == -1) after an ERROR if it cannot be computed."""
        producer = self._producer
        if producer is not None and producer.shape_error is not None:
            self._net.shape_problem(self)
            return Dims._invalid()
        dims = _new(Dims)  # Dims._from, inlined: this is read for every tensor of a walk
        dims._d = list(self._shape)
        return dims

    @shape.setter
    def shape(self, value: Any) -> None:
        dims = check_setter("ITensor", Conv("trt_netser.offline.Dims", to_dims_tuple), value)
        if self._producer is not None:
            self._net.error(
                "ITensor::setDimensions: Error Code 3: API Usage Error (Parameter check failed, "
                "condition: isNetworkInput(). setDimensions is only legal for network inputs.)"
            )
            return
        if any(d < -1 for d in dims):
            self._net.error(
                f"ITensor::setDimensions: Error Code 3: API Usage Error (invalid dimensions {dims})"
            )
            return
        self._shape = dims
        self._net.changed(self)

    @property
    def dtype(self) -> DataType:
        """The data type of the tensor."""
        return self._dtype

    @dtype.setter
    def dtype(self, value: DataType) -> None:
        dtype = check_setter("ITensor", enum(DataType), value)
        if dtype.name == "???":
            self._net.error(
                f"ITensor::setType: Error Code 3: API Usage Error (invalid DataType {int(dtype)})"
            )
            return
        if self._producer is None:
            self._dtype = dtype
            self._net.changed(self)
        elif self._net.strongly_typed:
            # ITensor::setType: in a strongly typed network only inputs take a type; for any
            # other tensor the inferred type is tolerated, anything else is an error.
            if dtype != self._dtype:
                self._net.error(
                    f"ITensor::setType: Error Code 3: API Usage Error ({self._name}: the type of "
                    f"a tensor that is not a network input is inferred in a strongly typed "
                    f"network ({self._dtype.name}), it cannot be set to {dtype.name}.)"
                )
        else:
            self._producer.out_types[self._out_index] = dtype
            self._net.recompute(self._producer)

    @property
    def location(self) -> TensorLocation:
        """The storage location of the tensor."""
        return self._location

    @location.setter
    def location(self, value: TensorLocation) -> None:
        self._location = check_setter("ITensor", enum(TensorLocation), value)
        self._net.touch()

    @property
    def allowed_formats(self) -> int:
        """Bitmask of allowed TensorFormat values (default: all formats)."""
        return self._formats

    @allowed_formats.setter
    def allowed_formats(self, value: int) -> None:
        self._formats = check_setter("ITensor", INT, value)
        self._net.touch()

    @property
    def broadcast_across_batch(self) -> bool:
        """[DEPRECATED] Always False (implicit batch was removed)."""
        return False

    @broadcast_across_batch.setter
    def broadcast_across_batch(self, value: bool) -> None:
        check_setter("ITensor", BOOL, value)

    @property
    def dynamic_range(self) -> tuple[float, float] | None:
        """[DEPRECATED] (min, max) dynamic range, or None if unset."""
        return self._dyn_range

    @dynamic_range.setter
    def dynamic_range(self, value: Any) -> None:
        try:
            lo, hi = value
            rng = (FLOAT(lo), FLOAT(hi))
        except Exception:
            raise TypeError(
                "(): incompatible function arguments. The following argument types are "
                "supported:\n    1. (self: trt_netser.offline.ITensor, arg0: tuple[float, float]) "
                f"-> None\n\nInvoked with: {value!r}"
            ) from None
        self.set_dynamic_range(*rng)

    @api("ITensor", Sig([Arg("min", FLOAT), Arg("max", FLOAT)], "bool"))
    def set_dynamic_range(self, min: float, max: float) -> bool:
        """[DEPRECATED] Set the dynamic range of the tensor."""
        if min > max:
            self._net.error("ITensor::setDynamicRange: Error Code 3: API Usage Error (min > max)")
            return False
        self._dyn_range = (min, max)
        self._net.touch()
        return True

    def reset_dynamic_range(self) -> None:
        """[DEPRECATED] Undo the effect of setting the dynamic range."""
        self._dyn_range = None
        self._net.touch()

    @api("ITensor", Sig([Arg("index", INT)], "str"))
    def get_dimension_name(self, index: int) -> str | None:
        """Name of a dimension of an input tensor, or None if unnamed."""
        return self._dim_names.get(index)

    @api("ITensor", Sig([Arg("index", INT), Arg("name", OPT_STR)], "None"))
    def set_dimension_name(self, index: int, name: str | None) -> None:
        """Name a dimension of an input tensor (None clears the name)."""
        if not 0 <= index < len(self._shape):
            self._net.error(
                f"ITensor::setDimensionName: Error Code 3: API Usage Error (index {index} out of range)"
            )
            return
        if name is None:
            self._dim_names.pop(index, None)
        else:
            self._dim_names[index] = name
        self._net.touch()

    # -- roles ---------------------------------------------------------------------------
    @property
    def is_network_input(self) -> bool:
        """Whether the tensor is a network input."""
        return self._producer is None and self in self._net.input_set

    @property
    def is_network_output(self) -> bool:
        """Whether the tensor is a network output."""
        return self in self._net.output_set

    @property
    def is_shape_tensor(self) -> bool:
        """Whether the tensor is a shape tensor (its values are used as shapes)."""
        net = self._net
        roles = net._roles  # NetworkImpl.roles(), inlined while they are current
        if roles is None or roles[0] != net.version:
            return self in net.roles()[0]
        return self in roles[1]

    @property
    def is_execution_tensor(self) -> bool:
        """Whether the tensor is an execution tensor (its data is computed at run time)."""
        net = self._net
        roles = net._roles
        if roles is None or roles[0] != net.version:
            return self in net.roles()[1]
        return self in roles[2]
