"""Corrupt or half-written entries are detected, quarantined, reported as misses, never returned."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from trt_netser.cache import EngineCache

PLAN = bytes(range(256)) * 400


def _entry(cache: EngineCache, key: str) -> Path:
    path = cache.path_for(key)
    assert isinstance(path, Path)
    return path


def _plan_file(cache: EngineCache, key: str) -> Path:
    [plan] = _entry(cache, key).glob("plan-*")
    return plan


def _flip_bit(cache: EngineCache, key: str) -> None:
    plan = _plan_file(cache, key)
    data = bytearray(plan.read_bytes())
    data[len(data) // 2] ^= 0x10
    plan.write_bytes(bytes(data))


def _truncate(cache: EngineCache, key: str) -> None:
    plan = _plan_file(cache, key)
    plan.write_bytes(plan.read_bytes()[:-1])


def _same_size_garbage(cache: EngineCache, key: str) -> None:
    plan = _plan_file(cache, key)
    plan.write_bytes(b"\0" * plan.stat().st_size)


def _break_manifest(cache: EngineCache, key: str) -> None:
    (_entry(cache, key) / "manifest.json").write_text('{"format": "trt-netser-engine-c')


def _manifest_not_object(cache: EngineCache, key: str) -> None:
    (_entry(cache, key) / "manifest.json").write_text("[1, 2]")


def _wrong_size_in_manifest(cache: EngineCache, key: str) -> None:
    path = _entry(cache, key) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["plan"]["size"] += 1
    path.write_text(json.dumps(manifest))


def _wrong_digest_in_manifest(cache: EngineCache, key: str) -> None:
    path = _entry(cache, key) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["plan"]["blake3"] = "0" * 64
    path.write_text(json.dumps(manifest))


def _manifest_for_other_key(cache: EngineCache, key: str) -> None:
    path = _entry(cache, key) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["key"] = "some/other"
    path.write_text(json.dumps(manifest))


def _delete_plan(cache: EngineCache, key: str) -> None:
    _plan_file(cache, key).unlink()


def _plan_is_directory(cache: EngineCache, key: str) -> None:
    plan = _plan_file(cache, key)
    plan.unlink()
    plan.mkdir()


CORRUPTIONS: dict[str, Callable[[EngineCache, str], None]] = {
    "flipped bit": _flip_bit,
    "truncated plan": _truncate,
    "same-size garbage": _same_size_garbage,
    "broken manifest": _break_manifest,
    "manifest not an object": _manifest_not_object,
    "wrong size": _wrong_size_in_manifest,
    "wrong digest": _wrong_digest_in_manifest,
    "manifest of another key": _manifest_for_other_key,
    "missing plan": _delete_plan,
    "plan is a directory": _plan_is_directory,
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_corrupt_entry_is_a_miss_and_quarantined(
    tmp_path: Path, corrupt: Callable[[EngineCache, str], None], caplog: pytest.LogCaptureFixture
) -> None:
    cache = EngineCache(tmp_path / "c")  # lenient: corruption must never raise
    cache.put("v1/k", PLAN)
    cache.put("v1/good", PLAN)
    corrupt(cache, "v1/k")
    assert cache.get("v1/k") is None
    assert cache.get("v1/k", load=False) is None
    assert "moved to" in caplog.text and "v1/k" in caplog.text
    assert not cache.contains("v1/k")
    assert [e.key for e in cache.entries()] == ["v1/good"]
    stats = cache.stats()
    assert stats.quarantined == 1 and stats.entries == 1
    [quarantined] = (cache.root / "quarantine").iterdir()  # type: ignore[operator]
    reason = json.loads((quarantined / "reason.json").read_text())
    assert reason["key"] == "v1/k" and reason["reason"]
    # The key can be rebuilt and used again.
    cache.put("v1/k", PLAN)
    assert cache.get("v1/k").plan == PLAN  # type: ignore[union-attr]


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_verify_finds_and_quarantines(
    tmp_path: Path, corrupt: Callable[[EngineCache, str], None]
) -> None:
    cache = EngineCache(tmp_path / "c")
    for name in ("a", "b", "c"):
        cache.put(f"v1/{name}", PLAN + name.encode())
    corrupt(cache, "v1/b")
    report = cache.verify()
    assert report.checked == 3
    assert sorted(report.ok) == ["v1/a", "v1/c"]
    assert [k for k, _ in report.quarantined] == ["v1/b"] and not report.clean
    assert cache.verify().clean and cache.verify().checked == 2


def test_newer_manifest_version_is_a_miss_but_kept(cache: EngineCache) -> None:
    cache.put("k", PLAN)
    path = _entry(cache, "k") / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 99
    path.write_text(json.dumps(manifest))
    assert cache.get("k") is None
    assert path.exists()  # written by a newer trt-netser: not ours to quarantine
    assert cache.verify().skipped == [("k", "newer manifest version")]


def test_older_minimal_manifest_is_accepted(cache: EngineCache) -> None:
    cache.put("k", PLAN)
    path = _entry(cache, "k") / "manifest.json"
    manifest = json.loads(path.read_text())
    for optional in ("created", "last_used", "build_seconds", "extras", "key_components"):
        del manifest[optional]
    path.write_text(json.dumps(manifest))
    assert cache.get("k").plan == PLAN  # type: ignore[union-attr]
    assert [e.key for e in cache.entries()] == ["k"]


def test_stray_temp_files_are_cleaned_only_when_dead_or_old(cache: EngineCache) -> None:
    cache.put("k", PLAN)
    staging = cache.root / ".staging"  # type: ignore[operator]
    dead = staging / f"plan-{2**22 + 12345}-00aa@{_host()}"
    live = staging / f"plan-{os.getpid()}-00bb@{_host()}"
    foreign_old = staging / "plan-1-00cc@elsewhere"
    foreign_new = staging / "plan-1-00dd@elsewhere"
    junk_old = staging / "random.tmp"
    for path in (dead, live, foreign_old, foreign_new, junk_old):
        path.write_bytes(b"z" * 1000)
    old = time.time() - 7200
    os.utime(foreign_old, (old, old))
    os.utime(junk_old, (old, old))
    # An orphan plan in an entry dir (writer killed before its manifest) and an orphan dir.
    orphan_plan = _entry(cache, "k") / ("plan-" + "f" * 64)
    orphan_plan.write_bytes(b"half")
    orphan_dir = cache.root / "entries" / "half@"  # type: ignore[operator]
    orphan_dir.mkdir()
    (orphan_dir / ("plan-" + "e" * 64)).write_bytes(b"half")
    assert cache.get("half") is None
    report = cache.gc()
    assert report.strays_removed >= 4 and report.stray_bytes >= 3000
    assert sorted(p.name for p in staging.iterdir()) == sorted([live.name, foreign_new.name])
    assert not orphan_plan.exists() and not orphan_dir.exists()
    assert cache.get("k").plan == PLAN  # type: ignore[union-attr]


def test_orphans_of_a_locked_key_are_left_alone(cache: EngineCache) -> None:
    cache.put("k", PLAN)
    orphan = _entry(cache, "k") / ("plan-" + "f" * 64)
    orphan.write_bytes(b"being published")
    with cache._lock("k"):  # a live writer between plan and manifest
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            pool.apply(_gc_in_other_process, (str(cache.root),))
        assert orphan.exists()
    cache.gc()
    assert not orphan.exists()


def _gc_in_other_process(root: str) -> None:
    EngineCache(root).gc()


def _host() -> str:
    from trt_netser.cache._local import _HOST

    return _HOST
