"""One small builder per TensorRT layer type, written as client code writes it.

``ZOO[name](trt, net, x, seed)`` adds a layer of LayerType ``name`` (and whatever it needs)
to ``net``, reading from ``x`` (a FLOAT input of shape (2, 8, 16, 16)), and returns the
layer of interest. ``seed`` only changes learned (float) weight values, so two builds
with different seeds are a "fine-tune" of each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Builder = Callable[[Any, Any, Any, int], Any]
ZOO: dict[str, Builder] = {}

X_SHAPE = (2, 8, 16, 16)


def zoo(*names: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for name in names:
            ZOO[name] = fn
        return fn

    return register


def weights(trt: Any, *shape: int, seed: int = 0) -> Any:
    """Learned FLOAT weights whose values depend on ``seed``."""
    return trt.Weights(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def const(trt: Any, net: Any, array: Any) -> Any:
    """A constant tensor with ``array``'s shape and dtype."""
    array = np.array(array, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    layer = net.add_constant(trt.Dims(list(array.shape)), trt.Weights(array))
    return layer.get_output(0)


def learned(trt: Any, net: Any, shape: tuple[int, ...], seed: int) -> Any:
    array = np.random.default_rng(seed + 1000).standard_normal(shape).astype(np.float32)
    return const(trt, net, array)


def i32(trt: Any, net: Any, values: Any) -> Any:
    return const(trt, net, np.asarray(values, dtype=np.int32))


def boolean(trt: Any, net: Any, x: Any) -> Any:
    """A BOOL tensor shaped like ``x`` (constants cannot be BOOL)."""
    return net.add_elementwise(x, x, trt.ElementWiseOperation.GREATER).get_output(0)


@zoo("ACTIVATION")
def _activation(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_activation(x, trt.ActivationType.RELU)


@zoo("ASSERTION")
def _assertion(trt: Any, net: Any, x: Any, seed: int) -> Any:
    shape = net.add_shape(x).get_output(0)
    same = net.add_elementwise(shape, shape, trt.ElementWiseOperation.EQUAL).get_output(0)
    return net.add_assertion(same, "shape must equal itself")


@zoo("CAST")
def _cast(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_cast(x, trt.float16)


@zoo("CONCATENATION")
def _concatenation(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_concatenation([x, x])


@zoo("CONSTANT")
def _constant(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_constant(trt.Dims([1, 8, 1, 1]), weights(trt, 1, 8, 1, 1, seed=seed))


@zoo("CONVOLUTION")
def _convolution(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_convolution_nd(
        x, 4, trt.Dims([3, 3]), weights(trt, 4 * 8 * 3 * 3, seed=seed), weights(trt, 4, seed=seed)
    )


@zoo("DECONVOLUTION")
def _deconvolution(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_deconvolution_nd(
        x, 4, trt.Dims([2, 2]), weights(trt, 8 * 4 * 2 * 2, seed=seed), weights(trt, 4, seed=seed)
    )


@zoo("CUMULATIVE")
def _cumulative(trt: Any, net: Any, x: Any, seed: int) -> Any:
    axis = const(trt, net, np.array(1, dtype=np.int32))
    return net.add_cumulative(x, axis, trt.CumulativeOperation.SUM, False, False)


def quantization_scale(trt: Any, net: Any) -> Any:
    """A per-tensor scale. Not seed-dependent: TensorRT folds Q/DQ scales into kernels, so a
    new scale is a new engine (single-element constants are hashed by value)."""
    return const(trt, net, np.array(0.05, dtype=np.float32))


@zoo("QUANTIZE")
def _quantize(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_quantize(x, quantization_scale(trt, net))


@zoo("DEQUANTIZE")
def _dequantize(trt: Any, net: Any, x: Any, seed: int) -> Any:
    scale = quantization_scale(trt, net)
    quantized = net.add_quantize(x, scale).get_output(0)
    return net.add_dequantize(quantized, scale)


@zoo("DYNAMIC_QUANTIZE")
def _dynamic_quantize(trt: Any, net: Any, x: Any, seed: int) -> Any:
    flat = net.add_shuffle(x)
    flat.reshape_dims = trt.Dims([256, 16])
    return net.add_dynamic_quantize(flat.get_output(0), 1, 16, trt.fp4, trt.fp8)


@zoo("EINSUM")
def _einsum(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_einsum([x, x], "abcd,abcd->abc")


@zoo("ELEMENTWISE")
def _elementwise(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_elementwise(
        x, learned(trt, net, (1, 8, 1, 1), seed), trt.ElementWiseOperation.SUM
    )


@zoo("FILL")
def _fill(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_fill(trt.Dims([2, 3]), trt.FillOperation.RANDOM_UNIFORM, trt.float32)


@zoo("GATHER")
def _gather(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_gather(x, i32(trt, net, [0, 3, 5]), 1)


@zoo("GRID_SAMPLE")
def _grid_sample(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_grid_sample(x, learned(trt, net, (2, 16, 16, 2), seed))


@zoo("IDENTITY")
def _identity(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_identity(x)


@zoo("KV_CACHE_UPDATE")
def _kv_cache_update(trt: Any, net: Any, x: Any, seed: int) -> Any:
    cache = net.add_input("kv_cache", trt.float32, trt.Dims([2, 8, 64, 16]))
    write_indices = net.add_input("write_indices", trt.int32, trt.Dims([2]))
    return net.add_kv_cache_update(cache, x, write_indices, trt.KVCacheMode.LINEAR)


@zoo("LRN")
def _lrn(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_lrn(x, 3, 1e-4, 0.75, 1.0)


@zoo("MATRIX_MULTIPLY")
def _matrix_multiply(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_matrix_multiply(
        x,
        trt.MatrixOperation.NONE,
        learned(trt, net, (1, 1, 16, 16), seed),
        trt.MatrixOperation.TRANSPOSE,
    )


@zoo("MOE")
def _moe(trt: Any, net: Any, x: Any, seed: int) -> Any:
    """Two experts (each token picks both, as top-2 routing does) with SwiGLU MLPs whose
    gate/up/down weights are [experts, 8, 32], [experts, 8, 32], [experts, 32, 8]."""
    hidden = net.add_input("hidden_states", trt.float32, trt.Dims([4, 32]))
    experts = net.add_input("selected_experts", trt.int32, trt.Dims([4, 2]))
    scores = net.add_input("expert_scores", trt.float32, trt.Dims([4, 2]))
    layer = net.add_moe(hidden, experts, scores)
    layer.set_gated_weights(
        learned(trt, net, (2, 8, 32), seed),
        learned(trt, net, (2, 8, 32), seed + 1),
        learned(trt, net, (2, 32, 8), seed + 2),
        trt.MoEActType.SILU,
    )
    return layer


@zoo("NMS")
def _nms(trt: Any, net: Any, x: Any, seed: int) -> Any:
    """TensorRT's layout: boxes [batch, boxes, 4], scores [batch, boxes, classes] (an ONNX
    NonMaxSuppression's [batch, classes, boxes] scores are transposed to this first)."""
    boxes = net.add_input("boxes", trt.float32, trt.Dims([1, 10, 4]))
    scores = net.add_input("scores", trt.float32, trt.Dims([1, 10, 3]))
    limit = const(trt, net, np.array(5, dtype=np.int32))
    return net.add_nms(boxes, scores, limit)


@zoo("NON_ZERO")
def _non_zero(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_non_zero(x)


@zoo("NORMALIZATION")
def _normalization(trt: Any, net: Any, x: Any, seed: int) -> Any:
    scale = learned(trt, net, (1, 8, 1, 1), seed)
    bias = learned(trt, net, (1, 8, 1, 1), seed + 1)
    return net.add_normalization(x, scale, bias, 1 << 2 | 1 << 3)


@zoo("ONE_HOT")
def _one_hot(trt: Any, net: Any, x: Any, seed: int) -> Any:
    indices = i32(trt, net, [[0, 1, 2], [3, 2, 1]])
    values = const(trt, net, np.array([0.0, 1.0], dtype=np.float32))
    depth = const(trt, net, np.array(4, dtype=np.int32))
    return net.add_one_hot(indices, values, depth, -1)


@zoo("PADDING")
def _padding(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_padding_nd(x, trt.Dims([1, 1]), trt.Dims([1, 1]))


@zoo("PARAMETRIC_RELU")
def _parametric_relu(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_parametric_relu(x, learned(trt, net, (1, 8, 1, 1), seed))


@zoo("POOLING")
def _pooling(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_pooling_nd(x, trt.PoolingType.MAX, trt.Dims([2, 2]))


@zoo("RAGGED_SOFTMAX")
def _ragged_softmax(trt: Any, net: Any, x: Any, seed: int) -> Any:
    data = net.add_input("ragged", trt.float32, trt.Dims([4, 16]))
    bounds = i32(trt, net, [[3], [16], [7], [1]])
    return net.add_ragged_softmax(data, bounds)


@zoo("REDUCE")
def _reduce(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_reduce(x, trt.ReduceOperation.SUM, 1 << 2, True)


@zoo("RESIZE")
def _resize(trt: Any, net: Any, x: Any, seed: int) -> Any:
    layer = net.add_resize(x)
    layer.shape = trt.Dims([2, 8, 32, 32])
    return layer


@zoo("REVERSE_SEQUENCE")
def _reverse_sequence(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_reverse_sequence(x, i32(trt, net, [1, 2, 2, 1, 1, 2, 2, 1]))


@zoo("ROTARY_EMBEDDING")
def _rotary_embedding(trt: Any, net: Any, x: Any, seed: int) -> Any:
    cos = learned(trt, net, (16, 8), seed)
    sin = learned(trt, net, (16, 8), seed + 1)
    return net.add_rotary_embedding(x, cos, sin, False, 16)


@zoo("SCALE")
def _scale(trt: Any, net: Any, x: Any, seed: int) -> Any:
    power = trt.Weights(np.ones(8, dtype=np.float32))
    return net.add_scale(
        x, trt.ScaleMode.CHANNEL, weights(trt, 8, seed=seed), weights(trt, 8, seed=seed + 1), power
    )


@zoo("SCATTER")
def _scatter(trt: Any, net: Any, x: Any, seed: int) -> Any:
    indices = const(trt, net, np.zeros(X_SHAPE, dtype=np.int32))
    return net.add_scatter(x, indices, x, trt.ScatterMode.ELEMENT)


@zoo("SELECT")
def _select(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_select(boolean(trt, net, x), x, learned(trt, net, (1, 8, 1, 1), seed))


@zoo("SHAPE")
def _shape(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_shape(x)


@zoo("SHUFFLE")
def _shuffle(trt: Any, net: Any, x: Any, seed: int) -> Any:
    layer = net.add_shuffle(x)
    layer.first_transpose = trt.Permutation([0, 2, 3, 1])
    layer.reshape_dims = trt.Dims([2, 256, 8])
    return layer


@zoo("SLICE")
def _slice(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_slice(x, trt.Dims([0, 0, 0, 0]), trt.Dims([1, 4, 8, 8]), trt.Dims([1, 1, 2, 2]))


@zoo("SOFTMAX")
def _softmax(trt: Any, net: Any, x: Any, seed: int) -> Any:
    layer = net.add_softmax(x)
    layer.axes = 1 << 3
    return layer


@zoo("SQUEEZE")
def _squeeze(trt: Any, net: Any, x: Any, seed: int) -> Any:
    reduced = net.add_reduce(x, trt.ReduceOperation.SUM, 1 << 1, True).get_output(0)
    return net.add_squeeze(reduced, i32(trt, net, [1]))


@zoo("UNSQUEEZE")
def _unsqueeze(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_unsqueeze(x, i32(trt, net, [0]))


@zoo("TOPK")
def _topk(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_topk(x, trt.TopKOperation.MAX, 2, 1 << 3)


@zoo("UNARY")
def _unary(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_unary(x, trt.UnaryOperation.EXP)


@zoo("DIST_COLLECTIVE")
def _dist_collective(trt: Any, net: Any, x: Any, seed: int) -> Any:
    return net.add_dist_collective(
        x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, 0, [0, 1]
    )


def build_loop(trt: Any, net: Any, x: Any, seed: int) -> dict[str, Any]:
    """A counted loop that accumulates ``x`` four times, iterating over axis 1 too. Its
    result is marked as a network output: an ILoopOutputLayer is the sole way to get output
    from a loop, so the recurrence and iterator outputs are loop-internal (LOOP_INTERNAL)."""
    loop = net.add_loop()
    trip = loop.add_trip_limit(const(trt, net, np.array(4, dtype=np.int32)), trt.TripLimit.COUNT)
    recurrence = loop.add_recurrence(x)
    iterator = loop.add_iterator(x, 1, False)
    step = net.add_elementwise(recurrence.get_output(0), x, trt.ElementWiseOperation.SUM)
    recurrence.set_input(1, step.get_output(0))
    output = loop.add_loop_output(recurrence.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    net.mark_output(output.get_output(0))
    return {
        "RECURRENCE": recurrence,
        "TRIP_LIMIT": trip,
        "ITERATOR": iterator,
        "LOOP_OUTPUT": output,
        "loop": loop,
    }


def build_conditional(trt: Any, net: Any, x: Any, seed: int) -> dict[str, Any]:
    """if (cond) abs(x) else -x, its result marked as a network output."""
    cond = net.add_input("cond", trt.bool, trt.Dims([]))
    conditional = net.add_if_conditional()
    condition = conditional.set_condition(cond)
    inp = conditional.add_input(x)
    then = net.add_unary(inp.get_output(0), trt.UnaryOperation.ABS)
    other = net.add_unary(inp.get_output(0), trt.UnaryOperation.NEG)
    output = conditional.add_output(then.get_output(0), other.get_output(0))
    net.mark_output(output.get_output(0))
    return {
        "CONDITION": condition,
        "CONDITIONAL_INPUT": inp,
        "CONDITIONAL_OUTPUT": output,
        "conditional": conditional,
    }


def build_attention(trt: Any, net: Any, x: Any, seed: int) -> dict[str, Any]:
    """An attention over ``x`` (its result marked as a network output), and its two boundary
    layers (the ones it just added)."""
    first = net.num_layers
    attention = net.add_attention(x, x, x, trt.AttentionNormalizationOp.SOFTMAX, False)
    net.mark_output(attention.get_output(0))
    found: dict[str, Any] = {"attention": attention}
    for i in range(first, net.num_layers):
        layer = net.get_layer(i)
        name = str(layer.type).split(".")[-1]
        if name in ("ATTENTION_INPUT", "ATTENTION_OUTPUT"):
            cls = (
                trt.IAttentionInputLayer if name == "ATTENTION_INPUT" else trt.IAttentionOutputLayer
            )
            layer.__class__ = cls
            found.setdefault(name, layer)
    return found


#: Layer types whose outputs are loop-internal: TensorRT refuses them as network outputs.
LOOP_INTERNAL = frozenset({"RECURRENCE", "ITERATOR"})

#: Layer types whose builder adds a whole construct (the same layers for every member of
#: a group; they differ only in which layer they return). The builder marks the construct's
#: result as a network output, so a network of an input-side layer (CONDITION,
#: ATTENTION_INPUT, RECURRENCE...) builds and runs too.
BUILDER_GROUP: dict[str, str] = {}
for _name in ("RECURRENCE", "TRIP_LIMIT", "ITERATOR", "LOOP_OUTPUT"):
    ZOO[_name] = lambda trt, net, x, seed, _n=_name: build_loop(trt, net, x, seed)[_n]
    BUILDER_GROUP[_name] = "loop"
for _name in ("CONDITION", "CONDITIONAL_INPUT", "CONDITIONAL_OUTPUT"):
    ZOO[_name] = lambda trt, net, x, seed, _n=_name: build_conditional(trt, net, x, seed)[_n]
    BUILDER_GROUP[_name] = "conditional"
for _name in ("ATTENTION_INPUT", "ATTENTION_OUTPUT"):
    ZOO[_name] = lambda trt, net, x, seed, _n=_name: build_attention(trt, net, x, seed)[_n]
    BUILDER_GROUP[_name] = "attention"


#: TensorRT's integer-sequence value types (weights are not changed this way).
_DIMS_TYPES = frozenset({"Dims", "Dims2", "Dims3", "Dims4", "DimsHW", "Permutation"})


def alternatives(value: Any) -> list[Any]:
    """Values of the same kind as ``value`` that differ from it: candidate single changes
    of a property (used by the sharpness tests and the comparison catalogue)."""
    kind = type(value)
    if isinstance(value, bool):
        return [not value]
    if hasattr(kind, "__members__"):
        return [m for m in kind.__members__.values() if int(m) != int(value)]
    if isinstance(value, int):
        return [value + 1, value - 1, 1, 2, 0]
    if isinstance(value, float):
        return [value + 0.25, value * 2 + 1, 0.5]
    if isinstance(value, str):
        return [value + "x", "other"]
    if isinstance(value, (list, tuple)) or type(value).__name__ in _DIMS_TYPES:
        items = list(value)
        out: list[Any] = []
        if items:
            out += [[*items[:-1], items[-1] + 1], items[::-1], [*items[:-1], 1]]
        out.append([1] * max(1, len(items)))
        return out
    return []


def new_network(trt: Any, *, flags: int = 0) -> tuple[Any, Any, Any]:
    """A builder, an empty network and its FLOAT input ``x`` of shape X_SHAPE."""
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    net = builder.create_network(flags)
    x = net.add_input("x", trt.float32, trt.Dims(list(X_SHAPE)))
    return builder, net, x


def network_with(trt: Any, layer_type: str, seed: int = 0) -> tuple[Any, Any, Any]:
    """(builder, network, layer): a network holding one ``layer_type`` layer, outputs marked
    (for a loop-internal layer, the loop's output)."""
    builder, net, x = new_network(trt)
    layer = ZOO[layer_type](trt, net, x, seed)
    if layer_type in LOOP_INTERNAL:  # the loop's output is marked by build_loop
        return builder, net, layer
    for j in range(layer.num_outputs):
        out = layer.get_output(j)
        if out is not None and not out.is_network_output:
            net.mark_output(out)
    return builder, net, layer
