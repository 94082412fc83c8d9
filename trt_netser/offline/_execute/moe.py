"""Mixture of experts (IMoELayer): each token through its selected experts' gated MLPs.

For token ``x`` with selected experts ``e_k`` and scores ``s_k`` (k < K),
``y = sum_k s_k * (act(g_k, u_k) W_down[e_k]^T + b_down[e_k])`` with
``g_k = x W_gate[e_k]^T + b_gate[e_k]`` and ``u_k = x W_up[e_k]^T + b_up[e_k]``: the down
bias is part of each expert, so it is scaled by the expert's score, and a zero-score
expert contributes zero (NaN if its finite-score output would be inf or NaN, as in any
product). Expert weights are laid out out-by-in, as in TensorRT-LLM's fused MoE (whose
``token_selected_experts`` and ``token_final_scales`` are this layer's inputs 1 and 2):
gate and up ``[E, I, H]``, down ``[E, H, I]``, biases ``[E, I]``, ``[E, I]``, ``[E, H]``.
``act`` is TensorRT-LLM's SwiGLU with bias for SILU, ``min(g, limit) * sigmoid(alpha *
min(g, limit)) * (clip(u, -limit, limit) + beta)`` (``silu(g) * u`` at the defaults limit
inf, alpha 1, beta 0), and the identity (``g * u``) for NONE. Quantization settings are
refused. docs/execution.md lists these choices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trt_netser.offline._enums import DataType, MoEActType
from trt_netser.offline._execute._dtypes import is_float
from trt_netser.offline._execute._node import KernelError, Node

Array = np.ndarray

SWIGLU_DEFAULTS: dict[str, float] = {
    "swiglu_param_limit": float("inf"),
    "swiglu_param_alpha": 1.0,
    "swiglu_param_beta": 0.0,
}
"""``add_moe``'s SwiGLU parameters: with them SILU is the plain ``silu(gate) * up``."""

QUANT_DEFAULTS: dict[str, Any] = {
    "quantization_to_type": DataType.FLOAT,
    "quantization_block_shape": (),
    "dyn_q_output_scale_type": DataType.FLOAT,
}
"""``add_moe``'s quantization attributes: any other value asks for quantization."""

WEIGHTS = ("fc_gate_weights", "fc_up_weights", "fc_down_weights")
BIASES = ("fc_gate_biases", "fc_up_biases", "fc_down_biases")


def _sigmoid(x: Array) -> Array:
    with np.errstate(over="ignore"):
        out: Array = 1.0 / (1.0 + np.exp(-x))
    return out


def _swiglu(node: Node) -> Callable[[Array, Array], Array]:
    limit = float(node.attrs["swiglu_param_limit"])
    alpha = float(node.attrs["swiglu_param_alpha"])
    beta = float(node.attrs["swiglu_param_beta"])

    def act(g: Array, u: Array) -> Array:
        g = np.minimum(g, limit)
        u = np.clip(u, -limit, limit)
        out: Array = g * _sigmoid(alpha * g) * (u + beta)
        return out

    return act


def _identity(node: Node) -> Callable[[Array, Array], Array]:
    changed = [k for k, v in SWIGLU_DEFAULTS.items() if float(node.attrs[k]) != v]
    if changed:
        raise KernelError(
            f"SwiGLU parameters ({', '.join(changed)}) set with activation_type NONE: "
            "whether they apply without SILU is not documented"
        )

    def act(g: Array, u: Array) -> Array:
        out: Array = g * u
        return out

    return act


ACTIVATIONS: dict[int, Callable[[Node], Callable[[Array, Array], Array]]] = {
    int(MoEActType.SILU): _swiglu,
    int(MoEActType.NONE): _identity,
}
"""The gated activation ``act(gate, up)`` of each MoEActType."""


def _refuse_quantization(node: Node, xs: list[Array | None]) -> None:
    mode = node.private.get("quantization")
    changed = [k for k, v in QUANT_DEFAULTS.items() if node.attrs.get(k, v) != v]
    if mode is not None or changed or (len(xs) > 9 and xs[9] is not None):
        what = f"set_quantization_{mode}" if mode else ", ".join(changed) or "input 9"
        raise KernelError(
            f"MoE quantization ({what}) is not implemented: where TensorRT applies the "
            "down-projection activation scale is not documented, so no reference is computed"
        )


