"""IMoELayer on the CPU, against a naive per-token, per-expert loop.

Networks are built as client code writes them: ``add_moe``, then the write-only setters
(``set_gated_weights``, ``set_gated_biases``, ``set_swiglu_params``), built with
``build_serialized_network`` and run through the execution context.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.offline.exec_support import build, const, infer, out
from trt_netser.offline._execute._node import ExecutionError


def naive_moe(
    x: np.ndarray,
    sel: np.ndarray,
    scores: np.ndarray,
    wg: np.ndarray,
    wu: np.ndarray,
    wd: np.ndarray,
    biases: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    silu: bool,
    limit: float = math.inf,
    alpha: float = 1.0,
    beta: float = 0.0,
) -> np.ndarray:
    """Scalar loops in float64: token by token, selected expert by expert."""
    hdim = x.shape[-1]
    xs = x.reshape(-1, hdim).astype(np.float64)
    ids = sel.reshape(xs.shape[0], -1)
    sc = scores.reshape(xs.shape[0], -1).astype(np.float64)
    inter = wg.shape[1]
    y = np.zeros_like(xs)
    for t in range(xs.shape[0]):
        for k in range(ids.shape[1]):
            e = int(ids[t, k])
            mid = np.zeros(inter)
            for i in range(inter):
                g = sum(float(xs[t, j]) * float(wg[e, i, j]) for j in range(hdim))
                u = sum(float(xs[t, j]) * float(wu[e, i, j]) for j in range(hdim))
                if biases is not None:
                    g += float(biases[0][e, i])
                    u += float(biases[1][e, i])
                if silu:
                    g = min(g, limit)
                    u = max(-limit, min(u, limit))
                    mid[i] = g / (1.0 + math.exp(-alpha * g)) * (u + beta)
                else:
                    mid[i] = g * u
            for j in range(hdim):
                d = sum(mid[i] * float(wd[e, j, i]) for i in range(inter))
                if biases is not None:
                    d += float(biases[2][e, j])
                y[t, j] += float(sc[t, k]) * d
    return y.reshape(x.shape)


def moe_network(
    builder: Any,
    x_shape: tuple[int, ...],
    k: int,
    weights: tuple[np.ndarray, np.ndarray, np.ndarray],
    act: Any,
    biases: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    swiglu: tuple[float, float, float] | None = None,
    dtype: Any = trt.float32,
) -> tuple[Any, Any]:
    """A strongly typed network: inputs x, sel, scores; the MoE's output y."""
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    x = net.add_input("x", dtype, x_shape)
    sel = net.add_input("sel", trt.int32, (*x_shape[:-1], k))
    scores = net.add_input("scores", dtype, (*x_shape[:-1], k))
    layer = net.add_moe(x, sel, scores)
    layer.name = "experts"
    np_t = np.float16 if dtype == trt.float16 else np.float32
    layer.set_gated_weights(*(const(net, w.astype(np_t)) for w in weights), act)
    if biases is not None:
        layer.set_gated_biases(*(const(net, b.astype(np_t)) for b in biases))
    if swiglu is not None:
        layer.set_swiglu_params(*swiglu)
    out(net, layer)
    return net, layer


def _weights(
    rng: np.random.Generator, e: int, h: int, i: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        rng.standard_normal((e, i, h)).astype(np.float32),
        rng.standard_normal((e, i, h)).astype(np.float32),
        rng.standard_normal((e, h, i)).astype(np.float32),
    )


def _biases(
    rng: np.random.Generator, e: int, h: int, i: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        rng.standard_normal((e, i)).astype(np.float32),
        rng.standard_normal((e, i)).astype(np.float32),
        rng.standard_normal((e, h)).astype(np.float32),
    )


def test_top2_silu_with_biases_matches_the_naive_loop(builder: Any) -> None:
    rng = np.random.default_rng(0)
    e, h, i, k = 4, 6, 5, 2
    w, b = _weights(rng, e, h, i), _biases(rng, e, h, i)
    net, _ = moe_network(builder, (2, 3, h), k, w, trt.MoEActType.SILU, biases=b)
    x = rng.standard_normal((2, 3, h)).astype(np.float32)
    sel = np.array([[[0, 3], [1, 2], [3, 1]], [[2, 0], [0, 1], [3, 2]]], np.int32)
    scores = rng.random((2, 3, k)).astype(np.float32)
    y = infer(build(builder, net), {"x": x, "sel": sel, "scores": scores})["y"]
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, naive_moe(x, sel, scores, *w, b, silu=True), rtol=1e-4, atol=1e-4)


