"""Weights collection: every role, names resolved, no copies, pinned digests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import trt_netser
from tests.pipeline.nets import conv_net
from trt_netser.layers import read_layers
from trt_netser.pipeline import WEIGHT_ROLES, collect_weights
from trt_netser.pipeline._entry import EntryMeta, Inventory, MetaError, pin, pinned_sources
from trt_netser.pipeline._weights import _layer_plans, values_digest, weights_nbytes
from trt_netser.walk import trt_api


@pytest.fixture
def offline() -> Any:
    import trt_netser.offline as trt

    return trt


def test_every_role_is_collected_without_copies(offline: Any) -> None:
    net = conv_net(offline)
    weights = collect_weights(net.network)
    found = {(s.layer, s.prop): s for s in weights.sources}
    expected = {
        ("conv", "kernel"): ("KERNEL", "kernel"),
        ("conv", "bias"): ("BIAS", "bias"),
        ("scale", "shift"): ("SHIFT", "shift"),
        ("scale", "scale"): ("SCALE", "scale"),
        ("scale", "power"): (None, "power"),
        ("offset", "weights"): ("CONSTANT", "offset"),
        ("index", "weights"): ("CONSTANT", "index"),
    }
    assert set(found) == set(expected)
    for where, (role, array) in expected.items():
        source = found[where]
        assert source.role == role
        assert np.shares_memory(source.value, net.arrays[array]), where  # a view, not a copy
        assert source.count == net.arrays[array].size
    assert found[("index", "weights")].dtype == "INT32"
    assert weights.by_layer_role[("conv", "KERNEL")] is found[("conv", "kernel")]
    assert weights.nbytes == sum(a.nbytes for a in net.arrays.values())


def test_pointers_are_the_buffers_addresses_read_on_demand(offline: Any) -> None:
    net = conv_net(offline)
    weights = collect_weights(net.network)
    for s in weights.sources:
        array = net.arrays[s.prop if s.owner != "IConstantLayer" else s.layer]
        assert s.pointer == array.__array_interface__["data"][0], s.where
    shared = offline.Weights(net.arrays["kernel"])
    net.network.add_constant(offline.Dims([4, 3, 3, 3]), shared).name = "again"
    # one buffer in two layers is counted once
    assert collect_weights(net.network).nbytes == sum(a.nbytes for a in net.arrays.values())


def test_layer_types_without_weights_are_skipped_by_type(offline: Any) -> None:
    plans = _layer_plans(offline)
    weighted = {
        member: plan.owner
        for member, value in offline.LayerType.__members__.items()
        if (plan := plans.get(int(value))) is not None
    }
    assert weighted == {
        "CONVOLUTION": "IConvolutionLayer",
        "DECONVOLUTION": "IDeconvolutionLayer",
        "SCALE": "IScaleLayer",
        "CONSTANT": "IConstantLayer",
    }
    assert {c for c, _p in WEIGHT_ROLES} == set(weighted.values())
    net = conv_net(offline)
    # an activation layer's own ``type`` (ActivationType.RELU == 0) must not be read as
    # the LayerType (CONVOLUTION == 0): the reader goes through ILayer's property
    relu = net.network.add_activation(
        net.network.get_layer(0).get_output(0), offline.ActivationType.RELU
    )
    relu.name = "relu"
    assert int(relu.type) == int(offline.LayerType.CONVOLUTION)
    reading = read_layers(net.network, trt_api(offline))
    assert reading.types[-1] == offline.LayerType.ACTIVATION
    assert type(reading.layers[-1]) is offline.IActivationLayer
    layers = {s.layer for s in collect_weights(net.network).sources}
    assert layers == {"conv", "scale", "offset", "index"}


def test_duplicate_layer_names_keep_the_first_and_are_reported(offline: Any) -> None:
    net = conv_net(offline)
    twin = offline.Weights(np.zeros((1, 4, 1, 1), dtype=np.float32))
    net.network.add_constant(offline.Dims([1, 4, 1, 1]), twin).name = "offset"
    weights = collect_weights(net.network)
    assert weights.duplicate_layers == {("offset", "CONSTANT")}
    first = weights.by_layer_role[("offset", "CONSTANT")]
    assert np.shares_memory(first.value, net.arrays["offset"])
    assert [s.layer for s in weights.sources].count("offset") == 2


def test_role_table_matches_the_weights_role_enum(offline: Any) -> None:
    members = set(offline.WeightsRole.__members__)
    assert {r for r in WEIGHT_ROLES.values() if r is not None} <= members
    assert WEIGHT_ROLES[("IScaleLayer", "power")] is None  # TensorRT cannot refit power


def test_named_weights_are_resolved(offline: Any) -> None:
    net = conv_net(offline, named=True)
    weights = collect_weights(net.network)
    source = weights.named("conv.weight")
    assert source is not None and (source.layer, source.prop) == ("conv", "kernel")
    assert not weights.unresolved_names


def test_names_set_outside_capture_are_unknown(offline: Any) -> None:
    net = conv_net(offline)
    net.network.set_weights_name(offline.Weights(net.arrays["kernel"]), "late")
    assert collect_weights(net.network).named("late") is None


def test_values_digest_depends_on_values_and_dtype() -> None:
    a = np.arange(6, dtype=np.float32)
    assert values_digest(a) == values_digest(a.copy())
    assert values_digest(a) != values_digest(a + 1)
    assert values_digest(a) != values_digest(a.astype(np.int32))
    assert values_digest(a.astype(">f4")) == values_digest(a)


def test_pinned_are_the_weights_outside_the_inventory(offline: Any) -> None:
    weights = collect_weights(conv_net(offline).network)
    inventory = Inventory(layers=(("conv", "KERNEL", "FLOAT", 108), ("conv", "BIAS", "FLOAT", 4)))
    pinned = {(s.layer, s.prop) for s in pinned_sources(weights, inventory)}
    assert ("conv", "kernel") not in pinned and ("scale", "power") in pinned
    assert ("offset", "weights") in pinned


def test_metadata_round_trip_and_validation(offline: Any) -> None:
    weights = collect_weights(conv_net(offline).network)
    inventory = Inventory(named=(("w", "FLOAT", 3),), layers=(("conv", "BIAS", "FLOAT", 4),))
    meta = EntryMeta("REFIT", False, inventory, pin(pinned_sources(weights, inventory)))
    again = EntryMeta.from_extras(meta.to_extras())
    assert again == meta
    extras = meta.to_extras()
    extras["trt_netser.pipeline"]["format"] = 99
    with pytest.raises(MetaError, match="newer"):
        EntryMeta.from_extras(extras)
    with pytest.raises(MetaError, match="no pipeline metadata"):
        EntryMeta.from_extras({})


def test_collect_accepts_a_tensorrt_llm_style_wrapper(offline: Any) -> None:
    net = conv_net(offline)

    class Network:  # TensorRT-LLM's Network holds the TensorRT one
        trt_network = net.network

    assert len(collect_weights(Network()).sources) == len(collect_weights(net.network).sources)
    assert trt_netser.pipeline.collect_weights is collect_weights


def test_byte_counts_of_packed_weights_are_their_true_size(offline: Any) -> None:
    # the 10.16 bindings report 2**64 - count as nbytes of INT4/FP4 Weights made from a
    # pointer (the offline model shows it as they do): the pipeline counts from the dtype
    packed = np.arange(8, dtype=np.uint8)  # 16 INT4 values
    for dtype in ("INT4", "FP4"):
        w = offline.Weights(getattr(offline, dtype.lower()), packed.ctypes.data, 15)
        assert w.nbytes > 1 << 62  # what TensorRT reports
        assert weights_nbytes(w) == 8  # ceil(15 * 4 / 8)
    assert weights_nbytes(offline.Weights(np.ones(3, dtype=np.float16))) == 6
    assert weights_nbytes(np.ones((2, 3), dtype=np.float32)) == 24
