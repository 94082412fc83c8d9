"""Convolution, deconvolution, pooling, padding and resize against naive loop references."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.exec_support import out, run_net

RNG = np.random.default_rng(7)
P = trt.PaddingMode


def naive_conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    stride: tuple[int, int],
    pad: tuple[int, int, int, int],
    dil: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """Direct loops over every output element (the definition of cross-correlation)."""
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    top, left, bottom, right = pad
    xp = np.zeros((n, c, h + top + bottom, wd + left + right), np.float64)
    xp[:, :, top : top + h, left : left + wd] = x
    oh = (xp.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, k, oh, ow))
    kg = k // groups
    for ni, ki, i, j in itertools.product(range(n), range(k), range(oh), range(ow)):
        g = ki // kg
        acc = b[ki]
        for ci, r, s in itertools.product(range(cg), range(kh), range(kw)):
            acc += (
                w[ki, ci, r, s]
                * xp[ni, g * cg + ci, i * stride[0] + r * dil[0], j * stride[1] + s * dil[1]]
            )
        y[ni, ki, i, j] = acc
    return y


@pytest.mark.parametrize(
    ("groups", "stride", "pre", "post", "dil"),
    [
        (1, (1, 1), (0, 0), (0, 0), (1, 1)),
        (2, (2, 1), (1, 0), (0, 2), (1, 2)),
        (4, (1, 2), (1, 1), (1, 1), (2, 1)),
    ],
)
def test_convolution_2d(
    builder: Any, net: Any, groups: int, stride: Any, pre: Any, post: Any, dil: Any
) -> None:
    x = net.add_input("x", trt.float32, (2, 4, 7, 6))
    w = RNG.standard_normal((8, 4 // groups, 3, 2)).astype(np.float32)
    b = RNG.standard_normal(8).astype(np.float32)
    conv = net.add_convolution_nd(x, 8, (3, 2), trt.Weights(w), trt.Weights(b))
    conv.num_groups = groups
    conv.stride_nd = stride
    conv.pre_padding = pre
    conv.post_padding = post
    conv.dilation_nd = dil
    out(net, conv)
    xv = RNG.standard_normal((2, 4, 7, 6)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ref = naive_conv2d(xv, w, b, stride, (pre[0], pre[1], post[0], post[1]), dil, groups)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


def test_convolution_same_upper_and_1d(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 2, 5, 5))
    w = RNG.standard_normal((3, 2, 2, 2)).astype(np.float32)
    conv = net.add_convolution_nd(x, 3, (2, 2), trt.Weights(w), trt.Weights())
    conv.padding_mode = P.SAME_UPPER
    conv.stride_nd = (2, 2)
    out(net, conv, "same")
    x1 = net.add_input("x1", trt.float32, (1, 2, 9))
    w1 = RNG.standard_normal((1, 2, 3)).astype(np.float32)
    out(net, net.add_convolution_nd(x1, 1, (3,), trt.Weights(w1), trt.Weights()), "one_d")
    xv = RNG.standard_normal((1, 2, 5, 5)).astype(np.float32)
    x1v = RNG.standard_normal((1, 2, 9)).astype(np.float32)
    res = run_net(builder, net, {"x": xv, "x1": x1v})
    # SAME_UPPER, stride 2 on 5: 3 outputs, total padding 1 at the end
    ref = naive_conv2d(xv, w, np.zeros(3), (2, 2), (0, 0, 1, 1), (1, 1), 1)
    np.testing.assert_allclose(res["same"], ref, rtol=1e-4, atol=1e-5)
    ref1 = np.array(
        [
            [
                sum(w1[0, c, r] * x1v[0, c, i + r] for c in range(2) for r in range(3))
                for i in range(7)
            ]
        ]
    )
    np.testing.assert_allclose(res["one_d"][0], ref1, rtol=1e-4, atol=1e-5)


def naive_deconv2d(
    x: np.ndarray,
    w: np.ndarray,
    stride: tuple[int, int],
    pre: tuple[int, int],
    post: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """Scatter every input element times the kernel (the definition of transposed conv)."""
    n, c, h, wd = x.shape
    _, kg, kh, kw = w.shape
    cg = c // groups
    full = np.zeros((n, kg * groups, (h - 1) * stride[0] + kh, (wd - 1) * stride[1] + kw))
    for ni, ci, i, j in itertools.product(range(n), range(c), range(h), range(wd)):
        g = ci // cg
        full[
            ni,
            g * kg : (g + 1) * kg,
            i * stride[0] : i * stride[0] + kh,
            j * stride[1] : j * stride[1] + kw,
        ] += x[ni, ci, i, j] * w[ci]
    return full[:, :, pre[0] : full.shape[2] - post[0], pre[1] : full.shape[3] - post[1]]


@pytest.mark.parametrize(
    ("groups", "stride", "pre", "post"), [(1, (2, 2), (0, 0), (0, 0)), (2, (2, 3), (1, 0), (0, 1))]
)
def test_deconvolution(
    builder: Any, net: Any, groups: int, stride: Any, pre: Any, post: Any
) -> None:
    x = net.add_input("x", trt.float32, (1, 4, 3, 3))
    w = RNG.standard_normal((4, 6 // groups, 3, 3)).astype(np.float32)
    d = net.add_deconvolution_nd(x, 6, (3, 3), trt.Weights(w), trt.Weights())
    d.num_groups = groups
    d.stride_nd = stride
    d.pre_padding = pre
    d.post_padding = post
    out(net, d)
    xv = RNG.standard_normal((1, 4, 3, 3)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ref = naive_deconv2d(xv, w, stride, pre, post, groups)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


def naive_pool(
    x: np.ndarray, win: int, stride: int, pad: int, kind: str, exclude: bool
) -> np.ndarray:
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - win) // stride + 1, (w + 2 * pad - win) // stride + 1
    y = np.zeros((n, c, oh, ow))
    for i, j in itertools.product(range(oh), range(ow)):
        r0, c0 = i * stride - pad, j * stride - pad
        rs = [r for r in range(r0, r0 + win) if 0 <= r < h]
        cs = [q for q in range(c0, c0 + win) if 0 <= q < w]
        block = x[:, :, rs][:, :, :, cs]
        if kind == "max":
            y[:, :, i, j] = block.max(axis=(2, 3))
        else:
            y[:, :, i, j] = block.sum(axis=(2, 3)) / (len(rs) * len(cs) if exclude else win * win)
    return y


@pytest.mark.parametrize("exclude", [True, False])
def test_pooling_max_average_blend(builder: Any, net: Any, exclude: bool) -> None:
    x = net.add_input("x", trt.float32, (1, 2, 5, 5))
    layers = {}
    for kind, ptype in (
        ("max", trt.PoolingType.MAX),
        ("avg", trt.PoolingType.AVERAGE),
        ("blend", trt.PoolingType.MAX_AVERAGE_BLEND),
    ):
        p = net.add_pooling_nd(x, ptype, (3, 3))
        p.stride_nd = (2, 2)
        p.padding_nd = (1, 1)
        p.average_count_excludes_padding = exclude
        if kind == "blend":
            p.blend_factor = 0.25
        layers[kind] = p
        out(net, p, kind)
    xv = RNG.standard_normal((1, 2, 5, 5)).astype(np.float32)
    res = run_net(builder, net, {"x": xv})
    mx, av = naive_pool(xv, 3, 2, 1, "max", exclude), naive_pool(xv, 3, 2, 1, "avg", exclude)
    np.testing.assert_allclose(res["max"], mx, rtol=1e-6)
    np.testing.assert_allclose(res["avg"], av, rtol=1e-5)
    np.testing.assert_allclose(res["blend"], 0.25 * mx + 0.75 * av, rtol=1e-5)


def test_padding_pads_and_crops(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 1, 3, 4))
    out(net, net.add_padding_nd(x, (1, -1), (0, 2)))
    xv = RNG.standard_normal((1, 1, 3, 4)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ref = np.pad(xv[:, :, :, 1:], ((0, 0), (0, 0), (1, 0), (0, 2)))
    np.testing.assert_array_equal(y, ref)


IM = trt.InterpolationMode
C = trt.ResizeCoordinateTransformation


def test_resize_nearest_asymmetric_floor(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 1, 2, 3))
    r = net.add_resize(x)
    r.scales = [1, 1, 2, 2]
    out(net, r)
    xv = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_array_equal(y, xv.repeat(2, axis=2).repeat(2, axis=3))


def test_resize_linear_align_corners_and_half_pixel(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 1, 1, 3))
    a = net.add_resize(x)
    a.shape = (1, 1, 1, 5)
    a.resize_mode = IM.LINEAR
    a.coordinate_transformation = C.ALIGN_CORNERS
    out(net, a, "ac")
    h = net.add_resize(x)
    h.shape = (1, 1, 1, 6)
    h.resize_mode = IM.LINEAR
    h.coordinate_transformation = C.HALF_PIXEL
    out(net, h, "hp")
    xv = np.array([0, 10, 20], np.float32).reshape(1, 1, 1, 3)
    res = run_net(builder, net, {"x": xv})
    np.testing.assert_allclose(res["ac"].ravel(), [0, 5, 10, 15, 20])
    # half pixel, scale 2: source = (i + 0.5) / 2 - 0.5, clamped to [0, 2]
    np.testing.assert_allclose(res["hp"].ravel(), [0, 2.5, 7.5, 12.5, 17.5, 20])


def test_resize_cubic_reproduces_linear_data(builder: Any, net: Any) -> None:
    """Keys' cubic convolution is exact for linear data away from the borders."""
    x = net.add_input("x", trt.float32, (1, 1, 1, 8))
    r = net.add_resize(x)
    r.shape = (1, 1, 1, 16)
    r.resize_mode = IM.CUBIC
    r.coordinate_transformation = C.ASYMMETRIC
    out(net, r)
    xv = np.arange(8, dtype=np.float32).reshape(1, 1, 1, 8) * 3
    y = run_net(builder, net, {"x": xv})["y"].ravel()
    np.testing.assert_allclose(y[2:12], (np.arange(16) / 2 * 3)[2:12], rtol=1e-5, atol=1e-5)


