"""Type and value-making kernels: constant, cast, identity, quantize, dequantize, dynamic
quantize, fill, shape, one-hot, non-zero and assertion.

Quantization follows TensorRT's documentation: ``q = saturate(round_half_even(x / scale) +
zero_point)`` for INT8/INT4, ``saturate(x / scale)`` rounded to nearest even in the FP8
(E4M3, +-448) and FP4 (E2M1, +-6) formats; ``dequantize(q) = (q - zero_point) * scale``. The
scale is a scalar (per tensor), a 1-D tensor along ``axis`` (per channel) or a tensor of the
input's rank whose dimensions divide the input's (block quantization).
"""

from __future__ import annotations

import numpy as np

from trt_netser.offline._enums import DataType, FillOperation
from trt_netser.offline._execute._dtypes import QUANT_RANGE, is_float, storage
from trt_netser.offline._execute._node import KernelError, Node, ints, need, norm_axis

Array = np.ndarray


def constant(node: Node, xs: list[Array | None]) -> list[Array]:
    """IConstantLayer: the weights in the layer's shape."""
    w = node.attrs["weights"]
    shape = tuple(int(d) for d in node.attrs["shape"])
    return [node.out(np.asarray(w).reshape(shape))]


def cast(node: Node, xs: list[Array | None]) -> list[Array]:
    """ICastLayer: conversion to ``to_type`` (float to integer truncates towards zero,
    anything to BOOL is ``!= 0``)."""
    x = need(xs[0], "input")
    to = node.out_dtypes[0]
    if int(to) == int(DataType.BOOL):
        return [x != 0]
    return [node.out(x)]


def identity(node: Node, xs: list[Array | None]) -> list[Array]:
    """IIdentityLayer: the input, converted to the output's type where that differs."""
    return [node.out(need(xs[0], "input"))]


