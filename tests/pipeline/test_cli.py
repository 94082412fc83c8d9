"""``trt-netser build SPEC``: outcome, timings and the miss explanation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import blake3
import numpy as np
from click.testing import CliRunner

from tests.pipeline.nets import conv_net
from trt_netser.cli import main
from trt_netser.pipeline import EXTRAS_KEY

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


def _show(cache: Any, key: str) -> str:
    out = CliRunner().invoke(main, ["cache", "--cache", str(cache.root), "show", key])
    assert out.exit_code == 0, out.output
    return str(out.output)


def _pinned_digest(array: np.ndarray) -> str:
    """blake3 of dtype tag and little-endian bytes, as the entry records a pinned weight."""
    return blake3.blake3(array.dtype.str.encode() + b"\0" + array.tobytes()).hexdigest()


def test_cache_show_lists_refit_inventory_and_pinned(trt: Any, cache: Any) -> None:
    net = conv_net(trt, named=True)
    result = net.build(cache=cache)
    assert result.outcome == "miss-built"
    text = _show(cache, result.entry_key)
    lines = text.splitlines()
    assert "pipeline:" in lines
    assert "  refit: REFIT, with weights" in lines
    # the named kernel by its name (and by its layer, as get_all lists it), the others
    # by (layer, role)
    assert "  refit inventory: 1 named, 5 by layer and role" in lines
    assert "    conv.weight: FLOAT x 108" in lines and "    conv [KERNEL]: FLOAT x 108" in lines
    for layer_role in ("conv [BIAS]", "scale [SHIFT]", "scale [SCALE]"):
        assert f"    {layer_role}: FLOAT x 4" in lines
    assert "    offset [CONSTANT]: FLOAT x 4" in lines
    # baked in: the scale's power (never refittable) and the INT32 gather indices
    assert "  pinned weights: 2 (values baked into the engine)" in lines
    power = _pinned_digest(net.arrays["power"])[:16]
    index = _pinned_digest(net.arrays["index"])[:16]
    assert f"    'scale'.power: FLOAT x 4, blake3 {power}" in lines
    assert f"    'index'.weights: INT32 x 2, blake3 {index}" in lines
    assert "metadata" not in text  # the pipeline's record is shown readably, not raw


def test_cache_show_other_metadata_stays_raw(trt: Any, cache: Any) -> None:
    cache.put("plain", b"plan", extras={"model": "demo"})
    assert "metadata   {'model': 'demo'}" in _show(cache, "plain")
    cache.put("odd", b"plan", extras={EXTRAS_KEY: {"format": 99}, "model": "x"})
    text = _show(cache, "odd")
    assert "pipeline:  metadata is malformed or of a newer format" in text
    assert "'format': 99" in text and "'model': 'x'" in text
