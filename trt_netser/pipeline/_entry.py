"""What an entry records about its engine, in ``manifest.extras["trt_netser.pipeline"]``.

At build time: the engine's refit inventory (named weights with their prototypes'
dtype and count, and (layer, role) weights with the network's dtype and count) and a
blake3 digest of the values of every weight the engine did not list as refittable
("pinned": baked in at build time). A hit is refit only if the network covers the
inventory exactly and every pinned digest matches (docs/pipeline.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import blake3

from trt_netser.pipeline._weights import NetworkWeights, WeightSource, values_digest

__all__ = [
    "ENTRY_FORMAT",
    "EXTRAS_KEY",
    "EntryMeta",
    "Inventory",
    "MetaError",
    "MissingMetaError",
    "PinnedWeight",
    "describe_entry",
]

#: Where the metadata lives in the cache manifest's free-form ``extras``.
EXTRAS_KEY = "trt_netser.pipeline"
#: Version of the metadata layout; entries of a newer version are not refit.
ENTRY_FORMAT = 1


class MetaError(ValueError):
    """The entry's pipeline metadata is malformed."""


class MissingMetaError(MetaError):
    """The entry has no pipeline metadata (it was stored by something else)."""


@dataclass(frozen=True)
class Inventory:
    """The engine's refittable weights: ``named`` (name, dtype, count) and ``layers``
    (layer name, role, dtype, count), both sorted."""

    named: tuple[tuple[str, str, int], ...] = ()
    layers: tuple[tuple[str, str, str, int], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.named and not self.layers

    @property
    def size(self) -> int:
        return len(self.named) + len(self.layers)

    def to_json(self) -> dict[str, Any]:
        return {
            "named": [list(x) for x in self.named],
            "layers": [list(x) for x in self.layers],
        }

    @classmethod
    def from_json(cls, data: Any) -> Inventory:
        if not isinstance(data, Mapping):
            raise MetaError("inventory is not an object")
        try:
            named = tuple(sorted((str(n), str(d), int(c)) for n, d, c in data.get("named", [])))
            layers = tuple(
                sorted((str(ly), str(r), str(d), int(c)) for ly, r, d, c in data.get("layers", []))
            )
        except (TypeError, ValueError) as exc:
            raise MetaError(f"inventory is malformed: {exc}") from None
        return cls(named, layers)


@dataclass(frozen=True)
class PinnedWeight:
    """A weight the engine baked in: where it is and the digest of its values."""

    layer: str
    prop: str
    name: str | None
    dtype: str
    count: int
    digest: str | None

    def to_json(self) -> list[Any]:
        return [self.layer, self.prop, self.name, self.dtype, self.count, self.digest]

    @classmethod
    def from_json(cls, data: Any) -> PinnedWeight:
        try:
            layer, prop, name, dtype, count, digest = data
        except (TypeError, ValueError):
            raise MetaError(f"pinned weight {data!r} is malformed") from None
        return cls(
            str(layer),
            str(prop),
            None if name is None else str(name),
            str(dtype),
            int(count),
            None if digest is None else str(digest),
        )

    @property
    def where(self) -> str:
        return f"{self.layer!r}.{self.prop}" + (f" (weights {self.name!r})" if self.name else "")


@dataclass(frozen=True)
class EntryMeta:
    """The pipeline's record of one cache entry (JSON in the manifest's extras)."""

    refit_flag: str | None
    weightless: bool
    inventory: Inventory
    pinned: tuple[PinnedWeight, ...]
    network_digest: str = ""
    dump_key: str | None = None
    variant_of: str | None = None
    weight_streaming: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_extras(self) -> dict[str, Any]:
        return {
            EXTRAS_KEY: {
                "format": ENTRY_FORMAT,
                "refit_flag": self.refit_flag,
                "weightless": self.weightless,
                "inventory": self.inventory.to_json(),
                "pinned": [p.to_json() for p in self.pinned],
                "pinned_digest": pinned_digest(self.pinned),
                "network_digest": self.network_digest,
                "dump_key": self.dump_key,
                "variant_of": self.variant_of,
                "weight_streaming": self.weight_streaming,
                **({"extra": self.extra} if self.extra else {}),
            }
        }

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any]) -> EntryMeta:
        data = extras.get(EXTRAS_KEY) if isinstance(extras, Mapping) else None
        if not isinstance(data, Mapping):
            raise MissingMetaError(
                "the entry has no pipeline metadata (not stored by build_engine)"
            )
        version = data.get("format")
        if not isinstance(version, int) or version < 1:
            raise MetaError(f"pipeline metadata format is {version!r}")
        if version > ENTRY_FORMAT:
            raise MetaError(f"pipeline metadata format {version} is newer than {ENTRY_FORMAT}")
        pinned = tuple(PinnedWeight.from_json(p) for p in data.get("pinned", []))
        if data.get("pinned_digest") != pinned_digest(pinned):
            raise MetaError("pipeline metadata: the pinned list does not match its digest")
        flag = data.get("refit_flag")
        return cls(
            refit_flag=None if flag is None else str(flag),
            weightless=bool(data.get("weightless", False)),
            inventory=Inventory.from_json(data.get("inventory", {})),
            pinned=pinned,
            network_digest=str(data.get("network_digest", "")),
            dump_key=data.get("dump_key") if isinstance(data.get("dump_key"), str) else None,
            variant_of=data.get("variant_of") if isinstance(data.get("variant_of"), str) else None,
            weight_streaming=bool(data.get("weight_streaming", False)),
            extra=dict(data.get("extra") or {}),
        )


