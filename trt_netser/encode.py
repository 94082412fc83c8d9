"""Canonical encoding of records: deterministic CBOR (RFC 8949 section 4.2) via cbor2.

The stream is a CBOR sequence (RFC 8742): each record is one CBOR map with a "kind" key.
Tagged values use four private, unregistered tags. ``docs/format.md`` specifies the
format precisely enough to write a decoder in another language.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from io import BytesIO
from typing import Any

import blake3
import cbor2

from trt_netser.canonical import Writer, encode_int, encode_text, head
from trt_netser.errors import DumpFormatError
from trt_netser.records import ConstructRef, Encoded, EnumValue, Record, TensorRef, WeightsValue

TAG_ENUM = 29810  # [type name, integer value]
TAG_TENSOR = 29811  # [layer index, output slot] or [input index]
TAG_CONSTRUCT = 29812  # [kind, index]
TAG_WEIGHTS = 29813  # {"dtype": ..., "count": n, "values"?: bytes}


#: Canonical bytes of small tagged values, memoized: enums and references repeat across
#: records, and writing cached bytes is about twice as fast as re-encoding a tag.
_RAW: dict[object, bytes] = {}
_RAW_LIMIT = 1 << 18


def _tagged(value: Any) -> cbor2.CBORTag:
    if isinstance(value, EnumValue):
        return cbor2.CBORTag(TAG_ENUM, [value.type, value.value])
    if isinstance(value, TensorRef):
        if value.input is not None:
            return cbor2.CBORTag(TAG_TENSOR, [value.input])
        return cbor2.CBORTag(TAG_TENSOR, [value.layer, value.slot])
    if isinstance(value, ConstructRef):
        return cbor2.CBORTag(TAG_CONSTRUCT, [value.kind, value.index])
    if isinstance(value, WeightsValue):
        body: dict[str, Any] = {"dtype": value.dtype, "count": value.count}
        if value.values is not None:
            body["values"] = value.values
        return cbor2.CBORTag(TAG_WEIGHTS, body)
    raise TypeError(f"cannot encode {type(value).__name__} in a trt-netser record")


def _default(encoder: cbor2.CBOREncoder, value: Any) -> None:
    """Encode the tagged record values; anything else is a bug in the walker."""
    if isinstance(value, WeightsValue):
        encoder.encode(_tagged(value))  # may hold large values: not memoized
        return
    if isinstance(value, Encoded):
        encoder.write(value.data)
        return
    encoder.write(_memoized_tag(value))


def _cbor2_canonical(value: Any) -> bytes:
    """The reference encoder: cbor2's canonical mode (floats, big integers, weights...)."""
    return cbor2.dumps(value, canonical=True, default=_default)


_TENSOR_HEAD = head(6, TAG_TENSOR)


def _tensor_ref(value: TensorRef) -> bytes:
    if value.input is not None:
        return input_ref_bytes(value.input)
    return output_ref_bytes(value.layer, value.slot)  # type: ignore[arg-type]


def input_ref_bytes(index: int) -> bytes:
    """The bytes of ``TensorRef(input=index)``."""
    return _TENSOR_HEAD + b"\x81" + encode_int(index, _cbor2_canonical)


def output_ref_bytes(layer: int, slot: int) -> bytes:
    """The bytes of ``TensorRef(layer=layer, slot=slot)``."""
    return (
        _TENSOR_HEAD
        + b"\x82"
        + encode_int(layer, _cbor2_canonical)
        + encode_int(slot, _cbor2_canonical)
    )


def _memoized_tag(value: EnumValue | ConstructRef | TensorRef) -> bytes:
    """The canonical bytes of a small tagged value, from the _RAW memo when seen before."""
    data = _RAW.get(value)
    if data is None:
        data = _cbor2_canonical(_tagged(value))
        if len(_RAW) >= _RAW_LIMIT:
            _RAW.clear()
        _RAW[value] = data
    return data


