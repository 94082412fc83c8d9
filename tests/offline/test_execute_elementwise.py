"""Elementwise, unary, activation, scale, select and matrix kernels, run through the
execution context and compared with independent numpy formulations and known values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import trt_netser.offline as trt
from tests.offline.exec_support import const, out, run_net

RNG = np.random.default_rng(1234)
E = trt.ElementWiseOperation

BINARY_REF = {
    E.SUM: np.add,
    E.PROD: np.multiply,
    E.MAX: np.maximum,
    E.MIN: np.minimum,
    E.SUB: np.subtract,
    E.DIV: np.divide,
    E.POW: np.power,
    E.FLOOR_DIV: np.floor_divide,
}


@pytest.mark.parametrize("op", list(BINARY_REF), ids=lambda o: o.name)
def test_float_binary_broadcasts_equal_rank(builder: Any, net: Any, op: Any) -> None:
    a = net.add_input("a", trt.float32, (2, 3, 4))
    b = net.add_input("b", trt.float32, (1, 3, 1))
    out(net, net.add_elementwise(a, b, op))
    av = RNG.uniform(0.5, 2.0, (2, 3, 4)).astype(np.float32)
    bv = RNG.uniform(0.5, 2.0, (1, 3, 1)).astype(np.float32)
    y = run_net(builder, net, {"a": av, "b": bv})["y"]
    np.testing.assert_allclose(y, BINARY_REF[op](av, bv), rtol=1e-6)


def test_integer_div_truncates_and_floor_div_floors(builder: Any, net: Any) -> None:
    a = net.add_input("a", trt.int32, (4,))
    b = net.add_input("b", trt.int32, (4,))
    out(net, net.add_elementwise(a, b, E.DIV), "div")
    out(net, net.add_elementwise(a, b, E.FLOOR_DIV), "fdiv")
    res = run_net(
        builder,
        net,
        {"a": np.array([7, -7, 7, -7], np.int32), "b": np.array([2, 2, -2, -2], np.int32)},
    )
    assert res["div"].tolist() == [3, -3, -3, 3]
    assert res["fdiv"].tolist() == [3, -4, -4, 3]


def test_comparisons_and_logic_give_bool(builder: Any, net: Any) -> None:
    a = net.add_input("a", trt.float32, (3,))
    b = net.add_input("b", trt.float32, (3,))
    g = net.add_elementwise(a, b, E.GREATER)
    eq = net.add_elementwise(a, b, E.EQUAL)
    out(net, net.add_elementwise(g.get_output(0), eq.get_output(0), E.OR), "ge")
    res = run_net(
        builder,
        net,
        {"a": np.array([1, 2, 3], np.float32), "b": np.array([2, 2, 2], np.float32)},
    )
    assert res["ge"].dtype == np.bool_
    assert res["ge"].tolist() == [False, True, True]


def test_float16_math_rounds_to_half_storage(builder: Any, net: Any) -> None:
    a = net.add_input("a", trt.float16, (5,))
    b = net.add_input("b", trt.float16, (5,))
    out(net, net.add_elementwise(a, b, E.PROD))
    av = RNG.standard_normal(5).astype(np.float16)
    bv = RNG.standard_normal(5).astype(np.float16)
    y = run_net(builder, net, {"a": av, "b": bv})["y"]
    assert y.dtype == np.float16
    expected = (av.astype(np.float32) * bv.astype(np.float32)).astype(np.float16)
    assert y.tobytes() == expected.tobytes()


U = trt.UnaryOperation
UNARY_REF = {
    U.EXP: np.exp,
    U.LOG: np.log,
    U.SQRT: np.sqrt,
    U.RECIP: lambda x: 1 / x,
    U.ABS: np.abs,
    U.NEG: np.negative,
    U.SIN: np.sin,
    U.COS: np.cos,
    U.TAN: np.tan,
    U.SINH: np.sinh,
    U.COSH: np.cosh,
    U.ASIN: lambda x: np.arcsin(x / 4),
    U.ACOS: lambda x: np.arccos(x / 4),
    U.ATAN: np.arctan,
    U.ASINH: np.arcsinh,
    U.ACOSH: lambda x: np.arccosh(x + 1),
    U.ATANH: lambda x: np.arctanh(x / 4),
    U.CEIL: np.ceil,
    U.FLOOR: np.floor,
    U.ERF: np.vectorize(math.erf),
    U.SIGN: np.sign,
    U.ROUND: np.rint,
}
# inputs adapted so that the reference above stays in each function's domain
UNARY_INPUT = {
    U.ASIN: lambda x: x / 4,
    U.ACOS: lambda x: x / 4,
    U.ATANH: lambda x: x / 4,
    U.ACOSH: lambda x: x + 1,
}


@pytest.mark.parametrize("op", list(UNARY_REF), ids=lambda o: o.name)
def test_unary(builder: Any, net: Any, op: Any) -> None:
    x = net.add_input("x", trt.float32, (3, 4))
    out(net, net.add_unary(x, op))
    xv = RNG.uniform(0.1, 3.0, (3, 4)).astype(np.float32)
    xv[0, 0] = 2.5  # a tie for ROUND (half to even)
    feed = UNARY_INPUT.get(op, lambda v: v)(xv).astype(np.float32)
    y = run_net(builder, net, {"x": feed})["y"]
    ref = UNARY_REF[op](xv.astype(np.float64))
    np.testing.assert_allclose(y, ref.astype(np.float32), rtol=2e-6, atol=1e-7)
    if op == U.ROUND:
        assert y[0, 0] == 2.0


def test_not_isinf_isnan(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (3,))
    inf = net.add_unary(x, U.ISINF)
    out(net, inf, "inf")
    out(net, net.add_unary(x, U.ISNAN), "nan")
    out(net, net.add_unary(inf.get_output(0), U.NOT), "finite_or_nan")
    res = run_net(builder, net, {"x": np.array([1.0, np.inf, np.nan], np.float32)})
    assert res["inf"].tolist() == [False, True, False]
    assert res["nan"].tolist() == [False, False, True]
    assert res["finite_or_nan"].tolist() == [True, False, True]


A = trt.ActivationType
SQ2PI = math.sqrt(2 / math.pi)
ACT_REF = {
    A.RELU: (0, 0, lambda x, a, b: np.maximum(x, 0)),
    A.SIGMOID: (0, 0, lambda x, a, b: 1 / (1 + np.exp(-x))),
    A.TANH: (0, 0, lambda x, a, b: np.tanh(x)),
    A.LEAKY_RELU: (0.1, 0, lambda x, a, b: np.where(x >= 0, x, a * x)),
    A.ELU: (0.7, 0, lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1))),
    A.SELU: (1.6732, 1.0507, lambda x, a, b: b * np.where(x >= 0, x, a * (np.exp(x) - 1))),
    A.SOFTSIGN: (0, 0, lambda x, a, b: x / (1 + np.abs(x))),
    A.SOFTPLUS: (1.5, 0.5, lambda x, a, b: a * np.log(np.exp(b * x) + 1)),
    A.CLIP: (-0.5, 0.8, lambda x, a, b: np.clip(x, a, b)),
    A.HARD_SIGMOID: (0.2, 0.5, lambda x, a, b: np.clip(a * x + b, 0, 1)),
    A.SCALED_TANH: (1.7, 0.6, lambda x, a, b: a * np.tanh(b * x)),
    A.THRESHOLDED_RELU: (0.3, 0, lambda x, a, b: np.where(x > a, x, 0)),
    A.GELU_ERF: (0, 0, lambda x, a, b: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    A.GELU_TANH: (0, 0, lambda x, a, b: 0.5 * x * (1 + np.tanh(SQ2PI * (x + 0.044715 * x**3)))),
}


@pytest.mark.parametrize("kind", list(ACT_REF), ids=lambda k: k.name)
def test_every_activation_type(builder: Any, net: Any, kind: Any) -> None:
    x = net.add_input("x", trt.float32, (4, 5))
    layer = net.add_activation(x, kind)
    alpha, beta, ref = ACT_REF[kind]
    layer.alpha = alpha
    layer.beta = beta
    out(net, layer)
    xv = RNG.uniform(-3, 3, (4, 5)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    expected = ref(xv.astype(np.float64), np.float32(alpha), np.float32(beta))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_gelu_erf_known_values(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (3,))
    out(net, net.add_activation(x, A.GELU_ERF))
    y = run_net(builder, net, {"x": np.array([0.0, 1.0, -1.0], np.float32)})["y"]
    np.testing.assert_allclose(y, [0.0, 0.8413447, -0.15865526], rtol=1e-6)


def test_parametric_relu_and_select(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 3))
    slopes = const(net, np.array([[0.1, 0.2, 0.3]], np.float32))
    pr = net.add_parametric_relu(x, slopes)
    out(net, pr, "prelu")
    cond = net.add_elementwise(x, const(net, np.zeros((1, 1), np.float32)), E.GREATER)
    out(net, net.add_select(cond.get_output(0), x, pr.get_output(0)), "sel")
    xv = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    res = run_net(builder, net, {"x": xv})
    np.testing.assert_allclose(res["prelu"], [[-0.1, 2, -0.9], [4, -1.0, 6]], rtol=1e-6)
    np.testing.assert_allclose(res["sel"], res["prelu"])


@pytest.mark.parametrize("mode", list(trt.ScaleMode.__members__.values()), ids=lambda m: m.name)
def test_scale_modes(builder: Any, net: Any, mode: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 3, 2, 2))
    n = {trt.ScaleMode.UNIFORM: 1, trt.ScaleMode.CHANNEL: 3, trt.ScaleMode.ELEMENTWISE: 12}[mode]
    shape_of = {trt.ScaleMode.UNIFORM: (), trt.ScaleMode.CHANNEL: (3, 1, 1)}
    shift = RNG.uniform(0, 1, n).astype(np.float32)
    scale = RNG.uniform(0.5, 1.5, n).astype(np.float32)
    power = np.full(n, 2.0, np.float32)
    out(net, net.add_scale(x, mode, trt.Weights(shift), trt.Weights(scale), trt.Weights(power)))
    xv = RNG.uniform(0, 1, (2, 3, 2, 2)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    rs = shape_of.get(mode, (3, 2, 2))
    expected = (xv * scale.reshape(rs) + shift.reshape(rs)) ** 2
    np.testing.assert_allclose(y, expected, rtol=1e-6)


M = trt.MatrixOperation


@pytest.mark.parametrize(
    ("op0", "op1", "sa", "sb", "ref"),
    [
        (M.NONE, M.NONE, (2, 3, 4), (2, 4, 5), lambda a, b: a @ b),
        (M.TRANSPOSE, M.NONE, (2, 4, 3), (1, 4, 5), lambda a, b: np.swapaxes(a, -1, -2) @ b),
        (M.NONE, M.TRANSPOSE, (1, 3, 4), (2, 5, 4), lambda a, b: a @ np.swapaxes(b, -1, -2)),
        (M.VECTOR, M.NONE, (2, 4), (2, 4, 5), lambda a, b: np.einsum("bk,bkn->bn", a, b)),
        (M.NONE, M.VECTOR, (2, 3, 4), (2, 4), lambda a, b: np.einsum("bmk,bk->bm", a, b)),
        (M.VECTOR, M.VECTOR, (3, 4), (3, 4), lambda a, b: np.einsum("bk,bk->b", a, b)),
    ],
)
def test_matrix_multiply(
    builder: Any, net: Any, op0: Any, op1: Any, sa: Any, sb: Any, ref: Any
) -> None:
    a = net.add_input("a", trt.float32, sa)
    b = net.add_input("b", trt.float32, sb)
    out(net, net.add_matrix_multiply(a, op0, b, op1))
    av, bv = RNG.standard_normal(sa).astype(np.float32), RNG.standard_normal(sb).astype(np.float32)
    y = run_net(builder, net, {"a": av, "b": bv})["y"]
    np.testing.assert_allclose(
        y, ref(av.astype(np.float64), bv.astype(np.float64)), rtol=1e-5, atol=1e-5
    )


def test_einsum_implicit_and_explicit(builder: Any, net: Any) -> None:
    a = net.add_input("a", trt.float32, (2, 3))
    b = net.add_input("b", trt.float32, (3, 4))
    out(net, net.add_einsum([a, b], "ij,jk->ik"), "mm")
    out(net, net.add_einsum([a], "ij->ji"), "t")
    av, bv = (
        RNG.standard_normal((2, 3)).astype(np.float32),
        RNG.standard_normal((3, 4)).astype(np.float32),
    )
    res = run_net(builder, net, {"a": av, "b": bv})
    np.testing.assert_allclose(res["mm"], av @ bv, rtol=1e-5)
    np.testing.assert_array_equal(res["t"], av.T)


@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5),
        elements=st.floats(-100, 100, width=32),
    ),
    st.sampled_from([E.SUM, E.SUB, E.PROD, E.MAX, E.MIN]),
)
def test_elementwise_matches_numpy_bit_for_bit(x: np.ndarray, op: Any) -> None:
    builder = trt.Builder(trt.Logger())
    net = builder.create_network(0)
    a = net.add_input("a", trt.float32, x.shape)
    b = const(net, x[::-1].copy())
    out(net, net.add_elementwise(a, b, op))
    y = run_net(builder, net, {"a": x})["y"]
    assert y.tobytes() == BINARY_REF[op](x, x[::-1]).astype(np.float32).tobytes()


def test_float32_erf_is_within_one_ulp_of_math_erf() -> None:
    from trt_netser.offline._execute.elementwise import erf

    x = np.concatenate(
        [
            np.linspace(-6, 6, 120001),
            np.random.default_rng(3).standard_normal(20000) * 2,
            [0.0, -0.0, 1e-30, -1e-8, 0.5, 4.0, np.inf, -np.inf],
        ]
    ).astype(np.float32)
    y = erf(x)
    ref = np.array([math.erf(float(v)) for v in x], np.float64).astype(np.float32)
    ulps = np.abs(y.view(np.int32).astype(np.int64) - ref.view(np.int32).astype(np.int64))
    assert ulps.max() <= 1
    assert np.isnan(erf(np.array([np.nan], np.float32))[0])
    x64 = np.array([0.3, -1.7, 2.5])
    assert erf(x64).tolist() == [math.erf(v) for v in x64]  # the reference mode: exact
