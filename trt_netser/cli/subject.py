"""What every command works on: a hashed network and its key, from a SPEC or a dump."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from trt_netser.api import DescribedRecord
from trt_netser.key import KeyComponent
from trt_netser.records import ConstructRef, EnumValue, TensorRef, WeightsValue

#: A named key component (the library's own type: dumps and SPECs carry the same shape).
Component = KeyComponent

#: One record of the canonical stream, its exact bytes and their blake3 digest (the
#: library's own type: describe_network makes them, dumps are read back into them).
Item = DescribedRecord


@dataclass
class Subject:
    """A network as the CLI sees it: records, network digest, key and where it came from.

    ``key_path`` is None when no full cache key could be made (no builder config, or an
    older trt-netser without ``trt_netser.key``); ``components`` then holds only the
    network digest.
    """

    label: str
    origin: str  # "spec" or "dump"
    backend: str
    trt_version: str
    digest: str
    items: list[Item]
    components: list[Component]
    key_path: str | None = None
    key_dict: dict[str, Any] | None = None
    partial: bool = False
    issues: list[str] = field(default_factory=list)
    #: Makes ``items`` when they were not made up front (``hash`` and an equal ``diff``
    #: need only digests); :meth:`load_records` calls it once.
    loader: Callable[[], list[Item]] | None = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.load_records())

    def load_records(self) -> list[Item]:
        """The records, described now if they were deferred."""
        if self.loader is not None:
            loader, self.loader = self.loader, None
            self.items = loader()
        return self.items

    @property
    def records_loaded(self) -> bool:
        return self.loader is None

    @property
    def offline_key(self) -> bool:
        """Whether the key was computed without real TensorRT (its device is then only
        known if the GPU was given: ``--compute-capability`` and friends)."""
        return self.backend == "offline" and self.key_path is not None

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    @property
    def identity(self) -> str:
        """What two subjects are compared by: the key path, else the network digest."""
        return self.key_path or self.digest


def network_component(digest: str, partial: bool = False) -> Component:
    """The component that stands for the network when there is no full key."""
    note = " (partial: some state was unreadable)" if partial else ""
    return Component(
        "network",
        str(digest),
        str(digest),
        "blake3 of the canonical, weight-blind network stream" + note,
    )


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-safe rendering of a key component value (records' tagged values included)."""
    if depth > 40:
        return repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, EnumValue):
        return str(value)
    if isinstance(value, (TensorRef, ConstructRef, WeightsValue)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in sorted(value.items(), key=str)}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v, depth + 1) for v in items]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return jsonable(to_dict(), depth + 1)
        except Exception:
            pass
    name = getattr(value, "name", None)
    if isinstance(name, str) and hasattr(type(value), "__members__"):
        return f"{type(value).__name__}.{name}"
    return str(value)
