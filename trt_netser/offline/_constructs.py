"""Constructs owned by boundary layers: ILoop, IIfConditional and IAttention.

Each construct is one wrapper object (returned again by the boundary layers' ``.loop`` /
``.conditional`` / ``.attention``) over a private state object. An attention is made of
an ``IAttentionInputLayer`` whose inputs are query, key, value (and, at indices 3 and 4,
the optional mask and normalization quantize scale) and an ``IAttentionOutputLayer`` that
produces the attention output; the output layer has no input edges (the construct links
them), a modelling choice documented in the package docstring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from trt_netser.offline._enums import (
    AttentionNormalizationOp,
    DataType,
    LayerType,
    LoopOutput,
    TripLimit,
)
from trt_netser.offline._layers import ILayer, LayerImpl
from trt_netser.offline._pyarg import (
    BOOL,
    INT,
    MODULE,
    STR,
    Arg,
    Sig,
    api,
    check_setter,
    enum,
    instance,
)
from trt_netser.offline._tensor import ITensor

if TYPE_CHECKING:
    from trt_netser.offline._netimpl import NetworkImpl

_T = instance(ITensor)
_T_OPT = instance(ITensor, optional=True)


class ConstructImpl:
    """Private state of a loop, conditional or attention."""

    def __init__(self, net: NetworkImpl, name: str) -> None:
        self.net = net
        self.name = name
        self.metadata = ""
        self.num_ranks = 1
        self.wrapper: Any = None
        self.layers: list[LayerImpl] = []
        self.inputs: list[ITensor | None] = []
        self.p: dict[str, Any] = {}


def _wrap_layer(impl: LayerImpl | None) -> ILayer | None:
    return None if impl is None else impl.wrap()


_C = TypeVar("_C", bound="_Construct")


class _Construct:
    __slots__ = ("__weakref__", "_impl")
    _impl: ConstructImpl

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.{type(self).__name__}: No constructor defined!")

    @classmethod
    def _make(cls: type[_C], impl: ConstructImpl) -> _C:
        obj = object.__new__(cls)
        obj._impl = impl
        impl.wrapper = obj
        return obj

    @property
    def name(self) -> str:
        """The name of the construct (used in error diagnostics)."""
        return self._impl.name

    @name.setter
    def name(self, value: str) -> None:
        self._impl.name = check_setter(type(self).__name__, STR, value)
        self._impl.net.touch()


class ILoop(_Construct):
    """Helper for creating a recurrent subgraph."""

    __slots__ = ()

    def _add(
        self, api_name: str, ltype: LayerType, inputs: list[ITensor | None], params: dict[str, Any]
    ) -> Any:
        impl = self._impl.net.add(api_name, ltype, inputs, params, construct=self._impl)
        if impl is not None:
            self._impl.layers.append(impl)
        return _wrap_layer(impl)

    @api("ILoop", Sig([Arg("initial_value", _T)], f"{MODULE}.IRecurrenceLayer"))
    def add_recurrence(self, initial_value: ITensor) -> Any:
        """Create a recurrence layer with ``initial_value`` as its first input."""
        return self._add("ILoop::addRecurrence", LayerType.RECURRENCE, [initial_value], {})

    @api(
        "ILoop", Sig([Arg("tensor", _T), Arg("kind", enum(TripLimit))], f"{MODULE}.ITripLimitLayer")
    )
    def add_trip_limit(self, tensor: ITensor, kind: TripLimit) -> Any:
        """Add a trip-count limiter based on ``tensor``."""
        if any(
            layer.ltype == LayerType.TRIP_LIMIT and layer.p["kind"] == kind
            for layer in self._impl.layers
        ):
            self._impl.net.error(
                f"ILoop::addTripLimit: Error Code 3: API Usage Error (the loop already has a "
                f"{kind.name} trip limit.)"
            )
            return None
        if kind == TripLimit.COUNT and tensor._dtype not in (DataType.INT32, DataType.INT64):
            self._impl.net.error(
                "ILoop::addTripLimit: Error Code 3: API Usage Error (a COUNT trip limit must be "
                "an INT32 or INT64 scalar.)"
            )
            return None
        if kind == TripLimit.WHILE and tensor._dtype != DataType.BOOL:
            self._impl.net.error(
                "ILoop::addTripLimit: Error Code 3: API Usage Error (a WHILE trip limit must be "
                "a BOOL scalar.)"
            )
            return None
        return self._add("ILoop::addTripLimit", LayerType.TRIP_LIMIT, [tensor], {"kind": kind})

    @api(
        "ILoop",
        Sig(
            [Arg("tensor", _T), Arg("axis", INT, 0), Arg("reverse", BOOL, False)],
            f"{MODULE}.IIteratorLayer",
        ),
    )
    def add_iterator(self, tensor: ITensor, axis: int, reverse: bool) -> Any:
        """Return a layer that subscripts ``tensor`` by the loop iteration."""
        return self._add(
            "ILoop::addIterator", LayerType.ITERATOR, [tensor], {"axis": axis, "reverse": reverse}
        )

    @api(
        "ILoop",
        Sig(
            [Arg("tensor", _T), Arg("kind", enum(LoopOutput)), Arg("axis", INT, 0)],
            f"{MODULE}.ILoopOutputLayer",
        ),
    )
    def add_loop_output(self, tensor: ITensor, kind: LoopOutput, axis: int) -> Any:
        """Make an output of this loop based on ``tensor``."""
        return self._add(
            "ILoop::addLoopOutput", LayerType.LOOP_OUTPUT, [tensor], {"kind": kind, "axis": axis}
        )


class IIfConditional(_Construct):
    """Helper for constructing conditionally-executed subgraphs."""

    __slots__ = ()

    def _add(self, api_name: str, ltype: LayerType, inputs: list[ITensor | None]) -> Any:
        impl = self._impl.net.add(api_name, ltype, inputs, {}, construct=self._impl)
        if impl is not None:
            self._impl.layers.append(impl)
        return _wrap_layer(impl)

    @api("IIfConditional", Sig([Arg("condition", _T)], f"{MODULE}.IConditionLayer"))
    def set_condition(self, condition: ITensor) -> Any:
        """Set the 0-D BOOL condition tensor of this if-conditional."""
        if any(layer.ltype == LayerType.CONDITION for layer in self._impl.layers):
            self._impl.net.error(
                "IIfConditional::setCondition: Error Code 3: API Usage Error (the condition "
                "is already set.)"
            )
            return None
        return self._add("IIfConditional::setCondition", LayerType.CONDITION, [condition])

    @api("IIfConditional", Sig([Arg("input", _T)], f"{MODULE}.IIfConditionalInputLayer"))
    def add_input(self, input: ITensor) -> Any:
        """Make an input of this if-conditional."""
        return self._add("IIfConditional::addInput", LayerType.CONDITIONAL_INPUT, [input])

    @api(
        "IIfConditional",
        Sig(
            [Arg("true_subgraph_output", _T), Arg("false_subgraph_output", _T)],
            f"{MODULE}.IIfConditionalOutputLayer",
        ),
    )
    def add_output(self, true_subgraph_output: ITensor, false_subgraph_output: ITensor) -> Any:
        """Make an output of this if-conditional from the two branches' outputs."""
        return self._add(
            "IIfConditional::addOutput",
            LayerType.CONDITIONAL_OUTPUT,
            [true_subgraph_output, false_subgraph_output],
        )


