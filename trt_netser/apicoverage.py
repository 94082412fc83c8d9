"""Which state of a TensorRT API is hashed: encoded, conditional, excluded or captured.

``coverage(api)`` classifies every property and every state-changing method of every
layer class, of the construct classes, of ``ITensor`` and of ``INetworkDefinition``, for a
live TensorRT module or for a committed API dump (``coverage("10.16.1.11")``). Anything
it cannot classify is listed in ``unclassified``: a test asserts that list is empty for
every committed dump, so a TensorRT release that adds write-only state is noticed.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from trt_netser.capturing import CAPTURED_CALLS
from trt_netser.policy import (
    CAPTURED_LAYER_STATE,
    CLASS_PROPERTY_EXCLUSIONS,
    CONDITIONAL_PROPERTIES,
    CONSTRUCT_CLASSES,
    CONSTRUCT_PROPERTY_EXCLUSIONS,
    LAYER_GETTER_METHODS,
    LAYER_PROPERTY_EXCLUSIONS,
    LAYER_TYPES_WITHOUT_CLASS,
    MUTATOR_METHODS,
    NETWORK_PROPERTY_EXCLUSIONS,
    READER_PREFIXES,
    SHADOWED_LAYER_PROPERTIES,
    TENSOR_PROPERTY_EXCLUSIONS,
)
from trt_netser.walk import layer_class_name

Status = Literal["encoded", "conditional", "structural", "excluded", "captured", "unclassified"]

#: Methods every pybind11 / TensorRT object has that neither read nor change hashed state.
_NEUTRAL_METHODS = frozenset(
    {
        "__init__",
        "get_input",
        "get_output",
        "get_layer",
        "get_flag",
        # plugin/engine plumbing on the construct classes is not layer state
    }
)


@dataclass(frozen=True)
class Entry:
    """How one property or method of one class is treated by the walker."""

    owner: str
    member: str
    kind: Literal["property", "method", "layer_type"]
    status: Status
    reason: str = ""


@dataclass(frozen=True)
class CoverageReport:
    """The classification of one TensorRT API (by version)."""

    version: str
    layer_classes: Mapping[str, str | None]  # LayerType member -> class name
    entries: tuple[Entry, ...]

    @property
    def unclassified(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.status == "unclassified")

    def for_class(self, owner: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.owner == owner)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.status] = counts.get(entry.status, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "layer_classes": dict(self.layer_classes),
            "counts": self.counts(),
            "entries": [e.__dict__ for e in self.entries],
        }


@dataclass(frozen=True)
class _Api:
    """The names of an API, from a dump or a live module."""

    version: str
    layer_types: tuple[str, ...]
    classes: Mapping[str, tuple[tuple[str, ...], dict[str, str], tuple[str, ...]]]
    # class -> (bases, properties name->"r"/"rw", methods)
    shadowed: Mapping[str, frozenset[str]]  # layer class -> ILayer properties it redefines


def available_dumps() -> list[str]:
    """Versions of the committed API dumps shipped with trt-netser."""
    folder = resources.files("trt_netser") / "data" / "trt_api"
    return sorted(
        (p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json")),
        key=lambda v: tuple(int(x) for x in v.split(".") if x.isdigit()),
    )


def load_dump(version_or_path: str | Path) -> dict[str, Any]:
    """A committed dump by TensorRT version ("10.16.1.11"), or any dump file by path."""
    path = Path(version_or_path)
    if path.suffix == ".json" and path.exists():
        return dict(json.loads(path.read_text()))
    folder = resources.files("trt_netser") / "data" / "trt_api"
    target = folder / f"{version_or_path}.json"
    if not target.is_file():
        raise ValueError(
            f"no API dump for TensorRT {version_or_path!r}; available: "
            + ", ".join(available_dumps())
        )
    return dict(json.loads(target.read_text()))


def _from_dump(dump: Mapping[str, Any]) -> _Api:
    classes = {
        name: (
            tuple(info.get("bases", ())),
            dict(info.get("properties", {})),
            tuple(info.get("methods", ())),
        )
        for name, info in dump["classes"].items()
    }
    # A layer class whose docstring documents an ILayer property itself redefines it
    # (IActivationLayer.type: ActivationType, IPoolingLayer.type: PoolingType).
    base_props = frozenset(dump["classes"].get("ILayer", {}).get("properties", {}))
    shadowed = {
        name: frozenset(p for p in base_props if f":ivar {p}:" in str(info.get("doc") or ""))
        | frozenset(p for (owner, p) in SHADOWED_LAYER_PROPERTIES if owner == name)
        for name, info in dump["classes"].items()
        if "ILayer" in info.get("bases", ())
    }
    return _Api(str(dump["version"]), tuple(dump["enums"]["LayerType"]), classes, shadowed)


def _from_module(module: ModuleType) -> _Api:
    classes = {}
    for name in dir(module):
        cls = getattr(module, name)
        if not isinstance(cls, type) or name.startswith("_"):
            continue
        bases = tuple(k.__name__ for k in cls.__mro__[1:] if getattr(module, k.__name__, None) is k)
        props: dict[str, str] = {}
        methods = []
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(value, property):
                    props[attr] = "rw" if value.fset else "r"
                elif callable(value) and not isinstance(value, type):
                    methods.append(attr)
        classes[name] = (bases, props, tuple(sorted(set(methods))))
    ilayer = getattr(module, "ILayer", None)
    shadowed: dict[str, frozenset[str]] = {}
    for name in classes:
        cls = getattr(module, name)
        if isinstance(ilayer, type) and cls is not ilayer and issubclass(cls, ilayer):
            shadowed[name] = frozenset(
                p
                for p, value in vars(ilayer).items()
                if isinstance(value, property) and inspect.getattr_static(cls, p) is not value
            )
    return _Api(
        str(getattr(module, "__version__", "unknown")),
        tuple(module.LayerType.__members__),
        classes,
        shadowed,
    )


def _classify_property(
    owner: str,
    mro: tuple[str, ...],
    name: str,
    table: Mapping[str, str],
    shadowed: frozenset[str] = frozenset(),
) -> Entry:
    if name in shadowed:
        return Entry(
            owner,
            name,
            "property",
            "encoded",
            "redefines ILayer's property with this class's state",
        )
    if name in table:
        reason = table[name]
        status: Status = "structural" if reason.startswith("structural") else "excluded"
        return Entry(owner, name, "property", status, reason)
    for klass in mro:
        if (klass, name) in CLASS_PROPERTY_EXCLUSIONS:
            return Entry(
                owner, name, "property", "excluded", CLASS_PROPERTY_EXCLUSIONS[(klass, name)]
            )
        if (klass, name) in CONDITIONAL_PROPERTIES:
            return Entry(
                owner, name, "property", "conditional", CONDITIONAL_PROPERTIES[(klass, name)].reason
            )
    return Entry(owner, name, "property", "encoded", "discovered generically")


def _classify_method(
    owner: str, mro: tuple[str, ...], name: str, captured: set[tuple[str, str]]
) -> Entry | None:
    if name in _NEUTRAL_METHODS or name.startswith("__"):
        return None
    if any((klass, name) in LAYER_GETTER_METHODS for klass in mro):
        return Entry(owner, name, "method", "encoded", "getter method called by the walker")
    if name.startswith(READER_PREFIXES):
        return None
    if any((klass, name) in captured for klass in mro):
        return Entry(owner, name, "method", "captured", "recorded by trt_netser.capture")
    if name in MUTATOR_METHODS:
        reason = MUTATOR_METHODS[name]
        return Entry(
            owner,
            name,
            "method",
            "captured" if reason.startswith("captured") else "encoded",
            reason,
        )
    if name.startswith("add_") and owner == "INetworkDefinition":
        return Entry(owner, name, "method", "encoded", "encoded: the layer it creates")
    return Entry(
        owner, name, "method", "unclassified", "state-changing method with no hashing rule"
    )


def coverage(api: ModuleType | str | Path | Mapping[str, Any]) -> CoverageReport:
    """Classify what the walker hashes for a TensorRT module, dump version, path or dump."""
    if isinstance(api, ModuleType):
        info = _from_module(api)
    elif isinstance(api, Mapping):
        info = _from_dump(api)
    else:
        info = _from_dump(load_dump(api))
    captured = {(c, m) for c, m, _ in CAPTURED_CALLS}
    entries: list[Entry] = []
    layer_classes = {t: layer_class_name(t, info.classes) for t in info.layer_types}
    for type_name, cls_name in layer_classes.items():
        if cls_name is None and type_name in LAYER_TYPES_WITHOUT_CLASS:
            entries.append(
                Entry(
                    "LayerType",
                    type_name,
                    "layer_type",
                    "excluded",
                    LAYER_TYPES_WITHOUT_CLASS[type_name],
                )
            )
        elif cls_name is None:
            entries.append(
                Entry("LayerType", type_name, "layer_type", "unclassified", "no layer class found")
            )

    def mro_of(name: str) -> tuple[str, ...]:
        return (name, *info.classes[name][0])

    layer_owners = sorted(
        name
        for name, (bases, _, _) in info.classes.items()
        if name == "ILayer" or "ILayer" in bases
    )
    for owner in layer_owners:
        _, props, methods = info.classes[owner]
        mro = mro_of(owner)
        for prop in sorted(props):
            entries.append(
                _classify_property(
                    owner,
                    mro,
                    prop,
                    LAYER_PROPERTY_EXCLUSIONS,
                    info.shadowed.get(owner, frozenset()),
                )
            )
        for method in methods:
            entry = _classify_method(owner, mro, method, captured)
            if entry is not None:
                entries.append(entry)
        if owner in CAPTURED_LAYER_STATE:
            required, what = CAPTURED_LAYER_STATE[owner]
            entries.append(
                Entry(
                    owner,
                    "<write-only state>",
                    "property",
                    "captured",
                    ("required: " if required else "optional: ") + what,
                )
            )
    other_tables: dict[str, Mapping[str, str]] = {
        **{name: CONSTRUCT_PROPERTY_EXCLUSIONS for name in CONSTRUCT_CLASSES},
        "ITensor": TENSOR_PROPERTY_EXCLUSIONS,
        "INetworkDefinition": NETWORK_PROPERTY_EXCLUSIONS,
    }
    for owner, table in other_tables.items():
        if owner not in info.classes:
            continue
        _, props, methods = info.classes[owner]
        mro = mro_of(owner)
        for prop in sorted(props):
            entries.append(_classify_property(owner, mro, prop, table))
        for method in methods:
            entry = _classify_method(owner, mro, method, captured)
            if entry is not None:
                entries.append(entry)
    return CoverageReport(info.version, layer_classes, tuple(entries))