def test_a_zero_score_expert_contributes_nothing(builder: Any) -> None:
    rng = np.random.default_rng(1)
    e, h, i = 3, 4, 3
    w = _weights(rng, e, h, i)
    net, _ = moe_network(builder, (5, h), 2, w, trt.MoEActType.SILU)
    engine = build(builder, net)
    x = rng.standard_normal((5, h)).astype(np.float32)
    sel = rng.integers(0, e, (5, 2)).astype(np.int32)
    scores = rng.random((5, 2)).astype(np.float32)
    scores[:, 1] = 0.0  # the second selected expert of every token has score 0
    y = infer(engine, {"x": x, "sel": sel, "scores": scores})["y"]
    top1 = infer(engine, {"x": x, "sel": np.repeat(sel[:, :1], 2, 1), "scores": scores})["y"]
    np.testing.assert_array_equal(y, top1)  # which expert the zero score points at is moot
    np.testing.assert_allclose(
        y, naive_moe(x, sel, scores, *w, None, silu=True), rtol=1e-4, atol=1e-5
    )
    assert np.abs(y).max() > 0


def test_none_activation_is_the_plain_gated_product(builder: Any) -> None:
    rng = np.random.default_rng(2)
    e, h, i = 2, 3, 4
    w, b = _weights(rng, e, h, i), _biases(rng, e, h, i)
    net, _ = moe_network(builder, (4, h), 1, w, trt.MoEActType.NONE, biases=b)
    x = rng.standard_normal((4, h)).astype(np.float32)
    sel = np.array([[1], [0], [1], [1]], np.int32)
    scores = rng.random((4, 1)).astype(np.float32)
    y = infer(build(builder, net), {"x": x, "sel": sel, "scores": scores})["y"]
    np.testing.assert_allclose(
        y, naive_moe(x, sel, scores, *w, b, silu=False), rtol=1e-4, atol=1e-5
    )


def test_swiglu_limit_alpha_beta_as_gpt_oss_sets_them(builder: Any) -> None:
    rng = np.random.default_rng(3)
    e, h, i = 3, 4, 6
    w = tuple(3 * a for a in _weights(rng, e, h, i))  # large enough for the limit to clip
    params = (1.5, 1.702, 1.0)
    net, _ = moe_network(builder, (6, h), 2, w, trt.MoEActType.SILU, swiglu=params)
    x = rng.standard_normal((6, h)).astype(np.float32)
    sel = np.stack([np.arange(6) % e, (np.arange(6) + 1) % e], 1).astype(np.int32)
    scores = rng.random((6, 2)).astype(np.float32)
    y = infer(build(builder, net), {"x": x, "sel": sel, "scores": scores})["y"]
    want = naive_moe(x, sel, scores, *w, None, True, *params)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    unclipped = naive_moe(x, sel, scores, *w, None, True, math.inf, *params[1:])
    assert not np.allclose(want, unclipped)  # the limit matters for these values


