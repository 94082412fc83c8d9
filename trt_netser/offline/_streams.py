"""IStreamWriter, IStreamReader and IStreamReaderV2: application-implemented streams.

Users subclass them (calling the base ``__init__``) and implement ``write(data) -> int``,
``read(size) -> bytes`` or ``read(num_bytes, stream) -> bytes`` plus ``seek(offset, where)``,
as the TensorRT docstrings show. The builder writes a plan through a writer; the runtime
reads the 20-byte plan header, then the rest, through a reader.
"""

from __future__ import annotations

from typing import Any

from trt_netser.offline._enums import SeekPosition
from trt_netser.offline._pyarg import MODULE


def _pure(name: str) -> RuntimeError:
    return RuntimeError(f'Tried to call pure virtual function "{name}"')


class IStreamWriter:
    """Application-implemented class for writing data to a stream."""

    def __init__(self) -> None:
        pass

    def write(self, data: Any, size: int | None = None) -> int:
        """Write ``data``; returns the number of bytes written (implemented by subclasses)."""
        raise _pure("IStreamWriter::write")


class IStreamReader:
    """Application-implemented class for reading data from a stream."""

    def __init__(self) -> None:
        pass

    def read(self, *args: Any) -> Any:
        """Return up to ``size`` bytes (implemented by subclasses)."""
        raise _pure("IStreamReader::read")


class IStreamReaderV2:
    """Application-implemented class for reading data from a stream, with seeking."""

    def __init__(self) -> None:
        pass

    def read(self, *args: Any) -> Any:
        """Return up to ``num_bytes`` bytes (implemented by subclasses)."""
        raise _pure("IStreamReaderV2::read")

    def seek(self, offset: int, where: SeekPosition) -> bool:
        """Move to ``offset`` relative to ``where`` (implemented by subclasses)."""
        raise _pure("IStreamReaderV2::seek")


def read_exactly(reader: Any, size: int) -> bytes | None:
    """``size`` bytes from a user stream reader (fewer at end of stream; None if it raised)."""
    v2 = isinstance(reader, IStreamReaderV2)
    chunks: list[bytes] = []
    got = 0
    try:
        while got < size:
            chunk = reader.read(size - got, 0) if v2 else reader.read(size - got)
            if not chunk:
                break
            data = bytes(chunk)
            chunks.append(data)
            got += len(data)
    except Exception:
        return None
    return b"".join(chunks)


for _cls in (IStreamWriter, IStreamReader, IStreamReaderV2):
    _cls.__module__ = MODULE
