"""An entry and its parts (``<key>/dump``, ``<key>/refit-record``) live and die together.

The build-or-refit pipeline stores them through the public ``put`` with a claim in their
extras (``trt_netser.dump_of`` / ``trt_netser.record_of``); these tests store them the
same way, on the local store, memory:// and S3 (moto on loopback).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trt_netser.cache import EngineCache

ENTRY = "v1/trt-10.16.1.11/sm90/net0/cfg0"
OTHER = "v1/trt-10.16.1.11/sm90/net1/cfg0"
PLAN = bytes(range(256)) * 40


def _store_family(cache: EngineCache, key: str, plan: bytes = PLAN) -> None:
    """What the pipeline stores: the dump and the record first (claiming the entry),
    then the entry, whose metadata names both."""
    cache.put(f"{key}/dump", b"dump of " + key.encode(), extras={"trt_netser.dump_of": key})
    cache.put(f"{key}/refit-record", b'{"inventory": {}}', extras={"trt_netser.record_of": key})
    meta = {"dump_key": f"{key}/dump", "record": {"key": f"{key}/refit-record"}}
    cache.put(key, plan, extras={"trt_netser.pipeline": meta})


def _keys(cache: EngineCache) -> set[str]:
    return {e.key for e in cache.entries()}


def _family(key: str) -> set[str]:
    return {key, f"{key}/dump", f"{key}/refit-record"}


def _relaxed(cache: EngineCache, tmp_path: Path) -> EngineCache:
    """The same store with ``stale_after=0`` (remote orphans are removed once old)."""
    if not cache.is_remote:
        return EngineCache(cache.root, strict=True, stale_after=0)
    backend = cache._backend  # type: ignore[union-attr]
    return EngineCache(
        str(cache.root),
        storage_options=dict(backend.fs.storage_options),
        lock_dir=tmp_path / "locks",
        strict=True,
        stale_after=0,
    )


def test_remove_takes_the_parts_along(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    _store_family(any_cache, OTHER)
    # a user's own entry that happens to be called <key>/dump belongs to nobody
    mine = "v1/mine"
    any_cache.put(mine, PLAN)
    any_cache.put(f"{mine}/dump", b"my own plan")
    any_cache.put(f"{mine}/refit-record", b"{}", extras={"trt_netser.record_of": OTHER})
    assert any_cache.remove(ENTRY) and any_cache.remove(mine)
    assert _keys(any_cache) == _family(OTHER) | {f"{mine}/dump", f"{mine}/refit-record"}
    assert any_cache.stats().bytes == sum(e.size for e in any_cache.entries())
    assert not any_cache.remove(ENTRY)  # nothing left of it
    assert any_cache.stats().orphans == 0 and any_cache.gc().orphans_removed == []


def test_removing_a_part_or_a_variant_keeps_the_entry(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    variant = f"{ENTRY}/pinned-0123456789abcdef0123456789abcdef"
    _store_family(any_cache, variant, PLAN[::-1])
    assert any_cache.remove(f"{ENTRY}/dump")
    assert any_cache.remove(variant)  # a variant is an entry of its own, with its parts
    assert _keys(any_cache) == {ENTRY, f"{ENTRY}/refit-record"}
    _store_family(any_cache, variant, PLAN[::-1])
    assert any_cache.remove(ENTRY)  # ... and its parent's removal leaves it
    assert _keys(any_cache) == _family(variant)


def test_a_record_named_by_its_entry_goes_with_it(any_cache: EngineCache) -> None:
    # records written before they claimed their entry: the entry's metadata names them
    any_cache.put(f"{ENTRY}/refit-record", b"{}")
    meta = {"record": {"key": f"{ENTRY}/refit-record"}}
    any_cache.put(ENTRY, PLAN, extras={"trt_netser.pipeline": meta})
    assert any_cache.remove(ENTRY) and _keys(any_cache) == set()
    any_cache.put(f"{ENTRY}/refit-record", b"{}")
    any_cache.put(ENTRY, PLAN, extras={"trt_netser.pipeline": meta})
    assert any_cache.info(ENTRY).parts == (f"{ENTRY}/refit-record",)  # type: ignore[union-attr]


def test_lru_judges_and_evicts_an_entry_with_its_parts(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    time.sleep(0.01)
    _store_family(any_cache, OTHER)
    size = {e.key: e.size for e in any_cache.entries()}
    family = {key: sum(size[k] for k in _family(key)) for key in (ENTRY, OTHER)}
    # the parts were written first, so they are older than any entry: LRU by part would
    # evict them and keep an entry that can no longer hit
    report = any_cache.gc(max_bytes=family[OTHER] + size[ENTRY])
    assert _keys(any_cache) == _family(OTHER)
    assert report.evicted == [ENTRY] and report.parts_removed == 2
    assert report.bytes_after == family[OTHER]
    assert report.bytes_before - report.bytes_after == family[ENTRY]


def test_a_hit_keeps_the_family_young(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    time.sleep(0.01)
    _store_family(any_cache, OTHER)
    time.sleep(0.01)
    assert any_cache.get(ENTRY) is not None  # the entry's use, not its parts', counts
    total = any_cache.stats().bytes
    report = any_cache.gc(max_bytes=total - 1)
    assert report.evicted == [OTHER] and _keys(any_cache) == _family(ENTRY)
    assert report.bytes_after == sum(e.size for e in any_cache.entries())


def test_max_age_evicts_whole_families(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    time.sleep(0.05)
    report = any_cache.gc(max_age=0.01)
    assert report.evicted == [ENTRY] and _keys(any_cache) == set()


def test_dry_run_reports_families_and_changes_nothing(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    report = any_cache.gc(max_bytes=0, dry_run=True)
    assert report.evicted == [ENTRY] and report.parts_removed == 2
    assert report.bytes_after == 0 and _keys(any_cache) == _family(ENTRY)


def test_gc_removes_orphans_and_keeps_parts(any_cache: EngineCache, tmp_path: Path) -> None:
    _store_family(any_cache, OTHER)
    any_cache.put(f"{ENTRY}/dump", b"dump", extras={"trt_netser.dump_of": ENTRY})
    any_cache.put(f"{ENTRY}/refit-record", b"{}", extras={"trt_netser.record_of": ENTRY})
    stats = any_cache.stats()
    assert stats.entries == 1  # orphans are no entries
    assert (stats.parts, stats.orphans) == (2, 2)
    orphan = next(e for e in any_cache.entries() if e.key == f"{ENTRY}/dump")
    assert orphan.orphan and orphan.part_of == ENTRY
    relaxed = _relaxed(any_cache, tmp_path)
    report = relaxed.gc()
    assert sorted(report.orphans_removed) == sorted([f"{ENTRY}/dump", f"{ENTRY}/refit-record"])
    assert report.evicted == [] and _keys(any_cache) == _family(OTHER)


def test_remote_orphans_wait_for_stale_after(remote_cache: EngineCache) -> None:
    # another host may be writing the entry right now: its locks are not shared
    remote_cache.put(f"{ENTRY}/dump", b"dump", extras={"trt_netser.dump_of": ENTRY})
    assert remote_cache.gc().orphans_removed == []
    assert _keys(remote_cache) == {f"{ENTRY}/dump"}


def test_an_orphan_is_kept_while_its_entry_is_being_written(cache: EngineCache) -> None:
    # the pipeline writes an entry's parts holding the entry's lock
    with cache.lock(ENTRY):
        cache.put(f"{ENTRY}/dump", b"dump", extras={"trt_netser.dump_of": ENTRY})
        other = EngineCache(cache.root, strict=True)
        assert other.gc().orphans_removed == [] and _keys(other) == {f"{ENTRY}/dump"}
    report = EngineCache(cache.root, strict=True).gc()  # the writer died before its entry
    assert _keys(cache) == set() and report.orphans_removed == [f"{ENTRY}/dump"]


def test_quarantine_takes_the_parts_along(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    _store_family(any_cache, OTHER)
    entry = any_cache.get(ENTRY)
    assert any_cache.quarantine(ENTRY, "deserialize: garbage", entry=entry) is not None
    assert _keys(any_cache) == _family(OTHER)
    assert any_cache.stats().quarantined == 3  # kept for inspection, each with its reason


def test_a_corrupt_entry_is_quarantined_with_its_parts(cache: EngineCache) -> None:
    _store_family(cache, ENTRY)
    plan = next((Path(str(cache.path_for(ENTRY)))).glob("plan-*"))
    plan.write_bytes(b"flipped" + plan.read_bytes()[7:])
    lenient = EngineCache(cache.root)
    assert lenient.get(ENTRY) is None
    assert _keys(lenient) == set() and lenient.stats().quarantined == 3
    report = EngineCache(cache.root).verify()
    assert report.clean and report.checked == 0


def test_verify_quarantines_a_bad_entry_with_its_parts(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    _store_family(any_cache, OTHER)
    if any_cache.is_remote:
        fs = any_cache._backend.fs  # type: ignore[union-attr]
        where = any_cache._backend._entry(ENTRY)  # type: ignore[union-attr]
        fs.pipe_file(f"{where}/manifest.json", b"{not json")
    else:
        (Path(str(any_cache.path_for(ENTRY))) / "manifest.json").write_bytes(b"{not json")
    report = any_cache.verify()
    assert [k for k, _why in report.quarantined] == [ENTRY]
    # parts are found by their claim when the entry's manifest cannot be read
    assert _keys(any_cache) == _family(OTHER)


def test_an_interrupted_removal_leaves_orphans_gc_removes(
    any_cache: EngineCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_family(any_cache, ENTRY)
    backend = any_cache._backend
    real = backend.remove

    def dies_after_the_entry(key: str) -> bool:
        if key != ENTRY:
            raise OSError("interrupted")
        return real(key)

    monkeypatch.setattr(backend, "remove", dies_after_the_entry)
    assert any_cache.remove(ENTRY)  # the entry went first; its parts could not follow
    monkeypatch.setattr(backend, "remove", real)
    assert any_cache.get(ENTRY) is None and not any_cache.contains(ENTRY)
    assert _keys(any_cache) == _family(ENTRY) - {ENTRY}
    assert any_cache.stats().entries == 0 and any_cache.stats().orphans == 2
    report = _relaxed(any_cache, tmp_path).gc()
    assert len(report.orphans_removed) == 2 and _keys(any_cache) == set()


def test_listing_names_parts_and_their_entry(any_cache: EngineCache) -> None:
    _store_family(any_cache, ENTRY)
    assert any_cache.stats().entries == 1  # one entry, with two parts
    infos = {e.key: e for e in any_cache.entries()}
    assert infos[ENTRY].parts == (f"{ENTRY}/dump", f"{ENTRY}/refit-record")
    assert infos[ENTRY].total_size == sum(e.size for e in infos.values())
    assert infos[f"{ENTRY}/dump"].part_of == ENTRY and not infos[f"{ENTRY}/dump"].orphan
    info = any_cache.info(ENTRY)
    assert info is not None and info.parts == infos[ENTRY].parts
    assert info.parts_size == infos[ENTRY].parts_size
    part = any_cache.info(f"{ENTRY}/refit-record")
    assert part is not None and part.part_of == ENTRY and not part.orphan
    stats = any_cache.stats()
    assert (stats.entries, stats.parts, stats.orphans) == (1, 2, 0)


@pytest.fixture(params=["memory", "s3"])
def remote_cache(request: pytest.FixtureRequest) -> EngineCache:
    return request.getfixturevalue(f"{request.param}_cache")  # type: ignore[no-any-return]


def test_removing_an_absent_key_says_so_on_s3(s3_cache: EngineCache) -> None:
    # S3 deletes absent objects without an error: rm must still report "no entry"
    assert not s3_cache.remove(ENTRY)
    s3_cache.put(ENTRY, PLAN)
    assert s3_cache.remove(ENTRY) and not s3_cache.remove(ENTRY)


def test_verify_quarantines_an_entry_whose_record_is_gone(any_cache: EngineCache) -> None:
    # without its refit record the entry can never hit: verify says so and moves it aside
    _store_family(any_cache, ENTRY)
    _store_family(any_cache, OTHER)
    assert any_cache.remove(f"{ENTRY}/refit-record")  # removing a part keeps its entry
    assert any_cache.contains(ENTRY)
    report = any_cache.verify()
    assert report.quarantined == [(ENTRY, f"its refit record '{ENTRY}/refit-record' is missing")]
    assert _keys(any_cache) == _family(OTHER) and sorted(report.ok) == sorted(_family(OTHER))


def test_keys_whose_parts_would_be_too_long(cache: EngineCache) -> None:
    # a 16-segment key has no valid part keys: everything still works
    deep = "/".join(f"s{i}" for i in range(16))
    meta = {"record": {"key": f"{deep}/refit-record"}, "dump_key": f"{deep}/dump"}
    cache.put(deep, PLAN, extras={"trt_netser.pipeline": meta})
    info = cache.info(deep)
    assert info is not None and info.parts == ()
    assert [k for k, _why in cache.verify().quarantined] == [deep]  # its record is gone
    cache.put(deep, PLAN)
    assert cache.gc(max_bytes=0).evicted == [deep] and cache.stats().entries == 0
    cache.put(deep, PLAN)
    assert cache.remove(deep) and _keys(cache) == set()


_FAMILY_WRITER = """
import sys, time
from trt_netser.cache import EngineCache

