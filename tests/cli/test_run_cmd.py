"""``trt-netser run``: build a user's SPEC offline, run it, write the outputs to an .npz."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.cli.conftest import Invoke


def _feeds(tmp_path: Path, x: np.ndarray) -> Path:
    path = tmp_path / "feeds.npz"
    np.savez(path, x=x)
    return path


def _reference(x: np.ndarray) -> np.ndarray:
    """The conftest model, written out in numpy: softmax(relu(x @ 1), axis 2)."""
    h = np.maximum(x.astype(np.float64) @ np.ones((1, 16, 16)), 0)
    e = np.exp(h - h.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


def test_run_writes_the_network_outputs(cli: Invoke, model: Path, tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((2, 8, 16)).astype(np.float32) / 16
    out = tmp_path / "out.npz"
    res = cli("run", f"{model}:build", "--inputs", _feeds(tmp_path, x), "-o", out)
    assert res.exit_code == 0, res.output
    assert "wrote 1 tensors" in res.output
    with np.load(out) as data:
        assert data.files == ["y"]
        assert data["y"].dtype == np.float32
        np.testing.assert_allclose(data["y"], _reference(x), rtol=1e-5)


def test_run_float64_every_layer(cli: Invoke, model: Path, tmp_path: Path) -> None:
    x = np.random.default_rng(1).standard_normal((1, 8, 16)).astype(np.float32)
    out = tmp_path / "all.npz"
    res = cli(
        "run",
        f"{model}:build_cfg",
        "--inputs",
        _feeds(tmp_path, x),
        "-o",
        out,
        "--dtype",
        "float64",
        "--outputs",
        "all",
        "--json",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    names = [t["name"] for t in summary["tensors"]]
    assert "y" in names and len(names) == 4  # constant, matmul, activation, softmax
    with np.load(out) as data:
        assert all(data[n].dtype == np.float64 for n in names)
        np.testing.assert_allclose(data["y"], _reference(x), rtol=1e-12)


def test_run_reports_bad_inputs(cli: Invoke, model: Path, tmp_path: Path) -> None:
    missing = cli("run", f"{model}:build", "--inputs", tmp_path / "nope.npz")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, z=np.zeros(3, np.float32))
    res = cli("run", f"{model}:build", "--inputs", wrong)
    assert res.exit_code == 2
    assert "input 'x' is not in the inputs file" in res.output


STRIPPED = """
import numpy as np
import tensorrt as trt

_KEEP = []


def build():
    builder = trt.Builder(trt.Logger())
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (1, 2, 4, 4))
    w = np.arange(36, dtype=np.float32).reshape(2, 2, 3, 3) / 36
    _KEEP.append((builder, w))
    conv = net.add_convolution_nd(x, 2, (3, 3), trt.Weights(w), trt.Weights())
    conv.get_output(0).name = "y"
    net.mark_output(conv.get_output(0))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.STRIP_PLAN)
    return net, config
"""


def test_run_builds_strip_plan_configs_with_their_weights(cli: Invoke, tmp_path: Path) -> None:
    model = tmp_path / "stripped.py"
    model.write_text(STRIPPED)
    x = np.ones((1, 2, 4, 4), np.float32)
    out = tmp_path / "o.npz"
    res = cli("run", f"{model}:build", "--inputs", _feeds(tmp_path, x), "-o", out)
    assert res.exit_code == 0, res.output
    w = np.arange(36, dtype=np.float32).reshape(2, 2, 3, 3) / 36
    with np.load(out) as data:
        np.testing.assert_allclose(data["y"][0, :, 0, 0], w.sum(axis=(1, 2, 3)), rtol=1e-6)
