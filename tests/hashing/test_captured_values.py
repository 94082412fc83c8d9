"""Every value that capture() can record is encodable, and no private error leaves the API.

Why: TensorRT-LLM names every weight with ``network.set_weights_name(numpy_array, name)``
inside a build; capture() recorded the numpy dtype and the walker raised its private
``_Unencodable`` from ``hash_network`` and ``cache_key`` (issue 12, B1). The arguments of
captured calls come from client code, so they may be numpy scalars, arrays, dtypes, numpy
scalar types or tensors of another network: each either encodes or is a named problem.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser
import trt_netser.offline as trt
from tests.key.helpers import ENV
from trt_netser import (
    UnhashableNetworkError,
    cache_key,
    describe_network,
    encode_network,
    hash_network,
)


def _llm_style(weights_name: Any, *, shift: float = 0.0) -> Any:
    """A TensorRT-LLM-shaped network built inside capture(): numpy weights given to
    add_constant, then named with set_weights_name (as tensorrt_llm.Parameter does)."""
    with trt_netser.capture(trt):
        net = trt.Builder(trt.Logger()).create_network(0)
        x = net.add_input("x", trt.float32, (2, 8))
        w = np.full((8, 8), 0.5 + shift, np.float32)
        const = net.add_constant((8, 8), w)
        assert net.set_weights_name(weights_name(w), "transformer.layers.0.mlp.fc.weight")
        mm = net.add_matrix_multiply(
            x, trt.MatrixOperation.NONE, const.get_output(0), trt.MatrixOperation.NONE
        )
        net.mark_output(mm.get_output(0))
    return net


def test_set_weights_name_with_a_numpy_array_hashes_strictly() -> None:
    net = _llm_style(lambda w: w)
    digest = hash_network(net)
    assert not digest.partial
    assert hash_network(net, strict=False) == digest
    assert len(encode_network(net)) > 0
    (weights,) = [r for r in describe_network(net).records if r.kind == "weights"]
    (entry,) = weights.record.fields["names"]
    assert entry[0] == "transformer.layers.0.mlp.fc.weight"
    assert entry[1].type == "DataType" and entry[1].name == "FLOAT"
    config = trt.Builder(trt.Logger()).create_builder_config()
    key = cache_key(net, config, environment=ENV)
    network = next(c for c in key.components if c.name == "network")
    assert network.value["digest"] == str(hash_network(net, weights="all"))


def test_numpy_array_and_weights_made_from_it_give_one_digest() -> None:
    assert hash_network(_llm_style(lambda w: w)) == hash_network(_llm_style(trt.Weights))
    # values of refittable weights stay out of the key (a fine-tune keeps it)
    assert hash_network(_llm_style(lambda w: w)) == hash_network(_llm_style(lambda w: w, shift=1.0))


_INT_LIKE = st.one_of(
    st.integers(0, 7),
    st.integers(0, 7).map(np.int32),
    st.integers(0, 7).map(np.int64),
)
_GROUPS = st.one_of(
    st.none(),
    st.lists(_INT_LIKE, max_size=4),
    st.lists(_INT_LIKE, max_size=4).map(tuple),
    st.lists(st.integers(0, 7), max_size=4).map(lambda v: np.array(v, np.int64)),
    st.lists(st.integers(0, 7), max_size=4).map(lambda v: np.array(v, np.int32)),
)
_FLOAT_LIKE = st.one_of(
    st.floats(-4, 4, width=32),
    st.floats(-4, 4, width=32).map(np.float32),
    st.floats(-4, 4).map(np.float64),
    _INT_LIKE,
)


@settings(max_examples=60, deadline=None)
@given(root=st.one_of(st.none(), _INT_LIKE), groups=_GROUPS, swiglu=st.tuples(*[_FLOAT_LIKE] * 3))
def test_every_captured_argument_encodes(root: Any, groups: Any, swiglu: Any) -> None:
    """The values the captured calls accept (numpy scalars, arrays, tuples) all encode,
    and encode as their plain Python equivalents do."""
    with trt_netser.capture(trt):
        net = trt.Builder(trt.Logger()).create_network(0)
        x = net.add_input("x", trt.float32, (4, 8))
        layer = net.add_dist_collective(
            x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, root, groups
        )
        net.mark_output(layer.get_output(0))
        moe = _moe(net)
        moe.set_swiglu_params(*swiglu)
    digest = hash_network(net)
    assert not digest.partial


def _moe(net: Any) -> Any:
    states = net.add_input("h", trt.float16, (2, 3, 8))
    experts = net.add_input("e", trt.int32, (2, 3, 2))
    scores = net.add_input("s", trt.float16, (2, 3, 2))
    moe = net.add_moe(states, experts, scores)
    net.mark_output(moe.get_output(0))
    return moe


def _injected(*values: Any) -> Any:
    """A captured network whose recorded dist-collective call holds ``values`` (client
    code of another TensorRT version may pass what this model's checks refuse)."""
    with trt_netser.capture(trt):
        net = trt.Builder(trt.Logger()).create_network(0)
        x = net.add_input("x", trt.float32, (4,))
        layer = net.add_dist_collective(
            x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, 0, [0]
        )
        net.mark_output(layer.get_output(0))
    record = trt_netser.capturing.lookup_network(net)
    assert record is not None
    (index,) = record.layers
    method, args = record.layers[index][0]
    record.layers[index] = [(method, (*args, *values))]
    return net


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (np.dtype(np.float32), trt.float32),
        (np.float16, trt.float16),
        (np.dtype(np.int64), trt.int64),
        (bytearray(b"ab"), b"ab"),
        (memoryview(b"ab"), b"ab"),
        (np.int32(3), 3),
        ([np.int64(1), np.float32(0.5)], [1, 0.5]),
    ],
)
def test_numpy_and_buffer_values_encode_as_their_equivalents(value: Any, plain: Any) -> None:
    assert hash_network(_injected(value)) == hash_network(_injected(plain))


