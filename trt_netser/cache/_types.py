"""Result types of the engine cache and the manifest format."""

from __future__ import annotations

import functools
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_SCHEMA",
    "MANIFEST_VERSION",
    "BadEntryError",
    "CacheEntry",
    "CacheError",
    "CacheStats",
    "EntryInfo",
    "GcReport",
    "ManifestError",
    "UnsafePathError",
    "VerifyReport",
]

MANIFEST_FORMAT = "trt-netser-engine-cache"
MANIFEST_VERSION = 1


class CacheError(OSError):
    """A cache read or write failed (raised only by caches created with ``strict=True``)."""


class UnsafePathError(ValueError):
    """A cache path would leave the cache root (e.g. through a symlink)."""


class ManifestError(ValueError):
    """A manifest is unreadable or inconsistent; the entry is treated as corrupt."""


class BadEntryError(ValueError):
    """Something sits where an entry, its manifest or its plan should be but is not one (a
    FIFO, a device, a directory, a symlink, an oversized manifest): the entry is corrupt."""


@dataclass(frozen=True)
class CacheEntry:
    """A verified cache entry: the engine plan and its manifest.

    ``plan`` holds the verified bytes, or is ``None`` when the entry was fetched with
    ``get(key, load=False)``; then ``path`` names the (verified, immutable) local plan file
    and :meth:`open` streams it. ``stored`` is False when the plan could not be written to
    the cache (the caller still gets its engine).
    """

    key: str
    manifest: dict[str, Any]
    plan: bytes | None = field(default=None, repr=False)
    path: Path | None = None
    stored: bool = True

    @property
    def size(self) -> int:
        """Plan size in bytes."""
        return int(self.manifest["plan"]["size"])

    @property
    def digest(self) -> str:
        """blake3 hex digest of the plan."""
        return str(self.manifest["plan"]["blake3"])

    @property
    def created(self) -> float:
        """Unix time the entry was published."""
        return float(self.manifest.get("created", 0.0))

    @property
    def build_seconds(self) -> float | None:
        """How long the engine took to build, if the writer said so."""
        value = self.manifest.get("build_seconds")
        return None if value is None else float(value)

    @property
    def components(self) -> dict[str, Any] | None:
        """The key's named components (``key.to_dict()``) recorded at publish time."""
        return self.manifest.get("key_components")

    @property
    def extras(self) -> dict[str, Any]:
        """User metadata given to ``put``."""
        return dict(self.manifest.get("extras") or {})

    def open(self) -> BinaryIO:
        """A binary stream over the plan (in memory, or the local plan file)."""
        if self.plan is not None:
            return io.BytesIO(self.plan)
        if self.path is None:
            raise ValueError(f"entry {self.key!r} has neither plan bytes nor a local path")
        return open(self.path, "rb")

    def read(self) -> bytes:
        """The plan bytes (reads the local file when the entry was fetched lazily)."""
        if self.plan is not None:
            return self.plan
        with self.open() as stream:
            return stream.read()


@dataclass(frozen=True)
class EntryInfo:
    """What ``entries()`` reports about one entry, read from disk without hashing the plan."""

    key: str
    location: str
    size: int
    plan_size: int
    digest: str
    created: float
    last_used: float
    build_seconds: float | None
    components: dict[str, Any] | None
    extras: dict[str, Any]
    manifest: dict[str, Any] = field(repr=False)
    #: The entry this one is a part of (its dump or refit record), ``None`` for an entry.
    part_of: str | None = None
    #: A part whose entry is gone (``gc`` removes it).
    orphan: bool = False
    #: Keys of this entry's parts (they live and die with it), and their bytes on disk.
    parts: tuple[str, ...] = ()
    parts_size: int = 0

    @property
    def total_size(self) -> int:
        """Bytes on disk of the entry and its parts: what evicting it frees."""
        return self.size + self.parts_size


