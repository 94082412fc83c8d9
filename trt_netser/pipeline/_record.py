"""Large refit records live beside their entry, not in its (bounded) manifest.

An entry's refit inventory and pinned list grow with the number of weights (about 75
bytes each in the manifest): past ``INLINE_LIMIT`` they are stored as their own cache
entry at ``<key>/refit-record`` (compact JSON, verified by the cache like a plan) and
the manifest keeps the small fields plus ``record: {key, blake3, size}``. Reading an
entry resolves the reference, so ``EntryMeta.from_extras`` sees one record either way.
The record is a part of its entry (``trt_netser/cache/_family.py``): it claims the entry
in its own extras, and the cache removes, evicts and quarantines it with the entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import blake3

from trt_netser.cache._family import PARTS, RECORD_SEGMENT
from trt_netser.pipeline._entry import EXTRAS_KEY, EntryMeta, MetaError

__all__ = ["INLINE_LIMIT", "RECORD_CLAIM", "RECORD_SEGMENT", "resolve_extras", "stored_extras"]

#: Encoded size above which the bulky fields go to a sidecar entry (manifests: 1 MiB max).
INLINE_LIMIT = 256 * 1024
#: The field of the record's own manifest extras that names the entry it belongs to.
RECORD_CLAIM = next(part.claim for part in PARTS if part.segment == RECORD_SEGMENT)
#: The fields that move to the sidecar (the others stay readable in the manifest).
BULKY = ("inventory", "pinned", "pinned_digest")


def stored_extras(meta: EntryMeta, key: str, put: Callable[..., Any]) -> dict[str, Any]:
    """The manifest extras for ``meta``: inline, or (when large) a reference to the
    sidecar written with ``put(key, data, extras=...)`` first (claiming ``key`` as its
    entry), so a published entry never lacks it."""
    extras = meta.to_extras()
    record = dict(extras[EXTRAS_KEY])
    bulky = {name: record.pop(name) for name in BULKY}
    data = json.dumps(bulky, sort_keys=True, separators=(",", ":")).encode()
    if len(data) <= INLINE_LIMIT:
        return extras
    where = f"{key}/{RECORD_SEGMENT}"
    entry = put(where, data, extras={RECORD_CLAIM: key})
    if not getattr(entry, "stored", True):
        raise OSError(f"the refit record {where!r} could not be stored")
    record["record"] = {"key": where, "blake3": blake3.blake3(data).hexdigest(), "size": len(data)}
    return {EXTRAS_KEY: record}


def resolve_extras(
    extras: Mapping[str, Any], get: Callable[[str], Any] | None
) -> Mapping[str, Any]:
    """``extras`` with a sidecar reference replaced by the record it names (``get(key)``
    returns the cache entry or None). Raises ``MetaError`` if it is missing or altered."""
    data = extras.get(EXTRAS_KEY) if isinstance(extras, Mapping) else None
    if not isinstance(data, Mapping) or "record" not in data:
        return extras
    ref = data["record"]
    if not (
        isinstance(ref, Mapping)
        and isinstance(ref.get("key"), str)
        and isinstance(ref.get("blake3"), str)
    ):
        raise MetaError(f"pipeline metadata: refit record reference {ref!r} is malformed")
    entry = get(ref["key"]) if get is not None else None
    raw = getattr(entry, "plan", None)
    if not isinstance(raw, bytes):
        raise MetaError(f"the entry's refit record {ref['key']!r} is missing")
    if blake3.blake3(raw).hexdigest() != ref["blake3"]:
        raise MetaError(f"the refit record {ref['key']!r} is not the one the entry names")
    try:
        bulky = json.loads(raw)
    except ValueError as exc:
        raise MetaError(f"the refit record {ref['key']!r} is not JSON: {exc}") from None
    if not isinstance(bulky, dict):
        raise MetaError(f"the refit record {ref['key']!r} is not an object")
    merged = {name: value for name, value in data.items() if name != "record"}
    merged.update({name: bulky[name] for name in BULKY if name in bulky})
    return {**extras, EXTRAS_KEY: merged}
