"""Cache keys: the protocol a key object satisfies and strict validation of key paths."""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

__all__ = ["MAX_KEY_DEPTH", "MAX_KEY_LENGTH", "MAX_SEGMENT_LENGTH", "CacheKeyLike", "validate_key"]

MAX_KEY_LENGTH = 512
MAX_KEY_DEPTH = 16
MAX_SEGMENT_LENGTH = 128

_SEGMENT = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9._+\-]*")


@runtime_checkable
class CacheKeyLike(Protocol):
    """What the cache needs from a key object (e.g. ``trt_netser.key.CacheKey``).

    ``str(key)`` is the relative storage path; ``to_dict()`` names its components
    (schema, TensorRT, device, network, config, extras) so a manifest can explain itself.
    """

    def __str__(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def validate_key(key: object) -> str:
    """Return the key's path string, or raise ``TypeError``/``ValueError`` naming the problem.

    A key is a relative path of ``/``-separated segments made of ``[A-Za-z0-9._+-]``, none
    empty, none starting with ``.`` (so no ``..``, and no clash with the store's own
    ``.staging``/``.locks``), at most 16 segments of at most 128 characters, 512 in total.
    """
    if isinstance(key, str):
        text = key
    elif isinstance(key, (bytes, bytearray, memoryview)) or key is None:
        raise TypeError(f"cache key must be a str or a key object, not {type(key).__name__}")
    elif callable(getattr(key, "to_dict", None)):
        text = str(key)
        if not isinstance(text, str):  # pragma: no cover - str() always returns str
            raise TypeError("str(key) did not return a str")
    else:
        raise TypeError(
            f"cache key must be a str or an object with __str__ and to_dict(), "
            f"not {type(key).__name__}"
        )
    if not text:
        raise ValueError("invalid cache key '': empty")
    if len(text) > MAX_KEY_LENGTH:
        raise ValueError(
            f"invalid cache key {text[:40]!r}...: {len(text)} characters (max {MAX_KEY_LENGTH})"
        )
    if text.startswith("/") or text.startswith("\\") or re.match(r"[A-Za-z]:", text):
        raise ValueError(f"invalid cache key {text!r}: must be a relative path")
    segments = text.split("/")
    if len(segments) > MAX_KEY_DEPTH:
        raise ValueError(
            f"invalid cache key {text!r}: {len(segments)} segments (max {MAX_KEY_DEPTH})"
        )
    for segment in segments:
        if not segment:
            raise ValueError(f"invalid cache key {text!r}: empty segment")
        if segment in (".", ".."):
            raise ValueError(f"invalid cache key {text!r}: segment {segment!r} is not allowed")
        if len(segment) > MAX_SEGMENT_LENGTH:
            raise ValueError(
                f"invalid cache key {text!r}: segment {segment[:20]!r}... is longer than "
                f"{MAX_SEGMENT_LENGTH} characters"
            )
        if _SEGMENT.fullmatch(segment) is None:
            raise ValueError(
                f"invalid cache key {text!r}: segment {segment!r} must match "
                f"[A-Za-z0-9_+-][A-Za-z0-9._+-]*"
            )
    return text


def key_components(key: object) -> dict[str, Any] | None:
    """The key object's ``to_dict()`` (JSON-able), or ``None`` for plain string keys."""
    if isinstance(key, str):
        return None
    to_dict = getattr(key, "to_dict", None)
    if not callable(to_dict):
        return None
    components = to_dict()
    if not isinstance(components, dict):
        raise TypeError(f"key.to_dict() must return a dict, not {type(components).__name__}")
    return components
