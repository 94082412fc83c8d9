"""The walk's structure pass and canonical order: Kahn's algorithm with ties broken by
insertion index, its shortcut for networks whose insertion order is already topological,
and the compiled structure pass against the Python one."""

from __future__ import annotations

import heapq
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import trt_netser.offline as trt
from trt_netser import UnhashableNetworkError, hash_network
from trt_netser import walk as walk_module
from trt_netser.layers import read_layers
from trt_netser.policy import Policy
from trt_netser.walk import Adjacency, Walk, trt_api

from .test_properties import SETTINGS
from .zoo import ZOO, network_with, new_network


def reference_order(net: Any) -> list[int]:
    """Kahn's algorithm over the edges read through the public API, smallest index first."""
    n = net.num_layers
    layers = [net.get_layer(i) for i in range(n)]
    producer = {
        id(layer.get_output(j)): i
        for i, layer in enumerate(layers)
        for j in range(layer.num_outputs)
    }
    consumers: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for i, layer in enumerate(layers):
        for s in range(layer.num_inputs):
            p = producer.get(id(layer.get_input(s)))
            if p is not None:
                consumers[p].append(i)
                indegree[i] += 1
    ready = [i for i in range(n) if indegree[i] == 0]
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in consumers[i]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(ready, c)
    assert len(order) == n
    return order


#: A random DAG: the layers' ranks (a layer reads only layers of lower rank) and, per
#: layer, which lower-ranked layers (or the input, -1) its two inputs read.
dags = st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.tuples(
        st.permutations(range(n)),
        st.lists(
            st.tuples(st.integers(0, 1 << 16), st.integers(0, 1 << 16)), min_size=n, max_size=n
        ),
        st.booleans(),
    )
)


def dag_network(ranks: list[int], picks: list[tuple[int, int]], rewire: bool) -> Any:
    """Layers added reading the input, then (``rewire``) rewired with set_input to their
    picks among lower-ranked layers, so that the insertion order need not be topological;
    without ``rewire``, the picks are among earlier layers (insertion order is topological)."""
    _, net, x = new_network(trt)
    n = len(ranks)
    layers = []
    for i in range(n):
        a, b = (x if rewire else _earlier(x, layers, p) for p in picks[i])
        layers.append(net.add_elementwise(a, b, trt.ElementWiseOperation.SUM))
    if rewire:
        for i, layer in enumerate(layers):
            lower = [k for k in range(n) if ranks[k] < ranks[i]]
            for slot, p in enumerate(picks[i]):
                choice = p % (len(lower) + 1)
                if choice:
                    layer.set_input(slot, layers[lower[choice - 1]].get_output(0))
    net.mark_output(layers[-1].get_output(0))
    return net


def _earlier(x: Any, layers: list[Any], pick: int) -> Any:
    """The input or the output of one of ``layers`` (all added before), by ``pick``."""
    choice = pick % (len(layers) + 1)
    return layers[choice - 1].get_output(0) if choice else x


def walk_order(net: Any) -> tuple[list[int], bool]:
    walk = Walk(net, Policy())
    layers, types, inputs, _outputs, forward = walk._read_structure()
    return walk._topological_order(layers, types, inputs, forward), forward


@SETTINGS
@given(dags)
@example(((1, 0), [(1, 1), (0, 0)], True))  # layer 0 reads layer 1: not in insertion order
def test_the_order_is_kahns_smallest_index_first(dag: tuple[Any, Any, bool]) -> None:
    ranks, picks, rewire = dag
    net = dag_network(list(ranks), picks, rewire)
    order, forward = walk_order(net)
    expected = reference_order(net)
    assert order == expected
    # the shortcut is taken exactly when the insertion order is topological
    assert forward == (expected == list(range(net.num_layers)))


@SETTINGS
@given(dags)
def test_networks_built_in_order_take_the_shortcut(dag: tuple[Any, Any, bool]) -> None:
    ranks, picks, _ = dag
    net = dag_network(list(ranks), picks, rewire=False)
    order, forward = walk_order(net)
    assert forward
    assert order == reference_order(net) == list(range(net.num_layers))


def test_a_rewiring_to_a_later_layer_leaves_the_shortcut() -> None:
    _, net, x = new_network(trt)
    first = net.add_unary(x, trt.UnaryOperation.EXP)
    later = net.add_unary(x, trt.UnaryOperation.ABS)
    first.set_input(0, later.get_output(0))
    net.mark_output(first.get_output(0))
    order, forward = walk_order(net)
    assert not forward
    assert order == reference_order(net) == [1, 0]


def _structure(read: Any, net: Any) -> tuple[Any, ...]:
    """What a structure pass gives (``read``: walk.read_edges or its compiled twin)."""
    network_inputs = [net.get_input(k) for k in range(net.num_inputs)]
    input_index = {id(tensor): k for k, tensor in enumerate(network_inputs)}
    producer: dict[int, tuple[int, int]] = {}
    inputs, outputs = Adjacency(), Adjacency()
    api = trt_api(trt)
    reading = read_layers(net, api)
    forward = read(reading.layers, producer, input_index, inputs, outputs)
    return (
        [type(layer) for layer in reading.layers],
        [layer.name for layer in reading.layers],
        reading.types,
        inputs.flat,
        inputs.starts,
        outputs.flat,
        outputs.starts,
        producer,
        forward,
    )


@pytest.mark.skipif(walk_module._compiled is None, reason="the compiled writer was not built")
@SETTINGS
@given(dags)
def test_the_compiled_structure_pass_gives_the_same(dag: tuple[Any, Any, bool]) -> None:
    net = dag_network(*dag)
    assert _structure(walk_module._compiled.read_edges, net) == _structure(  # type: ignore[union-attr]
        walk_module.read_edges, net
    )


@pytest.mark.skipif(walk_module._compiled is None, reason="the compiled writer was not built")
@pytest.mark.parametrize("layer_type", sorted(ZOO))
def test_the_compiled_structure_pass_gives_the_same_on_every_layer_type(layer_type: str) -> None:
    net = network_with(trt, layer_type)[1]
    assert _structure(walk_module._compiled.read_edges, net) == _structure(  # type: ignore[union-attr]
        walk_module.read_edges, net
    )


def test_a_layer_that_cannot_be_read_is_an_error(monkeypatch: Any) -> None:
    net = network_with(trt, "UNARY")[1]
    monkeypatch.setattr(type(net), "get_layer", lambda self, i: None)
    with pytest.raises(UnhashableNetworkError, match=r"get_layer\(0\) returned None"):
        _structure(walk_module.read_edges, net)
    with pytest.raises(UnhashableNetworkError, match=r"get_layer\(0\) returned None"):
        hash_network(net)
