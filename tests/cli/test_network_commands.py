"""hash, explain, dump and bad SPECs, driven through the CLI as a user would (CliRunner)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


# --------------------------------------------------------------------------- hash


def test_hash_network_only_prints_the_network_digest(cli: Invoke, model: Path) -> None:
    result = cli("hash", f"{model}:build")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("network ")
    assert HEX64.search(lines[0])
    assert "network-only hash" in result.stderr


def test_hash_with_config_prints_key_and_every_component(cli: Invoke, model: Path) -> None:
    result = cli("hash", f"{model}:build_cfg")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "key" and lines[0].split()[1].startswith("v1/trt-10.16")
    names = [line.split()[0] for line in lines[1:]]
    assert names == ["schema", "tensorrt", "device", "network", "config", "extras"]
    assert all(HEX64.search(line) for line in lines[1:])


def test_hash_json_schema(cli: Invoke, model: Path) -> None:
    doc = json.loads(cli("hash", f"{model}:build_cfg", "--json").stdout)
    assert doc["format"] == "trt-netser.hash" and doc["version"] == 1
    assert doc["backend"] == "offline" and doc["trt_version"].startswith("10.16")
    assert doc["key"].startswith("v1/") and doc["partial"] is False
    net = next(c for c in doc["components"] if c["name"] == "network")
    assert net["digest"] == doc["network"]
    assert set(net) == {"name", "digest", "value", "explanation"}


def test_weights_do_not_change_the_hash_but_attributes_do(cli: Invoke, model: Path) -> None:
    def key(fn: str) -> str:
        return json.loads(cli("hash", f"{model}:{fn}", "--json").stdout)["key"]

    assert key("build_cfg") == key("build_cfg_tuned")
    assert key("build_cfg") != key("build_cfg_act")


def test_build_function_may_take_trt(cli: Invoke, model: Path) -> None:
    a = cli("hash", f"{model}:build", "--json")
    b = cli("hash", f"{model}:build_with_trt", "--json")
    assert json.loads(a.stdout)["network"] == json.loads(b.stdout)["network"]


def test_module_spec(cli: Invoke, model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(model.parent)
    result = cli("hash", "model:build", "--json")
    assert result.exit_code == 0, result.stderr
    by_file = json.loads(cli("hash", f"{model}:build", "--json").stdout)
    assert json.loads(result.stdout)["network"] == by_file["network"]


# --------------------------------------------------------------------------- explain


def test_explain_shows_records_in_order_with_names_types_enums_shapes(
    cli: Invoke, model: Path
) -> None:
    result = cli("explain", f"{model}:build_cfg")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert re.search(r"^\[[0-9a-f]{12}\] key\.config: ", out, re.M)
    assert re.search(r"^    flags: .*BuilderFlag\.REFIT", out, re.M)
    assert "[" in out and 'input 0 "x": FLOAT[-1, 8, 16]' in out
    assert re.search(
        r'layer \d+ "act" \(ACTIVATION\): \("proj"\) -> .* type=ActivationType\.RELU', out
    )
    assert re.search(r'layer \d+ "softmax" \(SOFTMAX\).*axes=4', out)
    kinds = re.findall(r"^\[[0-9a-f]{12}\] (\w+)", out, re.M)
    kinds = [k for k in kinds if k != "key"]
    assert kinds[0] == "header" and kinds[1] == "network" and kinds[-1] == "end"
    assert kinds.index("input") < kinds.index("layer") < kinds.index("output")


def test_explain_json_digests_are_the_record_digests(cli: Invoke, model: Path) -> None:
    import base64  # noqa: F401 - documents that --json has no raw bytes; digests suffice

    doc = json.loads(cli("explain", f"{model}:build", "--json").stdout)
    assert doc["format"] == "trt-netser.explain" and doc["version"] == 1
    records = doc["records"]
    assert [r["index"] for r in records] == list(range(len(records)))
    assert all(len(r["digest"]) == 64 for r in records)
    layer = next(r for r in records if r["title"].startswith("layer") and "softmax" in r["title"])
    assert layer["fields"]["attrs"]["axes"] == 4
    assert layer["fields"]["type"] == "LayerType.SOFTMAX"


def test_explain_kind_filter(cli: Invoke, model: Path) -> None:
    out = cli("explain", f"{model}:build", "--kind", "layer").stdout.splitlines()
    assert out and all(re.match(r"\[[0-9a-f]{12}\] layer ", line) for line in out)


def test_explain_full_repeats_shared_attributes(cli: Invoke, model: Path) -> None:
    brief = cli("explain", f"{model}:build").stdout
    full = cli("explain", f"{model}:build", "--full").stdout
    assert "(every tensor unless shown:" in brief and "(every tensor" not in full
    assert full.count("location=") > brief.count("location=")


# --------------------------------------------------------------------------- dump


def test_dump_round_trip_gives_same_hash_and_explain(
    cli: Invoke, model: Path, tmp_path: Path
) -> None:
    target = tmp_path / "build.tnsd"
    result = cli("dump", f"{model}:build_cfg", "-o", target)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes()[:2] == b"\x1f\x8b"  # gzip by default
    assert cli("hash", target).stdout == cli("hash", f"{model}:build_cfg").stdout
    assert cli("explain", target).stdout == cli("explain", f"{model}:build_cfg").stdout


def test_dump_is_deterministic_and_json_variant_is_plain(
    cli: Invoke, model: Path, tmp_path: Path
) -> None:
    a, b, c = tmp_path / "a.tnsd", tmp_path / "b.tnsd", tmp_path / "c.json"
    for target in (a, b, c):
        assert cli("dump", f"{model}:build", "-o", target).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(c.read_text())
    assert doc["format"] == "trt-netser.dump" and doc["version"] == 1
    assert doc["network"]["records"] == len(doc["records"])
    assert doc["enum_names"]["LayerType"]
    assert cli("hash", c).stdout == cli("hash", a).stdout


def test_dump_json_result(cli: Invoke, model: Path, tmp_path: Path) -> None:
    doc = json.loads(cli("dump", f"{model}:build", "-o", tmp_path / "x.tnsd", "--json").stdout)
    assert doc["format"] == "trt-netser.dump-result" and doc["bytes"] > 0
    assert doc["records"] > 5 and doc["key"] is None and len(doc["network"]) == 64


def _json_dump(cli: Invoke, model: Path, tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "d.json"
    cli("dump", f"{model}:build", "-o", path)
    return path, json.loads(path.read_text())


def test_altered_record_is_detected(cli: Invoke, model: Path, tmp_path: Path) -> None:
    import base64

    path, doc = _json_dump(cli, model, tmp_path)
    raw = bytearray(base64.b64decode(doc["records"][3]["cbor"]))
    raw[-1] ^= 1
    doc["records"][3]["cbor"] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(doc))
    result = cli("hash", path)
    assert result.exit_code == 2
    assert "record 3 does not match its digest" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_removed_record_is_detected(cli: Invoke, model: Path, tmp_path: Path) -> None:
    path, doc = _json_dump(cli, model, tmp_path)
    del doc["records"][4]
    path.write_text(json.dumps(doc))
    result = cli("explain", path)
    assert result.exit_code == 2 and "do not hash to the network digest" in result.stderr


def test_newer_schema_version_gives_a_clear_message(
    cli: Invoke, model: Path, tmp_path: Path
) -> None:
    path, doc = _json_dump(cli, model, tmp_path)
    doc["version"] = 7
    doc["trt_netser_version"] = "9.0.0"
    path.write_text(json.dumps(doc))
    result = cli("diff", path, path)
    assert result.exit_code == 2
    assert "dump schema version 7" in result.stderr and "upgrade trt-netser" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00garbage", "gzip data is corrupt"),
        (b'{"format": "trt-netser.dump", "version": 1', "not JSON"),
        (b"hello world", "neither a trt-netser dump nor a SPEC"),
        (b'{"format": "trt-netser.dump", "version": 1}', "'network.digest' is missing"),
    ],
)
def test_corrupt_dumps(cli: Invoke, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.tnsd"
    path.write_bytes(content)
    result = cli("hash", path)
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr


def test_dump_into_missing_directory(cli: Invoke, model: Path, tmp_path: Path) -> None:
    result = cli("dump", f"{model}:build", "-o", tmp_path / "nope" / "x.tnsd")
    assert result.exit_code == 2 and "does not exist" in result.stderr


# --------------------------------------------------------------------------- bad SPECs


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{dir}/missing.py:build", "missing.py: no such file"),
        ("{dir}/missing.tnsd", "no such file"),
        ("{model}", "needs a function name"),
        ("{model}:nope", "has no function 'nope'"),
        ("{model}:not_callable", "is a int, not a function"),
        ("{model}:fails", "raised ValueError: boom: the weights file is missing"),
        ("{model}:bad_return", "returned int, not a TensorRT network"),
        ("{model}:needs_arg", "takes required parameter(s) path"),
        ("no_such_module_xyz:build", "no module named 'no_such_module_xyz'"),
        ("{model}:1x", "is not a Python function name"),
    ],
)
def test_bad_specs_give_one_sentence(cli: Invoke, model: Path, spec: str, message: str) -> None:
    spec = spec.format(model=model, dir=model.parent)
    result = cli("hash", spec)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr, result.stderr
    assert result.stderr.startswith("trt-netser: error: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_syntax_error_in_model(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def build(:\n    pass\n")
    result = cli("hash", f"{path}:build")
    assert result.exit_code == 2 and "syntax error on line 1" in result.stderr


def test_debug_shows_the_traceback(cli: Invoke, model: Path) -> None:
    with pytest.raises(Exception, match="boom"):
        cli("--debug", "hash", f"{model}:fails")


def test_tensorrt_backend_unavailable(cli: Invoke, model: Path) -> None:
    result = cli("hash", f"{model}:build", "--backend", "tensorrt")
    assert result.exit_code == 2
    assert "TensorRT cannot be imported" in result.stderr


def test_offline_injection_is_undone(cli: Invoke, model: Path) -> None:
    import sys

    before = sys.modules.get("tensorrt")
    cli("hash", f"{model}:build", "--backend", "offline")
    assert sys.modules.get("tensorrt") is before


@pytest.mark.parametrize("command", ["hash", "explain", "dump", "diff", "schema", "cache", "demo"])
def test_every_command_has_help_with_an_example(cli: Invoke, command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0 and "Example" in result.stdout


@pytest.mark.parametrize("sub", ["ls", "show", "verify", "gc", "rm", "stats", "path"])
def test_every_cache_command_has_help_with_an_example(cli: Invoke, sub: str) -> None:
    result = cli("cache", sub, "--help")
    assert result.exit_code == 0 and "Example" in result.stdout
