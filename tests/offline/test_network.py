"""Network-level behaviour: default names, downcasting, type shadowing, object identity,
weak references, monkeypatching, errors (logged ERROR + None) and pybind11 TypeErrors."""

from __future__ import annotations

import gc
import re
import weakref
from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger, is_invalid_dims


def _x(net: Any, shape: tuple[int, ...] = (1, 3, 8, 8)) -> Any:
    return net.add_input("x", trt.float32, shape)


# -- names ---------------------------------------------------------------------------------
def test_default_layer_and_tensor_names(net: Any) -> None:
    x = _x(net)
    conv = net.add_convolution_nd(x, 4, (3, 3), np.ones((4, 3, 3, 3), np.float32))
    mm = net.add_matrix_multiply(x, trt.MatrixOperation.NONE, x, trt.MatrixOperation.NONE)
    topk = net.add_topk(x, trt.TopKOperation.MAX, 2, 1 << 3)
    assert conv.name == "(Unnamed Layer* 0) [Convolution]"
    assert conv.get_output(0).name == "(Unnamed Layer* 0) [Convolution]_output"
    assert mm.name == "(Unnamed Layer* 1) [Matrix Multiply]"
    assert [topk.get_output(i).name for i in range(2)] == [
        "(Unnamed Layer* 2) [TopK]_output",
        "(Unnamed Layer* 2) [TopK]_output (1)",
    ]


def test_counter_is_the_layer_index_and_failed_adds_do_not_count(net: Any) -> None:
    x = _x(net)
    other = trt.Builder(trt.Logger()).create_network(0)
    foreign = other.add_input("y", trt.float32, (1, 3, 8, 8))
    assert net.add_elementwise(x, foreign, trt.ElementWiseOperation.SUM) is None
    ident = net.add_identity(x)
    assert ident.name == "(Unnamed Layer* 0) [Identity]"


def test_tensor_names_do_not_follow_layer_renames(net: Any) -> None:
    layer = net.add_identity(_x(net))
    layer.name = "renamed"
    assert layer.get_output(0).name == "(Unnamed Layer* 0) [Identity]_output"
    assert net.get_layer(0).name == "renamed"


def test_network_names_count_per_process(builder: Any) -> None:
    a, b = builder.create_network(0), builder.create_network(0)
    na, nb = (int(re.fullmatch(r"Unnamed Network (\d+)", n.name).group(1)) for n in (a, b))
    assert nb == na + 1


def test_plugin_and_construct_display_names(net: Any) -> None:
    from tests.offline.plugins import register_test_plugins

    v2, _ = register_test_plugins(trt)
    x = _x(net)
    layer = net.add_plugin_v2([x], v2.create_plugin("p", trt.PluginFieldCollection([])))
    assert layer.name == "(Unnamed Layer* 0) [PluginV2DynamicExt]"
    loop = net.add_loop()
    rec = loop.add_recurrence(x)
    assert rec.name == "(Unnamed Layer* 1) [Recurrence]"


# -- downcasting and type shadowing ---------------------------------------------------------
def test_get_layer_returns_ilayer_that_downcasts(net: Any) -> None:
    net.add_activation(_x(net), trt.ActivationType.RELU)
    layer = net.get_layer(0)
    assert type(layer) is trt.ILayer
    assert layer.type == trt.LayerType.ACTIVATION
    layer.__class__ = trt.IActivationLayer
    assert layer.type == trt.ActivationType.RELU  # IActivationLayer.type shadows ILayer.type
    assert trt.ILayer.type.__get__(layer) == trt.LayerType.ACTIVATION
    layer.alpha = 0.5
    assert net.get_layer(0).__class__ is trt.ILayer


def test_pooling_type_shadowing(net: Any) -> None:
    p = net.add_pooling_nd(_x(net), trt.PoolingType.AVERAGE, (2, 2))
    assert p.type == trt.PoolingType.AVERAGE
    assert trt.ILayer.type.__get__(p) == trt.LayerType.POOLING


def test_every_layer_class_shares_one_layout() -> None:
    for name in dir(trt):
        cls = getattr(trt, name)
        if isinstance(cls, type) and issubclass(cls, trt.ILayer):
            assert cls.__slots__ in ((), ("__weakref__", "_impl")), name


