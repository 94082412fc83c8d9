"""Elementwise, unary, activation, parametric ReLU, scale and select kernels.

Binary operations broadcast inputs of equal rank (TensorRT does not prepend ones); integer
``DIV`` truncates towards zero and ``FLOOR_DIV`` floors, as TensorRT documents; comparisons
give BOOL. Float math runs in the run's compute type and is rounded to the output type.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from trt_netser.offline._enums import (
    ActivationType,
    ElementWiseOperation,
    ScaleMode,
    UnaryOperation,
)
from trt_netser.offline._execute._dtypes import is_float
from trt_netser.offline._execute._node import KernelError, Node, need, norm_axis

Array = np.ndarray
_E = ElementWiseOperation


def _int_div(a: Array, b: Array) -> Array:
    if np.any(b == 0):
        raise KernelError("integer division by zero")
    q = np.abs(a) // np.abs(b)
    out: Array = np.where((a < 0) != (b < 0), -q, q).astype(np.result_type(a, b))
    return out


def _div(a: Array, b: Array) -> Array:
    return np.divide(a, b) if is_float(a) else _int_div(a, b)


def _floor_div(a: Array, b: Array) -> Array:
    if not is_float(a) and np.any(b == 0):
        raise KernelError("integer division by zero")
    out: Array = np.floor_divide(a, b)
    return out


def _pow(a: Array, b: Array) -> Array:
    if not is_float(a) and np.any(b < 0):
        raise KernelError("integer POW with a negative exponent")
    out: Array = np.power(a, b)
    return out


BINARY: dict[int, Callable[[Array, Array], Array]] = {
    int(_E.SUM): np.add,
    int(_E.PROD): np.multiply,
    int(_E.MAX): np.maximum,
    int(_E.MIN): np.minimum,
    int(_E.SUB): np.subtract,
    int(_E.DIV): _div,
    int(_E.POW): _pow,
    int(_E.FLOOR_DIV): _floor_div,
    int(_E.AND): np.logical_and,
    int(_E.OR): np.logical_or,
    int(_E.XOR): np.logical_xor,
    int(_E.EQUAL): np.equal,
    int(_E.GREATER): np.greater,
    int(_E.LESS): np.less,
}


def elementwise(node: Node, xs: list[Array | None]) -> list[Array]:
    """IElementWiseLayer: ``op(a, b)`` with TensorRT's equal-rank broadcasting."""
    a, b = need(xs[0], "input 0"), need(xs[1], "input 1")
    if a.ndim != b.ndim:
        raise KernelError(f"input ranks differ: {a.ndim} vs {b.ndim}")
    fn = BINARY[int(node.attrs["op"])]
    with np.errstate(all="ignore"):
        y = fn(node.num.up(a), node.num.up(b))
    return [node.out(y)]


_erf_scalar = np.frompyfunc(math.erf, 1, 1)

# float32 erf: a Taylor series below 0.5, cubic Hermite interpolation of math.erf on a
# 1/64 grid up to 4 (interpolation error < 1e-9, under float32's resolution there), 1 above.
_ERF_H = 1.0 / 64
_ERF_GRID = np.arange(0.5, 4.0 + _ERF_H, _ERF_H)
_ERF_VAL = np.array([math.erf(v) for v in _ERF_GRID])
_ERF_DER = 2.0 / math.sqrt(math.pi) * np.exp(-(_ERF_GRID**2))
_ERF_TAYLOR = tuple(
    (-1.0) ** n / (math.factorial(n) * (2 * n + 1)) * 2.0 / math.sqrt(math.pi) for n in range(9)
)