cache = EngineCache(sys.argv[1])
end = time.time() + float(sys.argv[2])
n = 0
while time.time() < end:
    key = f"race/k{n % 3}"
    with cache.lock(key):  # as the pipeline: an entry's parts are written under its lock
        cache.put(f"{key}/dump", b"d%d" % n, extras={"trt_netser.dump_of": key})
        record = b"r%d" % n * 300
        cache.put(f"{key}/refit-record", record, extras={"trt_netser.record_of": key})
        meta = {"n": n, "record": {"key": f"{key}/refit-record"}}
        cache.put(key, b"p%d" % n * 700, extras={"trt_netser.pipeline": meta})
    n += 1
print(n)
"""


def test_gc_racing_a_writer_never_splits_a_family(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "c"
    repo = str(Path(__file__).resolve().parents[2])
    writer = subprocess.Popen(
        [sys.executable, "-c", _FAMILY_WRITER, str(root), "4"],
        env={**__import__("os").environ, "PYTHONPATH": repo},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    cache = EngineCache(root)
    passes = evicted = 0
    while writer.poll() is None:
        report = cache.gc(max_bytes=5000)  # room for an entry, not for it and its parts
        passes += 1
        evicted += len(report.evicted)
        # between passes only the writer acts, and it writes a record before its entry
        for key in ("race/k0", "race/k1", "race/k2"):
            if cache.contains(key):
                assert cache.contains(f"{key}/refit-record"), f"{key} lost its record"
    out, err = writer.communicate()
    assert writer.returncode == 0, err.decode()
    assert int(out) > 10 and passes > 5 and evicted > 0, (out, passes, evicted)
    for info in cache.entries():
        if "trt_netser.pipeline" not in info.extras:
            continue  # a part
        n = info.extras["trt_netser.pipeline"]["n"]
        record = cache.get(f"{info.key}/refit-record")
        assert record is not None and record.plan == b"r%d" % n * 300, info.key  # its own
    cache.gc()
    keys = _keys(cache)
    parts = [key for key in keys if key.count("/") == 2]  # race/k<i>/dump, .../refit-record
    assert all(key.rsplit("/", 1)[0] in keys for key in parts), keys  # no orphans left


def test_remote_remove_leaves_a_part_of_a_newer_version(
    remote_cache: EngineCache, tmp_path: Path
) -> None:
    # a part written after the entry removed belongs to a version another host is writing
    remote_cache.put(ENTRY, PLAN)
    time.sleep(0.01)
    remote_cache.put(f"{ENTRY}/dump", b"new dump", extras={"trt_netser.dump_of": ENTRY})
    assert remote_cache.remove(ENTRY)
    assert _keys(remote_cache) == {f"{ENTRY}/dump"}
    _relaxed(remote_cache, tmp_path).gc()  # that version never came: an orphan, once old
    assert _keys(remote_cache) == set()


def test_local_remove_takes_every_part_along(cache: EngineCache) -> None:
    # local writers store an entry's parts holding its lock, which remove holds
    cache.put(ENTRY, PLAN)
    time.sleep(0.01)
    cache.put(f"{ENTRY}/dump", b"new dump", extras={"trt_netser.dump_of": ENTRY})
    assert cache.remove(ENTRY) and _keys(cache) == set()