def naive_grid_sample_bilinear(x: np.ndarray, grid: np.ndarray, align: bool) -> np.ndarray:
    """Bilinear sampling with zero padding, one output pixel at a time (ONNX's definition)."""
    n, c, h, w = x.shape
    _, ho, wo, _ = grid.shape
    y = np.zeros((n, c, ho, wo))

    def at(b: int, iy: int, ix: int) -> np.ndarray:
        return x[b, :, iy, ix] if 0 <= iy < h and 0 <= ix < w else np.zeros(c)

    for b, i, j in itertools.product(range(n), range(ho), range(wo)):
        gx, gy = grid[b, i, j]
        px = (gx + 1) / 2 * (w - 1) if align else ((gx + 1) * w - 1) / 2
        py = (gy + 1) / 2 * (h - 1) if align else ((gy + 1) * h - 1) / 2
        x0, y0 = int(np.floor(px)), int(np.floor(py))
        tx, ty = px - x0, py - y0
        y[b, :, i, j] = (
            at(b, y0, x0) * (1 - tx) * (1 - ty)
            + at(b, y0, x0 + 1) * tx * (1 - ty)
            + at(b, y0 + 1, x0) * (1 - tx) * ty
            + at(b, y0 + 1, x0 + 1) * tx * ty
        )
    return y


@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_bilinear_zero_padding(builder: Any, net: Any, align: bool) -> None:
    x = net.add_input("x", trt.float32, (2, 3, 4, 5))
    g = net.add_input("g", trt.float32, (2, 3, 2, 2))
    gs = net.add_grid_sample(x, g)
    gs.align_corners = align
    out(net, gs)
    xv = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
    gv = RNG.uniform(-1.3, 1.3, (2, 3, 2, 2)).astype(np.float32)
    y = run_net(builder, net, {"x": xv, "g": gv})["y"]
    np.testing.assert_allclose(y, naive_grid_sample_bilinear(xv, gv, align), rtol=1e-5, atol=1e-6)


def test_grid_sample_identity_grid(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 2, 3, 4))
    ys, xs = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 4), indexing="ij")
    grid = np.stack([xs, ys], axis=-1)[None].astype(np.float32)
    g = net.add_input("g", trt.float32, grid.shape)
    gs = net.add_grid_sample(x, g)
    gs.align_corners = True
    gs.interpolation_mode = trt.InterpolationMode.NEAREST
    out(net, gs)
    xv = RNG.standard_normal((1, 2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(run_net(builder, net, {"x": xv, "g": grid})["y"], xv)
