"""Random networks over executable layer types, written as client code writes them: a
stack of layers over an NCHW input whose choice of ops and variants is one thing and whose
weight values (a seed) are another, so a "fine-tune" changes only the latter."""

from __future__ import annotations

from typing import Any

import numpy as np

import trt_netser.offline as trt

A = trt.ActivationType
E = trt.ElementWiseOperation
OPS = (
    "conv",
    "scale",
    "act",
    "ew_const",
    "unary",
    "pool",
    "softmax",
    "norm",
    "matmul",
    "transpose",
    "deconv",
    "reduce",
    "concat_slice",
    "resize_pool",
    "gather",
)
CHANNELS, SIZE = 3, 6


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return np.ascontiguousarray(rng.standard_normal(shape).astype(np.float32) * 0.5)


def random_network(
    ops: list[str], choices: list[int], seed: int
) -> tuple[Any, Any, Any, list[Any]]:
    """(builder, network, config, kept arrays): ``ops`` applied in order to an NCHW input;
    ``choices`` pick variants (activation type, ...), ``seed`` only the weight values."""
    rng = np.random.default_rng(seed)
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    net = builder.create_network(0)
    net.name = "random"
    keep: list[Any] = []
    x = net.add_input("x", trt.float32, (2, CHANNELS, SIZE, SIZE))
    c = CHANNELS
    for i, (op, choice) in enumerate(zip(ops, choices, strict=True)):
        if op == "conv":
            k = 2 + choice % 3
            w, b = _w(rng, k, c, 3, 3), _w(rng, k)
            keep += [w, b]
            layer = net.add_convolution_nd(x, k, (3, 3), trt.Weights(w), trt.Weights(b))
            layer.padding_nd = (1, 1)
            c = k
        elif op == "scale":
            sh, sc = _w(rng, c), _w(rng, c)
            keep += [sh, sc]
            layer = net.add_scale(x, trt.ScaleMode.CHANNEL, trt.Weights(sh), trt.Weights(sc), None)
        elif op == "act":
            kind = (A.RELU, A.SIGMOID, A.TANH, A.LEAKY_RELU, A.GELU_TANH, A.SOFTPLUS)[choice % 6]
            layer = net.add_activation(x, kind)
            layer.alpha, layer.beta = 0.1, 1.0
        elif op == "ew_const":
            w = _w(rng, 1, c, 1, 1)
            keep.append(w)
            cst = net.add_constant(w.shape, trt.Weights(w))
            cst.name = f"const{i}"
            layer = net.add_elementwise(
                x, cst.get_output(0), (E.SUM, E.PROD, E.MAX, E.SUB)[choice % 4]
            )
        elif op == "unary":
            layer = net.add_unary(
                x,
                (trt.UnaryOperation.ABS, trt.UnaryOperation.NEG, trt.UnaryOperation.SIN)[
                    choice % 3
                ],
            )
        elif op == "pool":
            kind = (trt.PoolingType.MAX, trt.PoolingType.AVERAGE)[choice % 2]
            layer = net.add_pooling_nd(x, kind, (3, 3))
            layer.padding_nd = (1, 1)
        elif op == "softmax":
            layer = net.add_softmax(x)
            layer.axes = 1 << (1 + choice % 3)
        elif op == "norm":
            g, b = _w(rng, 1, c, 1, 1), _w(rng, 1, c, 1, 1)
            keep += [g, b]
            gc = net.add_constant(g.shape, trt.Weights(g))
            bc = net.add_constant(b.shape, trt.Weights(b))
            layer = net.add_normalization_v2(x, gc.get_output(0), bc.get_output(0), 0b1100)
        elif op == "matmul":
            w = _w(rng, 1, 1, SIZE, SIZE)
            keep.append(w)
            cst = net.add_constant(w.shape, trt.Weights(w))
            layer = net.add_matrix_multiply(
                x,
                trt.MatrixOperation.NONE,
                cst.get_output(0),
                (trt.MatrixOperation.NONE, trt.MatrixOperation.TRANSPOSE)[choice % 2],
            )
        elif op == "deconv":  # stride 2 up, then a 2x2 stride-2 conv back to SIZE
            k = 2 + choice % 2
            w = _w(rng, c, k, 2, 2)
            keep.append(w)
            up = net.add_deconvolution_nd(x, k, (2, 2), trt.Weights(w), trt.Weights())
            up.stride_nd = (2, 2)
            up.name = f"deconv_up{i}"
            w2 = _w(rng, k, k, 2, 2)
            keep.append(w2)
            layer = net.add_convolution_nd(
                up.get_output(0), k, (2, 2), trt.Weights(w2), trt.Weights()
            )
            layer.stride_nd = (2, 2)
            c = k
        elif op == "reduce":  # keep_dims so the shape stays, then broadcast back
            red = net.add_reduce(
                x, (trt.ReduceOperation.MAX, trt.ReduceOperation.AVG)[choice % 2], 1 << 1, True
            )
            red.name = f"reduce_in{i}"
            layer = net.add_elementwise(x, red.get_output(0), E.SUB)
        elif op == "concat_slice":  # concat with a transform of itself, slice half back
            neg = net.add_unary(x, trt.UnaryOperation.NEG)
            neg.name = f"neg{i}"
            cat = net.add_concatenation([x, neg.get_output(0)])
            cat.axis = 1
            cat.name = f"concat{i}"
            start = (0, (choice % 2) * c, 0, 0)
            layer = net.add_slice(cat.get_output(0), start, (2, c, SIZE, SIZE), (1, 1, 1, 1))
        elif op == "resize_pool":  # nearest/linear 2x up, 2x2 average pool back down
            rs = net.add_resize(x)
            rs.scales = [1.0, 1.0, 2.0, 2.0]
            rs.resize_mode = (trt.InterpolationMode.NEAREST, trt.InterpolationMode.LINEAR)[
                choice % 2
            ]
            rs.name = f"resize{i}"
            layer = net.add_pooling_nd(rs.get_output(0), trt.PoolingType.AVERAGE, (2, 2))
            layer.stride_nd = (2, 2)
        elif op == "gather":  # a channel permutation through gather
            perm = np.array(np.roll(np.arange(c), 1 + choice % max(c - 1, 1)), np.int32)
            keep.append(perm)
            idx = net.add_constant(perm.shape, trt.Weights(perm))
            idx.name = f"perm{i}"
            layer = net.add_gather(x, idx.get_output(0), 1)
        else:
            layer = net.add_shuffle(x)
            layer.first_transpose = (0, 1, 3, 2)
        layer.name = f"{op}{i}"
        x = layer.get_output(0)
    x.name = "y"
    net.mark_output(x)
    config = builder.create_builder_config()
    return builder, net, config, keep