@dataclass
class VerifyReport:
    """Outcome of ``verify()``: entries checked, those quarantined (with reasons), strays."""

    checked: int = 0
    ok: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    strays_removed: int = 0
    stray_bytes: int = 0

    @property
    def clean(self) -> bool:
        """True when nothing had to be quarantined."""
        return not self.quarantined


@dataclass
class GcReport:
    """Outcome of ``gc()``: evicted keys (least recently used first) and bytes freed."""

    bytes_before: int = 0
    bytes_after: int = 0
    evicted: list[str] = field(default_factory=list)
    skipped_locked: list[str] = field(default_factory=list)
    strays_removed: int = 0
    stray_bytes: int = 0
    #: Parts (dumps, refit records) removed with the evicted entries they belong to.
    parts_removed: int = 0
    #: Parts whose entry was gone, removed.
    orphans_removed: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        """Bytes released by evictions and stray clean-up."""
        return max(0, self.bytes_before - self.bytes_after) + self.stray_bytes


@dataclass(frozen=True)
class CacheStats:
    """Disk usage (computed from the store) and this process's hit/miss counters."""

    root: str
    entries: int
    bytes: int
    plan_bytes: int
    quarantined: int
    quarantine_bytes: int
    staging_bytes: int
    hits: int
    misses: int
    puts: int
    errors: int
    #: Parts (dumps, refit records) of the ``entries``, not counted among them.
    parts: int = 0
    #: Parts whose entry is gone (``gc`` removes them), not counted among ``entries``.
    orphans: int = 0


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """Canonical JSON bytes of a manifest (sorted keys, UTF-8)."""
    return (json.dumps(manifest, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()


#: Manifests larger than this are corrupt: a writer's manifest is a few KiB (key components
#: and ``extras`` included); the bound keeps a hostile file from costing memory or time.
MAX_MANIFEST_BYTES = 1 << 20
#: Deepest nesting of JSON containers accepted anywhere in a manifest (``extras`` included).
MAX_MANIFEST_DEPTH = 32
#: Most JSON values (containers and scalars) accepted in one manifest.
MAX_MANIFEST_NODES = 100_000
#: Latest Unix time a manifest may name (the end of year 9999, what ``datetime`` can show).
MAX_TIME = 253402300799.0

_HEX64 = "^[0-9a-f]{64}$"
_TIME = {"type": "number", "minimum": 0, "maximum": MAX_TIME}
_FREE_OBJECT = {"type": ["object", "null"]}

#: The JSON Schema of a version-1 manifest. Only ``format``, ``format_version``, ``key`` and
#: ``plan`` are required; unknown top-level fields are allowed (a newer writer may add some).
MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "format_version", "key", "plan"],
    "properties": {
        "format": {"const": MANIFEST_FORMAT},
        "format_version": {"type": "integer", "minimum": 1},
        "key": {"type": "string", "minLength": 1, "maxLength": 512},
        "plan": {
            "type": "object",
            "required": ["file", "size", "blake3"],
            "properties": {
                "file": {"type": "string", "pattern": "^plan-[^/\\\\]{1,200}$"},
                "size": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                "blake3": {"type": "string", "pattern": _HEX64},
            },
        },
        "created": _TIME,
        "last_used": _TIME,
        "build_seconds": {"type": ["number", "null"], "minimum": 0, "maximum": 1e9},
        "trt_netser_version": {"type": ["string", "null"]},
        "key_components": _FREE_OBJECT,
        "extras": _FREE_OBJECT,
    },
    "additionalProperties": True,
}


