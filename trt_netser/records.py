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


@dataclass(frozen=True)
class Record:
    """One unit of the canonical stream, with the fields that are encoded."""

    kind: str
    fields: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)
