"""Local store: round trip, API surface, permissions, defaults and graceful degradation."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import trt_netser.cache as cache_mod
from trt_netser.cache import CacheError, EngineCache

from .test_keys import GOOD, FakeKey


def test_round_trip_bytes(cache: EngineCache) -> None:
    plan = os.urandom(100_000)
    assert cache.get(GOOD) is None
    put = cache.put(GOOD, plan, build_seconds=12.5, extras={"builder": "ci"})
    assert put.stored and put.size == len(plan)
    got = cache.get(GOOD)
    assert got is not None
    assert got.plan == plan and got.digest == put.digest and got.key == GOOD
    assert got.build_seconds == 12.5 and got.extras == {"builder": "ci"}
    assert got.manifest["trt_netser_version"]
    assert got.read() == plan


def test_round_trip_key_object_records_components(cache: EngineCache) -> None:
    key = FakeKey()
    cache.put(key, b"engine")
    got = cache.get(key)
    assert got is not None and got.components == key.to_dict()
    [info] = cache.entries()
    assert info.components == key.to_dict() and info.key == GOOD


def test_plan_from_path_buffer_and_numpy(cache: EngineCache, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    source = tmp_path / "engine.plan"
    source.write_bytes(b"p" * 30_000_000)  # several chunks
    assert cache.put("k/path", source).size == 30_000_000
    assert cache.get("k/path").plan == source.read_bytes()  # type: ignore[union-attr]
    cache.put("k/bytearray", bytearray(b"abc"))
    assert cache.get("k/bytearray").plan == b"abc"  # type: ignore[union-attr]
    array = np.arange(10, dtype=np.float32)
    cache.put("k/numpy", array)
    assert cache.get("k/numpy").plan == array.tobytes()  # type: ignore[union-attr]


def test_get_without_load_gives_verified_path(cache: EngineCache) -> None:
    cache.put(GOOD, b"x" * 5000)
    entry = cache.get(GOOD, load=False)
    assert entry is not None and entry.plan is None and entry.path is not None
    assert entry.path.read_bytes() == b"x" * 5000
    with entry.open() as stream:
        assert stream.read() == b"x" * 5000


def test_contains_remove_entries_stats(cache: EngineCache) -> None:
    assert not cache.contains("a/b") and "a/b" not in cache
    cache.put("a/b", b"1" * 10)
    cache.put("a/b/c", b"2" * 20)  # a key may be a prefix of another
    cache.put("z", b"3" * 30)
    assert cache.contains("a/b") and "a/b/c" in cache
    assert sorted(e.key for e in cache.entries()) == ["a/b", "a/b/c", "z"]
    stats = cache.stats()
    assert stats.entries == 3 and stats.plan_bytes == 60 and stats.bytes > 60
    assert stats.puts == 3
    assert cache.remove("a/b") is True
    assert cache.remove("a/b") is False
    assert cache.get("a/b") is None and cache.get("a/b/c") is not None
    assert cache.stats().entries == 2
    assert cache.stats().hits == 1 and cache.stats().misses == 1


def test_replace_and_conditional_put(cache: EngineCache) -> None:
    cache.put(GOOD, b"old")
    cache.put(GOOD, b"new")
    assert cache.get(GOOD).plan == b"new"  # type: ignore[union-attr]
    kept = cache.put(GOOD, b"newer", replace=False)
    assert kept.plan == b"new"
    entry_dir = cache.path_for(GOOD)
    assert isinstance(entry_dir, Path)
    assert len(list(entry_dir.glob("plan-*"))) == 1  # replaced plans are deleted


def test_info_and_path_for(cache: EngineCache) -> None:
    cache.put(GOOD, b"abc", build_seconds=3.0)
    info = cache.info(GOOD)
    assert info is not None and info.plan_size == 3 and info.build_seconds == 3.0
    assert info.last_used >= info.created
    path = cache.path_for(GOOD)
    assert isinstance(path, Path) and path.is_dir()
    assert path == cache.root / "entries" / "v1" / "trt-10.16.1.11" / "sm90" / ("a" * 64) / (
        "b" * 64 + "@"
    )
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["key"] == GOOD and manifest["plan"]["size"] == 3


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        cache = EngineCache(tmp_path / "private")
        cache.put(GOOD, b"plan")
    finally:
        os.umask(old)
    root = cache.root
    assert isinstance(root, Path)
    for path in [root, *root.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, path


def test_shared_permissions(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        cache = EngineCache(tmp_path / "shared", shared=True)
        cache.put(GOOD, b"plan")
        cache.get(GOOD)
    finally:
        os.umask(old)
    root = cache.root
    assert isinstance(root, Path)
    for path in [root, *root.rglob("*")]:
        expected = 0o2770 if path.is_dir() else 0o660
        assert _mode(path) == expected, path


def test_default_root_env_and_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRT_NETSER_CACHE", str(tmp_path / "env"))
    assert EngineCache().root == tmp_path / "env"
    monkeypatch.delenv("TRT_NETSER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = EngineCache().root
    assert isinstance(root, Path) and root.name == "trt-netser"
    assert cache_mod.default_root().endswith("trt-netser")


def test_file_url_is_local(tmp_path: Path) -> None:
    cache = EngineCache(f"file://{tmp_path}/viaurl")
    assert not cache.is_remote and cache.root == tmp_path / "viaurl"
    cache.put("a", b"x")
    assert (tmp_path / "viaurl" / "entries" / "a@" / "manifest.json").is_file()


def test_bad_inputs_raise_clear_errors(cache: EngineCache, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="plan must be bytes"):
        cache.put("a", 123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="plan is None"):
        cache.put("a", None)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cache.put("a", tmp_path / "missing.plan")
    with pytest.raises(TypeError, match="extras must be a dict"):
        cache.put("a", b"x", extras=[1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="JSON"):
        cache.put("a", b"x", extras={"f": object()})
    with pytest.raises(ValueError, match="build_seconds"):
        cache.put("a", b"x", build_seconds=float("nan"))
    with pytest.raises(TypeError, match="build must be callable"):
        cache.get_or_build("a", b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="build\\(\\)"):
        cache.get_or_build("a", lambda: 3)
    with pytest.raises(TypeError, match="root must be"):
        EngineCache(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_bytes"):
        cache.gc(-1)
    assert not cache.contains("a")


def test_extras_a_reader_would_reject_are_refused(cache: EngineCache) -> None:
    # a manifest over the readers' bound would be quarantined as corrupt on every read
    many = {"inventory": [[f"layer{i}", "CONSTANT", "FLOAT", i] for i in range(30_000)]}
    with pytest.raises(ValueError, match="extras too large"):
        cache.put("a", b"x", extras=many)
    assert not cache.contains("a")
    few = {"inventory": many["inventory"][:3_000]}
    assert cache.put("a", b"x", extras=few).stored
    got = cache.get("a")
    assert got is not None and got.extras == few


def test_write_failure_degrades_and_strict_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lenient = EngineCache(tmp_path / "c")
    strict = EngineCache(tmp_path / "c", strict=True)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    entry = lenient.put("k", b"engine")
    assert entry.stored is False and entry.plan == b"engine"
    assert "write failed" in caplog.text and "No space left" in caplog.text
    built = lenient.get_or_build("k2", lambda: b"built")
    assert built.plan == b"built" and not built.stored
    with pytest.raises(CacheError, match="No space left"):
        strict.put("k", b"engine")
    monkeypatch.undo()
    assert lenient.get("k") is None
    assert lenient.stats().staging_bytes == 0  # staged plan was discarded


def test_read_failure_is_a_miss(cache: EngineCache, monkeypatch: pytest.MonkeyPatch) -> None:
    lenient = EngineCache(cache.root)
    lenient.put("k", b"engine")

    def boom(*args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(lenient._backend), "read_manifest", boom)
    assert lenient.get("k") is None
    with pytest.raises(CacheError, match="Permission denied"):
        cache.get("k")


def test_get_or_build_builds_once_in_process(cache: EngineCache) -> None:
    calls = []

    def build() -> bytes:
        calls.append(1)
        return b"engine"

    first = cache.get_or_build(GOOD, build)
    second = cache.get_or_build(GOOD, build)
    assert calls == [1]
    assert first.plan == second.plan == b"engine"
    assert first.build_seconds is not None and first.build_seconds >= 0


def test_build_errors_propagate_and_release_the_lock(cache: EngineCache) -> None:
    def fail() -> bytes:
        raise RuntimeError("builder crashed")

    with pytest.raises(RuntimeError, match="builder crashed"):
        cache.get_or_build("k", fail)
    assert cache.get_or_build("k", lambda: b"ok").plan == b"ok"


def test_verify_and_gc_report_progress(tmp_path: Path) -> None:
    """verify() and gc() call progress(done, total) once per entry, ending at the total."""
    cache = EngineCache(tmp_path / "c")
    for i in range(3):
        cache.put(f"v1/p/k{i}", b"plan %d" % i)
    calls: list[tuple[int, int]] = []
    cache.verify(progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    cache.gc(10**9, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
