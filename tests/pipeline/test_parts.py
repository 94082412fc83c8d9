"""What ``build_engine`` stores beside an entry (its dump, its refit record) lives and dies
with the entry: removal, LRU eviction and quarantine take them along, a pinned variant
and its parent are removed apart, and ``describe_entry`` says where a record is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.nets import conv_net, fresh_plan, plan_bytes, rotary_net
from trt_netser.cache import EngineCache
from trt_netser.pipeline import _record, describe_entry


@pytest.fixture
def sidecar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record counts as large (a 15 000-weight network is slow to build here)."""
    monkeypatch.setattr(_record, "INLINE_LIMIT", 0)


def _keys(cache: EngineCache) -> set[str]:
    return {e.key for e in cache.entries()}


def _family(key: str) -> set[str]:
    return {key, f"{key}/dump", f"{key}/refit-record"}


def test_lru_never_keeps_an_entry_without_its_record(
    trt: Any, cache: EngineCache, sidecar: None
) -> None:
    first = conv_net(trt, seed=0).build(cache=cache)
    assert _keys(cache) == _family(first.entry_key)
    own = next(e.size for e in cache.entries() if e.key == first.entry_key)
    cache.gc(max_bytes=own)  # room for the entry alone, not for it and its parts
    assert _keys(cache) in (set(), _family(first.entry_key))
    again = conv_net(trt, seed=1).build(cache=cache)
    # never "hit-refit-failed-rebuilt" (bad-metadata: a record evicted before its entry)
    assert again.outcome.value == "miss-built" and again.quarantined is None
    assert plan_bytes(again) == fresh_plan(conv_net(trt, seed=1))
    assert conv_net(trt, seed=2).build(cache=cache).outcome.value == "hit-refit"


def test_removing_an_entry_leaves_nothing_of_it(
    trt: Any, cache: EngineCache, sidecar: None
) -> None:
    first = conv_net(trt, seed=0).build(cache=cache)
    assert cache.remove(first.entry_key)
    assert _keys(cache) == set() and cache.stats().bytes == 0
    assert conv_net(trt, seed=1).build(cache=cache).outcome.value == "miss-built"


def test_quarantine_moves_the_record_and_dump_along(
    trt: Any, cache: EngineCache, sidecar: None
) -> None:
    first = conv_net(trt, seed=0).build(cache=cache)
    entry = cache.get(first.entry_key)
    assert cache.quarantine(first.entry_key, "deserialize: test", entry=entry)
    assert _keys(cache) == set() and cache.stats().quarantined == 3
    rebuilt = conv_net(trt, seed=1).build(cache=cache)
    assert rebuilt.outcome.value == "miss-built"
    assert _keys(cache) == _family(rebuilt.entry_key)


def test_a_variant_and_its_parent_are_removed_apart(
    trt: Any, cache: EngineCache, sidecar: None
) -> None:
    flags = ("REFIT_INDIVIDUAL",)  # nothing marked: the rotary tables are baked in
    parent = rotary_net(trt, 10000.0, flags=flags).build(cache=cache)
    variant = rotary_net(trt, 500000.0, flags=flags).build(cache=cache)
    assert variant.outcome.value == "hit-pinned-mismatch-built"
    p, v = parent.entry_key, variant.entry_key
    everything = _family(p) | {v, f"{v}/refit-record"}  # variants store no dump
    assert _keys(cache) == everything
    assert cache.remove(v)
    assert _keys(cache) == _family(p)
    rotary_net(trt, 500000.0, flags=flags).build(cache=cache)  # the variant again
    assert cache.remove(p)
    assert _keys(cache) == {v, f"{v}/refit-record"}
    again = rotary_net(trt, 10000.0, flags=flags).build(cache=cache)
    assert again.outcome.value == "miss-built" and again.entry_key == p


def test_describe_entry_says_where_an_external_record_is(
    trt: Any, cache: EngineCache, sidecar: None
) -> None:
    first = conv_net(trt, seed=0, named=True).build(cache=cache)
    extras = cache.get(first.entry_key).extras  # type: ignore[union-attr]
    alone = describe_entry(extras)
    record = f"{first.entry_key}/refit-record"
    assert alone[0] == "refit: REFIT, with weights"
    assert any("stored apart" in line and record in line for line in alone)
    resolved = describe_entry(extras, cache.get)
    assert "  conv.weight: FLOAT x 108" in resolved and "pinned weights: 2" in "\n".join(resolved)
    assert cache.remove(record)
    missing = describe_entry(extras, cache.get)
    assert any("missing" in line and "rebuilds" in line for line in missing)


def test_s3_entry_and_parts_go_together(
    trt: Any, s3_endpoint: str, s3_url: str, tmp_path: Path, sidecar: None
) -> None:
    from tests.pipeline.conftest import s3_options

    cache = EngineCache(s3_url, storage_options=s3_options(s3_endpoint), lock_dir=tmp_path)
    first = conv_net(trt, seed=0).build(cache=cache)
    assert _keys(cache) == _family(first.entry_key)
    own = next(e.size for e in cache.entries() if e.key == first.entry_key)
    report = cache.gc(max_bytes=own)
    assert report.evicted == [first.entry_key] and _keys(cache) == set()
    second = conv_net(trt, seed=1).build(cache=cache)
    assert second.outcome.value == "miss-built" and second.quarantined is None
    assert conv_net(trt, seed=2).build(cache=cache).outcome.value == "hit-refit"
    assert cache.remove(second.entry_key) and _keys(cache) == set()


def test_the_parts_table_is_what_the_pipeline_stores(
    trt: Any, cache: EngineCache, sidecar: None
) -> None:
    from trt_netser.cache import _family
    from trt_netser.pipeline import _flow

    assert _flow.DUMP_SEGMENT == _family.DUMP_SEGMENT
    assert _flow.VARIANT_PREFIX == _family.VARIANT_PREFIX
    assert _record.RECORD_SEGMENT == _family.RECORD_SEGMENT
    first = conv_net(trt, seed=0).build(cache=cache)
    for part, key in _family.part_keys(first.entry_key):
        stored = cache.get(key)
        assert stored is not None and stored.extras == {part.claim: first.entry_key}
    assert cache.info(first.entry_key).parts == tuple(  # type: ignore[union-attr]
        key for _part, key in _family.part_keys(first.entry_key)
    )


def test_ls_shows_a_variant_as_an_entry_of_its_own(trt: Any, cache: EngineCache) -> None:
    from click.testing import CliRunner

    from trt_netser.cli import main

    flags = ("REFIT_INDIVIDUAL",)
    parent = rotary_net(trt, 10000.0, flags=flags).build(cache=cache)
    variant = rotary_net(trt, 500000.0, flags=flags).build(cache=cache)
    out = CliRunner().invoke(main, ["cache", "--cache", str(cache.root), "ls"]).output
    assert f"pinned variant of {parent.entry_key} (an entry of its own)" in out
    assert out.count(variant.entry_key) == 1 and "2 entries (and 1 part)" in out
