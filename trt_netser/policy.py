"""What is hashed, what is excluded and why: the hashing policy as data tables.

The walker discovers attributes generically (every readable property of a layer's
concrete class), so a property that a future TensorRT adds is hashed without a code
change. These tables are the only exceptions, each with its reason. ``coverage()``
reports them per TensorRT API version, and ``docs/policy.md`` renders them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

# --------------------------------------------------------------------------- layers

#: Properties of every layer that are not encoded as attributes, with the reason.
#: "structural" entries are still encoded, but in a dedicated field of the record.
LAYER_PROPERTY_EXCLUSIONS: Mapping[str, str] = {
    "metadata": "free-form annotation for profilers and Nsight; no effect on the built engine",
    "name": "structural: user-given names are encoded in the record's 'name' (refit maps "
    "weights by layer name); default '(Unnamed Layer* N)' names are replaced by positions",
    "type": "structural: encoded as the record's 'type' (read through ILayer, before the "
    "downcast, because activation and pooling layers shadow it)",
    "num_inputs": "structural: the length of the record's 'inputs'",
    "num_outputs": "structural: the length of the record's 'outputs'",
    "plugin": "structural: encoded as the record's 'plugin' (type, version, namespace, fields)",
}

#: ILayer properties that a layer class redefines with its own state. The walker detects
#: this generically (the class's descriptor is not ILayer's) and encodes them; this table
#: only informs coverage of API dumps that carry no docstrings.
SHADOWED_LAYER_PROPERTIES: Mapping[tuple[str, str], str] = {
    ("IActivationLayer", "type"): "the ActivationType (ILayer.type is read before the downcast)",
    ("IPoolingLayer", "type"): "the PoolingType (ILayer.type is read before the downcast)",
}

#: Per-class exclusions: (class name, property) -> reason.
CLASS_PROPERTY_EXCLUSIONS: Mapping[tuple[str, str], str] = {}

#: Properties whose value TensorRT ignores in some configurations (and which may then read
#: garbage). They are encoded only when the condition for their relevance holds.


@dataclass(frozen=True)
class Relevance:
    """When a property matters: TensorRT ignores it if any listed input slot is connected,
    if any listed sibling property is non-empty, or if a listed flag property is false."""

    unless_input: tuple[int, ...] = ()
    unless_nonempty: tuple[str, ...] = ()
    only_if_true: tuple[str, ...] = ()
    reason: str = ""


CONDITIONAL_PROPERTIES: Mapping[tuple[str, str], Relevance] = {
    ("ILayer", "precision"): Relevance(
        only_if_true=("precision_is_set",),
        reason="the compute precision is a constraint only once set; unset it reads a default",
    ),
    ("IShuffleLayer", "reshape_dims"): Relevance(
        unless_input=(1,),
        reason="input 1 supplies the reshape dimensions at run time (the Dims read garbage)",
    ),
    ("ISliceLayer", "start"): Relevance(unless_input=(1,), reason="input 1 supplies start"),
    ("ISliceLayer", "shape"): Relevance(unless_input=(2,), reason="input 2 supplies size"),
    ("ISliceLayer", "stride"): Relevance(unless_input=(3,), reason="input 3 supplies stride"),
    ("ISliceLayer", "axes"): Relevance(unless_input=(5,), reason="input 5 supplies axes"),
    ("IResizeLayer", "shape"): Relevance(
        unless_input=(1,),
        unless_nonempty=("scales",),
        reason="input 1 or the scales decide the output shape (the Dims read garbage then)",
    ),
    ("IResizeLayer", "scales"): Relevance(
        unless_input=(1,), reason="input 1 supplies the output shape at run time"
    ),
    ("IFillLayer", "shape"): Relevance(unless_input=(0,), reason="input 0 supplies the shape"),
    ("IFillLayer", "alpha"): Relevance(unless_input=(1,), reason="input 1 supplies alpha"),
    ("IFillLayer", "beta"): Relevance(unless_input=(2,), reason="input 2 supplies beta"),
    ("ITopKLayer", "k"): Relevance(unless_input=(1,), reason="input 1 supplies K at run time"),
}

#: Getter *methods* (not properties) that expose engine-relevant layer state.
#: (class name, method) -> how it is called: "call" (no argument) or "per_output".
LAYER_GETTER_METHODS: Mapping[tuple[str, str], str] = {
    ("IFillLayer", "is_alpha_beta_int64"): "call",
}

#: Layer classes whose state TensorRT does not expose for reading; it must be captured.
#: class name -> (required, what is missing). "required" layers make hashing fail
#: (or partial with strict=False) when built outside trt_netser.capture().
CAPTURED_LAYER_STATE: Mapping[str, tuple[bool, str]] = {
    "IDistCollectiveLayer": (
        True,
        "the collective operation, reduce operation, root and groups passed to "
        "add_dist_collective (IDistCollectiveLayer has no getters)",
    ),
    "IMoELayer": (
        False,
        "the calls to set_gated_weights, set_gated_biases, set_quantization_static, "
        "set_quantization_dynamic_dbl_q and set_swiglu_params (write-only; their readable "
        "effects are also hashed through the properties)",
    ),
    "IPluginV2Layer": (
        False,
        "the PluginFieldCollection given to create_plugin (cannot be read back; falls back "
        "to TensorRT-LLM's plugin_infos side table, then to a digest of serialize())",
    ),
    "IPluginV3Layer": (
        True,
        "the PluginFieldCollection given to create_plugin (cannot be read back; falls back "
        "to TensorRT-LLM's side table, then to the build interface's metadata_string and "
        "timing_cache_id, which plugins may leave empty)",
    ),
}

#: Mapping of LayerType member names to layer classes where the generic rule
#: (class name == "I" + CamelCase(LayerType) + "Layer", ignoring underscores) fails.
LAYER_CLASS_OVERRIDES: Mapping[str, str] = {
    "CONDITIONAL_INPUT": "IIfConditionalInputLayer",
    "CONDITIONAL_OUTPUT": "IIfConditionalOutputLayer",
}

#: LayerType members that have no layer class, with the reason no network can hold one.
LAYER_TYPES_WITHOUT_CLASS: Mapping[str, str] = {
    "PLUGIN": "the IPluginV1 layer was removed in TensorRT 10; the member remains in the enum",
}

#: Classes of the constructs that own boundary layers, and the boundary property.
CONSTRUCT_CLASSES: Mapping[str, str] = {
    "ILoop": "loop",
    "IIfConditional": "conditional",
    "IAttention": "attention",
}

CONSTRUCT_PROPERTY_EXCLUSIONS: Mapping[str, str] = {
    "metadata": "free-form annotation; no effect on the built engine",
    "name": "structural: user-given names are encoded in the record's 'name'",
    "num_inputs": "the construct's inputs are the inputs of its boundary layers",
    "num_outputs": "the construct's outputs are the outputs of its boundary layers",
}

# --------------------------------------------------------------------------- tensors

TENSOR_PROPERTY_EXCLUSIONS: Mapping[str, str] = {
    "name": "structural: encoded as the tensor's 'name' when user-given (always for network "
    "inputs and outputs: they are the engine's binding names)",
    "is_network_input": "derived: network inputs have their own records",
    "is_network_output": "derived: network outputs have their own records",
}

# --------------------------------------------------------------------------- network

NETWORK_PROPERTY_EXCLUSIONS: Mapping[str, str] = {
    "builder": "the builder that created the network: not part of the network",
    "error_recorder": "diagnostics sink; no effect on the built engine",
    "name": "structural: encoded in the network record when user-given "
    "('Unnamed Network N' counts networks per process and is dropped)",
    "num_layers": "derived: the number of layer records",
    "num_inputs": "derived: the number of input records",
    "num_outputs": "derived: the number of output records",
    "flags": "structural: encoded as the list of set NetworkDefinitionCreationFlag members",
}

# --------------------------------------------------------------------------- default names


class DefaultName(NamedTuple):
    """TensorRT's default names of one kind of object, whose counters depend on the
    process: a literal prefix (a cheap first test) and the pattern of the rest."""

    prefix: str
    rest: re.Pattern[str]


#: TensorRT's default names, replaced by positions in the stream (they carry counters).
#: Layers: ``(Unnamed Layer* N) [Display]`` (Display may hold spaces: ``[Parametric
#: ReLU]``, ``[Matrix Multiply]``). Tensors: the layer's name, then ``_output`` (one
#: output), ``_output_<i>`` (plugins, DynamicQuantize) or ``_output (<i>)`` (TopK, NMS).
#: The compiled layer writer matches the layer and tensor patterns by hand
#: (``_layerwriter.is_default_rest``; tests/hashing/test_fastpath.py checks they agree).
DEFAULT_NAMES: Mapping[str, DefaultName] = {
    "layer": DefaultName("(Unnamed Layer* ", re.compile(r"\d+\) \[[^\]]*\]")),
    "tensor": DefaultName(
        "(Unnamed Layer* ", re.compile(r"\d+\) \[[^\]]*\]_output(?:_\d+| \(\d+\))?")
    ),
    "network": DefaultName("Unnamed Network ", re.compile(r"\d+")),
    "construct": DefaultName("(Unnamed ", re.compile(r"[A-Za-z ]+\* ?\d+\).*")),
}

# --------------------------------------------------------------------------- weights

WeightsMode = Literal["structure", "all"]

#: DataType member names whose weight values define structure (shapes, indices, masks)
#: rather than learned parameters: their values are always hashed.
STRUCTURAL_WEIGHT_DTYPES: frozenset[str] = frozenset({"INT32", "INT64", "BOOL"})

#: numpy dtypes of weights, mapped to DataType member names.
NUMPY_TO_DATATYPE: Mapping[str, str] = {
    "float32": "FLOAT",
    "float16": "HALF",
    "int8": "INT8",
    "int32": "INT32",
    "int64": "INT64",
    "bool": "BOOL",
    "uint8": "UINT8",
}

#: Bits per element of each DataType's weights (INT4 and FP4 pack two to a byte): how
#: many bytes the values of weights that numpy cannot view occupy.
DATATYPE_BITS: Mapping[str, int] = {
    "FLOAT": 32,
    "HALF": 16,
    "BF16": 16,
    "INT8": 8,
    "UINT8": 8,
    "BOOL": 8,
    "FP8": 8,
    "E8M0": 8,
    "INT32": 32,
    "INT64": 64,
    "INT4": 4,
    "FP4": 4,
}

#: Weights that TensorRT cannot refit: their values always go into the hash.
NON_REFITTABLE_WEIGHTS: Mapping[tuple[str, str], str] = {
    ("IScaleLayer", "power"): "TensorRT cannot refit the power of a scale layer",
}


@dataclass(frozen=True)
class WeightsPolicy:
    """Which weight values are hashed. Never the values of refittable learned weights
    (a fine-tune must keep the key), unless ``mode="all"`` (for non-refittable builds)."""

    mode: WeightsMode = "structure"
    structural_dtypes: frozenset[str] = STRUCTURAL_WEIGHT_DTYPES
    hash_single_element: bool = True
    non_refittable: frozenset[tuple[str, str]] = field(
        default_factory=lambda: frozenset(NON_REFITTABLE_WEIGHTS)
    )

    def describe(self) -> dict[str, object]:
        """The policy as canonical data (part of the stream header)."""
        return {
            "mode": self.mode,
            "structural_dtypes": sorted(self.structural_dtypes),
            "single_element": self.hash_single_element,
            "non_refittable": sorted(f"{c}.{p}" for c, p in self.non_refittable),
        }


@dataclass(frozen=True)
class Policy:
    """Per-call hashing options (``hash_network(net, strict=..., weights=...)``)."""

    strict: bool = True
    weights: WeightsPolicy = field(default_factory=WeightsPolicy)

    @classmethod
    def from_options(
        cls, *, strict: bool = True, weights: WeightsMode | WeightsPolicy = "structure"
    ) -> Policy:
        """Validate the keyword options of the public API into a Policy."""
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be a bool, not {type(strict).__name__}")
        if isinstance(weights, str):
            if weights not in ("structure", "all"):
                raise ValueError(f"weights must be 'structure' or 'all', not {weights!r}")
            weights = WeightsPolicy(mode=weights)
        elif not isinstance(weights, WeightsPolicy):
            raise TypeError(
                "weights must be 'structure', 'all' or a WeightsPolicy, "
                f"not {type(weights).__name__}"
            )
        return cls(strict=strict, weights=weights)

    def describe(self) -> dict[str, object]:
        """The options that change the stream (strictness does not: it only raises)."""
        return {"weights": self.weights.describe()}


# --------------------------------------------------------------------------- methods

#: How the effect of each state-changing method (one that is not a property setter) is
#: hashed. Coverage flags any mutator that is neither here nor captured, so a write-only
#: setter that a future TensorRT adds cannot be skipped silently.
MUTATOR_METHODS: Mapping[str, str] = {
    # ILayer
    "set_input": "encoded: the layer's 'inputs' references",
    "set_output_type": "encoded: 'output_type' of the output (get_output_type/output_type_is_set)",
    "reset_output_type": "encoded: 'output_type' disappears when reset",
    "reset_precision": "encoded: 'precision' is hashed only while precision_is_set",
    # ITensor
    "set_dimension_name": "encoded: the tensor's 'dim_names' (get_dimension_name)",
    "set_dynamic_range": "encoded: the tensor's 'dynamic_range' property",
    "reset_dynamic_range": "encoded: the tensor's 'dynamic_range' property",
    # INetworkDefinition
    "add_input": "encoded: network input records, or the IIfConditionalInputLayer it creates",
    "remove_tensor": "encoded: the remaining input and output records",
    "mark_output": "encoded: output records",
    "unmark_output": "encoded: output records",
    "mark_output_for_shapes": "encoded: output records (is_shape_tensor)",
    "unmark_output_for_shapes": "encoded: output records",
    "mark_debug": "encoded: the tensors' 'debug' (is_debug_tensor)",
    "unmark_debug": "encoded: the tensors' 'debug' (is_debug_tensor)",
    "set_weights_name": "captured: the weights record's 'names'",
    "mark_weights_refittable": "captured: the weights record's 'refittable' "
    "(are_weights_marked_refittable)",
    "unmark_weights_refittable": "captured: the weights record's 'refittable'",
    "mark_unfused_tensors_as_debug_tensors": "captured: the network record's 'calls'",
    "unmark_unfused_tensors_as_debug_tensors": "captured: the network record's 'calls'",
    # ILoop / IIfConditional / IAttention: construct builders create boundary layers
    "add_recurrence": "encoded: the IRecurrenceLayer it creates",
    "add_trip_limit": "encoded: the ITripLimitLayer it creates",
    "add_iterator": "encoded: the IIteratorLayer it creates",
    "add_loop_output": "encoded: the ILoopOutputLayer it creates",
    "set_condition": "encoded: the IConditionLayer it creates",
    "add_output": "encoded: the IIfConditionalOutputLayer it creates",
    # IMoELayer (write-only)
    "set_gated_weights": "captured: the layer's 'captured' calls",
    "set_gated_biases": "captured: the layer's 'captured' calls",
    "set_quantization_static": "captured: the layer's 'captured' calls",
    "set_quantization_dynamic_dbl_q": "captured: the layer's 'captured' calls",
    "set_swiglu_params": "captured: the layer's 'captured' calls",
}

#: Method name prefixes that only read state (never change what is hashed).
READER_PREFIXES: tuple[str, ...] = ("get_", "is_", "are_", "output_type_is_set", "num_")
