"""Which kernel computes each layer type (policy as data).

Layer types absent from :data:`KERNELS` and from :data:`STRUCTURAL` have no CPU
implementation: running an engine that uses one fails with an error naming the layer and
its type. Structural types are handled by the executor itself (attention inputs,
if-conditionals, loops and plugins).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trt_netser.offline._execute import (
    attention,
    collective,
    conversion,
    detection,
    elementwise,
    matmul,
    moe,
    movement,
    reduction,
    rotary,
    spatial,
)
from trt_netser.offline._execute._node import Node

Kernel = Callable[[Node, list[np.ndarray | None]], list[np.ndarray]]

KERNELS: dict[str, Kernel] = {
    # elementwise family
    "ELEMENTWISE": elementwise.elementwise,
    "UNARY": elementwise.unary,
    "ACTIVATION": elementwise.activation,
    "PARAMETRIC_RELU": elementwise.parametric_relu,
    "SCALE": elementwise.scale,
    "SELECT": elementwise.select,
    # matrix products
    "MATRIX_MULTIPLY": matmul.matrix_multiply,
    "EINSUM": matmul.einsum,
    # data movement
    "SHUFFLE": movement.shuffle,
    "CONCATENATION": movement.concatenation,
    "SLICE": movement.slice_,
    "GATHER": movement.gather,
    "SCATTER": movement.scatter,
    "SQUEEZE": movement.squeeze,
    "UNSQUEEZE": movement.unsqueeze,
    "REVERSE_SEQUENCE": movement.reverse_sequence,
    # reductions
    "REDUCE": reduction.reduce,
    "SOFTMAX": reduction.softmax,
    "NORMALIZATION": reduction.normalization,
    "TOPK": reduction.topk,
    "CUMULATIVE": reduction.cumulative,
    "RAGGED_SOFTMAX": reduction.ragged_softmax,
    "LRN": reduction.lrn,
    # spatial
    "CONVOLUTION": spatial.convolution,
    "DECONVOLUTION": spatial.deconvolution,
    "POOLING": spatial.pooling,
    "PADDING": spatial.padding,
    "RESIZE": spatial.resize,
    "GRID_SAMPLE": spatial.grid_sample,
    # types and values
    "CONSTANT": conversion.constant,
    "CAST": conversion.cast,
    "IDENTITY": conversion.identity,
    "QUANTIZE": conversion.quantize,
    "DEQUANTIZE": conversion.dequantize,
    "DYNAMIC_QUANTIZE": conversion.dynamic_quantize,
    "FILL": conversion.fill,
    "SHAPE": conversion.shape,
    "ONE_HOT": conversion.one_hot,
    "NON_ZERO": conversion.non_zero,
    "ASSERTION": conversion.assertion,
    # multi-device (one rank offline)
    "DIST_COLLECTIVE": collective.dist_collective,
    # detection
    "NMS": detection.nms,
    # transformer blocks
    "ROTARY_EMBEDDING": rotary.rotary_embedding,
    "ATTENTION_OUTPUT": attention.attention,
    "KV_CACHE_UPDATE": attention.kv_cache_update,
    "MOE": moe.moe,
}

STRUCTURAL: frozenset[str] = frozenset(
    {
        "ATTENTION_INPUT",  # the attention's inputs; computed by ATTENTION_OUTPUT
        "CONDITION",
        "CONDITIONAL_INPUT",
        "CONDITIONAL_OUTPUT",
        "RECURRENCE",  # loops: run by the executor (see .loops)
        "ITERATOR",
        "TRIP_LIMIT",
        "LOOP_OUTPUT",
        "PLUGIN_V2",
        "PLUGIN_V3",
    }
)
"""Layer types the executor handles itself rather than through a kernel."""


def kernel_for(layer_type: str) -> Kernel | None:
    """The kernel of a layer type, or None when it has none."""
    return KERNELS.get(layer_type)
