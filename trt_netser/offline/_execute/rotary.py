"""Rotary position embedding (IRotaryEmbeddingLayer).

Input [B, H, S, D]; the first ``rotary_embedding_dim`` (R) channels of each head are
rotated pairwise by the angles whose cosines and sines are the caches, the rest pass
through. Pairs are (i, i + R/2) (GPT-NeoX layout) or, when ``interleaved``, (2i, 2i + 1)
(GPT-J layout). Caches are [B, S, R/2], or [max_position + 1, R/2] tables indexed by the
position ids (input 3, [B, S]) or, without ids, by the positions 0 .. S-1.
"""

from __future__ import annotations

import numpy as np

from trt_netser.offline._execute._node import KernelError, Node, need

Array = np.ndarray


def rotary_embedding(node: Node, xs: list[Array | None]) -> list[Array]:
    """``x1 * cos - x2 * sin`` and ``x2 * cos + x1 * sin`` on each rotated pair."""
    x = node.num.up(need(xs[0], "input"))
    cos, sin = node.num.up(need(xs[1], "cos_cache")), node.num.up(need(xs[2], "sin_cache"))
    pos = xs[3] if len(xs) > 3 else None
    r = int(node.attrs["rotary_embedding_dim"]) or x.shape[-1]
    if r % 2 or r > x.shape[-1]:
        raise KernelError(f"rotary_embedding_dim {r} must be even and at most {x.shape[-1]}")
    half = r // 2
    if pos is not None:
        ids = np.asarray(pos).astype(np.int64)
        cos, sin = cos.reshape(-1, half)[ids], sin.reshape(-1, half)[ids]  # [B, S, R/2]
    elif cos.ndim == 2:  # a [max_positions, R/2] table without ids: positions 0 .. S-1
        s = x.shape[2]
        if cos.shape[0] < s:
            raise KernelError(f"cos/sin tables of {cos.shape[0]} positions for sequence {s}")
        cos, sin = cos[:s], sin[:s]
    if cos.shape[-1] != half or sin.shape[-1] != half:
        raise KernelError(f"cos/sin caches must end in R/2 = {half}, got {cos.shape}")
    if cos.ndim == 3:  # [B, S, R/2] -> [B, 1, S, R/2]
        cos, sin = cos[:, None], sin[:, None]
    rot = x[..., :r]
    if node.attrs["interleaved"]:
        a, b = rot[..., 0::2], rot[..., 1::2]
    else:
        a, b = rot[..., :half], rot[..., half:]
    ya, yb = a * cos - b * sin, b * cos + a * sin
    if node.attrs["interleaved"]:
        out_rot = np.stack([ya, yb], axis=-1).reshape((*ya.shape[:-1], r))
    else:
        out_rot = np.concatenate([ya, yb], axis=-1)
    y = np.concatenate([out_rot, x[..., r:]], axis=-1) if r < x.shape[-1] else out_rot
    return [node.out(y)]
