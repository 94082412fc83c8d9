"""Shape/dtype inference for every layer type, from TensorRT's documented semantics.

Each case builds one layer the way client code does and compares its outputs with the
shapes the TensorRT documentation implies, with static and dynamic (-1) dimensions.
``test_every_layer_type_is_covered`` fails if a LayerType has no case here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger, is_invalid_dims
from tests.offline.plugins import register_test_plugins

F32, F16, I32, I64, BOOL = trt.float32, trt.float16, trt.int32, trt.int64, trt.bool


def inp(net: Any, shape: tuple[int, ...], dtype: Any = F32, name: str | None = None) -> Any:
    return net.add_input(name or f"in{net.num_inputs}", dtype, trt.Dims(list(shape)))


def const(net: Any, arr: np.ndarray) -> Any:
    return net.add_constant(
        trt.Dims(list(arr.shape)), trt.Weights(np.ascontiguousarray(arr))
    ).get_output(0)


def w(*shape: int) -> np.ndarray:
    return np.ones(shape, np.float32)


def outs(layer: Any) -> list[tuple[tuple[int, ...], Any]]:
    assert layer is not None, "the layer could not be created"
    return [
        (tuple(layer.get_output(i).shape), layer.get_output(i).dtype)
        for i in range(layer.num_outputs)
    ]


Case = Callable[[Any], tuple[Any, list[tuple[tuple[int, ...], Any]]]]
CASES: dict[str, tuple[str, Case]] = {}


def case(ltype: str, name: str) -> Callable[[Case], Case]:
    def deco(fn: Case) -> Case:
        CASES[name] = (ltype, fn)
        return fn

    return deco


# -- element-wise-shaped layers ----------------------------------------------------------
@case("ACTIVATION", "activation dynamic")
def _(net):  # type: ignore[no-untyped-def]
    return net.add_activation(inp(net, (-1, 3, 8)), trt.ActivationType.GELU_ERF), [
        ((-1, 3, 8), F32)
    ]


@case("UNARY", "unary isnan -> bool")
def _(net):
    return net.add_unary(inp(net, (2, -1), F16), trt.UnaryOperation.ISNAN), [((2, -1), BOOL)]


@case("UNARY", "unary exp keeps type")
def _(net):
    return net.add_unary(inp(net, (2, 3), F16), trt.UnaryOperation.EXP), [((2, 3), F16)]


@case("ELEMENTWISE", "elementwise broadcast with -1")
def _(net):
    a, b = inp(net, (-1, 1, 5)), inp(net, (1, 4, 5))
    return net.add_elementwise(a, b, trt.ElementWiseOperation.SUM), [((-1, 4, 5), F32)]


@case("ELEMENTWISE", "elementwise comparison -> bool")
def _(net):
    a, b = inp(net, (3, 1)), inp(net, (1, 7))
    return net.add_elementwise(a, b, trt.ElementWiseOperation.LESS), [((3, 7), BOOL)]


@case("CAST", "cast")
def _(net):
    return net.add_cast(inp(net, (-1, 2)), F16), [((-1, 2), F16)]


@case("IDENTITY", "identity")
def _(net):
    return net.add_identity(inp(net, (4,), I32)), [((4,), I32)]


@case("LRN", "lrn")
def _(net):
    return net.add_lrn(inp(net, (1, 8, 5, 5)), 5, 1e-4, 0.75, 2.0), [((1, 8, 5, 5), F32)]


@case("SOFTMAX", "softmax")
def _(net):
    return net.add_softmax(inp(net, (2, -1, 7))), [((2, -1, 7), F32)]


@case("RAGGED_SOFTMAX", "ragged softmax")
def _(net):
    return net.add_ragged_softmax(inp(net, (3, 10)), inp(net, (3, 1), I32)), [((3, 10), F32)]


@case("PARAMETRIC_RELU", "prelu")
def _(net):
    return net.add_parametric_relu(inp(net, (-1, 4, 6)), const(net, w(1, 4, 1))), [
        ((-1, 4, 6), F32)
    ]


@case("SCALE", "scale channel")
def _(net):
    return net.add_scale(inp(net, (-1, 3, 8, 8)), trt.ScaleMode.CHANNEL, w(3), w(3), None), [
        ((-1, 3, 8, 8), F32)
    ]


@case("SELECT", "select broadcast")
def _(net):
    c, t, e = inp(net, (-1, 1), BOOL), inp(net, (1, 5)), inp(net, (1, 1))
    return net.add_select(c, t, e), [((-1, 5), F32)]


@case("CUMULATIVE", "cumulative")
def _(net):
    axis = const(net, np.array(1, np.int32))
    return net.add_cumulative(inp(net, (2, -1)), axis, trt.CumulativeOperation.SUM, False, False), [
        ((2, -1), F32)
    ]


@case("REVERSE_SEQUENCE", "reverse sequence")
def _(net):
    return net.add_reverse_sequence(inp(net, (6, 4, 3)), inp(net, (4,), I32)), [((6, 4, 3), F32)]


@case("NORMALIZATION", "layer norm v2")
def _(net):
    x = inp(net, (-1, -1, 64))
    return net.add_normalization_v2(x, const(net, w(1, 1, 64)), const(net, w(1, 1, 64)), 1 << 2), [
        ((-1, -1, 64), F32)
    ]


@case("NORMALIZATION", "instance norm v1")
def _(net):
    x = inp(net, (2, 8, 5, 5))
    return net.add_normalization(x, const(net, w(1, 8, 1, 1)), const(net, w(1, 8, 1, 1)), 0b1100), [
        ((2, 8, 5, 5), F32)
    ]


@case("ROTARY_EMBEDDING", "rotary")
def _(net):
    x = inp(net, (-1, 4, -1, 16))
    cos, sin = const(net, w(128, 8)), const(net, w(128, 8))
    return net.add_rotary_embedding(x, cos, sin, True, 16), [((-1, 4, -1, 16), F32)]


@case("KV_CACHE_UPDATE", "kv cache update")
def _(net):
    cache, upd = inp(net, (2, 4, 128, 16), F16), inp(net, (2, 4, -1, 16), F16)
    idx = inp(net, (2,), I32)
    return net.add_kv_cache_update(cache, upd, idx, trt.KVCacheMode.LINEAR), [
        ((2, 4, 128, 16), F16)
    ]


@case("MOE", "moe")
def _(net):
    h, sel, sc = inp(net, (-1, 64), F16), inp(net, (-1, 2), I32), inp(net, (-1, 2), F16)
    return net.add_moe(h, sel, sc), [((-1, 64), F16)]


@case("QUANTIZE", "quantize default int8")
def _(net):
    return net.add_quantize(inp(net, (-1, 8)), const(net, np.array(0.5, np.float32))), [
        ((-1, 8), trt.int8)
    ]


@case("DEQUANTIZE", "dequantize to half")
def _(net):
    x = inp(net, (4, 8), trt.int8)
    return net.add_dequantize(x, const(net, np.array(0.5, np.float32)), F16), [((4, 8), F16)]


@case("DYNAMIC_QUANTIZE", "dynamic quantize v1")
def _(net):
    layer = net.add_dynamic_quantize(inp(net, (-1, 64), F16), 1, 16, trt.fp4, trt.fp8)
    return layer, [((-1, 64), trt.fp4), ((-1, 4), trt.fp8)]


@case("DYNAMIC_QUANTIZE", "dynamic quantize v2")
def _(net):
    layer = net.add_dynamic_quantize_v2(
        inp(net, (8, 64), F16), trt.Dims([1, 32]), trt.fp8, trt.e8m0
    )
    return layer, [((8, 64), trt.fp8), ((8, 2), trt.e8m0)]


@case("DIST_COLLECTIVE", "all-reduce keeps shape")
def _(net):
    layer = net.add_dist_collective(
        inp(net, (4, 8)), trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, None, None
    )
    return layer, [((4, 8), F32)]


@case("DIST_COLLECTIVE", "all-gather over 2 ranks")
def _(net):
    layer = net.add_dist_collective(
        inp(net, (4, 8)), trt.CollectiveOperation.ALL_GATHER, None, None, [0, 1]
    )
    return layer, [((8, 8), F32)]


# -- shape-changing layers ----------------------------------------------------------------
@case("CONVOLUTION", "conv 3x3 stride 2 pad 1")
def _(net):
    conv = net.add_convolution_nd(inp(net, (-1, 3, 32, 31)), 8, trt.DimsHW(3, 3), w(8, 3, 3, 3))
    conv.stride_nd = (2, 2)
    conv.padding_nd = (1, 1)
    return conv, [((-1, 8, 16, 16), F32)]


@case("CONVOLUTION", "conv grouped dilated 3D")
def _(net):
    conv = net.add_convolution_nd(
        inp(net, (1, 4, 9, 9, 9)), 4, trt.Dims([3, 3, 3]), w(4, 2, 3, 3, 3)
    )
    conv.num_groups = 2
    conv.dilation_nd = (2, 2, 2)
    return conv, [((1, 4, 5, 5, 5), F32)]


@case("CONVOLUTION", "conv same-upper")
def _(net):
    conv = net.add_convolution_nd(inp(net, (1, 2, 7, 7)), 2, (3, 3), w(2, 2, 3, 3))
    conv.padding_mode = trt.PaddingMode.SAME_UPPER
    conv.stride_nd = (2, 2)
    return conv, [((1, 2, 4, 4), F32)]


@case("DECONVOLUTION", "deconv stride 2")
def _(net):
    d = net.add_deconvolution_nd(inp(net, (1, 4, 8, -1)), 2, (2, 2), w(4, 2, 2, 2))
    d.stride_nd = (2, 2)
    return d, [((1, 2, 16, -1), F32)]


@case("POOLING", "max pool 2x2 stride 2")
def _(net):
    p = net.add_pooling_nd(inp(net, (-1, 8, 9, 16)), trt.PoolingType.MAX, (2, 2))
    p.stride_nd = (2, 2)
    return p, [((-1, 8, 4, 8), F32)]


@case("POOLING", "avg pool round up")
def _(net):
    p = net.add_pooling_nd(inp(net, (1, 1, 9, 9)), trt.PoolingType.AVERAGE, (2, 2))
    p.stride_nd = (2, 2)
    p.padding_mode = trt.PaddingMode.EXPLICIT_ROUND_UP
    return p, [((1, 1, 5, 5), F32)]


@case("CONCATENATION", "concat default axis (C of NCHW)")
def _(net):
    a, b = inp(net, (-1, 3, 4, 4)), inp(net, (-1, 5, 4, 4))
    return net.add_concatenation([a, b]), [((-1, 8, 4, 4), F32)]


@case("CONCATENATION", "concat dynamic axis")
def _(net):
    a, b = inp(net, (2, -1)), inp(net, (2, 3))
    layer = net.add_concatenation([a, b])
    layer.axis = 1
    return layer, [((2, -1), F32)]


@case("CONSTANT", "constant int64")
def _(net):
    return net.add_constant((2, 3), trt.Weights(np.zeros((2, 3), np.int64))), [((2, 3), I64)]


@case("EINSUM", "einsum batched matmul")
def _(net):
    a, b = inp(net, (2, 3, 4)), inp(net, (2, 4, 5))
    return net.add_einsum([a, b], "bij,bjk->bik"), [((2, 3, 5), F32)]


@case("EINSUM", "einsum implicit transpose-sum")
def _(net):
    return net.add_einsum([inp(net, (3, -1))], "ji"), [((-1, 3), F32)]


@case("FILL", "fill static linspace int32")
def _(net):
    return net.add_fill((2, 5), trt.FillOperation.LINSPACE, I32), [((2, 5), I32)]


@case("FILL", "fill from a shape tensor")
def _(net):
    x = inp(net, (-1, 7))
    f = net.add_fill((0, 0), trt.FillOperation.RANDOM_UNIFORM)
    f.set_input(0, net.add_shape(x).get_output(0))
    return f, [((-1, 7), F32)]


@case("GATHER", "gather axis 0 (embedding)")
def _(net):
    table, ids = const(net, w(100, 16)), inp(net, (-1, -1), I32)
    return net.add_gather(table, ids, 0), [((-1, -1, 16), F32)]


@case("GATHER", "gather axis 1 scalar index")
def _(net):
    idx = const(net, np.array(2, np.int32))
    return net.add_gather(inp(net, (4, 5, 6)), idx, 1), [((4, 6), F32)]


@case("GATHER", "gather ND")
def _(net):
    layer = net.add_gather_v2(inp(net, (4, 5, 6)), inp(net, (7, 2), I32), trt.GatherMode.ND)
    return layer, [((7, 6), F32)]


@case("GATHER", "gather element")
def _(net):
    layer = net.add_gather_v2(inp(net, (4, 5)), inp(net, (4, 2), I32), trt.GatherMode.ELEMENT)
    layer.axis = 1
    return layer, [((4, 2), F32)]


@case("GRID_SAMPLE", "grid sample")
def _(net):
    return net.add_grid_sample(inp(net, (1, 3, 10, 10)), inp(net, (1, 5, 6, 2))), [
        ((1, 3, 5, 6), F32)
    ]


@case("MATRIX_MULTIPLY", "matmul batch broadcast")
def _(net):
    a, b = inp(net, (-1, 1, 3, 4)), inp(net, (1, 6, 4, 5))
    layer = net.add_matrix_multiply(a, trt.MatrixOperation.NONE, b, trt.MatrixOperation.NONE)
    return layer, [((-1, 6, 3, 5), F32)]


@case("MATRIX_MULTIPLY", "matmul transpose and vector")
def _(net):
    a, b = inp(net, (2, 4, 3)), inp(net, (2, 4))
    layer = net.add_matrix_multiply(a, trt.MatrixOperation.TRANSPOSE, b, trt.MatrixOperation.VECTOR)
    return layer, [((2, 3), F32)]


@case("NMS", "nms")
def _(net):
    boxes, scores = inp(net, (1, 100, 4)), inp(net, (1, 100, 3))
    mx = const(net, np.array(10, np.int32))
    return net.add_nms(boxes, scores, mx), [((-1, 3), I32), ((), I32)]


@case("NON_ZERO", "non-zero int64 indices")
def _(net):
    return net.add_non_zero(inp(net, (3, 4)), I64), [((2, -1), I64)]


@case("ONE_HOT", "one-hot with constant depth")
def _(net):
    idx, vals = inp(net, (-1, 5), I32), const(net, np.array([0.0, 1.0], np.float32))
    depth = const(net, np.array(10, np.int32))
    return net.add_one_hot(idx, vals, depth, -1), [((-1, 5, 10), F32)]


@case("PADDING", "padding")
def _(net):
    return net.add_padding_nd(inp(net, (1, 3, 8, 8)), (1, 2), (3, -1)), [((1, 3, 12, 9), F32)]


@case("REDUCE", "reduce keep dims")
def _(net):
    return net.add_reduce(inp(net, (-1, 4, 5)), trt.ReduceOperation.SUM, 0b110, True), [
        ((-1, 1, 1), F32)
    ]


@case("REDUCE", "reduce drop dims")
def _(net):
    return net.add_reduce(inp(net, (-1, 4, 5)), trt.ReduceOperation.MAX, 0b010, False), [
        ((-1, 5), F32)
    ]


@case("RESIZE", "resize scales")
def _(net):
    r = net.add_resize(inp(net, (1, 3, 5, -1)))
    r.scales = [1.0, 1.0, 2.0, 2.0]
    return r, [((1, 3, 10, -1), F32)]


@case("RESIZE", "resize shape")
def _(net):
    r = net.add_resize(inp(net, (1, 3, 5, 5)))
    r.shape = (1, 3, 7, 9)
    return r, [((1, 3, 7, 9), F32)]


@case("SCATTER", "scatter")
def _(net):
    d, i, u = inp(net, (5, 4)), inp(net, (2, 1), I32), inp(net, (2, 4))
    return net.add_scatter(d, i, u, trt.ScatterMode.ND), [((5, 4), F32)]


@case("SHAPE", "shape")
def _(net):
    return net.add_shape(inp(net, (-1, 3, 4))), [((3,), I64)]


@case("SHUFFLE", "shuffle static reshape with 0 and -1")
def _(net):
    s = net.add_shuffle(inp(net, (2, 3, 4)))
    s.reshape_dims = (0, -1)
    return s, [((2, 12), F32)]


@case("SHUFFLE", "shuffle 0 copies a dynamic dim and -1 is still inferred")
def _(net):
    s = net.add_shuffle(inp(net, (-1, 4, 9)))
    s.reshape_dims = (0, -1)
    return s, [((-1, 36), F32)]


@case("SHUFFLE", "shuffle -1 takes the dynamic factor")
def _(net):
    s = net.add_shuffle(inp(net, (-1, 4, 9)))
    s.reshape_dims = (-1, 36)
    return s, [((-1, 36), F32)]


@case("SHUFFLE", "shuffle 0 placeholders after a first transpose")
def _(net):
    s = net.add_shuffle(inp(net, (4, -1, 9)))
    s.first_transpose = (1, 0, 2)
    s.reshape_dims = (0, -1)
    s.second_transpose = (1, 0)
    return s, [((36, -1), F32)]


@case("SHUFFLE", "shuffle -1 with a dynamic leftover stays dynamic")
def _(net):
    s = net.add_shuffle(inp(net, (-1, 4, 9)))
    s.reshape_dims = (2, -1, 9)
    return s, [((2, -1, 9), F32)]


@case("SHUFFLE", "shuffle literal 0 without placeholders")
def _(net):
    s = net.add_shuffle(inp(net, (-1, 4)))
    s.zero_is_placeholder = False
    s.reshape_dims = (0, 4)
    return s, [((0, 4), F32)]


@case("SHUFFLE", "shuffle set_input(1) from shape(x)[0] and -1 (TensorRT-LLM view)")
def _(net):
    x = inp(net, (-1, 4, 9))
    d0 = net.add_slice(net.add_shape(x).get_output(0), (0,), (1,), (1,)).get_output(0)
    dims = net.add_concatenation([d0, const(net, np.array([-1], np.int64))]).get_output(0)
    s = net.add_shuffle(net.add_activation(x, trt.ActivationType.RELU).get_output(0))
    s.set_input(1, dims)
    return s, [((-1, 36), F32)]


@case("SHUFFLE", "shuffle set_input(1) from Shape-Gather-Unsqueeze-Concat (ONNX Flatten)")
def _(net):
    x = inp(net, (-1, 4, 9))
    g = net.add_gather(
        net.add_shape(x).get_output(0), const(net, np.array(0, np.int32)), 0
    ).get_output(0)
    u = net.add_unsqueeze(g, const(net, np.array([0], np.int32))).get_output(0)
    dims = net.add_concatenation([u, const(net, np.array([-1], np.int64))]).get_output(0)
    s = net.add_shuffle(x)
    s.set_input(1, dims)
    return s, [((-1, 36), F32)]


@case("SHUFFLE", "shuffle set_input(1) with a product of the input's dynamic dims")
def _(net):
    """[shape(x)[0] * shape(x)[1], -1]: the dynamic factors cancel, -1 is 36."""
    x = inp(net, (-1, -1, 4, 9))
    shp = net.add_shape(x).get_output(0)
    d0 = net.add_slice(shp, (0,), (1,), (1,)).get_output(0)
    d1 = net.add_slice(shp, (1,), (1,), (1,)).get_output(0)
    rows = net.add_elementwise(d0, d1, trt.ElementWiseOperation.PROD).get_output(0)
    dims = net.add_concatenation([rows, const(net, np.array([-1], np.int64))]).get_output(0)
    s = net.add_shuffle(x)
    s.set_input(1, dims)
    return s, [((-1, 36), F32)]


@case("SHUFFLE", "shuffle set_input(1) with a sum of dims stays dynamic")
def _(net):
    x = inp(net, (-1, -1, 4, 9))
    shp = net.add_shape(x).get_output(0)
    d0 = net.add_slice(shp, (0,), (1,), (1,)).get_output(0)
    d1 = net.add_slice(shp, (1,), (1,), (1,)).get_output(0)
    rows = net.add_elementwise(d0, d1, trt.ElementWiseOperation.SUM).get_output(0)
    dims = net.add_concatenation([rows, const(net, np.array([-1], np.int64))]).get_output(0)
    s = net.add_shuffle(x)
    s.set_input(1, dims)
    return s, [((-1, -1), F32)]


@case("SHUFFLE", "shuffle set_input(1) with another tensor's dynamic dim")
def _(net):
    x, y = inp(net, (-1, 4, 9)), inp(net, (-1, 2))
    d0 = net.add_slice(net.add_shape(y).get_output(0), (0,), (1,), (1,)).get_output(0)
    dims = net.add_concatenation([d0, const(net, np.array([-1], np.int64))]).get_output(0)
    s = net.add_shuffle(x)
    s.set_input(1, dims)
    return s, [((-1, -1), F32)]


@case("SHUFFLE", "shuffle transposes")
def _(net):
    s = net.add_shuffle(inp(net, (2, -1, 4)))
    s.first_transpose = (2, 0, 1)
    return s, [((4, 2, -1), F32)]


@case("SHUFFLE", "shuffle dynamic reshape input keeps known dims")
def _(net):
    x = inp(net, (-1, -1, 64))
    bs = net.add_slice(net.add_shape(x).get_output(0), (0,), (2,), (1,)).get_output(0)
    dims = net.add_concatenation([bs, const(net, np.array([4, 16], np.int64))]).get_output(0)
    s = net.add_shuffle(x)
    s.set_input(1, dims)
    s.second_transpose = (0, 2, 1, 3)
    return s, [((-1, 4, -1, 16), F32)]


@case("SLICE", "slice static with stride")
def _(net):
    return net.add_slice(inp(net, (10, -1)), (1, 0), (4, 3), (2, 1)), [((4, 3), F32)]


@case("SLICE", "slice with a runtime size input")
def _(net):
    x = inp(net, (-1, 8))
    sl = net.add_slice(x, (0, 0), (0, 0), (1, 1))
    sl.set_input(2, net.add_shape(x).get_output(0))
    return sl, [((-1, 8), F32)]


@case("SLICE", "slice with axes input")
def _(net):
    sl = net.add_slice(inp(net, (4, 6, 8)), (1,), (3,), (1,))
    sl.set_input(5, const(net, np.array([2], np.int32)))
    return sl, [((4, 6, 3), F32)]


@case("SQUEEZE", "squeeze")
def _(net):
    return net.add_squeeze(inp(net, (1, -1, 1, 5)), const(net, np.array([0, -2], np.int64))), [
        ((-1, 5), F32)
    ]


@case("UNSQUEEZE", "unsqueeze")
def _(net):
    return net.add_unsqueeze(inp(net, (-1, 5)), const(net, np.array([0, 3], np.int32))), [
        ((1, -1, 5, 1), F32)
    ]


@case("TOPK", "topk")
def _(net):
    return net.add_topk(inp(net, (-1, 100)), trt.TopKOperation.MAX, 5, 1 << 1), [
        ((-1, 5), F32),
        ((-1, 5), I32),
    ]


@case("ASSERTION", "assertion has no outputs")
def _(net):
    return net.add_assertion(inp(net, (2,), BOOL), "must hold"), []


# -- plugins -------------------------------------------------------------------------------
@case("PLUGIN_V2", "python V2 plugin")
def _(net):
    v2, _ = register_test_plugins(trt)
    q = inp(net, (-1, 4, -1, 16), F16)
    plugin = v2.create_plugin("p", trt.PluginFieldCollection([]))
    return net.add_plugin_v2([q, q, q], plugin), [((-1, 4, -1, 16), F16)]


@case("PLUGIN_V3", "python V3 plugin")
def _(net):
    _, v3 = register_test_plugins(trt)
    plugin = v3.create_plugin("p", trt.PluginFieldCollection([]), trt.TensorRTPhase.BUILD)
    return net.add_plugin_v3([inp(net, (3, -1))], [], plugin), [((3, -1), F32)]


@case("PLUGIN", "(legacy PLUGIN type cannot be created in TensorRT 10)")
def _(net):
    return None, None


# -- constructs ------------------------------------------------------------------------------
def _loop_parts(net: Any) -> dict[str, Any]:
    x = inp(net, (5, 3, -1))
    loop = net.add_loop()
    trip = loop.add_trip_limit(const(net, np.array(5, np.int32)), trt.TripLimit.COUNT)
    it = loop.add_iterator(x, 0, False)
    rec = loop.add_recurrence(const(net, w(3, 1)))
    rec.set_input(1, rec.get_output(0))
    out = loop.add_loop_output(it.get_output(0), trt.LoopOutput.CONCATENATE, 1)
    out.set_input(1, const(net, np.array(5, np.int32)))
    return {"trip": trip, "it": it, "rec": rec, "out": out}


@case("TRIP_LIMIT", "trip limit")
def _(net):
    return _loop_parts(net)["trip"], []


@case("ITERATOR", "iterator removes the axis")
def _(net):
    return _loop_parts(net)["it"], [((3, -1), F32)]


@case("RECURRENCE", "recurrence")
def _(net):
    return _loop_parts(net)["rec"], [((3, 1), F32)]


@case("LOOP_OUTPUT", "loop output concatenate inserts the length")
def _(net):
    return _loop_parts(net)["out"], [((3, 5, -1), F32)]


def _cond_parts(net: Any) -> dict[str, Any]:
    cond = net.add_if_conditional()
    c = cond.set_condition(inp(net, (), BOOL))
    ci = cond.add_input(inp(net, (2, 3)))
    a = net.add_identity(ci.get_output(0)).get_output(0)
    b = net.add_shuffle(ci.get_output(0)).get_output(0)
    co = cond.add_output(a, b)
    return {"c": c, "ci": ci, "co": co}


@case("CONDITION", "condition")
def _(net):
    return _cond_parts(net)["c"], []


@case("CONDITIONAL_INPUT", "conditional input")
def _(net):
    return _cond_parts(net)["ci"], [((2, 3), F32)]


@case("CONDITIONAL_OUTPUT", "conditional output")
def _(net):
    return _cond_parts(net)["co"], [((2, 3), F32)]


def _attention(net: Any) -> Any:
    q, k, v = (
        inp(net, (-1, 8, -1, 64), F16),
        inp(net, (-1, 2, -1, 64), F16),
        inp(net, (-1, 2, -1, 32), F16),
    )
    return net.add_attention(q, k, v, trt.AttentionNormalizationOp.SOFTMAX, True)


@case("ATTENTION_INPUT", "attention input boundary")
def _(net):
    att = _attention(net)
    return net.get_layer(net.num_layers - 2), [] if att is not None else None


@case("ATTENTION_OUTPUT", "attention output [b, heads_q, s_q, d_v]")
def _(net):
    att = _attention(net)
    assert att.get_output(0) is net.get_layer(net.num_layers - 1).get_output(0)
    return net.get_layer(net.num_layers - 1), [((-1, 8, -1, 32), F16)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_shapes(name: str, net: Any, logger: ListLogger) -> None:
    ltype, fn = CASES[name]
    layer, expected = fn(net)
    if expected is None:
        pytest.skip(name)
    assert layer.type == getattr(trt.LayerType, ltype) or trt.ILayer.type.__get__(layer) == getattr(
        trt.LayerType, ltype
    )
    assert outs(layer) == expected
    assert logger.errors == []


def test_every_layer_type_is_covered() -> None:
    covered = {ltype for ltype, _ in CASES.values()}
    assert covered == set(trt.LayerType.__members__)


# -- re-inference and value propagation ---------------------------------------------------------
def test_changing_a_parameter_reinfers_downstream(net: Any) -> None:
    x = inp(net, (2, 3, 4))
    s = net.add_shuffle(x)
    y = net.add_activation(s.get_output(0), trt.ActivationType.RELU).get_output(0)
    assert tuple(y.shape) == (2, 3, 4)
    s.reshape_dims = (6, 4)
    assert tuple(y.shape) == (6, 4)


def test_changing_an_input_shape_reinfers(net: Any) -> None:
    x = inp(net, (2, 3))
    y = net.add_unary(net.add_identity(x).get_output(0), trt.UnaryOperation.ABS).get_output(0)
    x.shape = (5, -1)
    assert tuple(y.shape) == (5, -1)


def test_set_input_reinfers(net: Any) -> None:
    a, b = inp(net, (2, 3)), inp(net, (7, 9))
    layer = net.add_identity(a)
    layer.set_input(0, b)
    assert tuple(layer.get_output(0).shape) == (7, 9)


def test_reshape_from_shape_arithmetic_of_static_dims(net: Any) -> None:
    """shape(x)[0] * shape(x)[1] computed with elementwise feeds a reshape: stays static."""
    x = inp(net, (3, 4, 5))
    shp = net.add_shape(x).get_output(0)
    d0 = net.add_slice(shp, (0,), (1,), (1,)).get_output(0)
    d1 = net.add_slice(shp, (1,), (1,), (1,)).get_output(0)
    prod = net.add_elementwise(d0, d1, trt.ElementWiseOperation.PROD).get_output(0)
    dims = net.add_concatenation(
        [prod, net.add_slice(shp, (2,), (1,), (1,)).get_output(0)]
    ).get_output(0)
    s = net.add_shuffle(x)
    s.set_input(1, dims)
    assert tuple(s.get_output(0).shape) == (12, 5)
    assert dims.is_shape_tensor and not x.is_shape_tensor


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([-1, 1, 2, 3]), st.sampled_from([-1, 1, 2, 3])),
        min_size=1,
        max_size=4,
    )
)
def test_elementwise_broadcast_property(pairs: list[tuple[int, int]]) -> None:
    """Output dim = the non-1 dim; -1 only where no static non-1 dim decides; 2 vs 3 is an error."""
    logger = ListLogger()
    net = trt.Builder(logger).create_network(0)
    a = net.add_input("a", F32, [p[0] for p in pairs])
    b = net.add_input("b", F32, [p[1] for p in pairs])
    layer = net.add_elementwise(a, b, trt.ElementWiseOperation.SUM)
    if any({x, y} == {2, 3} for x, y in pairs):  # reported when the shape is needed
        assert layer is not None and not logger.errors
        assert is_invalid_dims(layer.get_output(0).shape) and logger.errors
        return
    expected = []
    for x, y in pairs:
        known = {d for d in (x, y) if d > 1}
        expected.append(known.pop() if known else (-1 if -1 in (x, y) else 1))
    assert tuple(layer.get_output(0).shape) == tuple(expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=2, max_size=5),
    st.integers(0, 4),
    st.integers(1, 4),
    st.data(),
)
def test_dynamic_dims_copied_by_placeholders_keep_the_inferred_dim(
    shape: list[int], copied: int, dynamic: int, data: st.DataObject
) -> None:
    """Reshape (0, ..., 0, -1) copies the leading dims: making any of them dynamic changes
    only that dim of the output, the -1 is inferred as in the static case."""
    copied = min(copied, len(shape) - 1)
    dyn = sorted(set(data.draw(st.lists(st.integers(0, max(copied - 1, 0)), max_size=dynamic))))
    dyn = [d for d in dyn if d < copied]
    static_net = trt.Builder(ListLogger()).create_network(0)
    dynamic_net = trt.Builder(ListLogger()).create_network(0)
    spec = (0,) * copied + (-1,)
    outs_ = []
    for net, dims in (
        (static_net, shape),
        (dynamic_net, [-1 if i in dyn else d for i, d in enumerate(shape)]),
    ):
        s = net.add_shuffle(net.add_input("x", F32, dims))
        s.reshape_dims = spec
        outs_.append(tuple(s.get_output(0).shape))
    expected = tuple(-1 if i in dyn else d for i, d in enumerate(outs_[0]))
    assert outs_[0] == (*shape[:copied], int(np.prod(shape[copied:])))
    assert outs_[1] == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_reshape_volume_property(shape: list[int], data: st.DataObject) -> None:
    """A reshape with a single -1 infers the missing factor; a wrong volume is rejected."""
    logger = ListLogger()
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", F32, shape)
    vol = int(np.prod(shape))
    divisors = [d for d in range(1, vol + 1) if vol % d == 0]
    d = data.draw(st.sampled_from(divisors))
    s = net.add_shuffle(x)
    s.reshape_dims = (d, -1)
    assert tuple(s.get_output(0).shape) == (d, vol // d)
    s.reshape_dims = (vol + 1,)
    assert not logger.errors
    assert is_invalid_dims(s.get_output(0).shape)
    assert logger.errors
