"""INetworkDefinition: every ``add_*`` of TensorRT 10.16 plus the network-level API.

Methods check their Python argument types like pybind11 (TypeError listing the
supported signatures) and report invalid networks like TensorRT: an ERROR through the
builder's logger and a ``None`` result. Defaults of new layers are those TensorRT
documents (see the ``params`` dict of each ``add_*``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from trt_netser.offline._constructs import (
    IAttention,
    IIfConditional,
    ILoop,
    new_attention,
    new_conditional,
    new_loop,
)
from trt_netser.offline._enums import (
    ActivationType,
    AttentionNormalizationOp,
    CollectiveOperation,
    CumulativeOperation,
    DataType,
    ElementWiseOperation,
    FillOperation,
    GatherMode,
    InterpolationMode,
    KVCacheMode,
    LayerType,
    MatrixOperation,
    MoEActType,
    NetworkDefinitionCreationFlag,
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
    UnaryOperation,
)
from trt_netser.offline._layers import DIMS, WEIGHTS, ILayer, LayerImpl
from trt_netser.offline._netimpl import NetworkImpl
from trt_netser.offline._plugins import (
    IPluginV2,
    IPluginV3,
    infer_plugin_v2,
    infer_plugin_v3,
    plugin_v2_display,
)
from trt_netser.offline._pyarg import (
    BOOL,
    FLOAT,
    INT,
    MODULE,
    OBJECT,
    OPT_STR,
    STR,
    Arg,
    Conv,
    Mismatch,
    Sig,
    api,
    check_setter,
    enum,
    instance,
    sequence_of,
)
from trt_netser.offline._tensor import ITensor
from trt_netser.offline._types import Weights, weights_key

T = instance(ITensor)
TS = sequence_of(T)
_R = MODULE + "."
E = enum


def _callable(value: Any) -> Any:
    if not callable(value):
        raise Mismatch
    return value


def _tuple(value: Any) -> Any:
    if not isinstance(value, tuple):
        raise Mismatch
    return value


CALLABLE = Conv("collections.abc.Callable", _callable)
TUPLE = Conv("tuple", _tuple)
NET = "INetworkDefinition"
_new = object.__new__


def _sig(*args: Arg, ret: str) -> Sig:
    return Sig(list(args), _R + ret)


class INetworkDefinition:
    """Represents a TensorRT Network from which the Builder can build an Engine."""

    __slots__ = ("__weakref__", "_impl")
    _impl: NetworkImpl

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.INetworkDefinition: No constructor defined!")

    @classmethod
    def _make(cls, impl: NetworkImpl) -> INetworkDefinition:
        obj = object.__new__(cls)
        obj._impl = impl
        return obj

    # -- helpers ------------------------------------------------------------------------
    def _layer(
        self,
        api_name: str,
        ltype: LayerType,
        inputs: list[ITensor | None],
        params: dict[str, Any] | None = None,
        **kw: Any,
    ) -> ILayer | None:
        impl = self._impl.add(api_name, ltype, inputs, params, **kw)
        if impl is None:
            return None
        wrapper = impl.wrap()
        return wrapper

    def _register_weights(self, layer: ILayer, *attrs: str) -> None:
        names = self._impl.weight_names
        for attr in attrs:
            names.use(layer._impl, attr, layer._impl.p[attr])

    # -- network properties ---------------------------------------------------------------
    @property
    def name(self) -> str:
        """The name of the network (default ``Unnamed Network N``)."""
        return self._impl.name

    @name.setter
    def name(self, value: str) -> None:
        self._impl.name = check_setter(NET, STR, value)
        self._impl.touch()

    @property
    def num_layers(self) -> int:
        """The number of layers in the network."""
        return len(self._impl.layers)

    @property
    def num_inputs(self) -> int:
        """The number of inputs of the network."""
        return len(self._impl.inputs)

    @property
    def num_outputs(self) -> int:
        """The number of outputs of the network."""
        return len(self._impl.outputs)

    @property
    def flags(self) -> int:
        """Bitset of the NetworkDefinitionCreationFlag values set for this network."""
        return self._impl.flags

    @property
    def has_implicit_batch_dimension(self) -> bool:
        """[DEPRECATED] Always False."""
        return False

    @property
    def builder(self) -> Any:
        """The Builder that created this network."""
        return self._impl.builder

    @property
    def error_recorder(self) -> Any:
        """Application-implemented error reporting interface (None by default)."""
        return self._impl.error_recorder

    @error_recorder.setter
    def error_recorder(self, value: Any) -> None:
        self._impl.error_recorder = value

    @api(NET, Sig([Arg("flag", E(NetworkDefinitionCreationFlag))], "bool"))
    def get_flag(self, flag: NetworkDefinitionCreationFlag) -> bool:
        """Whether the creation flag is set."""
        return bool(self._impl.flags >> int(flag) & 1) if int(flag) >= 0 else False

    @api(NET, Sig([Arg("index", INT)], _R + "ILayer"))
    def get_layer(self, index: int) -> ILayer | None:
        """The layer at ``index`` as an :class:`ILayer` (downcast with ``__class__``)."""
        layers = self._impl.layers
        if not 0 <= index < len(layers):
            return None
        impl = layers[index]
        ref = impl.live
        if ref is not None:
            live = ref()
            if live is not None and type(live) is ILayer:
                return live
        wrapper = _new(ILayer)  # impl.wrap(ILayer), inlined: a walk gets every layer
        wrapper._impl = impl
        impl.live = weakref.ref(wrapper)
        return wrapper

    @api(NET, Sig([Arg("index", INT)], _R + "ITensor"))
    def get_input(self, index: int) -> ITensor | None:
        """The network input at ``index``."""
        ins = self._impl.inputs
        return ins[index] if 0 <= index < len(ins) else None

    @api(NET, Sig([Arg("index", INT)], _R + "ITensor"))
    def get_output(self, index: int) -> ITensor | None:
        """The network output at ``index``."""
        outs = self._impl.outputs
        return outs[index] if 0 <= index < len(outs) else None

    # -- inputs & outputs ----------------------------------------------------------------------
    @api(NET, _sig(Arg("name", STR), Arg("dtype", E(DataType)), Arg("shape", DIMS), ret="ITensor"))
    def add_input(self, name: str, dtype: DataType, shape: tuple[int, ...]) -> ITensor:
        """Add a network input (typed as TensorRT's bindings declare it: an ITensor)."""
        net = self._impl
        if dtype.name == "???" or any(d < -1 for d in shape):
            net.error(
                f"INetworkDefinition::addInput: Error Code 3: API Usage Error (Parameter check failed, "
                f"condition: valid type and dimensions for input '{name}'.)"
            )
            # TensorRT returns None (nullptr) here though its signature says ITensor.
            return None  # type: ignore[return-value]
        t = ITensor._create(net, name, tuple(shape), dtype)
        net.inputs.append(t)
        net.input_set.add(t)
        net.touch()
        return t

    @api(NET, Sig([Arg("tensor", T)], "None"))
    def mark_output(self, tensor: ITensor) -> None:
        """Mark a tensor as a network output."""
        net = self._impl
        if tensor._net is not net:
            net.error(
                "INetworkDefinition::markOutput: Error Code 3: API Usage Error (tensor of another network.)"
            )
            return
        if tensor not in net.output_set:
            net.outputs.append(tensor)
            net.output_set.add(tensor)
            net.touch()

    @api(NET, Sig([Arg("tensor", T)], "None"))
    def unmark_output(self, tensor: ITensor) -> None:
        """Unmark a tensor as a network output."""
        net = self._impl
        if tensor in net.output_set:
            net.output_set.discard(tensor)
            net.outputs.remove(tensor)
            net.touch()

    @api(NET, Sig([Arg("tensor", T)], "bool"))
    def mark_output_for_shapes(self, tensor: ITensor) -> bool:
        """Mark a shape tensor as an output; False if it already is one."""
        net = self._impl
        if tensor in net.shape_outputs:
            return False
        if tensor._dtype not in (DataType.INT32, DataType.INT64) or len(tensor._shape) > 1:
            net.error(
                "INetworkDefinition::markOutputForShapes: Error Code 3: API Usage Error (the tensor must be "
                "an INT32/INT64 tensor of rank <= 1.)"
            )
            return False
        net.shape_outputs.append(tensor)
        net.touch()
        return True

    @api(NET, Sig([Arg("tensor", T)], "bool"))
    def unmark_output_for_shapes(self, tensor: ITensor) -> bool:
        """Undo mark_output_for_shapes; False if the tensor was not marked."""
        net = self._impl
        if tensor not in net.shape_outputs:
            return False
        net.shape_outputs.remove(tensor)
        net.touch()
        return True

    @api(NET, Sig([Arg("tensor", T)], "bool"))
    def mark_debug(self, tensor: ITensor) -> bool:
        """Mark a tensor as a debug tensor."""
        self._impl.debug.add(tensor)
        self._impl.touch()
        return True

    @api(NET, Sig([Arg("tensor", T)], "bool"))
    def unmark_debug(self, tensor: ITensor) -> bool:
        """Unmark a debug tensor."""
        if tensor not in self._impl.debug:
            return False
        self._impl.debug.discard(tensor)
        self._impl.touch()
        return True

    @api(NET, Sig([Arg("tensor", T)], "bool"))
    def is_debug_tensor(self, tensor: ITensor) -> bool:
        """Whether the tensor is marked as a debug tensor."""
        return tensor in self._impl.debug

    def mark_unfused_tensors_as_debug_tensors(self) -> bool:
        """Mark unfused tensors as debug tensors."""
        self._impl.unfused_debug = True
        self._impl.touch()
        return True

    def unmark_unfused_tensors_as_debug_tensors(self) -> bool:
        """Undo mark_unfused_tensors_as_debug_tensors."""
        self._impl.unfused_debug = False
        self._impl.touch()
        return True

    @api(NET, Sig([Arg("tensor", T)], "None"))
    def remove_tensor(self, tensor: ITensor) -> None:
        """Remove an unused network input (other tensors: a warning, ignored)."""
        net = self._impl
        if tensor._producer is not None or tensor._consumers or tensor not in net.input_set:
            net.warning(
                "INetworkDefinition::removeTensor: the tensor is the input or output of a layer; ignored."
            )
            return
        net.inputs.remove(tensor)
        net.input_set.discard(tensor)
        net.output_set.discard(tensor)
        if tensor in net.outputs:
            net.outputs.remove(tensor)
        net.touch()

    # -- weights naming / refit ---------------------------------------------------------------
    @api(NET, Sig([Arg("weights", WEIGHTS), Arg("name", OPT_STR)], "bool"))
    def set_weights_name(self, weights: Weights, name: str | None) -> bool:
        """Name all current uses of ``weights`` (matched by pointer, type and count); see
        :mod:`trt_netser.offline._weightnames`."""
        net = self._impl
        names = net.weight_names
        key = weights_key(weights)
        uses = names.current_uses(key[0]) if weights.size else []
        same = [u for u in uses if weights_key(u[0].p[u[1]]) == key]
        if len(same) != len(uses):
            net.error(
                "INetworkDefinition::setWeightsName: Error Code 3: API Usage Error (weights with "
                "the same value pointer but a different type or count are used in the network; "
                f"the name {name!r} is rejected.)"
            )
            return False
        if not same:
            net.error(
                "INetworkDefinition::setWeightsName: Error Code 3: API Usage Error (the weights are not "
                "used in the network.)"
            )
            return False
        if name is not None and any(k != key for k in names.names(name)):
            return False  # the name is used for other weights
        names.set(same, key, name)
        net.touch()
        return True

    @api(NET, Sig([Arg("name", STR)], "bool"))
    def mark_weights_refittable(self, name: str) -> bool:
        """Mark the named weights refittable (for REFIT_INDIVIDUAL builds)."""
        net = self._impl
        known = bool(net.weight_names.names(name)) or any(
            layer.name == name and any(isinstance(v, Weights) and v.size for v in layer.p.values())
            for layer in net.layers
        )
        if not known:
            net.error(
                f"INetworkDefinition::markWeightsRefittable: Error Code 3: API Usage Error (no weights "
                f"named '{name}'.)"
            )
            return False
        net.refittable.add(name)
        net.touch()
        return True

    @api(NET, Sig([Arg("name", STR)], "bool"))
    def unmark_weights_refittable(self, name: str) -> bool:
        """Unmark the named weights as refittable."""
        if name not in self._impl.refittable:
            return False
        self._impl.refittable.discard(name)
        self._impl.touch()
        return True

    @api(NET, Sig([Arg("name", STR)], "bool"))
    def are_weights_marked_refittable(self, name: str) -> bool:
        """Whether the named weights are marked refittable."""
        return name in self._impl.refittable

    # -- layers -----------------------------------------------------------------------------
    @api(NET, _sig(Arg("input", T), Arg("type", E(ActivationType)), ret="IActivationLayer"))
    def add_activation(self, input: ITensor, type: ActivationType) -> Any:
        """Add an activation layer."""
        return self._layer(
            "INetworkDefinition::addActivation",
            LayerType.ACTIVATION,
            [input],
            {"type": type, "alpha": 0.0, "beta": 0.0},
        )

    @api(NET, _sig(Arg("condition", T), Arg("message", STR), ret="IAssertionLayer"))
    def add_assertion(self, condition: ITensor, message: str) -> Any:
        """Add an assertion layer."""
        return self._layer(
            "INetworkDefinition::addAssertion",
            LayerType.ASSERTION,
            [condition],
            {"message": message},
        )

    @api(
        NET,
        _sig(
            Arg("query", T),
            Arg("key", T),
            Arg("value", T),
            Arg("norm_op", E(AttentionNormalizationOp)),
            Arg("causal", BOOL),
            ret="IAttention",
        ),
    )
    def add_attention(
        self,
        query: ITensor,
        key: ITensor,
        value: ITensor,
        norm_op: AttentionNormalizationOp,
        causal: bool,
    ) -> IAttention | None:
        """Add an attention (an IAttentionInputLayer and an IAttentionOutputLayer)."""
        self._impl.n_attention += 1
        return new_attention(
            self._impl, self._impl.n_attention - 1, query, key, value, norm_op, causal
        )

    @api(NET, _sig(Arg("input", T), Arg("to_type", E(DataType)), ret="ICastLayer"))
    def add_cast(self, input: ITensor, to_type: DataType) -> Any:
        """Add a cast layer."""
        return self._layer(
            "INetworkDefinition::addCast", LayerType.CAST, [input], {"to_type": to_type}
        )

    @api(NET, _sig(Arg("inputs", TS), ret="IConcatenationLayer"))
    def add_concatenation(self, inputs: list[ITensor]) -> Any:
        """Add a concatenation layer (default axis: rank - 3, or 0 below rank 3)."""
        if not inputs:
            self._impl.error(
                "INetworkDefinition::addConcatenation: Error Code 3: API Usage Error (Parameter check "
                "failed, condition: nbInputs > 0.)"
            )
            return None
        axis = max(len(inputs[0]._shape) - 3, 0)
        return self._layer(
            "INetworkDefinition::addConcatenation",
            LayerType.CONCATENATION,
            list(inputs),
            {"axis": axis},
        )

    @api(NET, _sig(Arg("shape", DIMS), Arg("weights", WEIGHTS), ret="IConstantLayer"))
    def add_constant(self, shape: tuple[int, ...], weights: Weights) -> Any:
        """Add a constant layer."""
        layer = self._layer(
            "INetworkDefinition::addConstant",
            LayerType.CONSTANT,
            [],
            {"shape": tuple(shape), "weights": weights},
        )
        if layer is not None:
            self._register_weights(layer, "weights")
        return layer

    def _conv(
        self,
        api_name: str,
        ltype: LayerType,
        input: ITensor,
        num_output_maps: int,
        kernel_shape: tuple[int, ...],
        kernel: Weights,
        bias: Weights,
    ) -> Any:
        n = len(kernel_shape)
        params = {
            "num_output_maps": num_output_maps,
            "kernel_size_nd": tuple(kernel_shape),
            "kernel": kernel,
            "bias": bias,
            "num_groups": 1,
            "stride_nd": (1,) * n,
            "pre_padding": (0,) * n,
            "post_padding": (0,) * n,
            "padding_mode": PaddingMode.EXPLICIT_ROUND_DOWN,
            "dilation_nd": (1,) * n,
        }
        layer = self._layer(api_name, ltype, [input], params)
        if layer is not None:
            self._register_weights(layer, "kernel", "bias")
        return layer

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("num_output_maps", INT),
            Arg("kernel_shape", DIMS),
            Arg("kernel", WEIGHTS),
            Arg("bias", WEIGHTS, None),
            ret="IConvolutionLayer",
        ),
    )
    def add_convolution_nd(
        self,
        input: ITensor,
        num_output_maps: int,
        kernel_shape: tuple[int, ...],
        kernel: Weights,
        bias: Weights,
    ) -> Any:
        """Add a multi-dimension convolution layer."""
        return self._conv(
            "INetworkDefinition::addConvolutionNd",
            LayerType.CONVOLUTION,
            input,
            num_output_maps,
            kernel_shape,
            kernel,
            bias,
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("num_output_maps", INT),
            Arg("kernel_shape", DIMS),
            Arg("kernel", WEIGHTS),
            Arg("bias", WEIGHTS, None),
            ret="IDeconvolutionLayer",
        ),
    )
    def add_deconvolution_nd(
        self,
        input: ITensor,
        num_output_maps: int,
        kernel_shape: tuple[int, ...],
        kernel: Weights,
        bias: Weights,
    ) -> Any:
        """Add a multi-dimension deconvolution layer."""
        return self._conv(
            "INetworkDefinition::addDeconvolutionNd",
            LayerType.DECONVOLUTION,
            input,
            num_output_maps,
            kernel_shape,
            kernel,
            bias,
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("axis", T),
            Arg("op", E(CumulativeOperation)),
            Arg("exclusive", BOOL),
            Arg("reverse", BOOL),
            ret="ICumulativeLayer",
        ),
    )
    def add_cumulative(
        self, input: ITensor, axis: ITensor, op: CumulativeOperation, exclusive: bool, reverse: bool
    ) -> Any:
        """Add a cumulative layer."""
        return self._layer(
            "INetworkDefinition::addCumulative",
            LayerType.CUMULATIVE,
            [input, axis],
            {"op": op, "exclusive": exclusive, "reverse": reverse},
        )

    @api(
        NET,
        _sig(Arg("input", T), Arg("scale", T), ret="IDequantizeLayer"),
        _sig(
            Arg("input", T),
            Arg("scale", T),
            Arg("output_type", E(DataType)),
            ret="IDequantizeLayer",
        ),
    )
    def add_dequantize(
        self, input: ITensor, scale: ITensor, output_type: DataType = DataType.FLOAT
    ) -> Any:
        """Add a dequantization layer (default output type float32)."""
        return self._layer(
            "INetworkDefinition::addDequantize",
            LayerType.DEQUANTIZE,
            [input, scale],
            {"axis": -1, "block_shape": (), "to_type": output_type},
        )

    @api(
        NET,
        _sig(Arg("input", T), Arg("scale", T), ret="IQuantizeLayer"),
        _sig(
            Arg("input", T), Arg("scale", T), Arg("output_type", E(DataType)), ret="IQuantizeLayer"
        ),
    )
    def add_quantize(
        self, input: ITensor, scale: ITensor, output_type: DataType = DataType.INT8
    ) -> Any:
        """Add a quantization layer (default output type int8)."""
        return self._layer(
            "INetworkDefinition::addQuantize",
            LayerType.QUANTIZE,
            [input, scale],
            {"axis": -1, "block_shape": (), "to_type": output_type},
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("dist_collective_op", E(CollectiveOperation)),
            Arg("reduce_op", OBJECT),
            Arg("root", OBJECT),
            Arg("groups", OBJECT),
            ret="IDistCollectiveLayer",
        ),
    )
    def add_dist_collective(
        self,
        input: ITensor,
        dist_collective_op: CollectiveOperation,
        reduce_op: Any,
        root: Any,
        groups: Any,
    ) -> Any:
        """Add a dist collective layer (its configuration is write-only, as in TensorRT)."""
        net = self._impl
        if reduce_op is not None and type(reduce_op) is not ReduceOperation:
            raise TypeError("add_dist_collective(): reduce_op must be a ReduceOperation or None")
        try:
            root_v = None if root is None else INT(root)
            groups_v = None if groups is None else [INT(g) for g in groups]
        except (Mismatch, TypeError):
            raise TypeError(
                "add_dist_collective(): root must be an int or None and groups a list of int "
                "or None"
            ) from None
        needs_reduce = dist_collective_op in (
            CollectiveOperation.ALL_REDUCE,
            CollectiveOperation.REDUCE,
            CollectiveOperation.REDUCE_SCATTER,
        )
        if needs_reduce and reduce_op is None:
            net.error(
                "INetworkDefinition::addDistCollective: Error Code 3: API Usage Error (reduce_op is "
                f"required for {dist_collective_op.name}.)"
            )
            return None
        private = {
            "op": dist_collective_op,
            "reduce_op": reduce_op,
            "root": root_v,
            "groups": groups_v,
        }
        return self._layer(
            "INetworkDefinition::addDistCollective",
            LayerType.DIST_COLLECTIVE,
            [input],
            {},
            private=private,
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("axis", INT),
            Arg("block_size", INT),
            Arg("output_type", E(DataType)),
            Arg("scale_type", E(DataType)),
            ret="IDynamicQuantizeLayer",
        ),
    )
    def add_dynamic_quantize(
        self,
        input: ITensor,
        axis: int,
        block_size: int,
        output_type: DataType,
        scale_type: DataType,
    ) -> Any:
        """Add a dynamic (block) quantization layer."""
        return self._layer(
            "INetworkDefinition::addDynamicQuantize",
            LayerType.DYNAMIC_QUANTIZE,
            [input],
            {
                "axis": axis,
                "block_size": block_size,
                "block_shape": (),
                "to_type": output_type,
                "scale_type": scale_type,
            },
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("block_shape", DIMS),
            Arg("output_type", E(DataType)),
            Arg("scale_type", E(DataType)),
            ret="IDynamicQuantizeLayer",
        ),
    )
    def add_dynamic_quantize_v2(
        self,
        input: ITensor,
        block_shape: tuple[int, ...],
        output_type: DataType,
        scale_type: DataType,
    ) -> Any:
        """Add a dynamic quantization layer with an N-D block shape."""
        return self._layer(
            "INetworkDefinition::addDynamicQuantizeV2",
            LayerType.DYNAMIC_QUANTIZE,
            [input],
            {
                "axis": -1,
                "block_size": 0,
                "block_shape": tuple(block_shape),
                "to_type": output_type,
                "scale_type": scale_type,
            },
            private={"v2": True},
        )

    @api(NET, _sig(Arg("inputs", TS), Arg("equation", STR), ret="IEinsumLayer"))
    def add_einsum(self, inputs: list[ITensor], equation: str) -> Any:
        """Add an Einsum layer."""
        return self._layer(
            "INetworkDefinition::addEinsum", LayerType.EINSUM, list(inputs), {"equation": equation}
        )

    @api(
        NET,
        _sig(
            Arg("input1", T),
            Arg("input2", T),
            Arg("op", E(ElementWiseOperation)),
            ret="IElementWiseLayer",
        ),
    )
    def add_elementwise(self, input1: ITensor, input2: ITensor, op: ElementWiseOperation) -> Any:
        """Add an elementwise layer (inputs of equal rank, broadcast where a dimension is 1)."""
        return self._layer(
            "INetworkDefinition::addElementWise",
            LayerType.ELEMENTWISE,
            [input1, input2],
            {"op": op},
        )

    @api(
        NET,
        _sig(
            Arg("shape", DIMS),
            Arg("op", E(FillOperation)),
            Arg("output_type", E(DataType)),
            ret="IFillLayer",
        ),
        _sig(Arg("shape", DIMS), Arg("op", E(FillOperation)), ret="IFillLayer"),
    )
    def add_fill(
        self, shape: tuple[int, ...], op: FillOperation, output_type: DataType = DataType.FLOAT
    ) -> Any:
        """Add a fill layer (default output type float32)."""
        return self._layer(
            "INetworkDefinition::addFill",
            LayerType.FILL,
            [],
            {
                "shape": tuple(shape),
                "operation": op,
                "to_type": output_type,
                "alpha": 0.0,
                "beta": 1.0,
            },
        )

    @api(NET, _sig(Arg("input", T), Arg("indices", T), Arg("axis", INT), ret="IGatherLayer"))
    def add_gather(self, input: ITensor, indices: ITensor, axis: int) -> Any:
        """Add a gather layer (GatherMode.DEFAULT)."""
        return self._layer(
            "INetworkDefinition::addGather",
            LayerType.GATHER,
            [input, indices],
            {"axis": axis, "mode": GatherMode.DEFAULT, "num_elementwise_dims": 0},
        )

    @api(
        NET,
        _sig(Arg("input", T), Arg("indices", T), Arg("mode", E(GatherMode)), ret="IGatherLayer"),
    )
    def add_gather_v2(self, input: ITensor, indices: ITensor, mode: GatherMode) -> Any:
        """Add a gather layer with a gather mode."""
        return self._layer(
            "INetworkDefinition::addGatherV2",
            LayerType.GATHER,
            [input, indices],
            {"axis": 0, "mode": mode, "num_elementwise_dims": 0},
        )

    @api(NET, _sig(Arg("input", T), Arg("grid", T), ret="IGridSampleLayer"))
    def add_grid_sample(self, input: ITensor, grid: ITensor) -> Any:
        """Add a grid sample layer (LINEAR, unaligned corners, FILL)."""
        return self._layer(
            "INetworkDefinition::addGridSample",
            LayerType.GRID_SAMPLE,
            [input, grid],
            {
                "interpolation_mode": InterpolationMode.LINEAR,
                "align_corners": False,
                "sample_mode": SampleMode.FILL,
            },
        )

    @api(NET, _sig(Arg("input", T), ret="IIdentityLayer"))
    def add_identity(self, input: ITensor) -> Any:
        """Add an identity layer."""
        return self._layer("INetworkDefinition::addIdentity", LayerType.IDENTITY, [input])

    def add_if_conditional(self) -> IIfConditional:
        """Add an if-conditional."""
        self._impl.n_cond += 1
        return new_conditional(self._impl, self._impl.n_cond - 1)

    @api(
        NET,
        _sig(
            Arg("cache", T),
            Arg("update", T),
            Arg("write_indices", T),
            Arg("cache_mode", E(KVCacheMode)),
            ret="IKVCacheUpdateLayer",
        ),
    )
    def add_kv_cache_update(
        self, cache: ITensor, update: ITensor, write_indices: ITensor, cache_mode: KVCacheMode
    ) -> Any:
        """Add a KV-cache update layer."""
        return self._layer(
            "INetworkDefinition::addKVCacheUpdate",
            LayerType.KV_CACHE_UPDATE,
            [cache, update, write_indices],
            {"cache_mode": cache_mode},
        )

    def add_loop(self) -> ILoop:
        """Add a loop."""
        self._impl.n_loop += 1
        return new_loop(self._impl, self._impl.n_loop - 1)

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("window", INT),
            Arg("alpha", FLOAT),
            Arg("beta", FLOAT),
            Arg("k", FLOAT),
            ret="ILRNLayer",
        ),
    )
    def add_lrn(self, input: ITensor, window: int, alpha: float, beta: float, k: float) -> Any:
        """Add an LRN layer."""
        return self._layer(
            "INetworkDefinition::addLRN",
            LayerType.LRN,
            [input],
            {"window_size": window, "alpha": alpha, "beta": beta, "k": k},
        )

    @api(
        NET,
        _sig(
            Arg("input0", T),
            Arg("op0", E(MatrixOperation)),
            Arg("input1", T),
            Arg("op1", E(MatrixOperation)),
            ret="IMatrixMultiplyLayer",
        ),
    )
    def add_matrix_multiply(
        self, input0: ITensor, op0: MatrixOperation, input1: ITensor, op1: MatrixOperation
    ) -> Any:
        """Add a matrix multiply layer."""
        return self._layer(
            "INetworkDefinition::addMatrixMultiply",
            LayerType.MATRIX_MULTIPLY,
            [input0, input1],
            {"op0": op0, "op1": op1},
        )

    @api(
        NET,
        _sig(
            Arg("hidden_states", T),
            Arg("selected_experts_for_tokens", T),
            Arg("scores_for_selected_experts", T),
            ret="IMoELayer",
        ),
    )
    def add_moe(
        self,
        hidden_states: ITensor,
        selected_experts_for_tokens: ITensor,
        scores_for_selected_experts: ITensor,
    ) -> Any:
        """Add a MoE layer (configure it with the write-only set_* methods)."""
        params = {
            "activation_type": MoEActType.NONE,
            "quantization_to_type": DataType.FLOAT,
            "quantization_block_shape": (),
            "dyn_q_output_scale_type": DataType.FLOAT,
            "swiglu_param_limit": float("inf"),
            "swiglu_param_alpha": 1.0,
            "swiglu_param_beta": 0.0,
        }
        return self._layer(
            "INetworkDefinition::addMoE",
            LayerType.MOE,
            [hidden_states, selected_experts_for_tokens, scores_for_selected_experts],
            params,
        )

    @api(
        NET,
        _sig(
            Arg("boxes", T), Arg("scores", T), Arg("max_output_boxes_per_class", T), ret="INMSLayer"
        ),
        _sig(
            Arg("boxes", T),
            Arg("scores", T),
            Arg("max_output_boxes_per_class", T),
            Arg("indices_type", E(DataType)),
            ret="INMSLayer",
        ),
    )
    def add_nms(
        self,
        boxes: ITensor,
        scores: ITensor,
        max_output_boxes_per_class: ITensor,
        indices_type: DataType = DataType.INT32,
    ) -> Any:
        """Add a non-maximum suppression layer."""
        from trt_netser.offline._enums import BoundingBoxFormat

        return self._layer(
            "INetworkDefinition::addNMS",
            LayerType.NMS,
            [boxes, scores, max_output_boxes_per_class],
            {
                "bounding_box_format": BoundingBoxFormat.CORNER_PAIRS,
                "topk_box_limit": 5000,
                "indices_type": indices_type,
            },
        )

    @api(
        NET,
        _sig(Arg("input", T), ret="INonZeroLayer"),
        _sig(Arg("input", T), Arg("indices_type", E(DataType)), ret="INonZeroLayer"),
    )
    def add_non_zero(self, input: ITensor, indices_type: DataType = DataType.INT32) -> Any:
        """Add a NonZero layer."""
        return self._layer(
            "INetworkDefinition::addNonZero",
            LayerType.NON_ZERO,
            [input],
            {"indices_type": indices_type},
        )

    def _norm(
        self, api_name: str, input: ITensor, scale: ITensor, bias: ITensor, axes: int, v2: bool
    ) -> Any:
        return self._layer(
            api_name,
            LayerType.NORMALIZATION,
            [input, scale, bias],
            {
                "axes": axes,
                "epsilon": 1e-5,
                "num_groups": 1,
                "compute_precision": DataType.FLOAT,
                "is_v2": v2,
            },
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("scale", T),
            Arg("bias", T),
            Arg("axesMask", INT),
            ret="INormalizationLayer",
        ),
    )
    def add_normalization(
        self, input: ITensor, scale: ITensor, bias: ITensor, axesMask: int
    ) -> Any:
        """[DEPRECATED] Add a normalization layer (use add_normalization_v2)."""
        return self._norm(
            "INetworkDefinition::addNormalization", input, scale, bias, axesMask, False
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("scale", T),
            Arg("bias", T),
            Arg("axesMask", INT),
            ret="INormalizationLayer",
        ),
    )
    def add_normalization_v2(
        self, input: ITensor, scale: ITensor, bias: ITensor, axesMask: int
    ) -> Any:
        """Add a normalization layer (scale/bias [1, C, 1, 1] for group norm)."""
        return self._norm(
            "INetworkDefinition::addNormalizationV2", input, scale, bias, axesMask, True
        )

    @api(
        NET,
        _sig(
            Arg("indices", T),
            Arg("values", T),
            Arg("depth", T),
            Arg("axis", INT),
            ret="IOneHotLayer",
        ),
    )
    def add_one_hot(self, indices: ITensor, values: ITensor, depth: ITensor, axis: int) -> Any:
        """Add a OneHot layer."""
        return self._layer(
            "INetworkDefinition::addOneHot",
            LayerType.ONE_HOT,
            [indices, values, depth],
            {"axis": axis},
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("pre_padding", DIMS),
            Arg("post_padding", DIMS),
            ret="IPaddingLayer",
        ),
    )
    def add_padding_nd(
        self, input: ITensor, pre_padding: tuple[int, ...], post_padding: tuple[int, ...]
    ) -> Any:
        """Add a multi-dimensional padding layer."""
        return self._layer(
            "INetworkDefinition::addPaddingNd",
            LayerType.PADDING,
            [input],
            {"pre_padding_nd": tuple(pre_padding), "post_padding_nd": tuple(post_padding)},
        )

    @api(NET, _sig(Arg("input", T), Arg("slopes", T), ret="IParametricReLULayer"))
    def add_parametric_relu(self, input: ITensor, slopes: ITensor) -> Any:
        """Add a parametric ReLU layer."""
        return self._layer(
            "INetworkDefinition::addParametricReLU", LayerType.PARAMETRIC_RELU, [input, slopes]
        )

    @api(NET, _sig(Arg("inputs", TS), Arg("plugin", instance(IPluginV2)), ret="IPluginV2Layer"))
    def add_plugin_v2(self, inputs: list[ITensor], plugin: IPluginV2) -> Any:
        """Add a plugin layer using an IPluginV2 interface."""
        return self._layer(
            "INetworkDefinition::addPluginV2",
            LayerType.PLUGIN_V2,
            list(inputs),
            {"plugin": plugin},
            private={"infer": infer_plugin_v2},
            display=plugin_v2_display(plugin),
        )

    @api(
        NET,
        _sig(
            Arg("inputs", TS),
            Arg("shape_inputs", TS),
            Arg("plugin", instance(IPluginV3)),
            ret="IPluginV3Layer",
        ),
    )
    def add_plugin_v3(
        self, inputs: list[ITensor], shape_inputs: list[ITensor], plugin: IPluginV3
    ) -> Any:
        """Add a plugin layer using an IPluginV3 interface (shape inputs follow the inputs)."""
        return self._layer(
            "INetworkDefinition::addPluginV3",
            LayerType.PLUGIN_V3,
            [*inputs, *shape_inputs],
            {"plugin": plugin},
            private={"infer": infer_plugin_v3, "num_data_inputs": len(inputs)},
        )

    @api(
        NET,
        _sig(Arg("tuple", TUPLE), ret="IPluginV3Layer"),
        _sig(Arg("func", CALLABLE), ret="IPluginV3Layer"),
        _sig(Arg("func", CALLABLE), Arg("aot", BOOL), ret="IPluginV3Layer"),
    )
    def add_plugin(
        self, tuple: Any = None, func: Callable[..., Any] | None = None, aot: bool = False
    ) -> Any:
        """Add a V3 plugin from an (inputs, shape_inputs, plugin) tuple; Python-function plugins are not
        supported offline (an ERROR is logged)."""
        if tuple is not None and len(tuple) == 3:
            inputs, shape_inputs, plugin = tuple
            return self.add_plugin_v3(inputs, shape_inputs, plugin)
        self._impl.error(
            "INetworkDefinition::addPlugin: Error Code 9: API Usage Error (TensorRT Python plugins "
            "defined as functions are not available offline.)"
        )
        return None

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("type", E(PoolingType)),
            Arg("window_size", DIMS),
            ret="IPoolingLayer",
        ),
    )
    def add_pooling_nd(
        self, input: ITensor, type: PoolingType, window_size: tuple[int, ...]
    ) -> Any:
        """Add a multi-dimension pooling layer."""
        n = len(window_size)
        params = {
            "type": type,
            "window_size_nd": tuple(window_size),
            "stride_nd": (1,) * n,
            "pre_padding": (0,) * n,
            "post_padding": (0,) * n,
            "padding_mode": PaddingMode.EXPLICIT_ROUND_DOWN,
            "blend_factor": 0.0,
            "average_count_excludes_padding": True,
        }
        return self._layer("INetworkDefinition::addPoolingNd", LayerType.POOLING, [input], params)

    @api(NET, _sig(Arg("input", T), Arg("bounds", T), ret="IRaggedSoftMaxLayer"))
    def add_ragged_softmax(self, input: ITensor, bounds: ITensor) -> Any:
        """Add a ragged softmax layer."""
        return self._layer(
            "INetworkDefinition::addRaggedSoftMax", LayerType.RAGGED_SOFTMAX, [input, bounds]
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("op", E(ReduceOperation)),
            Arg("axes", INT),
            Arg("keep_dims", BOOL),
            ret="IReduceLayer",
        ),
    )
    def add_reduce(self, input: ITensor, op: ReduceOperation, axes: int, keep_dims: bool) -> Any:
        """Add a reduce layer (axes is a bit mask)."""
        return self._layer(
            "INetworkDefinition::addReduce",
            LayerType.REDUCE,
            [input],
            {"op": op, "axes": axes, "keep_dims": keep_dims},
        )

    @api(NET, _sig(Arg("input", T), ret="IResizeLayer"))
    def add_resize(self, input: ITensor) -> Any:
        """Add a resize layer (NEAREST, ASYMMETRIC, FORMULA, FLOOR by default)."""
        params: dict[str, Any] = {
            "shape": None,
            "scales": [],
            "resize_mode": InterpolationMode.NEAREST,
            "coordinate_transformation": ResizeCoordinateTransformation.ASYMMETRIC,
            "selector_for_single_pixel": ResizeSelector.FORMULA,
            "nearest_rounding": ResizeRoundMode.FLOOR,
            "exclude_outside": False,
            "cubic_coeff": -0.75,
        }
        return self._layer("INetworkDefinition::addResize", LayerType.RESIZE, [input], params)

    @api(NET, _sig(Arg("input", T), Arg("sequence_lens", T), ret="IReverseSequenceLayer"))
    def add_reverse_sequence(self, input: ITensor, sequence_lens: ITensor) -> Any:
        """Add a ReverseSequence layer (batch_axis 1, sequence_axis 0)."""
        return self._layer(
            "INetworkDefinition::addReverseSequence",
            LayerType.REVERSE_SEQUENCE,
            [input, sequence_lens],
            {"batch_axis": 1, "sequence_axis": 0},
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("cos_cache", T),
            Arg("sin_cache", T),
            Arg("interleaved", BOOL),
            Arg("rotary_embedding_dim", INT),
            ret="IRotaryEmbeddingLayer",
        ),
    )
    def add_rotary_embedding(
        self,
        input: ITensor,
        cos_cache: ITensor,
        sin_cache: ITensor,
        interleaved: bool,
        rotary_embedding_dim: int,
    ) -> Any:
        """Add a RotaryEmbedding layer (position ids may be set as input 3)."""
        return self._layer(
            "INetworkDefinition::addRotaryEmbedding",
            LayerType.ROTARY_EMBEDDING,
            [input, cos_cache, sin_cache],
            {"interleaved": interleaved, "rotary_embedding_dim": rotary_embedding_dim},
        )

    def _scale(
        self,
        api_name: str,
        input: ITensor,
        mode: ScaleMode,
        shift: Weights,
        scale: Weights,
        power: Weights,
        channel_axis: int,
    ) -> Any:
        layer = self._layer(
            api_name,
            LayerType.SCALE,
            [input],
            {
                "mode": mode,
                "shift": shift,
                "scale": scale,
                "power": power,
                "channel_axis": channel_axis,
            },
        )
        if layer is not None:
            self._register_weights(layer, "shift", "scale", "power")
        return layer

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("mode", E(ScaleMode)),
            Arg("shift", WEIGHTS, None),
            Arg("scale", WEIGHTS, None),
            Arg("power", WEIGHTS, None),
            ret="IScaleLayer",
        ),
    )
    def add_scale(
        self, input: ITensor, mode: ScaleMode, shift: Weights, scale: Weights, power: Weights
    ) -> Any:
        """Add a scale layer (channel axis: rank - 3, i.e. C of NCHW)."""
        return self._scale(
            "INetworkDefinition::addScale",
            input,
            mode,
            shift,
            scale,
            power,
            max(len(input._shape) - 3, 0),
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("mode", E(ScaleMode)),
            Arg("shift", WEIGHTS, None),
            Arg("scale", WEIGHTS, None),
            Arg("power", WEIGHTS, None),
            Arg("channel_axis", INT),
            ret="IScaleLayer",
        ),
    )
    def add_scale_nd(
        self,
        input: ITensor,
        mode: ScaleMode,
        shift: Weights,
        scale: Weights,
        power: Weights,
        channel_axis: int,
    ) -> Any:
        """Add a multi-dimension scale layer."""
        return self._scale(
            "INetworkDefinition::addScaleNd", input, mode, shift, scale, power, channel_axis
        )

    @api(
        NET,
        _sig(
            Arg("data", T),
            Arg("indices", T),
            Arg("updates", T),
            Arg("mode", E(ScatterMode)),
            ret="IScatterLayer",
        ),
    )
    def add_scatter(
        self, data: ITensor, indices: ITensor, updates: ITensor, mode: ScatterMode
    ) -> Any:
        """Add a scatter layer."""
        return self._layer(
            "INetworkDefinition::addScatter",
            LayerType.SCATTER,
            [data, indices, updates],
            {"axis": 0, "mode": mode},
        )

    @api(
        NET,
        _sig(Arg("condition", T), Arg("then_input", T), Arg("else_input", T), ret="ISelectLayer"),
    )
    def add_select(self, condition: ITensor, then_input: ITensor, else_input: ITensor) -> Any:
        """Add a select layer."""
        return self._layer(
            "INetworkDefinition::addSelect", LayerType.SELECT, [condition, then_input, else_input]
        )

    @api(NET, _sig(Arg("input", T), ret="IShapeLayer"))
    def add_shape(self, input: ITensor) -> Any:
        """Add a shape layer (1-D INT64 output)."""
        return self._layer("INetworkDefinition::addShape", LayerType.SHAPE, [input])

    @api(NET, _sig(Arg("input", T), ret="IShuffleLayer"))
    def add_shuffle(self, input: ITensor) -> Any:
        """Add a shuffle layer (identity transposes, no reshape, zero_is_placeholder)."""
        ident = list(range(8))
        return self._layer(
            "INetworkDefinition::addShuffle",
            LayerType.SHUFFLE,
            [input],
            {
                "first_transpose": ident,
                "reshape_dims": None,
                "second_transpose": list(ident),
                "zero_is_placeholder": True,
            },
        )

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("start", DIMS),
            Arg("shape", DIMS),
            Arg("stride", DIMS),
            ret="ISliceLayer",
        ),
    )
    def add_slice(
        self,
        input: ITensor,
        start: tuple[int, ...],
        shape: tuple[int, ...],
        stride: tuple[int, ...],
    ) -> Any:
        """Add a slice layer (SampleMode.STRICT_BOUNDS)."""
        return self._layer(
            "INetworkDefinition::addSlice",
            LayerType.SLICE,
            [input],
            {
                "start": tuple(start),
                "shape": tuple(shape),
                "stride": tuple(stride),
                "mode": SampleMode.STRICT_BOUNDS,
                "axes": None,
            },
        )

    @api(NET, _sig(Arg("input", T), ret="ISoftMaxLayer"))
    def add_softmax(self, input: ITensor) -> Any:
        """Add a softmax layer (default axis: rank - 3, or 0 below rank 3)."""
        return self._layer(
            "INetworkDefinition::addSoftMax",
            LayerType.SOFTMAX,
            [input],
            {"axes": 1 << max(len(input._shape) - 3, 0)},
        )

    @api(NET, _sig(Arg("input", T), Arg("axes", T), ret="ISqueezeLayer"))
    def add_squeeze(self, input: ITensor, axes: ITensor) -> Any:
        """Add a squeeze layer (axes: constant 1-D shape tensor)."""
        return self._layer("INetworkDefinition::addSqueeze", LayerType.SQUEEZE, [input, axes])

    @api(NET, _sig(Arg("input", T), Arg("axes", T), ret="IUnsqueezeLayer"))
    def add_unsqueeze(self, input: ITensor, axes: ITensor) -> Any:
        """Add an unsqueeze layer (axes: constant 1-D shape tensor)."""
        return self._layer("INetworkDefinition::addUnsqueeze", LayerType.UNSQUEEZE, [input, axes])

    @api(
        NET,
        _sig(
            Arg("input", T),
            Arg("op", E(TopKOperation)),
            Arg("k", INT),
            Arg("axes", INT),
            ret="ITopKLayer",
        ),
        _sig(
            Arg("input", T),
            Arg("op", E(TopKOperation)),
            Arg("k", INT),
            Arg("axes", INT),
            Arg("indices_type", E(DataType)),
            ret="ITopKLayer",
        ),
    )
    def add_topk(
        self,
        input: ITensor,
        op: TopKOperation,
        k: int,
        axes: int,
        indices_type: DataType = DataType.INT32,
    ) -> Any:
        """Add a TopK layer (two outputs: values and indices)."""
        return self._layer(
            "INetworkDefinition::addTopK",
            LayerType.TOPK,
            [input],
            {"op": op, "k": k, "axes": axes, "indices_type": indices_type},
        )

    @api(NET, _sig(Arg("input", T), Arg("op", E(UnaryOperation)), ret="IUnaryLayer"))
    def add_unary(self, input: ITensor, op: UnaryOperation) -> Any:
        """Add a unary layer."""
        return self._layer("INetworkDefinition::addUnary", LayerType.UNARY, [input], {"op": op})

    def __enter__(self) -> INetworkDefinition:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __len__(self) -> int:
        """``len(network)``: the number of layers, as the bindings provide."""
        return len(self._impl.layers)

    def __getitem__(self, index: int) -> ILayer:
        """``network[i]``: the layer at ``i`` as an ILayer (negative indices count from the
        end); IndexError past the end, so ``for layer in network`` visits every layer."""
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(
                "__getitem__(): incompatible function arguments. The following argument types "
                f"are supported:\n    1. (self: {MODULE}.INetworkDefinition, arg0: "
                f"typing.SupportsInt) -> {MODULE}.ILayer\n\nInvoked with: {self!r}, {index!r}"
            )
        count = len(self._impl.layers)
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError(f"layer index {index} out of range for {count} layers")
        layer = self.get_layer(position)
        assert layer is not None
        return layer


INetworkDefinition.__module__ = MODULE
LayerImpl.__module__ = "trt_netser.offline._layers"