_INPUT_NAMES = ("query", "key", "value", "mask", "normalization_quantize_scale")


class IAttention(_Construct):
    """An attention in an :class:`INetworkDefinition`."""

    __slots__ = ()

    def _input_layer(self) -> LayerImpl:
        return self._impl.layers[0]

    def _set_slot(self, index: int, tensor: ITensor | None) -> bool:
        impl = self._impl
        if tensor is None:
            impl.net.error(
                f"IAttention::setInput: Error Code 3: API Usage Error ({_INPUT_NAMES[index]} must not "
                f"be null.)"
            )
            return False
        impl.net.set_layer_input(self._input_layer(), index, tensor)
        return impl.inputs[index] is tensor if index < len(impl.inputs) else False

    @api("IAttention", Sig([Arg("index", INT), Arg("tensor", _T)], "bool"))
    def set_input(self, index: int, tensor: ITensor) -> bool:
        """Set query (0), key (1) or value (2)."""
        if not 0 <= index < 3:
            self._impl.net.error(
                f"IAttention::setInput: Error Code 3: API Usage Error (index {index} is not "
                f"in [0, 3).)"
            )
            return False
        return self._set_slot(index, tensor)

    @api("IAttention", Sig([Arg("index", INT)], f"{MODULE}.ITensor"))
    def get_input(self, index: int) -> ITensor | None:
        """Input ``index`` (query, key, value, mask, normalization quantize scale)."""
        ins = self._impl.inputs
        return ins[index] if 0 <= index < len(ins) else None

    @api("IAttention", Sig([Arg("index", INT)], f"{MODULE}.ITensor"))
    def get_output(self, index: int) -> ITensor | None:
        """Output ``index`` (only 0)."""
        outs = self._impl.layers[1].outputs
        return outs[index] if 0 <= index < len(outs) else None

    @property
    def num_inputs(self) -> int:
        """The number of inputs of the attention."""
        return len(self._impl.inputs)

    @property
    def num_outputs(self) -> int:
        """The number of outputs of the attention."""
        return len(self._impl.layers[1].outputs)

    @property
    def mask(self) -> ITensor | None:
        """The mask tensor (cannot be combined with causal)."""
        ins = self._impl.inputs
        return ins[3] if len(ins) > 3 else None

    @mask.setter
    def mask(self, value: ITensor) -> None:
        tensor = check_setter("IAttention", _T_OPT, value)
        if self._impl.p["causal"]:
            self._impl.net.error(
                "IAttention::setMask: Error Code 3: API Usage Error (a mask cannot be set on a "
                "causal attention.)"
            )
            return
        self._set_slot(3, tensor)

    @property
    def normalization_quantize_scale(self) -> ITensor | None:
        """The quantization scale of the normalization output."""
        ins = self._impl.inputs
        return ins[4] if len(ins) > 4 else None

    @normalization_quantize_scale.setter
    def normalization_quantize_scale(self, value: ITensor) -> None:
        self._set_slot(4, check_setter("IAttention", _T_OPT, value))

    def _param(self, key: str) -> Any:
        return self._impl.p[key]

    @property
    def causal(self) -> bool:
        """Whether the attention is causal (cannot be combined with a mask)."""
        return cast(bool, self._impl.p["causal"])

    @causal.setter
    def causal(self, value: bool) -> None:
        val = check_setter("IAttention", BOOL, value)
        if val and self.mask is not None:
            self._impl.net.error(
                "IAttention::setCausal: Error Code 3: API Usage Error (a causal attention cannot "
                "have a mask.)"
            )
            return
        self._impl.p["causal"] = val
        self._impl.net.touch()

    @property
    def decomposable(self) -> bool:
        """Whether decomposition into primitive ops is allowed (default False)."""
        return cast(bool, self._impl.p["decomposable"])

    @decomposable.setter
    def decomposable(self, value: bool) -> None:
        self._impl.p["decomposable"] = check_setter("IAttention", BOOL, value)
        self._impl.net.touch()

    @property
    def norm_op(self) -> AttentionNormalizationOp:
        """The normalization operation (default SOFTMAX)."""
        return cast(AttentionNormalizationOp, self._impl.p["norm_op"])

    @norm_op.setter
    def norm_op(self, value: AttentionNormalizationOp) -> None:
        val = check_setter("IAttention", enum(AttentionNormalizationOp), value)
        if val.name == "???":
            self._impl.net.error(
                f"IAttention::setNormalizationOperation: Error Code 3: API Usage Error (invalid "
                f"AttentionNormalizationOp {int(val)}.)"
            )
            return
        self._impl.p["norm_op"] = val
        self._impl.net.touch()

    @property
    def normalization_quantize_to_type(self) -> DataType:
        """The type the normalization output is quantized to."""
        return cast(DataType, self._impl.p["normalization_quantize_to_type"])

    @normalization_quantize_to_type.setter
    def normalization_quantize_to_type(self, value: DataType) -> None:
        val = check_setter("IAttention", enum(DataType), value)
        if val.name == "???":
            self._impl.net.error(
                f"IAttention::setNormalizationQuantizeToType: Error Code 3: API Usage Error "
                f"(invalid DataType {int(val)}.)"
            )
            return
        self._impl.p["normalization_quantize_to_type"] = val
        self._impl.net.touch()

    @property
    def metadata(self) -> str:
        """The metadata of the attention."""
        return self._impl.metadata

    @metadata.setter
    def metadata(self, value: str) -> None:
        self._impl.metadata = check_setter("IAttention", STR, value)
        self._impl.net.touch()

    @property
    def num_ranks(self) -> int:
        """The number of ranks for multi-device attention execution (default 1)."""
        return self._impl.num_ranks

    @num_ranks.setter
    def num_ranks(self, value: int) -> None:
        val = check_setter("IAttention", INT, value)
        if val < 1:
            self._impl.net.error(
                "IAttention::setNbRanks: Error Code 3: API Usage Error (nbRanks >= 1.)"
            )
            return
        self._impl.num_ranks = val
        self._impl.net.touch()


