"""Reusable network builders, written exactly as client code writes them.

Every builder takes the TensorRT module as its first parameter (``trt_netser.offline``
or the real ``tensorrt``) and returns the network (builders that need one also accept a
``builder``). The hashing tests and the benchmarks reuse them:

* :func:`build_decoder_block` - a transformer decoder block in the style of
  TensorRT-LLM's functional layer (RMS norm, fused QKV matmul, split with dynamic
  ``slice``, head reshape through ``shape``/``gather``/``concatenation``/``shuffle`` with
  a reshape-dims input, rotary embedding, ``add_attention`` or a GPT-attention plugin,
  residuals, SwiGLU MLP);
* :func:`build_llm_like` - embedding gather + N decoder blocks + final norm + LM head;
  cheap enough for 1k-100k layers (weights are shared numpy buffers);
* :func:`build_cnn`, :func:`build_loop`, :func:`build_if_conditional`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SHARED: dict[tuple[tuple[int, ...], str, int], np.ndarray] = {}


def _array(
    shape: tuple[int, ...], dtype: str = "float32", seed: int = 0, *, share: bool = False
) -> np.ndarray:
    """Deterministic weights; ``share`` reuses one buffer per (shape, dtype, seed)."""
    key = (shape, dtype, seed)
    if share and key in _SHARED:
        return _SHARED[key]
    rng = np.random.default_rng(seed)
    arr = np.ascontiguousarray(rng.standard_normal(shape).astype(dtype) * 0.02)
    if share:
        _SHARED[key] = arr
    return arr


def new_network(trt: Any, builder: Any = None, *, strongly_typed: bool = False) -> Any:
    """A new network from ``builder`` (a fresh Builder with a WARNING logger by default)."""
    builder = builder or trt.Builder(trt.Logger(trt.Logger.WARNING))
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    return builder.create_network(flags)


def constant(trt: Any, net: Any, array: np.ndarray) -> Any:
    """``add_constant`` of a numpy array; returns the output tensor."""
    return net.add_constant(trt.Dims(list(array.shape)), trt.Weights(array)).get_output(0)


def int_constant(trt: Any, net: Any, values: list[int], *, scalar: bool = False) -> Any:
    """An INT64 constant (1-D, or 0-D with ``scalar``)."""
    arr = np.array(values[0] if scalar else values, dtype=np.int64)
    return net.add_constant(trt.Dims(list(arr.shape)), trt.Weights(arr)).get_output(0)


def linear(
    trt: Any,
    net: Any,
    x: Any,
    in_features: int,
    out_features: int,
    seed: int,
    *,
    share: bool = False,
) -> Any:
    """x[..., in] @ W[in, out] with a constant weight broadcast over the leading dims."""
    w = _array((in_features, out_features), seed=seed, share=share)
    rank = len(x.shape)
    wt = constant(trt, net, w.reshape((1,) * (rank - 2) + w.shape))
    return net.add_matrix_multiply(
        x, trt.MatrixOperation.NONE, wt, trt.MatrixOperation.NONE
    ).get_output(0)


def rms_norm(
    trt: Any, net: Any, x: Any, hidden: int, seed: int, *, eps: float = 1e-6, share: bool = False
) -> Any:
    """RMS norm through reduce/elementwise (as TensorRT-LLM's ``rms_norm`` does)."""
    rank = len(x.shape)
    sq = net.add_elementwise(x, x, trt.ElementWiseOperation.PROD).get_output(0)
    mean = net.add_reduce(sq, trt.ReduceOperation.AVG, 1 << (rank - 1), True).get_output(0)
    eps_t = constant(trt, net, np.full((1,) * rank, eps, np.float32))
    var = net.add_elementwise(mean, eps_t, trt.ElementWiseOperation.SUM).get_output(0)
    rsq = net.add_unary(var, trt.UnaryOperation.SQRT).get_output(0)
    normed = net.add_elementwise(x, rsq, trt.ElementWiseOperation.DIV).get_output(0)
    gamma = constant(
        trt, net, _array((hidden,), seed=seed, share=share).reshape((1,) * (rank - 1) + (hidden,))
    )
    return net.add_elementwise(normed, gamma, trt.ElementWiseOperation.PROD).get_output(0)


def _dims_of(trt: Any, net: Any, x: Any, start: int, count: int) -> Any:
    """``shape(x)[start:start+count]`` as a 1-D INT64 shape tensor (slice of a shape)."""
    shape = net.add_shape(x).get_output(0)
    return net.add_slice(shape, trt.Dims([start]), trt.Dims([count]), trt.Dims([1])).get_output(0)


def _reshape(
    trt: Any,
    net: Any,
    x: Any,
    dims: Any,
    *,
    second: tuple[int, ...] | None = None,
    first: tuple[int, ...] | None = None,
) -> Any:
    """Shuffle with a reshape-dims INPUT (dynamic reshape) and optional transposes."""
    sh = net.add_shuffle(x)
    if first is not None:
        sh.first_transpose = trt.Permutation(list(first))
    sh.set_input(1, dims)
    if second is not None:
        sh.second_transpose = trt.Permutation(list(second))
    return sh.get_output(0)


def build_decoder_block(
    trt: Any,
    *,
    hidden: int = 64,
    heads: int = 4,
    kv_heads: int | None = None,
    ffn: int | None = None,
    max_positions: int = 128,
    attention: str = "attention",
    network: Any = None,
    x: Any = None,
    seed: int = 0,
    share: bool = False,
    mark_output: bool = True,
) -> Any:
    """A decoder block: returns the network (its output is the block's hidden states).

    ``attention`` is ``"attention"`` (``add_attention``, causal) or ``"plugin"`` (a
    GPT-attention V2 plugin registered by :func:`tests.offline.plugins.register_test_plugins`).
    Pass ``network``/``x`` to stack blocks (see :func:`build_llm_like`).
    """
    kv_heads = kv_heads or heads
    ffn = ffn or 4 * hidden
    head_dim = hidden // heads
    net = network if network is not None else new_network(trt)
    if x is None:
        x = net.add_input("hidden_states", trt.float32, trt.Dims([-1, -1, hidden]))
    s = seed * 100
    # attention
    h = rms_norm(trt, net, x, hidden, s + 1, share=share)
    qkv_out = hidden + 2 * kv_heads * head_dim
    qkv = linear(trt, net, h, hidden, qkv_out, s + 2, share=share)
    bs = _dims_of(trt, net, qkv, 0, 2)  # [batch, seq] (runtime values)

    def split(offset: int, width: int) -> Any:
        size = net.add_concatenation([bs, int_constant(trt, net, [width])]).get_output(0)
        sl = net.add_slice(qkv, trt.Dims([0, 0, offset]), trt.Dims([0, 0, 0]), trt.Dims([1, 1, 1]))
        sl.set_input(2, size)
        return sl.get_output(0)

    def heads_view(t: Any, n: int) -> Any:
        dims = net.add_concatenation([bs, int_constant(trt, net, [n, head_dim])]).get_output(0)
        return _reshape(trt, net, t, dims, second=(0, 2, 1, 3))  # [b, n, s, d]

    q = heads_view(split(0, hidden), heads)
    k = heads_view(split(hidden, kv_heads * head_dim), kv_heads)
    v = heads_view(split(hidden + kv_heads * head_dim, kv_heads * head_dim), kv_heads)
    cos = constant(trt, net, _array((max_positions, head_dim // 2), seed=s + 3, share=share))
    sin = constant(trt, net, _array((max_positions, head_dim // 2), seed=s + 4, share=share))
    q = net.add_rotary_embedding(q, cos, sin, False, head_dim).get_output(0)
    k = net.add_rotary_embedding(k, cos, sin, False, head_dim).get_output(0)
    if attention == "attention":
        att = net.add_attention(q, k, v, trt.AttentionNormalizationOp.SOFTMAX, True)
        ctx = att.get_output(0)  # [b, heads, s, d]
    elif attention == "plugin":
        creator = trt.get_plugin_registry().get_plugin_creator("GPTAttentionTest", "1", "")
        fields = trt.PluginFieldCollection(
            [
                trt.PluginField(
                    "num_heads", np.array([heads], np.int32), trt.PluginFieldType.INT32
                ),
                trt.PluginField(
                    "num_kv_heads", np.array([kv_heads], np.int32), trt.PluginFieldType.INT32
                ),
                trt.PluginField(
                    "head_size", np.array([head_dim], np.int32), trt.PluginFieldType.INT32
                ),
            ]
        )
        plugin = creator.create_plugin("gpt_attention", fields)
        ctx = net.add_plugin_v2([q, k, v], plugin).get_output(0)
    else:
        raise ValueError(f"unknown attention kind {attention!r}")
    merged = net.add_concatenation([bs, int_constant(trt, net, [hidden])]).get_output(0)
    ctx = _reshape(trt, net, ctx, merged, first=(0, 2, 1, 3))  # [b, s, hidden]
    attn_out = linear(trt, net, ctx, hidden, hidden, s + 5, share=share)
    x = net.add_elementwise(x, attn_out, trt.ElementWiseOperation.SUM).get_output(0)
    # MLP (SwiGLU)
    h = rms_norm(trt, net, x, hidden, s + 6, share=share)
    gate = linear(trt, net, h, hidden, ffn, s + 7, share=share)
    up = linear(trt, net, h, hidden, ffn, s + 8, share=share)
    sig = net.add_activation(gate, trt.ActivationType.SIGMOID).get_output(0)
    silu = net.add_elementwise(gate, sig, trt.ElementWiseOperation.PROD).get_output(0)
    act = net.add_elementwise(silu, up, trt.ElementWiseOperation.PROD).get_output(0)
    down = linear(trt, net, act, ffn, hidden, s + 9, share=share)
    out = net.add_elementwise(x, down, trt.ElementWiseOperation.SUM).get_output(0)
    if mark_output:
        out.name = "block_output"
        net.mark_output(out)
    return net


def build_llm_like(
    trt: Any,
    num_layers: int,
    *,
    hidden: int = 64,
    heads: int = 4,
    vocab: int = 256,
    builder: Any = None,
) -> Any:
    """An LLM-shaped network with at least ``num_layers`` layers (decoder blocks stacked).

    Weights are shared buffers so 100k-layer networks stay cheap; the block count is
    ``ceil((num_layers - overhead) / layers_per_block)``.
    """
    net = new_network(trt, builder)
    ids = net.add_input("input_ids", trt.int32, trt.Dims([-1, -1]))
    table = constant(trt, net, _array((vocab, hidden), seed=1, share=True))
    x = net.add_gather(table, ids, 0).get_output(0)  # [b, s, hidden]
    per_block = None
    block = 0
    while net.num_layers < num_layers - 8 or block == 0:
        before = net.num_layers
        build_decoder_block(
            trt,
            hidden=hidden,
            heads=heads,
            network=net,
            x=x,
            seed=block % 4,
            share=True,
            mark_output=False,
        )
        x = net.get_layer(net.num_layers - 1).get_output(0)
        per_block = per_block or net.num_layers - before
        block += 1
    x = rms_norm(trt, net, x, hidden, 11, share=True)
    logits = linear(trt, net, x, hidden, vocab, 12, share=True)
    logits.name = "logits"
    net.mark_output(logits)
    return net


def build_cnn(
    trt: Any, *, batch: int = -1, channels: int = 3, size: int = 32, classes: int = 10
) -> Any:
    """A small CNN: conv/scale/relu/pool blocks, global average pool, FC, softmax."""
    net = new_network(trt)
    x = net.add_input("image", trt.float32, trt.Dims([batch, channels, size, size]))
    c_in = channels
    for i, c_out in enumerate((16, 32)):
        conv = net.add_convolution_nd(
            x,
            c_out,
            trt.DimsHW(3, 3),
            _array((c_out, c_in, 3, 3), seed=20 + i),
            _array((c_out,), seed=30 + i),
        )
        conv.padding_nd = trt.DimsHW(1, 1)
        conv.name = f"conv{i}"
        bn = net.add_scale(
            conv.get_output(0),
            trt.ScaleMode.CHANNEL,
            _array((c_out,), seed=40 + i),
            _array((c_out,), seed=50 + i),
            None,
        )
        relu = net.add_activation(bn.get_output(0), trt.ActivationType.RELU)
        pool = net.add_pooling_nd(relu.get_output(0), trt.PoolingType.MAX, trt.DimsHW(2, 2))
        pool.stride_nd = trt.DimsHW(2, 2)
        x = pool.get_output(0)
        c_in = c_out
    gap = net.add_reduce(x, trt.ReduceOperation.AVG, (1 << 2) | (1 << 3), False).get_output(
        0
    )  # [b, c]
    fc = net.add_matrix_multiply(
        gap,
        trt.MatrixOperation.NONE,
        constant(trt, net, _array((c_in, classes), seed=60)),
        trt.MatrixOperation.NONE,
    ).get_output(0)
    sm = net.add_softmax(fc)
    sm.axes = 1 << 1
    out = sm.get_output(0)
    out.name = "probabilities"
    net.mark_output(out)
    return net


def build_loop(trt: Any, *, steps: int = 5, width: int = 8) -> Any:
    """A loop: running sum over the first axis of the input (recurrence, trip limit from the
    input's shape, iterator, LAST_VALUE and CONCATENATE outputs)."""
    net = new_network(trt)
    x = net.add_input("sequence", trt.float32, trt.Dims([steps, width]))
    loop = net.add_loop()
    loop.name = "running_sum"
    count = net.add_shape(x).get_output(0)
    trip = net.add_gather(count, int_constant(trt, net, [0], scalar=True), 0).get_output(
        0
    )  # 0-D INT64
    loop.add_trip_limit(trip, trt.TripLimit.COUNT)
    it = loop.add_iterator(x, 0, False)
    init = constant(trt, net, np.zeros((width,), np.float32))
    rec = loop.add_recurrence(init)
    acc = net.add_elementwise(
        rec.get_output(0), it.get_output(0), trt.ElementWiseOperation.SUM
    ).get_output(0)
    rec.set_input(1, acc)
    last = loop.add_loop_output(acc, trt.LoopOutput.LAST_VALUE, 0).get_output(0)
    all_out = loop.add_loop_output(acc, trt.LoopOutput.CONCATENATE, 0)
    all_out.set_input(1, trip)
    last.name = "total"
    all_out.get_output(0).name = "prefix_sums"
    net.mark_output(last)
    net.mark_output(all_out.get_output(0))
    return net


def build_if_conditional(trt: Any, *, width: int = 8) -> Any:
    """An if-conditional: relu(x) if the flag is true, else -x."""
    net = new_network(trt)
    x = net.add_input("x", trt.float32, trt.Dims([-1, width]))
    flag = net.add_input("flag", trt.bool, trt.Dims([]))
    cond = net.add_if_conditional()
    cond.name = "branch"
    cond.set_condition(flag)
    xin = cond.add_input(x).get_output(0)
    t = net.add_activation(xin, trt.ActivationType.RELU).get_output(0)
    f = net.add_unary(xin, trt.UnaryOperation.NEG).get_output(0)
    out = cond.add_output(t, f).get_output(0)
    out.name = "y"
    net.mark_output(out)
    return net