@functools.cache
def _validator() -> Any:
    """A Draft 2020-12 validator whose ``integer`` excludes floats such as ``5.0``."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = jsonschema.validators.extend(base, type_checker=checker)
    strict.check_schema(MANIFEST_SCHEMA)
    return strict(MANIFEST_SCHEMA)


#: JSON Schema type name -> the Python types :func:`_conforms` accepts as that type without
#: asking ``jsonschema``: the exact types ``json.loads`` makes, a subset of what the validator
#: accepts (``integer`` is never a bool or a float, as in :func:`_validator`).
_EXACT_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
#: The keywords :func:`_conforms` checks itself (``$schema`` is an annotation); any other
#: keyword in a (sub)schema sends the manifest to ``jsonschema``.
_CONFORMS_KEYWORDS = frozenset(
    {
        "$schema",
        "type",
        "const",
        "required",
        "properties",
        "additionalProperties",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
    }
)


def _conforms(value: Any, schema: dict[str, Any]) -> bool:
    """Whether ``value`` certainly satisfies ``schema``, decided without ``jsonschema``.

    A fast path for the common case, a valid manifest (importing ``jsonschema`` and building
    its validator cost a process's first cache hit 0.03-0.04 s). It reads the schema itself
    and implements each keyword as the validator does (``re.search`` for ``pattern``,
    bounds only on numbers, lengths only on strings), but accepts values of the exact JSON
    types only and knows few keywords: False means "ask ``jsonschema``", never "invalid",
    so a True can only be a value the validator accepts too.
    """
    if not _CONFORMS_KEYWORDS.issuperset(schema):
        return False
    kind = type(value)
    if "type" in schema:
        names = schema["type"]
        names = [names] if isinstance(names, str) else names
        if not any(kind in _EXACT_TYPES.get(name, ()) for name in names):
            return False
    if "const" in schema:
        const = schema["const"]
        if not (type(const) is str and kind is str and value == const):
            return False
    if kind is int or kind is float:
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    elif kind is str:
        if "minLength" in schema and len(value) < schema["minLength"]:
            return False
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
    elif kind is dict:
        if schema.get("additionalProperties", True) is not True:
            return False
        if any(name not in value for name in schema.get("required", ())):
            return False
        for name, sub in schema.get("properties", {}).items():
            if name in value and not _conforms(value[name], sub):
                return False
    elif kind is not type(None):
        return False  # booleans, arrays, other objects: the validator decides
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_shape(value: Any) -> None:
    """Bound nesting depth and value count, iteratively (no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_MANIFEST_NODES:
            raise ManifestError(f"manifest has more than {MAX_MANIFEST_NODES} values")
        if isinstance(item, (dict, list)):
            if depth > MAX_MANIFEST_DEPTH:
                raise ManifestError(f"manifest nests deeper than {MAX_MANIFEST_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def load_manifest(data: bytes) -> dict[str, Any]:
    """Parse manifest bytes into a JSON object, bounded; raise :class:`ManifestError` if not.

    Every failure of hostile input (oversized, invalid UTF-8 or JSON, NaN, integers too long
    to parse, nesting that exhausts recursion, a non-object) becomes a ``ManifestError``.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest is {len(data)} bytes (max {MAX_MANIFEST_BYTES})")
    try:
        manifest = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError, OverflowError, MemoryError) as exc:
        # ValueError covers JSONDecodeError and integers longer than the digit limit.
        raise ManifestError(f"manifest is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(manifest, dict):
        raise ManifestError("manifest is not a JSON object")
    return manifest


def is_newer(manifest: dict[str, Any]) -> bool:
    """Whether a parsed manifest declares a format version this code does not know."""
    version = manifest.get("format_version")
    return isinstance(version, int) and not isinstance(version, bool) and version > MANIFEST_VERSION


def validate_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """Check a parsed manifest against :data:`MANIFEST_SCHEMA`; raise ``ManifestError`` saying
    which field is wrong."""
    _check_shape(manifest)
    if _conforms(manifest, MANIFEST_SCHEMA):
        return manifest
    try:
        error = next(iter(_validator().iter_errors(manifest)), None)
    except (RecursionError, OverflowError, ValueError, TypeError) as exc:
        raise ManifestError(f"manifest does not validate: {type(exc).__name__}") from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ManifestError(f"manifest field {where}: {str(error.message)[:200]}")
    return manifest


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Parse and validate manifest bytes; raise :class:`ManifestError` saying why not."""
    return validate_manifest(load_manifest(data))
