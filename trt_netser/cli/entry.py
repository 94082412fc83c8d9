"""Cache entries as subjects: what ``diff`` and ``cache lookup`` compare a SPEC with.

An entry's manifest keeps its key components (``CacheKey.to_dict()``), not the network's
records, so an entry subject has components and digests only (``origin == "cache"``).
"""

from __future__ import annotations

import re
from typing import Any

from trt_netser.cli.errors import CliError
from trt_netser.cli.subject import Component, Subject, network_component

#: What a key path looks like on the command line (``v1/trt-10.16.1.11/sm90/.../...``).
KEY_PATH = re.compile(r"v\d+/[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)+")


def looks_like_key(text: str) -> bool:
    return KEY_PATH.fullmatch(text) is not None


def entry_components(info: Any) -> list[Component]:
    """The key components an entry was stored with (empty for keys given as plain str)."""
    data = info.components if isinstance(info.components, dict) else {}
    out = []
    for c in data.get("components") or []:
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            out.append(
                Component(
                    c["name"],
                    str(c.get("digest", "")),
                    c.get("value"),
                    str(c.get("explanation", "")),
                )
            )
    return out


def entry_subject(info: Any, root: str) -> Subject:
    """A Subject for a cache entry (``EntryInfo``): key path and components, no records."""
    components = entry_components(info)
    network = next((c for c in components if c.name == "network"), None)
    digest = ""
    if network is not None:
        value = network.value if isinstance(network.value, dict) else {}
        digest = str(value.get("digest") or network.digest)
    if not components:
        components = [network_component(digest)]
    tensorrt = next((c for c in components if c.name == "tensorrt"), None)
    trt_version = "unknown"
    if tensorrt is not None and isinstance(tensorrt.value, dict):
        trt_version = str(tensorrt.value.get("version", "unknown"))
    return Subject(
        label=f"cache entry {info.key}",
        origin="cache",
        backend="cache",
        trt_version=trt_version,
        digest=digest,
        items=[],
        components=components,
        key_path=str(info.key),
        key_dict=info.components if isinstance(info.components, dict) else None,
    )


def load_entry(key: str, url: str | None) -> Subject:
    """The entry for ``key`` in the cache at ``url`` (default cache if None), as a Subject."""
    from trt_netser.cli.cache_cmd import open_cache

    cache = open_cache(url)
    info = cache.info(key)
    if info is None:
        raise CliError(f"no entry for key {key!r} in {cache.root}")
    return entry_subject(info, str(cache.root))


__all__ = ["entry_components", "entry_subject", "load_entry", "looks_like_key"]
