"""Shuffle, concatenation, slice (every mode), gather (every mode), scatter, squeeze,
unsqueeze, and the reductions: reduce, softmax, normalization, top-k, cumulative."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.exec_support import const, out, run_net

RNG = np.random.default_rng(99)


def test_shuffle_transpose_reshape_transpose(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 3, 4))
    s = net.add_shuffle(x)
    s.first_transpose = (2, 0, 1)
    s.reshape_dims = (0, -1)  # 0 copies the dimension (placeholder), -1 is inferred
    s.second_transpose = (1, 0)
    out(net, s)
    xv = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_array_equal(y, xv.transpose(2, 0, 1).reshape(4, 6).T)


def test_shuffle_reshape_from_shape_tensor(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 6))
    s = net.add_shuffle(x)
    s.set_input(1, const(net, np.array([3, 4], np.int64)))
    out(net, s)
    xv = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_array_equal(run_net(builder, net, {"x": xv})["y"], xv.reshape(3, 4))


def test_concatenation_axis(builder: Any, net: Any) -> None:
    a = net.add_input("a", trt.float32, (2, 3))
    b = net.add_input("b", trt.float32, (2, 3))
    c = net.add_concatenation([a, b])
    c.axis = 1
    out(net, c)
    av, bv = (
        RNG.standard_normal((2, 3)).astype(np.float32),
        RNG.standard_normal((2, 3)).astype(np.float32),
    )
    y = run_net(builder, net, {"a": av, "b": bv})["y"]
    np.testing.assert_array_equal(y, np.hstack([av, bv]))


S = trt.SampleMode


def _slice_ref(
    xv: np.ndarray, start: int, size: int, stride: int, mode: Any, fill: float = 0.0
) -> np.ndarray:
    n = len(xv)
    res = []
    for i in range(size):
        c = start + i * stride
        if mode == S.WRAP:
            res.append(xv[c % n])
        elif mode == S.CLAMP:
            res.append(xv[min(max(c, 0), n - 1)])
        elif mode == S.FILL:
            res.append(xv[c] if 0 <= c < n else fill)
        elif mode == S.REFLECT:
            period = 2 * (n - 1)
            r = abs(c) % period
            res.append(xv[period - r if r >= n else r])
        else:
            res.append(xv[c])
    return np.array(res, xv.dtype)


@pytest.mark.parametrize(
    ("mode", "start", "size", "stride"),
    [
        (S.STRICT_BOUNDS, 1, 3, 2),
        (S.STRICT_BOUNDS, 6, 4, -2),
        (S.WRAP, -3, 9, 1),
        (S.CLAMP, -2, 9, 1),
        (S.FILL, -2, 9, 1),
        (S.REFLECT, -5, 14, 1),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_slice_modes(builder: Any, net: Any, mode: Any, start: int, size: int, stride: int) -> None:
    x = net.add_input("x", trt.float32, (7,))
    s = net.add_slice(x, (start,), (size,), (stride,))
    s.mode = mode
    if mode == S.FILL:
        s.set_input(4, const(net, np.array(-9.0, np.float32)))
    out(net, s)
    xv = np.arange(7, dtype=np.float32) * 10
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_array_equal(y, _slice_ref(xv, start, size, stride, mode, -9.0))


def test_slice_with_axes_and_tensor_inputs(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (4, 5, 6))
    s = net.add_slice(x, (0,), (1,), (1,))
    s.set_input(1, const(net, np.array([1, 2], np.int64)))
    s.set_input(2, const(net, np.array([2, 2], np.int64)))
    s.set_input(3, const(net, np.array([2, 1], np.int64)))
    s.set_input(5, const(net, np.array([2, 0], np.int64)))
    out(net, s)
    xv = RNG.standard_normal((4, 5, 6)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_array_equal(y, xv[2:4, :, 1:5:2])


def test_gather_default_with_negative_indices(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (3, 4))
    idx = const(net, np.array([[0, -1], [2, 1]], np.int32))
    out(net, net.add_gather(x, idx, 1))
    xv = RNG.standard_normal((3, 4)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_array_equal(y, xv[:, [[0, 3], [2, 1]]])


def test_gather_default_elementwise_dim(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 5, 3))
    idx = const(net, np.array([[4, 0], [1, 1]], np.int32))
    g = net.add_gather(x, idx, 1)
    g.num_elementwise_dims = 1
    out(net, g)
    xv = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_array_equal(y, np.stack([xv[0][[4, 0]], xv[1][[1, 1]]]))


def test_gather_element_and_nd(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (3, 3))
    ie = const(net, np.array([[1, 2, 0], [0, 0, 2]], np.int32))
    ge = net.add_gather_v2(x, ie, trt.GatherMode.ELEMENT)
    ge.axis = 0
    out(net, ge, "el")
    ind = const(net, np.array([[0, 1], [2, 2]], np.int32))
    out(net, net.add_gather_v2(x, ind, trt.GatherMode.ND), "nd")
    xv = np.arange(9, dtype=np.float32).reshape(3, 3)
    res = run_net(builder, net, {"x": xv})
    np.testing.assert_array_equal(res["el"], [[3, 7, 2], [0, 1, 8]])
    np.testing.assert_array_equal(res["nd"], [1, 8])


def test_scatter_element_and_nd(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (3, 3))
    idx = const(net, np.array([[1, 0, 2]], np.int32))
    upd = const(net, np.array([[10, 20, 30]], np.float32))
    se = net.add_scatter(x, idx, upd, trt.ScatterMode.ELEMENT)
    se.axis = 0
    out(net, se, "el")
    ind = const(net, np.array([[0, 0], [2, 1]], np.int32))
    u2 = const(net, np.array([-1, -2], np.float32))
    out(net, net.add_scatter(x, ind, u2, trt.ScatterMode.ND), "nd")
    xv = np.zeros((3, 3), np.float32)
    res = run_net(builder, net, {"x": xv})
    np.testing.assert_array_equal(res["el"], [[0, 20, 0], [10, 0, 0], [0, 0, 30]])
    np.testing.assert_array_equal(res["nd"], [[-1, 0, 0], [0, 0, 0], [0, -2, 0]])


def test_squeeze_unsqueeze(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 3, 1))
    sq = net.add_squeeze(x, const(net, np.array([0, 2], np.int64)))
    us = net.add_unsqueeze(sq.get_output(0), const(net, np.array([-1], np.int64)))
    out(net, sq, "sq")
    out(net, us, "us")
    xv = RNG.standard_normal((1, 3, 1)).astype(np.float32)
    res = run_net(builder, net, {"x": xv})
    assert res["sq"].shape == (3,) and res["us"].shape == (3, 1)
    np.testing.assert_array_equal(res["us"], xv.reshape(3, 1))


R = trt.ReduceOperation


@pytest.mark.parametrize("op", [R.SUM, R.PROD, R.MAX, R.MIN, R.AVG], ids=lambda o: o.name)
@pytest.mark.parametrize("keep", [True, False])
def test_reduce(builder: Any, net: Any, op: Any, keep: bool) -> None:
    x = net.add_input("x", trt.float32, (2, 3, 4))
    out(net, net.add_reduce(x, op, 0b101, keep))
    xv = RNG.uniform(0.5, 1.5, (2, 3, 4)).astype(np.float32)
    ref = {R.SUM: np.sum, R.PROD: np.prod, R.MAX: np.max, R.MIN: np.min, R.AVG: np.mean}[op]
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_allclose(y, ref(xv.astype(np.float64), axis=(0, 2), keepdims=keep), rtol=1e-6)


def test_softmax_default_axis_and_explicit(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 3, 4, 5))
    out(net, net.add_softmax(x), "default")  # TensorRT's default: axis rank-3 -> 1
    s = net.add_softmax(x)
    s.axes = 1 << 3
    out(net, s, "last")
    xv = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32) * 10
    res = run_net(builder, net, {"x": xv})

    def ref(v: np.ndarray, axis: int) -> np.ndarray:
        e = np.exp(v - v.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    np.testing.assert_allclose(res["default"], ref(xv, 1), rtol=1e-5)
    np.testing.assert_allclose(res["last"], ref(xv, 3), rtol=1e-5)


def test_layer_normalization(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 3, 8))
    g = RNG.uniform(0.5, 1.5, (1, 1, 8)).astype(np.float32)
    b = RNG.uniform(-1, 1, (1, 1, 8)).astype(np.float32)
    ln = net.add_normalization_v2(x, const(net, g), const(net, b), 1 << 2)
    ln.epsilon = 1e-3
    out(net, ln)
    xv = RNG.standard_normal((2, 3, 8)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    mu = xv.mean(-1, keepdims=True)
    var = xv.var(-1, keepdims=True)
    np.testing.assert_allclose(y, (xv - mu) / np.sqrt(var + 1e-3) * g + b, rtol=1e-5, atol=1e-6)


def test_group_normalization(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 4, 3, 3))
    g = RNG.uniform(0.5, 1.5, (1, 4, 1, 1)).astype(np.float32)
    b = RNG.uniform(-1, 1, (1, 4, 1, 1)).astype(np.float32)
    gn = net.add_normalization_v2(x, const(net, g), const(net, b), 0b1100)
    gn.num_groups = 2
    out(net, gn)
    xv = RNG.standard_normal((2, 4, 3, 3)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    grp = xv.reshape(2, 2, 2, 3, 3)
    mu = grp.mean(axis=(2, 3, 4), keepdims=True)
    var = grp.var(axis=(2, 3, 4), keepdims=True)
    ref = ((grp - mu) / np.sqrt(var + 1e-5)).reshape(xv.shape) * g + b
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op", [trt.TopKOperation.MAX, trt.TopKOperation.MIN], ids=lambda o: o.name)
def test_topk_sorted_values_and_indices(builder: Any, net: Any, op: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 6))
    tk = net.add_topk(x, op, 3, 1 << 1)
    out(net, tk, "v", 0)
    out(net, tk, "i", 1)
    xv = np.array([[3, 1, 4, 1, 5, 9], [2, 6, 5, 3, 5, 8]], np.float32)
    res = run_net(builder, net, {"x": xv})
    order = np.argsort(-xv if op == trt.TopKOperation.MAX else xv, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(res["i"], order)
    np.testing.assert_array_equal(res["v"], np.take_along_axis(xv, order, 1))
    assert res["i"].dtype == np.int32


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumulative(builder: Any, net: Any, exclusive: bool, reverse: bool) -> None:
    x = net.add_input("x", trt.float32, (2, 4))
    axis = const(net, np.array(1, np.int32))
    out(net, net.add_cumulative(x, axis, trt.CumulativeOperation.SUM, exclusive, reverse))
    xv = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ref = np.zeros_like(xv)
    for j in range(4):
        rng = range(j, 4) if reverse else range(j + 1)
        rng = [k for k in rng if not (exclusive and k == j)]
        ref[:, j] = xv[:, rng].sum(axis=1) if rng else 0
    np.testing.assert_array_equal(y, ref)


def test_reverse_sequence_per_batch_lengths(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (4, 3, 2))  # [sequence, batch, feature]
    lens = net.add_input("lens", trt.int32, (3,))
    out(net, net.add_reverse_sequence(x, lens))
    xv = RNG.standard_normal((4, 3, 2)).astype(np.float32)
    lv = np.array([4, 1, 2], np.int32)
    y = run_net(builder, net, {"x": xv, "lens": lv})["y"]
    ref = xv.copy()
    for b, n in enumerate(lv):
        ref[:n, b] = xv[:n, b][::-1]
    np.testing.assert_array_equal(y, ref)


def test_ragged_softmax_rows(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (3, 5))
    bounds = net.add_input("bounds", trt.int32, (3, 1))
    out(net, net.add_ragged_softmax(x, bounds))
    xv = RNG.standard_normal((3, 5)).astype(np.float32)
    bv = np.array([[5], [2], [0]], np.int32)
    y = run_net(builder, net, {"x": xv, "bounds": bv})["y"]
    ref = np.zeros_like(xv)
    for z, (n,) in enumerate(bv):
        e = np.exp(xv[z, :n] - xv[z, :n].max()) if n else np.zeros(0)
        ref[z, :n] = e / e.sum() if n else e
    np.testing.assert_allclose(y, ref, rtol=1e-6)


def test_lrn_across_channels(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 5, 2, 2))
    out(net, net.add_lrn(x, 3, 0.5, 0.75, 2.0))
    xv = RNG.standard_normal((1, 5, 2, 2)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ref = np.zeros_like(xv, dtype=np.float64)
    for c in range(5):
        lo, hi = max(0, c - 1), min(5, c + 2)
        sq = (xv[:, lo:hi].astype(np.float64) ** 2).sum(axis=1)
        ref[:, c] = xv[:, c] / (2.0 + 0.5 / 3 * sq) ** 0.75
    np.testing.assert_allclose(y, ref, rtol=1e-5)
