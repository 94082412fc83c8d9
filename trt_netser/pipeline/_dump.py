"""The network's weightless dump (the CLI's dump format) stored beside an entry.

A dump can be megabytes for a large network, too much for a manifest, so it is stored
as its own cache entry under ``<key>/dump`` through the cache's public ``put``/``get``
(verified like any plan). It lets a later miss say which layer and attribute differ.
It is a part of its entry (``trt_netser/cache/_family.py``): it claims the entry in its
extras, and the cache removes, evicts and quarantines it with the entry.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trt_netser.policy import WeightsMode

__all__ = ["current_subject", "dump_bytes", "load_dump_bytes"]


def current_subject(run: Any) -> Any:
    """The network of ``run`` as a CLI Subject (records and key), computed once.

    The records are walked with the weights mode of the run's own key, so the dump is
    weightless exactly where the key is, and its digest is the key's network digest.
    """
    subject = getattr(run, "_subject", None)
    if subject is not None:
        return subject
    from trt_netser.api import describe_network
    from trt_netser.cli.subject import Subject, jsonable

    key = run.key
    network = key.component("network")
    value = network.value if isinstance(network.value, dict) else {}
    weights: WeightsMode = "all" if value.get("weights") == "all" else "structure"
    description = describe_network(
        run.network, strict=run.options.get("strict", True), weights=weights
    )
    backend = "offline" if run.trt.__name__.startswith("trt_netser.offline") else "tensorrt"
    subject = Subject(
        label=str(key),
        origin="spec",
        backend=backend,
        trt_version=description.trt_version,
        digest=str(description.digest),
        items=list(description.records),
        components=list(key.components),
        key_path=str(key),
        key_dict=jsonable(key.to_dict()),
        partial=description.partial,
        issues=list(description.digest.issues),
    )
    run._subject = subject
    return subject


def dump_bytes(run: Any) -> bytes | None:
    """The gzip-compressed dump document of the run's network (deterministic bytes)."""
    from trt_netser.cli.dumpfile import to_document

    document = to_document(current_subject(run))
    data = json.dumps(document, indent=None, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="", compresslevel=6) as gz:
        gz.write(data)
    return buffer.getvalue()


def load_dump_bytes(data: bytes) -> Any:
    """A Subject from dump bytes, verified record by record (``load_dump``'s checks)."""
    from trt_netser.cli.dumpfile import load_dump

    fd, path = tempfile.mkstemp(prefix="trt-netser-dump-", suffix=".tnsd")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        return load_dump(path)
    finally:
        os.unlink(path)
