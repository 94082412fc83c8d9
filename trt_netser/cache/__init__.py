"""The engine cache: verified, atomically published, LRU-evicted TensorRT plans.

``EngineCache`` stores a plan plus a JSON manifest per key, locally (rename-based
publication, per-key file locks) or on any fsspec store (manifest written last, with
``If-None-Match``). See ``docs/cache.md`` for the layout and the guarantees.
"""

from __future__ import annotations

from trt_netser.cache._keys import CacheKeyLike, validate_key
from trt_netser.cache._store import ENV_VAR, EngineCache, default_root
from trt_netser.cache._types import (
    MANIFEST_VERSION,
    CacheEntry,
    CacheError,
    CacheStats,
    EntryInfo,
    GcReport,
    UnsafePathError,
    VerifyReport,
)

__all__ = [
    "ENV_VAR",
    "MANIFEST_VERSION",
    "CacheEntry",
    "CacheError",
    "CacheKeyLike",
    "CacheStats",
    "EngineCache",
    "EntryInfo",
    "GcReport",
    "UnsafePathError",
    "VerifyReport",
    "default_root",
    "validate_key",
]