def _erf32(x: Array) -> Array:
    a = np.abs(x.astype(np.float64))
    z = a * a
    taylor = np.full_like(z, _ERF_TAYLOR[-1])
    for c in reversed(_ERF_TAYLOR[:-1]):
        taylor *= z
        taylor += c
    taylor *= a
    m = np.clip(np.where(np.isnan(a), 0.5, a), 0.5, 4.0)
    i = np.minimum(((m - 0.5) * 64).astype(np.int64), len(_ERF_GRID) - 2)
    t = (m - _ERF_GRID[i]) * 64
    u = 1 - t
    hermite = ((1 + 2 * t) * _ERF_VAL[i] + t * _ERF_H * _ERF_DER[i]) * (u * u) + (t * t) * (
        (3 - 2 * t) * _ERF_VAL[i + 1] - u * _ERF_H * _ERF_DER[i + 1]
    )
    out = np.where(a < 0.5, taylor, np.where(a < 4.0, hermite, 1.0))
    out = np.where(np.isnan(a), np.nan, out)
    signed: Array = np.copysign(out, x).astype(x.dtype)
    return signed


def erf(x: Array) -> Array:
    """The error function, elementwise: math.erf (exact) in float64 (the reference mode);
    for float32 math a vectorized form within one float32 ulp of it, 100x faster."""
    if x.dtype == np.float64:
        out: Array = _erf_scalar(x).astype(x.dtype, copy=False)
        return out
    return _erf32(x)


def _round(x: Array) -> Array:
    return np.rint(x) if is_float(x) else x


def _sign(x: Array) -> Array:
    out: Array = np.sign(x)
    return out


_U = UnaryOperation
UNARY: dict[int, Callable[[Array], Array]] = {
    int(_U.EXP): np.exp,
    int(_U.LOG): np.log,
    int(_U.SQRT): np.sqrt,
    int(_U.RECIP): np.reciprocal,
    int(_U.ABS): np.abs,
    int(_U.NEG): np.negative,
    int(_U.SIN): np.sin,
    int(_U.COS): np.cos,
    int(_U.TAN): np.tan,
    int(_U.SINH): np.sinh,
    int(_U.COSH): np.cosh,
    int(_U.ASIN): np.arcsin,
    int(_U.ACOS): np.arccos,
    int(_U.ATAN): np.arctan,
    int(_U.ASINH): np.arcsinh,
    int(_U.ACOSH): np.arccosh,
    int(_U.ATANH): np.arctanh,
    int(_U.CEIL): np.ceil,
    int(_U.FLOOR): np.floor,
    int(_U.ERF): erf,
    int(_U.NOT): np.logical_not,
    int(_U.SIGN): _sign,
    int(_U.ROUND): _round,  # round half to even, as TensorRT documents
    int(_U.ISINF): np.isinf,
    int(_U.ISNAN): np.isnan,
}

_FLOAT_ONLY_UNARY = frozenset(
    int(op)
    for op in (
        _U.EXP,
        _U.LOG,
        _U.SQRT,
        _U.RECIP,
        _U.SIN,
        _U.COS,
        _U.TAN,
        _U.SINH,
        _U.COSH,
        _U.ASIN,
        _U.ACOS,
        _U.ATAN,
        _U.ASINH,
        _U.ACOSH,
        _U.ATANH,
        _U.ERF,
    )
)


def unary(node: Node, xs: list[Array | None]) -> list[Array]:
    """IUnaryLayer: one elementwise function of the input."""
    x = need(xs[0], "input")
    op = int(node.attrs["op"])
    if op in _FLOAT_ONLY_UNARY and not is_float(x):
        raise KernelError(f"{UnaryOperation(op).name} needs a floating-point input")
    with np.errstate(all="ignore"):
        y = UNARY[op](node.num.up(x))
    return [node.out(y)]


def _gelu_tanh(x: Array, a: float, b: float) -> Array:
    c = np.asarray(math.sqrt(2.0 / math.pi), x.dtype)
    out: Array = 0.5 * x * (1.0 + np.tanh(c * (x + np.asarray(0.044715, x.dtype) * x**3)))
    return out


def _softplus(x: Array, a: float, b: float) -> Array:
    out: Array = a * np.logaddexp(np.asarray(0.0, x.dtype), b * x)
    return out


