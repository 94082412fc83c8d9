"""The fused attention (IAttention): ``norm(Q K^T + mask) V`` per batch and head.

Q is [B, Hq, Sq, D], K [B, Hkv, Skv, D], V [B, Hkv, Skv, Dv] with Hq a multiple of Hkv
(grouped-query attention shares each K/V head among Hq/Hkv query heads). TensorRT's
attention applies no 1/sqrt(D) scaling: networks scale Q (or K) themselves. A BOOL mask
keeps the positions where it is true; a float mask is added to the scores; ``causal``
masks key positions after the query's, aligned to the end of the key sequence (so a
decode step with Sq < Skv sees the whole cache). ``norm_op`` is SOFTMAX or NONE; with a
normalization quantize scale the normalized scores are quantized to
``normalization_quantize_to_type`` and dequantized before multiplying V.
"""

from __future__ import annotations

import numpy as np

from trt_netser.offline._enums import AttentionNormalizationOp
from trt_netser.offline._execute._node import KernelError, Node, need
from trt_netser.offline._execute.conversion import quantize_values

Array = np.ndarray


def attention(node: Node, xs: list[Array | None]) -> list[Array]:
    """Inputs: query, key, value, optional mask (3) and normalization quantize scale (4)."""
    num = node.num
    q, k, v = (num.up(need(xs[i], n)) for i, n in enumerate(("query", "key", "value")))
    mask = xs[3] if len(xs) > 3 else None
    qscale = xs[4] if len(xs) > 4 else None
    hq, hk = q.shape[1], k.shape[1]
    if hk == 0 or hq % hk:
        raise KernelError(f"query heads {hq} are not a multiple of key/value heads {hk}")
    if hq != hk:
        k, v = np.repeat(k, hq // hk, axis=1), np.repeat(v, hq // hk, axis=1)
    s = np.matmul(q, np.swapaxes(k, -1, -2))  # [B, H, Sq, Skv]
    sq, skv = s.shape[-2], s.shape[-1]
    keep = None
    if node.attrs.get("causal"):
        keep = np.arange(skv)[None, :] <= np.arange(sq)[:, None] + (skv - sq)
    if mask is not None:
        if mask.dtype == np.bool_:
            keep = mask if keep is None else (keep & mask)
        else:
            s = s + num.up(mask)
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    if int(node.attrs.get("norm_op", AttentionNormalizationOp.SOFTMAX)) == int(
        AttentionNormalizationOp.SOFTMAX
    ):
        m = np.max(s, axis=-1, keepdims=True)
        with np.errstate(all="ignore"):
            e = np.exp(s - np.where(np.isfinite(m), m, 0))
            p = e / np.sum(e, axis=-1, keepdims=True)
        p = np.where(np.isnan(p), 0, p)
    else:
        p = np.where(np.isneginf(s), 0, s)
    if qscale is not None:
        sc = num.up(qscale).reshape(())
        to = node.attrs["normalization_quantize_to_type"]
        p = quantize_values(p, sc, None, to).astype(p.dtype) * sc
    return [node.out(np.matmul(p, v))]


def kv_cache_update(node: Node, xs: list[Array | None]) -> list[Array]:
    """IKVCacheUpdateLayer (LINEAR mode): the cache [B, H, S_max, D] with each batch's
    update [B, H, S, D] written at sequence position ``write_indices[b]`` onwards."""
    cache, upd = need(xs[0], "cache"), need(xs[1], "update")
    idx = np.asarray(need(xs[2], "write_indices")).reshape(-1)
    if idx.size != cache.shape[0]:
        raise KernelError(f"{idx.size} write indices for a batch of {cache.shape[0]}")
    out = np.array(cache, copy=True)
    s = upd.shape[2]
    for b, start in enumerate(idx):
        start = int(start)
        if not 0 <= start <= cache.shape[2] - s:
            raise KernelError(f"write index {start} + {s} overflows the cache of {cache.shape[2]}")
        out[b, :, start : start + s] = upd[b]
    return [node.out(out)]