def _tensor(xs: list[Array | None], index: int, what: str, setter: str) -> Array:
    """A floating-point input in its storage type (weights are raised to the compute type
    one expert at a time, so no copy of all experts' weights is made)."""
    x = xs[index] if len(xs) > index else None
    if x is None:
        raise KernelError(f"{what} is not set (call {setter})")
    if not is_float(x):
        raise KernelError(f"{what} must be FLOAT, HALF or BF16, got {x.dtype}")
    return x


def _check(arr: Array, what: str, shape: tuple[int, ...], layout: str) -> None:
    if arr.shape != shape:
        raise KernelError(f"{what} has shape {arr.shape}, expected {shape} ({layout})")


def moe(node: Node, xs: list[Array | None]) -> list[Array]:
    """Inputs: hidden states [..., H], selected experts and their scores [..., K] (as many
    tokens as the hidden states), then the set_gated_weights / set_gated_biases tensors."""
    _refuse_quantization(node, xs)
    act_type = int(node.attrs["activation_type"])
    if act_type not in ACTIVATIONS:
        raise KernelError(f"activation_type {act_type} is not supported")
    act = ACTIVATIONS[act_type](node)
    up = node.num.up
    x = up(_tensor(xs, 0, "hidden_states", "add_moe"))
    sel = xs[1] if len(xs) > 1 else None
    if sel is None or sel.dtype.kind not in "iu":
        raise KernelError("selected_experts_for_tokens must be an INT32 or INT64 tensor")
    scores = up(_tensor(xs, 2, "scores_for_selected_experts", "add_moe"))
    if sel.shape != scores.shape or sel.ndim == 0:
        raise KernelError(
            f"selected experts {sel.shape} and scores {scores.shape} must have one shape [..., K]"
        )
    h = x.shape[-1] if x.ndim else 0
    tokens = x.size // h if h else 0
    k = sel.shape[-1]
    if sel.size != tokens * k:
        raise KernelError(
            f"{sel.size // max(k, 1)} tokens of selected experts for {tokens} tokens of hidden "
            f"states {x.shape}"
        )
    wg, wu, wd = (_tensor(xs, 3 + i, w, "set_gated_weights") for i, w in enumerate(WEIGHTS))
    if wg.ndim != 3 or wg.shape[2] != h:
        raise KernelError(
            f"fc_gate_weights has shape {wg.shape}: expected [experts, intermediate, {h}] "
            f"(out-by-in, ending in the hidden size {h})"
        )
    e, i = wg.shape[0], wg.shape[1]
    _check(wg, "fc_gate_weights", (e, i, h), "[experts, intermediate, hidden]")
    _check(wu, "fc_up_weights", (e, i, h), "[experts, intermediate, hidden]")
    _check(wd, "fc_down_weights", (e, h, i), "[experts, hidden, intermediate]")
    biases: list[Array] = []
    if any(len(xs) > 6 + j and xs[6 + j] is not None for j in range(3)):
        biases = [_tensor(xs, 6 + j, b, "set_gated_biases") for j, b in enumerate(BIASES)]
        for b, name, n in zip(biases, BIASES, (i, i, h), strict=True):
            _check(b, name, (e, n), "[experts, outputs]")
    flat_x = x.reshape(tokens, h)
    ids = np.asarray(sel).reshape(tokens, k).astype(np.int64)
    bad = ids[(ids < 0) | (ids >= e)]
    if bad.size:
        raise KernelError(f"selected expert {int(bad[0])} is outside [0, {e}) experts")
    sc = scores.reshape(tokens, k)
    contrib = np.zeros((tokens, k, h), node.num.compute)
    for ex in np.unique(ids):
        t_idx, k_idx = np.nonzero(ids == ex)
        xt = flat_x[t_idx]
        g, u = xt @ up(wg[ex]).T, xt @ up(wu[ex]).T
        if biases:
            g, u = g + up(biases[0][ex]), u + up(biases[1][ex])
        y = act(g, u) @ up(wd[ex]).T
        if biases:
            y = y + up(biases[2][ex])
        contrib[t_idx, k_idx] = sc[t_idx, k_idx][:, None] * y
    return [node.out(contrib.sum(axis=1).reshape(x.shape))]