_A = ActivationType
ACTIVATIONS: dict[int, Callable[[Array, float, float], Array]] = {
    int(_A.RELU): lambda x, a, b: np.maximum(x, 0),
    int(_A.SIGMOID): lambda x, a, b: 1.0 / (1.0 + np.exp(-x)),
    int(_A.TANH): lambda x, a, b: np.tanh(x),
    int(_A.LEAKY_RELU): lambda x, a, b: np.where(x >= 0, x, a * x),
    int(_A.ELU): lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1.0)),
    int(_A.SELU): lambda x, a, b: b * np.where(x >= 0, x, a * (np.exp(x) - 1.0)),
    int(_A.SOFTSIGN): lambda x, a, b: x / (1.0 + np.abs(x)),
    int(_A.SOFTPLUS): _softplus,
    int(_A.CLIP): lambda x, a, b: np.minimum(np.maximum(x, a), b),
    int(_A.HARD_SIGMOID): lambda x, a, b: np.clip(a * x + b, 0.0, 1.0),
    int(_A.SCALED_TANH): lambda x, a, b: a * np.tanh(b * x),
    int(_A.THRESHOLDED_RELU): lambda x, a, b: np.where(x > a, x, 0.0),
    int(_A.GELU_ERF): lambda x, a, b: (
        0.5 * x * (1.0 + erf(x / np.asarray(math.sqrt(2.0), x.dtype)))
    ),
    int(_A.GELU_TANH): _gelu_tanh,
}


def activation(node: Node, xs: list[Array | None]) -> list[Array]:
    """IActivationLayer: the activation ``type`` with its ``alpha`` and ``beta``."""
    x = need(xs[0], "input")
    if not is_float(x) and int(node.attrs["type"]) != int(_A.RELU):
        raise KernelError(f"{ActivationType(int(node.attrs['type'])).name} needs a float input")
    xc = node.num.up(x)
    dt = xc.dtype if is_float(xc) else np.dtype(np.float64)
    a, b = dt.type(node.attrs["alpha"]), dt.type(node.attrs["beta"])
    with np.errstate(all="ignore"):
        y = ACTIVATIONS[int(node.attrs["type"])](xc, a, b)
    return [node.out(np.asarray(y, dtype=xc.dtype))]


def parametric_relu(node: Node, xs: list[Array | None]) -> list[Array]:
    """IParametricReLULayer: ``x if x >= 0 else slope * x`` with broadcast slopes."""
    x, s = node.num.up(need(xs[0], "input")), node.num.up(need(xs[1], "slopes"))
    return [node.out(np.where(x >= 0, x, s * x))]


def scale(node: Node, xs: list[Array | None]) -> list[Array]:
    """IScaleLayer: ``(x * scale + shift) ** power`` per tensor, channel or element."""
    x = node.num.up(need(xs[0], "input"))
    p = node.attrs
    axis = norm_axis(int(p["channel_axis"]), x.ndim)
    mode = int(p["mode"])

    def coeff(name: str, default: float) -> Array | float:
        w = p[name]
        if w is None or w.size == 0:
            return default
        w = node.num.up(np.asarray(w))
        if mode == int(ScaleMode.UNIFORM):
            return w.reshape(())
        if mode == int(ScaleMode.CHANNEL):
            return w.reshape((-1,) + (1,) * (x.ndim - axis - 1))
        return w.reshape(x.shape[axis:])

    y = x * coeff("scale", 1.0) + coeff("shift", 0.0)
    power = coeff("power", 1.0)
    if not (isinstance(power, float) and power == 1.0):
        with np.errstate(all="ignore"):
            y = np.power(y, power)
    return [node.out(y)]


def select(node: Node, xs: list[Array | None]) -> list[Array]:
    """ISelectLayer: ``then`` where the condition holds, else ``else`` (broadcast)."""
    c, t, e = need(xs[0], "condition"), need(xs[1], "then"), need(xs[2], "else")
    return [node.out(np.where(c, t, e))]
