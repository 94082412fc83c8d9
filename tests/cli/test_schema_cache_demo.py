"""schema, cache and demo through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from trt_netser.cache import EngineCache
from trt_netser.cli.cache_cmd import parse_age, parse_size

# --------------------------------------------------------------------------- schema


def test_schema_default_lists_layers_with_treatment(cli: Invoke) -> None:
    result = cli("schema")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("TensorRT API 10.16")
    assert "every layer (ILayer)" in out
    assert "SOFTMAX (ISoftMaxLayer)" in out
    assert "excluded  metadata  (free-form annotation" in out
    assert "captured " in out and "UNCLASSIFIED" not in out


def test_schema_layer_filter_and_json(cli: Invoke) -> None:
    doc = json.loads(cli("schema", "--layer", "softmax", "--json").stdout)
    assert doc["format"] == "trt-netser.schema" and doc["version"] == 1
    assert [s["title"] for s in doc["sections"]] == ["SOFTMAX"]
    entries = {e["member"]: e for e in doc["sections"][0]["entries"]}
    assert entries["axes"]["treatment"] == "hashed"
    moe = json.loads(cli("schema", "--layer", "IMoELayer", "--json").stdout)
    treatments = {e["treatment"] for e in moe["sections"][0]["entries"]}
    assert "captured" in treatments


def test_schema_other_version(cli: Invoke) -> None:
    result = cli("schema", "--trt-api", "11.0.0.114", "--layer", "ATTENTION_INPUT")
    assert result.exit_code == 0 and result.stdout.startswith("TensorRT API 11.0.0.114")
    versions = cli("schema", "--list-versions").stdout.split()
    assert "10.16.1.11" in versions and "11.0.0.114" in versions


def test_schema_errors(cli: Invoke) -> None:
    result = cli("schema", "--trt-api", "9.9")
    assert result.exit_code == 2 and "no API dump for TensorRT '9.9'" in result.stderr
    result = cli("schema", "--layer", "NOPE")
    assert result.exit_code == 2 and "no layer type or class named NOPE" in result.stderr


# --------------------------------------------------------------------------- cache


KEY_A = "v1/trt-10.16.1.11/sm90/aaaa/bbbb"
KEY_B = "v1/trt-10.16.1.11/sm90/cccc/dddd"


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    root = tmp_path / "cache"
    cache = EngineCache(root)
    cache.put(KEY_A, b"a" * 4000, build_seconds=12.5, extras={"model": "a"})
    cache.put(KEY_B, b"b" * 6000)
    return root


def test_cache_ls_and_json(cli: Invoke, store: Path) -> None:
    result = cli("cache", "--cache", store, "ls")
    assert result.exit_code == 0
    assert KEY_A in result.stdout and KEY_B in result.stdout and "12.5s" in result.stdout
    doc = json.loads(cli("cache", "--cache", store, "ls", "--sort", "size", "--json").stdout)
    assert doc["format"] == "trt-netser.cache-ls"
    assert [e["key"] for e in doc["entries"]] == [KEY_B, KEY_A]
    # a plain-string key has no components: no key extras; put(extras=) is metadata
    assert doc["entries"][1]["extras"] is None
    assert doc["entries"][1]["metadata"] == {"model": "a"}


def test_cache_default_root_from_environment(cli: Invoke, store: Path) -> None:
    result = cli("cache", "path", env={"TRT_NETSER_CACHE": str(store)})
    assert result.stdout.strip() == str(store)


def test_cache_show_stats_path(cli: Invoke, store: Path) -> None:
    result = cli("cache", "--cache", store, "show", KEY_A)
    assert result.exit_code == 0 and "12.5s" in result.stdout and KEY_A in result.stdout
    doc = json.loads(cli("cache", "--cache", store, "show", KEY_A, "--json").stdout)
    assert doc["plan_size"] == 4000 and doc["manifest"]["key"] == KEY_A
    stats = json.loads(cli("cache", "--cache", store, "stats", "--json").stdout)
    assert stats["entries"] == 2 and stats["plan_bytes"] == 10000
    path = cli("cache", "--cache", store, "path", KEY_A).stdout.strip()
    assert Path(path).is_dir() and path.startswith(str(store))
    missing = cli("cache", "--cache", store, "show", "v1/none")
    assert missing.exit_code == 1 and "no entry for key 'v1/none'" in missing.stderr
    bad = cli("cache", "--cache", store, "show", "../etc")
    assert bad.exit_code == 2 and "invalid cache key" in bad.stderr


def test_cache_verify_quarantines_corruption(cli: Invoke, store: Path) -> None:
    assert cli("cache", "--cache", store, "verify").exit_code == 0
    plan = next(Path(EngineCache(store).path_for(KEY_A)).glob("plan-*"))
    plan.chmod(0o600)
    plan.write_bytes(b"x" * 4000)
    result = cli("cache", "--cache", store, "verify", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [q["key"] for q in doc["quarantined"]] == [KEY_A] and doc["clean"] is False


def test_cache_gc_and_rm(cli: Invoke, store: Path) -> None:
    doc = json.loads(cli("cache", "--cache", store, "gc", "--max-size", "8K", "--json").stdout)
    assert len(doc["evicted"]) == 1 and doc["bytes_after"] <= 8 * 1024
    kept = json.loads(cli("cache", "--cache", store, "ls", "--json").stdout)["entries"]
    assert len(kept) == 1
    result = cli("cache", "--cache", store, "rm", kept[0]["key"])
    assert result.exit_code == 0 and "removed" in result.stdout
    result = cli("cache", "--cache", store, "rm", kept[0]["key"])
    assert result.exit_code == 1 and "no entry" in result.stderr
    assert "no entries" in cli("cache", "--cache", store, "ls").stdout


def test_cache_gc_bad_size(cli: Invoke, store: Path) -> None:
    result = cli("cache", "--cache", store, "gc", "--max-size", "lots")
    assert result.exit_code == 2 and "is not a size" in result.stderr


def test_cache_remote_memory_url(cli: Invoke) -> None:
    url = "memory://trt-netser-cli-test"
    EngineCache(url).put(KEY_A, b"plan")
    doc = json.loads(cli("cache", "--cache", url, "ls", "--json").stdout)
    assert [e["key"] for e in doc["entries"]] == [KEY_A]


def test_cache_unknown_url_scheme(cli: Invoke) -> None:
    result = cli("cache", "--cache", "nosuchproto://bucket/x", "ls")
    assert result.exit_code == 2
    assert "unknown URL scheme 'nosuchproto'" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "value"), [("50G", 50 * 1024**3), ("500M", 500 * 1024**2), ("1KiB", 1024), ("7", 7)]
)
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text) == value


def test_parse_age() -> None:
    assert parse_age("7d") == 7 * 86400 and parse_age("90m") == 5400 and parse_age("5") == 5


# --------------------------------------------------------------------------- demo


def test_demo(cli: Invoke) -> None:
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "same key: the cached engine is refit" in out
    assert "different key" in out
    assert 'first divergence: layer 36 "mlp.act" (ACTIVATION): attribute type changed' in out
    assert "\x1b[" not in out  # no colour when not on a terminal


def test_demo_json(cli: Invoke) -> None:
    doc = json.loads(cli("demo", "--json").stdout)
    assert doc["finetuned"]["same_key"] is True and doc["edited"]["same_key"] is False
    assert doc["finetuned"]["key"] == doc["base"]["key"] != doc["edited"]["key"]


def test_demo_builders_are_specs(cli: Invoke) -> None:
    result = cli("diff", "trt_netser.cli.demo:build_block", "trt_netser.cli.demo:build_finetuned")
    assert result.exit_code == 0
