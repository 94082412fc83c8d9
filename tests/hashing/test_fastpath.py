"""The walker's ways to the same bytes: ``Walk.chunks`` writes common layers straight to
bytes (``_layer_chunk``, or its compiled twin in ``_layerwriter.pyx`` when it was built),
``Walk.records`` builds every record. Every test here runs with each writer; they must
agree byte for byte, problems included, on every kind of layer and network."""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.offline.networks import build_llm_like
from trt_netser import walk as walk_module
from trt_netser.canonical import head
from trt_netser.encode import encode_record, output_ref_bytes
from trt_netser.policy import Policy
from trt_netser.walk import Walk

from .golden import GOLDEN
from .test_properties import SETTINGS, build, plans
from .zoo import ZOO, network_with, new_network

LAYER_TYPES = sorted(ZOO)
COMPILED = walk_module._compiled


@pytest.fixture(autouse=True, params=["python", "compiled"])
def writer(request: Any, monkeypatch: Any) -> str:
    """Run the test with the Python layer writer, then with the compiled one."""
    if request.param == "python":
        monkeypatch.setattr(walk_module, "_compiled", None)
    elif COMPILED is None:
        pytest.skip("trt_netser._layerwriter was not built (no Cython or C compiler)")
    return str(request.param)


def test_the_compiled_writer_is_built_in_ci() -> None:
    """CI installs with a compiler: a silent fall-back to Python would go unnoticed."""
    if os.environ.get("CI") != "true":
        pytest.skip("only checked in CI")
    assert COMPILED is not None


def assert_same_stream(net: Any, **options: Any) -> bytes:
    """Both ways give the same bytes and the same problems; returns the bytes."""
    policy = Policy.from_options(**options)
    fast, slow = Walk(net, policy), Walk(net, policy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast_bytes = b"".join(fast.chunks())
        slow_bytes = b"".join(encode_record(r) for r in slow.records())
    assert fast_bytes == slow_bytes
    assert fast.issues == slow.issues
    return fast_bytes


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
@pytest.mark.parametrize("weights", ["structure", "all"])
def test_every_layer_type(layer_type: str, weights: str) -> None:
    assert_same_stream(network_with(trt, layer_type)[1], strict=False, weights=weights)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_networks(name: str) -> None:
    assert_same_stream(GOLDEN[name](trt))


def test_llm_network_is_written_without_building_records(monkeypatch: Any) -> None:
    """The fast path is really taken: no layer of an LLM needs the general path."""
    net = build_llm_like(trt, 300)
    expected = assert_same_stream(net)

    def general(*args: Any) -> Any:
        raise AssertionError("_layer_record called")

    monkeypatch.setattr(Walk, "_layer_record", general)
    assert b"".join(Walk(net, Policy()).chunks()) == expected


@SETTINGS
@given(plans)
def test_random_networks(plan: list[tuple[str, bool, bool]]) -> None:
    assert_same_stream(build(plan))


def _raising(*args: Any) -> Any:
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    "cls, prop, layer_type",
    [
        ("IActivationLayer", "alpha", "ACTIVATION"),  # a layer property
        ("ILayer", "precision_is_set", "ACTIVATION"),  # a sibling that a rule reads
        ("ITensor", "dynamic_range", "ACTIVATION"),  # a tensor property
        ("ITensor", "name", "ACTIVATION"),
        ("ILayer", "name", "ACTIVATION"),
    ],
)
def test_a_getter_that_raises_is_reported_the_same(
    monkeypatch: Any, cls: str, prop: str, layer_type: str
) -> None:
    net = network_with(trt, layer_type)[1]
    monkeypatch.setattr(getattr(trt, cls), prop, property(_raising))
    assert_same_stream(net, strict=False)
    policy = Policy.from_options(strict=True)
    outcomes = []
    for stream in (Walk(net, policy).chunks(), Walk(net, policy).records()):
        try:
            outcomes.append(("ok", len(list(stream))))
        except Exception as exc:
            outcomes.append((type(exc).__name__, str(exc)))
    assert outcomes[0] == outcomes[1]


