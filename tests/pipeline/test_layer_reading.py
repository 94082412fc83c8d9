"""One reading of a network's layers per pipeline call (trt_netser.layers): the key's
config part, the walk and the weight collection share it, and nothing else does."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trt_netser
import trt_netser.offline as trt
from tests.pipeline.nets import conv_net
from trt_netser.layers import layer_reading, sharing_layer_reads
from trt_netser.walk import trt_api

API = trt_api(trt)


def _reading(net: Any) -> Any:
    return layer_reading(net, API)


@pytest.fixture
def get_layer_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every index the library (not the offline builder's own lowering) passes to
    INetworkDefinition.get_layer while the test runs."""
    calls: list[int] = []
    original = trt.INetworkDefinition.get_layer

    def counting(self: Any, index: int) -> Any:
        caller = str(sys._getframe(1).f_globals.get("__name__", ""))
        if not caller.startswith("trt_netser.offline"):
            calls.append(index)
        return original(self, index)

    monkeypatch.setattr(trt.INetworkDefinition, "get_layer", counting)
    yield calls


def test_inside_a_block_one_network_is_read_once() -> None:
    net = conv_net(trt).network
    with sharing_layer_reads():
        first = _reading(net)
        assert _reading(net) is first
        assert [type(layer).__name__ for layer in first.layers][:2] == [
            "IConvolutionLayer",
            "IScaleLayer",
        ]
        assert first.types == [net.get_layer(i).type for i in range(net.num_layers)]
    assert _reading(net) is not first  # outside a block every call reads afresh


def test_a_grown_network_is_read_again_and_networks_do_not_mix() -> None:
    one, other = conv_net(trt), conv_net(trt, seed=1)
    with sharing_layer_reads():
        before = _reading(one.network)
        mine = _reading(other.network)
        assert mine is not before and mine.network is other.network
        relu = one.network.add_activation(
            one.network.get_layer(0).get_output(0), trt.ActivationType.RELU
        )
        after = _reading(one.network)
        assert after is not before
        assert len(after) == len(before) + 1
        assert after.layers[-1].name == relu.name
        assert _reading(one.network) is after
        assert _reading(other.network) is mine


def test_blocks_are_per_thread() -> None:
    net = conv_net(trt).network
    seen: list[Any] = []
    with sharing_layer_reads():
        mine = _reading(net)
        worker = threading.Thread(target=lambda: seen.append(_reading(net)))
        worker.start()
        worker.join()
    assert seen and seen[0] is not mine


def test_a_build_and_a_hit_read_each_layer_once(tmp_path: Path, get_layer_calls: list[int]) -> None:
    cache = trt_netser.EngineCache(tmp_path)
    net = conv_net(trt)
    count = net.network.num_layers
    miss = net.build(cache=cache)
    assert miss.outcome.value == "miss-built"
    # the key (config device types, walk), the explanation's dump and the stored dump
    # share one reading
    assert sorted(get_layer_calls) == list(range(count))
    get_layer_calls.clear()
    again = conv_net(trt, seed=5)
    hit = again.build(cache=cache)
    assert hit.outcome.value == "hit-refit"
    assert sorted(get_layer_calls) == list(range(count))  # key and collect: one reading


def test_the_digest_is_the_same_with_a_shared_reading() -> None:
    net = conv_net(trt).network
    config = conv_net(trt).config
    alone = trt_netser.cache_key(net, config)
    with sharing_layer_reads():
        assert str(trt_netser.cache_key(net, config)) == str(alone)
        assert str(trt_netser.cache_key(net, config)) == str(alone)  # the reading reused
    assert trt_netser.hash_network(net) == trt_netser.hash_network(net)


def test_collected_weights_come_from_the_shared_layers() -> None:
    net = conv_net(trt)
    with sharing_layer_reads():
        reading = _reading(net.network)
        weights = trt_netser.pipeline.collect_weights(net.network)
    conv = weights.by_layer_role[("conv", "KERNEL")]
    assert reading.layers[conv.index].name == "conv"
    assert np.shares_memory(conv.value, net.arrays["kernel"])
