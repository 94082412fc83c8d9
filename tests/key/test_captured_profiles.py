"""Optimization profiles added inside trt_netser.capture() reach the key without profiles=."""

from __future__ import annotations

from typing import Any

import pytest

import trt_netser
import trt_netser.offline as trt


def build(max_batch: int, *, inside: bool = True) -> tuple[Any, Any]:
    def make() -> tuple[Any, Any]:
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        net = builder.create_network(0)
        x = net.add_input("x", trt.float32, trt.Dims([-1, 8]))
        net.mark_output(net.add_identity(x).get_output(0))
        config = builder.create_builder_config()
        profile = builder.create_optimization_profile()
        profile.set_shape("x", (1, 8), (4, 8), (max_batch, 8))
        config.add_optimization_profile(profile)
        return net, config

    if not inside:
        return make()
    with trt_netser.capture(trt):
        return make()


def test_profiles_added_inside_capture_are_keyed() -> None:
    a = trt_netser.cache_key(*build(16))
    b = trt_netser.cache_key(*build(32))
    assert str(a) != str(b)
    assert a.diff(b) == ("config",)
    assert str(trt_netser.cache_key(*build(16))) == str(a)


def test_profiles_added_outside_capture_must_be_passed() -> None:
    net, config = build(16, inside=False)
    with pytest.raises(ValueError, match="profile"):
        trt_netser.cache_key(net, config)
