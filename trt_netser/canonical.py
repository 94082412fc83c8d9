"""A canonical CBOR writer for the value types that records hold.

Produces exactly the bytes of ``cbor2.dumps(value, canonical=True)`` (RFC 8949 section
4.2.1; tests compare the two on random values) for None, bools, ints, text, bytes, lists,
tuples and text-keyed maps, and delegates everything else (floats, big integers, tagged
values) to a fallback encoder. It exists for speed: cbor2's C encoder costs about 0.1 µs
per item and sorts every canonical map by re-encoding its keys, whereas a record of an
LLM's layer is mostly values seen many times before, whose bytes are looked up here
(map keys, small integers, short strings) instead of being encoded again.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

Fallback = Callable[[Any], bytes]

_NULL = b"\xf6"
_TRUE = b"\xf5"
_FALSE = b"\xf4"

#: Memoized encodings of text strings (map keys, names, enum type names). Bounded.
_TEXT: dict[str, bytes] = {}
_TEXT_LIMIT = 1 << 16

#: Encodings of the integers -256 .. 65535 (lengths, indices, small attribute values).
_INT_LOW = -256
_INT_HIGH = 1 << 16


def head(major: int, n: int) -> bytes:
    """The initial bytes of a data item: major type and argument ``n`` in shortest form."""
    top = major << 5
    if n < 24:
        return bytes((top | n,))
    if n < 0x100:
        return bytes((top | 24, n))
    if n < 0x10000:
        return struct.pack(">BH", top | 25, n)
    if n < 0x100000000:
        return struct.pack(">BI", top | 26, n)
    return struct.pack(">BQ", top | 27, n)


_SMALL_INTS: list[bytes] = [
    head(0, v) if v >= 0 else head(1, -1 - v) for v in range(_INT_LOW, _INT_HIGH)
]


def encode_int(value: int, fallback: Fallback) -> bytes:
    """A Python int (not bool): major type 0 or 1, or the fallback for bignums."""
    if _INT_LOW <= value < _INT_HIGH:
        return _SMALL_INTS[value - _INT_LOW]
    if 0 <= value < 1 << 64:
        return head(0, value)
    if -(1 << 64) <= value < 0:
        return head(1, -1 - value)
    return fallback(value)


def encode_text(value: str) -> bytes:
    """A text string, UTF-8 encoded, memoized."""
    found = _TEXT.get(value)
    if found is None:
        data = value.encode("utf-8")
        found = head(3, len(data)) + data
        if len(_TEXT) >= _TEXT_LIMIT:
            _TEXT.clear()
        _TEXT[value] = found
    return found


def join_array(items: list[bytes]) -> bytes:
    """An array from its items' encoded bytes."""
    return head(4, len(items)) + b"".join(items)


def encode_map(items: list[tuple[bytes, bytes]]) -> bytes:
    """A map from already encoded (key, value) pairs, sorted as canonical CBOR requires
    (bytewise order of the encoded keys; keys must be distinct)."""
    items.sort()
    return head(5, len(items)) + b"".join([k + v for k, v in items])


class Writer:
    """Encodes record values canonically; ``extra`` maps further exact types to encoders
    (the tagged values of :mod:`trt_netser.encode`), ``fallback`` encodes anything else."""

    def __init__(
        self, fallback: Fallback, extra: dict[type, Callable[[Any], bytes]] | None = None
    ) -> None:
        self.fallback = fallback
        self._by_type: dict[type, Callable[[Any], bytes]] = {
            type(None): lambda v: _NULL,
            bool: lambda v: _TRUE if v else _FALSE,
            int: lambda v: encode_int(v, fallback),
            str: encode_text,
            bytes: lambda v: head(2, len(v)) + v,
            list: self.encode_array,
            tuple: self.encode_array,
            dict: self.encode_dict,
            **(extra or {}),
        }

    def encode(self, value: Any) -> bytes:
        """The canonical bytes of ``value``."""
        encoder = self._by_type.get(type(value))
        if encoder is None:
            return self.fallback(value)
        return encoder(value)

    def encode_array(self, value: list[Any] | tuple[Any, ...]) -> bytes:
        encode = self.encode
        return join_array([encode(x) for x in value])

    def encode_dict(self, value: dict[Any, Any]) -> bytes:
        encode = self.encode
        try:
            items = [(encode_text(k), encode(v)) for k, v in value.items()]
        except AttributeError:  # a key that is not a str: let the fallback order it
            return self.fallback(value)
        return encode_map(items)