def test_wrappers_share_state(net: Any) -> None:
    s = net.add_shuffle(_x(net))
    view = net.get_layer(0)
    view.__class__ = trt.IShuffleLayer
    view.reshape_dims = (3, 64)
    assert tuple(s.reshape_dims) == (3, 64)
    assert tuple(s.get_output(0).shape) == (3, 64)


# -- identity, weakrefs, hashing, monkeypatching ---------------------------------------------
def test_same_tensor_object_every_time(net: Any) -> None:
    x = _x(net)
    layer = net.add_identity(x)
    assert layer.get_output(0) is layer.get_output(0)
    assert net.get_layer(0).get_output(0) is layer.get_output(0)
    assert net.get_input(0) is x
    assert layer.get_input(0) is x
    net.mark_output(layer.get_output(0))
    assert net.get_output(0) is layer.get_output(0)


def test_get_layer_reuses_a_live_ilayer_wrapper_like_pybind(net: Any) -> None:
    net.add_identity(_x(net))
    a = net.get_layer(0)
    assert net.get_layer(0) is a


def test_objects_are_weakrefable_and_hash_by_identity(net: Any) -> None:
    layer = net.add_identity(_x(net))
    t = layer.get_output(0)
    for obj in (net, layer, t, net.add_loop(), trt.Weights(), trt.PluginField("a")):
        assert weakref.ref(obj)() is obj
    assert len({t, t, layer.get_output(0)}) == 1
    view = net.get_layer(0)
    assert view is not layer and view != layer  # two wrappers of one layer: identity semantics


def test_dropped_wrappers_are_collected(net: Any) -> None:
    net.add_identity(_x(net))
    ref = weakref.ref(net.get_layer(0))
    gc.collect()
    assert ref() is None


