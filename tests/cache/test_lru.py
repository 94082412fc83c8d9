"""LRU eviction: real last access decides, bounded by bytes computed from the store."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from trt_netser.cache import EngineCache

SIZE = 10_000


def _fill(cache: EngineCache, names: list[str]) -> None:
    for name in names:
        cache.put(name, name.encode() * (SIZE // len(name)))
        time.sleep(0.01)


def _sizes(cache: EngineCache) -> dict[str, int]:
    return {e.key: e.size for e in cache.entries()}


def test_access_order_not_write_order_decides(cache: EngineCache) -> None:
    _fill(cache, ["aaaa", "bbbb", "cccc", "dddd"])  # written a, b, c, d
    for name in ("aaaa", "bbbb"):  # a and b used after c and d were written
        time.sleep(0.01)
        assert cache.get(name) is not None
    one = max(_sizes(cache).values())
    report = cache.gc(max_bytes=2 * one)
    assert report.evicted == ["cccc", "dddd"]  # least recently used first
    assert sorted(_sizes(cache)) == ["aaaa", "bbbb"]
    assert report.bytes_after <= 2 * one and report.bytes_before > report.bytes_after


def test_gc_respects_max_bytes_exactly(cache: EngineCache) -> None:
    _fill(cache, [f"k{i:02d}" for i in range(10)])
    sizes = _sizes(cache)
    total = sum(sizes.values())
    for budget in (total, total - 1, total // 2, 1, 0):
        cache.gc(max_bytes=budget)
        left = sum(_sizes(cache).values())
        assert left <= budget
        assert left + max(sizes.values()) > budget or not _sizes(cache)  # no over-eviction
    assert cache.stats().entries == 0


def test_gc_without_budget_evicts_nothing(cache: EngineCache) -> None:
    _fill(cache, ["a1", "b1"])
    assert cache.gc().evicted == []
    assert len(_sizes(cache)) == 2


def test_max_age_evicts_unused_entries(cache: EngineCache) -> None:
    _fill(cache, ["old1", "new1"])
    path = cache.path_for("old1")
    assert isinstance(path, Path)
    (path / "last_used").write_text(repr(time.time() - 1000))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["created"] = manifest["last_used"] = time.time() - 1000
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert cache.gc(max_age=500).evicted == ["old1"]


def test_last_used_survives_mtime_changes(cache: EngineCache) -> None:
    """Copying or touching files (mtime) must not change the LRU order."""
    _fill(cache, ["first", "second"])
    cache.get("first")
    for path in Path(str(cache.root)).rglob("*"):
        os.utime(path, (0, 0))  # as after a restore that lost mtimes
    assert cache.gc(max_bytes=max(_sizes(cache).values())).evicted == ["second"]


def test_other_processes_entries_and_orphans_count(tmp_path: Path) -> None:
    one = EngineCache(tmp_path / "c")
    other = EngineCache(tmp_path / "c")  # another process, in effect: no shared state
    _fill(one, ["mine"])
    _fill(other, ["theirs"])
    other.get("mine")
    # An orphan with a broken manifest counts as least recently used.
    broken = tmp_path / "c" / "entries" / "broken@"
    broken.mkdir()
    (broken / "manifest.json").write_text("{")
    (broken / "plan-x").write_bytes(b"q" * SIZE)
    report = one.gc(max_bytes=2 * SIZE + 1000)
    assert report.evicted == ["broken"]
    assert sorted(_sizes(one)) == ["mine", "theirs"]
    assert one.gc(max_bytes=SIZE + 600).evicted == ["theirs"]


def test_locked_entries_are_not_evicted(cache: EngineCache) -> None:
    _fill(cache, ["busy", "idle"])
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with cache._lock("busy"), ctx.Pool(1) as pool:
        evicted, skipped = pool.apply(_gc_all, (str(cache.root),))
    assert evicted == ["idle"] and skipped == ["busy"]


def _gc_all(root: str) -> tuple[list[str], list[str]]:
    report = EngineCache(root).gc(max_bytes=0)
    return report.evicted, report.skipped_locked


def test_clear_quarantine(cache: EngineCache) -> None:
    _fill(cache, ["qq"])
    path = cache.path_for("qq")
    assert isinstance(path, Path)
    (path / "manifest.json").write_text("{")
    assert cache.get("qq") is None and cache.stats().quarantined == 1
    report = cache.gc(clear_quarantine=True)
    assert report.stray_bytes > 0 and cache.stats().quarantined == 0


@pytest.mark.parametrize("budget", [0, SIZE])
def test_gc_budget_counts_whole_entries(cache: EngineCache, budget: int) -> None:
    _fill(cache, ["x1", "y1"])
    cache.gc(max_bytes=budget)
    assert sum(_sizes(cache).values()) <= budget
