"""Global flags, --version, cache lookup, diff against entries, dry runs, lazy records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trt_netser
import trt_netser.offline as trt
from tests.cli.conftest import Invoke, run_cli
from trt_netser.cli.demo import build_block, build_edited
from trt_netser.config import recorded_profiles

SPEC = "trt_netser.cli.demo:build_block"


@pytest.fixture()
def demo_cache(tmp_path: Path) -> tuple[Path, str, str]:
    """A cache holding the demo block and the edited block, keyed with extras."""
    root = tmp_path / "cache"
    cache = trt_netser.EngineCache(root)
    keys = []
    for build in (build_block, build_edited):
        with trt_netser.capture(trt):
            network, config = build(trt)
        key = trt_netser.cache_key(
            network, config, profiles=recorded_profiles(config), extras={"model": "demo"}
        )
        cache.put(key, build.__name__.encode() * 100, build_seconds=2.0)
        keys.append(str(key))
    return root, keys[0], keys[1]


# --------------------------------------------------------------------------- flags


def test_debug_and_verbose_anywhere(cli: Invoke, tmp_path: Path) -> None:
    missing = f"{tmp_path}/missing.py:build"
    quiet = cli("hash", missing)
    assert quiet.exit_code == 2 and "--debug" in quiet.stderr
    with pytest.raises(Exception, match="no such file"):
        cli("hash", missing, "--debug")  # after the subcommand: the traceback is raised
    with pytest.raises(Exception, match="no such file"):
        cli("--debug", "hash", missing)
    assert cli("hash", SPEC, "-v").exit_code == 0
    assert cli("-vv", "hash", SPEC, "--verbose").exit_code == 0


def test_usage_errors_use_the_documented_format() -> None:
    proc = run_cli("hash", "--nosuch")
    assert proc.returncode == 2
    assert proc.stderr == (
        "trt-netser: error: No such option '--nosuch' (see 'trt-netser hash --help')\n"
    )
    proc = run_cli("frobnicate")
    assert proc.returncode == 2 and proc.stderr.startswith("trt-netser: error: No such command")


def test_version_names_writer_and_tensorrt(cli: Invoke) -> None:
    from trt_netser import walk

    result = cli("--version")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"trt-netser {trt_netser.__version__}"
    assert lines[1].startswith("layer writer: compiled" if walk._compiled else "layer writer: pure")
    assert "TensorRT 10.16.1.11" in lines[2]
    assert ("offline model" in lines[2]) or ("real" in lines[2])


def test_python_dash_m_trt_netser() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "trt_netser", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("trt-netser ")


# --------------------------------------------------------------------------- lookup


def test_lookup_hit_and_miss_with_nearest(cli: Invoke, demo_cache: tuple[Path, str, str]) -> None:
    root, block_key, _edited_key = demo_cache
    hit = cli("cache", "--cache", root, "lookup", SPEC, "--extras", "model=demo")
    assert hit.exit_code == 0 and hit.stdout.startswith(f"hit   {block_key}")
    miss = cli("cache", "--cache", root, "lookup", SPEC, "--json")
    assert miss.exit_code == 1
    doc = json.loads(miss.stdout)
    assert doc["hit"] is False and doc["key"] != block_key
    nearest = doc["nearest"]
    assert nearest[0]["key"] == block_key and nearest[0]["differing"] == ["extras"]
    assert nearest[1]["differing"] == ["network", "extras"]
    text = cli("cache", "--cache", root, "lookup", SPEC)
    assert "model: (absent) (SPEC) vs demo (entry)" in text.stdout
    assert "offline key" in text.stderr


def test_lookup_needs_a_full_key(cli: Invoke, model: Path, tmp_path: Path) -> None:
    result = cli("cache", "--cache", tmp_path / "c", "lookup", f"{model}:build")
    assert result.exit_code == 2 and "no full cache key" in result.stderr


def test_diff_against_a_cache_entry(cli: Invoke, demo_cache: tuple[Path, str, str]) -> None:
    root, block_key, edited_key = demo_cache
    same = cli("diff", SPEC, block_key, "--cache", root, "--extras", "model=demo")
    assert same.exit_code == 0, same.stdout + same.stderr
    assert "keys are equal" in same.stdout
    other = cli("diff", SPEC, edited_key, "--cache", root, "--extras", "model=demo", "--json")
    assert other.exit_code == 1
    doc = json.loads(other.stdout)
    assert [c["name"] for c in doc["components"]] == ["network"]
    assert "keeps the key, not the network's records" in doc["first_divergence"]
    absent = cli("diff", SPEC, "v1/trt-10.16.1.11/sm90/aaaa/bbbb", "--cache", root)
    assert absent.exit_code == 2 and "no entry for key" in absent.stderr


# --------------------------------------------------------------------------- cache ls, dry runs


def test_ls_shows_the_keys_components(cli: Invoke, demo_cache: tuple[Path, str, str]) -> None:
    root, block_key, _ = demo_cache
    text = cli("cache", "--cache", root, "ls").stdout
    assert 'extras {"model": "demo"}' in text and "TensorRT 10.16.1.11" in text
    doc = json.loads(cli("cache", "--cache", root, "ls", "--json").stdout)
    entry = next(e for e in doc["entries"] if e["key"] == block_key)
    assert entry["extras"] == {"model": "demo"}
    assert entry["metadata"] == {}


def test_gc_and_verify_dry_run_change_nothing(
    cli: Invoke, demo_cache: tuple[Path, str, str]
) -> None:
    root, block_key, edited_key = demo_cache
    cache = trt_netser.EngineCache(root)
    plan_dir = Path(cache.path_for(block_key))
    plan = next(plan_dir.glob("plan-*"))
    plan.write_bytes(b"corrupted" + plan.read_bytes()[9:])
    dry = cli("cache", "--cache", root, "verify", "--dry-run", "--json")
    assert dry.exit_code == 1
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True
    assert [k for k, _ in [(q["key"], q["reason"]) for q in doc["quarantined"]]] == [block_key]
    assert plan.exists() and cache.contains(block_key)  # nothing moved
    gc = cli("cache", "--cache", root, "gc", "--max-size", "1", "--dry-run")
    assert gc.exit_code == 0 and "would evict 2 entries" in gc.stdout
    assert cache.contains(block_key) and cache.contains(edited_key)
    real = cli("cache", "--cache", root, "verify")
    assert real.exit_code == 1 and not cache.contains(block_key)


# --------------------------------------------------------------------------- speed


def test_hash_does_not_describe_records(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    import trt_netser.api

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("describe_network ran for hash")

    monkeypatch.setattr(trt_netser.api, "describe_network", forbidden)
    result = cli("hash", SPEC)
    assert result.exit_code == 0 and result.stdout.startswith("key ")


def test_equal_diff_stops_at_the_digests(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trt_netser.cli.dumpfile as dumpfile

    dump = tmp_path / "a.tnsd"
    assert cli("dump", SPEC, "-o", dump).exit_code == 0

    def forbidden(data: bytes) -> None:
        raise AssertionError("records were decoded")

    monkeypatch.setattr(dumpfile, "decode_record", forbidden)
    result = cli("diff", dump, dump)
    assert result.exit_code == 0 and "keys are equal" in result.stdout
    assert cli("hash", dump).exit_code == 0
    # a real difference still loads records (and here fails loudly)
    other = tmp_path / "b.tnsd"
    monkeypatch.undo()
    assert cli("dump", "trt_netser.cli.demo:build_edited", "-o", other).exit_code == 0
    changed = cli("diff", dump, other)
    assert changed.exit_code == 1 and "mlp.act" in changed.stdout


def test_altered_dump_is_still_caught_without_decoding(cli: Invoke, tmp_path: Path) -> None:
    import base64
    import gzip

    dump = tmp_path / "a.tnsd"
    assert cli("dump", SPEC, "-o", dump).exit_code == 0
    doc = json.loads(gzip.decompress(dump.read_bytes()))
    data = bytearray(base64.b64decode(doc["records"][7]["cbor"]))
    data[-1] ^= 1
    doc["records"][7]["cbor"] = base64.b64encode(bytes(data)).decode()
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(doc))
    result = cli("hash", altered)
    assert result.exit_code == 2 and "record 7 does not match its digest" in result.stderr


def test_spinner_says_what_is_happening(model: Path) -> None:
    """The status the spinner shows names the step: import, the user's build, hashing."""
    from trt_netser.cli.spec import load_subject

    seen: list[str] = []
    load_subject(f"{model}:build_cfg", "offline", records=False, status=seen.append)
    assert seen[0].startswith("importing ")
    assert seen[1] == f"running your build function {model}:build_cfg (on offline)"
    assert seen[2].startswith(f"hashing the network of {model}:build_cfg (")
    assert not any("describing" in s for s in seen)  # records=False: no second walk
    seen.clear()
    load_subject(f"{model}:build_cfg", "offline", records=True, status=seen.append)
    assert seen[-1] == f"describing the records of {model}:build_cfg"


def test_verbose_logs_the_librarys_events(cli: Invoke, demo_cache: tuple[Path, str, str]) -> None:
    root, block_key, _ = demo_cache
    plan = next(Path(trt_netser.EngineCache(root).path_for(block_key)).glob("plan-*"))
    plan.write_bytes(b"x" + plan.read_bytes()[1:])
    result = cli("cache", "--cache", root, "verify", "-v")
    assert result.exit_code == 1
    assert "trt-netser: WARNING trt_netser.cache" in result.stderr
