"""Property tests over random networks built from every layer type (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import trt_netser
import trt_netser.offline as trt
from trt_netser import describe_network, encode_network, hash_network
from trt_netser.encode import decode_stream

from .zoo import BUILDER_GROUP, ZOO, new_network

LAYER_TYPES = sorted(ZOO)

#: A random network: a sequence of (layer type, reads from the input or from the previous
#: layer's first output when it is FLOAT of the input's shape, marks its outputs).
plans = st.lists(
    st.tuples(st.sampled_from(LAYER_TYPES), st.booleans(), st.booleans()), min_size=1, max_size=6
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(plan: list[tuple[str, bool, bool]], seed: int = 0) -> Any:
    return build_with_effect(plan, seed)[0]


def build_with_effect(plan: list[tuple[str, bool, bool]], seed: int = 0) -> tuple[Any, list[Any]]:
    """The network, and what the plan effectively did: per step, what was built (the
    builder: members of a construct group build the same layers), the step it read from
    (if its layers read the source at all),
    whether it marked an output, and which layer's output it returned when that output
    was used (marked, or read by a later step)."""
    steps: list[list[Any]] = []
    with trt_netser.capture(trt):
        _, net, x = new_network(trt)
        source, source_step = x, -1
        for i, (layer_type, chain, mark) in enumerate(plan):
            first = net.num_layers
            layer = ZOO[layer_type](trt, net, source if chain else x, seed + i)
            if chain and not _reads(net, first, source):  # e.g. a constant reads nothing
                chain = False
            out = layer.get_output(0) if layer.num_outputs else None
            marked = bool(mark and out is not None and not out.is_network_output)
            if marked:
                net.mark_output(out)
            built = BUILDER_GROUP.get(layer_type, layer_type)
            steps.append([built, source_step if chain else -1, marked, layer_type])
            if out is not None and out.dtype == trt.float32 and tuple(out.shape) == tuple(x.shape):
                source, source_step = out, i
    read = {step[1] for step in steps}
    effect = [
        (built, reads, marked, returned if marked or i in read else None)
        for i, (built, reads, marked, returned) in enumerate(steps)
    ]
    return net, effect


def _reads(net: Any, first: int, tensor: Any) -> bool:
    """Whether a layer added since layer ``first`` reads ``tensor``."""
    return any(
        net.get_layer(i).get_input(k) is tensor
        for i in range(first, net.num_layers)
        for k in range(net.get_layer(i).num_inputs)
    )


@SETTINGS
@given(plans)
def test_random_networks_are_stable_and_decode(plan: list[tuple[str, bool, bool]]) -> None:
    a, b = build(plan), build(plan)
    assert hash_network(a) == hash_network(b)
    stream = encode_network(a)
    assert [r.record for r in describe_network(a)] == list(decode_stream(stream))


@SETTINGS
@given(plans, st.integers(1, 10**6))
def test_random_networks_are_weight_blind(plan: list[tuple[str, bool, bool]], seed: int) -> None:
    assert hash_network(build(plan, 0)) == hash_network(build(plan, seed))


#: Two attentions, the second one marked (a) or the first (b). The zoo once returned the
#: network's first attention layer instead of the one it had just added, so the model said
#: "different" for two identical networks.
_TWO_ATTENTIONS = [
    [
        ("ATTENTION_OUTPUT", False, first),
        ("ACTIVATION", True, False),
        ("ACTIVATION", False, False),
        ("ATTENTION_OUTPUT", True, not first),
        ("ACTIVATION", True, False),
        ("ACTIVATION", True, True),
    ]
    for first in (False, True)
]


@SETTINGS
@given(plans, plans)
@example(*_TWO_ATTENTIONS)
def test_random_networks_are_sharp(
    a: list[tuple[str, bool, bool]], b: list[tuple[str, bool, bool]]
) -> None:
    """Different constructions give different digests; the same give the same."""
    net_a, effect_a = build_with_effect(a)
    net_b, effect_b = build_with_effect(b)
    assert (hash_network(net_a) == hash_network(net_b)) == (effect_a == effect_b)
