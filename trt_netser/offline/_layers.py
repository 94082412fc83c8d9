"""ILayer and every concrete layer class.

All layer classes share ONE instance layout (``__slots__ = ("__weakref__", "_impl")``) so
that tools can downcast with ``layer.__class__ = trt.IConvolutionLayer``, exactly as with
the real bindings; all state lives in a private :class:`LayerImpl` that several wrappers
may share. Layer-specific properties are generated from the :data:`PROPS` table (name,
converter, read-only flag); getters hand out fresh ``Dims``/numpy views like pybind11.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from trt_netser.offline._enums import (
    ActivationType,
    BoundingBoxFormat,
    CumulativeOperation,
    DataType,
    ElementWiseOperation,
    FillOperation,
    GatherMode,
    InterpolationMode,
    KVCacheMode,
    LayerType,
    LoopOutput,
    MatrixOperation,
    MoEActType,
    PaddingMode,
    PoolingType,
    ReduceOperation,
    ResizeCoordinateTransformation,
    ResizeRoundMode,
    ResizeSelector,
    SampleMode,
    ScaleMode,
    ScatterMode,
    TopKOperation,
    TripLimit,
    UnaryOperation,
)
from trt_netser.offline._pyarg import (
    BOOL,
    FLOAT,
    INT,
    MODULE,
    STR,
    Arg,
    Conv,
    Mismatch,
    Sig,
    api,
    check_setter,
    enum,
    instance,
)
from trt_netser.offline._tensor import ITensor
from trt_netser.offline._types import (
    Dims,
    Permutation,
    Weights,
    to_dims_tuple,
    to_perm_list,
    to_weights,
)

if TYPE_CHECKING:
    from trt_netser.offline._netimpl import NetworkImpl

_new = object.__new__


class LayerImpl:
    """State of one layer; wrappers (ILayer and subclasses) point at it."""

    __slots__ = (
        "cls",
        "construct",
        "display",
        "index",
        "inputs",
        "live",
        "ltype",
        "metadata",
        "name",
        "net",
        "num_ranks",
        "out_types",
        "outputs",
        "p",
        "precision",
        "precision_set",
        "private",
        "shape_error",
    )

    def __init__(self, net: NetworkImpl, ltype: LayerType, cls: type[ILayer], display: str) -> None:
        self.net = net
        self.ltype = ltype
        self.cls = cls
        self.display = display
        self.index = -1
        self.name = ""
        self.metadata = ""
        self.num_ranks = 1
        self.precision = DataType.FLOAT
        self.precision_set = False
        self.inputs: list[ITensor | None] = []
        self.outputs: list[ITensor] = []
        self.out_types: dict[int, DataType] = {}
        self.p: dict[str, Any] = {}
        self.private: dict[str, Any] = {}
        #: Why the outputs cannot be inferred with the current attributes (TensorRT reports
        #: it when a shape is read or at build), None while they can.
        self.shape_error: str | None = None
        self.construct: Any = None
        self.live: weakref.ref[ILayer] | None = None

    def wrap(self, cls: type[ILayer] | None = None) -> ILayer:
        """A new wrapper object of ``cls`` (default: the layer's concrete class)."""
        obj = object.__new__(cls or self.cls)
        obj._impl = self
        return obj


# ---------------------------------------------------------------------------------------
# converters for layer properties
# ---------------------------------------------------------------------------------------
DIMS = Conv(f"{MODULE}.Dims", to_dims_tuple)
PERM = Conv(f"{MODULE}.Permutation", to_perm_list)
WEIGHTS = Conv(f"{MODULE}.Weights", to_weights)
TENSOR = instance(ITensor)


def _floats(value: Any) -> list[float]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise Mismatch
    return [FLOAT(v) for v in value]


FLOATS = Conv("collections.abc.Sequence[typing.SupportsFloat]", _floats)

_OUT_DIMS: Callable[[Any], Any] = Dims._from
_OUT_PERM: Callable[[Any], Any] = Permutation._from


_out_weights: Callable[[Any], Any] = Weights.numpy  # the stored values are Weights
_out_list: Callable[[Any], Any] = list

#: How a property hands out its stored value, by converter (called directly: a walk reads
#: every layer's properties, and each wrapping function would be one more Python call).
_OUT: dict[int, Callable[[Any], Any]] = {
    id(DIMS): _OUT_DIMS,
    id(PERM): _OUT_PERM,
    id(WEIGHTS): _out_weights,
    id(FLOATS): _out_list,
}


def _prop(owner: str, name: str, conv: Conv, readonly: bool) -> property:
    """A layer property backed by ``impl.p[name]``; setting it re-infers the outputs."""
    out = _OUT.get(id(conv))

    if out is None:

        def fget(self: ILayer) -> Any:
            return self._impl.p.get(name)

    elif out is _OUT_DIMS:

        def fget(self: ILayer) -> Any:
            val = self._impl.p.get(name)
            if val is None:
                return val
            dims = _new(Dims)  # Dims._from, inlined: a walk reads every Dims property
            dims._d = list(val)
            return dims

    else:

        def fget(self: ILayer) -> Any:
            val = self._impl.p.get(name)
            return out(val) if val is not None else val

    if readonly:
        return property(fget, doc=f"{name} (read-only)")

    def fset(self: ILayer, value: Any) -> None:
        impl = self._impl
        val = check_setter(owner, conv, value)
        if hasattr(val, "name") and getattr(val, "name", None) == "???":
            impl.net.error(
                f"{impl.name}: Error Code 3: API Usage Error (Parameter check failed, "
                f"condition: {name} is a valid enum value ({int(val)}).)"
            )
            return
        impl.p[name] = val
        if conv is WEIGHTS:
            impl.net.weight_names.use(impl, name, val)
        impl.net.recompute(impl)

    return property(fget, fset, doc=name)


def _enumc(cls: type) -> Conv:
    return enum(cls)


# class name -> {property: (converter, read-only)}; the dump is the source of truth for
# names and r/rw; defaults are set by the INetworkDefinition.add_* that creates the layer.
PROPS: dict[str, dict[str, tuple[Conv, bool]]] = {
    "IActivationLayer": {
        "type": (_enumc(ActivationType), False),
        "alpha": (FLOAT, False),
        "beta": (FLOAT, False),
    },
    "IAssertionLayer": {"message": (STR, False)},
    "ICastLayer": {"to_type": (_enumc(DataType), False)},
    "IConcatenationLayer": {"axis": (INT, False)},
    "IConstantLayer": {"shape": (DIMS, False), "weights": (WEIGHTS, False)},
    "IConvolutionLayer": {
        "num_output_maps": (INT, False),
        "pre_padding": (DIMS, False),
        "post_padding": (DIMS, False),
        "padding_mode": (_enumc(PaddingMode), False),
        "num_groups": (INT, False),
        "kernel": (WEIGHTS, False),
        "bias": (WEIGHTS, False),
        "kernel_size_nd": (DIMS, False),
        "stride_nd": (DIMS, False),
        "padding_nd": (DIMS, False),
        "dilation_nd": (DIMS, False),
    },
    "ICumulativeLayer": {
        "op": (_enumc(CumulativeOperation), False),
        "exclusive": (BOOL, False),
        "reverse": (BOOL, False),
    },
    "IDequantizeLayer": {
        "axis": (INT, False),
        "block_shape": (DIMS, False),
        "to_type": (_enumc(DataType), False),
    },
    "IDistCollectiveLayer": {},
    "IDynamicQuantizeLayer": {
        "axis": (INT, False),
        "block_size": (INT, False),
        "block_shape": (DIMS, False),
        "scale_type": (_enumc(DataType), False),
        "to_type": (_enumc(DataType), False),
    },
    "IEinsumLayer": {"equation": (STR, False)},
    "IElementWiseLayer": {"op": (_enumc(ElementWiseOperation), False)},
    "IFillLayer": {
        "alpha": (FLOAT, False),
        "beta": (FLOAT, False),
        "operation": (_enumc(FillOperation), False),
        "shape": (DIMS, False),
        "to_type": (_enumc(DataType), False),
    },
    "IGatherLayer": {
        "axis": (INT, False),
        "mode": (_enumc(GatherMode), False),
        "num_elementwise_dims": (INT, False),
    },
    "IGridSampleLayer": {
        "align_corners": (BOOL, False),
        "interpolation_mode": (_enumc(InterpolationMode), False),
        "sample_mode": (_enumc(SampleMode), False),
    },
    "IIdentityLayer": {},
    "IKVCacheUpdateLayer": {"cache_mode": (_enumc(KVCacheMode), False)},
    "ILRNLayer": {
        "alpha": (FLOAT, False),
        "beta": (FLOAT, False),
        "k": (FLOAT, False),
        "window_size": (INT, False),
    },
    "IMatrixMultiplyLayer": {
        "op0": (_enumc(MatrixOperation), False),
        "op1": (_enumc(MatrixOperation), False),
    },
    "IMoELayer": {
        "activation_type": (_enumc(MoEActType), False),
        "dyn_q_output_scale_type": (_enumc(DataType), False),
        "quantization_block_shape": (DIMS, False),
        "quantization_to_type": (_enumc(DataType), False),
        "swiglu_param_alpha": (FLOAT, False),
        "swiglu_param_beta": (FLOAT, False),
        "swiglu_param_limit": (FLOAT, False),
    },
    "INMSLayer": {
        "bounding_box_format": (_enumc(BoundingBoxFormat), False),
        "indices_type": (_enumc(DataType), False),
        "topk_box_limit": (INT, False),
    },
    "INonZeroLayer": {"indices_type": (_enumc(DataType), False)},
    "INormalizationLayer": {
        "axes": (INT, False),
        "compute_precision": (_enumc(DataType), False),
        "epsilon": (FLOAT, False),
        "is_v2": (BOOL, True),
        "num_groups": (INT, False),
    },
    "IOneHotLayer": {"axis": (INT, False)},
    "IPaddingLayer": {"pre_padding_nd": (DIMS, False), "post_padding_nd": (DIMS, False)},
    "IParametricReLULayer": {},
    "IPluginV2Layer": {"plugin": (STR, True)},
    "IPluginV3Layer": {"plugin": (STR, True)},
    "IPoolingLayer": {
        "type": (_enumc(PoolingType), False),
        "average_count_excludes_padding": (BOOL, False),
        "blend_factor": (FLOAT, False),
        "padding_mode": (_enumc(PaddingMode), False),
        "padding_nd": (DIMS, False),
        "post_padding": (DIMS, False),
        "pre_padding": (DIMS, False),
        "stride_nd": (DIMS, False),
        "window_size_nd": (DIMS, False),
    },
    "IQuantizeLayer": {
        "axis": (INT, False),
        "block_shape": (DIMS, False),
        "to_type": (_enumc(DataType), False),
    },
    "IRaggedSoftMaxLayer": {},
    "IReduceLayer": {
        "axes": (INT, False),
        "keep_dims": (BOOL, False),
        "op": (_enumc(ReduceOperation), False),
    },
    "IResizeLayer": {
        "coordinate_transformation": (_enumc(ResizeCoordinateTransformation), False),
        "cubic_coeff": (FLOAT, False),
        "exclude_outside": (BOOL, False),
        "nearest_rounding": (_enumc(ResizeRoundMode), False),
        "resize_mode": (_enumc(InterpolationMode), False),
        "scales": (FLOATS, False),
        "selector_for_single_pixel": (_enumc(ResizeSelector), False),
        "shape": (DIMS, False),
    },
    "IReverseSequenceLayer": {"batch_axis": (INT, False), "sequence_axis": (INT, False)},
    "IRotaryEmbeddingLayer": {"interleaved": (BOOL, False), "rotary_embedding_dim": (INT, False)},
    "IScaleLayer": {
        "channel_axis": (INT, False),
        "mode": (_enumc(ScaleMode), False),
        "power": (WEIGHTS, False),
        "scale": (WEIGHTS, False),
        "shift": (WEIGHTS, False),
    },
    "IScatterLayer": {"axis": (INT, False), "mode": (_enumc(ScatterMode), False)},
    "ISelectLayer": {},
    "IShapeLayer": {},
    "IShuffleLayer": {
        "first_transpose": (PERM, False),
        "reshape_dims": (DIMS, False),
        "second_transpose": (PERM, False),
        "zero_is_placeholder": (BOOL, False),
    },
    "ISliceLayer": {
        "axes": (DIMS, False),
        "mode": (_enumc(SampleMode), False),
        "shape": (DIMS, False),
        "start": (DIMS, False),
        "stride": (DIMS, False),
    },
    "ISoftMaxLayer": {"axes": (INT, False)},
    "ISqueezeLayer": {},
    "ITopKLayer": {
        "axes": (INT, False),
        "indices_type": (_enumc(DataType), False),
        "k": (INT, False),
        "op": (_enumc(TopKOperation), False),
    },
    "IUnaryLayer": {"op": (_enumc(UnaryOperation), False)},
    "IUnsqueezeLayer": {},
    "IIteratorLayer": {"axis": (INT, False), "reverse": (BOOL, False)},
    "ILoopOutputLayer": {"axis": (INT, False), "kind": (_enumc(LoopOutput), True)},
    "ITripLimitLayer": {"kind": (_enumc(TripLimit), True)},
    "IRecurrenceLayer": {},
    "IConditionLayer": {},
    "IIfConditionalInputLayer": {},
    "IIfConditionalOutputLayer": {},
    "IAttentionInputLayer": {},
    "IAttentionOutputLayer": {},
}

PROPS["IDeconvolutionLayer"] = dict(PROPS["IConvolutionLayer"])

_ITENSOR_OPT = instance(ITensor, optional=True)


class ILayer:
    """Base class for all layer classes in an :class:`INetworkDefinition`."""

    __slots__ = ("__weakref__", "_impl")
    _impl: LayerImpl

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.{type(self).__name__}: No constructor defined!")

    # -- common properties --------------------------------------------------------------
    @property
    def name(self) -> str:
        """The name of the layer."""
        return self._impl.name

    @name.setter
    def name(self, value: str) -> None:
        self._impl.name = check_setter("ILayer", STR, value)
        self._impl.net.touch()

    @property
    def metadata(self) -> str:
        """The per-layer metadata."""
        return self._impl.metadata

    @metadata.setter
    def metadata(self, value: str) -> None:
        self._impl.metadata = check_setter("ILayer", STR, value)
        self._impl.net.touch()

    @property
    def num_ranks(self) -> int:
        """The number of ranks for multi-device execution (default: 1)."""
        return self._impl.num_ranks

    @num_ranks.setter
    def num_ranks(self, value: int) -> None:
        val = check_setter("ILayer", INT, value)
        if val < 1:
            self._impl.net.error(
                f"{self._impl.name}: Error Code 3: API Usage Error (Parameter check failed, "
                f"condition: nbRanks >= 1.)"
            )
            return
        self._impl.num_ranks = val
        self._impl.net.recompute(self._impl)

    @property
    def type(self) -> LayerType:
        """The type of the layer."""
        return self._impl.ltype

    @property
    def num_inputs(self) -> int:
        """The number of inputs of the layer."""
        return len(self._impl.inputs)

    @property
    def num_outputs(self) -> int:
        """The number of outputs of the layer."""
        return len(self._impl.outputs)

    @property
    def precision(self) -> DataType:
        """The computation precision."""
        return self._impl.precision

    @precision.setter
    def precision(self, value: DataType) -> None:
        val = check_setter("ILayer", enum(DataType), value)
        if val.name == "???":
            self._impl.net.error(
                f"{self._impl.name}: Error Code 3: API Usage Error (invalid DataType {int(val)})"
            )
            return
        if self._impl.net.rejects_typing(self._impl.name, "setPrecision"):
            return
        self._impl.precision = val
        self._impl.precision_set = True
        self._impl.net.touch()

    @property
    def precision_is_set(self) -> bool:
        """Whether the precision is set or not."""
        return self._impl.precision_set

    def reset_precision(self) -> None:
        """[DEPRECATED] Reset the computation precision of the layer."""
        self._impl.precision = DataType.FLOAT
        self._impl.precision_set = False
        self._impl.net.touch()

    # -- inputs & outputs -----------------------------------------------------------------
    @api("ILayer", Sig([Arg("index", INT)], f"{MODULE}.ITensor"))
    def get_input(self, index: int) -> ITensor | None:
        """The layer input at ``index``, or None if out of range or unset."""
        inputs = self._impl.inputs
        return inputs[index] if 0 <= index < len(inputs) else None

    @api("ILayer", Sig([Arg("index", INT), Arg("tensor", _ITENSOR_OPT)], "None"))
    def set_input(self, index: int, tensor: ITensor | None) -> None:
        """Set the layer input at ``index`` (optional inputs are appended this way)."""
        self._impl.net.set_layer_input(self._impl, index, tensor)

    @api("ILayer", Sig([Arg("index", INT)], f"{MODULE}.ITensor"))
    def get_output(self, index: int) -> ITensor | None:
        """The layer output at ``index`` (the same ITensor object every time)."""
        outputs = self._impl.outputs
        return outputs[index] if 0 <= index < len(outputs) else None

    @api("ILayer", Sig([Arg("index", INT), Arg("dtype", enum(DataType))], "None"))
    def set_output_type(self, index: int, dtype: DataType) -> None:
        """[DEPRECATED] Constrain the data type of output ``index``."""
        impl = self._impl
        if not 0 <= index < len(impl.outputs) or dtype.name == "???":
            impl.net.error(
                f"{impl.name}: Error Code 3: API Usage Error (Parameter check failed, condition: "
                f"index >= 0 && index < getNbOutputs() and a valid DataType.)"
            )
            return
        if impl.net.rejects_typing(impl.name, "setOutputType"):
            return
        impl.out_types[index] = dtype
        impl.net.recompute(impl)

    @api("ILayer", Sig([Arg("index", INT)], f"{MODULE}.DataType"))
    def get_output_type(self, index: int) -> DataType:
        """The output type set for output ``index`` (DataType.FLOAT if unset)."""
        return self._impl.out_types.get(index, DataType.FLOAT)

    @api("ILayer", Sig([Arg("index", INT)], "bool"))
    def output_type_is_set(self, index: int) -> bool:
        """[DEPRECATED] Whether the output type of ``index`` has been set."""
        return index in self._impl.out_types

    @api("ILayer", Sig([Arg("index", INT)], "None"))
    def reset_output_type(self, index: int) -> None:
        """[DEPRECATED] Reset the output type of ``index``."""
        if self._impl.out_types.pop(index, None) is not None:
            self._impl.net.recompute(self._impl)


def _make_layer_class(name: str, bases: tuple[type, ...], doc: str) -> type:
    ns: dict[str, Any] = {
        "__slots__": (),
        "__doc__": doc,
        "__module__": MODULE,
        "__qualname__": name,
    }
    for prop, (conv, ro) in PROPS.get(name, {}).items():
        ns[prop] = _prop(name, prop, conv, ro)
    return type(name, bases, ns)


ILayer.__module__ = MODULE


class ILoopBoundaryLayer(ILayer):
    """Base of the layers that mark the boundary of an :class:`ILoop`."""

    __slots__ = ()

    @property
    def loop(self) -> Any:
        """The :class:`ILoop` associated with this boundary layer."""
        return self._impl.construct.wrapper


class IIfConditionalBoundaryLayer(ILayer):
    """Base of the layers that mark the boundary of an :class:`IIfConditional`."""

    __slots__ = ()

    @property
    def conditional(self) -> Any:
        """The :class:`IIfConditional` associated with this boundary layer."""
        return self._impl.construct.wrapper


class IAttentionBoundaryLayer(ILayer):
    """Base of the layers that mark the boundary of an :class:`IAttention`."""

    __slots__ = ()

    @property
    def attention(self) -> Any:
        """The :class:`IAttention` associated with this boundary layer."""
        return self._impl.construct.wrapper


for _c in (ILoopBoundaryLayer, IIfConditionalBoundaryLayer, IAttentionBoundaryLayer):
    _c.__module__ = MODULE

_BOUNDARY = {
    "IIteratorLayer": ILoopBoundaryLayer,
    "ILoopOutputLayer": ILoopBoundaryLayer,
    "ITripLimitLayer": ILoopBoundaryLayer,
    "IRecurrenceLayer": ILoopBoundaryLayer,
    "IConditionLayer": IIfConditionalBoundaryLayer,
    "IIfConditionalInputLayer": IIfConditionalBoundaryLayer,
    "IIfConditionalOutputLayer": IIfConditionalBoundaryLayer,
    "IAttentionInputLayer": IAttentionBoundaryLayer,
    "IAttentionOutputLayer": IAttentionBoundaryLayer,
}

LAYER_CLASSES: dict[str, type] = {
    name: _make_layer_class(
        name, (_BOUNDARY.get(name, ILayer),), f"A {name[1:-5]} layer in an INetworkDefinition."
    )
    for name in PROPS
}


def _fill_is_alpha_beta_int64(self: ILayer) -> bool:
    """Whether alpha and beta are stored as int64 (set with integer values)."""
    return bool(self._impl.private.get("alpha_beta_int64", False))


LAYER_CLASSES["IFillLayer"].is_alpha_beta_int64 = _fill_is_alpha_beta_int64  # type: ignore[attr-defined]  # classes are built from PROPS at import


def _fill_scalar(name: str) -> property:
    """``IFillLayer.alpha`` / ``beta``: the bindings' setter takes any object (an int sets
    the int64 form, a real number the double form); what is neither is reported at ERROR
    and leaves the value unchanged, it does not raise."""

    def fget(self: ILayer) -> Any:
        return self._impl.p.get(name)

    def fset(self: ILayer, value: Any) -> None:
        impl = self._impl
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            impl.p[name] = int(value)
            impl.private["alpha_beta_int64"] = True
        else:
            try:
                impl.p[name] = float(value)
            except (TypeError, ValueError):
                impl.net.error(f"{impl.name}: {name} must be an int or a float, got {value!r}")
                return
            impl.private["alpha_beta_int64"] = False
        impl.net.recompute(impl)

    return property(fget, fset, doc=name)


for _name in ("alpha", "beta"):
    setattr(LAYER_CLASSES["IFillLayer"], _name, _fill_scalar(_name))


# ---------------------------------------------------------------------------------------
# properties whose getter or setter is more than a stored value
# ---------------------------------------------------------------------------------------
def _padding_nd(owner: str) -> property:
    """``padding_nd``: symmetric padding; reads back the pre-padding."""

    def fget(self: ILayer) -> Dims:
        return Dims._from(self._impl.p["pre_padding"])

    def fset(self: ILayer, value: Any) -> None:
        val = check_setter(owner, DIMS, value)
        self._impl.p["pre_padding"] = tuple(val)
        self._impl.p["post_padding"] = tuple(val)
        self._impl.net.recompute(self._impl)

    return property(fget, fset, doc="The multi-dimension padding (symmetric).")


for _name in ("IConvolutionLayer", "IDeconvolutionLayer", "IPoolingLayer"):
    LAYER_CLASSES[_name].padding_nd = _padding_nd(_name)  # type: ignore[attr-defined]  # built class


def _defaulted(owner: str, name: str, default: Callable[[LayerImpl], Any]) -> property:
    """A Dims property whose unset value (None) reads as a value derived from the input."""
    base = _prop(owner, name, DIMS, False)

    def fget(self: ILayer) -> Dims:
        val = self._impl.p.get(name)
        dims = _new(Dims)  # Dims._from, inlined as in _prop
        dims._d = list(default(self._impl) if val is None else val)
        return dims

    return property(fget, base.fset, doc=base.__doc__)


def _shuffle_default(impl: LayerImpl) -> tuple[int, ...]:
    x = impl.inputs[0]
    shape = x._shape if x is not None else ()
    perm = impl.p["first_transpose"]
    return tuple(shape[perm[i]] for i in range(len(shape)))


def _input_shape(impl: LayerImpl) -> tuple[int, ...]:
    x = impl.inputs[0]
    return x._shape if x is not None else ()


#: Dims properties whose unset value is computed from the layer: (class, property, default).
DEFAULTED_DIMS: tuple[tuple[str, str, Callable[[LayerImpl], tuple[int, ...]]], ...] = (
    ("IShuffleLayer", "reshape_dims", _shuffle_default),
    ("ISliceLayer", "axes", lambda impl: tuple(range(len(_input_shape(impl))))),
    ("IResizeLayer", "shape", _input_shape),
)
for _dims_owner, _dims_name, _dims_default in DEFAULTED_DIMS:
    setattr(
        LAYER_CLASSES[_dims_owner], _dims_name, _defaulted(_dims_owner, _dims_name, _dims_default)
    )


# ---------------------------------------------------------------------------------------
# IMoELayer write-only setters
# ---------------------------------------------------------------------------------------
_MOE = "IMoELayer"


def _moe_set(impl: LayerImpl, index: int, tensor: ITensor) -> None:
    impl.net.set_layer_input(impl, index, tensor)


@api(
    _MOE,
    Sig(
        [
            Arg("fc_gate_weights", TENSOR),
            Arg("fc_up_weights", TENSOR),
            Arg("fc_down_weights", TENSOR),
            Arg("activation_type", enum(MoEActType)),
        ],
        "None",
    ),
)
def set_gated_weights(
    self: ILayer,
    fc_gate_weights: ITensor,
    fc_up_weights: ITensor,
    fc_down_weights: ITensor,
    activation_type: MoEActType,
) -> None:
    """Set the gated expert weights (inputs 3-5) and the activation type."""
    impl = self._impl
    for i, t in enumerate((fc_gate_weights, fc_up_weights, fc_down_weights)):
        _moe_set(impl, 3 + i, t)
    impl.p["activation_type"] = activation_type
    impl.net.touch()


@api(
    _MOE,
    Sig(
        [Arg("fc_gate_biases", TENSOR), Arg("fc_up_biases", TENSOR), Arg("fc_down_biases", TENSOR)],
        "None",
    ),
)
def set_gated_biases(
    self: ILayer, fc_gate_biases: ITensor, fc_up_biases: ITensor, fc_down_biases: ITensor
) -> None:
    """Set the gated expert biases (inputs 6-8)."""
    for i, t in enumerate((fc_gate_biases, fc_up_biases, fc_down_biases)):
        _moe_set(self._impl, 6 + i, t)


@api(_MOE, Sig([Arg("fc_down_activation_scale", TENSOR), Arg("data_type", enum(DataType))], "None"))
def set_quantization_static(
    self: ILayer, fc_down_activation_scale: ITensor, data_type: DataType
) -> None:
    """Static quantization of the down projection activation (input 9)."""
    impl = self._impl
    _moe_set(impl, 9, fc_down_activation_scale)
    impl.p["quantization_to_type"] = data_type
    impl.private["quantization"] = "static"
    impl.net.touch()


@api(
    _MOE,
    Sig(
        [
            Arg("fc_down_activation_dbl_q_scale", TENSOR),
            Arg("data_type", enum(DataType)),
            Arg("block_shape", DIMS),
            Arg("dyn_q_output_scale_type", enum(DataType)),
        ],
        "None",
    ),
)
def set_quantization_dynamic_dbl_q(
    self: ILayer,
    fc_down_activation_dbl_q_scale: ITensor,
    data_type: DataType,
    block_shape: tuple[int, ...],
    dyn_q_output_scale_type: DataType,
) -> None:
    """Dynamic double quantization of the down projection activation (input 9)."""
    impl = self._impl
    _moe_set(impl, 9, fc_down_activation_dbl_q_scale)
    impl.p["quantization_to_type"] = data_type
    impl.p["quantization_block_shape"] = tuple(block_shape)
    impl.p["dyn_q_output_scale_type"] = dyn_q_output_scale_type
    impl.private["quantization"] = "dynamic_dbl_q"
    impl.net.touch()


@api(_MOE, Sig([Arg("limit", FLOAT), Arg("alpha", FLOAT), Arg("beta", FLOAT)], "None"))
def set_swiglu_params(self: ILayer, limit: float, alpha: float, beta: float) -> None:
    """Set the SwiGLU limit, alpha and beta."""
    impl = self._impl
    impl.p.update(swiglu_param_limit=limit, swiglu_param_alpha=alpha, swiglu_param_beta=beta)
    impl.net.touch()


for _fn in (
    set_gated_weights,
    set_gated_biases,
    set_quantization_static,
    set_quantization_dynamic_dbl_q,
    set_swiglu_params,
):
    setattr(LAYER_CLASSES[_MOE], _fn.__name__, _fn)
