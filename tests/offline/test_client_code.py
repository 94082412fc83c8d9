"""Real client programs, reproduced as written, run against the offline model.

Why: the offline model is judged by running client code we do not see, and that code is
NVIDIA's Python samples, TensorRT-LLM's ``functional.py`` and ONNX-parser-like tools
(Polygraphy). :mod:`tests.offline.test_client_calls` pins single calls; here each test is
one whole idiom, written the way those projects write it (keyword names, attribute
setters after creation, shape tensors built from ``add_shape``, ``set_input`` rewiring),
and asserts what TensorRT 10.16 gives for it: shapes, dtypes, layer types, names, and
the errors it logs.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger, is_invalid_dims
from tests.offline.exec_support import infer

STRONG = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


def shape(tensor_or_layer: Any, i: int = 0) -> tuple[int, ...]:
    """The shape of a tensor, or of a layer's output ``i``, as a tuple."""
    t = tensor_or_layer
    if not isinstance(t, trt.ITensor):
        t = t.get_output(i)
    return tuple(t.shape)


# == (a) NVIDIA's network_api_pytorch_mnist sample ==========================================
class ModelData:
    INPUT_NAME = "data"
    INPUT_SHAPE = (1, 1, 28, 28)
    OUTPUT_NAME = "prob"
    OUTPUT_SIZE = 10
    DTYPE = trt.float32


def mnist_weights() -> dict[str, np.ndarray]:
    """What ``model.state_dict()`` gives for the sample's Net (as numpy)."""
    rng = np.random.default_rng(7)
    shapes = {
        "conv1.weight": (20, 1, 5, 5),
        "conv1.bias": (20,),
        "conv2.weight": (50, 20, 5, 5),
        "conv2.bias": (50,),
        "fc1.weight": (500, 800),
        "fc1.bias": (500,),
        "fc2.weight": (10, 500),
        "fc2.bias": (10,),
    }
    return {k: (rng.standard_normal(s) * 0.1).astype(np.float32) for k, s in shapes.items()}


def populate_network(network: Any, weights: dict[str, np.ndarray]) -> None:
    """The sample's populate_network, as TensorRT 10's version writes it."""
    input_tensor = network.add_input(
        name=ModelData.INPUT_NAME, dtype=ModelData.DTYPE, shape=ModelData.INPUT_SHAPE
    )

    def add_matmul_as_fc(net: Any, input: Any, outputs: int, w: np.ndarray, b: np.ndarray) -> Any:
        assert len(input.shape) >= 3
        m = 1 if len(input.shape) == 3 else input.shape[0]
        k = int(np.prod(input.shape) / m)
        assert np.prod(input.shape) == m * k
        n = int(w.size / k)
        assert w.size == n * k
        assert b.size == n

        input_reshape = net.add_shuffle(input)
        input_reshape.reshape_dims = trt.Dims2(m, k)

        filter_const = net.add_constant(trt.Dims2(n, k), w)
        mm = net.add_matrix_multiply(
            input_reshape.get_output(0),
            trt.MatrixOperation.NONE,
            filter_const.get_output(0),
            trt.MatrixOperation.TRANSPOSE,
        )

        bias_const = net.add_constant(trt.Dims2(1, n), b)
        bias_add = net.add_elementwise(
            mm.get_output(0), bias_const.get_output(0), trt.ElementWiseOperation.SUM
        )

        output_reshape = net.add_shuffle(bias_add.get_output(0))
        output_reshape.reshape_dims = trt.Dims4(m, n, 1, 1)
        return output_reshape

    conv1_w = weights["conv1.weight"]
    conv1_b = weights["conv1.bias"]
    conv1 = network.add_convolution_nd(
        input=input_tensor, num_output_maps=20, kernel_shape=(5, 5), kernel=conv1_w, bias=conv1_b
    )
    conv1.stride_nd = (1, 1)

    pool1 = network.add_pooling_nd(
        input=conv1.get_output(0), type=trt.PoolingType.MAX, window_size=(2, 2)
    )
    pool1.stride_nd = trt.Dims2(2, 2)

    conv2_w = weights["conv2.weight"]
    conv2_b = weights["conv2.bias"]
    conv2 = network.add_convolution_nd(pool1.get_output(0), 50, (5, 5), conv2_w, conv2_b)
    conv2.stride_nd = (1, 1)

    pool2 = network.add_pooling_nd(conv2.get_output(0), trt.PoolingType.MAX, (2, 2))
    pool2.stride_nd = trt.Dims2(2, 2)

    fc1_w = weights["fc1.weight"]
    fc1_b = weights["fc1.bias"]
    fc1 = add_matmul_as_fc(network, pool2.get_output(0), 500, fc1_w, fc1_b)

    relu1 = network.add_activation(input=fc1.get_output(0), type=trt.ActivationType.RELU)

    fc2_w = weights["fc2.weight"]
    fc2_b = weights["fc2.bias"]
    fc2 = add_matmul_as_fc(network, relu1.get_output(0), ModelData.OUTPUT_SIZE, fc2_w, fc2_b)

    fc2.get_output(0).name = ModelData.OUTPUT_NAME
    network.mark_output(tensor=fc2.get_output(0))


