"""What ``build_engine`` reports: the outcome, why, and how long each phase took."""

from __future__ import annotations

import enum
import gc
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trt_netser.key import CacheKey
    from trt_netser.pipeline._explain import MissExplanation

__all__ = ["FAILURES", "OUTCOMES", "BuildResult", "HitFailure", "Outcome", "Timings"]


class Outcome(str, enum.Enum):
    """How an engine was obtained (the value is the documented string)."""

    HIT_REFIT = "hit-refit"
    HIT_IDENTICAL = "hit-identical"
    MISS_BUILT = "miss-built"
    HIT_REFIT_FAILED_REBUILT = "hit-refit-failed-rebuilt"
    HIT_PINNED_MISMATCH_BUILT = "hit-pinned-mismatch-built"
    HIT_VERIFY_FAILED_REBUILT = "hit-verify-failed-rebuilt"
    CACHE_ERROR_BUILT = "cache-error-built"

    def __str__(self) -> str:
        return self.value

    @property
    def hit(self) -> bool:
        """True when the engine came from the cache."""
        return self in (Outcome.HIT_REFIT, Outcome.HIT_IDENTICAL)


#: Outcome -> what it means (docs/pipeline.md renders this table).
OUTCOMES: Mapping[Outcome, str] = {
    Outcome.HIT_REFIT: "cached engine deserialized and refit with the network's weights",
    Outcome.HIT_IDENTICAL: "cached engine used as is: it has no weights that could differ "
    "(no refittable weights, or the key covers every weight value)",
    Outcome.MISS_BUILT: "no usable entry: built, and stored",
    Outcome.HIT_REFIT_FAILED_REBUILT: "the hit path failed (see reason); built fresh and "
    "stored, the entry quarantined if it was at fault",
    Outcome.HIT_PINNED_MISMATCH_BUILT: "a weight the cached engine baked in has other values; "
    "built and stored beside it as a variant, never refit",
    Outcome.HIT_VERIFY_FAILED_REBUILT: "verification mode: the refit engine differs from a "
    "fresh build's; the fresh build is returned and the entry quarantined",
    Outcome.CACHE_ERROR_BUILT: "the cache could not be read or written: plain build (warning)",
}


@dataclass(frozen=True)
class HitFailure:
    """A kind of hit-path failure and whether the entry (not the network) is at fault."""

    code: str
    entry_at_fault: bool
    meaning: str


#: Every way the hit path can fail. An entry at fault is quarantined; either way the
#: engine is rebuilt and stored, and a partially refit engine is never returned.
FAILURES: Mapping[str, HitFailure] = {
    f.code: f
    for f in (
        HitFailure("no-metadata", False, "the entry was not stored by the pipeline"),
        HitFailure("bad-metadata", True, "the entry's pipeline metadata is malformed"),
        HitFailure("deserialize", True, "TensorRT could not deserialize the cached plan"),
        HitFailure("not-refittable", True, "the cached engine is not refittable"),
        HitFailure(
            "inventory-mismatch", True, "the engine's refit inventory differs from its manifest"
        ),
        HitFailure(
            "prototype-mismatch",
            True,
            "an engine weight's dtype or count differs from its manifest",
        ),
        HitFailure(
            "network-lacks-weight", False, "the network has no weights for an inventory entry"
        ),
        HitFailure("network-weight-mismatch", False, "a network weight's dtype or count differs"),
        HitFailure("unpinnable", False, "a baked-in weight's values cannot be read to compare"),
        HitFailure(
            "pinned-mismatch", False, "a variant's baked-in weights differ from the network's"
        ),
        HitFailure("set-weights", True, "the refitter rejected weights the manifest expects"),
        HitFailure("missing-weights", True, "weights were still missing after setting all"),
        HitFailure("refit", True, "refit_cuda_engine() returned False"),
        HitFailure("serialize", True, "the refit engine could not be serialized"),
        HitFailure("verify", True, "verification: the refit engine differs from a fresh build"),
        HitFailure("error", True, "an unexpected error on the hit path"),
    )
}


#: Phases that make many short-lived Python objects on large networks: they run without
#: cyclic garbage collection, which otherwise doubles the key's and 10x the collection's
#: time at 50k layers (reference counting still frees everything at once).
GC_PAUSED_PHASES = frozenset(
    {"key", "lookup", "collect", "pinned", "deserialize", "refit", "inspect", "dump", "explain"}
)


class Timings(dict[str, float]):
    """Seconds per phase (key, lock, lookup, deserialize, collect, refit, build, store, ...)."""

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        paused = name in GC_PAUSED_PHASES and gc.isenabled()
        if paused:
            gc.disable()
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start
            if paused:
                gc.enable()

    @property
    def total(self) -> float:
        return sum(self.values())


@dataclass
class BuildResult:
    """The engine and how it was obtained.

    ``plan`` is the serialized engine (``IHostMemory`` or bytes): on a miss, the build's;
    on a hit, the refit engine serialized with ``INCLUDE_REFIT`` (made on first access).
    ``verified`` (verification mode) is ``"plan"`` when a fresh build gave the same plan
    bytes, ``"signature"`` when the plans differ but the engines agree on I/O tensors,
    profiles and refit inventory (real TensorRT builds are not bit-for-bit deterministic).
    ``engine`` is the deserialized ``ICudaEngine`` where one exists (always on a hit;
    on a miss when ``deserialize=True`` was asked).
    """

    key: CacheKey
    outcome: Outcome
    entry_key: str
    reason: str | None = None
    failure: str | None = None
    timings: Timings = field(default_factory=Timings)
    refit_flag: str | None = None
    refit_flag_added: bool = False
    weightless: bool = False
    stored: bool = False
    quarantined: str | None = None
    variant: bool = False
    weights_refit: int = 0
    weight_bytes: int = 0
    explanation: MissExplanation | None = None
    weight_streaming: dict[str, Any] | None = None
    verified: str | None = None
    warnings: list[str] = field(default_factory=list)
    engine: Any = None
    _plan: Any = field(default=None, repr=False)
    _serialize: Any = field(default=None, repr=False)

    @property
    def hit(self) -> bool:
        return self.outcome.hit

    @property
    def plan(self) -> Any:
        """The serialized engine (serialized from the refit engine on first access)."""
        if self._plan is None and self._serialize is not None:
            with self.timings.phase("serialize"):
                self._plan = self._serialize()
            self._serialize = None
        return self._plan

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (for ``trt-netser build --json``)."""
        explanation = self.explanation
        return {
            "key": str(self.key),
            "entry_key": self.entry_key,
            "outcome": self.outcome.value,
            "hit": self.hit,
            "reason": self.reason,
            "failure": self.failure,
            "timings": {k: round(v, 6) for k, v in self.timings.items()},
            "refit_flag": self.refit_flag,
            "refit_flag_added": self.refit_flag_added,
            "weightless": self.weightless,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "variant": self.variant,
            "weights_refit": self.weights_refit,
            "weight_bytes": self.weight_bytes,
            "weight_streaming": self.weight_streaming,
            "verified": self.verified,
            "warnings": list(self.warnings),
            "explanation": explanation.to_dict() if explanation is not None else None,
        }
