"""Fixtures for CLI tests: build-function files written the way users write them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from trt_netser.cli import main

ROOT = Path(__file__).resolve().parents[2]

#: A user's model file: plain `import tensorrt as trt`, nothing trt-netser specific.
MODEL = """
import numpy as np
import tensorrt as trt

_KEEP = []


def _net(act="RELU", axis=2, extra=False, rewire=False, shape=(-1, 8, 16), named=True,
         seed=1.0, config=False, fp16=False, rename=None):
    builder = trt.Builder(trt.Logger())
    net = builder.create_network(0)
    x = net.add_input("x", trt.DataType.FLOAT, shape)
    w = np.full((1, 16, 16), seed, np.float32)
    _KEEP.append(w)
    const = net.add_constant(w.shape, w)
    mm = net.add_matrix_multiply(x, trt.MatrixOperation.NONE, const.get_output(0),
                                 trt.MatrixOperation.NONE)
    act_layer = net.add_activation(mm.get_output(0), getattr(trt.ActivationType, act))
    src = act_layer.get_output(0)
    if extra:
        scale = net.add_unary(src, trt.UnaryOperation.ABS)
        if named:
            scale.name = "extra_abs"
        src = scale.get_output(0)
    soft = net.add_softmax(mm.get_output(0) if rewire else src)
    soft.axes = 1 << axis
    if named:
        const.name, mm.name, act_layer.name, soft.name = "w", "proj", "act", "softmax"
        if rename:
            act_layer.name = rename
    soft.get_output(0).name = "y"
    net.mark_output(soft.get_output(0))
    _KEEP.append((builder, net))
    if not config:
        return net
    cfg = builder.create_builder_config()
    cfg.set_flag(trt.BuilderFlag.REFIT)
    if fp16:
        cfg.set_flag(trt.BuilderFlag.FP16)
    return net, cfg


def build():
    return _net()


def build_tuned():
    return _net(seed=2.0)


def build_cfg():
    return _net(config=True)


def build_cfg_tuned():
    return _net(config=True, seed=3.0)


def build_cfg_act():
    return _net(config=True, act="SIGMOID")


def build_cfg_fp16():
    return _net(config=True, fp16=True)


def build_axis():
    return _net(axis=1)


def build_extra():
    return _net(extra=True)


def build_rewired():
    return _net(rewire=True)


def build_shape():
    return _net(shape=(-1, 4, 16))


def build_renamed():
    return _net(rename="activation")


def build_unnamed():
    return _net(named=False)


def build_unnamed_act():
    return _net(named=False, act="TANH")


def build_unnamed_extra():
    return _net(named=False, extra=True)


def build_with_trt(trt):
    return _net()


def fails():
    raise ValueError("boom: the weights file is missing")


def bad_return():
    return 42


def needs_arg(path):
    return _net()


not_callable = 3
"""


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    """A model.py in a fresh directory; SPECs are f"{model}:build" etc."""
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return path


Invoke = Callable[..., Result]


@pytest.fixture()
def cli() -> Invoke:
    """Run the CLI in-process (CliRunner), stdout and stderr kept apart."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    return invoke


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, module: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("TRT_NETSER_DEBUG", None)
    full_env.update(env or {})
    if module:
        cmd = [sys.executable, "-m", "trt_netser.cli", *map(str, args)]
    else:
        cmd = [str(Path(sys.executable).parent / "trt-netser"), *map(str, args)]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=120
    )
