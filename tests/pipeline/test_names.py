"""The generated-name policy: line numbers stripped only where the result stays unique."""

from __future__ import annotations

from typing import Any

import pytest

from trt_netser.pipeline._names import NAME_POLICIES, apply_name_policy


@pytest.fixture
def offline() -> Any:
    import trt_netser.offline as trt

    return trt


def _net(trt: Any, names: list[str]) -> Any:
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, trt.Dims([2, 2]))
    for name in names:
        layer = net.add_activation(x, trt.ActivationType.RELU)
        layer.name = name
        x = layer.get_output(0)
        x.name = f"{name}:0"
    x.name = "out"
    net.mark_output(x)
    return net


def test_line_numbers_are_stripped(offline: Any) -> None:
    net = _net(offline, ["m/relu_L630/RELU_0", "m/relu_L1151_x/RELU_1", "plain"])
    assert apply_name_policy(net, "strip-line-numbers") == 2 + 2  # two layers, two tensors
    assert [net.get_layer(i).name for i in range(3)] == [
        "m/relu/RELU_0",
        "m/relu_x/RELU_1",
        "plain",
    ]
    assert net.get_layer(0).get_output(0).name == "m/relu/RELU_0:0"
    assert net.get_output(0).name == "out"  # bindings are never renamed


def test_collisions_keep_their_names(offline: Any) -> None:
    net = _net(offline, ["a_L1/b", "a_L2/b"])
    apply_name_policy(net, "strip-line-numbers")
    assert [net.get_layer(i).name for i in range(2)] == ["a_L1/b", "a_L2/b"]


def test_keep_and_unknown_policies(offline: Any) -> None:
    net = _net(offline, ["a_L1/b"])
    assert apply_name_policy(net, "keep") == 0 and net.get_layer(0).name == "a_L1/b"
    with pytest.raises(ValueError, match="strip-line-numbers"):
        apply_name_policy(net, "bogus")  # type: ignore[arg-type]
    assert set(NAME_POLICIES) == {"keep", "strip-line-numbers"}
