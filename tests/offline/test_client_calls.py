"""Calls that real client code makes and TensorRT 10.16 accepts (issue 12).

Why: TensorRT-LLM's builder and NVIDIA's layer examples, run with the offline model as
``tensorrt``, failed where real TensorRT works: the model checked shapes at ``add_*``
time against default attributes that the next line changes, applied strong typing to
weakly typed networks, and lost shape values. Each test is the exact call sequence the
client writes (create the layer, then set attributes), with what TensorRT printed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger, is_invalid_dims

STRONG = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


@pytest.fixture(params=["weak", "strong"])
def network(request: Any, logger: ListLogger) -> Any:
    """A weakly typed (flags 0) and a strongly typed network: both accept these calls."""
    return trt.Builder(logger).create_network(0 if request.param == "weak" else STRONG)


def shape(layer: Any, i: int = 0) -> tuple[int, ...]:
    return tuple(layer.get_output(i).shape)


# -- attributes set after creation ---------------------------------------------------------
def test_concatenation_axis_set_after_creation(network: Any, logger: ListLogger) -> None:
    a = network.add_input("a", trt.float32, (2, 4, 8, 16))
    b = network.add_input("b", trt.float32, (2, 4, 8, 32))
    concat = network.add_concatenation([a, b])
    assert concat is not None
    concat.axis = 3
    assert shape(concat) == (2, 4, 8, 48)
    assert logger.errors == []


def test_reverse_sequence_axes_set_after_creation(network: Any, logger: ListLogger) -> None:
    x = network.add_input("x", trt.float32, (4, 3, 5))  # [seq, batch, hidden]
    lengths = network.add_input("lengths", trt.int32, (3,))
    layer = network.add_reverse_sequence(x, lengths)
    assert layer is not None
    layer.batch_axis = 1
    layer.sequence_axis = 0
    assert shape(layer) == (4, 3, 5)
    assert logger.errors == []


@pytest.mark.parametrize("deconvolution", [False, True])
def test_kernel_tensor_set_after_an_empty_kernel(
    network: Any, logger: ListLogger, deconvolution: bool
) -> None:
    x = network.add_input("x", trt.float32, (1, 2, 5, 5))
    if deconvolution:
        kernel = network.add_input("k", trt.float32, (2, 3, 3, 3))
        layer = network.add_deconvolution_nd(x, 3, (3, 3), trt.Weights())
    else:
        kernel = network.add_input("k", trt.float32, (3, 2, 3, 3))
        layer = network.add_convolution_nd(x, 3, (3, 3), trt.Weights())
    assert layer is not None
    layer.set_input(1, kernel)
    assert shape(layer) == ((1, 3, 7, 7) if deconvolution else (1, 3, 3, 3))
    assert logger.errors == []


def test_an_invalid_attribute_is_reported_when_the_shape_is_read(
    network: Any, logger: ListLogger
) -> None:
    a = network.add_input("a", trt.float32, (2, 4, 8, 16))
    b = network.add_input("b", trt.float32, (2, 4, 8, 32))
    concat = network.add_concatenation([a, b])  # default axis 1: dims 3 differ
    assert logger.errors == []
    concat.get_output(0).shape  # noqa: B018 - reading the shape is what reports it
    assert len(logger.errors) == 1 and "Concatenation" in logger.errors[0]


def test_kernel_given_as_numpy_at_creation(network: Any, logger: ListLogger) -> None:
    """The common form stays valid: a kernel given as a numpy array at creation."""
    x = network.add_input("x", trt.float32, (1, 2, 5, 5))
    conv = network.add_convolution_nd(x, 3, (3, 3), np.ones(3 * 2 * 9, np.float32))
    assert shape(conv) == (1, 3, 3, 3)
    assert logger.errors == []


# -- weakly typed networks -------------------------------------------------------------------
@pytest.mark.parametrize("flags", [0, STRONG])
def test_elementwise_of_half_and_float(flags: int, logger: ListLogger) -> None:
    """TensorRT-LLM's attention adds a HALF and a FLOAT tensor in a weakly typed network;
    strong typing refuses it (when the shape is needed)."""
    net = trt.Builder(logger).create_network(flags)
    q = net.add_input("q", trt.float16, (2, 8, 16))
    bias = net.add_input("bias", trt.float32, (1, 8, 16))
    layer = net.add_elementwise(q, bias, trt.ElementWiseOperation.SUM)
    mm = net.add_matrix_multiply(q, trt.MatrixOperation.NONE, bias, trt.MatrixOperation.TRANSPOSE)
    assert layer is not None and mm is not None
    if flags:
        assert is_invalid_dims(layer.get_output(0).shape) and logger.errors
        return
    assert shape(layer) == (2, 8, 16) and shape(mm) == (2, 8, 8)
    assert layer.get_output(0).dtype == trt.float16
    assert logger.errors == []


def test_weak_typing_still_refuses_int_and_float(logger: ListLogger) -> None:
    net = trt.Builder(logger).create_network(0)
    a = net.add_input("a", trt.int32, (4,))
    b = net.add_input("b", trt.float32, (4,))
    layer = net.add_elementwise(a, b, trt.ElementWiseOperation.SUM)
    assert is_invalid_dims(layer.get_output(0).shape) and logger.errors


# -- shape values through shape arithmetic ---------------------------------------------------
@pytest.mark.parametrize("mode", ["DEFAULT", "ELEMENT"])
def test_reshape_to_a_gathered_dimension_of_a_weight(network: Any, mode: str) -> None:
    """TensorRT-LLM's attention reshapes a (192, 64) weight to [1, shape(w)[0], 64]; the
    values of shape tensors computed from static shapes give the output shape."""
    w = network.add_constant((192, 64), np.ones((192, 64), np.float16)).get_output(0)
    dims = network.add_shape(w).get_output(0)
    first = network.add_constant((1,), np.array([0], np.int32)).get_output(0)
    rows = network.add_gather_v2(dims, first, getattr(trt.GatherMode, mode)).get_output(0)
    one = network.add_constant((1,), np.array([1], np.int64)).get_output(0)
    last = network.add_slice(dims, (1,), (1,), (1,)).get_output(0)
    target = network.add_concatenation([one, rows, last]).get_output(0)
    target = network.add_cast(network.add_cast(target, trt.int32).get_output(0), trt.int64)
    reshape = network.add_shuffle(w)
    reshape.set_input(1, target.get_output(0))
    assert shape(reshape) == (1, 192, 64)
    fill = network.add_fill((0,), trt.FillOperation.LINSPACE, trt.float32)
    fill.set_input(0, target.get_output(0))
    assert shape(fill) == (1, 192, 64)
    doubled = network.add_elementwise(
        rows,
        network.add_constant((1,), np.array([2], np.int64)).get_output(0),
        trt.ElementWiseOperation.PROD,
    ).get_output(0)
    flat = network.add_shuffle(w)
    flat.set_input(
        1,
        network.add_concatenation(
            [doubled, network.add_constant((1,), np.array([32], np.int64)).get_output(0)]
        ).get_output(0),
    )
    assert shape(flat) == (384, 32)


# -- smaller layer cases ---------------------------------------------------------------------
@pytest.mark.parametrize("deconvolution", [False, True])
def test_rank_5_input_with_a_2d_kernel(network: Any, deconvolution: bool) -> None:
    """NVIDIA's documented example: dims before the channel are batch dims."""
    x = network.add_input("x", trt.float32, (1, 1, 1, 4, 7))
    add = network.add_deconvolution_nd if deconvolution else network.add_convolution_nd
    layer = add(x, 1, (1, 1), np.ones(1, np.float32))
    assert shape(layer) == (1, 1, 1, 4, 7)


