"""Value types of the TensorRT Python API: Dims family, Permutation, Weights, nptype, volume.

They behave as the official bindings do (checked against the real module with stub
libraries): ``Dims`` compares equal to lists/tuples but ``Dims == Dims`` raises
``TypeError`` (pybind11 only has list/tuple overloads), ``Permutation`` always has
``Dims.MAX_DIMS`` entries, ``Weights`` keeps a reference to a numpy buffer. Dims entries
are C++ ``int64``, Permutation entries and all indices ``int32``: a Python int outside that
range does not convert (``TypeError``, as pybind11 reports an overflowing argument).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from trt_netser.offline._enums import DataType
from trt_netser.offline._pyarg import MODULE, Mismatch, _int, incompatible

MAX_DIMS = 8
_SIZE_T = 1 << 64  # size_t arithmetic of the bindings' Weights.nbytes

# DataType -> bytes per element (4-bit types are 0.5, E8M0 has no numpy equivalent).
_ITEMSIZE: dict[int, float | None] = {
    0: 4,
    1: 2,
    2: 1,
    3: 4,
    4: 1,
    5: 1,
    6: 1,
    7: 2,
    8: 8,
    9: 0.5,
    10: 0.5,
    11: None,
}
# DataType value -> numpy dtype, for the types numpy can represent.
_NP_OF: dict[int, type[np.generic]] = {
    int(DataType.FLOAT): np.float32,
    int(DataType.HALF): np.float16,
    int(DataType.INT8): np.int8,
    int(DataType.INT32): np.int32,
    int(DataType.INT64): np.int64,
    int(DataType.BOOL): np.bool_,
    int(DataType.UINT8): np.uint8,
}
_TRT_OF: dict[np.dtype[Any], DataType] = {np.dtype(v): DataType(k) for k, v in _NP_OF.items()}


def _itemsize(dtype: DataType) -> float | None:
    """Bytes per element of a DataType (as ``DataType.itemsize`` in the real bindings)."""
    return _ITEMSIZE.get(int(dtype))


DataType.itemsize = property(_itemsize)  # type: ignore[attr-defined]  # _enums.py is generated


def nptype(trt_type: DataType) -> type[np.generic]:
    """Returns the numpy-equivalent of a TensorRT :class:`DataType`."""
    try:
        if type(trt_type) is not DataType:
            raise TypeError
        return _NP_OF[int(trt_type)]
    except (KeyError, TypeError):
        raise TypeError(
            "Could not resolve TensorRT datatype to an equivalent numpy datatype."
        ) from None


def volume(iterable: Iterable[int]) -> int:
    """Computes the volume of an iterable (1 for an empty one, as for a scalar)."""
    vol = 1
    for dim in iterable:
        vol *= dim
    return vol


def _int_bits(value: Any, bits: int) -> int:
    """``_int`` restricted to a signed C++ integer of ``bits`` bits (Mismatch on overflow)."""
    v = _int(value)
    if not -(1 << (bits - 1)) <= v < 1 << (bits - 1):
        raise Mismatch
    return v


def _int64(value: Any) -> int:
    """A Python int that fits a C++ ``int64_t`` (Dims entries)."""
    return _int_bits(value, 64)


def _int32(value: Any) -> int:
    """A Python int that fits a C++ ``int32_t`` (indices, Permutation entries)."""
    return _int_bits(value, 32)


#: The entries of every invalid Dims (nbDims == -1); never mutated.
_NO_DIMS: list[int] = []


def to_dims_tuple(value: Any) -> tuple[int, ...]:
    """Convert a Dims or a Python sequence of ints into a tuple (raises Mismatch/ValueError)."""
    if isinstance(value, Dims):
        if value._d is _NO_DIMS:  # converting reads its length, as the bindings' do
            raise ValueError("__len__() should return >= 0")
        return tuple(value._d)
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        raise Mismatch
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise Mismatch
    out = tuple(_int64(v) for v in value)
    if len(out) > MAX_DIMS:
        raise ValueError(f"Input length {len(out)}. Max expected length is {MAX_DIMS}")
    return out


class Dims:
    """Structure to define the dimensions of a tensor; behaves like a Python tuple.

    TensorRT also returns an invalid Dims (nbDims == -1), e.g. as the shape of a tensor
    whose dimensions cannot be computed. The bindings' ``__len__`` returns nbDims, so
    ``len()``, ``bool()``, ``tuple()`` and ``list()`` of it raise ``ValueError: __len__()
    should return >= 0``, indexing raises ``IndexError``, iterating yields nothing and it
    equals no list or tuple. Its ``repr`` reads memory outside the struct in the real
    binding (``(81)`` for example); here it is ``(0)``.
    """

    __slots__ = ("_d",)
    MAX_DIMS = MAX_DIMS
    _FIXED: int | None = None

    def __init__(self, *args: Any) -> None:
        fixed = type(self)._FIXED
        try:
            if not args:
                dims: tuple[int, ...] = (0,) * fixed if fixed else ()
            elif len(args) == 1:
                dims = to_dims_tuple(args[0])
            elif fixed is not None and len(args) == fixed:
                dims = tuple(_int64(a) for a in args)
            else:
                raise Mismatch
        except Mismatch:
            raise self._ctor_error(args) from None
        if fixed is not None and len(dims) != fixed:
            raise ValueError(
                f"Input length {len(dims)} not equal to expected {type(self).__name__} length, which is {fixed}"
            )
        self._d = list(dims)

    @classmethod
    def _ctor_error(cls, args: tuple[Any, ...]) -> TypeError:
        name = f"{MODULE}.{cls.__name__}"
        lines = [f"{name}()"]
        if cls._FIXED:
            names = ("h", "w") if cls is DimsHW else tuple(f"dim{i}" for i in range(cls._FIXED))
            lines.append(f"{name}(" + ", ".join(f"{n}: typing.SupportsInt" for n in names) + ")")
        lines.append(f"{name}(shape: collections.abc.Sequence[typing.SupportsInt])")
        err = incompatible("__init__", lines, args, {})
        return TypeError(
            str(err).replace(
                "incompatible function arguments", "incompatible constructor arguments"
            )
        )

    @classmethod
    def _from(cls, dims: Iterable[int]) -> Dims:
        obj = object.__new__(cls)
        obj._d = list(dims)
        return obj

    @classmethod
    def _invalid(cls) -> Dims:
        """An invalid Dims (nbDims == -1), as TensorRT returns for unknown dimensions."""
        obj = object.__new__(cls)
        obj._d = _NO_DIMS
        return obj

    def __len__(self) -> int:
        return -1 if self._d is _NO_DIMS else len(self._d)  # -1: Python's len() raises

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return tuple(self._d[index])
        try:
            i = _int32(index)
        except Mismatch:
            raise incompatible(
                "__getitem__",
                [
                    f"(self: {MODULE}.Dims, arg0: typing.SupportsInt) -> int",
                    f"(self: {MODULE}.Dims, arg0: slice) -> tuple",
                ],
                (self, index),
                {},
            ) from None
        try:
            return self._d[i]
        except IndexError:
            raise IndexError("Out of bounds") from None

    def __setitem__(self, index: int | slice, value: Any) -> None:
        """``d[i] = v`` or ``d[a:b] = dims`` (any value convertible to Dims).

        A slice is assigned as the official binding does: the slice must end before the
        last entry (``stop < len(d)``, else ``IndexError``), the k-th position of the slice
        takes entry k of the value, extra entries of the value are ignored, and positions
        past a shorter value's end become 0 (the real binding reads the value's unused
        ``d[]`` slots there, which are 0 for a Dims built from a Python sequence). A slice
        with a negative step changes nothing (it does when start >= stop in the real
        binding; start < stop walks out of bounds there, so it is not mirrored).
        """
        if isinstance(index, slice):
            try:
                other = to_dims_tuple(value)
            except (Mismatch, ValueError):
                raise self._setitem_error(index, value) from None
            self._set_slice(index, other)
            return
        try:
            i, v = _int32(index), _int64(value)
        except Mismatch:
            raise self._setitem_error(index, value) from None
        try:
            self._d[i] = v
        except IndexError:
            raise IndexError("Out of bounds") from None

    def _setitem_error(self, index: Any, value: Any) -> TypeError:
        return incompatible(
            "__setitem__",
            [
                f"(self: {MODULE}.Dims, arg0: typing.SupportsInt, arg1: typing.SupportsInt) -> None",
                f"(self: {MODULE}.Dims, arg0: slice, arg1: {MODULE}.Dims) -> None",
            ],
            (self, index, value),
            {},
        )

    def _set_slice(self, index: slice, other: tuple[int, ...]) -> None:
        try:
            start, stop, step = index.indices(len(self._d))
        except (TypeError, ValueError):
            raise ValueError("Incorrect setter slice dims") from None
        if stop >= len(self._d):
            raise IndexError("Out of bounds")
        if step < 0:
            return
        for k, i in enumerate(range(start, stop, step)):
            self._d[i] = other[k] if k < len(other) else 0

    def __iter__(self) -> Iterator[int]:
        # the entries themselves: an entry set while iterating shows, as it does when the
        # bindings' Dims is iterated by index (and no copy per iteration)
        return iter(self._d)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list | tuple):
            return self._d is not _NO_DIMS and list(self._d) == list(other)
        raise incompatible(
            "__eq__",
            [
                f"(self: {MODULE}.Dims, arg0: list) -> bool",
                f"(self: {MODULE}.Dims, arg0: tuple) -> bool",
            ],
            (self, other),
            {},
        )

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # unhashable like the bindings' Dims

    def __repr__(self) -> str:
        return "(0)" if self._d is _NO_DIMS else repr(tuple(self._d))

    __str__ = __repr__


class Dims2(Dims):
    """Structure to define 2D shape."""

    __slots__ = ()
    _FIXED = 2


class DimsHW(Dims2):
    """Structure to define 2D shape with height and width."""

    __slots__ = ()

    @property
    def h(self) -> int:
        """The first dimension (height)."""
        return self._d[0]

    @h.setter
    def h(self, value: int) -> None:
        self._d[0] = self._coord(value)

    @property
    def w(self) -> int:
        """The second dimension (width)."""
        return self._d[1]

    @w.setter
    def w(self, value: int) -> None:
        self._d[1] = self._coord(value)

    def _coord(self, value: Any) -> int:
        """A value assigned to ``h``/``w`` (pybind11's setter error otherwise)."""
        try:
            return _int64(value)
        except Mismatch:
            raise incompatible(
                "",
                [f"(arg0: {MODULE}.DimsHW, arg1: typing.SupportsInt) -> None"],
                (self, value),
                {},
            ) from None


class Dims3(Dims):
    """Structure to define 3D shape."""

    __slots__ = ()
    _FIXED = 3


class Dims4(Dims):
    """Structure to define 4D shape."""

    __slots__ = ()
    _FIXED = 4


class Permutation:
    """The elements of a permutation (always ``Dims.MAX_DIMS`` long, zero padded)."""

    __slots__ = ("_p",)

    def __init__(self, *args: Any) -> None:
        if not args:
            perm: tuple[int, ...] = ()
        else:
            try:
                if len(args) != 1:
                    raise Mismatch
                perm = (
                    tuple(_int32(v) for v in args[0])
                    if not isinstance(args[0], str | bytes)
                    else ()
                )
                if isinstance(args[0], str | bytes):
                    raise Mismatch
            except (Mismatch, TypeError):
                raise TypeError(
                    "__init__(): incompatible constructor arguments. The following argument types are "
                    f"supported:\n    1. {MODULE}.Permutation()\n    2. {MODULE}.Permutation(arg0: "
                    f"collections.abc.Sequence[typing.SupportsInt])\n\nInvoked with: "
                    + ", ".join(repr(a) for a in args)
                ) from None
        if len(perm) > MAX_DIMS:
            raise ValueError(f"Invalid input length. Max expected length is {MAX_DIMS}")
        self._p = list(perm) + [0] * (MAX_DIMS - len(perm))

    @classmethod
    def _from(cls, perm: Iterable[int]) -> Permutation:
        obj = cls.__new__(cls)
        vals = list(perm)
        obj._p = vals + [0] * (MAX_DIMS - len(vals))
        return obj

    def __len__(self) -> int:
        return MAX_DIMS

    def __getitem__(self, index: int) -> int:
        try:
            i = _int32(index)
        except Mismatch:
            raise incompatible(
                "__getitem__",
                [f"(self: {MODULE}.Permutation, arg0: typing.SupportsInt) -> int"],
                (self, index),
                {},
            ) from None
        try:
            return self._p[i]
        except IndexError:
            raise IndexError("Out of bounds") from None

    def __setitem__(self, index: int, value: int) -> None:
        try:
            i, v = _int32(index), _int32(value)
        except Mismatch:
            raise incompatible(
                "__setitem__",
                [
                    f"(self: {MODULE}.Permutation, arg0: typing.SupportsInt, "
                    "arg1: typing.SupportsInt) -> None"
                ],
                (self, index, value),
                {},
            ) from None
        try:
            self._p[i] = v
        except IndexError:
            raise IndexError("Out of bounds") from None

    def __iter__(self) -> Iterator[int]:
        return iter(self._p)  # as Dims.__iter__: the entries, no copy

    def __repr__(self) -> str:
        return repr(tuple(self._p))

    __str__ = __repr__


def to_perm_list(value: Any) -> list[int]:
    """Convert a Permutation or a sequence of ints (padded to MAX_DIMS)."""
    if isinstance(value, Permutation):
        return list(value._p)
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise Mismatch
    vals = [_int32(v) for v in value]
    if len(vals) > MAX_DIMS:
        raise ValueError("Invalid input length")
    return vals + [0] * (MAX_DIMS - len(vals))


class Weights:
    """An array of weights used as a layer parameter (held by reference, not copied)."""

    __slots__ = ("__weakref__", "_array", "_count", "_dtype", "_ptr")
    _count: int
    _dtype: DataType

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._array: np.ndarray | None = None
        self._ptr: int | None = 0
        if kwargs:
            if set(kwargs) == {"type"} and not args:
                args = (kwargs["type"],)
            elif set(kwargs) == {"a"} and not args:
                args = (kwargs["a"],)
            else:
                raise self._ctor_error(args, kwargs)
        if not args:
            self._dtype, self._count = DataType.FLOAT, 0
        elif len(args) == 1 and type(args[0]) is DataType:
            self._dtype, self._count = args[0], 0
        elif len(args) == 1 and isinstance(args[0], np.ndarray):
            arr = args[0]
            if arr.dtype not in _TRT_OF:
                raise ValueError(
                    f"[TRT] [E] Could not implicitly convert NumPy data type: {arr.dtype.kind}"
                    f"{arr.dtype.itemsize * 8} to TensorRT."
                )
            if not arr.flags["C_CONTIGUOUS"]:
                raise ValueError(
                    "Could not convert non-contiguous NumPy array to Weights. "
                    "Please use numpy.ascontiguousarray() to fix this."
                )
            self._dtype, self._count = _TRT_OF[arr.dtype], int(arr.size)
            self._array = arr.reshape(-1)
            # The pointer is read when first needed (weights_key): reading it costs more
            # than the rest of the conversion, and a refit converts one array per weight.
            self._ptr = None if arr.size else 0
        elif len(args) == 3 and type(args[0]) is DataType:
            try:
                ptr, count = _int(args[1]), _int(args[2])
            except Mismatch:
                raise self._ctor_error(args, kwargs) from None
            self._dtype, self._count, self._ptr = args[0], count, ptr
            nbytes = self._nbytes()
            if ptr and nbytes:
                buf = (ctypes.c_char * nbytes).from_address(ptr)
                raw = np.frombuffer(memoryview(buf), dtype=np.uint8)
                np_t = _NP_OF.get(int(self._dtype))
                self._array = raw.view(np_t) if np_t is not None else raw
        else:
            raise self._ctor_error(args, kwargs)

    @staticmethod
    def _ctor_error(args: tuple[Any, ...], kwargs: dict[str, Any]) -> TypeError:
        err = incompatible(
            "__init__",
            [
                f"{MODULE}.Weights(type: {MODULE}.DataType = <DataType.FLOAT: 0>)",
                f"{MODULE}.Weights(type: {MODULE}.DataType, ptr: typing.SupportsInt, count: typing.SupportsInt)",
                f"{MODULE}.Weights(a: numpy.ndarray)",
            ],
            args,
            kwargs,
        )
        return TypeError(
            str(err).replace(
                "incompatible function arguments", "incompatible constructor arguments"
            )
        )

    def _nbytes(self) -> int:
        size = _ITEMSIZE.get(int(self._dtype))
        if size is None:
            size = 1
        return int(np.ceil(self._count * size))

    @property
    def dtype(self) -> DataType:
        """The type of the weights."""
        return self._dtype

    @property
    def size(self) -> int:
        """The number of weights in the array."""
        return self._count

    @property
    def nbytes(self) -> int:
        """Total bytes consumed by the elements of the weights buffer. For the 4-bit types
        (INT4, FP4) the 10.16 bindings multiply the count by an element size of -1 in a
        size_t, so they report ``2**64 - count``: shown as they show it (the model's own
        buffer handling uses the true byte count)."""
        if _ITEMSIZE.get(int(self._dtype)) == 0.5:
            return -self._count % _SIZE_T
        return self._nbytes()

    def __len__(self) -> int:
        return self._count

    def numpy(self) -> Any:
        """A numpy view of the weights, or the Weights themselves for non-numpy types."""
        np_type = _NP_OF.get(self._dtype._value)  # the enum's value: one read per weights
        if np_type is None:
            return self
        if self._array is None:
            return np.empty(0, dtype=np_type)
        return self._array


def to_weights(value: Any) -> Weights:
    """Implicit conversion of a parameter to Weights (numpy arrays convert, None is empty)."""
    if value is None:
        return Weights()
    if isinstance(value, Weights):
        return value
    if isinstance(value, np.ndarray):
        return Weights(value)
    raise Mismatch


def weights_key(w: Weights) -> tuple[int, int, int]:
    """Identity of a weights buffer as TensorRT sees it: (pointer, type, count)."""
    ptr = w._ptr
    if ptr is None:  # an ndarray's view: its data pointer cannot change while it is held
        ptr = w._ptr = int(w._array.__array_interface__["data"][0]) if w._array is not None else 0
    return (ptr, int(w._dtype), w._count)