def test_methods_are_monkeypatchable(net: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = trt.INetworkDefinition.add_identity

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("add_identity")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(trt.INetworkDefinition, "add_identity", wrapped)
    monkeypatch.setattr(trt.IMoELayer, "set_swiglu_params", lambda self, *a: calls.append("swiglu"))
    net.add_identity(_x(net))
    h = net.add_input("h", trt.float16, (4, 8))
    moe = net.add_moe(
        h, net.add_input("s", trt.int32, (4, 2)), net.add_input("p", trt.float16, (4, 2))
    )
    moe.set_swiglu_params(1.0, 2.0, 3.0)
    assert calls == ["add_identity", "swiglu"]


# -- no side doors --------------------------------------------------------------------------
def test_write_only_state_has_no_getters(net: Any) -> None:
    x = _x(net, (4, 8))
    dist = net.add_dist_collective(
        x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, 0, [0, 1]
    )
    public = {a for a in dir(dist) if not a.startswith("_")}
    assert public == {a for a in dir(trt.ILayer) if not a.startswith("_")}
    moe = net.add_moe(
        x, net.add_input("s", trt.int32, (4, 2)), net.add_input("p", trt.float32, (4, 2))
    )
    assert not [a for a in dir(moe) if a.startswith("get_gated") or a.startswith("get_quant")]
    assert not hasattr(net, "get_weights_name")


# -- errors ------------------------------------------------------------------------------------
def test_invalid_calls_log_an_error_and_return_none(net: Any, logger: ListLogger) -> None:
    """Parameter checks (an unknown enum value, a tensor of another network) refuse the
    call at once, as TensorRT's do."""
    x = _x(net)
    foreign = trt.Builder(trt.Logger()).create_network(0).add_input("f", trt.float32, (2,))
    bad = [
        lambda: net.add_activation(x, trt.ActivationType(999)),
        lambda: net.add_identity(foreign),
    ]
    for i, make in enumerate(bad):
        before = len(logger.errors)
        assert make() is None, i
        assert len(logger.errors) == before + 1, i
    assert net.num_layers == 0


def test_invalid_shapes_are_reported_when_a_shape_is_read(net: Any, logger: ListLogger) -> None:
    """TensorRT creates the layer and checks shapes when they are needed (issue 12): the
    layer is returned, and reading an output's shape logs why it cannot be inferred."""
    x = _x(net)
    bad = [
        lambda: net.add_convolution_nd(
            net.add_input("v", trt.float32, (3, 8)), 4, (3, 3), np.ones(108, np.float32)
        ),
        lambda: net.add_convolution_nd(x, 4, (3, 3), np.ones(7, np.float32)),
        lambda: net.add_concatenation([x, net.add_input("y", trt.float32, (1, 3, 9, 9))]),
        lambda: net.add_constant((2, 2), trt.Weights(np.ones(3, np.float32))),
        lambda: net.add_topk(x, trt.TopKOperation.MAX, 5000, 1 << 3),
    ]
    for i, make in enumerate(bad):
        layer = make()
        assert layer is not None, i
        assert logger.errors == [], i
        assert is_invalid_dims(layer.get_output(0).shape), i
        assert len(logger.errors) == 1 and "ITensor::getDimensions" in logger.errors[0], i
        logger.messages.clear()
    assert net.num_layers == len(bad)


def test_unknown_enum_values_are_accepted_like_pybind_then_rejected() -> None:
    e = trt.ActivationType(999)
    assert e.name == "???" and int(e) == 999 and repr(e) == "<ActivationType.???: 999>"


def test_invalid_setter_logs_an_error(net: Any, logger: ListLogger) -> None:
    layer = net.add_concatenation([_x(net)])
    layer.axis = 7
    assert is_invalid_dims(layer.get_output(0).shape)
    assert logger.errors
    layer.axis = 1
    logger.messages.clear()
    assert tuple(layer.get_output(0).shape) == (1, 3, 8, 8)
    assert logger.errors == []


def test_wrong_python_types_raise_pybind_type_errors(net: Any) -> None:
    x = _x(net)
    with pytest.raises(TypeError, match=r"add_convolution_nd\(\): incompatible function arguments"):
        net.add_convolution_nd(x, "4", (3, 3), np.ones(108, np.float32))
    with pytest.raises(TypeError, match="The following argument types are supported"):
        net.add_activation(x, 1)
    with pytest.raises(TypeError):
        net.add_elementwise(x, None, trt.ElementWiseOperation.SUM)
    with pytest.raises(TypeError):
        net.add_identity([x])
    with pytest.raises(TypeError):
        net.get_layer("0")
    layer = net.add_identity(x)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        layer.name = 3
    with pytest.raises(TypeError):
        trt.Builder(object())


def test_one_argument_methods_convert_like_pybind(net: Any) -> None:
    """Exact ints and tensors pass straight through; other values are converted or
    refused as pybind11 does (bools and numpy integers are ints, floats and strs not)."""
    x = _x(net)
    layer = net.add_identity(x)
    out = layer.get_output(0)
    assert layer.get_output(np.int64(0)) is out and layer.get_output(False) is out
    assert net.get_layer(np.int32(0)).name == layer.name and net.get_layer(True) is None
    assert not net.is_debug_tensor(out) and net.mark_debug(out) and net.is_debug_tensor(out)
    for bad in (0.0, "0", None):
        with pytest.raises(TypeError, match="incompatible function arguments"):
            layer.get_output(bad)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        net.is_debug_tensor(layer)
    assert layer.get_output(index=0) is out


def test_set_input_errors(net: Any, logger: ListLogger) -> None:
    layer = net.add_identity(_x(net))
    layer.set_input(3, _x(net))
    other = trt.Builder(ListLogger()).create_network(0)
    layer.set_input(0, other.add_input("o", trt.float32, (1,)))
    assert len(logger.errors) == 2


# -- network API --------------------------------------------------------------------------------
def test_inputs_outputs_and_flags(builder: Any) -> None:
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    net = builder.create_network(flags)
    assert net.get_flag(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert not net.get_flag(trt.NetworkDefinitionCreationFlag.PREFER_JIT_PYTHON_PLUGINS)
    x = net.add_input("x", trt.float32, (-1, 4))
    assert x.is_network_input and not x.is_network_output
    y = net.add_identity(x).get_output(0)
    net.mark_output(y)
    net.mark_output(y)
    assert net.num_outputs == 1 and y.is_network_output
    net.unmark_output(y)
    assert net.num_outputs == 0
    assert net.builder is builder and net.has_implicit_batch_dimension is False
    assert net.get_input(5) is None and net.get_layer(-1) is None


def test_shape_and_execution_tensor_roles(net: Any) -> None:
    x = net.add_input("x", trt.float32, (-1, 4))
    shp = net.add_shape(x).get_output(0)
    s = net.add_shuffle(x)
    s.set_input(1, shp)
    net.mark_output(s.get_output(0))
    assert shp.is_shape_tensor and not shp.is_execution_tensor
    assert x.is_execution_tensor and not x.is_shape_tensor
    assert net.mark_output_for_shapes(shp) and not net.mark_output_for_shapes(shp)
    assert net.unmark_output_for_shapes(shp)


def test_debug_weights_names_and_refit_marks(net: Any, logger: ListLogger) -> None:
    arr = np.ones((2, 2), np.float32)
    layer = net.add_constant((2, 2), trt.Weights(arr))
    t = layer.get_output(0)
    assert net.mark_debug(t) and net.is_debug_tensor(t)
    assert net.unmark_debug(t) and not net.is_debug_tensor(t)
    assert net.set_weights_name(trt.Weights(arr), "w0")  # same buffer, new Weights object
    assert not net.set_weights_name(trt.Weights(np.ones(3, np.float32)), "w1")
    assert logger.errors
    assert net.mark_weights_refittable("w0") and net.are_weights_marked_refittable("w0")
    assert net.unmark_weights_refittable("w0") and not net.are_weights_marked_refittable("w0")


def test_remove_tensor_only_removes_unused_inputs(net: Any, logger: ListLogger) -> None:
    a, b = net.add_input("a", trt.float32, (1,)), net.add_input("b", trt.float32, (1,))
    net.add_identity(a)
    net.remove_tensor(a)
    net.remove_tensor(b)
    assert net.num_inputs == 1 and net.get_input(0) is a
    assert any(s == trt.ILogger.Severity.WARNING for s, _ in logger.messages)


def test_layer_common_properties(net: Any) -> None:
    layer = net.add_identity(_x(net))
    assert (layer.num_ranks, layer.metadata, layer.precision, layer.precision_is_set) == (
        1,
        "",
        trt.float32,
        False,
    )
    layer.precision = trt.float16
    layer.metadata = "m"
    layer.num_ranks = 2
    assert (layer.precision, layer.precision_is_set, layer.metadata, layer.num_ranks) == (
        trt.float16,
        True,
        "m",
        2,
    )
    assert not layer.output_type_is_set(0) and layer.get_output_type(0) == trt.float32
    layer.set_output_type(0, trt.float16)
    assert layer.output_type_is_set(0) and layer.get_output(0).dtype == trt.float16
    layer.reset_output_type(0)
    assert layer.get_output(0).dtype == trt.float32
    assert layer.get_input(1) is None and layer.get_output(1) is None


def test_documented_layer_defaults(net: Any) -> None:
    x = _x(net)
    conv = net.add_convolution_nd(x, 4, (3, 3), np.ones((4, 3, 3, 3), np.float32))
    assert tuple(conv.stride_nd) == (1, 1) and tuple(conv.dilation_nd) == (1, 1)
    assert tuple(conv.padding_nd) == (0, 0) and conv.num_groups == 1
    assert conv.padding_mode == trt.PaddingMode.EXPLICIT_ROUND_DOWN
    assert conv.bias.size == 0
    pool = net.add_pooling_nd(x, trt.PoolingType.MAX, (2, 2))
    assert pool.average_count_excludes_padding is True and pool.blend_factor == 0.0
    sh = net.add_shuffle(x)
    assert list(sh.first_transpose) == list(range(8)) and sh.zero_is_placeholder is True
    assert tuple(sh.reshape_dims) == (1, 3, 8, 8)
    assert net.add_softmax(x).axes == 1 << 1
    assert net.add_concatenation([x]).axis == 1
    rs = net.add_resize(x)
    assert rs.resize_mode == trt.InterpolationMode.NEAREST and tuple(rs.shape) == (1, 3, 8, 8)
    gs = net.add_grid_sample(x, net.add_input("g", trt.float32, (1, 4, 4, 2)))
    assert (gs.interpolation_mode, gs.align_corners, gs.sample_mode) == (
        trt.InterpolationMode.LINEAR,
        False,
        trt.SampleMode.FILL,
    )
    nms = net.add_nms(
        net.add_input("b", trt.float32, (1, 10, 4)),
        net.add_input("s", trt.float32, (1, 10, 2)),
        net.add_input("m", trt.int32, ()),
    )
    assert (
        nms.bounding_box_format == trt.BoundingBoxFormat.CORNER_PAIRS
        and nms.indices_type == trt.int32
    )
    rev = net.add_reverse_sequence(x, net.add_input("l", trt.int32, (3,)))
    assert (rev.batch_axis, rev.sequence_axis) == (1, 0)
    norm = net.add_normalization_v2(x, x, x, 1 << 2)
    assert norm.epsilon == pytest.approx(1e-5) and norm.num_groups == 1 and norm.is_v2
    assert net.add_quantize(x, net.add_input("q", trt.float32, ())).to_type == trt.int8
    assert net.add_fill((2,), trt.FillOperation.LINSPACE).to_type == trt.float32


def test_readonly_properties_are_readonly(net: Any) -> None:
    loop = net.add_loop()
    trip = loop.add_trip_limit(net.add_input("n", trt.int32, ()), trt.TripLimit.COUNT)
    with pytest.raises(AttributeError):
        trip.kind = trt.TripLimit.WHILE
    with pytest.raises(AttributeError):
        trip.type = trt.LayerType.SHAPE
    with pytest.raises(AttributeError):
        trip.num_inputs = 3


# -- constructs ------------------------------------------------------------------------------------
def test_constructs_back_references(net: Any) -> None:
    from tests.offline.networks import build_if_conditional, build_loop

    loop_net = build_loop(trt)
    loops = {loop_net.get_layer(i) for i in range(loop_net.num_layers)}
    boundary = []
    for layer in loops:
        if layer.type in (
            trt.LayerType.TRIP_LIMIT,
            trt.LayerType.ITERATOR,
            trt.LayerType.RECURRENCE,
            trt.LayerType.LOOP_OUTPUT,
        ):
            layer.__class__ = trt.ILoopBoundaryLayer
            boundary.append(layer.loop)
    assert (
        len(boundary) == 5
        and len({id(b) for b in boundary}) == 1
        and boundary[0].name == "running_sum"
    )
    cond_net = build_if_conditional(trt)
    cl = cond_net.get_layer(0)
    cl.__class__ = trt.IConditionLayer
    assert cl.conditional.name == "branch"
    x = _x(net, (1, 2, 4, 8))
    att = net.add_attention(x, x, x, trt.AttentionNormalizationOp.SOFTMAX, False)
    out_layer = net.get_layer(net.num_layers - 1)
    out_layer.__class__ = trt.IAttentionOutputLayer
    assert out_layer.attention is att
    assert (att.causal, att.decomposable, att.norm_op, att.num_ranks, att.mask) == (
        False,
        False,
        trt.AttentionNormalizationOp.SOFTMAX,
        1,
        None,
    )
    mask = net.add_input("mask", trt.bool, (1, 1, 4, 4))
    att.mask = mask
    assert (
        att.mask is mask
        and att.num_inputs == 4
        and net.get_layer(net.num_layers - 2).get_input(3) is mask
    )


def test_attention_rejects_mask_with_causal(net: Any, logger: ListLogger) -> None:
    x = _x(net, (1, 2, 4, 8))
    att = net.add_attention(x, x, x, trt.AttentionNormalizationOp.SOFTMAX, True)
    att.mask = net.add_input("mask", trt.bool, (1, 1, 4, 4))
    assert att.mask is None and logger.errors


def test_attention_set_input_updates_output(net: Any) -> None:
    x = _x(net, (1, 2, 4, 8))
    att = net.add_attention(x, x, x, trt.AttentionNormalizationOp.SOFTMAX, False)
    assert att.set_input(2, net.add_input("v", trt.float32, (1, 2, 4, 16)))
    assert tuple(att.get_output(0).shape) == (1, 2, 4, 16)