def test_an_unencodable_attribute_is_reported_the_same(monkeypatch: Any) -> None:
    net = network_with(trt, "ACTIVATION")[1]
    monkeypatch.setattr(trt.IActivationLayer, "alpha", property(lambda self: object()))
    assert_same_stream(net, strict=False)


def test_output_types_and_user_names() -> None:
    _, net, layer = network_with(trt, "ACTIVATION")
    layer.name = "(Unnamed Layer* 7) [not a default name"
    layer.set_output_type(0, trt.float16)
    layer.get_output(0).name = "user tensor"
    assert_same_stream(net)


def _activation_chain(kinds: list[Any]) -> Any:
    _, net, x = new_network(trt)
    for kind in kinds:
        layer = net.add_activation(x, trt.ActivationType.RELU)
        layer.type = kind
        layer.precision = trt.DataType(int(trt.DataType.HALF))  # a new object each time
        x = layer.get_output(0)
    net.mark_output(x)
    return net


def test_enums_key_templates_by_value_not_by_object() -> None:
    """The compiled writer keys enums by their int, remembering the last object seen:
    an equal enum made anew writes the same bytes as the member, and another value at
    the same position is not taken for the last one."""
    relu, sigmoid = trt.ActivationType.RELU, trt.ActivationType.SIGMOID
    fresh = [trt.ActivationType(int(relu)), trt.ActivationType(int(sigmoid))]
    made = assert_same_stream(_activation_chain([relu, fresh[0], sigmoid, fresh[1], relu]))
    members = assert_same_stream(_activation_chain([relu, relu, sigmoid, sigmoid, relu]))
    assert made == members
    assert made != assert_same_stream(_activation_chain([relu, relu, relu, sigmoid, relu]))


def test_rewired_network_refers_to_canonical_positions() -> None:
    """set_input to a tensor produced later: references name canonical positions, not
    insertion indices."""
    _, net, x = new_network(trt)
    first = net.add_unary(x, trt.UnaryOperation.EXP)
    later = net.add_unary(x, trt.UnaryOperation.ABS)
    first.set_input(0, later.get_output(0))
    net.mark_output(first.get_output(0))
    assert_same_stream(net)


def test_a_problem_without_an_exception_is_reported_the_same(monkeypatch: Any) -> None:
    """Unreadable structural weight values are a problem (not an exception) with
    strict=False: the fast path must leave the layer to the general path."""
    net = network_with(trt, "CONSTANT")[1]
    weights = trt.Weights(np.ones(8, np.float32))  # not an array: read through numpy()
    monkeypatch.setattr(trt.IConstantLayer, "weights", property(lambda layer: weights))
    monkeypatch.setattr(walk_module, "_weights_array", lambda weights: None)
    data = assert_same_stream(net, strict=False, weights="all")
    assert data
    walk = Walk(net, Policy.from_options(strict=False, weights="all"))
    list(walk.chunks())
    assert walk.issues and all("cannot be read back" in issue for issue in walk.issues)


@pytest.mark.parametrize(
    "name, layer, tensor",
    [
        ("(Unnamed Layer* 0) [Constant]", True, False),
        ("(Unnamed Layer* 12) [Matrix Multiply]", True, False),
        ("(Unnamed Layer* 12) [Matrix Multiply]_output", False, True),
        ("(Unnamed Layer* 3) [Slice]_output_2", False, True),
        ("(Unnamed Layer* 3) [Slice]_output_", False, False),
        ("(Unnamed Layer* ) [Slice]", False, False),
        ("(Unnamed Layer* 3) [Sl]ice]", False, False),
        ("(Unnamed Layer* 3) [Slice] ", False, False),
        ("x(Unnamed Layer* 3) [Slice]", False, False),
        ("(Unnamed Layer* 3)[Slice]", False, False),
        ("fc1", False, False),
        ("", False, False),
    ],
)
def test_default_names(name: str, layer: bool, tensor: bool) -> None:
    """Only TensorRT's own default names (with their counters) are replaced by positions."""
    assert (walk_module.user_name(name, walk_module._DEFAULT_LAYER_NAME) is None) == layer
    assert (walk_module.user_name(name, walk_module._DEFAULT_TENSOR_NAME) is None) == tensor


