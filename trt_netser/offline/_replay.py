"""Shape inference of an engine for concrete input shapes, by replaying its layer graph.

The engine's IR is turned back into offline layer state (``LayerImpl`` objects over fresh
tensors) and the network model's own shape rules (:func:`trt_netser.offline._shapes.infer`)
run over it in dependency order, so an execution context reports the output shapes that
follow from the shapes set with ``set_input_shape``, as TensorRT does. Layers whose rules
cannot run offline (plugins, whose objects are not in the plan) keep the engine's shapes,
with -1 where they are dynamic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trt_netser.offline._constructs import ConstructImpl
from trt_netser.offline._enums import LayerType
from trt_netser.offline._ir import GraphIR, MapValue, TensorRef, WeightsRef, paused_gc
from trt_netser.offline._layers import ILayer, LayerImpl
from trt_netser.offline._netimpl import NetworkImpl
from trt_netser.offline._shapes import infer
from trt_netser.offline._tensor import ITensor
from trt_netser.offline._types import _NP_OF, Weights


class _Replay:
    def __init__(self, ir: GraphIR) -> None:
        self.ir = ir
        self.net = NetworkImpl(None, None, ir.flags)
        self.tensors = [
            ITensor._create(self.net, t.name, t.shape, t.dtype, None, t.index) for t in ir.tensors
        ]
        self.weights: dict[int, Weights] = {}
        self.constructs = [self._construct(c) for c in ir.constructs]
        self.kept: list[int] = []  # layers whose outputs kept the engine's shapes

    def _weights(self, index: int) -> Weights:
        w = self.weights.get(index)
        if w is None:
            src = self.ir.weights[index]
            np_t = _NP_OF.get(int(src.dtype))
            if src.data is not None and np_t is not None and src.count:
                w = Weights(np.frombuffer(src.data, dtype=np_t).copy())
            else:
                w = Weights(src.dtype, 0, src.count)
            self.weights[index] = w
        return w

    def value(self, v: Any) -> Any:
        if isinstance(v, WeightsRef):
            return self._weights(v.index)
        if isinstance(v, TensorRef):
            return self.tensors[v.id]
        if isinstance(v, MapValue):
            return {self.value(k): self.value(x) for k, x in v.items}
        if isinstance(v, tuple):
            return tuple(self.value(x) for x in v)
        return v

    def _construct(self, c: Any) -> ConstructImpl:
        impl = ConstructImpl(self.net, c.name)
        impl.inputs = [None if t is None else self.tensors[t] for t in c.inputs]
        impl.p = {k: self.value(v) for k, v in c.attrs.items()}
        return impl

    def _order(self) -> list[int]:
        """Layers in dependency order (layers on cycles, i.e. loops, in network order)."""
        ir = self.ir
        pending = {layer.index for layer in ir.layers}
        done_tensors = set(ir.inputs)
        order: list[int] = []
        progress = True
        while pending and progress:
            progress = False
            for layer in ir.layers:
                if layer.index not in pending:
                    continue
                deps = layer.inputs
                if layer.type == LayerType.ATTENTION_OUTPUT and layer.construct is not None:
                    deps = deps + ir.constructs[layer.construct].inputs
                if all(t is None or t in done_tensors for t in deps):
                    order.append(layer.index)
                    pending.discard(layer.index)
                    done_tensors.update(layer.outputs)
                    progress = True
        order.extend(sorted(pending))
        return order

    def run(self, shapes: dict[int, tuple[int, ...]]) -> list[tuple[int, ...]]:
        for tid, shape in shapes.items():
            self.tensors[tid]._shape = shape
        ir = self.ir
        for li in self._order():
            layer = ir.layers[li]
            if layer.type.name.startswith("PLUGIN"):
                self.kept.append(li)  # the plugin object is not in the plan
                continue
            impl = LayerImpl(self.net, layer.type, ILayer, "")
            impl.name = layer.name
            impl.inputs = [None if t is None else self.tensors[t] for t in layer.inputs]
            impl.p = {k: self.value(v) for k, v in layer.attrs.items()}
            impl.private = {k: self.value(v) for k, v in layer.private.items()}
            impl.out_types = dict(layer.output_types)
            impl.num_ranks = layer.num_ranks
            if layer.construct is not None:
                impl.construct = self.constructs[layer.construct]
            try:
                outs = infer(impl)
            except Exception:  # a rule that cannot run offline: keep the engine's shapes
                self.kept.append(li)
                continue
            for tid, (shape, dtype, values) in zip(layer.outputs, outs, strict=False):
                t = self.tensors[tid]
                t._shape, t._dtype, t._values = shape, dtype, values
        return [t._shape for t in self.tensors]


def tensor_shapes(ir: GraphIR, input_shapes: dict[int, tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The shape of every tensor of ``ir`` when its inputs have ``input_shapes`` (by id)."""
    with paused_gc():
        return _Replay(ir).run(input_shapes)
