"""trt-netser: a stable identity for TensorRT networks.

Walk a ``tensorrt.INetworkDefinition`` (real or :mod:`trt_netser.offline`), encode it
canonically without weight values, and use the digest to key a versioned engine cache
that refits cached engines instead of rebuilding them.

The public names are imported lazily so ``import trt_netser`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "hash_network": "trt_netser.api",
    "encode_network": "trt_netser.api",
    "describe_network": "trt_netser.api",
    "NetworkDescription": "trt_netser.api",
    "UnhashableNetworkError": "trt_netser.errors",
    "PartialHashWarning": "trt_netser.errors",
    "capture": "trt_netser.capturing",
    "coverage": "trt_netser.apicoverage",
    "NetworkDigest": "trt_netser.api",
    "DumpFormatError": "trt_netser.errors",
    "TrtNetserError": "trt_netser.errors",
    "WeightsPolicy": "trt_netser.policy",
    # cache keys
    "cache_key": "trt_netser.key",
    "CacheKey": "trt_netser.key",
    "KeyComponent": "trt_netser.key",
    "hash_builder_config": "trt_netser.config",
    "hash_build_config": "trt_netser.config",
    "describe_builder_config": "trt_netser.config",
    "add_optimization_profile": "trt_netser.config",
    "config_coverage": "trt_netser.config",
    "environment": "trt_netser.portability",
    "Environment": "trt_netser.portability",
    # the engine cache
    "EngineCache": "trt_netser.cache",
    "CacheEntry": "trt_netser.cache",
    "EntryInfo": "trt_netser.cache",
    "CacheStats": "trt_netser.cache",
    "VerifyReport": "trt_netser.cache",
    "GcReport": "trt_netser.cache",
    "CacheError": "trt_netser.cache",
    # build or refit
    "build_engine": "trt_netser.pipeline",
    "refit_if_cached": "trt_netser.pipeline",
    "BuildResult": "trt_netser.pipeline",
}

__all__ = [
    "BuildResult",
    "CacheEntry",
    "CacheError",
    "CacheKey",
    "CacheStats",
    "DumpFormatError",
    "EngineCache",
    "EntryInfo",
    "Environment",
    "GcReport",
    "KeyComponent",
    "NetworkDescription",
    "NetworkDigest",
    "PartialHashWarning",
    "TrtNetserError",
    "UnhashableNetworkError",
    "VerifyReport",
    "WeightsPolicy",
    "__version__",
    "add_optimization_profile",
    "build_engine",
    "cache_key",
    "capture",
    "config_coverage",
    "coverage",
    "describe_builder_config",
    "describe_network",
    "encode_network",
    "environment",
    "hash_build_config",
    "hash_builder_config",
    "hash_network",
    "refit_if_cached",
]

if TYPE_CHECKING:  # pragma: no cover
    from trt_netser.api import (
        NetworkDescription,
        NetworkDigest,
        describe_network,
        encode_network,
        hash_network,
    )
    from trt_netser.apicoverage import coverage
    from trt_netser.cache import (
        CacheEntry,
        CacheError,
        CacheStats,
        EngineCache,
        EntryInfo,
        GcReport,
        VerifyReport,
    )
    from trt_netser.capturing import capture
    from trt_netser.config import (
        add_optimization_profile,
        config_coverage,
        describe_builder_config,
        hash_build_config,
        hash_builder_config,
    )
    from trt_netser.errors import (
        DumpFormatError,
        PartialHashWarning,
        TrtNetserError,
        UnhashableNetworkError,
    )
    from trt_netser.key import CacheKey, KeyComponent, cache_key
    from trt_netser.pipeline import BuildResult, build_engine, refit_if_cached
    from trt_netser.policy import WeightsPolicy
    from trt_netser.portability import Environment, environment


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trt_netser' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
