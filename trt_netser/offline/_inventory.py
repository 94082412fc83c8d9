"""The refit inventory: which weights of an engine stay refittable, and which are pinned.

TensorRT publishes no list of the weights it folds into kernels, so the offline builder
follows one deterministic rule set (the tables below, documented in docs/offline-engine.md)
that errs towards what TensorRT does: learned weights stay refittable, weights TensorRT
bakes in are pinned. Every weight use gets exactly one verdict: refittable, or the FIRST
pin rule that matches. Refittable weights that TensorRT would fuse into one kernel share a
group and must be refit together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from trt_netser.offline._enums import BuilderFlag, DataType, LayerType, WeightsRole
from trt_netser.offline._ir import GraphIR, LayerIR, WeightIR

#: (layer type, attribute) -> the WeightsRole that addresses it in a Refitter. Weights
#: attributes not listed (Scale ``power``, MoE expert weights, ...) have no role.
ROLES: dict[tuple[str, str], WeightsRole] = {
    ("CONVOLUTION", "kernel"): WeightsRole.KERNEL,
    ("CONVOLUTION", "bias"): WeightsRole.BIAS,
    ("DECONVOLUTION", "kernel"): WeightsRole.KERNEL,
    ("DECONVOLUTION", "bias"): WeightsRole.BIAS,
    ("SCALE", "shift"): WeightsRole.SHIFT,
    ("SCALE", "scale"): WeightsRole.SCALE,
    ("CONSTANT", "weights"): WeightsRole.CONSTANT,
}

#: Constant dtypes TensorRT treats as data it may bake in (indices, shapes, masks).
BAKED_CONSTANT_TYPES = frozenset({DataType.INT32, DataType.INT64, DataType.BOOL, DataType.UINT8})

#: Input slots whose constant TensorRT folds into the quantization kernels (scales and
#: zero points of Q/DQ layers); the data input (slot 0) stays refittable.
QUANT_PARAMETER_SLOTS: dict[str, frozenset[int]] = {
    "QUANTIZE": frozenset({1, 2}),
    "DEQUANTIZE": frozenset({1, 2}),
    "DYNAMIC_QUANTIZE": frozenset({1}),
}

#: Producer -> consumer layer types TensorRT fuses into one kernel (a convolution followed
#: by its only consumer, a Scale: batch-norm folding). Their refittable weights form one
#: group.
FUSIONS: frozenset[tuple[str, str]] = frozenset(
    {("CONVOLUTION", "SCALE"), ("DECONVOLUTION", "SCALE")}
)

REFIT_FLAGS = (BuilderFlag.REFIT, BuilderFlag.REFIT_IDENTICAL, BuilderFlag.REFIT_INDIVIDUAL)


class RefitMode(NamedTuple):
    """What the build flags ask for."""

    any: bool  # REFIT, REFIT_IDENTICAL, REFIT_INDIVIDUAL or STRIP_PLAN
    individual: bool  # REFIT_INDIVIDUAL


def refit_mode(flags: int) -> RefitMode:
    """The refit mode of a builder flags bit mask (STRIP_PLAN alone implies REFIT_IDENTICAL)."""

    def has(flag: BuilderFlag) -> bool:
        return bool(flags >> int(flag) & 1)

    individual = has(BuilderFlag.REFIT_INDIVIDUAL)
    return RefitMode(
        individual or any(has(f) for f in (*REFIT_FLAGS, BuilderFlag.STRIP_PLAN)), individual
    )


@dataclass(frozen=True)
class Context:
    """What a pin rule may look at."""

    ir: GraphIR
    mode: RefitMode
    marked: frozenset[str]
    live: frozenset[int]  # indices of layers that contribute to an output
    quant_params: frozenset[int]  # tensor ids read as Q/DQ scales or zero points


@dataclass(frozen=True)
class PinRule:
    """A reason TensorRT would bake weights into the engine."""

    code: str
    why: str
    applies: Callable[[Context, WeightIR, LayerIR], bool]


def _role(w: WeightIR, layer: LayerIR) -> WeightsRole | None:
    return ROLES.get((layer.type.name, w.attr))


def _is_constant(layer: LayerIR) -> bool:
    return bool(layer.type == LayerType.CONSTANT)


#: Pin rules, checked in order; the first that applies is the weight's recorded reason.
PIN_RULES: tuple[PinRule, ...] = (
    PinRule(
        "not-refittable-build",
        "the engine was built without REFIT, REFIT_IDENTICAL, REFIT_INDIVIDUAL or STRIP_PLAN",
        lambda c, w, ly: not c.mode.any,
    ),
    PinRule(
        "no-role",
        "TensorRT has no WeightsRole for these weights (Scale power, MoE expert weights)",
        lambda c, w, ly: _role(w, ly) is None,
    ),
    PinRule(
        "integer-constant",
        "INT32/INT64/BOOL/UINT8 constants are data TensorRT bakes in",
        lambda c, w, ly: _is_constant(ly) and w.dtype in BAKED_CONSTANT_TYPES,
    ),
    PinRule(
        "shape-constant",
        "the constant reaches a shape computation or a shape-tensor input",
        lambda c, w, ly: _is_constant(ly) and c.ir.tensors[ly.outputs[0]].is_shape,
    ),
    PinRule(
        "quantization-parameter",
        "the constant is a Quantize/Dequantize scale or zero point, folded into the kernels",
        lambda c, w, ly: _is_constant(ly) and ly.outputs[0] in c.quant_params,
    ),
    PinRule(
        "eliminated",
        "the layer does not contribute to any network output, so the builder removes it",
        lambda c, w, ly: ly.index not in c.live,
    ),
    PinRule(
        "not-marked",
        "REFIT_INDIVIDUAL: neither the weights' name nor the layer's name was marked with "
        "mark_weights_refittable",
        lambda c, w, ly: c.mode.individual and not ({w.name, ly.name} & c.marked),
    ),
)
PIN_REASONS: dict[str, str] = {r.code: r.why for r in PIN_RULES}


class Entry(NamedTuple):
    """The verdict for one weight use (``weights`` index into :attr:`GraphIR.weights`).

    An immutable record; a named tuple because a deserialized plan makes one per weight use
    (25,000 for a 50k-layer network), and building a frozen dataclass costs 4x as much.
    """

    weights: int
    layer: str
    role: WeightsRole | None
    name: str | None
    refittable: bool
    reason: str | None  # pin rule code when not refittable
    group: int | None  # smallest weights index of the fusion group, refittable only


def live_layers(ir: GraphIR) -> frozenset[int]:
    """Layers that contribute to a network output (or have effects of their own)."""
    live: set[int] = set()
    for layer in ir.layers:
        outs = [ir.tensors[t] for t in layer.outputs]
        if not outs or any(t.is_shape or t.is_execution for t in outs):
            live.add(layer.index)
    return frozenset(live)


def quant_parameters(ir: GraphIR) -> frozenset[int]:
    """Tensors read by a Q/DQ layer as its scale or zero point."""
    out: set[int] = set()
    for layer in ir.layers:
        for slot in QUANT_PARAMETER_SLOTS.get(layer.type.name, ()):
            tid = layer.inputs[slot] if slot < len(layer.inputs) else None
            if tid is not None:
                out.add(tid)
    return frozenset(out)


def _groups(ir: GraphIR, refittable: list[int]) -> dict[int, int]:
    """Fusion group (smallest member index) of every refittable weights index."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_layer: dict[int, list[int]] = {}
    for wi in refittable:
        parent[wi] = wi
        by_layer.setdefault(ir.weights[wi].layer, []).append(wi)
    for members in by_layer.values():
        for wi in members[1:]:
            union(members[0], wi)
    consumers: dict[int, list[int]] = {}
    for layer in ir.layers:
        for t in layer.inputs:
            if t is not None:
                consumers.setdefault(t, []).append(layer.index)
    outputs = set(ir.outputs)
    for li, members in by_layer.items():
        layer = ir.layers[li]
        if len(layer.outputs) != 1 or layer.outputs[0] in outputs:
            continue
        users = consumers.get(layer.outputs[0], [])
        if len(users) != 1:
            continue
        nxt = ir.layers[users[0]]
        if (layer.type.name, nxt.type.name) in FUSIONS and nxt.index in by_layer:
            union(members[0], by_layer[nxt.index][0])
    return {wi: find(wi) for wi in refittable}


def inventory(ir: GraphIR, flags: int, marked: frozenset[str]) -> list[Entry]:
    """The verdict for every non-empty weight use of ``ir``, in weights order."""
    ctx = Context(ir, refit_mode(flags), marked, live_layers(ir), quant_parameters(ir))
    verdicts: list[tuple[int, str | None]] = []
    for wi, w in enumerate(ir.weights):
        if not w.count or w.layer < 0:
            continue
        layer = ir.layers[w.layer]
        reason = next((r.code for r in PIN_RULES if r.applies(ctx, w, layer)), None)
        verdicts.append((wi, reason))
    groups = _groups(ir, [wi for wi, reason in verdicts if reason is None])
    return [
        Entry(
            weights=wi,
            layer=ir.layers[ir.weights[wi].layer].name,
            role=_role(ir.weights[wi], ir.layers[ir.weights[wi].layer]),
            name=ir.weights[wi].name,
            refittable=reason is None,
            reason=reason,
            group=groups.get(wi),
        )
        for wi, reason in verdicts
    ]
