"""IHostMemory: the serialized engine (plan) handed to the user.

Real TensorRT returns library-owned memory exposing the buffer protocol, so client code
writes it with ``f.write(plan)`` or wraps it with ``memoryview``/``bytes``. Offline the
bytes are immutable Python bytes; the buffer protocol comes from the compiled
:mod:`trt_netser.offline._hostbuf` (or, without it, ``__buffer__`` on Python 3.12+).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trt_netser.offline._enums import DataType
from trt_netser.offline._pyarg import MODULE

if TYPE_CHECKING:
    from typing_extensions import Self

try:
    from trt_netser.offline._hostbuf import HostBuffer as _Base  # typed by _hostbuf.pyi
except ImportError:  # pure-Python install: __buffer__ (3.12+) and __bytes__ only
    # mypy rejects any conditional redefinition of an imported class (no-redef), even one
    # with the same interface; this fallback keeps HostBuffer's (see _hostbuf.pyi).
    class _Base:  # type: ignore[no-redef]
        __slots__ = ("_data",)
        _data: bytes

        def __new__(cls, data: bytes = b"") -> Self:
            obj = object.__new__(cls)
            obj._data = data
            return obj

        def __buffer__(self, flags: int) -> memoryview:
            return memoryview(self._data)

        def __bytes__(self) -> bytes:
            return self._data

        def _bytes(self) -> bytes:
            return self._data


class IHostMemory(_Base):
    """Handles library allocated memory that is accessible to the user (a read-only buffer)."""

    __slots__ = ("__weakref__",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IHostMemory: No constructor defined!")

    @classmethod
    def _make(cls, data: bytes) -> IHostMemory:
        return _Base.__new__(cls, bytes(data))

    @property
    def dtype(self) -> DataType:
        """The data type of this buffer (UINT8: a plan is bytes)."""
        return DataType.UINT8

    @property
    def nbytes(self) -> int:
        """Total bytes consumed by the elements of the buffer."""
        return len(self._bytes())

    def __enter__(self) -> IHostMemory:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


def plan_bytes(obj: Any) -> bytes | None:
    """The bytes of a plan given as IHostMemory, bytes or any buffer; None if not a buffer."""
    if isinstance(obj, IHostMemory):
        return obj._bytes()
    if isinstance(obj, bytes):
        return obj
    try:
        return bytes(memoryview(obj).cast("B"))
    except (TypeError, ValueError):
        return None