def mnist_reference(x: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    """numpy forward pass of the sample's Net (conv, max-pool, fc, relu, fc)."""

    def conv(a: np.ndarray, k: np.ndarray, b: np.ndarray) -> np.ndarray:
        n, _, h, wd = a.shape
        o, _, kh, kw = k.shape
        out = np.zeros((n, o, h - kh + 1, wd - kw + 1), np.float64)
        for i in range(kh):
            for j in range(kw):
                patch = a[:, :, i : i + out.shape[2], j : j + out.shape[3]]
                out += np.einsum("nchw,oc->nohw", patch, k[:, :, i, j])
        return out + b[None, :, None, None]

    def pool(a: np.ndarray) -> np.ndarray:
        n, c, h, wd = a.shape
        return a.reshape(n, c, h // 2, 2, wd // 2, 2).max(axis=(3, 5))

    a = pool(conv(x.astype(np.float64), w["conv1.weight"], w["conv1.bias"]))
    a = pool(conv(a, w["conv2.weight"], w["conv2.bias"]))
    a = np.maximum(a.reshape(1, -1) @ w["fc1.weight"].T + w["fc1.bias"], 0)
    return (a @ w["fc2.weight"].T + w["fc2.bias"]).reshape(1, 10, 1, 1)


def test_mnist_sample_network_shapes_and_layers(logger: ListLogger) -> None:
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    populate_network(network, mnist_weights())
    types = [network.get_layer(i).type for i in range(network.num_layers)]
    assert types[:4] == [
        trt.LayerType.CONVOLUTION,
        trt.LayerType.POOLING,
        trt.LayerType.CONVOLUTION,
        trt.LayerType.POOLING,
    ]
    assert types.count(trt.LayerType.MATRIX_MULTIPLY) == 2
    assert types.count(trt.LayerType.CONSTANT) == 4
    assert types.count(trt.LayerType.SHUFFLE) == 4
    assert network.get_layer(0).get_output(0).shape == (1, 20, 24, 24)
    assert network.get_layer(1).get_output(0).shape == (1, 20, 12, 12)
    assert network.get_layer(3).get_output(0).shape == (1, 50, 4, 4)
    out = network.get_output(0)
    assert (out.name, shape(out), out.dtype) == ("prob", (1, 10, 1, 1), trt.float32)
    assert network.num_inputs == 1 and network.get_input(0).name == "data"
    assert logger.errors == []


def test_mnist_sample_build_flow_and_inference(logger: ListLogger) -> None:
    """build_engine as the sample writes it, then the common.do_inference sequence."""
    weights = mnist_weights()
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    config = builder.create_builder_config()
    runtime = trt.Runtime(logger)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 1 << 30
    populate_network(network, weights)
    plan = builder.build_serialized_network(network, config)
    assert plan is not None and plan.nbytes > 0
    engine = runtime.deserialize_cuda_engine(plan)
    assert engine is not None

    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    assert names == ["data", "prob"]
    assert engine.get_tensor_mode("data") == trt.TensorIOMode.INPUT
    assert engine.get_tensor_mode("prob") == trt.TensorIOMode.OUTPUT
    size = trt.volume(engine.get_tensor_shape("prob"))
    assert size == 10
    assert trt.nptype(engine.get_tensor_dtype("prob")) is np.float32

    x = np.random.default_rng(3).random(ModelData.INPUT_SHAPE, dtype=np.float32)
    out = infer(engine, {"data": x})["prob"]
    np.testing.assert_allclose(out, mnist_reference(x, weights), rtol=1e-3, atol=1e-4)
    assert logger.errors == []


# == (b) TensorRT-LLM's functional.py idioms ================================================
# A miniature of functional.py over raw ITensors: the helpers below are the library's
# own bodies with ``default_trtnet()`` made a parameter and ``Tensor`` unwrapped.
def int32_array(x: Any) -> np.ndarray:
    return np.array(x, dtype=np.int32)


def constant(net: Any, ndarray: np.ndarray, as_dtype: Any = None) -> Any:
    """functional.constant: Weights from a raw pointer, Dims from the numpy shape, and
    set_output_type on the constant in weakly typed networks."""
    np_to_trt = {
        np.dtype(k): v
        for k, v in (
            (np.float32, trt.float32),
            (np.float16, trt.float16),
            (np.int32, trt.int32),
            (np.int64, trt.int64),
            (np.int8, trt.int8),
            (np.bool_, trt.bool),
        )
    }
    trt_dtype = np_to_trt[ndarray.dtype] if as_dtype is None else as_dtype
    trt_shape = trt.Dims(ndarray.shape)
    trt_count = 1
    for i in range(len(trt_shape)):
        trt_count *= trt_shape[i]
    weights = trt.Weights(trt_dtype, ndarray.ctypes.data, trt_count)
    _KEEP.append(ndarray)  # register_ndarray: keeps the buffer alive
    layer = net.add_constant(trt_shape, weights)
    if not net.get_flag(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED):
        layer.set_output_type(0, trt_dtype)
    return layer.get_output(0)


_KEEP: list[np.ndarray] = []


def cast(net: Any, x: Any, dtype: Any) -> Any:
    if x.dtype == dtype:
        return x
    return net.add_cast(x, dtype).get_output(0)


def shape_of(net: Any, x: Any, dim: int | None = None) -> Any:
    """functional.shape: add_shape, cast to int32, optionally gather one dim."""
    res = cast(net, net.add_shape(x).get_output(0), trt.int32)
    if dim is None:
        return res
    return gather(net, res, 0, dim)


def gather(net: Any, x: Any, dim: int, indices: Any) -> Any:
    if isinstance(indices, int):
        indices = constant(net, int32_array([indices]))
    layer = net.add_gather_v2(x, indices, mode=trt.GatherMode.ELEMENT)
    layer.axis = dim
    return layer.get_output(0)


def concat(net: Any, inputs: list[Any], dim: int = 0) -> Any:
    tensors = [constant(net, int32_array([i])) if isinstance(i, int) else i for i in inputs]
    layer = net.add_concatenation(tensors)
    layer.axis = dim
    return layer.get_output(0)


def view(net: Any, x: Any, new_shape: Any, zero_is_placeholder: bool = True) -> Any:
    layer = net.add_shuffle(x)
    layer.zero_is_placeholder = zero_is_placeholder
    if isinstance(new_shape, trt.ITensor):
        assert len(new_shape.shape) == 1
        layer.set_input(1, new_shape)
    else:
        layer.reshape_dims = tuple(new_shape)
    return layer.get_output(0)


def expand_dims(net: Any, x: Any, dim: int | tuple[int, ...]) -> Any:
    dims = (dim,) if isinstance(dim, int) else dim
    out_ndim = len(dims) + len(x.shape)
    input_shape = shape_of(net, x)
    out_shapes: list[Any] = []
    j = 0
    for i in range(out_ndim):
        if i in dims:
            out_shapes.append(1)
        else:
            out_shapes.append(gather(net, input_shape, 0, j))
            j += 1
    return view(net, x, concat(net, out_shapes), zero_is_placeholder=False)


def broadcast_helper(net: Any, left: Any, right: Any) -> tuple[Any, Any]:
    if len(left.shape) == len(right.shape):
        return left, right
    if len(left.shape) < len(right.shape):
        return expand_dims(net, left, tuple(range(len(right.shape) - len(left.shape)))), right
    return left, expand_dims(net, right, tuple(range(len(left.shape) - len(right.shape))))


def elementwise_binary(net: Any, left: Any, right: Any, op: Any) -> Any:
    if isinstance(right, (int, float)):
        right = constant(net, np.array([right], dtype=trt.nptype(left.dtype)))
    left, right = broadcast_helper(net, left, right)
    return net.add_elementwise(left, right, op).get_output(0)


def slice_(net: Any, x: Any, starts: Any, sizes: Any, strides: Any = None, mode: Any = None) -> Any:
    ndim = len(x.shape)
    trt_starts = [0] * ndim if isinstance(starts, trt.ITensor) else starts
    trt_sizes = [1] * ndim if isinstance(sizes, trt.ITensor) else sizes
    trt_strides = [1] * ndim if isinstance(strides, trt.ITensor) or strides is None else strides
    layer = net.add_slice(x, start=trt_starts, shape=trt_sizes, stride=trt_strides)
    if mode is not None:
        layer.mode = mode
    if isinstance(starts, trt.ITensor):
        layer.set_input(1, starts)
    if isinstance(sizes, trt.ITensor):
        layer.set_input(2, sizes)
    if isinstance(strides, trt.ITensor):
        layer.set_input(3, strides)
    return layer.get_output(0)


def dim_to_trt_axes(dims: int | tuple[int, ...]) -> int:
    dims = (dims,) if isinstance(dims, int) else dims
    axes = 0
    for d in dims:
        axes |= 1 << d
    return axes


@pytest.fixture(params=["weak", "strong"])
def llm_net(request: Any, logger: ListLogger) -> Any:
    """TensorRT-LLM's Builder.create_network: EXPLICIT_BATCH when the enum still has it,
    plus STRONGLY_TYPED when asked."""
    flags = 0
    if "EXPLICIT_BATCH" in trt.NetworkDefinitionCreationFlag.__members__.keys():  # noqa: SIM118 - as written
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if request.param == "strong":
        flags |= STRONG
    return trt.Builder(logger).create_network(flags)


def test_llm_network_flags(llm_net: Any) -> None:
    strong = llm_net.get_flag(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert llm_net.get_flag(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    assert llm_net.flags & STRONG == (STRONG if strong else 0)
    assert not llm_net.has_implicit_batch_dimension


def test_llm_constant_from_a_raw_pointer(llm_net: Any, logger: ListLogger) -> None:
    w = np.arange(12, dtype=np.float16).reshape(3, 4)
    t = constant(llm_net, w)
    assert (shape(t), t.dtype) == ((3, 4), trt.float16)
    layer = llm_net.get_layer(llm_net.num_layers - 1)
    layer.__class__ = trt.IConstantLayer  # TensorRT-LLM's Layer.as_layer downcast
    assert layer.type == trt.LayerType.CONSTANT
    np.testing.assert_array_equal(np.asarray(layer.weights), w.reshape(-1))
    assert tuple(layer.shape) == (3, 4)
    scalar = constant(llm_net, np.array(2, dtype=np.int32))
    assert shape(scalar) == () and scalar.dtype == trt.int32
    assert logger.errors == []


def test_llm_expand_dims_and_broadcast_through_shape_tensors(
    llm_net: Any, logger: ListLogger
) -> None:
    x = llm_net.add_input("x", trt.float16, (2, 3, 8))
    bias = constant(llm_net, np.ones(8, np.float16))
    out = elementwise_binary(llm_net, x, bias, trt.ElementWiseOperation.SUM)
    assert shape(out) == (2, 3, 8) and out.dtype == trt.float16
    scaled = elementwise_binary(llm_net, x, 2.0, trt.ElementWiseOperation.PROD)
    assert shape(scaled) == (2, 3, 8)
    e = expand_dims(llm_net, x, 1)
    assert shape(e) == (2, 1, 3, 8)
    assert logger.errors == []


def test_llm_view_permute_transpose(llm_net: Any, logger: ListLogger) -> None:
    x = llm_net.add_input("x", trt.float32, (2, 5, 12))
    v = view(llm_net, x, [2, 5, 3, 4])
    assert shape(v) == (2, 5, 3, 4)
    v0 = view(llm_net, x, [0, 0, 3, 4])  # zero copies the input dim
    assert shape(v0) == (2, 5, 3, 4)
    layer = llm_net.add_shuffle(v)
    assert tuple(layer.first_transpose) == (0, 1, 2, 3, 4, 5, 6, 7)  # identity by default
    layer.first_transpose = (0, 2, 1, 3)  # permute(x, [0, 2, 1, 3])
    assert shape(layer) == (2, 3, 5, 4)
    # a Permutation made from a tuple is zero-filled (the bindings' conversion)
    assert tuple(layer.first_transpose) == (0, 2, 1, 3, 0, 0, 0, 0)
    dims = concat(llm_net, [shape_of(llm_net, x, 0), shape_of(llm_net, x, 1), -1])
    flat = view(llm_net, x, dims)
    assert shape(flat) == (2, 5, 12)
    assert logger.errors == []


def test_llm_slice_with_tensor_starts_and_sizes(llm_net: Any, logger: ListLogger) -> None:
    """functional.slice / split: dummy static values, then set_input(1..3)."""
    x = llm_net.add_input("x", trt.float32, (4, 6, 16))
    starts = concat(llm_net, [0, 0, 8])
    sizes = concat(llm_net, [shape_of(llm_net, x, 0), shape_of(llm_net, x, 1), 8])
    half = slice_(llm_net, x, starts, sizes)
    assert shape(half) == (4, 6, 8)
    strided = slice_(llm_net, x, [0, 0, 0], [4, 3, 16], concat(llm_net, [1, 2, 1]))
    assert shape(strided) == (4, 3, 16)
    # functional.expand: slice with WRAP mode and the target shape as input 2
    one = llm_net.add_input("one", trt.float32, (1, 6, 1))
    target = concat(llm_net, [4, 6, 16])
    expanded = slice_(llm_net, one, [0, 0, 0], target, [1, 1, 1], mode=trt.SampleMode.WRAP)
    assert shape(expanded) == (4, 6, 16)
    assert logger.errors == []


def test_llm_gather_modes(llm_net: Any, logger: ListLogger) -> None:
    table = constant(llm_net, np.zeros((100, 32), np.float32))
    ids = llm_net.add_input("input_ids", trt.int32, (2, 7))
    emb = llm_net.add_gather(table, ids, axis=0)  # embedding
    assert shape(emb) == (2, 7, 32) and emb.mode == trt.GatherMode.DEFAULT
    x = llm_net.add_input("x", trt.float32, (2, 7, 32))
    idx = llm_net.add_input("idx", trt.int32, (2, 1))
    nd = llm_net.add_gather_v2(x, idx, trt.GatherMode.ND)  # gather_nd(batch_dims=1)
    assert nd.num_elementwise_dims == 0
    nd.num_elementwise_dims = 1
    assert nd.num_elementwise_dims == 1
    assert shape(nd) == (2, 32)  # indices[:-1] + data[1 + 1:]
    sel = llm_net.add_gather_v2(x, constant(llm_net, int32_array(3)), trt.GatherMode.DEFAULT)
    sel.axis = 1  # select(x, 1, 3): a 0-D index drops the axis
    assert shape(sel) == (2, 32)
    el = llm_net.add_gather_v2(
        x, llm_net.add_input("e", trt.int32, (2, 1, 32)), trt.GatherMode.ELEMENT
    )
    el.axis = 1
    assert shape(el) == (2, 1, 32)
    assert logger.errors == []


def test_llm_where_einsum_unary(llm_net: Any, logger: ListLogger) -> None:
    cond = llm_net.add_input("cond", trt.bool, (2, 1, 8))
    a = llm_net.add_input("a", trt.float32, (2, 4, 8))
    b = llm_net.add_input("b", trt.float32, (1, 4, 1))
    sel = llm_net.add_select(cond, a, b)
    assert (shape(sel), sel.get_output(0).dtype) == ((2, 4, 8), trt.float32)
    assert sel.type == trt.LayerType.SELECT
    e = llm_net.add_einsum([a, a], "bij,bkj->bik")
    assert shape(e) == (2, 4, 4) and e.equation == "bij,bkj->bik"
    u = llm_net.add_unary(a, trt.UnaryOperation.EXP)
    assert shape(u) == (2, 4, 8) and u.op == trt.UnaryOperation.EXP
    n = llm_net.add_unary(cond, trt.UnaryOperation.NOT)
    assert n.get_output(0).dtype == trt.bool
    assert logger.errors == []


def test_llm_reduce_softmax_mean(llm_net: Any, logger: ListLogger) -> None:
    x = llm_net.add_input("x", trt.float32, (2, 4, 8))
    r = llm_net.add_reduce(x, trt.ReduceOperation.AVG, dim_to_trt_axes(2), keep_dims=True)
    assert shape(r) == (2, 4, 1) and r.axes == 4 and r.keep_dims
    r2 = llm_net.add_reduce(x, trt.ReduceOperation.MAX, dim_to_trt_axes((1, 2)), False)
    assert shape(r2) == (2,)
    sm = llm_net.add_softmax(x)
    sm.axes = dim_to_trt_axes(2)
    assert sm.axes == 4 and shape(sm) == (2, 4, 8)
    # RmsNorm: x.pow(2.0).mean(-1, keepdim=True)
    sq = elementwise_binary(llm_net, x, 2.0, trt.ElementWiseOperation.POW)
    mean = llm_net.add_reduce(sq, trt.ReduceOperation.AVG, dim_to_trt_axes(2), True)
    assert shape(mean) == (2, 4, 1)
    assert logger.errors == []


def test_llm_cast_by_identity_and_set_output_type(logger: ListLogger) -> None:
    """Older functional.cast: identity + set_output_type(0, dtype) in a weakly typed
    network; the output tensor reports the requested type."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float32, (2, 8))
    layer = net.add_identity(x)
    assert not layer.output_type_is_set(0)
    layer.set_output_type(0, trt.float16)
    assert layer.output_type_is_set(0) and layer.get_output_type(0) == trt.float16
    assert layer.get_output(0).dtype == trt.float16
    assert layer.type == trt.LayerType.IDENTITY
    c = net.add_cast(x, trt.int32)
    assert c.to_type == trt.int32 and c.get_output(0).dtype == trt.int32
    assert logger.errors == []


def test_llm_precision_in_a_weakly_typed_network(logger: ListLogger) -> None:
    """matmul(use_fp32_acc) and dequantize set layer.precision when not strongly typed."""
    net = trt.Builder(logger).create_network(0)
    a = net.add_input("a", trt.float16, (2, 4, 8))
    b = net.add_input("b", trt.float16, (2, 8, 3))
    mm = net.add_matrix_multiply(a, trt.MatrixOperation.NONE, b, trt.MatrixOperation.NONE)
    assert not mm.precision_is_set
    mm.precision = trt.float32
    mm.set_output_type(0, trt.float16)
    assert mm.precision == trt.float32 and mm.precision_is_set
    assert (shape(mm), mm.get_output(0).dtype) == ((2, 4, 3), trt.float16)
    mm.reset_precision()
    assert not mm.precision_is_set
    assert logger.errors == []


def test_llm_mark_output_with_a_dtype(logger: ListLogger) -> None:
    """Network._mark_output: name, mark_output, then set the output's dtype."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float16, (2, 8))
    y = net.add_activation(x, trt.ActivationType.SIGMOID).get_output(0)
    y.name = "logits"
    net.mark_output(y)
    y.dtype = trt.float32
    assert (net.get_output(0).name, net.get_output(0).dtype) == ("logits", trt.float32)
    assert y.is_network_output and not y.is_network_input
    assert logger.errors == []


def test_llm_input_with_dynamic_dims_named_from_dim_range(logger: ListLogger) -> None:
    """Network._add_input with dim_range: -1 dims, then set_dimension_name per dim."""
    net = trt.Builder(logger).create_network(0)
    dim_range = OrderedDict([("batch_size", [1, 4, 8]), ("num_tokens", [1, 64, 128])])
    t = net.add_input(name="input_ids", shape=(-1, -1), dtype=trt.int32)
    for i, dim_name in enumerate(dim_range.keys()):
        t.set_dimension_name(i, str(dim_name))
    assert [t.get_dimension_name(i) for i in range(2)] == ["batch_size", "num_tokens"]
    assert shape(t) == (-1, -1)
    assert not t.is_shape_tensor
    assert logger.errors == []


def test_llm_arange_by_linspace_fill(llm_net: Any, logger: ListLogger) -> None:
    """functional.arange: LINSPACE fill with shape, start (0-D) and delta (1-D) as inputs."""
    start = constant(llm_net, int32_array(0))
    end = constant(llm_net, int32_array(16))
    step = constant(llm_net, int32_array([1]))
    num = elementwise_binary(llm_net, end, start, trt.ElementWiseOperation.SUB)
    num = cast(llm_net, view(llm_net, num, [1]), trt.int64)
    layer = llm_net.add_fill([0], trt.FillOperation.LINSPACE, trt.int32)
    layer.set_input(0, num)
    layer.set_input(1, start)
    layer.set_input(2, step)
    out = layer.get_output(0)
    assert (shape(out), out.dtype) == ((16,), trt.int32)
    assert layer.operation == trt.FillOperation.LINSPACE
    assert layer.to_type == trt.int32
    assert logger.errors == []


def test_llm_rand_by_random_uniform_fill(llm_net: Any, logger: ListLogger) -> None:
    x = llm_net.add_input("x", trt.float32, (3, 5))
    low = constant(llm_net, np.array(0.0, np.float32))
    high = constant(llm_net, np.array(1.0, np.float32))
    layer = llm_net.add_fill([0], trt.FillOperation.RANDOM_UNIFORM, trt.float32)
    layer.set_input(0, cast(llm_net, llm_net.add_shape(x).get_output(0), trt.int64))
    layer.set_input(1, low)
    layer.set_input(2, high)
    assert (shape(layer), layer.get_output(0).dtype) == ((3, 5), trt.float32)
    default = llm_net.add_fill((2, 2), trt.FillOperation.RANDOM_NORMAL)
    assert default.get_output(0).dtype == trt.float32 and shape(default) == (2, 2)
    assert logger.errors == []


def test_llm_topk_with_a_tensor_k(llm_net: Any, logger: ListLogger) -> None:
    x = llm_net.add_input("logits", trt.float32, (2, 100))
    layer = llm_net.add_topk(x, trt.TopKOperation.MAX, k=5, axes=dim_to_trt_axes(1))
    assert (shape(layer, 0), shape(layer, 1)) == ((2, 5), (2, 5))
    assert layer.get_output(1).dtype == trt.int32 and layer.k == 5 and layer.axes == 2
    dyn = llm_net.add_topk(x, trt.TopKOperation.MIN, k=1, axes=dim_to_trt_axes(1))
    k = constant(llm_net, int32_array(7))  # squeeze(k, 0): a 0-D shape tensor
    dyn.set_input(1, k)
    assert shape(dyn, 0) == (2, 7) and shape(dyn, 1) == (2, 7)
    assert logger.errors == []


def test_llm_scatter_element_and_nd(llm_net: Any, logger: ListLogger) -> None:
    data = llm_net.add_input("data", trt.float32, (4, 6))
    idx = llm_net.add_input("idx", trt.int32, (2, 6))
    upd = llm_net.add_input("upd", trt.float32, (2, 6))
    layer = llm_net.add_scatter(data, idx, upd, trt.ScatterMode.ELEMENT)
    layer.axis = 0
    assert shape(layer) == (4, 6) and layer.mode == trt.ScatterMode.ELEMENT
    mask = llm_net.add_input("mask", trt.int32, (3, 2))
    src = llm_net.add_input("src", trt.float32, (3,))
    nd = llm_net.add_scatter(data, mask, src, mode=trt.ScatterMode.ND)
    assert shape(nd) == (4, 6)
    assert logger.errors == []


def test_llm_layer_norm_by_normalization(llm_net: Any, logger: ListLogger) -> None:
    x = llm_net.add_input("hidden", trt.float16, (2, 7, 64))
    weight = constant(llm_net, np.ones(64, np.float16))
    bias = constant(llm_net, np.zeros(64, np.float16))
    x, weight = broadcast_helper(llm_net, x, weight)
    x, bias = broadcast_helper(llm_net, x, bias)
    axis = len(x.shape) - 1
    axes_mask = 0
    for i in range(axis, len(x.shape)):
        axes_mask |= 1 << i
    layer = llm_net.add_normalization(x, weight, bias, axes_mask)
    layer.epsilon = 1e-5
    assert shape(weight) == (1, 1, 64)
    assert (shape(layer), layer.get_output(0).dtype) == ((2, 7, 64), trt.float16)
    assert layer.axes == 4 and abs(layer.epsilon - 1e-5) < 1e-9
    assert layer.type == trt.LayerType.NORMALIZATION
    assert logger.errors == []


def test_llm_quantize_and_dequantize(llm_net: Any, logger: ListLogger) -> None:
    strong = llm_net.get_flag(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    x = llm_net.add_input("x", trt.float16, (4, 16))
    scale = constant(llm_net, np.array([0.5], np.float16 if strong else np.float32))
    q = llm_net.add_quantize(x, scale, trt.int8)
    q.axis = -1
    assert (shape(q), q.get_output(0).dtype) == ((4, 16), trt.int8)
    assert q.to_type == trt.int8 and q.axis == -1
    w_scale = constant(llm_net, np.full(16, 0.1, np.float16 if strong else np.float32))
    dq = llm_net.add_dequantize(q.get_output(0), w_scale, trt.float16)
    dq.axis = 1
    if not strong:
        dq.precision = x.dtype
    assert (shape(dq), dq.get_output(0).dtype) == ((4, 16), trt.float16)
    assert dq.to_type == trt.float16 and dq.axis == 1
    q8 = llm_net.add_quantize(x, scale, trt.fp8)
    assert q8.get_output(0).dtype == trt.fp8
    default = llm_net.add_dequantize(q.get_output(0), scale)
    assert default.to_type == trt.float32
    assert logger.errors == []


TRT_LLM_PLUGIN_NAMESPACE = "tensorrt_llm"


class _ScaleByPlugin(trt.IPluginV2DynamicExt):
    """A V2 plugin like TensorRT-LLM's: one output shaped like input 0, typed by type_id."""

    def __init__(self, type_id: int) -> None:
        trt.IPluginV2DynamicExt.__init__(self)
        self.num_outputs = 1
        self.plugin_type = "ClientScaleBy"
        self.plugin_version = "1"
        self.plugin_namespace = TRT_LLM_PLUGIN_NAMESPACE
        self.type_id = type_id

    def get_output_datatype(self, index: int, input_types: list[Any]) -> Any:
        return trt.DataType(self.type_id)

    def get_output_dimensions(self, output_index: int, inputs: list[Any], expr_builder: Any) -> Any:
        return inputs[0]

    def serialize(self) -> bytes:
        return np.array([self.type_id], np.int32).tobytes()


class _ScaleByCreator(trt.IPluginCreator):
    def __init__(self) -> None:
        trt.IPluginCreator.__init__(self)
        self.name = "ClientScaleBy"
        self.plugin_version = "1"
        self.plugin_namespace = ""
        self.field_names = trt.PluginFieldCollection(
            [trt.PluginField("type_id", np.zeros(1, np.int32), trt.PluginFieldType.INT32)]
        )

    def create_plugin(self, name: str, fc: Any) -> Any:
        fields = {f.name: np.asarray(f.data) for f in fc}
        return _ScaleByPlugin(int(fields["type_id"].reshape(-1)[0]))


@pytest.fixture(scope="module")
def llm_creator() -> Any:
    creator = _ScaleByCreator()
    registry = trt.get_plugin_registry()
    assert registry.register_creator(creator, TRT_LLM_PLUGIN_NAMESPACE)
    yield creator
    assert registry.deregister_creator(creator)


def test_llm_plugin_v2_through_the_registry(llm_creator: Any, logger: ListLogger) -> None:
    """The body of every TensorRT-LLM plugin wrapper (gemm, gpt_attention, ...)."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float16, (2, -1, 64))
    plg_creator = trt.get_plugin_registry().get_plugin_creator(
        "ClientScaleBy", "1", TRT_LLM_PLUGIN_NAMESPACE
    )
    assert plg_creator is llm_creator
    assert (
        trt.get_plugin_registry().get_creator("ClientScaleBy", "1", TRT_LLM_PLUGIN_NAMESPACE)
        is llm_creator
    )
    assert trt.get_plugin_registry().get_plugin_creator("ClientScaleBy", "1", "") is None
    pf_type = trt.PluginField(
        "type_id", np.array(int(trt.float32), np.int32), trt.PluginFieldType.INT32
    )
    pfc = trt.PluginFieldCollection([pf_type])
    assert len(pfc) == 1 and pfc[0].name == "type_id"
    plugin = plg_creator.create_plugin("scale_by", pfc)
    layer = net.add_plugin_v2([x], plugin)
    assert layer.type == trt.LayerType.PLUGIN_V2 and layer.num_inputs == 1
    out = layer.get_output(0)
    assert (shape(out), out.dtype) == ((2, -1, 64), trt.float32)
    assert layer.plugin.plugin_namespace == TRT_LLM_PLUGIN_NAMESPACE
    assert logger.errors == []


def test_llm_loop_cumsum(logger: ListLogger) -> None:
    """The pre-ICumulativeLayer functional.cumsum: a loop over dim with a running sum."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float32, (5, 3))
    loop = net.add_loop()
    trip = gather(net, shape_of(net, x), 0, 0)
    trip = view(net, trip, [])  # 0-D trip count
    loop.add_trip_limit(trip, trt.TripLimit.COUNT)
    it = loop.add_iterator(x, 0, False)
    zero = constant(net, np.zeros(3, np.float32))
    rec = loop.add_recurrence(zero)
    s = net.add_elementwise(rec.get_output(0), it.get_output(0), trt.ElementWiseOperation.SUM)
    rec.set_input(1, s.get_output(0))
    out = loop.add_loop_output(s.get_output(0), trt.LoopOutput.CONCATENATE, 0)
    out.set_input(1, trip)
    assert (shape(out), out.get_output(0).dtype) == ((5, 3), trt.float32)
    assert out.kind == trt.LoopOutput.CONCATENATE and out.axis == 0
    assert logger.errors == []
    cum = net.add_cumulative(
        x, constant(net, int32_array(0)), trt.CumulativeOperation.SUM, False, False
    )
    assert shape(cum) == (5, 3) and cum.op == trt.CumulativeOperation.SUM


# == (c) ONNX-parser-like and Polygraphy patterns ===========================================
def parse_like_onnx(net: Any) -> Any:
    """What the ONNX parser does per node: add the layer, name it, name its outputs, then
    mark graph outputs; inputs have -1 dims with symbolic names."""
    x = net.add_input("images", trt.float32, (-1, 3, -1, -1))
    x.set_dimension_name(0, "batch")
    x.set_dimension_name(2, "height")
    x.set_dimension_name(3, "width")
    w = np.ones((8, 3, 3, 3), np.float32)
    conv = net.add_convolution_nd(
        x, 8, (3, 3), trt.Weights(w), trt.Weights(np.zeros(8, np.float32))
    )
    conv.name = "/backbone/conv/Conv"
    conv.padding_nd = (1, 1)
    conv.get_output(0).name = "/backbone/conv/Conv_output_0"
    relu = net.add_activation(conv.get_output(0), trt.ActivationType.RELU)
    relu.name = "/backbone/relu/Relu"
    relu.get_output(0).name = "/backbone/relu/Relu_output_0"
    pool = net.add_reduce(relu.get_output(0), trt.ReduceOperation.AVG, 0b1100, True)
    pool.name = "/head/GlobalAveragePool"
    pool.get_output(0).name = "features"
    net.mark_output(pool.get_output(0))
    return x


def test_onnx_like_names_and_dimension_names(logger: ListLogger) -> None:
    net = trt.Builder(logger).create_network(0)
    x = parse_like_onnx(net)
    assert [x.get_dimension_name(i) for i in range(4)] == ["batch", None, "height", "width"]
    assert [net.get_layer(i).name for i in range(net.num_layers)] == [
        "/backbone/conv/Conv",
        "/backbone/relu/Relu",
        "/head/GlobalAveragePool",
    ]
    out = net.get_output(0)
    assert (out.name, shape(out)) == ("features", (-1, 8, 1, 1))
    assert net.get_layer(1).get_input(0).name == "/backbone/conv/Conv_output_0"
    assert logger.errors == []


def test_polygraphy_mark_all_then_unmark(logger: ListLogger) -> None:
    """Polygraphy's mark_layerwise then unmark_outputs: every layer output marked, then
    all but the original outputs unmarked again."""
    net = trt.Builder(logger).create_network(0)
    parse_like_onnx(net)
    original = {net.get_output(i).name for i in range(net.num_outputs)}
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        for index in range(layer.num_outputs):
            out = layer.get_output(index)
            if not out.is_network_output:
                net.mark_output(out)
    assert net.num_outputs == 3
    assert [net.get_output(i).name for i in range(3)] == [
        "features",
        "/backbone/conv/Conv_output_0",
        "/backbone/relu/Relu_output_0",
    ]
    for i in reversed(range(net.num_outputs)):
        t = net.get_output(i)
        if t.name not in original:
            net.unmark_output(t)
    assert net.num_outputs == 1 and net.get_output(0).name == "features"
    assert not net.get_layer(0).get_output(0).is_network_output
    assert logger.errors == []


def test_profile_fill_and_build(logger: ListLogger) -> None:
    """Polygraphy's Profile.fill_defaults + trtexec-like build of the parsed network."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    parse_like_onnx(net)
    config = builder.create_builder_config()
    assert builder.build_serialized_network(net, config) is None
    assert any("no optimization profile has been defined" in e for e in logger.errors)
    del logger.messages[:]
    profile = builder.create_optimization_profile()
    for idx in range(net.num_inputs):
        inp = net.get_input(idx)
        assert not inp.is_shape_tensor
        profile.set_shape(inp.name, min=(1, 3, 32, 32), opt=(4, 3, 64, 64), max=(8, 3, 128, 128))
    assert [tuple(d) for d in profile.get_shape("images")] == [
        (1, 3, 32, 32),
        (4, 3, 64, 64),
        (8, 3, 128, 128),
    ]
    assert profile.get_shape("missing") == []
    assert config.add_optimization_profile(profile) == 0
    assert config.num_optimization_profiles == 1
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, logger.errors
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    assert tuple(engine.get_tensor_shape("images")) == (-1, 3, -1, -1)
    assert [tuple(d) for d in engine.get_tensor_profile_shape("images", 0)] == [
        (1, 3, 32, 32),
        (4, 3, 64, 64),
        (8, 3, 128, 128),
    ]
    assert logger.errors == []


def test_profile_refuses_min_above_max(logger: ListLogger) -> None:
    builder = trt.Builder(logger)
    profile = builder.create_optimization_profile()
    with pytest.raises(ValueError, match="Shape provided for opt is inconsistent"):
        profile.set_shape("images", (4, 3), (2, 3), (8, 3))
    assert profile.get_shape("images") == []
    profile.set_shape("images", (1, 3), (2, 3), (8, 3))  # returns None, like the bindings
    assert len(profile.get_shape("images")) == 3


def test_profile_shape_input(logger: ListLogger) -> None:
    """A shape-tensor input (a reshape target): set_shape_input gives its values."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (-1,))
    target = net.add_input("target", trt.int32, (2,))
    reshape = net.add_shuffle(x)
    reshape.set_input(1, target)
    net.mark_output(reshape.get_output(0))
    assert target.is_shape_tensor and not x.is_shape_tensor
    assert shape(reshape) == (-1, -1)
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1,), (12,), (64,))
    profile.set_shape_input("target", (1, 1), (3, 4), (8, 8))
    assert [tuple(v) for v in profile.get_shape_input("target")] == [(1, 1), (3, 4), (8, 8)]
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, logger.errors
    assert logger.errors == []


# == strong typing: what TensorRT-LLM guards with ``if not strongly_typed`` ================
def test_strongly_typed_network_rejects_precision_and_output_types(logger: ListLogger) -> None:
    """functional.constant / dequantize / matmul set output types and precisions only when
    the network is weakly typed, because "strongly-typed networks reject calls to method
    setPrecision" (and setOutputType): the call is an ERROR and changes nothing."""
    net = trt.Builder(logger).create_network(STRONG)
    x = net.add_input("x", trt.float16, (2, 8))
    layer = net.add_identity(x)
    layer.precision = trt.float32
    assert not layer.precision_is_set and layer.precision == trt.float32  # the default
    assert len(logger.errors) == 1 and "setPrecision" in logger.errors[0]
    layer.set_output_type(0, trt.float32)
    assert not layer.output_type_is_set(0)
    assert layer.get_output(0).dtype == trt.float16
    assert len(logger.errors) == 2 and "setOutputType" in logger.errors[1]
    # the typed way: a cast (to_type), as strongly typed TensorRT-LLM writes it
    cast_layer = net.add_cast(x, trt.float32)
    assert cast_layer.get_output(0).dtype == trt.float32
    assert len(logger.errors) == 2


def test_strongly_typed_output_type_is_inferred(logger: ListLogger) -> None:
    """Network._mark_output sets the output's dtype: tolerated when it equals the inferred
    type, an ERROR (type unchanged) otherwise; a network input takes any type."""
    net = trt.Builder(logger).create_network(STRONG)
    x = net.add_input("x", trt.float32, (2, 8))
    y = net.add_activation(x, trt.ActivationType.TANH).get_output(0)
    y.name = "y"
    net.mark_output(y)
    y.dtype = trt.float32
    assert y.dtype == trt.float32 and logger.errors == []
    y.dtype = trt.float16
    assert y.dtype == trt.float32
    assert len(logger.errors) == 1 and logger.errors[0].startswith("ITensor::setType")
    x.dtype = trt.float16
    assert x.dtype == trt.float16 and y.dtype == trt.float16  # re-inferred from the input
    assert len(logger.errors) == 1


def test_weakly_typed_network_takes_output_types(logger: ListLogger) -> None:
    """The same calls in a weakly typed network are constraints and are kept."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float32, (2, 8))
    layer = net.add_activation(x, trt.ActivationType.TANH)
    layer.precision = trt.float16
    layer.set_output_type(0, trt.float16)
    assert layer.precision_is_set and layer.output_type_is_set(0)
    y = layer.get_output(0)
    assert y.dtype == trt.float16
    net.mark_output(y)
    y.dtype = trt.float32
    assert y.dtype == trt.float32 and layer.get_output_type(0) == trt.float32
    assert logger.errors == []


def _llm_inputs(builder: Any) -> tuple[Any, Any]:
    """input_ids [batch_size, num_tokens] and position_ids [batch_size, num_tokens], named
    as TensorRT-LLM names them from dim_range, feeding one output."""
    net = builder.create_network(0)
    ids = net.add_input("input_ids", trt.int32, (-1, -1))
    pos = net.add_input("position_ids", trt.int32, (-1, -1))
    for t in (ids, pos):
        t.set_dimension_name(0, "batch_size")
        t.set_dimension_name(1, "num_tokens")
    out = net.add_elementwise(ids, pos, trt.ElementWiseOperation.SUM).get_output(0)
    net.mark_output(out)
    return net, builder.create_builder_config()


def test_named_dimensions_with_one_range_build(logger: ListLogger) -> None:
    builder = trt.Builder(logger)
    net, config = _llm_inputs(builder)
    profile = builder.create_optimization_profile()
    for name in ("input_ids", "position_ids"):
        profile.set_shape(name, [1, 1], [4, 64], [8, 128])
    assert config.add_optimization_profile(profile) == 0
    assert builder.build_serialized_network(net, config) is not None
    assert logger.errors == []


def test_named_dimensions_with_different_ranges_are_refused(logger: ListLogger) -> None:
    """Builder._validate_named_dimensions in TensorRT-LLM exists because TensorRT refuses
    this: same-named dims must be equal at runtime, so their profile ranges must agree."""
    builder = trt.Builder(logger)
    net, config = _llm_inputs(builder)
    profile = builder.create_optimization_profile()
    profile.set_shape("input_ids", [1, 1], [4, 64], [8, 128])
    profile.set_shape("position_ids", [1, 1], [4, 32], [8, 128])
    config.add_optimization_profile(profile)
    assert builder.build_serialized_network(net, config) is None
    assert len(logger.errors) == 1
    msg = logger.errors[0]
    assert msg.startswith("Builder::buildSerializedNetwork: Error Code 4: API Usage Error (")
    assert "position_ids" in msg and "num_tokens" in msg and "profile 0" in msg


def test_named_static_dimensions_must_agree(logger: ListLogger) -> None:
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    a = net.add_input("a", trt.float32, (4, 8))
    b = net.add_input("b", trt.float32, (2, 8))
    a.set_dimension_name(1, "hidden")
    b.set_dimension_name(1, "hidden")
    net.mark_output(net.add_concatenation([a, b]).get_output(0))
    assert builder.build_serialized_network(net, builder.create_builder_config()) is not None
    b.set_dimension_name(0, "rows")
    a.set_dimension_name(0, "rows")  # 4 and 2 can never be equal
    assert builder.build_serialized_network(net, builder.create_builder_config()) is None
    assert len(logger.errors) == 1 and "rows" in logger.errors[0]
    a.set_dimension_name(0, None)  # cleared: builds again
    assert builder.build_serialized_network(net, builder.create_builder_config()) is not None


class _FlattenPlugin(
    trt.IPluginV3, trt.IPluginV3OneCore, trt.IPluginV3OneBuild, trt.IPluginV3OneRuntime
):
    """A V3 Python plugin in the samples' style: output [d0, d1 * d2], typed like input 0."""

    def __init__(self) -> None:
        trt.IPluginV3.__init__(self)
        trt.IPluginV3OneCore.__init__(self)
        trt.IPluginV3OneBuild.__init__(self)
        trt.IPluginV3OneRuntime.__init__(self)
        self.plugin_name = "ClientFlatten"
        self.plugin_version = "1"
        self.plugin_namespace = TRT_LLM_PLUGIN_NAMESPACE
        self.num_outputs = 1

    def get_capability_interface(self, type: Any) -> Any:
        return self

    def get_output_data_types(self, input_types: list[Any]) -> list[Any]:
        return [input_types[0]]

    def get_output_shapes(
        self, inputs: list[Any], shape_inputs: list[Any], expr_builder: Any
    ) -> list[Any]:
        out = trt.DimsExprs(2)
        out[0] = inputs[0][0]
        out[1] = expr_builder.operation(trt.DimensionOperation.PROD, inputs[0][1], inputs[0][2])
        return [out]


class _FlattenCreator(trt.IPluginCreatorV3One):
    def __init__(self) -> None:
        trt.IPluginCreatorV3One.__init__(self)
        self.name = "ClientFlatten"
        self.plugin_version = "1"
        self.plugin_namespace = ""
        self.field_names = trt.PluginFieldCollection([])

    def create_plugin(self, name: str, fc: Any, phase: Any) -> Any:
        return _FlattenPlugin()


def test_plugin_v3_through_get_creator(logger: ListLogger) -> None:
    creator = _FlattenCreator()
    registry = trt.get_plugin_registry()
    assert registry.register_creator(creator, TRT_LLM_PLUGIN_NAMESPACE)
    try:
        net = trt.Builder(logger).create_network(STRONG)
        x = net.add_input("x", trt.float16, (-1, 4, 8))
        plg_creator = registry.get_creator("ClientFlatten", "1", TRT_LLM_PLUGIN_NAMESPACE)
        assert plg_creator is creator
        # a V3 creator is no IPluginCreator: the V2 lookup does not return it
        assert registry.get_plugin_creator("ClientFlatten", "1", TRT_LLM_PLUGIN_NAMESPACE) is None
        plugin = plg_creator.create_plugin(
            "flatten", trt.PluginFieldCollection([]), trt.TensorRTPhase.BUILD
        )
        layer = net.add_plugin_v3([x], [], plugin)
        assert layer.type == trt.LayerType.PLUGIN_V3
        out = layer.get_output(0)
        assert (shape(out), out.dtype) == ((-1, 32), trt.float16)
        net.mark_output(out)
        builder = net.builder
        config = builder.create_builder_config()
        profile = builder.create_optimization_profile()
        profile.set_shape("x", (1, 4, 8), (2, 4, 8), (4, 4, 8))
        config.add_optimization_profile(profile)
        assert builder.build_serialized_network(net, config) is not None
        assert logger.errors == []
    finally:
        assert registry.deregister_creator(creator)


def test_llm_layer_naming_by_type_and_op(logger: ListLogger) -> None:
    """Network._set_layer_name: the name is built from str(layer.type) and, after the
    as_layer() downcast, str(layer.op); outputs are renamed after the layer."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float32, (2, 8))
    classes = {
        trt.LayerType.ELEMENTWISE: trt.IElementWiseLayer,
        trt.LayerType.UNARY: trt.IUnaryLayer,
        trt.LayerType.REDUCE: trt.IReduceLayer,
    }
    net.add_elementwise(x, x, trt.ElementWiseOperation.SUM)
    net.add_unary(x, trt.UnaryOperation.SQRT)
    net.add_reduce(x, trt.ReduceOperation.MAX, 2, True)
    names = []
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        layer_name = str(layer.type).split(".")[-1]
        if layer.type in classes:
            layer.__class__ = classes[layer.type]
            layer_name = "_".join([layer_name, str(layer.op).split(".")[-1]])
        layer.name = f"transformer/{layer_name}_L{i}"
        for idx in range(layer.num_outputs):
            layer.get_output(idx).name = f"{layer.name}_output_{idx}"
        names.append(layer.name)
    assert names == [
        "transformer/ELEMENTWISE_SUM_L0",
        "transformer/UNARY_SQRT_L1",
        "transformer/REDUCE_MAX_L2",
    ]
    assert net.get_layer(1).get_output(0).name == "transformer/UNARY_SQRT_L1_output_0"
    assert logger.errors == []


@pytest.mark.parametrize(
    ("mode", "axis", "nbe", "indices", "expected"),
    [
        ("DEFAULT", 1, 1, (2, 3), (2, 3, 32)),  # a batched index_select
        ("DEFAULT", 0, 1, (2, 3), None),  # the gather axis is the elementwise one
        ("DEFAULT", 1, 1, (4, 3), None),  # batch 2 against 4
        ("ELEMENT", 1, 1, (2, 3, 32), None),  # "for kELEMENT, it must be 0"
        ("ND", 0, 1, (2, 1), (2, 32)),  # gather_nd(batch_dims=1)
        ("ND", 0, 1, (3, 1), None),
        ("ND", 0, 2, (2, 7, 1), (2, 7)),
    ],
)
def test_gather_elementwise_dims(
    llm_net: Any, logger: ListLogger, mode: str, axis: int, nbe: int, indices: Any, expected: Any
) -> None:
    """num_elementwise_dims pairs the leading dims of data and indices: they must agree, the
    gather axis cannot be one of them, and ELEMENT mode has none."""
    x = llm_net.add_input("x", trt.float32, (2, 7, 32))
    idx = llm_net.add_input("idx", trt.int32, indices)
    layer = llm_net.add_gather_v2(x, idx, getattr(trt.GatherMode, mode))
    layer.axis = axis
    layer.num_elementwise_dims = nbe
    if expected is None:
        assert is_invalid_dims(layer.get_output(0).shape)
        assert len(logger.errors) == 1 and "[Gather]" in logger.errors[0]
    else:
        assert shape(layer) == expected and logger.errors == []


@pytest.mark.parametrize(
    ("op", "to_type", "ok"),
    [
        ("LINSPACE", "int32", True),
        ("LINSPACE", "int64", True),
        ("LINSPACE", "float32", True),
        ("LINSPACE", "float16", False),
        ("RANDOM_UNIFORM", "float16", True),
        ("RANDOM_UNIFORM", "int32", False),
        ("RANDOM_NORMAL", "float32", True),
        ("RANDOM_NORMAL", "int64", False),
    ],
)
def test_fill_output_types(
    llm_net: Any, logger: ListLogger, op: str, to_type: str, ok: bool
) -> None:
    """IFillLayer's table of output types per operation: rand() with an integer dtype is
    refused."""
    layer = llm_net.add_fill((2, 3), getattr(trt.FillOperation, op), getattr(trt, to_type))
    if ok:
        assert shape(layer) == (2, 3) and layer.get_output(0).dtype == getattr(trt, to_type)
        assert logger.errors == []
    else:
        assert is_invalid_dims(layer.get_output(0).shape)
        assert len(logger.errors) == 1 and "[Fill]" in logger.errors[0]


def test_fill_inputs_must_be_scalars_and_a_delta(llm_net: Any, logger: ListLogger) -> None:
    """arange's start is 0-D and its step 1-D ([1]); rand's bounds are 0-D: a 1-D start or a
    delta of the wrong length is refused."""
    target = constant(llm_net, np.array([4, 5], np.int64))
    layer = llm_net.add_fill([0], trt.FillOperation.LINSPACE, trt.float32)
    layer.set_input(0, target)
    layer.set_input(1, constant(llm_net, np.array([0.0], np.float32)))  # 1-D start
    layer.set_input(2, constant(llm_net, np.array([1.0, 1.0], np.float32)))
    assert is_invalid_dims(layer.get_output(0).shape) and "input 1" in logger.errors[-1]
    layer.set_input(1, constant(llm_net, np.array(0.0, np.float32)))
    assert shape(layer) == (4, 5)
    layer.set_input(2, constant(llm_net, np.array([1.0], np.float32)))  # rank 2 needs 2
    assert is_invalid_dims(layer.get_output(0).shape) and "input 2" in logger.errors[-1]
    rand = llm_net.add_fill([0], trt.FillOperation.RANDOM_UNIFORM, trt.float32)
    rand.set_input(0, target)
    rand.set_input(1, constant(llm_net, np.array(0.0, np.float32)))
    rand.set_input(2, constant(llm_net, np.array([1.0], np.float32)))  # max must be 0-D
    assert is_invalid_dims(rand.get_output(0).shape) and "input 2" in logger.errors[-1]


def test_topk_k_tensor_must_be_a_scalar(llm_net: Any, logger: ListLogger) -> None:
    """functional.topk squeezes a 1-D k to 0-D before set_input(1, k): TensorRT takes a
    scalar k tensor only."""
    x = llm_net.add_input("logits", trt.float32, (2, 100))
    layer = llm_net.add_topk(x, trt.TopKOperation.MAX, 1, dim_to_trt_axes(1))
    layer.set_input(1, constant(llm_net, int32_array([5])))
    assert is_invalid_dims(layer.get_output(0).shape)
    assert len(logger.errors) == 1 and "[TopK]" in logger.errors[0]
    layer.set_input(1, constant(llm_net, int32_array(5)))
    assert shape(layer) == (2, 5)


@pytest.mark.parametrize(
    ("kind", "in_type", "to_type", "scale_len", "axis", "ok"),
    [
        ("quantize", "float16", "int8", 1, -1, True),  # functional.quantize, axis=-1
        ("quantize", "float32", "fp8", 16, 1, True),  # per-channel
        ("quantize", "float32", "int8", 16, 0, False),  # 16 scales for an axis of 4
        ("quantize", "float32", "float16", 1, 0, False),  # not a quantized type
        ("quantize", "int32", "int8", 1, 0, False),  # integer input
        ("dequantize", "int8", "float16", 16, 1, True),
        ("dequantize", "int8", "int8", 1, 0, False),
        ("dequantize", "float32", "float32", 1, 0, False),
    ],
)
def test_quantize_types_and_axis(
    logger: ListLogger,
    kind: str,
    in_type: str,
    to_type: str,
    scale_len: int,
    axis: int,
    ok: bool,
) -> None:
    """IQuantizeLayer/IDequantizeLayer: float <-> INT8/FP8/INT4/FP4 only, and a 1-D scale
    has one value per element of the quantization axis."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", getattr(trt, in_type), (4, 16))
    scale = constant(net, np.full(scale_len, 0.5, np.float32))
    add = net.add_quantize if kind == "quantize" else net.add_dequantize
    layer = add(x, scale, getattr(trt, to_type))
    layer.axis = axis
    if ok:
        assert shape(layer) == (4, 16) and layer.get_output(0).dtype == getattr(trt, to_type)
        assert logger.errors == []
    else:
        assert is_invalid_dims(layer.get_output(0).shape)
        assert len(logger.errors) == 1 and "quantize]" in logger.errors[0].lower()