def test_a_tensor_of_another_network_is_a_named_problem() -> None:
    other = trt.Builder(trt.Logger()).create_network(0)
    net = _injected(other.add_input("y", trt.float32, (4,)))
    with pytest.raises(UnhashableNetworkError, match="captured call add_dist_collective"):
        hash_network(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        partial = hash_network(net, strict=False)
    assert partial.partial
    assert any("does not belong to this network" in issue for issue in partial.issues)


def test_an_unencodable_captured_value_never_leaks_a_private_error() -> None:
    class Opaque:
        pass

    net = _injected(Opaque())
    config = trt.Builder(trt.Logger()).create_builder_config()
    calls = (
        hash_network,
        encode_network,
        describe_network,
        lambda n, **kw: cache_key(n, config, environment=ENV, **kw),
    )
    for call in calls:
        with pytest.raises(UnhashableNetworkError, match="Opaque"):
            call(net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(net, strict=False)


_ANYTHING = st.one_of(
    _INT_LIKE,
    _FLOAT_LIKE,
    st.none(),
    st.text(max_size=3),
    st.complex_numbers(allow_nan=False, max_magnitude=4),
    st.sets(st.integers(0, 3), max_size=2),
    st.just(Ellipsis),
    st.just(object()),
    st.just(len),
    st.sampled_from([np.dtype("V2"), np.dtype("U3"), np.str_, np.void]),
    st.lists(st.integers(0, 3), max_size=3).map(lambda v: np.array(v, np.float64)),
)


@settings(max_examples=80, deadline=None)
@given(layer_arg=_ANYTHING, network_arg=_ANYTHING, dtype=_ANYTHING)
def test_no_captured_value_leaks_a_private_error(
    layer_arg: Any, network_arg: Any, dtype: Any
) -> None:
    """Whatever a capture holds, the public API gives a digest or UnhashableNetworkError
    (strict), and always a digest with strict=False."""
    net = _injected(layer_arg)
    with trt_netser.capture(trt):
        net.mark_unfused_tensors_as_debug_tensors()
        w = np.ones(4, np.float32)
        net.add_constant((4,), w)
        assert net.set_weights_name(w, "w")
    record = trt_netser.capturing.lookup_network(net)
    assert record is not None
    record.calls.append(("mark_unfused_tensors_as_debug_tensors", (network_arg,)))
    name, _, count, pointer = record.weights_names[0]
    record.weights_names[0] = (name, dtype, count, pointer)
    config = trt.Builder(trt.Logger()).create_builder_config()
    for call in (
        hash_network,
        encode_network,
        describe_network,
        lambda n, **kw: cache_key(n, config, environment=ENV, **kw),
    ):
        with contextlib.suppress(UnhashableNetworkError):
            call(net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert call(net, strict=False) is not None