for _cls in (ILoop, IIfConditional, IAttention):
    _cls.__module__ = MODULE


def new_loop(net: NetworkImpl, index: int) -> ILoop:
    """A new loop construct (named like TensorRT's unnamed constructs)."""
    return ILoop._make(ConstructImpl(net, f"(Unnamed Loop* {index})"))


def new_conditional(net: NetworkImpl, index: int) -> IIfConditional:
    """A new if-conditional construct."""
    return IIfConditional._make(ConstructImpl(net, f"(Unnamed IfConditional* {index})"))


def new_attention(
    net: NetworkImpl,
    index: int,
    q: ITensor,
    k: ITensor,
    v: ITensor,
    norm_op: AttentionNormalizationOp,
    causal: bool,
) -> IAttention | None:
    """Create an attention and its two boundary layers; None (logged) if invalid."""
    impl = ConstructImpl(net, f"(Unnamed Attention* {index})")
    impl.inputs = [q, k, v]
    impl.p = {
        "causal": causal,
        "decomposable": False,
        "norm_op": norm_op,
        "normalization_quantize_to_type": DataType.FLOAT,
    }
    if norm_op.name == "???":
        net.error(
            f"INetworkDefinition::addAttention: Error Code 3: API Usage Error (invalid "
            f"AttentionNormalizationOp {int(norm_op)}.)"
        )
        return None
    wrapper = IAttention._make(impl)
    inp = net.add(
        "INetworkDefinition::addAttention", LayerType.ATTENTION_INPUT, [q, k, v], {}, construct=impl
    )
    if inp is None:
        return None
    impl.layers.append(inp)
    out = net.add(
        "INetworkDefinition::addAttention", LayerType.ATTENTION_OUTPUT, [], {}, construct=impl
    )
    if out is None:
        return None
    impl.layers.append(out)

    def on_set_input(index: int, tensor: ITensor) -> None:
        while len(impl.inputs) <= index:
            impl.inputs.append(None)
        impl.inputs[index] = tensor
        net.recompute(out)

    inp.private["on_set_input"] = on_set_input
    return wrapper