def pinned_digest(pinned: tuple[PinnedWeight, ...] | list[PinnedWeight]) -> str:
    """One digest over every pinned weight's place and value digest (names a variant)."""
    hasher = blake3.blake3()
    for p in sorted(pinned, key=lambda p: (p.layer, p.prop)):
        hasher.update(repr(p.to_json()).encode() + b"\n")
    return hasher.hexdigest()


def pinned_sources(weights: NetworkWeights, inventory: Inventory) -> list[WeightSource]:
    """The network's weights that ``inventory`` does not cover: the engine baked them in."""
    named = {n for n, _d, _c in inventory.named}
    layers = {(ly, r) for ly, r, _d, _c in inventory.layers}
    out = []
    for s in weights.sources:
        if s.name is not None and s.name in named:
            continue
        if s.role is not None and (s.layer, s.role) in layers:
            continue
        out.append(s)
    return out


def pin(sources: list[WeightSource]) -> tuple[PinnedWeight, ...]:
    """Digest the values of baked-in weights (the only values the pipeline reads)."""
    return tuple(
        sorted(
            (
                PinnedWeight(s.layer, s.prop, s.name, s.dtype, s.count, values_digest(s.value))
                for s in sources
            ),
            key=lambda p: (p.layer, p.prop),
        )
    )


def check_pinned(weights: NetworkWeights, pinned: tuple[PinnedWeight, ...]) -> list[str]:
    """Why the network's values differ from the pinned digests (empty: they match)."""
    if not pinned:
        return []  # nothing baked in: no index of every source to build
    problems = []
    index = {(s.layer, s.prop): s for s in weights.sources}
    for p in pinned:
        s = index.get((p.layer, p.prop))
        if s is None:
            problems.append(f"pinned weight {p.where} is not in the network")
            continue
        if (s.dtype, s.count) != (p.dtype, p.count):
            problems.append(
                f"pinned weight {p.where} is {s.dtype} x {s.count}, the engine has "
                f"{p.dtype} x {p.count}"
            )
            continue
        if p.digest is None:
            problems.append(f"pinned weight {p.where} could not be digested at build time")
            continue
        if values_digest(s.value) != p.digest:
            problems.append(f"pinned weight {p.where} has other values than the engine baked in")
    return problems


def _heading(data: Mapping[str, Any]) -> str:
    flag, variant = data.get("refit_flag"), data.get("variant_of")
    return (
        f"refit: {flag or 'none'}, {'weightless' if data.get('weightless') else 'with weights'}"
        + (f", variant of {variant}" if variant else "")
    )


def describe_entry(extras: Mapping[str, Any], get: Callable[[str], Any] | None = None) -> list[str]:
    """Readable lines for an entry's refit inventory and pinned weights (``cache show``);
    empty when the entry was not stored by the pipeline.

    A large network's record is stored apart, as its own cache entry: ``get`` (e.g.
    ``cache.get``) reads it; without ``get`` (or when it is missing or altered) the
    lines say where it is and why it is not listed."""
    data = extras.get(EXTRAS_KEY) if isinstance(extras, Mapping) else None
    if isinstance(data, Mapping) and "record" in data:
        from trt_netser.pipeline._record import resolve_extras

        ref = data["record"]
        where = ref.get("key") if isinstance(ref, Mapping) else None
        if get is not None:
            try:
                return describe_entry(resolve_extras(extras, get))
            except MetaError as exc:
                note = f"refit record: {exc}: the next hit rebuilds the entry"
        else:
            size = ref.get("size") if isinstance(ref, Mapping) else None
            note = (
                f"refit record: stored apart, as the cache entry {where}"
                + (f" ({size} bytes)" if isinstance(size, int) else "")
                + ", not read here (describe_entry(extras, cache.get) lists it)"
            )
        dump = data.get("dump_key")
        return [_heading(data), note] + ([f"dump: {dump}"] if isinstance(dump, str) else [])
    try:
        meta = EntryMeta.from_extras(extras)
    except MetaError:
        return []
    inv = meta.inventory
    lines = [
        _heading(
            {
                "refit_flag": meta.refit_flag,
                "weightless": meta.weightless,
                "variant_of": meta.variant_of,
            }
        ),
        f"refit inventory: {len(inv.named)} named, {len(inv.layers)} by layer and role",
    ]
    lines += [f"  {name}: {dtype} x {count}" for name, dtype, count in inv.named]
    lines += [f"  {layer} [{role}]: {dtype} x {count}" for layer, role, dtype, count in inv.layers]
    lines.append(f"pinned weights: {len(meta.pinned)} (values baked into the engine)")
    lines += [
        f"  {p.where}: {p.dtype} x {p.count}, blake3 {(p.digest or 'unreadable')[:16]}"
        for p in meta.pinned
    ]
    if meta.dump_key:
        lines.append(f"dump: {meta.dump_key}")
    return lines
