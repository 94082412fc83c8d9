"""Reductions and the layers built on them: reduce, softmax, normalization, top-k,
cumulative, ragged softmax and LRN. Float reductions accumulate in the compute type."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trt_netser.offline._enums import ReduceOperation, TopKOperation
from trt_netser.offline._execute._dtypes import is_float
from trt_netser.offline._execute._node import KernelError, Node, axes_of, ints, need, norm_axis

Array = np.ndarray
_R = ReduceOperation

REDUCERS: dict[int, Callable[..., Array]] = {
    int(_R.SUM): np.sum,
    int(_R.PROD): np.prod,
    int(_R.MAX): np.max,
    int(_R.MIN): np.min,
    int(_R.AVG): np.mean,
}


def reduce(node: Node, xs: list[Array | None]) -> list[Array]:
    """IReduceLayer: ``op`` over the axes of the bitmask, keeping them as 1 if asked."""
    x = node.num.up(need(xs[0], "input"))
    axes = axes_of(int(node.attrs["axes"]), x.ndim)
    op = int(node.attrs["op"])
    if op not in REDUCERS:
        raise KernelError(f"reduce operation {ReduceOperation(op).name} is not supported")
    keep = bool(node.attrs["keep_dims"])
    if op == int(_R.AVG) and not is_float(x):
        y = np.sum(x, axis=axes, keepdims=keep) // max(int(np.prod([x.shape[a] for a in axes])), 1)
    else:
        y = REDUCERS[op](x, axis=axes, keepdims=keep)
    return [node.out(np.asarray(y))]


def _softmax(x: Array, axis: int | tuple[int, ...]) -> Array:
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - np.where(np.isfinite(m), m, 0))
    out: Array = e / np.sum(e, axis=axis, keepdims=True)
    return out


def softmax(node: Node, xs: list[Array | None]) -> list[Array]:
    """ISoftMaxLayer: softmax along the one axis of the bitmask."""
    x = node.num.up(need(xs[0], "input"))
    axes = axes_of(int(node.attrs["axes"]), x.ndim)
    if len(axes) != 1:
        raise KernelError(f"softmax axes mask {node.attrs['axes']} must select one axis")
    with np.errstate(all="ignore"):
        return [node.out(_softmax(x, axes[0]))]


def normalization(node: Node, xs: list[Array | None]) -> list[Array]:
    """INormalizationLayer: ``(x - mean) / sqrt(var + eps) * scale + bias`` over the axes.

    With ``num_groups`` G > 1 the channel axis (1) is split into G groups normalized
    separately (group normalization); scale and bias of shape [1, G, 1...] apply per group
    (the deprecated add_normalization), [1, C, 1...] per channel (add_normalization_v2).
    """
    x = node.num.up(need(xs[0], "input"))
    s, b = node.num.up(need(xs[1], "scale")), node.num.up(need(xs[2], "bias"))
    eps = node.num.compute.type(node.attrs["epsilon"])
    axes = axes_of(int(node.attrs["axes"]), x.ndim)
    groups = int(node.attrs["num_groups"])
    if groups > 1:
        if x.ndim < 2 or x.shape[1] % groups:
            raise KernelError(f"channels {x.shape[1:2]} are not divisible by {groups} groups")
        g = x.reshape((x.shape[0], groups, x.shape[1] // groups, *x.shape[2:]))
        gaxes = (2, *(a + 1 for a in axes if a >= 2))
        mean = g.mean(axis=gaxes, keepdims=True)
        var = ((g - mean) ** 2).mean(axis=gaxes, keepdims=True)
        n = (g - mean) / np.sqrt(var + eps)
        if s.ndim >= 2 and s.shape[1] == groups and groups != x.shape[1]:
            shape = (*s.shape[:2], 1, *s.shape[2:])
            y = (n * s.reshape(shape) + b.reshape(shape)).reshape(x.shape)
        else:
            y = n.reshape(x.shape) * s + b
        return [node.out(y)]
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return [node.out((x - mean) / np.sqrt(var + eps) * s + b)]


def topk(node: Node, xs: list[Array | None]) -> list[Array]:
    """ITopKLayer: the k largest (MAX) or smallest (MIN) values along the axis, sorted,
    and their indices; ties keep the lower index first."""
    x = need(xs[0], "input")
    axes = axes_of(int(node.attrs["axes"]), x.ndim)
    if len(axes) != 1:
        raise KernelError("TopK axes must select exactly one dimension")
    axis = axes[0]
    k = ints(xs[1], "k")[0] if len(xs) > 1 and xs[1] is not None else int(node.attrs["k"])
    if not 0 <= k <= x.shape[axis]:
        raise KernelError(f"k={k} exceeds the dimension {x.shape[axis]}")
    xc = node.num.up(x)
    key = xc.astype(np.float64) if not is_float(xc) else xc
    if int(node.attrs["op"]) == int(TopKOperation.MAX):
        key = -key
    order = np.argsort(key, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return [node.out(np.take_along_axis(xc, idx, axis=axis)), node.out(idx, 1)]


def cumulative(node: Node, xs: list[Array | None]) -> list[Array]:
    """ICumulativeLayer: (exclusive, reverse) cumulative sum along the axis of input 1."""
    x = node.num.up(need(xs[0], "input"))
    axis = norm_axis(ints(xs[1], "axis")[0], x.ndim)
    rev = bool(node.attrs["reverse"])
    if rev:
        x = np.flip(x, axis)
    y = np.cumsum(x, axis=axis, dtype=x.dtype)
    if node.attrs["exclusive"]:
        y = y - x
    if rev:
        y = np.flip(y, axis)
    return [node.out(y)]


def ragged_softmax(node: Node, xs: list[Array | None]) -> list[Array]:
    """IRaggedSoftMaxLayer: softmax over the first ``bounds[z]`` elements of each row z;
    the rest of the row is zero."""
    x, bounds = node.num.up(need(xs[0], "input")), need(xs[1], "bounds")
    out = np.zeros_like(x)
    for z, n in enumerate(np.asarray(bounds).reshape(-1)):
        n = int(n)
        if n > 0:
            out[z, :n] = _softmax(x[z, :n], 0)
    return [node.out(out)]


def lrn(node: Node, xs: list[Array | None]) -> list[Array]:
    """ILRNLayer: ``x / (k + alpha / window * sum(x^2 over the window of channels)) ** beta``."""
    x = node.num.up(need(xs[0], "input"))
    w = int(node.attrs["window_size"])
    dt = x.dtype.type
    alpha, beta, k = dt(node.attrs["alpha"]), dt(node.attrs["beta"]), dt(node.attrs["k"])
    sq = x**2
    half = w // 2
    pad = [(0, 0)] * x.ndim
    pad[1] = (half, half)
    c = np.cumsum(np.pad(sq, pad), axis=1)
    c = np.concatenate([np.zeros_like(c[:, :1]), c], axis=1)
    n = x.shape[1]
    window = c[:, w : w + n] - c[:, 0:n]
    return [node.out(x / (k + alpha / dt(w) * window) ** beta)]
