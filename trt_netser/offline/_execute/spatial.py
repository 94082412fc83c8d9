"""Convolution, deconvolution, pooling, padding and resize kernels (1 to 3 spatial dims).

Convolutions are windowed views (no im2col copy beyond what the contraction needs)
contracted with the kernel per group. Padding modes follow TensorRT: EXPLICIT_ROUND_DOWN /
EXPLICIT_ROUND_UP use the explicit pre/post padding (round-up extends the post padding so
the last window fits), SAME_UPPER / SAME_LOWER pad to ``ceil(n / stride)`` outputs with
the odd element at the end / the beginning.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from trt_netser.offline._enums import (
    InterpolationMode,
    PaddingMode,
    PoolingType,
    ResizeCoordinateTransformation,
    ResizeRoundMode,
    ResizeSelector,
    SampleMode,
)
from trt_netser.offline._execute._node import KernelError, Node, ints, need

Array = np.ndarray


def _pads(
    n: tuple[int, ...],
    k: tuple[int, ...],
    stride: tuple[int, ...],
    pre: tuple[int, ...],
    post: tuple[int, ...],
    mode: int,
) -> list[tuple[int, int, int]]:
    """(pre, post, outputs) per spatial dim for a forward window of effective size k."""
    res = []
    for ni, ki, si, a, b in zip(n, k, stride, pre, post, strict=True):
        if mode in (int(PaddingMode.SAME_UPPER), int(PaddingMode.SAME_LOWER)):
            out = -(-ni // si)
            total = max((out - 1) * si + ki - ni, 0)
            small = total // 2
            a, b = (
                (small, total - small)
                if mode == int(PaddingMode.SAME_UPPER)
                else (
                    total - small,
                    small,
                )
            )
        else:
            span = ni + a + b - ki
            if span < 0:
                raise KernelError("the window does not fit into the padded input")
            up = mode == int(PaddingMode.EXPLICIT_ROUND_UP)
            out = (-(-span // si) if up else span // si) + 1
            b = max(b, (out - 1) * si + ki - ni - a)
        res.append((a, b, out))
    return res


def _pad_crop(x: Array, lead: int, pads: list[tuple[int, int]], value: float = 0.0) -> Array:
    """Pad (positive) or crop (negative) the trailing dims of ``x``."""
    sl = [slice(None)] * x.ndim
    width = [(0, 0)] * x.ndim
    for i, (a, b) in enumerate(pads):
        d = lead + i
        sl[d] = slice(max(-a, 0), x.shape[d] - max(-b, 0))
        width[d] = (max(a, 0), max(b, 0))
    x = x[tuple(sl)]
    if any(w != (0, 0) for w in width):
        x = np.pad(x, width, constant_values=value)
    return x


def _windows(
    x: Array,
    nsp: int,
    k: tuple[int, ...],
    dil: tuple[int, ...],
    stride: tuple[int, ...],
    outs: list[int],
) -> Array:
    """View [..., *out, *k] of the windows of the last ``nsp`` dims (no copy)."""
    lead = x.ndim - nsp
    ek = tuple(d * (ki - 1) + 1 for d, ki in zip(dil, k, strict=True))
    v = sliding_window_view(x, ek, axis=tuple(range(lead, x.ndim)))
    sl = [slice(None)] * lead
    sl += [slice(0, (o - 1) * s + 1, s) for o, s in zip(outs, stride, strict=True)]
    sl += [slice(None, None, d) for d in dil]
    return v[tuple(sl)]


def _conv(
    x: Array,
    w: Array,
    groups: int,
    stride: tuple[int, ...],
    dil: tuple[int, ...],
    pads: list[tuple[int, int, int]],
) -> Array:
    """Grouped N-d cross-correlation of x [N, C, *S] with w [K, C/g, *k]."""
    nsp = x.ndim - 2
    k = tuple(w.shape[2:])
    xp = _pad_crop(x, 2, [(a, b) for a, b, _ in pads])
    v = _windows(xp, nsp, k, dil, stride, [o for _, _, o in pads])  # [N, C, *out, *k]
    cg, kg = x.shape[1] // groups, w.shape[0] // groups
    outs = []
    sp_axes = list(range(2 + nsp, 2 + 2 * nsp))
    for g in range(groups):
        vg = v[:, g * cg : (g + 1) * cg]
        wg = w[g * kg : (g + 1) * kg]
        y = np.tensordot(vg, wg, axes=([1, *sp_axes], [1, *range(2, 2 + nsp)]))  # [N,*out,kg]
        outs.append(np.moveaxis(y, -1, 1))
    return outs[0] if groups == 1 else np.concatenate(outs, axis=1)


def _conv_params(
    node: Node, x: Array
) -> tuple[
    int, tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], int
]:
    p = node.attrs
    k = tuple(int(d) for d in p["kernel_size_nd"])
    return (
        int(p["num_groups"]),
        k,
        tuple(int(d) for d in p["stride_nd"]),
        tuple(int(d) for d in p["dilation_nd"]),
        tuple(int(d) for d in p["pre_padding"]),
        tuple(int(d) for d in p["post_padding"]),
        int(p["padding_mode"]),
    )


def _kernel_bias(
    node: Node, xs: list[Array | None], shape: tuple[int, ...]
) -> tuple[Array, Array | None]:
    p = node.attrs
    kt = xs[1] if len(xs) > 1 else None
    w = node.num.up(kt if kt is not None else np.asarray(p["kernel"]))
    if w.size != math.prod(shape):
        raise KernelError(f"kernel has {w.size} weights, expected {math.prod(shape)} for {shape}")
    bt = xs[2] if len(xs) > 2 else None
    b = bt if bt is not None else p.get("bias")
    bias = node.num.up(np.asarray(b)).reshape(-1) if b is not None and np.size(b) else None
    return w.reshape(shape), bias


def convolution(node: Node, xs: list[Array | None]) -> list[Array]:
    """IConvolutionLayer: grouped, strided, dilated, padded N-d convolution plus bias.

    Kernel weights are [K, C/groups, *kernel] (input 1 and 2 replace kernel and bias)."""
    x = node.num.up(need(xs[0], "input"))
    groups, k, stride, dil, pre, post, mode = _conv_params(node, x)
    kmaps = int(node.attrs["num_output_maps"])
    c = x.shape[1]
    if c % groups or kmaps % groups:
        raise KernelError(f"channels {c} and maps {kmaps} are not divisible by {groups} groups")
    w, bias = _kernel_bias(node, xs, (kmaps, c // groups, *k))
    ek = tuple(d * (ki - 1) + 1 for d, ki in zip(dil, k, strict=True))
    pads = _pads(x.shape[2:], ek, stride, pre, post, mode)
    y = _conv(x, w, groups, stride, dil, pads)
    if bias is not None:
        y = y + bias.reshape((-1,) + (1,) * len(k))
    return [node.out(y)]


def deconvolution(node: Node, xs: list[Array | None]) -> list[Array]:
    """IDeconvolutionLayer: the transpose of convolution (kernel [C, K/groups, *kernel]),
    computed as a convolution of the stride-dilated input with the flipped kernel."""
    x = node.num.up(need(xs[0], "input"))
    groups, k, stride, dil, pre, post, mode = _conv_params(node, x)
    kmaps = int(node.attrs["num_output_maps"])
    c, nsp = x.shape[1], len(k)
    if c % groups or kmaps % groups:
        raise KernelError(f"channels {c} and maps {kmaps} are not divisible by {groups} groups")
    w, bias = _kernel_bias(node, xs, (c, kmaps // groups, *k))
    ek = tuple(d * (ki - 1) + 1 for d, ki in zip(dil, k, strict=True))
    if mode in (int(PaddingMode.SAME_UPPER), int(PaddingMode.SAME_LOWER)):
        pp = []
        for e, s in zip(ek, stride, strict=True):
            total = max(e - s, 0)
            small = total // 2
            big = total - small
            pp.append((small, big) if mode == int(PaddingMode.SAME_UPPER) else (big, small))
        pre, post = tuple(a for a, _ in pp), tuple(b for _, b in pp)
    # dilate the input by the stride
    up = np.zeros(
        (*x.shape[:2], *((n - 1) * s + 1 for n, s in zip(x.shape[2:], stride, strict=True))),
        x.dtype,
    )
    up[(slice(None), slice(None), *(slice(None, None, s) for s in stride))] = x
    # [C, K/g, *k] -> per group [K/g, C/g, *k] flipped
    cg, kg = c // groups, kmaps // groups
    wf = w.reshape(groups, cg, kg, *k).swapaxes(1, 2).reshape(kmaps, cg, *k)
    wf = np.flip(wf, axis=tuple(range(2, 2 + nsp)))
    pads = [(e - 1 - a, e - 1 - b) for e, a, b in zip(ek, pre, post, strict=True)]
    xp = _pad_crop(up, 2, pads)
    full = [(0, 0, n - e + 1) for n, e in zip(xp.shape[2:], ek, strict=True)]
    y = _conv(xp, wf, groups, (1,) * nsp, dil, full)
    if bias is not None:
        y = y + bias.reshape((-1,) + (1,) * nsp)
    return [node.out(y)]


def pooling(node: Node, xs: list[Array | None]) -> list[Array]:
    """IPoolingLayer: MAX, AVERAGE (padding counted unless excluded) or their blend
    ``blend * max + (1 - blend) * average`` over the trailing spatial dims."""
    x = node.num.up(need(xs[0], "input"))
    p = node.attrs
    win = tuple(int(d) for d in p["window_size_nd"])
    nsp = len(win)
    stride = tuple(int(d) for d in p["stride_nd"])
    pre = tuple(int(d) for d in p["pre_padding"])
    post = tuple(int(d) for d in p["post_padding"])
    pads = _pads(x.shape[-nsp:], win, stride, pre, post, int(p["padding_mode"]))
    lead = x.ndim - nsp
    outs = [o for _, _, o in pads]
    ptype = int(p["type"])
    sp = tuple(range(x.ndim, x.ndim + nsp))
    results = {}
    if ptype in (int(PoolingType.MAX), int(PoolingType.MAX_AVERAGE_BLEND)):
        xp = _pad_crop(x, lead, [(a, b) for a, b, _ in pads], -np.inf)
        results["max"] = _windows(xp, nsp, win, (1,) * nsp, stride, outs).max(axis=sp)
    if ptype in (int(PoolingType.AVERAGE), int(PoolingType.MAX_AVERAGE_BLEND)):
        xp = _pad_crop(x, lead, [(a, b) for a, b, _ in pads], 0.0)
        total = _windows(xp, nsp, win, (1,) * nsp, stride, outs).sum(axis=sp)
        # count of elements per window: inside the input (excluded padding) or inside the
        # explicit padding (included padding; the round-up extension is never counted)
        count = np.ones((), x.dtype)
        excl = bool(p["average_count_excludes_padding"])
        explicit = int(p["padding_mode"]) in (
            int(PaddingMode.EXPLICIT_ROUND_DOWN),
            int(PaddingMode.EXPLICIT_ROUND_UP),
        )
        for i, (a, b, o) in enumerate(pads):
            n = x.shape[lead + i]
            lo_lim, hi_lim = (0, n) if excl else (-a, n + (post[i] if explicit else b))
            starts = np.arange(o) * stride[i] - a
            lo = np.maximum(starts, lo_lim)
            hi = np.minimum(starts + win[i], hi_lim)
            c = np.maximum(hi - lo, 0).astype(x.dtype)
            count = count * c.reshape((-1,) + (1,) * (nsp - 1 - i))
        with np.errstate(all="ignore"):
            results["avg"] = total / count
    if ptype == int(PoolingType.MAX):
        y = results["max"]
    elif ptype == int(PoolingType.AVERAGE):
        y = results["avg"]
    else:
        blend = x.dtype.type(p["blend_factor"])
        y = blend * results["max"] + (1 - blend) * results["avg"]
    return [node.out(y)]


def padding(node: Node, xs: list[Array | None]) -> list[Array]:
    """IPaddingLayer: zero padding (negative values crop) of the trailing dims."""
    x = need(xs[0], "input")
    pre = [int(v) for v in node.attrs["pre_padding_nd"]]
    post = [int(v) for v in node.attrs["post_padding_nd"]]
    return [node.out(_pad_crop(x, x.ndim - len(pre), list(zip(pre, post, strict=True))))]


# -- resize -------------------------------------------------------------------------------
def _source_coords(n_in: int, n_out: int, scale: float, node: Node) -> Array:
    p = node.attrs
    o = np.arange(n_out, dtype=np.float64)
    ct = int(p["coordinate_transformation"])
    if n_out == 1 and int(p["selector_for_single_pixel"]) == int(ResizeSelector.UPPER):
        return np.zeros(1)
    if ct == int(ResizeCoordinateTransformation.ALIGN_CORNERS):
        return o * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    if ct == int(ResizeCoordinateTransformation.HALF_PIXEL):
        return (o + 0.5) / scale - 0.5
    return o / scale


def _nearest(c: Array, n: int, mode: int) -> Array:
    if mode == int(ResizeRoundMode.FLOOR):
        i = np.floor(c)
    elif mode == int(ResizeRoundMode.CEIL):
        i = np.ceil(c)
    elif mode == int(ResizeRoundMode.HALF_DOWN):
        i = np.ceil(c - 0.5)
    else:
        i = np.floor(c + 0.5)
    index: Array = np.clip(i, 0, n - 1).astype(np.int64)
    return index


def _cubic_weights(t: Array, a: float) -> Array:
    """Keys cubic convolution weights for the taps at offsets -1, 0, 1, 2."""
    d = np.stack([1 + t, t, 1 - t, 2 - t], axis=-1)
    ad = np.abs(d)
    w1 = ((a + 2) * ad - (a + 3)) * ad * ad + 1
    w2 = ((a * ad - 5 * a) * ad + 8 * a) * ad - 4 * a
    return np.where(ad <= 1, w1, np.where(ad < 2, w2, 0.0))


def _resize_axis(x: Array, axis: int, n_out: int, scale: float, node: Node) -> Array:
    n_in = x.shape[axis]
    p = node.attrs
    c = _source_coords(n_in, n_out, scale, node)
    mode = int(p["resize_mode"])
    if mode == int(InterpolationMode.NEAREST):
        return np.take(x, _nearest(c, n_in, int(p["nearest_rounding"])), axis=axis)
    shape = [1] * x.ndim
    shape[axis] = n_out
    if mode == int(InterpolationMode.LINEAR):
        c = np.clip(c, 0, n_in - 1)
        lo = np.floor(c).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        t = (c - lo).astype(x.dtype).reshape(shape)
        lerp: Array = np.take(x, lo, axis=axis) * (1 - t) + np.take(x, hi, axis=axis) * t
        return lerp
    base = np.floor(c).astype(np.int64)
    w = _cubic_weights(c - base, float(p["cubic_coeff"]))  # [n_out, 4]
    taps = base[:, None] + np.arange(-1, 3)[None, :]
    if p["exclude_outside"]:
        w = np.where((taps >= 0) & (taps < n_in), w, 0.0)
        w = w / w.sum(axis=1, keepdims=True)
    taps = np.clip(taps, 0, n_in - 1)
    y: Array = np.zeros((), x.dtype)  # 0 in x's dtype, as the int 0 it replaces gave
    for j in range(4):
        y = y + np.take(x, taps[:, j], axis=axis) * w[:, j].astype(x.dtype).reshape(shape)
    return y


def resize(node: Node, xs: list[Array | None]) -> list[Array]:
    """IResizeLayer: NEAREST / LINEAR / CUBIC resampling, separable per resized axis, to
    the output shape (input 1, ``shape``) or by ``scales``, with TensorRT's coordinate
    transformations, single-pixel selector and nearest rounding modes."""
    x = node.num.up(need(xs[0], "input"))
    p = node.attrs
    st = xs[1] if len(xs) > 1 else None
    scales = [float(s) for s in p.get("scales") or ()]
    if st is not None and np.asarray(st).dtype.kind in "iu":
        out_shape = ints(st, "shape")
        scales = [o / n if n else 1.0 for o, n in zip(out_shape, x.shape, strict=True)]
    elif st is not None:
        scales = [float(v) for v in np.asarray(st).reshape(-1)]
        out_shape = [math.floor(n * s) for n, s in zip(x.shape, scales, strict=True)]
    elif scales:
        out_shape = [math.floor(n * s) for n, s in zip(x.shape, scales, strict=True)]
    else:
        out_shape = [int(d) for d in (p.get("shape") or x.shape)]
        scales = [o / n if n else 1.0 for o, n in zip(out_shape, x.shape, strict=True)]
    if len(out_shape) != x.ndim:
        raise KernelError(f"resize output rank {len(out_shape)} differs from the input's")
    y = x
    for axis, (n_out, s) in enumerate(zip(out_shape, scales, strict=True)):
        if n_out != x.shape[axis] or s != 1.0:  # an unchanged axis is the identity
            y = _resize_axis(y, axis, n_out, s, node)
    return [node.out(y)]


# -- grid sample ----------------------------------------------------------------------------
def _reflect(c: Array, lo: float, hi: float) -> Array:
    """Reflect continuous coordinates into [lo, hi] (as ONNX GridSample does)."""
    span = hi - lo
    if span <= 0:
        return np.zeros_like(c)
    d = np.abs(c - lo) % (2 * span)
    return lo + np.where(d > span, 2 * span - d, d)


def grid_sample(node: Node, xs: list[Array | None]) -> list[Array]:
    """IGridSampleLayer (ONNX GridSample): input [N, C, H, W] sampled at grid [N, Ho, Wo, 2]
    of normalized (x, y) in [-1, 1]; NEAREST / LINEAR / CUBIC (A = -0.75) interpolation;
    FILL (zeros outside), CLAMP (border values) or REFLECT (coordinates reflected at the
    borders) sample modes; ``align_corners`` maps -1 and 1 to the corner pixels' centres."""
    x = node.num.up(need(xs[0], "input"))
    grid = node.num.up(need(xs[1], "grid"))
    p = node.attrs
    n, _, h, w = x.shape
    if grid.shape[0] not in (1, n):
        raise KernelError(f"grid batch {grid.shape[0]} does not broadcast to {n}")
    grid = np.broadcast_to(grid, (n, *grid.shape[1:]))
    align = bool(p["align_corners"])
    mode = int(p["sample_mode"])

    def pixel(g: Array, size: int) -> Array:
        px = (g + 1) / 2 * (size - 1) if align else ((g + 1) * size - 1) / 2
        if mode == int(SampleMode.REFLECT):
            px = _reflect(px, 0.0, size - 1.0) if align else _reflect(px, -0.5, size - 0.5)
        return px

    px, py = pixel(grid[..., 0], w), pixel(grid[..., 1], h)  # [N, Ho, Wo]
    bidx = np.arange(n)[:, None, None]

    def fetch(iy: Array, ix: Array) -> Array:
        inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
        v = x[bidx, :, np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]  # [N, Ho, Wo, C]
        if mode == int(SampleMode.FILL):
            v = np.where(inside[..., None], v, 0)
        return v

    interp = int(p["interpolation_mode"])
    if interp == int(InterpolationMode.NEAREST):
        y = fetch(np.rint(py).astype(np.int64), np.rint(px).astype(np.int64))
    elif interp == int(InterpolationMode.LINEAR):
        x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
        tx, ty = (px - x0)[..., None], (py - y0)[..., None]
        y = (
            fetch(y0, x0) * (1 - tx) * (1 - ty)
            + fetch(y0, x0 + 1) * tx * (1 - ty)
            + fetch(y0 + 1, x0) * (1 - tx) * ty
            + fetch(y0 + 1, x0 + 1) * tx * ty
        )
    else:
        x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
        wx = _cubic_weights(px - x0, -0.75)
        wy = _cubic_weights(py - y0, -0.75)
        y = np.zeros((), x.dtype)  # 0 in x's dtype, as the int 0 it replaces gave
        for j in range(4):
            for i in range(4):
                tap = fetch(y0 - 1 + j, x0 - 1 + i)
                y = y + tap * (wy[..., j] * wx[..., i])[..., None].astype(x.dtype)
    return [node.out(np.moveaxis(np.asarray(y), -1, 1))]
