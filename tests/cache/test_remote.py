"""The fsspec store: same behaviours on memory:// and on S3 (moto server on loopback)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from trt_netser.cache import EngineCache

from .test_keys import GOOD, FakeKey

PLAN = bytes(range(256)) * 300


def _fs(cache: EngineCache):  # type: ignore[no-untyped-def]
    return cache._backend.fs  # type: ignore[union-attr]


def _entry(cache: EngineCache, key: str) -> str:
    return cache._backend._entry(key)  # type: ignore[union-attr]


def _plan_object(cache: EngineCache, key: str) -> str:
    [plan] = [p for p in _fs(cache).find(_entry(cache, key)) if "/plan-" in p]
    return plan


@pytest.fixture(params=["memory", "s3"])
def remote(request: pytest.FixtureRequest) -> EngineCache:
    return request.getfixturevalue(f"{request.param}_cache")


def test_round_trip_and_listing(remote: EngineCache, tmp_path: Path) -> None:
    assert remote.is_remote and remote.get(GOOD) is None
    remote.put(FakeKey(), PLAN, build_seconds=2.0, extras={"farm": "a"})
    source = tmp_path / "engine.plan"
    source.write_bytes(PLAN[::-1])
    remote.put("v1/from-path", source)
    got = remote.get(GOOD)
    assert got is not None and got.plan == PLAN and got.components == FakeKey().to_dict()
    assert got.path is None and got.extras == {"farm": "a"}
    assert remote.get("v1/from-path").plan == PLAN[::-1]  # type: ignore[union-attr]
    lazy = remote.get(GOOD, load=False)  # no local file: the verified bytes instead
    assert lazy is not None and lazy.read() == PLAN and lazy.open().read() == PLAN
    assert sorted(e.key for e in remote.entries()) == sorted([GOOD, "v1/from-path"])
    stats = remote.stats()
    assert stats.entries == 2 and stats.plan_bytes == 2 * len(PLAN)
    assert remote.contains(GOOD) and remote.remove(GOOD) and not remote.contains(GOOD)
    assert str(remote.path_for("v1/from-path")).endswith("/entries/v1/from-path@")
    assert remote.verify().ok == ["v1/from-path"]


def _flip(cache: EngineCache, key: str) -> None:
    path = _plan_object(cache, key)
    data = bytearray(_fs(cache).cat_file(path))
    data[100] ^= 1
    _fs(cache).pipe_file(path, bytes(data))


def _truncate(cache: EngineCache, key: str) -> None:
    path = _plan_object(cache, key)
    _fs(cache).pipe_file(path, _fs(cache).cat_file(path)[:-5])


def _break_manifest(cache: EngineCache, key: str) -> None:
    _fs(cache).pipe_file(_entry(cache, key) + "/manifest.json", b"{not json")


def _drop_plan(cache: EngineCache, key: str) -> None:
    _fs(cache).rm_file(_plan_object(cache, key))


@pytest.mark.parametrize("corrupt", [_flip, _truncate, _break_manifest, _drop_plan])
def test_corruption_is_detected_and_quarantined(remote: EngineCache, corrupt) -> None:  # type: ignore[no-untyped-def]
    lenient = EngineCache(
        str(remote.root), storage_options=_options(remote), lock_dir=_lock_dir(remote)
    )
    lenient.put("v1/bad", PLAN)
    lenient.put("v1/good", PLAN)
    corrupt(lenient, "v1/bad")
    assert lenient.get("v1/bad") is None
    assert not lenient.contains("v1/bad")
    assert [e.key for e in lenient.entries()] == ["v1/good"]
    assert lenient.stats().quarantined == 1
    lenient.put("v1/bad", PLAN)
    corrupt(lenient, "v1/bad")
    report = lenient.verify()
    assert report.ok == ["v1/good"] and [k for k, _ in report.quarantined] == ["v1/bad"]


def _options(cache: EngineCache) -> dict[str, object]:
    fs = _fs(cache)
    return dict(getattr(fs, "storage_options", {}))


def _lock_dir(cache: EngineCache) -> Path:
    return cache._backend.lock_dir  # type: ignore[union-attr]


def test_conditional_publish_first_writer_wins(remote: EngineCache, tmp_path: Path) -> None:
    """Two hosts (separate lock dirs) publish the same key: the manifest write is conditional."""
    other = EngineCache(
        str(remote.root), storage_options=_options(remote), lock_dir=tmp_path / "other-host"
    )
    first = remote.put("v1/k", b"first-engine", replace=False)
    # Skip the early look-up so the conditional manifest write itself must refuse.
    backend = other._backend
    real_cat = backend._cat  # type: ignore[union-attr]
    calls = []

    def first_lookup_misses(path: str, limit: int | None = None) -> bytes | None:
        calls.append(path)
        return None if len(calls) == 1 else real_cat(path, limit)

    backend._cat = first_lookup_misses  # type: ignore[union-attr]
    try:
        second = other.put("v1/k", b"second-engine", replace=False)
    finally:
        del backend._cat  # type: ignore[union-attr]
    fs = _fs(other)
    assert calls[0].endswith("manifest.json")
    assert second.plan == first.plan == b"first-engine"
    assert remote.get("v1/k").plan == b"first-engine"  # type: ignore[union-attr]
    manifest = json.loads(fs.cat_file(_entry(remote, "v1/k") + "/manifest.json"))
    assert manifest["plan"]["blake3"] == first.digest
    # The loser's plan object is unreferenced: gc removes it once old enough.
    assert len([p for p in fs.find(_entry(remote, "v1/k")) if "/plan-" in p]) == 2
    other.stale_after = 0.0
    time.sleep(1.1)
    other.gc()
    assert len([p for p in fs.find(_entry(remote, "v1/k")) if "/plan-" in p]) == 1
    assert remote.get("v1/k").plan == b"first-engine"  # type: ignore[union-attr]
    # replace=True overwrites unconditionally.
    remote.put("v1/k", b"third")
    assert other.get("v1/k").plan == b"third"  # type: ignore[union-attr]


def test_get_or_build_across_hosts_adopts_the_winner(remote: EngineCache, tmp_path: Path) -> None:
    other = EngineCache(
        str(remote.root), storage_options=_options(remote), lock_dir=tmp_path / "other-host"
    )
    built = []
    assert remote.get_or_build("v1/k", lambda: built.append(1) or b"engine").plan == b"engine"
    assert other.get_or_build("v1/k", lambda: built.append(2) or b"other").plan == b"engine"
    assert built == [1]


def test_remote_lru_uses_last_used_objects(remote: EngineCache) -> None:
    for name in ("a", "b", "c"):
        remote.put(f"v1/{name}", PLAN)
        time.sleep(0.01)
    time.sleep(0.01)
    assert remote.get("v1/a") is not None
    one = max(e.size for e in remote.entries())
    report = remote.gc(max_bytes=2 * one)
    assert report.evicted == ["v1/b"]
    assert sorted(e.key for e in remote.entries()) == ["v1/a", "v1/c"]


def test_unreachable_remote_degrades(tmp_path: Path) -> None:
    from .conftest import _free_port, s3_options

    dead = f"http://127.0.0.1:{_free_port()}"
    options = s3_options(dead)
    options["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    cache = EngineCache("s3://nowhere/x", storage_options=options, lock_dir=tmp_path / "l")
    assert cache.get("v1/k") is None
    entry = cache.get_or_build("v1/k", lambda: b"engine")
    assert entry.plan == b"engine" and not entry.stored
