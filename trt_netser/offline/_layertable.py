"""Per-layer-type data: concrete class, TensorRT's display name (used in default names),
the maximum number of inputs ``set_input`` accepts, and which input slots read the
tensor's VALUES as shape information (those inputs become shape tensors).

Display names are TensorRT's ``(Unnamed Layer* N) [Display]`` strings to the best of our
knowledge of TensorRT's ``layerTypeName`` table.
"""

from __future__ import annotations

from typing import NamedTuple


class LayerInfo(NamedTuple):
    """Static facts about one LayerType."""

    cls: str
    display: str
    max_inputs: int  # -1: only the inputs given at creation
    shape_slots: frozenset[int]


def _i(cls: str, display: str, max_inputs: int, shape_slots: tuple[int, ...] = ()) -> LayerInfo:
    return LayerInfo(cls, display, max_inputs, frozenset(shape_slots))


LAYERS: dict[str, LayerInfo] = {
    "CONVOLUTION": _i("IConvolutionLayer", "Convolution", 3),
    "GRID_SAMPLE": _i("IGridSampleLayer", "GridSample", 2),
    "NMS": _i("INMSLayer", "NMS", 5, (2,)),
    "ACTIVATION": _i("IActivationLayer", "Activation", 1),
    "POOLING": _i("IPoolingLayer", "Pooling", 1),
    "LRN": _i("ILRNLayer", "LRN", 1),
    "SCALE": _i("IScaleLayer", "Scale", 1),
    "SOFTMAX": _i("ISoftMaxLayer", "Softmax", 1),
    "DECONVOLUTION": _i("IDeconvolutionLayer", "Deconvolution", 3),
    "CONCATENATION": _i("IConcatenationLayer", "Concatenation", -1),
    "ELEMENTWISE": _i("IElementWiseLayer", "ElementWise", 2),
    "PLUGIN": _i("ILayer", "Plugin", -1),
    "UNARY": _i("IUnaryLayer", "Unary", 1),
    "PADDING": _i("IPaddingLayer", "Padding", 1),
    "SHUFFLE": _i("IShuffleLayer", "Shuffle", 2, (1,)),
    "REDUCE": _i("IReduceLayer", "Reduce", 1),
    "TOPK": _i("ITopKLayer", "TopK", 2, (1,)),
    "GATHER": _i("IGatherLayer", "Gather", 2),
    "MATRIX_MULTIPLY": _i("IMatrixMultiplyLayer", "Matrix Multiply", 2),
    "RAGGED_SOFTMAX": _i("IRaggedSoftMaxLayer", "Ragged SoftMax", 2),
    "CONSTANT": _i("IConstantLayer", "Constant", 0),
    "IDENTITY": _i("IIdentityLayer", "Identity", 1),
    "CAST": _i("ICastLayer", "Cast", 1),
    "PLUGIN_V2": _i("IPluginV2Layer", "PluginV2", -1),
    "SLICE": _i("ISliceLayer", "Slice", 6, (1, 2, 3, 5)),
    "SHAPE": _i("IShapeLayer", "Shape", 1),
    "PARAMETRIC_RELU": _i("IParametricReLULayer", "Parametric ReLU", 2),
    "RESIZE": _i("IResizeLayer", "Resize", 2, (1,)),
    "TRIP_LIMIT": _i("ITripLimitLayer", "TripLimit", 1, (0,)),
    "RECURRENCE": _i("IRecurrenceLayer", "Recurrence", 2),
    "ITERATOR": _i("IIteratorLayer", "Iterator", 1),
    "LOOP_OUTPUT": _i("ILoopOutputLayer", "LoopOutput", 2, (1,)),
    "SELECT": _i("ISelectLayer", "Select", 3),
    "ASSERTION": _i("IAssertionLayer", "Assertion", 1, (0,)),
    "FILL": _i("IFillLayer", "Fill", 3, (0,)),
    "QUANTIZE": _i("IQuantizeLayer", "Quantize", 3),
    "DEQUANTIZE": _i("IDequantizeLayer", "Dequantize", 3),
    "CONDITION": _i("IConditionLayer", "Condition", 1),
    "CONDITIONAL_INPUT": _i("IIfConditionalInputLayer", "ConditionalInput", 1),
    "CONDITIONAL_OUTPUT": _i("IIfConditionalOutputLayer", "Output", 2),
    "SCATTER": _i("IScatterLayer", "Scatter", 3),
    "EINSUM": _i("IEinsumLayer", "Einsum", -1),
    "ONE_HOT": _i("IOneHotLayer", "OneHot", 3, (2,)),
    "NON_ZERO": _i("INonZeroLayer", "NonZero", 1),
    "REVERSE_SEQUENCE": _i("IReverseSequenceLayer", "ReverseSequence", 2),
    "NORMALIZATION": _i("INormalizationLayer", "Normalization", 3),
    "PLUGIN_V3": _i("IPluginV3Layer", "PluginV3", -1),
    "SQUEEZE": _i("ISqueezeLayer", "Squeeze", 2, (1,)),
    "UNSQUEEZE": _i("IUnsqueezeLayer", "Unsqueeze", 2, (1,)),
    "CUMULATIVE": _i("ICumulativeLayer", "Cumulative", 2, (1,)),
    "DYNAMIC_QUANTIZE": _i("IDynamicQuantizeLayer", "DynamicQuantize", 2),
    "ATTENTION_INPUT": _i("IAttentionInputLayer", "AttentionInput", 5),
    "ATTENTION_OUTPUT": _i("IAttentionOutputLayer", "AttentionOutput", 0),
    "ROTARY_EMBEDDING": _i("IRotaryEmbeddingLayer", "RotaryEmbedding", 4),
    "KV_CACHE_UPDATE": _i("IKVCacheUpdateLayer", "KVCacheUpdate", 3),
    "MOE": _i("IMoELayer", "MoE", 10),
    "DIST_COLLECTIVE": _i("IDistCollectiveLayer", "DistCollective", 1),
}