@pytest.mark.parametrize(
    ("equation", "shapes", "expected"),
    [
        ("i...j->...ij", [(2, 3, 4)], (3, 2, 4)),
        ("...j,...jk->...k", [(2, 3, 4), (4, 6)], (2, 3, 6)),
        ("i...j", [(2, 3, 4)], (3, 2, 4)),
        ("ij,jk", [(2, 3), (3, 5)], (2, 5)),
    ],
)
def test_einsum_with_an_ellipsis(
    network: Any, equation: str, shapes: list[tuple[int, ...]], expected: tuple[int, ...]
) -> None:
    ins = [network.add_input(f"x{i}", trt.float32, s) for i, s in enumerate(shapes)]
    layer = network.add_einsum(ins, equation)
    assert shape(layer) == expected
    ref = np.einsum(equation, *[np.zeros(s) for s in shapes]).shape
    assert ref == expected


def test_ragged_softmax_on_a_rank_3_input(network: Any, logger: ListLogger) -> None:
    x = network.add_input("x", trt.float32, (1, 3, 5))
    bounds = network.add_input("bounds", trt.int32, (1, 3, 1))
    layer = network.add_ragged_softmax(x, bounds)
    assert shape(layer) == (1, 3, 5)
    assert logger.errors == []


def test_fill_alpha_takes_any_object(network: Any, logger: ListLogger) -> None:
    """The bindings' setter is ``(self, object)``: it never raises."""
    fill = network.add_fill((2, 3), trt.FillOperation.LINSPACE, trt.float32)
    fill.alpha = [1000]
    assert fill.alpha == 0.0 and logger.errors  # not a number: reported, unchanged
    fill.alpha = 1000
    assert fill.alpha == 1000 and fill.is_alpha_beta_int64()
    fill.beta = 0.5
    assert fill.beta == 0.5 and not fill.is_alpha_beta_int64()


@pytest.mark.parametrize("mode", ["DEFAULT", "ELEMENT", "ND"])
def test_slice_and_resize_from_gathered_shape_values(network: Any, mode: str) -> None:
    """Every gather mode keeps shape values; slice sizes and resize shapes use them."""
    x = network.add_input("x", trt.float32, (2, 6, 8))
    dims = network.add_shape(x).get_output(0)
    order = [0, 2, 1]
    if mode == "ND":
        idx = network.add_constant((3, 1), np.array([[i] for i in order], np.int32))
    else:
        idx = network.add_constant((3,), np.array(order, np.int32))
    swapped = network.add_gather_v2(dims, idx.get_output(0), getattr(trt.GatherMode, mode))
    resize = network.add_resize(x)
    resize.set_input(1, swapped.get_output(0))
    assert shape(resize) == (2, 8, 6)
    two = network.add_constant((1,), np.array([2], np.int64)).get_output(0)
    halves = network.add_elementwise(dims, two, trt.ElementWiseOperation.FLOOR_DIV).get_output(0)
    piece = network.add_slice(x, (0, 0, 0), (1, 1, 1), (1, 1, 1))
    piece.set_input(2, halves)
    assert shape(piece) == (1, 3, 4)


def test_scale_channel_axis_set_after_creation(network: Any, logger: ListLogger) -> None:
    """add_scale's channel axis defaults to 1; a channel scale over the last axis is
    created first and pointed at its axis next."""
    x = network.add_input("x", trt.float32, (2, 4, 3))
    scale = np.full(3, 2.0, np.float32)
    layer = network.add_scale(x, trt.ScaleMode.CHANNEL, None, scale, None)
    assert layer is not None
    layer.channel_axis = 2
    assert shape(layer) == (2, 4, 3)
    assert logger.errors == []
