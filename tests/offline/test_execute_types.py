"""Cast, quantize/dequantize (INT8, FP8, per channel, block), fill, shape, one-hot,
identity, rotary embedding and attention kernels, with the dtypes TensorRT computes in."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.exec_support import const, out, run_net

RNG = np.random.default_rng(5)


def test_cast_float_to_int_truncates_and_to_bool(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (4,))
    out(net, net.add_cast(x, trt.int32), "i")
    out(net, net.add_cast(x, trt.bool), "b")
    out(net, net.add_cast(x, trt.float16), "h")
    res = run_net(builder, net, {"x": np.array([1.7, -1.7, 0.0, 2.5], np.float32)})
    assert res["i"].tolist() == [1, -1, 0, 2]
    assert res["b"].tolist() == [True, True, False, True]
    assert res["h"].dtype == np.float16


def test_int8_quantize_rounds_half_to_even_and_saturates(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (6,))
    q = net.add_quantize(x, const(net, np.array(0.5, np.float32)), trt.int8)
    out(net, q, "q")
    dq = net.add_dequantize(q.get_output(0), const(net, np.array(0.5, np.float32)), trt.float32)
    out(net, dq, "dq")
    xv = np.array([0.25, 0.75, -0.25, 100.0, -100.0, 1.1], np.float32)
    res = run_net(builder, net, {"x": xv})
    assert res["q"].dtype == np.int8
    assert res["q"].tolist() == [0, 2, 0, 127, -128, 2]  # 0.5 -> 0, 1.5 -> 2 (ties to even)
    np.testing.assert_array_equal(res["dq"], res["q"].astype(np.float32) * 0.5)


def test_per_channel_quantize(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 3))
    scale = np.array([0.1, 0.2, 0.4], np.float32)
    q = net.add_quantize(x, const(net, scale), trt.int8)
    q.axis = 1
    out(net, q)
    xv = RNG.uniform(-10, 10, (2, 3)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    np.testing.assert_array_equal(y, np.clip(np.rint(xv / scale), -128, 127).astype(np.int8))


def test_block_quantize_int8(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (4, 4))
    scale = np.array([[0.5, 1.0], [2.0, 4.0]], np.float32)
    q = net.add_quantize(x, const(net, scale), trt.int8)
    out(net, q)
    xv = RNG.uniform(-50, 50, (4, 4)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    full = scale.repeat(2, 0).repeat(2, 1)
    np.testing.assert_array_equal(y, np.clip(np.rint(xv / full), -128, 127).astype(np.int8))


def test_fp8_quantize_saturates_to_448(builder: Any, net: Any) -> None:
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    x = net.add_input("x", trt.float32, (4,))
    q = net.add_quantize(x, const(net, np.array(2.0, np.float32)), trt.fp8)
    dq = net.add_dequantize(q.get_output(0), const(net, np.array(2.0, np.float32)), trt.float32)
    out(net, dq)
    xv = np.array([1.0, 3.3, 10000.0, -10000.0], np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ref = (np.clip(xv / 2, -448, 448).astype(ml_dtypes.float8_e4m3fn).astype(np.float32)) * 2
    np.testing.assert_array_equal(y, ref)
    assert y[2] == 896.0


def test_fill_linspace_and_shape(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 5))
    shp = net.add_shape(x)
    out(net, shp, "shape")
    f = net.add_fill((5,), trt.FillOperation.LINSPACE, trt.float32)
    f.alpha = 1.5
    f.beta = 0.5
    out(net, f, "lin")
    res = run_net(builder, net, {"x": np.zeros((2, 5), np.float32)})
    assert res["shape"].tolist() == [2, 5] and res["shape"].dtype == np.int64
    np.testing.assert_allclose(res["lin"], [1.5, 2.0, 2.5, 3.0, 3.5])


def test_random_fill_is_reproducible_within_bounds(builder: Any, net: Any) -> None:
    f = net.add_fill((100,), trt.FillOperation.RANDOM_UNIFORM, trt.float32)
    f.alpha = -2.0
    f.beta = 3.0
    out(net, f)
    a = run_net(builder, net, {})["y"]
    b = run_net(builder, net, {})["y"]
    assert a.tobytes() == b.tobytes()
    assert a.min() >= -2.0 and a.max() < 3.0 and a.std() > 0.5


def test_one_hot(builder: Any, net: Any) -> None:
    idx = net.add_input("idx", trt.int32, (3,))
    vals = const(net, np.array([0.0, 5.0], np.float32))
    depth = const(net, np.array(4, np.int32))
    out(net, net.add_one_hot(idx, vals, depth, -1))
    y = run_net(builder, net, {"idx": np.array([1, -1, 7], np.int32)})["y"]
    np.testing.assert_array_equal(y, [[0, 5, 0, 0], [0, 0, 0, 5], [0, 0, 0, 0]])


def test_identity_converts_to_its_output_type(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (3,))
    ident = net.add_identity(x)
    ident.set_output_type(0, trt.float16)
    out(net, ident)
    y = run_net(builder, net, {"x": np.array([1 / 3, 2.0, 1e-8], np.float32)})["y"]
    assert y.dtype == np.float16
    assert y.tobytes() == np.array([1 / 3, 2.0, 1e-8], np.float32).astype(np.float16).tobytes()


def _rope_ref(
    x: np.ndarray, cos: np.ndarray, sin: np.ndarray, r: int, interleaved: bool
) -> np.ndarray:
    y = x.astype(np.float64).copy()
    for i in range(r // 2):
        a, b = (2 * i, 2 * i + 1) if interleaved else (i, i + r // 2)
        c, s = cos[..., i], sin[..., i]
        y[..., a] = x[..., a] * c - x[..., b] * s
        y[..., b] = x[..., b] * c + x[..., a] * s
    return y


@pytest.mark.parametrize("interleaved", [False, True])
def test_rotary_embedding(builder: Any, net: Any, interleaved: bool) -> None:
    b, h, s, d, r = 2, 3, 5, 8, 6
    x = net.add_input("x", trt.float32, (b, h, s, d))
    theta = RNG.uniform(0, 6.28, (b, s, r // 2))
    cos, sin = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    out(net, net.add_rotary_embedding(x, const(net, cos), const(net, sin), interleaved, r))
    xv = RNG.standard_normal((b, h, s, d)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ref = _rope_ref(xv, cos[:, None], sin[:, None], r, interleaved)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y[..., r:], xv[..., r:])


def test_rotary_embedding_with_position_ids(builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 1, 3, 4))
    theta = RNG.uniform(0, 6.28, (10, 2))
    cos, sin = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    layer = net.add_rotary_embedding(x, const(net, cos), const(net, sin), False, 4)
    layer.set_input(3, const(net, np.array([[7, 0, 3]], np.int32)))
    out(net, layer)
    xv = RNG.standard_normal((1, 1, 3, 4)).astype(np.float32)
    y = run_net(builder, net, {"x": xv})["y"]
    ids = np.array([[7, 0, 3]])
    ref = _rope_ref(xv, cos[ids][:, None], sin[ids][:, None], 4, False)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def _attention_ref(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, keep: np.ndarray | None
) -> np.ndarray:
    rep = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, rep, 1), np.repeat(v, rep, 1)
    out = np.zeros((*q.shape[:3], v.shape[3]))
    for bi, hi, i in np.ndindex(*q.shape[:3]):
        s = np.array([q[bi, hi, i] @ k[bi, hi, j] for j in range(k.shape[2])], np.float64)
        if keep is not None:
            s = np.where(
                keep[..., i, :].reshape(-1)[-k.shape[2] :] if keep.ndim == 2 else keep[bi, hi, i],
                s,
                -np.inf,
            )
        p = np.exp(s - s.max())
        out[bi, hi, i] = (p / p.sum()) @ v[bi, hi]
    return out


@pytest.mark.parametrize("causal", [False, True])
def test_attention_gqa(builder: Any, net: Any, causal: bool) -> None:
    q = net.add_input("q", trt.float32, (1, 4, 3, 8))
    k = net.add_input("k", trt.float32, (1, 2, 5, 8))
    v = net.add_input("v", trt.float32, (1, 2, 5, 6))
    att = net.add_attention(q, k, v, trt.AttentionNormalizationOp.SOFTMAX, causal)
    o = att.get_output(0)
    o.name = "y"
    net.mark_output(o)
    qv, kv, vv = (
        RNG.standard_normal(s).astype(np.float32)
        for s in ((1, 4, 3, 8), (1, 2, 5, 8), (1, 2, 5, 6))
    )
    y = run_net(builder, net, {"q": qv, "k": kv, "v": vv})["y"]
    keep = (np.arange(5)[None, :] <= np.arange(3)[:, None] + 2) if causal else None
    np.testing.assert_allclose(y, _attention_ref(qv, kv, vv, keep), rtol=1e-5, atol=1e-5)


def test_attention_bool_mask(builder: Any, net: Any) -> None:
    q = net.add_input("q", trt.float32, (1, 1, 2, 4))
    k = net.add_input("k", trt.float32, (1, 1, 3, 4))
    v = net.add_input("v", trt.float32, (1, 1, 3, 4))
    att = net.add_attention(q, k, v, trt.AttentionNormalizationOp.SOFTMAX, False)
    mask = np.array([[[[True, False, True], [False, True, True]]]])
    att.mask = const(net, mask)
    o = att.get_output(0)
    o.name = "y"
    net.mark_output(o)
    qv, kv, vv = (
        RNG.standard_normal(s).astype(np.float32)
        for s in ((1, 1, 2, 4), (1, 1, 3, 4), (1, 1, 3, 4))
    )
    y = run_net(builder, net, {"q": qv, "k": kv, "v": vv})["y"]
    np.testing.assert_allclose(y, _attention_ref(qv, kv, vv, mask), rtol=1e-5, atol=1e-6)


def test_bfloat16_storage_rounds_float32_math(builder: Any) -> None:
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    x = net.add_input("x", trt.bfloat16, (4,))
    y = net.add_unary(x, trt.UnaryOperation.EXP)
    out(net, y)
    engine = trt.Runtime(builder.logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, builder.create_builder_config())
    )
    xv = np.array([0.1, 1.0, -2.5, 3.3], ml_dtypes.bfloat16)
    res = trt.run(engine, {"x": xv})["y"]
    assert res.dtype == np.dtype(ml_dtypes.bfloat16)
    expected = np.exp(xv.astype(np.float32)).astype(ml_dtypes.bfloat16)
    assert res.tobytes() == expected.tobytes()


def test_kv_cache_update_writes_at_each_batch_index(builder: Any, net: Any) -> None:
    cache = net.add_input("cache", trt.float32, (2, 1, 6, 2))
    upd = net.add_input("upd", trt.float32, (2, 1, 2, 2))
    idx = net.add_input("idx", trt.int32, (2,))
    out(net, net.add_kv_cache_update(cache, upd, idx, trt.KVCacheMode.LINEAR))
    cv = np.zeros((2, 1, 6, 2), np.float32)
    uv = RNG.standard_normal((2, 1, 2, 2)).astype(np.float32)
    y = run_net(builder, net, {"cache": cv, "upd": uv, "idx": np.array([0, 3], np.int32)})["y"]
    ref = cv.copy()
    ref[0, :, 0:2], ref[1, :, 3:5] = uv[0], uv[1]
    np.testing.assert_array_equal(y, ref)


def _naive_nms(
    boxes: np.ndarray, scores: np.ndarray, k: int, iou_t: float, score_t: float
) -> list[list[int]]:
    """Greedy NMS written out for one batch item and class at a time."""

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        ya, xa, yb, xb = min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])
        yc, xc, yd, xd = min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
        inter = max(0.0, min(yb, yd) - max(ya, yc)) * max(0.0, min(xb, xd) - max(xa, xc))
        union = (yb - ya) * (xb - xa) + (yd - yc) * (xd - xc) - inter
        return inter / union if union > 0 else 0.0

    rows = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[2]):
            order = sorted(
                (i for i in range(scores.shape[1]) if scores[b, i, c] > score_t),
                key=lambda i: (-scores[b, i, c], i),
            )
            kept: list[int] = []
            for i in order:
                if len(kept) < k and all(iou(boxes[b, i], boxes[b, j]) <= iou_t for j in kept):
                    kept.append(i)
            rows += [(b, -float(scores[b, i, c]), c, i) for i in kept]
    return [[b, c, i] for b, _, c, i in sorted(rows)]


def test_nms_matches_greedy_suppression(builder: Any, net: Any) -> None:
    boxes = net.add_input("boxes", trt.float32, (2, 6, 4))
    scores = net.add_input("scores", trt.float32, (2, 6, 3))
    nms = net.add_nms(boxes, scores, const(net, np.array(3, np.int32)), trt.int32)
    nms.set_input(3, const(net, np.array(0.3, np.float32)))
    nms.set_input(4, const(net, np.array(0.2, np.float32)))
    out(net, nms, "sel", 0)
    out(net, nms, "count", 1)
    engine = trt.Runtime(builder.logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, builder.create_builder_config())
    )
    corner = RNG.uniform(0, 10, (2, 6, 2))
    bv = np.concatenate([corner, corner + RNG.uniform(1, 4, (2, 6, 2))], axis=-1).astype(np.float32)
    sv = RNG.uniform(0, 1, (2, 6, 3)).astype(np.float32)
    res = trt.run(engine, {"boxes": bv, "scores": sv})
    expected = _naive_nms(bv.astype(np.float64), sv.astype(np.float64), 3, 0.3, 0.2)
    assert res["sel"].tolist() == expected
    assert int(res["count"]) == len(expected) > 0
    assert res["sel"].dtype == np.int32


def test_packed_int4_weights_dequantize_with_block_scales(builder: Any) -> None:
    """INT4 weight-only quantization: packed INT4 constant (low nibble first) -> block
    dequantize -> matmul, as weight-only quantized LLM layers are written."""
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    x = net.add_input("x", trt.float32, (2, 4))
    q = RNG.integers(-8, 8, (4, 6)).astype(np.int8)
    flat = (q.reshape(-1) & 0xF).astype(np.uint8)
    packed = np.ascontiguousarray(flat[0::2] | (flat[1::2] << 4))
    w = net.add_constant((4, 6), trt.Weights(trt.int4, packed.ctypes.data, q.size)).get_output(0)
    scale = np.array([[0.5, 0.25, 2.0], [1.0, 0.125, 4.0]], np.float32)  # blocks of 2x2
    dq = net.add_dequantize(w, const(net, scale), trt.float32)
    dq.block_shape = (2, 2)
    mm = net.add_matrix_multiply(
        x, trt.MatrixOperation.NONE, dq.get_output(0), trt.MatrixOperation.NONE
    )
    out(net, mm)
    engine = trt.Runtime(builder.logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, builder.create_builder_config())
    )
    assert engine is not None, builder.logger.errors
    xv = RNG.standard_normal((2, 4)).astype(np.float32)
    y = trt.run(engine, {"x": xv})["y"]
    weights = q.astype(np.float32) * scale.repeat(2, 0).repeat(2, 1)
    np.testing.assert_allclose(y, xv @ weights, rtol=1e-6)
    del packed


def test_dynamic_quantize_fp4_blocks_with_fp8_scales(builder: Any) -> None:
    """NVFP4-style: per 16-element block, scale = amax / 6 / global scale rounded to FP8,
    values quantized to FP4 with scale * global scale."""
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    x = net.add_input("x", trt.float32, (2, 32))
    dq = net.add_dynamic_quantize(x, 1, 16, trt.fp4, trt.fp8)
    gscale = np.array(0.05, np.float32)
    dq.set_input(1, const(net, gscale))
    out(net, dq, "q", 0)
    out(net, dq, "s", 1)
    engine = trt.Runtime(builder.logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, builder.create_builder_config())
    )
    assert engine is not None, builder.logger.errors
    xv = RNG.standard_normal((2, 32)).astype(np.float32) * 3
    res = trt.run(engine, {"x": xv})
    blocks = xv.reshape(2, 2, 16)
    scales = (np.abs(blocks).max(axis=2) / 6 / gscale).astype(ml_dtypes.float8_e4m3fn)
    eff = scales.astype(np.float32) * gscale
    q = np.clip(blocks / eff[..., None], -6, 6).astype(ml_dtypes.float4_e2m1fn).reshape(2, 32)
    assert res["s"].tobytes() == scales.tobytes()
    assert res["q"].tobytes() == q.tobytes()
