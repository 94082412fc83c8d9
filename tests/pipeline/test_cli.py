"""``trt-netser build SPEC``: outcome, timings and the miss explanation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from trt_netser.cli import main

MODEL = """
import os
import numpy as np
import tensorrt as trt

_KEEP = []


def build():
    seed = int(os.environ.get("SEED", "0"))
    stride = int(os.environ.get("STRIDE", "1"))
    builder = trt.Builder(trt.Logger())
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (1, 3, 8, 8))
    k = np.random.default_rng(seed).standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = np.zeros(4, dtype=np.float32)
    _KEEP.extend([k, b])
    conv = net.add_convolution_nd(x, 4, (3, 3), trt.Weights(k), trt.Weights(b))
    conv.name = "conv"
    conv.stride_nd = (stride, stride)
    net.mark_output(conv.get_output(0))
    return net, builder.create_builder_config()
"""


def _run(tmp_path: Path, monkeypatch: Any, **env: str) -> dict[str, Any]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = tmp_path / "model.py"
    spec.write_text(MODEL)
    result = CliRunner().invoke(
        main,
        [
            "build",
            f"{spec}:build",
            "--cache",
            str(tmp_path / "c"),
            "--backend",
            "offline",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_build_then_refit_then_explained_miss(trt: Any, tmp_path: Path, monkeypatch: Any) -> None:
    first = _run(tmp_path, monkeypatch, SEED="0")
    assert first["format"] == "trt-netser.build" and first["outcome"] == "miss-built"
    assert first["explanation"]["relation"] == "empty"
    second = _run(tmp_path, monkeypatch, SEED="1")
    assert second["outcome"] == "hit-refit" and second["key"] == first["key"]
    assert "refit" in second["timings"]
    third = _run(tmp_path, monkeypatch, SEED="1", STRIDE="2")
    assert third["outcome"] == "miss-built"
    explanation = third["explanation"]
    assert explanation["nearest"] == first["key"] and explanation["relation"] == "same-config"
    assert explanation["differing"] == ["network"]
    first = explanation["first"]  # the first divergent layer and attribute
    assert '"conv"' in first and "stride_nd" in first and "[2, 2]" in first
    assert any("shape" in change for change in explanation["changes"][1:])


def test_text_output(trt: Any, tmp_path: Path, monkeypatch: Any) -> None:
    spec = tmp_path / "model.py"
    spec.write_text(MODEL)
    args = ["build", f"{spec}:build", "--cache", str(tmp_path / "c"), "--backend", "offline"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert out.output.startswith("miss-built") and "REFIT added" in out.output
    plan = tmp_path / "engine.plan"
    again = CliRunner().invoke(main, [*args, "-o", str(plan)])
    assert again.output.startswith("hit-refit") and plan.stat().st_size > 0


def test_weightless_verify_and_errors(trt: Any, tmp_path: Path, monkeypatch: Any) -> None:
    spec = tmp_path / "model.py"
    spec.write_text(MODEL)
    args = ["build", f"{spec}:build", "--cache", str(tmp_path / "c"), "--backend", "offline"]
    first = CliRunner().invoke(main, [*args, "--weightless", "--json"])
    assert json.loads(first.output)["weightless"] is True
    monkeypatch.setenv("SEED", "4")
    second = json.loads(
        CliRunner().invoke(main, [*args, "--weightless", "--verify", "--json"]).output
    )
    assert second["outcome"] == "hit-refit" and second["verified"] == "plan"
    broken = tmp_path / "broken.py"
    broken.write_text(MODEL.replace("net.mark_output(conv.get_output(0))", "pass"))
    failed = CliRunner().invoke(
        main, ["build", f"{broken}:build", "--cache", str(tmp_path / "c"), "--backend", "offline"]
    )
    assert failed.exit_code == 2 and "could not build" in failed.output
