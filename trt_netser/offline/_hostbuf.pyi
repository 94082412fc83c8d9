"""Types of the compiled :mod:`trt_netser.offline._hostbuf` (see ``_hostbuf.pyx``)."""

from typing_extensions import Self

class HostBuffer:
    """Read-only bytes exposed through the buffer protocol."""

    def __new__(cls, data: bytes = b"") -> Self: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def _bytes(self) -> bytes: ...
