"""Why did this build miss? The nearest cached entry and what differs from it.

Like JAX's ``explain_cache_misses``, but it names the entry: among the pipeline's
entries it picks, in this order, one with the same network and other build settings,
one with the same settings and another network, else the one with the fewest differing
key components (most recently used first). It lists the differing components with the
paths of the values that changed and, when both sides have a dump, the first divergent
layer and attribute as ``trt-netser diff`` reports them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trt_netser.key import CacheKey, value_changes
from trt_netser.pipeline._entry import EXTRAS_KEY

__all__ = ["RELATIONS", "MissExplanation", "explain_miss"]

logger = logging.getLogger("trt_netser.pipeline")

#: How the nearest entry relates to the build that missed, best first.
RELATIONS: Mapping[str, str] = {
    "same-network": "same network, other build settings (config, TensorRT, device or extras)",
    "same-config": "same build settings, another network",
    "most-similar": "the entry with the fewest differing key components",
    "empty": "the cache holds no entry stored by the pipeline",
}

_MAX_DETAILS = 12
_MAX_CHANGES = 8


@dataclass
class MissExplanation:
    """The nearest entry, how it relates, and what differs."""

    relation: str
    nearest: str | None = None
    differing: list[str] = field(default_factory=list)
    details: list[tuple[str, str, str, str]] = field(default_factory=list)
    first: str | None = None
    changes: list[str] = field(default_factory=list)
    candidates: int = 0

    @property
    def summary(self) -> str:
        if self.nearest is None:
            return "miss: " + RELATIONS["empty"]
        text = f"miss: nearest entry {self.nearest} ({RELATIONS[self.relation]})"
        if self.differing:
            text += "; differs in " + ", ".join(self.differing)
        if self.first:
            text += f"; first difference: {self.first}"
        return text

    def lines(self) -> list[str]:
        """Readable lines for the CLI."""
        out = [self.summary]
        for component, path, old, new in self.details:
            out.append(f"  {component}: {path or 'value'}: {old} -> {new}")
        out.extend(f"  network: {c}" for c in self.changes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "nearest": self.nearest,
            "differing": list(self.differing),
            "details": [
                {"component": c, "path": p, "old": o, "new": n} for c, p, o, n in self.details
            ],
            "first": self.first,
            "changes": list(self.changes),
            "candidates": self.candidates,
            "summary": self.summary,
        }


def _short(value: Any, width: int = 80) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _rank(differing: tuple[str, ...]) -> tuple[int, str]:
    if "network" not in differing:
        return 0, "same-network"
    if differing == ("network",):
        return 1, "same-config"
    return 2, "most-similar"


def explain_miss(run: Any, k: str) -> MissExplanation | None:
    """Explain the miss of ``run``'s key against the entries of ``run.cache``."""
    try:
        return _explain(run, k)
    except Exception as exc:  # an explanation must never break a build
        logger.warning("could not explain the miss of %r: %s", k, exc)
        return None


def _explain(run: Any, k: str) -> MissExplanation:
    key: CacheKey = run.key
    best: tuple[Any, ...] | None = None
    candidates = 0
    for info in run.cache.entries():
        data = info.extras.get(EXTRAS_KEY)
        if info.key == k or not isinstance(data, Mapping) or data.get("variant_of"):
            continue
        try:
            other = CacheKey.from_dict(info.components or {})
        except (ValueError, KeyError, TypeError):
            continue
        candidates += 1
        differing = key.diff(other)
        rank, relation = _rank(differing)
        order = (rank, len(differing), -info.last_used, info.key)
        if best is None or order < best[0]:
            best = (order, info, other, differing, relation, data)
    if best is None:
        return MissExplanation("empty", candidates=candidates)
    _order, info, other, differing, relation, data = best
    result = MissExplanation(relation, info.key, list(differing), candidates=candidates)
    for name in differing:
        if name == "network":
            continue
        mine, theirs = key.component(name), other.component(name)
        for path, old, new in value_changes(theirs.value, mine.value):
            if len(result.details) >= _MAX_DETAILS:
                break
            result.details.append((name, path, _short(old), _short(new)))
    if "network" in differing and isinstance(data.get("dump_key"), str):
        _network_diff(run, data["dump_key"], result)
    if result.first is None and result.details:
        component, path, old, new = result.details[0]
        result.first = f"key component {component}: {path or 'value'} changed from {old} to {new}"
    return result


def _network_diff(run: Any, dump_key: str, result: MissExplanation) -> None:
    """The first divergent layer and attribute, from the stored and the current dumps."""
    from trt_netser.cli.diff import diff_subjects
    from trt_netser.pipeline._dump import current_subject, load_dump_bytes

    entry = run.cache.get(dump_key)
    if entry is None:
        return
    stored = load_dump_bytes(entry.read())
    diff = diff_subjects(stored, current_subject(run))
    changes = list(diff.changes)
    if changes:
        # in the first divergent layer, an attribute is the cause, a shape its effect
        top = changes[0]
        cause = next(
            (c for c in changes if c.where == top.where and c.what.startswith("attribute")), top
        )
        changes.remove(cause)
        changes.insert(0, cause)
        result.first = cause.sentence()
    result.changes = [c.sentence() for c in changes[:_MAX_CHANGES]]
