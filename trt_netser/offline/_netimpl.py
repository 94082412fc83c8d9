"""NetworkImpl: the private state and bookkeeping of an offline INetworkDefinition.

Adding a layer is O(1): inputs are validated, outputs inferred once, tensors created with
TensorRT's default names. When a parameter or an input changes later, the layer and the
layers downstream of it are re-inferred (stopping where outputs do not change), as
TensorRT recomputes "the shape of all dependent tensors".
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

from trt_netser.offline._enumbase import PybindEnum
from trt_netser.offline._enums import DataType as _DataType
from trt_netser.offline._enums import LayerType, NetworkDefinitionCreationFlag, _Severity
from trt_netser.offline._layers import LAYER_CLASSES, ILayer, LayerImpl
from trt_netser.offline._layertable import (
    DEFERRED_OUTPUTS,
    DISPLAY_BY_PARAMETER,
    EXTRA_LAYER_INDICES,
    IMMEDIATE_SHAPE_CHECK,
    LAYERS,
    SHAPE_CALCULUS,
    output_name,
)
from trt_netser.offline._logger import ILogger, report
from trt_netser.offline._shapes import ShapeError, infer
from trt_netser.offline._tensor import ITensor
from trt_netser.offline._weightnames import WeightNames

if TYPE_CHECKING:
    from trt_netser.offline._enums import DataType

_FLOAT = _DataType.FLOAT
_NETWORK_COUNTER = itertools.count()  # TensorRT's "Unnamed Network N" counts per process
_MAX_PROPAGATION_STEPS = 1_000_000


def upstream_error(layer: LayerImpl) -> str | None:
    """The shape error of the first input whose dimensions cannot be computed: a layer
    reading such a tensor cannot have dimensions either (TensorRT reports the cause). A
    recurrence's next value (input 1, the loop's back edge) does not decide its shape."""
    if layer.ltype == LayerType.RECURRENCE:
        inputs = layer.inputs[:1]
    elif layer.ltype == LayerType.ATTENTION_OUTPUT:  # it reads the attention's inputs
        checked = layer.construct.layers[0]  # the input layer checks q, k and v
        if checked is not layer and checked.shape_error is not None:
            return str(checked.shape_error)
        inputs = list(layer.construct.inputs)
    else:
        inputs = layer.inputs
    for t in inputs:
        producer = t._producer if t is not None else None
        if producer is not None and producer.shape_error is not None:
            return producer.shape_error
    return None


class NetworkImpl:
    """Private state of one network definition."""

    def __init__(self, builder: Any, logger: ILogger | None, flags: int) -> None:
        self.builder = builder
        self.logger = logger
        self.flags = flags
        #: NetworkDefinitionCreationFlag.STRONGLY_TYPED: types are inferred, never set
        self.strongly_typed = bool(flags >> int(NetworkDefinitionCreationFlag.STRONGLY_TYPED) & 1)
        self.name = f"Unnamed Network {next(_NETWORK_COUNTER)}"
        self.layers: list[LayerImpl] = []
        #: The N of the next default layer name: TensorRT counts layer indices it hands
        #: out, which constructs may use more of than they add layers (EXTRA_LAYER_INDICES).
        self.layer_counter = 0
        self.inputs: list[ITensor] = []
        self.input_set: set[ITensor] = set()
        self.outputs: list[ITensor] = []
        self.output_set: set[ITensor] = set()
        self.shape_outputs: list[ITensor] = []
        self.debug: set[ITensor] = set()
        self.unfused_debug = False
        self.weight_names = WeightNames()
        self.n_loop = 0
        self.n_cond = 0
        self.n_attention = 0
        self.refittable: set[str] = set()
        self.error_recorder: Any = None
        self.version = 0
        self._roles: tuple[int, AbstractSet[ITensor], AbstractSet[ITensor]] | None = None
        self.wrapper: Any = None

    # -- logging ------------------------------------------------------------------------
    def error(self, msg: str) -> None:
        """Report an API usage error through the builder's logger at ERROR severity."""
        report(self.logger, _Severity.ERROR, msg)

    def rejects_typing(self, who: str, method: str) -> bool:
        """Whether this network is strongly typed, so it rejects ``method`` (setPrecision,
        setOutputType: "Strongly-typed networks reject calls to method ...", NvInfer.h);
        if so the call is reported at ERROR and the caller leaves the setting unchanged."""
        if not self.strongly_typed:
            return False
        self.error(
            f"{who}: Error Code 3: API Usage Error (Strongly-typed networks reject calls to "
            f"method {method}.)"
        )
        return True

    def warning(self, msg: str) -> None:
        """Report a warning through the builder's logger."""
        report(self.logger, _Severity.WARNING, msg)

    # -- change tracking --------------------------------------------------------------------
    def touch(self) -> None:
        """Record that the network changed (invalidates cached tensor roles)."""
        self.version += 1

    def changed(self, tensor: ITensor) -> None:
        """A network input's shape/type changed: re-infer its consumers."""
        self.touch()
        self._propagate(list(tensor._consumers))

    def recompute(self, impl: LayerImpl) -> None:
        """A layer's parameters changed: re-infer it and what depends on it."""
        self.touch()
        self._propagate([impl])

    def _propagate(self, start: list[LayerImpl]) -> None:
        queue = deque(start)
        steps = 0
        while queue and steps < _MAX_PROPAGATION_STEPS:
            layer = queue.popleft()
            steps += 1
            was_valid = layer.shape_error is None
            layer.shape_error = upstream_error(layer)
            if layer.shape_error is None:
                try:
                    outs = infer(layer)
                except ShapeError as exc:
                    layer.shape_error = f"{layer.name}: {exc}"
            if layer.shape_error is not None:
                outs = self._unknown_outputs(layer, len(layer.outputs))
            revalidated = was_valid != (layer.shape_error is None)
            if layer.ltype == LayerType.ATTENTION_INPUT and len(layer.construct.layers) > 1:
                queue.append(layer.construct.layers[1])  # the output reads the same inputs
            for t, (shape, dtype, values) in zip(layer.outputs, outs, strict=False):
                if revalidated or t._shape != shape or t._dtype != dtype or t._values != values:
                    t._shape, t._dtype, t._values = shape, dtype, values
                    queue.extend(t._consumers)

    # -- layers -----------------------------------------------------------------------------
    def add(
        self,
        api_name: str,
        ltype: LayerType,
        inputs: list[ITensor | None],
        params: dict[str, Any] | None = None,
        *,
        private: dict[str, Any] | None = None,
        construct: Any = None,
        display: str | None = None,
    ) -> LayerImpl | None:
        """Create a layer, infer its outputs and append it; None (and an ERROR) if invalid."""
        info = LAYERS[ltype.name]
        if display is None:
            display = next(
                (
                    name
                    for (kind, key, value), name in DISPLAY_BY_PARAMETER.items()
                    if kind == ltype.name and (params or {}).get(key) == value
                ),
                info.display,
            )
        impl = LayerImpl(self, ltype, LAYER_CLASSES.get(info.cls, ILayer), display)
        impl.index = len(self.layers)
        impl.name = f"(Unnamed Layer* {self.layer_counter}) [{impl.display}]"
        for t in inputs:
            if t is not None and t._net is not self:
                self.error(
                    f"{api_name}: Error Code 3: API Usage Error (Parameter check failed, condition: "
                    f"the input tensor '{t._name}' belongs to this network.)"
                )
                return None
        impl.inputs = list(inputs)
        impl.p = params or {}
        impl.private = private or {}
        impl.construct = construct
        for key, val in impl.p.items():
            if isinstance(val, PybindEnum) and val.name == "???":
                self.error(
                    f"{api_name}: Error Code 3: API Usage Error (Parameter check failed, condition: "
                    f"{key} is a valid {type(val).__name__} ({int(val)}).)"
                )
                return None
        impl.shape_error = upstream_error(impl)
        try:
            if impl.shape_error is not None:  # an input's dimensions cannot be computed
                outs = self._unknown_outputs(impl, DEFERRED_OUTPUTS.get(ltype.name, 1))
            else:
                outs = infer(impl)
        except ShapeError as exc:
            if ltype.name in IMMEDIATE_SHAPE_CHECK:
                self.error(f"{api_name}: Error Code 4: Shape Error ({impl.name}: {exc})")
                return None
            # TensorRT creates the layer and checks its shapes when they are needed: client
            # code sets the attributes that make them valid next (concatenation axis, ...).
            impl.shape_error = f"{impl.name}: {exc}"
            outs = self._unknown_outputs(impl, DEFERRED_OUTPUTS.get(ltype.name, 1))
        self._attach(impl, outs)
        return impl

    @staticmethod
    def _unknown_outputs(impl: LayerImpl, n: int) -> list[tuple[tuple[int, ...], Any, Any]]:
        """Outputs of a layer whose shapes cannot be inferred yet: no dims, the type of its
        first input (FLOAT if it has none)."""
        first = next((t for t in impl.inputs if t is not None), None)
        dtype = first._dtype if first is not None else _FLOAT
        return [((), dtype, None)] * n

    def shape_problem(self, tensor: ITensor) -> None:
        """ITensor.shape of a tensor whose producer's shapes cannot be inferred: TensorRT
        logs why at ERROR."""
        producer = tensor._producer
        if producer is not None and producer.shape_error is not None:
            self.error(
                f"ITensor::getDimensions: Error Code 4: Shape Error ({producer.shape_error})"
            )

    def _attach(self, impl: LayerImpl, outs: list[tuple[tuple[int, ...], DataType, Any]]) -> None:
        self.layer_counter += 1 + EXTRA_LAYER_INDICES.get(impl.ltype.name, 0)
        for i, (shape, dtype, values) in enumerate(outs):
            name = output_name(impl.ltype.name, impl.name, i, len(outs))
            t = ITensor._create(self, name, shape, dtype, impl, i)
            t._values = values
            impl.outputs.append(t)
        for source in impl.inputs:
            if source is not None:
                source._consumers.append(impl)
        self.layers.append(impl)
        self.touch()

    def set_layer_input(self, impl: LayerImpl, index: int, tensor: ITensor | None) -> None:
        """ILayer.set_input: validate the slot, rewire and re-infer."""
        info = LAYERS[impl.ltype.name]
        limit = len(impl.inputs) if info.max_inputs < 0 else info.max_inputs
        if tensor is None or not 0 <= index < limit:
            self.error(
                f"{impl.name}: Error Code 3: API Usage Error (Parameter check failed, condition: "
                f"tensor != nullptr && index >= 0 && index < {limit}.)"
            )
            return
        if tensor._net is not self:
            self.error(
                f"{impl.name}: Error Code 3: API Usage Error (the tensor belongs to another network.)"
            )
            return
        while len(impl.inputs) <= index:
            impl.inputs.append(None)
        old = impl.inputs[index]
        if old is not None:
            old._consumers.remove(impl)
        impl.inputs[index] = tensor
        tensor._consumers.append(impl)
        hook = impl.private.get("on_set_input")
        if hook is not None:
            hook(index, tensor)
        self.recompute(impl)

    # -- tensor roles -------------------------------------------------------------------------
    def roles(self) -> tuple[AbstractSet[ITensor], AbstractSet[ITensor]]:
        """(shape tensors, execution tensors), computed for the whole network and cached
        (read-only sets: they are not copied into frozensets, 75k tensors at 50k layers)."""
        if self._roles is None or self._roles[0] != self.version:
            shape, execution = self._compute_roles()
            self._roles = (self.version, shape, execution)
        return self._roles[1], self._roles[2]

    def _compute_roles(self) -> tuple[AbstractSet[ITensor], AbstractSet[ITensor]]:
        shape: set[ITensor] = set(self.shape_outputs)
        for layer in self.layers:
            slots = _SHAPE_SLOTS[layer.ltype._value]
            if slots:
                inputs = layer.inputs
                for slot in slots:
                    tensor = inputs[slot] if slot < len(inputs) else None
                    if tensor is not None:
                        shape.add(tensor)
        work = list(shape)
        while work:
            t = work.pop()
            p = t._producer
            if p is not None and p.ltype._value in _SHAPE_CALCULUS:
                for d in p.inputs:
                    if d is not None and d not in shape:
                        shape.add(d)
                        work.append(d)
        execution: set[ITensor] = set()
        pending: list[ITensor | None] = list(self.outputs)
        for layer in self.layers:
            if layer.ltype._value in _EXECUTION_ROOTS:
                pending += layer.inputs
        while pending:
            tensor = pending.pop()
            if tensor is None or tensor in execution:
                continue
            execution.add(tensor)
            p = tensor._producer
            if p is None:
                continue
            value = p.ltype._value
            if value == _SHAPE_LAYER:
                continue
            deps = p.construct.inputs if value == _ATTENTION_OUTPUT else p.inputs
            slots = _SHAPE_SLOTS[value]
            if slots:
                pending += [d for i, d in enumerate(deps) if i not in slots]
            else:
                pending += deps
        return shape, execution


#: _compute_roles' tables by LayerType value (a member's ``name`` is a property lookup,
#: and comparing members calls Python's ``__eq__``).
_SHAPE_SLOTS: dict[int, frozenset[int]] = {
    int(m): LAYERS[m.name].shape_slots for m in LayerType.__members__.values() if m.name in LAYERS
}
_SHAPE_CALCULUS = frozenset(
    int(m) for m in LayerType.__members__.values() if m.name in SHAPE_CALCULUS
)
#: Layers whose inputs are execution tensors whatever reads their outputs.
_EXECUTION_ROOTS = frozenset({int(LayerType.CONDITION), int(LayerType.ATTENTION_INPUT)})
_SHAPE_LAYER = int(LayerType.SHAPE)
_ATTENTION_OUTPUT = int(LayerType.ATTENTION_OUTPUT)