def _broadcast_scale(s: Array, x: Array, axis: int) -> Array:
    """A scale or zero point shaped to broadcast against ``x``."""
    if s.size == 1:
        return s.reshape(())
    if s.ndim == x.ndim and x.ndim > 1:  # block quantization
        out = s
        for d in range(x.ndim):
            if x.shape[d] % s.shape[d]:
                raise KernelError(f"scale shape {s.shape} does not tile the input {x.shape}")
            out = np.repeat(out, x.shape[d] // s.shape[d], axis=d)
        return out
    if s.ndim != 1:
        raise KernelError(f"scale of shape {s.shape} fits no quantization of {x.shape}")
    ax = norm_axis(axis, x.ndim)
    if s.shape[0] != x.shape[ax]:
        raise KernelError(f"{s.shape[0]} scales for axis {ax} of size {x.shape[ax]}")
    return s.reshape((-1,) + (1,) * (x.ndim - ax - 1))


def quantize_values(x: Array, scale: Array, zero: Array | None, to: DataType) -> Array:
    """``x`` (compute type) quantized to ``to`` with broadcast scale and zero point."""
    if int(to) not in QUANT_RANGE:
        raise KernelError(f"cannot quantize to {to.name}")
    lo, hi = QUANT_RANGE[int(to)]
    with np.errstate(all="ignore"):
        v = x / scale
    if int(to) in (int(DataType.INT8), int(DataType.INT4), int(DataType.UINT8)):
        v = np.rint(v)
        if zero is not None:
            v = v + zero
    out: Array = np.clip(v, lo, hi).astype(storage(to))
    return out


def quantize(node: Node, xs: list[Array | None]) -> list[Array]:
    """IQuantizeLayer: float input, scale (input 1), optional zero point (input 2)."""
    x = node.num.up(need(xs[0], "input"))
    axis = int(node.attrs["axis"])
    s = _broadcast_scale(node.num.up(need(xs[1], "scale")), x, axis)
    z = xs[2] if len(xs) > 2 else None
    zb = None if z is None else _broadcast_scale(z.astype(x.dtype), x, axis)
    return [quantize_values(x, s.astype(x.dtype), zb, node.out_dtypes[0])]


def dequantize(node: Node, xs: list[Array | None]) -> list[Array]:
    """IDequantizeLayer: ``(q - zero_point) * scale`` in the output's float type."""
    q = need(xs[0], "input")
    comp = node.num.compute
    x = q.astype(comp)
    axis = int(node.attrs["axis"])
    s = _broadcast_scale(need(xs[1], "scale").astype(comp), x, axis)
    z = xs[2] if len(xs) > 2 else None
    if z is not None:
        x = x - _broadcast_scale(z.astype(comp), x, axis)
    return [node.out(x * s)]


def dynamic_quantize(node: Node, xs: list[Array | None]) -> list[Array]:
    """IDynamicQuantizeLayer: per-block scales ``amax / max(to_type)`` (cast to the scale
    type) and the data quantized with them; a double-quantization scale (input 1)
    divides the block scales first."""
    x = node.num.up(need(xs[0], "input"))
    p = node.attrs
    to, scale_t = node.out_dtypes[0], node.out_dtypes[1]
    if node.private.get("v2"):
        block = tuple(int(b) for b in p["block_shape"])
    else:
        axis = norm_axis(int(p["axis"]), x.ndim)
        block = tuple(int(p["block_size"]) if d == axis else 1 for d in range(x.ndim))
    grid = tuple(n // b for n, b in zip(x.shape, block, strict=True))
    view = x.reshape(tuple(v for g, b in zip(grid, block, strict=True) for v in (g, b)))
    amax = np.abs(view).max(axis=tuple(range(1, 2 * x.ndim, 2)))
    qmax = QUANT_RANGE[int(to)][1]
    scales = amax / qmax
    dq = xs[1] if len(xs) > 1 else None
    if dq is not None:
        scales = scales / node.num.up(dq).reshape(())
    scales = scales.astype(storage(scale_t)).astype(x.dtype)
    eff = scales * node.num.up(dq).reshape(()) if dq is not None else scales
    safe = np.where(eff == 0, 1, eff)
    q = quantize_values(x, _broadcast_scale(safe, x, 0), None, to)
    return [q, node.out(scales, 1)]


def fill(node: Node, xs: list[Array | None]) -> list[Array]:
    """IFillLayer: LINSPACE ``alpha + sum(beta[d] * i_d)`` (beta per dimension from input 2,
    a scalar beta for 1-D outputs); RANDOM_UNIFORM in [alpha, beta) and RANDOM_NORMAL with
    mean alpha and deviation beta, drawn from a generator seeded with 0 on every run so
    that runs are reproducible."""
    p = node.attrs
    shape = tuple(ints(xs[0], "shape")) if xs and xs[0] is not None else tuple(p["shape"])
    a_in = xs[1] if len(xs) > 1 else None
    b_in = xs[2] if len(xs) > 2 else None
    alpha = np.asarray(a_in).reshape(()) if a_in is not None else np.asarray(p["alpha"])
    beta = np.asarray(b_in).reshape(-1) if b_in is not None else np.asarray(p["beta"])
    op = int(p["operation"])
    to = node.out_dtypes[0]
    if op == int(FillOperation.LINSPACE):
        integer = not is_float(np.zeros((), storage(to)))
        comp = np.int64 if integer else node.num.compute
        if beta.ndim == 0:
            if len(shape) != 1:
                raise KernelError("a scalar LINSPACE delta needs a 1-D output; set input 2")
            beta = beta.reshape(1)
        if beta.shape[0] != len(shape):
            raise KernelError(f"LINSPACE delta has {beta.shape[0]} values for rank {len(shape)}")
        y = np.full(shape, alpha.astype(comp), comp)
        for d, n in enumerate(shape):
            idx = np.arange(n, dtype=comp).reshape((-1,) + (1,) * (len(shape) - d - 1))
            y = y + beta[d].astype(comp) * idx
        return [node.out(y)]
    rng = np.random.default_rng(0)
    a, b = float(alpha), float(np.asarray(beta).reshape(-1)[0])
    if op == int(FillOperation.RANDOM_UNIFORM):
        y = rng.uniform(a, b, size=shape)
    elif op == int(FillOperation.RANDOM_NORMAL):
        y = rng.normal(a, b, size=shape)
    else:
        raise KernelError(f"fill operation {op} is not supported")
    return [node.out(y)]


def shape(node: Node, xs: list[Array | None]) -> list[Array]:
    """IShapeLayer: the input's dimensions as an INT64 vector."""
    return [node.out(np.asarray(need(xs[0], "input").shape, dtype=np.int64))]


def one_hot(node: Node, xs: list[Array | None]) -> list[Array]:
    """IOneHotLayer: ``values[1]`` where the new axis equals the index (negative indices
    count from ``depth``), ``values[0]`` elsewhere and for indices out of range."""
    idx, values = need(xs[0], "indices"), need(xs[1], "values")
    depth = ints(xs[2], "depth")[0]
    axis = norm_axis(int(node.attrs["axis"]), idx.ndim + 1)
    i = np.where(idx < 0, idx + depth, idx).astype(np.int64)
    hot = np.expand_dims(i, axis) == np.arange(depth).reshape((-1,) + (1,) * (idx.ndim - axis))
    off, on = np.asarray(values).reshape(-1)[:2]
    return [node.out(np.where(hot, on, off))]


def non_zero(node: Node, xs: list[Array | None]) -> list[Array]:
    """INonZeroLayer: the indices of the non-zero elements, one row per dimension."""
    x = need(xs[0], "input")
    return [node.out(np.stack(np.nonzero(x)) if x.ndim else np.zeros((0, int(x != 0)), np.int64))]


def assertion(node: Node, xs: list[Array | None]) -> list[Array]:
    """IAssertionLayer: fails the run with the layer's message when any element is false."""
    c = need(xs[0], "condition")
    if not bool(np.all(c)):
        raise KernelError(f"assertion failed: {node.attrs.get('message', '')}")
    return []
