"""Runtime shapes of an engine's tensors for concrete input shapes (no kernel runs).

The network model's own shape inference (:func:`trt_netser.offline._shapes.infer`) is run
over the engine's IR with the context's input shapes and the values of its input shape
tensors, so an execution context can report output shapes before execution, as TensorRT
does. Dimensions that depend on data (non-zero, for example) stay -1, or, asked for,
become their upper bounds (:mod:`.bounds`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trt_netser.offline._enums import LayerType
from trt_netser.offline._execute.bounds import UPPER_BOUNDS
from trt_netser.offline._shapes import ShapeError, infer


class _Tensor:
    """What inference reads of a tensor."""

    __slots__ = ("_dtype", "_shape", "_values")

    def __init__(self, shape: tuple[int, ...], dtype: Any, values: Any) -> None:
        self._shape, self._dtype, self._values = shape, dtype, values


class _Weights:
    """What inference reads of weights: count, type and (if present) values."""

    __slots__ = ("_array", "dtype", "size")

    def __init__(self, w: Any) -> None:
        self.size, self.dtype = int(w.count), w.dtype
        self._array = w.numpy() if w.data is not None else None


class _Construct:
    __slots__ = ("inputs",)

    def __init__(self, inputs: list[_Tensor | None]) -> None:
        self.inputs = inputs


class _Layer:
    """What inference reads of a layer."""

    __slots__ = ("construct", "inputs", "ltype", "name", "num_ranks", "out_types", "p", "private")

    def __init__(
        self, layer: Any, inputs: list[_Tensor | None], p: dict[str, Any], construct: Any
    ) -> None:
        self.ltype = layer.type
        self.name = layer.name
        self.inputs = inputs
        self.p = p
        self.private = dict(layer.private)
        self.out_types = dict(layer.output_types)
        self.construct = construct
        self.num_ranks = layer.num_ranks


def _resolve(v: Any, ir: Any) -> Any:
    name = type(v).__name__
    if name == "WeightsRef":
        return _Weights(ir.weights[v.index])
    if isinstance(v, tuple) and v and type(v[0]).__name__ == "WeightsRef":
        return tuple(_resolve(x, ir) for x in v)
    return v


def runtime_shapes(
    ir: Any,
    input_shapes: Mapping[str, tuple[int, ...]],
    shape_values: Mapping[str, tuple[int, ...]] | None = None,
    *,
    bounds: bool = False,
) -> dict[int, tuple[int, ...]]:
    """Shape of every tensor (by id) for the given input shapes and shape-input values;
    with ``bounds``, data-dependent dimensions are their upper bounds (:mod:`.bounds`)."""
    shape_values = shape_values or {}
    known: dict[int, _Tensor] = {}
    for tid in ir.inputs:
        t = ir.tensors[tid]
        vals = shape_values.get(t.name)
        known[tid] = _Tensor(
            tuple(input_shapes.get(t.name, t.shape)),
            t.dtype,
            tuple(int(v) for v in vals) if vals is not None else None,
        )
    pending = list(range(len(ir.layers)))
    for _ in range(len(ir.layers) + 1):  # network order need not be topological
        later = []
        for li in pending:
            layer = ir.layers[li]
            deps = list(layer.inputs)
            if layer.type == LayerType.ATTENTION_OUTPUT:
                deps = list(ir.constructs[layer.construct].inputs)
            if any(d is not None and d not in known for d in deps):
                later.append(li)
                continue
            ins = [None if d is None else known[d] for d in layer.inputs]
            construct = None
            if layer.type == LayerType.ATTENTION_OUTPUT:
                construct = _Construct([None if d is None else known[d] for d in deps])
            p = {k: _resolve(v, ir) for k, v in layer.attrs.items()}
            try:
                outs = infer(_Layer(layer, ins, p, construct))  # type: ignore[arg-type]
            except (ShapeError, KeyError, TypeError, AttributeError):
                outs = [
                    (tuple(ir.tensors[o].shape), ir.tensors[o].dtype, None) for o in layer.outputs
                ]
            else:
                bound = UPPER_BOUNDS.get(layer.type.name) if bounds else None
                if bound is not None:
                    outs = bound(ins, outs)
            for tid, (shape, dtype, values) in zip(layer.outputs, outs, strict=False):
                known[tid] = _Tensor(tuple(shape), dtype, values)
        if len(later) == len(pending):
            break
        pending = later
    return {tid: t._shape for tid, t in known.items()}
