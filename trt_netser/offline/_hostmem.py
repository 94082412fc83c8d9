"""IHostMemory: the serialized engine (plan) handed to the user.

Real TensorRT returns library-owned memory exposing the buffer protocol, so client code
writes it with ``f.write(plan)`` or wraps it with ``memoryview``/``bytes``. Offline the
bytes are immutable Python bytes; the buffer protocol comes from the compiled
:mod:`trt_netser.offline._hostbuf` (or, without it, ``__buffer__`` on Python 3.12+).
"""

from __future__ import annotations

from typing import Any

from trt_netser.offline._enums import DataType
from trt_netser.offline._pyarg import MODULE

try:
    from trt_netser.offline._hostbuf import HostBuffer as _Base  # type: ignore[import-not-found]
except ImportError:  # pure-Python install: __buffer__ (3.12+) and __bytes__ only

    class _Base:  # type: ignore[no-redef]
        __slots__ = ("_data",)

        def __new__(cls, data: bytes = b"") -> Any:
            obj = object.__new__(cls)
            obj._data = data
            return obj

        def __buffer__(self, flags: int) -> memoryview:
            return memoryview(self._data)

        def __bytes__(self) -> bytes:
            return self._data

        def _bytes(self) -> bytes:
            return self._data


class IHostMemory(_Base):  # type: ignore[misc,valid-type]
    """Handles library allocated memory that is accessible to the user (a read-only buffer)."""

    __slots__ = ("__weakref__",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.IHostMemory: No constructor defined!")

    @classmethod
    def _make(cls, data: bytes) -> IHostMemory:
        return _Base.__new__(cls, bytes(data))  # type: ignore[no-any-return]

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
        return obj._bytes()  # type: ignore[no-any-return]
    if isinstance(obj, bytes):
        return obj
    try:
        return bytes(memoryview(obj).cast("B"))
    except (TypeError, ValueError):
        return None
