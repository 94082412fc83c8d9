"""Small networks written as client code writes them, whose weights depend on a seed.

``Net`` keeps the numpy arrays alive (TensorRT holds weights by reference) and has the
builder, network and a fresh config; ``fresh_plan`` builds the same network without the
pipeline, as a reference for what a refit engine must equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import trt_netser


@dataclass
class Net:
    trt: Any
    builder: Any
    network: Any
    config: Any
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def build(self, **kwargs: Any) -> Any:
        return trt_netser.build_engine(self.builder, self.network, self.config, **kwargs)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def conv_net(
    trt: Any,
    seed: int = 0,
    *,
    flags: tuple[str, ...] = (),
    named: bool = False,
    stride: int = 1,
    int_seed: int = 0,
) -> Net:
    """conv (kernel, bias) -> scale (shift, scale, power) -> + float constant -> gather by an
    INT32 constant (pinned: its values are structure). ``named`` names the kernel."""
    with trt_netser.capture(trt):
        logger = trt.Logger(trt.Logger.ERROR)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        x = network.add_input("x", trt.float32, trt.Dims([1, 3, 8, 8]))
        rng = _rng(seed)
        arrays = {
            "kernel": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
            "bias": rng.standard_normal(4).astype(np.float32),
            "shift": rng.standard_normal(4).astype(np.float32),
            "scale": rng.standard_normal(4).astype(np.float32),
            "power": np.ones(4, dtype=np.float32),
            "offset": rng.standard_normal((1, 4, 1, 1)).astype(np.float32),
            "index": np.array([int_seed % 4, 1], dtype=np.int32),
        }
        conv = network.add_convolution_nd(
            x, 4, trt.Dims([3, 3]), trt.Weights(arrays["kernel"]), trt.Weights(arrays["bias"])
        )
        conv.name = "conv"
        conv.stride_nd = trt.Dims([stride, stride])
        scale = network.add_scale(
            conv.get_output(0),
            trt.ScaleMode.CHANNEL,
            trt.Weights(arrays["shift"]),
            trt.Weights(arrays["scale"]),
            trt.Weights(arrays["power"]),
        )
        scale.name = "scale"
        offset = network.add_constant(trt.Dims([1, 4, 1, 1]), trt.Weights(arrays["offset"]))
        offset.name = "offset"
        add = network.add_elementwise(
            scale.get_output(0), offset.get_output(0), trt.ElementWiseOperation.SUM
        )
        add.name = "add"
        index = network.add_constant(trt.Dims([2]), trt.Weights(arrays["index"]))
        index.name = "index"
        gather = network.add_gather(add.get_output(0), index.get_output(0), 1)
        gather.name = "gather"
        out = gather.get_output(0)
        out.name = "y"
        network.mark_output(out)
        if named:
            assert network.set_weights_name(trt.Weights(arrays["kernel"]), "conv.weight")
        config = builder.create_builder_config()
        for flag in flags:
            config.set_flag(getattr(trt.BuilderFlag, flag))
    return Net(trt, builder, network, config, arrays)


def rotary_net(trt: Any, rotary_base: float = 10000.0, *, flags: tuple[str, ...] = ()) -> Net:
    """TensorRT-LLM's rotary tables: float cos/sin constants computed from ``rotary_base``
    (a model change that lives only in float constants) applied to the input."""
    with trt_netser.capture(trt):
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        network = builder.create_network(0)
        x = network.add_input("x", trt.float32, trt.Dims([1, 16, 8]))
        inv = 1.0 / (rotary_base ** (np.arange(0, 8, 2, dtype=np.float64) / 8))
        angles = np.outer(np.arange(16), np.repeat(inv, 2))
        arrays = {
            "cos": np.cos(angles).astype(np.float32).reshape(1, 16, 8),
            "sin": np.sin(angles).astype(np.float32).reshape(1, 16, 8),
        }
        cos = network.add_constant(trt.Dims([1, 16, 8]), trt.Weights(arrays["cos"]))
        cos.name = "rotary_cos"
        sin = network.add_constant(trt.Dims([1, 16, 8]), trt.Weights(arrays["sin"]))
        sin.name = "rotary_sin"
        a = network.add_elementwise(x, cos.get_output(0), trt.ElementWiseOperation.PROD)
        a.name = "x_cos"
        b = network.add_elementwise(x, sin.get_output(0), trt.ElementWiseOperation.PROD)
        b.name = "x_sin"
        y = network.add_elementwise(a.get_output(0), b.get_output(0), trt.ElementWiseOperation.SUM)
        y.name = "rope"
        y.get_output(0).name = "y"
        network.mark_output(y.get_output(0))
        config = builder.create_builder_config()
        for flag in flags:
            config.set_flag(getattr(trt.BuilderFlag, flag))
    return Net(trt, builder, network, config, arrays)


def fresh_plan(net: Net, flags: tuple[str, ...] = ("REFIT",)) -> bytes:
    """What a fresh build (no pipeline) of ``net`` gives, with ``flags`` set."""
    for flag in flags:
        net.config.set_flag(getattr(net.trt.BuilderFlag, flag))
    plan = net.builder.build_serialized_network(net.network, net.config)
    assert plan is not None, "the reference build failed"
    return bytes(memoryview(plan))


def plan_bytes(result: Any) -> bytes:
    return bytes(memoryview(result.plan).cast("B"))
