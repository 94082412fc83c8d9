"""Data movement: shuffle, concatenation, slice (every sample mode), gather (every mode),
scatter, squeeze, unsqueeze and reverse-sequence kernels."""

from __future__ import annotations

import math

import numpy as np

from trt_netser.offline._enums import GatherMode, SampleMode, ScatterMode
from trt_netser.offline._execute._node import KernelError, Node, ints, need, norm_axis

Array = np.ndarray


def shuffle(node: Node, xs: list[Array | None]) -> list[Array]:
    """IShuffleLayer: first transpose, reshape (0 = copy when a placeholder, -1 = infer),
    second transpose. Reshape dimensions come from input 1 when it is set."""
    x = need(xs[0], "input")
    p = node.attrs
    y = np.transpose(x, tuple(p["first_transpose"][: x.ndim]))
    spec: list[int] | None
    if len(xs) > 1 and xs[1] is not None:
        spec = ints(xs[1], "reshape dimensions")
    elif p.get("reshape_dims") is not None:
        spec = [int(d) for d in p["reshape_dims"]]
    else:
        spec = None
    if spec is not None:
        placeholder = bool(p["zero_is_placeholder"])
        dims = []
        for i, d in enumerate(spec):
            if d == 0 and placeholder:
                if i >= y.ndim:
                    raise KernelError("a 0 placeholder has no corresponding input dimension")
                dims.append(y.shape[i])
            else:
                dims.append(d)
        if dims.count(-1) > 1 or any(d < -1 for d in dims):
            raise KernelError(f"invalid reshape dimensions {spec}")
        if -1 not in dims and math.prod(dims) != y.size:
            raise KernelError(f"reshape {tuple(dims)} changes the volume of {y.shape}")
        y = y.reshape(dims)
    y = np.transpose(y, tuple(p["second_transpose"][: y.ndim]))
    return [node.out(y)]


def concatenation(node: Node, xs: list[Array | None]) -> list[Array]:
    """IConcatenationLayer: inputs joined along ``axis``."""
    ins = [need(x, f"input {i}") for i, x in enumerate(xs)]
    axis = norm_axis(int(node.attrs["axis"]), ins[0].ndim)
    return [node.out(np.concatenate(ins, axis=axis))]


def _sample(idx: Array, n: int, mode: int) -> tuple[Array, Array | None]:
    """Input coordinates for output coordinates ``idx`` on an axis of size ``n``, and the
    mask of coordinates that take the fill value (FILL mode)."""
    if mode == int(SampleMode.STRICT_BOUNDS):
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise KernelError(f"slice reads coordinates outside [0, {n}) in STRICT_BOUNDS mode")
        return idx, None
    if n == 0:
        if mode == int(SampleMode.FILL):
            return np.zeros_like(idx), np.ones(idx.shape, bool)
        raise KernelError("slice samples an empty dimension")
    if mode == int(SampleMode.WRAP):
        return idx % n, None
    if mode == int(SampleMode.CLAMP):
        return np.clip(idx, 0, n - 1), None
    if mode == int(SampleMode.FILL):
        out = (idx < 0) | (idx >= n)
        return np.where(out, 0, idx), out
    if mode == int(SampleMode.REFLECT):
        if n == 1:
            return np.zeros_like(idx), None
        period = 2 * (n - 1)
        r = np.abs(idx) % period
        return np.where(r >= n, period - r, r), None
    raise KernelError(f"slice mode {mode} is not supported")


def slice_(node: Node, xs: list[Array | None]) -> list[Array]:
    """ISliceLayer: ``start + i * stride`` along each sliced axis, in every SampleMode.

    Start, size, stride, fill value and axes come from inputs 1, 2, 3, 4 and 5 when set."""
    x = need(xs[0], "input")
    p = node.attrs

    def opt(i: int) -> Array | None:
        return xs[i] if len(xs) > i else None

    start = ints(opt(1), "start") if opt(1) is not None else [int(v) for v in p["start"]]
    size = ints(opt(2), "size") if opt(2) is not None else [int(v) for v in p["shape"]]
    stride = ints(opt(3), "stride") if opt(3) is not None else [int(v) for v in p["stride"]]
    if opt(5) is not None:
        axes = ints(opt(5), "axes")
    elif p.get("axes") is not None:
        axes = [int(a) for a in p["axes"]]
    else:
        axes = list(range(x.ndim))
    if not len(start) == len(size) == len(stride) == len(axes):
        raise KernelError("slice start, size, stride and axes lengths differ")
    mode = int(p["mode"])
    fill_mask = np.zeros((), bool)
    y = x
    for a, st, sz, sd in zip(axes, start, size, stride, strict=True):
        ax = norm_axis(a, x.ndim)
        idx = st + sd * np.arange(sz, dtype=np.int64)
        src, mask = _sample(idx, x.shape[ax], mode)
        if mode == int(SampleMode.STRICT_BOUNDS) and sd != 0:
            # in bounds (checked): a strided view, no copy
            stop = st + sz * sd
            window = slice(st, stop if stop >= 0 else None, sd)
            y = y[(slice(None),) * ax + (window,)][(slice(None),) * ax + (slice(0, sz),)]
        else:
            y = np.take(y, src, axis=ax)
        if mask is not None:
            shape = [1] * x.ndim
            shape[ax] = sz
            fill_mask = fill_mask | mask.reshape(shape)
    if mode == int(SampleMode.FILL) and fill_mask.any():
        fill = opt(4)
        value = np.asarray(fill).reshape(()) if fill is not None else np.zeros((), y.dtype)
        y = np.where(fill_mask, value.astype(y.dtype), y)
    return [node.out(y)]


