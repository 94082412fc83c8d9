"""Fixed networks whose digests are committed in golden.json (regenerate: see test_golden)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import trt_netser

from .zoo import LOOP_INTERNAL, ZOO, network_with, new_network


def mlp(trt: Any) -> Any:
    _, net, x = new_network(trt)
    flat = net.add_shuffle(x)
    flat.reshape_dims = trt.Dims([2, 8 * 16 * 16])
    weight = net.add_constant(trt.Dims([2048, 64]), trt.Weights(np.ones((2048, 64), np.float32)))
    hidden = net.add_matrix_multiply(
        flat.get_output(0), trt.MatrixOperation.NONE, weight.get_output(0), trt.MatrixOperation.NONE
    )
    hidden.name = "fc1"
    act = net.add_activation(hidden.get_output(0), trt.ActivationType.GELU_TANH)
    act.get_output(0).name = "logits"
    net.mark_output(act.get_output(0))
    return net


def every_layer(trt: Any) -> Any:
    """One network holding one instance of every layer type of the zoo."""
    with trt_netser.capture(trt):
        _, net, x = new_network(trt)
        for name in sorted(ZOO):
            layer = ZOO[name](trt, net, x, 0)
            out = layer.get_output(0) if layer.num_outputs else None
            if name in LOOP_INTERNAL:
                continue  # build_loop marked the loop's output
            if out is not None and not out.is_network_output:
                net.mark_output(out)
    return net


def convolution(trt: Any) -> Any:
    return network_with(trt, "CONVOLUTION")[1]


def loop(trt: Any) -> Any:
    return network_with(trt, "RECURRENCE")[1]


GOLDEN: dict[str, Callable[[Any], Any]] = {
    "mlp": mlp,
    "convolution": convolution,
    "loop": loop,
    "every_layer": every_layer,
}
