"""Which cache entries belong to which: an entry and the sub-entries stored beside it.

The build-or-refit pipeline stores, beside an entry ``<key>``, entries of its own under
``<key>/<segment>``: the network's weightless dump and (for large networks) the refit
record. Such a *part* lives and dies with its entry: ``remove``, LRU eviction by ``gc``
and ``quarantine`` of the entry take its parts along, LRU judges the family by the
entry's last use and size them together, and a part whose entry is gone is an *orphan*
that ``gc`` removes. A pinned *variant* (``<key>/pinned-<digest>``) is an entry of its
own: it is used, evicted and removed on its own and never takes its parent along.

A part belongs to ``<key>`` only if it says so (its manifest's ``extras`` name the key
under the claim field of its row) or the entry's manifest names it (at the row's
``named_by`` path in its ``extras``; refit records written before the claim existed):
a user's own entry that happens to be called ``<key>/dump`` is never taken along.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DUMP_SEGMENT",
    "PARTS",
    "RECORD_SEGMENT",
    "VARIANT_PREFIX",
    "Families",
    "Part",
    "claims",
    "group",
    "needed_parts",
    "part_keys",
    "part_of",
    "split_part",
    "variant_parent",
]

#: Last key segment of an entry's network dump (``pipeline/_dump.py``).
DUMP_SEGMENT = "dump"
#: Last key segment of an entry's refit record stored apart (``pipeline/_record.py``).
RECORD_SEGMENT = "refit-record"
#: Prefix of the last key segment of a pinned-weights variant (an entry of its own).
VARIANT_PREFIX = "pinned-"


@dataclass(frozen=True)
class Part:
    """One kind of sub-entry that belongs to the entry it is stored beside."""

    name: str
    segment: str  # last key segment: ``<key>/<segment>``
    claim: str  # field of the part's manifest ``extras`` naming the entry it belongs to
    named_by: tuple[str, ...]  # path in the entry's ``extras`` that names the part's key
    needed: bool  # whether the entry is unusable without it (it is then rebuilt once)
    what: str


#: Every kind of sub-entry that lives and dies with its entry.
PARTS: tuple[Part, ...] = (
    Part(
        "network dump",
        DUMP_SEGMENT,
        "trt_netser.dump_of",
        ("trt_netser.pipeline", "dump_key"),
        False,
        "the network's weightless dump (explains later misses)",
    ),
    Part(
        "refit record",
        RECORD_SEGMENT,
        "trt_netser.record_of",
        ("trt_netser.pipeline", "record", "key"),
        True,
        "the refit inventory and pinned digests, too large for the manifest",
    ),
)

_BY_SEGMENT: Mapping[str, Part] = {part.segment: part for part in PARTS}


def part_keys(key: str) -> list[tuple[Part, str]]:
    """The keys where parts of the entry ``key`` would live."""
    return [(part, f"{key}/{part.segment}") for part in PARTS]


def split_part(key: str) -> tuple[Part, str] | None:
    """``(row, parent key)`` if ``key`` is where a part of some entry would live."""
    parent, _, last = key.rpartition("/")
    part = _BY_SEGMENT.get(last)
    return None if part is None or not parent else (part, parent)


def _extras(manifest: Mapping[str, Any] | None) -> Mapping[str, Any]:
    extras = manifest.get("extras") if isinstance(manifest, Mapping) else None
    return extras if isinstance(extras, Mapping) else {}


def claims(part_manifest: Mapping[str, Any] | None) -> str | None:
    """The entry a part's manifest says it belongs to (``None``: not a part, or silent)."""
    if part_manifest is None:
        return None
    found = split_part(str(part_manifest.get("key", "")))
    if found is None:
        return None
    part, parent = found
    named = _extras(part_manifest).get(part.claim)
    return parent if named == parent else None


def _named(entry_manifest: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = _extras(entry_manifest)
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def part_of(
    key: str,
    part_manifest: Mapping[str, Any] | None,
    entry_manifest: Mapping[str, Any] | None,
) -> str | None:
    """The entry that ``key`` (with that manifest) is a part of, or ``None``.

    ``entry_manifest`` is the manifest of the would-be parent (``None`` if it has none):
    it can name the part too (records written before parts carried a claim).
    """
    found = split_part(key)
    if found is None:
        return None
    part, parent = found
    if claims(part_manifest) == parent:
        return parent
    if _named(entry_manifest, part.named_by) == key:
        return parent
    return None


def needed_parts(key: str, manifest: Mapping[str, Any] | None) -> list[tuple[Part, str]]:
    """The parts the entry ``key`` cannot be used without, as its manifest names them
    (``verify`` quarantines an entry whose needed part is gone)."""
    return [
        (part, child)
        for part, child in part_keys(key)
        if part.needed and _named(manifest, part.named_by) == child
    ]


def variant_parent(key: str) -> str | None:
    """The entry a pinned variant was stored beside (its own entry: never removed with it)."""
    parent, _, last = key.rpartition("/")
    return parent if parent and last.startswith(VARIANT_PREFIX) else None


@dataclass
class Families:
    """How the entries found by one scan group: parts with their entries, and orphans."""

    owner: dict[str, str]  # part key -> the entry it belongs to (present or not)
    parts: dict[str, list[str]]  # entry key -> its parts present, sorted
    orphans: list[str]  # parts whose entry is gone, sorted

    def is_part(self, key: str) -> bool:
        return key in self.owner


def group(manifests: Mapping[str, Mapping[str, Any] | None]) -> Families:
    """Group the keys of a scan (key -> its valid manifest, or ``None`` when the location
    holds no valid one: corrupt, newer, being written) into entries, parts and orphans.

    A part belongs to its entry when it has a valid manifest that claims the entry, or the
    entry's manifest names it; it is an orphan when it claims an entry that has no
    location at all. A part's own parts (none are written) would be grouped the same way.
    """
    owner: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    orphans: list[str] = []
    for key in sorted(manifests):
        manifest = manifests[key]
        found = split_part(key)
        if found is None or manifest is None:
            continue
        _part, parent = found
        if parent in manifests:
            if part_of(key, manifest, manifests[parent]) == parent:
                owner[key] = parent
                parts.setdefault(parent, []).append(key)
        elif claims(manifest) == parent:
            owner[key] = parent
            orphans.append(key)
    return Families(owner, parts, orphans)
