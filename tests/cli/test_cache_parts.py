"""``trt-netser cache`` counts, shows, removes and evicts an entry with its parts (the
dump and refit record ``build_engine`` stores beside it) and removes orphans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import trt_netser.offline as trt
from tests.pipeline.nets import conv_net
from trt_netser.cache import EngineCache
from trt_netser.cli import main
from trt_netser.pipeline import _record


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[EngineCache, str]:
    """A cache holding one pipeline entry whose refit record is stored apart."""
    monkeypatch.setattr(_record, "INLINE_LIMIT", 0)
    cache = EngineCache(tmp_path / "cache")
    result = conv_net(trt, seed=0).build(cache=cache)
    assert result.outcome.value == "miss-built"
    return cache, result.entry_key


def _run(cache: EngineCache, *args: str) -> Any:
    return CliRunner().invoke(main, ["cache", "--cache", str(cache.root), *args])


def test_ls_and_stats_count_one_entry_with_its_parts(built: tuple[EngineCache, str]) -> None:
    cache, key = built
    out = _run(cache, "ls").output
    assert out.count(key) == 1 and f"{key}/dump" not in out  # listed with its entry
    assert "with its dump, refit-record" in out and "1 entries (and 2 parts)" in out
    stats = json.loads(_run(cache, "stats", "--json").output)
    assert (stats["entries"], stats["parts"], stats["orphans"]) == (1, 2, 0)
    listing = json.loads(_run(cache, "ls", "--json").output)
    [entry] = listing["entries"]
    assert [p["part"] for p in entry["parts"]] == ["dump", "refit-record"]
    assert stats["bytes"] == entry["size"] + entry["parts_size"]


def test_rm_removes_the_entry_with_its_parts(built: tuple[EngineCache, str]) -> None:
    cache, key = built
    result = _run(cache, "rm", key)
    assert result.exit_code == 0 and "(with its dump, refit-record)" in result.output
    assert "no entries" in _run(cache, "ls").output
    assert json.loads(_run(cache, "stats", "--json").output)["bytes"] == 0


def test_gc_evicts_whole_families_and_removes_orphans(built: tuple[EngineCache, str]) -> None:
    cache, key = built
    cache.put("v1/gone/dump", b"dump", extras={"trt_netser.dump_of": "v1/gone"})
    dry = json.loads(_run(cache, "gc", "--max-size", "10K", "--dry-run", "--json").output)
    assert dry["evicted"] == [key] and dry["parts_removed"] == 2
    assert dry["orphans_removed"] == ["v1/gone/dump"] and dry["bytes_after"] == 0
    assert "orphan" in _run(cache, "ls").output  # nothing changed
    out = _run(cache, "gc", "--max-size", "10K").output
    assert "evicted 1 entries (and 2 parts)" in out and "removed orphan v1/gone/dump" in out
    assert "no entries" in _run(cache, "ls").output


def test_show_names_the_parts_and_a_missing_record(built: tuple[EngineCache, str]) -> None:
    cache, key = built
    out = _run(cache, "show", key).output
    assert "parts      dump, refit-record" in out and "conv [KERNEL]: FLOAT x 108" in out
    part = _run(cache, "show", f"{key}/refit-record").output
    assert f"part of    {key}" in part
    assert cache.remove(f"{key}/refit-record")  # removing a part leaves its entry
    out = _run(cache, "show", key).output
    assert "refit record" in out and "is missing" in out and "rebuilds" in out


def test_lookup_never_offers_a_part_as_the_nearest_entry(
    built: tuple[EngineCache, str],
) -> None:
    cache, key = built
    result = _run(cache, "lookup", "trt_netser.cli.demo:build_block", "--json")
    assert result.exit_code == 1  # a miss
    assert [n["key"] for n in json.loads(result.output)["nearest"]] == [key]


def test_verify_reports_an_entry_without_its_record(built: tuple[EngineCache, str]) -> None:
    cache, key = built
    assert cache.remove(f"{key}/refit-record")
    dry = _run(cache, "verify", "--dry-run", "--json")
    assert dry.exit_code == 1
    assert [q["key"] for q in json.loads(dry.output)["quarantined"]] == [key]
    real = _run(cache, "verify")
    assert real.exit_code == 1 and "refit record" in real.output
    assert "no entries" in _run(cache, "ls").output  # quarantined with its dump
