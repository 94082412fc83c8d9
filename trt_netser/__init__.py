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
}

__all__ = [
    "NetworkDescription",
    "PartialHashWarning",
    "UnhashableNetworkError",
    "__version__",
    "capture",
    "coverage",
    "describe_network",
    "encode_network",
    "hash_network",
]

if TYPE_CHECKING:  # pragma: no cover
    from trt_netser.api import (
        NetworkDescription,
        describe_network,
        encode_network,
        hash_network,
    )
    from trt_netser.capturing import capture
    from trt_netser.apicoverage import coverage
    from trt_netser.errors import PartialHashWarning, UnhashableNetworkError


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trt_netser' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