def test_float16_storage_and_the_float64_reference(builder: Any) -> None:
    rng = np.random.default_rng(4)
    e, h, i = 2, 8, 4
    w = tuple(a.astype(np.float16).astype(np.float32) for a in _weights(rng, e, h, i))
    net, _ = moe_network(builder, (3, h), 2, w, trt.MoEActType.SILU, dtype=trt.float16)
    engine = build(builder, net)
    x = rng.standard_normal((3, h)).astype(np.float16)
    sel = np.array([[0, 1], [1, 0], [1, 1]], np.int32)
    scores = rng.random((3, 2)).astype(np.float16)
    feeds = {"x": x, "sel": sel, "scores": scores}
    want = naive_moe(x, sel, scores, *w, None, silu=True)
    y = infer(engine, feeds)["y"]
    assert y.dtype == np.float16
    np.testing.assert_allclose(y, want, rtol=2e-3, atol=2e-3)
    ref = trt.run(engine, feeds, reference=True)["y"]
    assert ref.dtype == np.float64
    np.testing.assert_allclose(ref, want, rtol=1e-12, atol=1e-12)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    e=st.integers(1, 4),
    h=st.integers(1, 5),
    i=st.integers(1, 5),
    k=st.integers(1, 3),
    tokens=st.integers(1, 5),
    silu=st.booleans(),
    with_biases=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_moes_match_the_naive_loop_in_float64(
    builder: Any,
    e: int,
    h: int,
    i: int,
    k: int,
    tokens: int,
    silu: bool,
    with_biases: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    w = _weights(rng, e, h, i)
    b = _biases(rng, e, h, i) if with_biases else None
    act = trt.MoEActType.SILU if silu else trt.MoEActType.NONE
    net, _ = moe_network(builder, (tokens, h), k, w, act, biases=b)
    x = rng.standard_normal((tokens, h)).astype(np.float32)
    sel = rng.integers(0, e, (tokens, k)).astype(np.int32)
    scores = (rng.random((tokens, k)) * (rng.random((tokens, k)) > 0.3)).astype(np.float32)
    got = trt.run(build(builder, net), {"x": x, "sel": sel, "scores": scores}, reference=True)
    want = naive_moe(x, sel, scores, *w, b, silu=silu)
    np.testing.assert_allclose(got["y"], want, rtol=1e-10, atol=1e-10)


def _run_error(builder: Any, net: Any, feeds: dict[str, np.ndarray]) -> str:
    engine = build(builder, net)
    with pytest.raises(ExecutionError) as exc:
        trt.run(engine, feeds)
    return str(exc.value)


def _feeds(tokens: int, h: int, k: int, e: int) -> dict[str, np.ndarray]:
    return {
        "x": np.ones((tokens, h), np.float32),
        "sel": (np.arange(tokens * k).reshape(tokens, k) % e).astype(np.int32),
        "scores": np.ones((tokens, k), np.float32),
    }


def test_quantization_is_refused_naming_the_layer(builder: Any) -> None:
    rng = np.random.default_rng(5)
    w = _weights(rng, 2, 4, 3)
    net, layer = moe_network(builder, (2, 4), 1, w, trt.MoEActType.SILU)
    layer.set_quantization_static(const(net, np.array(0.5, np.float32)), trt.fp8)
    message = _run_error(builder, net, _feeds(2, 4, 1, 2))
    assert "layer 'experts' (MOE)" in message
    assert "set_quantization_static" in message and "not implemented" in message


def test_dynamic_double_quantization_is_refused(builder: Any) -> None:
    rng = np.random.default_rng(6)
    w = _weights(rng, 2, 4, 3)
    net, layer = moe_network(builder, (2, 4), 1, w, trt.MoEActType.SILU)
    layer.set_quantization_dynamic_dbl_q(
        const(net, np.array(0.5, np.float32)), trt.fp4, (1, 16), trt.fp8
    )
    message = _run_error(builder, net, _feeds(2, 4, 1, 2))
    assert "layer 'experts' (MOE)" in message and "set_quantization_dynamic_dbl_q" in message


def test_missing_weights_wrong_layout_and_bad_expert_ids_are_named(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 4))
    sel = net.add_input("sel", trt.int32, (2, 1))
    scores = net.add_input("scores", trt.float32, (2, 1))
    layer = net.add_moe(x, sel, scores)
    layer.name = "experts"
    out(net, layer)
    assert "fc_gate_weights is not set (call set_gated_weights)" in _run_error(
        builder, net, _feeds(2, 4, 1, 2)
    )
    rng = np.random.default_rng(7)
    wg, wu, wd = _weights(rng, 2, 4, 3)
    # [E, H, I] gate weights (in-by-out) are refused with the expected layout
    in_by_out = np.ascontiguousarray(wg.transpose(0, 2, 1))
    net, _ = moe_network(builder, (2, 4), 1, (in_by_out, wu, wd), trt.MoEActType.SILU)
    message = _run_error(builder, net, _feeds(2, 4, 1, 2))
    assert "fc_gate_weights has shape (2, 4, 3): expected [experts, intermediate, 4]" in message
    net, _ = moe_network(builder, (2, 4), 1, (wg, wu, wd), trt.MoEActType.SILU)
    feeds = _feeds(2, 4, 1, 2)
    feeds["sel"][1, 0] = 2
    assert "selected expert 2 is outside [0, 2) experts" in _run_error(builder, net, feeds)


def test_swiglu_params_with_none_activation_are_refused(builder: Any) -> None:
    rng = np.random.default_rng(8)
    net, _ = moe_network(
        builder, (2, 4), 1, _weights(rng, 2, 4, 3), trt.MoEActType.NONE, swiglu=(7.0, 1.702, 1.0)
    )
    message = _run_error(builder, net, _feeds(2, 4, 1, 2))
    assert "layer 'experts' (MOE)" in message and "activation_type NONE" in message


def test_a_quantization_type_set_through_the_property_is_refused(builder: Any) -> None:
    rng = np.random.default_rng(9)
    net, layer = moe_network(builder, (2, 4), 1, _weights(rng, 2, 4, 3), trt.MoEActType.SILU)
    layer.quantization_to_type = trt.fp8
    message = _run_error(builder, net, _feeds(2, 4, 1, 2))
    assert "layer 'experts' (MOE)" in message and "quantization_to_type" in message


def test_dynamic_token_count_within_the_profile(builder: Any) -> None:
    rng = np.random.default_rng(10)
    e, h, i, k = 3, 4, 2, 2
    w = _weights(rng, e, h, i)
    net, _ = moe_network(builder, (-1, h), k, w, trt.MoEActType.SILU)
    config = builder.create_builder_config()
    prof = builder.create_optimization_profile()
    prof.set_shape("x", (1, h), (4, h), (8, h))
    prof.set_shape("sel", (1, k), (4, k), (8, k))
    prof.set_shape("scores", (1, k), (4, k), (8, k))
    config.add_optimization_profile(prof)
    engine = build(builder, net, config)
    for tokens in (1, 7):
        x = rng.standard_normal((tokens, h)).astype(np.float32)
        sel = rng.integers(0, e, (tokens, k)).astype(np.int32)
        scores = rng.random((tokens, k)).astype(np.float32)
        y = infer(engine, {"x": x, "sel": sel, "scores": scores})["y"]
        assert y.shape == (tokens, h)
        want = naive_moe(x, sel, scores, *w, None, silu=True)
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
