"""Tell the real TensorRT bindings from trt-netser's offline model of them.

``trt_netser.offline.__version__`` is TensorRT's exact version string (client code parses
it), and the offline module has no name the real bindings lack, so the way to tell them
apart lives here, in the library: :func:`is_offline` and :func:`describe_backend`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

_OFFLINE = "trt_netser.offline"


def _module_name(obj: Any) -> str:
    if isinstance(obj, ModuleType):
        return obj.__name__
    return str(getattr(type(obj), "__module__", "") or "")


def is_offline(obj: Any) -> bool:
    """True if ``obj`` is :mod:`trt_netser.offline` or an object made by it (a builder,
    network, layer, tensor...), False for real TensorRT and anything else."""
    name = _module_name(obj)
    return name == _OFFLINE or name.startswith(_OFFLINE + ".")


def describe_backend(module: ModuleType | None) -> str:
    """One line naming the TensorRT ``module``: ``TensorRT 10.16.1.11 (offline model)``,
    ``TensorRT 10.16.1.11 (tensorrt)``, or ``no TensorRT`` for None."""
    if module is None:
        return "no TensorRT"
    version = str(getattr(module, "__version__", "") or "unknown version")
    what = "offline model, trt_netser.offline" if is_offline(module) else module.__name__
    return f"TensorRT {version} ({what})"


__all__ = ["describe_backend", "is_offline"]
