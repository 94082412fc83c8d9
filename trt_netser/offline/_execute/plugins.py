"""numpy implementations of plugins, registered through an offline-only hook.

A plugin layer runs when a function was registered for its (name, version, namespace)
with :func:`register`, exposed as ``trt_netser.offline.register_plugin_implementation``
(offline-only: the real bindings have no such function). The function receives the
layer's :class:`~._node.Node` (``attrs["plugin"]`` describes the plugin: its fields or
serialized data) and the input arrays, and returns the output arrays.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from trt_netser.offline._execute._node import Node

Impl = Callable[[Node, list[np.ndarray | None]], list[np.ndarray]]

_LOCK = threading.Lock()
_IMPLS: dict[tuple[str, str, str], Impl] = {}


def _identity(creator: Any) -> tuple[str, str, str]:
    for a, b, c in (
        ("name", "plugin_version", "plugin_namespace"),
        ("plugin_name", "plugin_version", "plugin_namespace"),
    ):
        if hasattr(creator, a) or hasattr(creator, b):
            name = getattr(creator, a, None) or getattr(creator, "plugin_name", "")
            return (str(name), str(getattr(creator, b, "")), str(getattr(creator, c, "") or ""))
    raise TypeError(f"{creator!r} is not a plugin creator")


def register(creator: Any, implementation: Impl | None) -> None:
    """Register (or, with None, remove) the numpy implementation of ``creator``'s plugins.

    ``creator`` is a plugin creator (its name, version and namespace identify the plugin)
    or a ``(name, version, namespace)`` tuple."""
    key = tuple(str(v) for v in creator) if isinstance(creator, tuple) else _identity(creator)
    if len(key) != 3:
        raise TypeError("a plugin is identified by (name, version, namespace)")
    with _LOCK:
        if implementation is None:
            _IMPLS.pop(key, None)
        else:
            _IMPLS[key] = implementation


def lookup(layer: Any) -> Impl | None:
    """The implementation registered for a plugin layer of the IR, or None."""
    desc = layer.attrs.get("plugin")
    items = dict(getattr(desc, "items", ()) or ())
    key = (
        str(items.get("type", "")),
        str(items.get("version", "")),
        str(items.get("namespace", "")),
    )
    with _LOCK:
        return _IMPLS.get(key)
