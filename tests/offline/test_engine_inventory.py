"""Refit inventory properties over random zoo networks and random weight sets.

Why: the build-or-refit pipeline trusts two promises of the engine model. (1) The refit
inventory never lists a weight TensorRT bakes in (Scale power, integer constants,
constants feeding shapes, weights of removed layers, unmarked weights under
REFIT_INDIVIDUAL), and it lists every learned weight it should. (2) Refitting every
inventory weight of an engine with new values gives exactly the plan a fresh build with
those values gives. The expectations here are written from the network's public API and
TensorRT's documented rules, not from the inventory module's tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.hashing.zoo import BUILDER_GROUP, X_SHAPE, ZOO
from tests.offline.conftest import ListLogger

#: One zoo entry per construct group, so two steps never add the same inputs twice.
LAYER_TYPES = sorted({BUILDER_GROUP.get(n, n): n for n in sorted(ZOO)}.values())
#: Weights attribute of each role, per layer type that has roles (TensorRT's WeightsRole docs).
ROLE_ATTRS: dict[str, dict[str, str]] = {
    "CONVOLUTION": {"KERNEL": "kernel", "BIAS": "bias"},
    "DECONVOLUTION": {"KERNEL": "kernel", "BIAS": "bias"},
    "SCALE": {"SHIFT": "shift", "SCALE": "scale"},
    "CONSTANT": {"CONSTANT": "weights"},
}
INTEGER_TYPES = {trt.int32, trt.int64, trt.bool, trt.uint8}
MODES = ("REFIT", "REFIT_IDENTICAL", "STRIP_PLAN", "REFIT_INDIVIDUAL")

steps = st.lists(
    st.tuples(st.sampled_from(LAYER_TYPES), st.booleans(), st.booleans()),
    min_size=1,
    max_size=5,
    unique_by=lambda s: s[0],
)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _layer_class(layer: Any) -> type:
    name = str(layer.type).split(".")[-1]
    return {
        "CONVOLUTION": trt.IConvolutionLayer,
        "DECONVOLUTION": trt.IDeconvolutionLayer,
        "SCALE": trt.IScaleLayer,
        "CONSTANT": trt.IConstantLayer,
    }[name]


def build_network(
    plan: list[tuple[str, bool, bool]], mode: str, marked: list[int]
) -> tuple[Any, Any, Any, ListLogger]:
    """(builder, network, config, logger) of a random zoo network under a refit mode."""
    logger = ListLogger()
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, X_SHAPE)
    source = x
    last = None
    for i, (layer_type, chain, mark) in enumerate(plan):
        layer = ZOO[layer_type](trt, net, source if chain else x, i)
        out = layer.get_output(0) if layer.num_outputs else None
        if out is not None:
            last = out
            if mark and not out.is_network_output:
                net.mark_output(out)
            if out.dtype == trt.float32 and tuple(out.shape) == X_SHAPE:
                source = out
    if net.num_outputs == 0:
        net.mark_output(last if last is not None else net.add_identity(x).get_output(0))
    config = builder.create_builder_config()
    if mode == "STRIP_PLAN":
        config.set_flag(trt.BuilderFlag.REFIT)
    config.set_flag(getattr(trt.BuilderFlag, mode))
    if mode == "REFIT_INDIVIDUAL":
        names = [layer.name for layer in _weight_layers(net)]
        for k in marked:
            if names:
                net.mark_weights_refittable(names[k % len(names)])
    return builder, net, config, logger


def _weight_layers(net: Any) -> list[Any]:
    """Layers whose weights have a WeightsRole, downcast."""
    found = []
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        if str(layer.type).split(".")[-1] in ROLE_ATTRS:
            layer.__class__ = _layer_class(layer)
            found.append(layer)
    return found


def _is_quantization_parameter(net: Any, tensor: Any) -> bool:
    """Whether a Quantize/Dequantize layer reads ``tensor`` as its scale or zero point."""
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        kind = str(layer.type).split(".")[-1]
        if kind in ("QUANTIZE", "DEQUANTIZE", "DYNAMIC_QUANTIZE"):
            slots = range(1, layer.num_inputs) if kind != "DYNAMIC_QUANTIZE" else (1,)
            if any(layer.get_input(k) is tensor for k in slots if k < layer.num_inputs):
                return True
    return False


def _expected_inventory(net: Any, mode: str) -> set[tuple[str, str]]:
    """(layer name, role) of every weight TensorRT's rules leave refittable."""
    out = set()
    for layer in _weight_layers(net):
        kind = str(layer.type).split(".")[-1]
        outputs = [layer.get_output(i) for i in range(layer.num_outputs)]
        if not any(t.is_execution_tensor for t in outputs):
            continue  # removed by the builder
        if kind == "CONSTANT" and (
            outputs[0].dtype in INTEGER_TYPES
            or outputs[0].is_shape_tensor
            or _is_quantization_parameter(net, outputs[0])
        ):
            continue  # baked in
        if mode == "REFIT_INDIVIDUAL" and not net.are_weights_marked_refittable(layer.name):
            continue
        for role, attr in ROLE_ATTRS[kind].items():
            if np.asarray(getattr(layer, attr)).size:
                out.add((layer.name, role))
    return out


@SETTINGS
@given(
    plan=steps,
    mode=st.sampled_from(MODES),
    marked=st.lists(st.integers(0, 20), max_size=3),
    weight_seed=st.integers(0, 2**32 - 1),
)
def test_refitting_the_inventory_reproduces_a_fresh_build(
    plan: list[tuple[str, bool, bool]], mode: str, marked: list[int], weight_seed: int
) -> None:
    builder, net, config, logger = build_network(plan, mode, marked)
    built = builder.build_serialized_network(net, config)
    assert built is not None, logger.errors
    engine = trt.Runtime(logger).deserialize_cuda_engine(built)
    refitter = trt.Refitter(engine, logger)
    layers, roles = refitter.get_all()
    inventory = [(name, role.name) for name, role in zip(layers, roles, strict=True)]

    event(f"inventory size {min(len(inventory), 3)}{'+' if len(inventory) >= 3 else ''}")

    # (1) exactly the weights the rules leave refittable, and never Scale power
    assert set(inventory) == _expected_inventory(net, mode)
    assert len(inventory) == len(set(inventory))

    # (2) a fresh build with random new values == a refit of the first engine with them
    builder2, net2, config2, logger2 = build_network(plan, mode, marked)
    by_name = {layer.name: layer for layer in _weight_layers(net2)}
    rng = np.random.default_rng(weight_seed)
    for name, role in inventory:
        layer = by_name[name]
        attr = ROLE_ATTRS[str(layer.type).split(".")[-1]][role]
        old = np.asarray(getattr(layer, attr))
        new = rng.standard_normal(old.shape).astype(old.dtype)
        setattr(layer, attr, trt.Weights(new))
        assert refitter.set_weights(name, getattr(trt.WeightsRole, role), new), logger.errors
    fresh = builder2.build_serialized_network(net2, config2)
    assert fresh is not None, logger2.errors
    assert refitter.get_missing() == ([], [])
    assert refitter.refit_cuda_engine() is True, logger.errors
    assert bytes(engine.serialize()) == bytes(fresh)
    assert not logger.errors