def _nd_index(idx: Array, data_shape: tuple[int, ...], batch: int) -> tuple[Array, ...]:
    """An advanced-index tuple for ND gather/scatter with ``batch`` elementwise dims."""
    k = idx.shape[-1]
    lead = idx.shape[:-1]
    parts: list[Array] = []
    for d in range(batch):
        shape = [1] * len(lead)
        shape[d] = lead[d]
        parts.append(np.arange(lead[d]).reshape(shape))
    for j in range(k):
        n = data_shape[batch + j]
        v = idx[..., j].astype(np.int64)
        if v.size and (v.min() < -n or v.max() >= n):
            raise KernelError(f"index out of range for a dimension of size {n}")
        parts.append(v)
    return tuple(parts)


def gather(node: Node, xs: list[Array | None]) -> list[Array]:
    """IGatherLayer in DEFAULT (negative indices count from the end), ELEMENT and ND mode;
    ``num_elementwise_dims`` leading dimensions are shared by data and indices."""
    data, idx = need(xs[0], "data"), need(xs[1], "indices")
    mode, nbe = int(node.attrs["mode"]), int(node.attrs["num_elementwise_dims"])
    if mode == int(GatherMode.DEFAULT):
        axis = norm_axis(int(node.attrs["axis"]), data.ndim)
        n = data.shape[axis]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise KernelError(f"gather index out of range for axis {axis} of size {n}")
        if nbe == 0:
            return [node.out(np.take(data, idx.astype(np.int64), axis=axis))]
        if axis < 1:
            raise KernelError("with num_elementwise_dims 1 the gather axis must be >= 1")
        parts = [np.take(data[b], idx[b].astype(np.int64), axis=axis - 1) for b in range(len(data))]
        return [node.out(np.stack(parts) if parts else data[:0])]
    if mode == int(GatherMode.ELEMENT):
        axis = norm_axis(int(node.attrs["axis"]), data.ndim)
        n = data.shape[axis]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise KernelError(f"gather index out of range for axis {axis} of size {n}")
        return [node.out(np.take_along_axis(data, idx.astype(np.int64) % max(n, 1), axis=axis))]
    if mode == int(GatherMode.ND):
        return [node.out(data[_nd_index(idx, data.shape, nbe)])]
    raise KernelError(f"gather mode {mode} is not supported")


def scatter(node: Node, xs: list[Array | None]) -> list[Array]:
    """IScatterLayer: a copy of data with updates written at the indices (ELEMENT or ND)."""
    data, idx, upd = need(xs[0], "data"), need(xs[1], "indices"), need(xs[2], "updates")
    out = np.array(data, copy=True)
    if int(node.attrs["mode"]) == int(ScatterMode.ELEMENT):
        axis = norm_axis(int(node.attrs["axis"]), data.ndim)
        n = data.shape[axis]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise KernelError(f"scatter index out of range for axis {axis} of size {n}")
        np.put_along_axis(out, idx.astype(np.int64) % max(n, 1), upd, axis=axis)
    else:
        out[_nd_index(idx, data.shape, 0)] = upd
    return [node.out(out)]


def squeeze(node: Node, xs: list[Array | None]) -> list[Array]:
    """ISqueezeLayer: remove the size-1 axes given by input 1."""
    x = need(xs[0], "input")
    axes = tuple(norm_axis(a, x.ndim) for a in ints(xs[1], "axes"))
    if any(x.shape[a] != 1 for a in axes):
        raise KernelError(f"cannot squeeze axes {axes} of shape {x.shape}")
    return [node.out(np.squeeze(x, axis=axes))]


def unsqueeze(node: Node, xs: list[Array | None]) -> list[Array]:
    """IUnsqueezeLayer: insert size-1 axes at the positions given by input 1."""
    x = need(xs[0], "input")
    axes = ints(xs[1], "axes")
    rank = x.ndim + len(axes)
    return [node.out(np.expand_dims(x, tuple(norm_axis(a, rank) for a in axes)))]


def reverse_sequence(node: Node, xs: list[Array | None]) -> list[Array]:
    """IReverseSequenceLayer: reverse the first ``sequence_lens[b]`` elements of each batch."""
    x, lens = need(xs[0], "input"), need(xs[1], "sequence_lens")
    ba = norm_axis(int(node.attrs["batch_axis"]), x.ndim)
    sa = norm_axis(int(node.attrs["sequence_axis"]), x.ndim)
    out = np.array(x, copy=True)
    for b, n in enumerate(np.asarray(lens).reshape(-1)):
        n = int(n)
        src: list[slice | int] = [slice(None)] * x.ndim
        src[ba] = b
        src[sa] = slice(0, n)
        dst = list(src)
        dst[sa] = slice(n - 1, None, -1) if n else slice(0, 0)
        out[tuple(src)] = x[tuple(dst)]
    return [node.out(out)]
