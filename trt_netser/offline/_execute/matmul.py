"""Matrix multiply (with transposes, vector operands and batch broadcasting) and einsum."""

from __future__ import annotations

import numpy as np

from trt_netser.offline._enums import MatrixOperation
from trt_netser.offline._execute._node import KernelError, Node, need

Array = np.ndarray


def matrix_multiply(node: Node, xs: list[Array | None]) -> list[Array]:
    """IMatrixMultiplyLayer: ``op0(a) @ op1(b)``; VECTOR operands drop their matrix axis.

    Batch dimensions (all but the last two, or the last one for a vector) must have equal
    rank and broadcast as in TensorRT.
    """
    a, b = node.num.up(need(xs[0], "input 0")), node.num.up(need(xs[1], "input 1"))
    op0, op1 = int(node.attrs["op0"]), int(node.attrs["op1"])
    vec_a, vec_b = op0 == int(MatrixOperation.VECTOR), op1 == int(MatrixOperation.VECTOR)
    if vec_a:
        a = a[..., None, :]
    elif op0 == int(MatrixOperation.TRANSPOSE):
        a = np.swapaxes(a, -1, -2)
    if vec_b:
        b = b[..., :, None]
    elif op1 == int(MatrixOperation.TRANSPOSE):
        b = np.swapaxes(b, -1, -2)
    if a.ndim != b.ndim:
        raise KernelError(f"batch ranks differ: {a.ndim - 2} vs {b.ndim - 2}")
    if a.shape[-1] != b.shape[-2]:
        raise KernelError(f"contraction dimensions differ: {a.shape[-1]} vs {b.shape[-2]}")
    y = np.matmul(a, b)
    if vec_b:
        y = y[..., 0]
    if vec_a:
        y = y[..., 0, :] if not vec_b else y[..., 0]
    return [node.out(y)]


def einsum(node: Node, xs: list[Array | None]) -> list[Array]:
    """IEinsumLayer: numpy's einsum of the equation (TensorRT's subset: no ellipsis)."""
    ins = [node.num.up(need(x, f"input {i}")) for i, x in enumerate(xs)]
    eq = str(node.attrs["equation"]).replace(" ", "")
    return [node.out(np.einsum(eq, *ins, optimize=len(ins) > 2))]