_WEIGHTS_HEAD = head(6, TAG_WEIGHTS)
_COUNT, _DTYPE, _VALUES = encode_text("count"), encode_text("dtype"), encode_text("values")


def _weights(value: WeightsValue) -> bytes:
    """Tag 29813 over the map {"count", "dtype", "values"?} (keys in canonical order)."""
    dtype = value.dtype
    parts = [
        _WEIGHTS_HEAD,
        b"\xa3" if value.values is not None else b"\xa2",
        _COUNT,
        encode_int(value.count, _cbor2_canonical),
        _DTYPE,
        _memoized_tag(dtype) if isinstance(dtype, EnumValue) else encode_value(dtype),
    ]
    if value.values is not None:
        parts += (_VALUES, head(2, len(value.values)), value.values)
    return b"".join(parts)


_WRITER = Writer(
    _cbor2_canonical,
    {
        Encoded: lambda v: v.data,
        EnumValue: _memoized_tag,
        ConstructRef: _memoized_tag,
        TensorRef: _tensor_ref,
        WeightsValue: _weights,
    },
)

#: Canonical bytes of any record value (``Encoded`` values contribute their bytes).
encode_value = _WRITER.encode


class RecordLayout:
    """How records of one kind with one tuple of field names are written: the map head and
    every key in canonical order, computed once. :meth:`join` takes the fields' encoded
    bytes in the order of ``names``; records of one kind share a layout."""

    __slots__ = ("_reorder", "_template", "kind", "names", "order")

    def __init__(self, kind: str, names: tuple[str, ...]) -> None:
        if "kind" in names:
            raise ValueError("'kind' is reserved for the record's kind")
        if len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"record field names must be distinct strings: {names!r}")
        self.kind = kind
        self.names = names
        ordered = sorted([(encode_text(n), n) for n in ("kind", *names)])
        keys: list[bytes] = []
        positions: list[int] = []
        constant = b""  # the "kind" entry, written before the next field's key
        for key, name in ordered:
            if name == "kind":
                constant = key + encode_text(kind)
                continue
            keys.append(constant + key)
            positions.append(names.index(name))
            constant = b""
        #: The position in ``names`` of each field, in canonical order.
        self.order = tuple(positions)
        # [head, key, (field), key, (field), ..., tail]: join fills the field slots
        self._template = [head(5, len(ordered))]
        for key in keys:
            self._template += (key, b"")
        self._template.append(constant)  # "kind" if it sorts last
        self._reorder = _picker(self.order)

    @property
    def template(self) -> tuple[bytes, ...]:
        """The record's bytes as parts: the map head, then each field's key followed by an
        empty slot for the field's bytes (in canonical order), then a last part."""
        return tuple(self._template)

    def join(self, fields: tuple[bytes, ...]) -> bytes:
        """The record's canonical bytes from its fields' bytes (in ``names`` order)."""
        parts = self._template.copy()
        parts[2:-1:2] = self._reorder(fields)
        return b"".join(parts)


def _picker(positions: tuple[int, ...]) -> Callable[[tuple[bytes, ...]], tuple[bytes, ...]]:
    """Pick ``positions`` of a tuple, in that order, as a tuple (also for 0 or 1 of them)."""
    if len(positions) == 1:
        only = positions[0]
        return lambda fields: (fields[only],)
    if not positions:
        return lambda fields: ()
    return operator.itemgetter(*positions)


#: Layouts by (kind, field names in the walker's insertion order). Bounded.
_LAYOUTS: dict[tuple[str, tuple[str, ...]], RecordLayout] = {}


def record_layout(kind: str, names: tuple[str, ...]) -> RecordLayout:
    """The (shared) layout of records of ``kind`` with fields ``names``."""
    found = _LAYOUTS.get((kind, names))
    if found is None:
        found = RecordLayout(kind, names)
        if len(_LAYOUTS) < 4096:
            _LAYOUTS[kind, names] = found
    return found


