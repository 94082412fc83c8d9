"""The records the walker produces, and the tagged values inside them.

A record is a kind ("header", "network", "input", "construct", "layer", "output",
"weights", "end") with a mapping of fields. Field values are plain data (None, bool,
int, float, str, bytes, lists, string-keyed maps) or one of the tagged values below,
which keep a type distinction that plain data would lose (an enum is not a pair of a
string and an int; a tensor reference is not a list).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Version of the record schema and stream format. Bump on every intended change.
SCHEMA_VERSION = 1

#: Identifies the stream in its header.
STREAM_FORMAT = "trt-netser.network"


@dataclass(frozen=True)
class EnumValue:
    """A TensorRT enum member: its type name and integer value. The member name is kept
    for display only; it is not encoded (aliases such as STRIP_PLAN/WEIGHTLESS share a
    value, and ``.name`` returns whichever was registered first)."""

    type: str
    value: int
    name: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.type}.{self.name or self.value}"


@dataclass(frozen=True)
class TensorRef:
    """A tensor by position: output ``slot`` of the layer at canonical index ``layer``,
    or network input ``input``."""

    layer: int | None = None
    slot: int | None = None
    input: int | None = None

    def __str__(self) -> str:
        if self.input is not None:
            return f"input[{self.input}]"
        return f"layer[{self.layer}].out[{self.slot}]"


@dataclass(frozen=True)
class ConstructRef:
    """A loop, if-conditional or attention construct by kind and canonical index."""

    kind: str
    index: int

    def __str__(self) -> str:
        return f"{self.kind}[{self.index}]"


@dataclass(frozen=True)
class WeightsValue:
    """Weights as hashed: dtype and element count, plus the raw little-endian values only
    where the weights policy says they define the engine (``values`` is None otherwise)."""

    dtype: EnumValue | str
    count: int
    values: bytes | None = None

    def __str__(self) -> str:
        shown = "" if self.values is None else f", values={len(self.values)}B"
        return f"Weights({self.dtype}, count={self.count}{shown})"


class Encoded:
    """A record value together with its canonical bytes, computed once.

    The walker shares one instance between all the records that hold an equal value
    (tensor descriptions and attribute maps repeat across an LLM's blocks), so the value
    is encoded once per network instead of once per layer. It stands for ``value``:
    :meth:`Record.plain` replaces it by ``value`` for readers.
    """

    __slots__ = ("data", "value")

    def __init__(self, value: Any, data: bytes) -> None:
        self.value = value
        self.data = data

    def __repr__(self) -> str:
        return f"Encoded({self.value!r})"


def plain(value: Any) -> Any:
    """``value`` with every :class:`Encoded` replaced by the value it stands for."""
    if isinstance(value, Encoded):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Record:
    """One unit of the canonical stream, with the fields that are encoded."""

    kind: str
    fields: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return plain(self.fields.get(key, default))

    def plain(self) -> Record:
        """The record with plain values only (no :class:`Encoded`), for readers."""
        return Record(self.kind, plain(self.fields))
