"""Result types of the engine cache and the manifest format."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_VERSION",
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


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """Canonical JSON bytes of a manifest (sorted keys, UTF-8)."""
    return (json.dumps(manifest, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Parse and sanity-check manifest bytes; raise :class:`ManifestError` saying why not."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ManifestError("manifest is not a JSON object")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"manifest format is {manifest.get('format')!r}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ManifestError(f"manifest format_version is {version!r}")
    if not isinstance(manifest.get("key"), str):
        raise ManifestError("manifest has no key")
    plan = manifest.get("plan")
    if not isinstance(plan, dict):
        raise ManifestError("manifest has no plan section")
    name, size, digest = plan.get("file"), plan.get("size"), plan.get("blake3")
    if not (isinstance(name, str) and name.startswith("plan-") and "/" not in name):
        raise ManifestError(f"manifest plan file is {name!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"manifest plan size is {size!r}")
    if not (isinstance(digest, str) and len(digest) == 64):
        raise ManifestError(f"manifest plan digest is {digest!r}")
    for name in ("created", "last_used"):
        value = manifest.get(name, 0.0)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ManifestError(f"manifest {name} is {value!r}")
    return manifest
