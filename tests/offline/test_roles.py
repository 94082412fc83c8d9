"""Shape and execution tensor roles (ITensor.is_shape_tensor / is_execution_tensor) on
every layer type and on random networks, against the rules written out plainly: inputs
in a layer type's shape slots are shape tensors, and so are the inputs of shape calculus
that produces one; execution tensors are what the outputs (and conditions and attention
inputs) read, except through shape slots and SHAPE layers."""

from __future__ import annotations

from typing import Any

from hypothesis import given

import trt_netser.offline as trt
from tests.hashing.test_properties import SETTINGS, build, plans
from tests.hashing.zoo import ZOO, network_with
from trt_netser.offline._layertable import LAYERS, SHAPE_CALCULUS


def reference_roles(impl: Any) -> tuple[set[Any], set[Any]]:
    """The roles by the rules, through each layer's type name."""
    shape = set(impl.shape_outputs)
    for layer in impl.layers:
        for slot in LAYERS[layer.ltype.name].shape_slots:
            if slot < len(layer.inputs) and layer.inputs[slot] is not None:
                shape.add(layer.inputs[slot])
    work = list(shape)
    while work:
        p = work.pop()._producer
        if p is not None and p.ltype.name in SHAPE_CALCULUS:
            for d in p.inputs:
                if d is not None and d not in shape:
                    shape.add(d)
                    work.append(d)
    execution: set[Any] = set()
    work = list(impl.outputs)
    for layer in impl.layers:
        if layer.ltype.name in ("CONDITION", "ATTENTION_INPUT"):
            work.extend(t for t in layer.inputs if t is not None)
    while work:
        t = work.pop()
        if t in execution:
            continue
        execution.add(t)
        p = t._producer
        if p is None or p.ltype.name == "SHAPE":
            continue
        deps = p.construct.inputs if p.ltype.name == "ATTENTION_OUTPUT" else p.inputs
        slots = LAYERS[p.ltype.name].shape_slots
        work.extend(d for i, d in enumerate(deps) if d is not None and i not in slots)
    return shape, execution


def assert_roles(net: Any) -> None:
    shape, execution = reference_roles(net._impl)
    tensors = [net.get_input(k) for k in range(net.num_inputs)]
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        tensors += [layer.get_output(j) for j in range(layer.num_outputs)]
    for t in tensors:
        assert (t.is_shape_tensor, t.is_execution_tensor) == (t in shape, t in execution), t.name
    assert set(net._impl.roles()[0]) == shape and set(net._impl.roles()[1]) == execution


def test_roles_of_every_layer_type() -> None:
    seen = set()
    for layer_type in sorted(ZOO):
        net = network_with(trt, layer_type)[1]
        assert_roles(net)
        seen |= set(reference_roles(net._impl)[0])
    assert seen  # some zoo networks have shape tensors


@SETTINGS
@given(plans)
def test_roles_of_random_networks(plan: list[tuple[str, bool, bool]]) -> None:
    assert_roles(build(plan))
