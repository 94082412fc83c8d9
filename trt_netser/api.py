"""The public hashing API: network -> records -> bytes -> digest."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trt_netser.encode import StreamHasher, encode_record, record_digest
from trt_netser.errors import PartialHashWarning
from trt_netser.policy import Policy, WeightsMode, WeightsPolicy
from trt_netser.records import Record
from trt_netser.walk import Walk


class NetworkDigest(str):
    """A network's digest: 64 lowercase hex characters (blake3-256 of the stream).

    A ``str``; ``partial`` is True when ``strict=False`` hashing met state it could not
    read (the stream says so too, so a partial digest never equals a complete one).
    """

    partial: bool
    issues: tuple[str, ...]

    def __new__(cls, hexdigest: str, issues: tuple[str, ...] = ()) -> NetworkDigest:
        self = super().__new__(cls, hexdigest)
        self.partial = bool(issues)
        self.issues = issues
        return self


@dataclass(frozen=True)
class DescribedRecord:
    """One record with its canonical bytes and their digest."""

    record: Record
    data: bytes
    digest: str

    @property
    def kind(self) -> str:
        return self.record.kind


@dataclass(frozen=True)
class NetworkDescription:
    """The decoded records of a network, each with its own digest, and the total digest."""

    digest: NetworkDigest
    records: tuple[DescribedRecord, ...]
    trt_version: str

    @property
    def partial(self) -> bool:
        return self.digest.partial

    def __iter__(self) -> Iterator[DescribedRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


def _walk(network: Any, strict: bool, weights: WeightsMode | WeightsPolicy) -> Walk:
    return Walk(network, Policy.from_options(strict=strict, weights=weights))


def _finish(walk: Walk, hexdigest: str) -> NetworkDigest:
    issues = tuple(walk.issues)
    if issues:
        warnings.warn(
            f"partial network hash: {len(issues)} problem(s), first: {issues[0]}",
            PartialHashWarning,
            stacklevel=3,
        )
    return NetworkDigest(hexdigest, issues)


def hash_network(
    network: Any, *, strict: bool = True, weights: WeightsMode | WeightsPolicy = "structure"
) -> NetworkDigest:
    """The blake3-256 digest (64 hex chars) of ``network``'s canonical stream.

    ``network`` is a ``tensorrt.INetworkDefinition`` (real or ``trt_netser.offline``) or a
    TensorRT-LLM ``Network``. Weight values are not read except where they define
    structure (``weights="all"`` hashes them all, for non-refittable builds). With
    ``strict=False``, unreadable state gives a warning and a ``partial`` digest instead of
    :class:`~trt_netser.UnhashableNetworkError`. Records are hashed as they are produced
    (the stream is never built whole); the walk itself keeps one small entry per layer and
    tensor, so its memory grows linearly (about 0.6 KiB a layer, see docs/performance.md).
    """
    walk = _walk(network, strict, weights)
    hasher = StreamHasher()
    hasher.feed(walk.chunks())
    return _finish(walk, hasher.hexdigest())


def encode_network(
    network: Any, *, strict: bool = True, weights: WeightsMode | WeightsPolicy = "structure"
) -> bytes:
    """The canonical stream itself (a CBOR sequence; see docs/format.md)."""
    walk = _walk(network, strict, weights)
    hasher = StreamHasher(keep=True)
    hasher.feed(walk.chunks())
    _finish(walk, hasher.hexdigest())
    return hasher.getvalue()


def describe_network(
    network: Any, *, strict: bool = True, weights: WeightsMode | WeightsPolicy = "structure"
) -> NetworkDescription:
    """Every record with its canonical bytes and digest, for tools that explain keys."""
    walk = _walk(network, strict, weights)
    hasher = StreamHasher()
    described = []
    for record in walk.records():
        data = hasher.add(record)
        described.append(DescribedRecord(record.plain(), data, record_digest(data)))
    return NetworkDescription(
        digest=_finish(walk, hasher.hexdigest()),
        records=tuple(described),
        trt_version=walk.api.version,
    )


__all__ = [
    "DescribedRecord",
    "NetworkDescription",
    "NetworkDigest",
    "describe_network",
    "encode_network",
    "encode_record",
    "hash_network",
]
