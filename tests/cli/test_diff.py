"""diff: key components, aligned network diff, first divergence and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Invoke


def diff(cli: Invoke, model: Path, a: str, b: str, *extra: str):
    return cli("diff", f"{model}:{a}", f"{model}:{b}", *extra)


def test_equal_networks_exit_0(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build", "build_tuned")  # only weight values differ
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "network digests are equal" in result.stdout


def test_equal_keys_exit_0(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build_cfg", "build_cfg_tuned")
    assert result.exit_code == 0
    assert "keys are equal" in result.stdout and "first divergence" not in result.stdout


def test_changed_attribute(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build", "build_axis")
    assert result.exit_code == 1
    out = result.stdout
    assert (
        'first divergence: layer 3 "softmax" (SOFTMAX): attribute axes changed from 4 to 2' in out
    )
    assert "1 layer(s) changed, 0 added, 0 removed" in out


def test_changed_key_component_config(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build_cfg", "build_cfg_fp16")
    assert result.exit_code == 1
    out = result.stdout
    assert "≠ config" in out and "= network" in out
    assert "first divergence: key component config: " in out and "FP16" in out
    assert "network: identical" in out


def test_changed_attribute_and_key(cli: Invoke, model: Path) -> None:
    doc = json.loads(diff(cli, model, "build_cfg", "build_cfg_act", "--json").stdout)
    assert doc["format"] == "trt-netser.diff" and doc["version"] == 1
    assert doc["equal"] is False and doc["compared"] == "key"
    assert [c["name"] for c in doc["components"]] == ["network"]
    change = doc["changes"][0]
    assert change == {
        "section": "layer",
        "status": "changed",
        "where": 'layer 2 "act" (ACTIVATION)',
        "what": "attribute type",
        "old": "ActivationType.RELU",
        "new": "ActivationType.SIGMOID",
    }


def test_added_layer_and_rewired_consumer(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build", "build_extra", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    added = [c for c in doc["changes"] if c["status"] == "added"]
    assert len(added) == 1 and '"extra_abs" (UNARY)' in added[0]["where"]
    rewired = [c for c in doc["changes"] if "rewired" in c["what"]]
    assert rewired and rewired[0]["old"] == '"act"' and rewired[0]["new"] == '"extra_abs"'
    assert doc["counts"]["layers_added"] == 1 and doc["counts"]["layers_removed"] == 0
    # The inserted layer shifts canonical indices; nothing else is reported as changed.
    assert {c["status"] for c in doc["changes"]} <= {"added", "changed"}
    assert all("softmax" in c["where"] for c in doc["changes"] if c["status"] == "changed")


def test_removed_layer(cli: Invoke, model: Path) -> None:
    doc = json.loads(diff(cli, model, "build_extra", "build", "--json").stdout)
    removed = [c for c in doc["changes"] if c["status"] == "removed"]
    assert len(removed) == 1 and "extra_abs" in removed[0]["where"]


def test_rewired_input(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build", "build_rewired")
    assert result.exit_code == 1
    assert 'input 0 (rewired): "act" -> "proj"' in result.stdout


def test_changed_network_input(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build", "build_shape")
    assert result.exit_code == 1
    assert 'first divergence: input "x": shape changed from [-1, 8, 16] to [-1, 4, 16]' in (
        result.stdout
    )


def test_renamed_layer_aligned_by_structure(cli: Invoke, model: Path) -> None:
    doc = json.loads(diff(cli, model, "build", "build_renamed", "--json").stdout)
    assert doc["first_divergence"].endswith('name changed from "act" to "activation"')
    assert doc["counts"]["layers_added"] == doc["counts"]["layers_removed"] == 0


def test_unnamed_layers_are_aligned_by_structure(cli: Invoke, model: Path) -> None:
    doc = json.loads(diff(cli, model, "build_unnamed", "build_unnamed_act", "--json").stdout)
    assert doc["counts"] == {
        "layers_added": 0,
        "layers_removed": 0,
        "layers_changed": 1,
        "changes": 1,
    }
    assert doc["changes"][0]["what"] == "attribute type"
    doc = json.loads(diff(cli, model, "build_unnamed", "build_unnamed_extra", "--json").stdout)
    assert doc["counts"]["layers_added"] == 1 and doc["counts"]["layers_removed"] == 0
    assert "(UNARY)" in next(c["where"] for c in doc["changes"] if c["status"] == "added")


def test_dump_against_spec(cli: Invoke, model: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.tnsd"
    cli("dump", f"{model}:build_cfg", "-o", old)
    assert cli("diff", old, f"{model}:build_cfg_tuned").exit_code == 0
    result = cli("diff", old, f"{model}:build_cfg_act")
    assert result.exit_code == 1 and "ActivationType.SIGMOID" in result.stdout


def test_key_against_network_only_compares_networks(cli: Invoke, model: Path) -> None:
    result = diff(cli, model, "build", "build_cfg")
    assert result.exit_code == 0
    assert "no full key on both sides" in result.stdout


def test_diff_error_exit_2(cli: Invoke, model: Path, tmp_path: Path) -> None:
    result = cli("diff", f"{model}:build", tmp_path / "missing.tnsd")
    assert result.exit_code == 2 and "no such file" in result.stderr


PROFILES = """
import tensorrt as trt
from trt_netser.cli.demo import build_block


def wide():
    builder = trt.Builder(trt.Logger())
    network = build_block(trt, with_config=False)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    profile = builder.create_optimization_profile()
    profile.set_shape("hidden_states", (1, 1, 64), (1, 256, 64), (8, 512, 64))
    config.add_optimization_profile(profile)  # plain TensorRT call: recorded by the CLI
    return network, config
"""


def test_changed_optimization_profile(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "profiles.py"
    path.write_text(PROFILES)
    result = cli("diff", "trt_netser.cli.demo:build_block", f"{path}:wide")
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    assert "= network" in out and "≠ config" in out
    assert (
        "first divergence: key component config: "
        "builder_config.profiles[0].inputs[0].shape[1][1] changed from 128 to 256"
    ) in out
