"""The reusable networks build cleanly and have the shapes client code relies on."""

from __future__ import annotations

import time
from typing import Any

import pytest

import trt_netser.offline as trt
from tests.offline import networks
from tests.offline.conftest import ListLogger
from tests.offline.plugins import register_test_plugins


def _shapes_by_type(net: Any, ltype: Any) -> list[tuple[int, ...]]:
    return [
        tuple(net.get_layer(i).get_output(0).shape)
        for i in range(net.num_layers)
        if net.get_layer(i).type == ltype and net.get_layer(i).num_outputs
    ]


@pytest.mark.parametrize("attention", ["attention", "plugin"])
def test_decoder_block(attention: str) -> None:
    register_test_plugins(trt)
    logger = ListLogger()
    net = networks.build_decoder_block(
        trt,
        hidden=64,
        heads=4,
        kv_heads=2,
        attention=attention,
        network=networks.new_network(trt, trt.Builder(logger)),
    )
    assert logger.errors == []
    assert tuple(net.get_output(0).shape) == (-1, -1, 64)
    rope = _shapes_by_type(net, trt.LayerType.ROTARY_EMBEDDING)
    assert rope == [(-1, 4, -1, 16), (-1, 2, -1, 16)]  # q heads, kv heads: static dims survive
    shuffles = _shapes_by_type(net, trt.LayerType.SHUFFLE)
    assert (-1, -1, 64) in shuffles and (-1, 2, -1, 16) in shuffles
    kinds = {net.get_layer(i).type for i in range(net.num_layers)}
    assert {
        trt.LayerType.SHAPE,
        trt.LayerType.SLICE,
        trt.LayerType.CONCATENATION,
        trt.LayerType.MATRIX_MULTIPLY,
        trt.LayerType.REDUCE,
    } <= kinds
    expected = (
        trt.LayerType.ATTENTION_OUTPUT if attention == "attention" else trt.LayerType.PLUGIN_V2
    )
    assert expected in kinds


def test_cnn_loop_conditional() -> None:
    assert tuple(networks.build_cnn(trt).get_output(0).shape) == (-1, 10)
    loop = networks.build_loop(trt, steps=5, width=8)
    assert [tuple(loop.get_output(i).shape) for i in range(2)] == [(8,), (5, 8)]
    cond = networks.build_if_conditional(trt)
    assert tuple(cond.get_output(0).shape) == (-1, 8)


def test_llm_like_scales_linearly() -> None:
    t0 = time.perf_counter()
    small = networks.build_llm_like(trt, 500)
    t1 = time.perf_counter()
    big = networks.build_llm_like(trt, 5000)
    t2 = time.perf_counter()
    assert small.num_layers >= 500 and big.num_layers >= 5000
    per_small = (t1 - t0) / small.num_layers
    per_big = (t2 - t1) / big.num_layers
    assert per_big < 5 * per_small + 1e-4, (per_small, per_big)  # O(1) per add, not O(n)
    assert tuple(big.get_output(0).shape) == (-1, -1, 256)