#: Pieces that default names are made of, and near misses.
_NAME_PIECES = [
    "(Unnamed Layer* ",
    "12",
    "0",
    "\u0663",
    ")",
    " ",
    "[",
    "]",
    "Slice",
    "_output",
    "_",
    "x",
    "\n",
    " (",
    "(",
    "1)",
]


@SETTINGS
@given(st.lists(st.sampled_from(_NAME_PIECES), max_size=9).map("".join))
@example("(Unnamed Layer* 1) [a\nb]")
@example("(Unnamed Layer* 1) [a\nb]_output_2")
@example("(Unnamed Layer* \u0663) [x]_output")
@example("(Unnamed Layer* 7) [x]_output_")
@example("(Unnamed Layer* 7) [TopK]_output (1)")
@example("(Unnamed Layer* 7) [TopK]_output (1")
@example("(Unnamed Layer* 7) [TopK]_output ()")
@example("(Unnamed Layer* 7) [TopK]_output (\u0663)")
def test_compiled_default_names_match_the_patterns(name: str) -> None:
    if COMPILED is None:
        pytest.skip("trt_netser._layerwriter was not built")
    for default, tensor in (
        (walk_module._DEFAULT_LAYER_NAME, False),
        (walk_module._DEFAULT_TENSOR_NAME, True),
    ):
        full = re.fullmatch(re.escape(default.prefix) + default.rest.pattern, name) is not None
        compiled = name.startswith(default.prefix) and COMPILED.is_default_rest(
            name, len(default.prefix), tensor
        )
        assert compiled == full == (walk_module.user_name(name, default) is None)


@pytest.mark.parametrize("n", [0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1])
def test_compiled_integers_and_references(n: int) -> None:
    if COMPILED is None:
        pytest.skip("trt_netser._layerwriter was not built")
    for major in range(8):
        assert COMPILED.uint_head(major, n) == head(major, n)
    assert COMPILED.output_ref_bytes(n, 3) == output_ref_bytes(n, 3)
    assert COMPILED.output_ref_bytes(1, n) == output_ref_bytes(1, n)


@pytest.mark.parametrize("builder", ["build_loop", "build_attention", "build_conditional"])
def test_constructs_built_alike_share_templates_but_keep_their_references(builder: str) -> None:
    """Layers of two constructs built the same way differ only in the construct they
    refer to: each must be written with its own reference."""
    from . import zoo

    _, net, x = new_network(trt)
    for seed in (0, 1):
        getattr(zoo, builder)(trt, net, x, seed)
    data = assert_same_stream(net)
    walk = Walk(net, Policy())
    b"".join(walk.chunks())
    assert sum(count for count in walk._construct_counts.values()) == 2
    assert data


@pytest.mark.parametrize("stream", ["chunks", "records"])
def test_a_finished_walk_is_freed_without_the_garbage_collector(stream: str) -> None:
    """The layer writer and value handlers point back at the walk; the walk drops them
    when its stream ends, so a network's tables go when the walk does."""
    import gc
    import weakref

    net = build_llm_like(trt, 100)
    gc.collect()
    gc.disable()
    try:
        walk = Walk(net, Policy())
        assert list(getattr(walk, stream)())
        assert walk.api.version
        gone = weakref.ref(walk)
        del walk
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("dtype", ["BF16", "FP8", "INT4", "FP4", "E8M0"])
@pytest.mark.parametrize("weights", ["structure", "all"])
@pytest.mark.parametrize("captured", [True, False])
def test_pointer_made_weights(dtype: str, weights: str, captured: bool) -> None:
    """Weights numpy cannot view are read from the memory capture() noted (issue 12 B2)
    by both writers alike, and their absence is the same problem in both."""
    from .test_weights_dtypes import _network

    for count in (1, 6):
        assert_same_stream(
            _network(dtype, count, 3, captured=captured), strict=False, weights=weights
        )