# Layer types whose outputs are computed from the VALUES of their inputs when they are
# shape tensors (so a shape tensor's producer's inputs are shape tensors too).
SHAPE_CALCULUS = frozenset(
    {
        "CONCATENATION",
        "ELEMENTWISE",
        "UNARY",
        "GATHER",
        "SLICE",
        "SHUFFLE",
        "CAST",
        "IDENTITY",
        "REDUCE",
        "SELECT",
        "SQUEEZE",
        "UNSQUEEZE",
        "CONSTANT",
        "FILL",
        "CONDITIONAL_INPUT",
        "CONDITIONAL_OUTPUT",
        "CUMULATIVE",
        "ONE_HOT",
        "TOPK",
        "SCATTER",
    }
)


#: How many outputs a layer has while its attributes do not yet give valid outputs
#: (TensorRT creates the layer anyway and checks shapes when they are needed); 1 if absent.
DEFERRED_OUTPUTS: dict[str, int] = {"TOPK": 2, "NMS": 2, "DYNAMIC_QUANTIZE": 2}

#: Layer types that are refused at creation when their outputs cannot be inferred (their
#: output count depends on what failed).
IMMEDIATE_SHAPE_CHECK = frozenset({"PLUGIN", "PLUGIN_V2", "PLUGIN_V3", "ATTENTION_OUTPUT"})


# ---------------------------------------------------------------------------------------
# TensorRT's default names, where they are not simply "(Unnamed Layer* N) [Display]" and
# "<layer>_output" (issue 12: names are in the digest, so offline keys must use these)
# ---------------------------------------------------------------------------------------

#: Display names that depend on a layer's parameters: (LayerType, parameter, value) -> name.
DISPLAY_BY_PARAMETER: dict[tuple[str, str, object], str] = {
    ("NORMALIZATION", "is_v2", True): "NormalizationV2",
}

#: Default names of a multi-output layer's outputs: LayerType -> (output 0, output i > 0),
#: formatted with the layer's name and i. Layers absent here: "<layer>_output_<i>" (so
#: named for plugins) and "<layer>_output" for a single output.
OUTPUT_NAMES: dict[str, tuple[str, str]] = {
    "TOPK": ("{layer}_output", "{layer}_output ({i})"),
    "NMS": ("{layer}_output", "{layer}_output ({i})"),
    "DYNAMIC_QUANTIZE": ("{layer}_output", "{layer}_output_{i}"),
}
MULTI_OUTPUT_NAMES = ("{layer}_output_{i}", "{layer}_output_{i}")

#: Layer indices (the N of default names) a construct uses beyond its boundary layers:
#: add_attention takes three (its two boundary layers and one that is not in the network).
EXTRA_LAYER_INDICES: dict[str, int] = {"ATTENTION_OUTPUT": 1}


def output_name(ltype: str, layer: str, i: int, n: int) -> str:
    """The default name of output ``i`` of ``n`` of a layer named ``layer``."""
    if n == 1:
        return f"{layer}_output"
    first, rest = OUTPUT_NAMES.get(ltype, MULTI_OUTPUT_NAMES)
    return (first if i == 0 else rest).format(layer=layer, i=i)