def encode_record(record: Record) -> bytes:
    """The canonical bytes of one record: a map of its fields plus ``"kind"``."""
    fields = record.fields
    encode = _WRITER.encode
    return record_layout(record.kind, tuple(fields)).join(
        tuple([encode(value) for value in fields.values()])
    )


def encoded(value: Any) -> Encoded:
    """``value`` with its canonical bytes, to be shared between records."""
    return Encoded(value, _WRITER.encode(value))


def _tag_hook(*args: Any) -> Any:
    """Rebuild tagged values. cbor2 5 calls ``hook(decoder, tag)``, cbor2 6 ``hook(tag, immutable)``."""
    tag = next(a for a in args if isinstance(a, cbor2.CBORTag))
    value = tag.value
    if tag.tag == TAG_ENUM:
        return EnumValue(str(value[0]), int(value[1]))
    if tag.tag == TAG_TENSOR:
        if len(value) == 1:
            return TensorRef(input=int(value[0]))
        return TensorRef(layer=int(value[0]), slot=int(value[1]))
    if tag.tag == TAG_CONSTRUCT:
        return ConstructRef(str(value[0]), int(value[1]))
    if tag.tag == TAG_WEIGHTS:
        return WeightsValue(value["dtype"], int(value["count"]), value.get("values"))
    return tag


def _to_plain(value: Any) -> Any:
    """Turn decoder output (tuples inside tags) back into the walker's shapes."""
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


def decode_record(data: bytes) -> Record:
    """Decode one record's bytes (the inverse of :func:`encode_record`)."""
    return next(decode_stream(data))


def decode_stream(data: bytes) -> Iterator[Record]:
    """Decode a whole canonical stream into records, validating its shape."""
    stream = BytesIO(data)
    decoder = cbor2.CBORDecoder(stream, tag_hook=_tag_hook)
    while stream.tell() < len(data):
        try:
            item = decoder.decode()
        except (cbor2.CBORDecodeError, EOFError, ValueError, TypeError, KeyError) as exc:
            raise DumpFormatError(
                f"corrupt trt-netser stream at byte {stream.tell()}: {exc}"
            ) from exc
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            raise DumpFormatError(
                f"corrupt trt-netser stream: item ending at byte {stream.tell()} is not a record"
            )
        fields = _to_plain(item)
        kind = fields.pop("kind")
        yield Record(kind, fields)


def record_digest(data: bytes) -> str:
    """Hex blake3 digest of one record's bytes (shown next to records when explaining)."""
    return blake3.blake3(data).hexdigest()


_FEED_BATCH = 1 << 16


class StreamHasher:
    """Feeds records into blake3 as they are produced: the stream is never built whole."""

    def __init__(self, keep: bool = False) -> None:
        self._hasher = blake3.blake3()
        self._chunks: list[bytes] | None = [] if keep else None
        self.count = 0

    def add(self, record: Record) -> bytes:
        data = encode_record(record)
        self._hasher.update(data)
        if self._chunks is not None:
            self._chunks.append(data)
        self.count += 1
        return data

    def feed(self, chunks: Iterable[bytes]) -> None:
        """Add records already encoded (pieces of one or more records), hashed in batches
        of about 64 KiB (one blake3 call per small record costs more than hashing its
        bytes; the digest is the same). ``count`` counts the records of :meth:`add` only."""
        batch: list[bytes] = []
        size = 0
        for data in chunks:
            batch.append(data)
            size += len(data)
            if size >= _FEED_BATCH:
                self._update(b"".join(batch))
                batch.clear()
                size = 0
        self._update(b"".join(batch))

    def _update(self, data: bytes) -> None:
        self._hasher.update(data)
        if self._chunks is not None:
            self._chunks.append(data)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()

    def getvalue(self) -> bytes:
        if self._chunks is None:
            raise RuntimeError("StreamHasher was created with keep=False")
        return b"".join(self._chunks)
