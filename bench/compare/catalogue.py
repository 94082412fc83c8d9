"""The soundness catalogue: single changes to small networks, each with its ground truth.

A :class:`Case` builds two networks from scratch: ``before`` and ``after`` differ by one
change. ``expect`` says what an engine-cache key must do:

* ``"change"``: the built engine differs (an attribute TensorRT reads, an input shape or
  dtype, a network flag, a plugin field, a rewired input, a structural weight, a name the
  engine or refit uses). A scheme that keeps its key there gives a **false hit**: a cache
  would hand back (or refit) the wrong engine.
* ``"keep"``: only refittable weight values differ (a fine-tune), or nothing differs (the
  same construction twice). A scheme that changes its key there gives a **needless miss**
  (a rebuild where a refit would do) or, for identical rebuilds, is **unstable**.
* ``"irrelevant"``: a property TensorRT ignores in this configuration (policy's relevance
  table); reported, not scored.

Attribute changes are generated generically, as ``tests/hashing/test_walk.py`` does: for
every writable property of every layer class (and of the construct objects and of the
layer's first output tensor), the first alternative value the setter accepts. The list
of properties comes from the classes themselves, not from trt-netser's policy, so a
property trt-netser forgot would show up as its false hit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the builders live in tests/ (not an installed package)
    sys.path.insert(0, str(ROOT))

import trt_netser  # noqa: E402
import trt_netser.offline as offline  # noqa: E402
from tests.hashing.zoo import ZOO, alternatives, network_with, new_network, weights  # noqa: E402
from tests.offline import networks  # noqa: E402
from tests.offline.plugins import register_test_plugins  # noqa: E402
from trt_netser.policy import CONDITIONAL_PROPERTIES  # noqa: E402

Built = tuple[Any, Any]  # (builder, network)
BuildFn = Callable[[], Built]

#: Pinned on every catalogue network so that TensorRT's per-process "Unnamed Network N"
#: counter does not make every pair differ (measured separately as "rebuild, default name").
NETWORK_NAME = "catalogue"

#: Writable properties not mutated generically, with the reason.
SKIPPED_PROPERTIES: dict[str, str] = {
    "name": "names are separate cases (layer name) or cosmetic (intermediate tensors)",
    "metadata": "free-form profiler annotation; not part of the engine",
    "error_recorder": "diagnostics sink",
}


@dataclass(frozen=True)
class Case:
    """One single change: ``before()`` and ``after()`` build fresh (builder, network)."""

    category: str
    label: str
    expect: str  # "change", "keep" or "irrelevant"
    before: BuildFn
    after: BuildFn


def _captured(fn: Callable[[], Built], *, capture: bool = True, pin: bool = True) -> Built:
    if capture:
        with trt_netser.capture(offline):
            builder, net = fn()
    else:
        builder, net = fn()
    if pin:
        net.name = NETWORK_NAME
    return builder, net


def zoo_network(layer_type: str, seed: int = 0, *, pin: bool = True) -> tuple[Any, Any, Any]:
    """(builder, network, layer) of the zoo, built inside capture."""
    with trt_netser.capture(offline):
        builder, net, layer = network_with(offline, layer_type, seed)
    if pin:
        net.name = NETWORK_NAME
    return builder, net, layer


# --------------------------------------------------------------------------- plugins


def plugin_network(
    kind: str, value: float, *, capture: bool = True, static_id: bool = False
) -> Built:
    """A network with one plugin layer: ``kind`` "PLUGIN_V2" (GPT attention test plugin,
    field ``num_heads``) or "PLUGIN_V3" (add-bias test plugin, field ``bias``)."""
    trt = offline
    v2, v3 = register_test_plugins(trt)

    def build() -> Built:
        builder, net, x = new_network(trt)
        if kind == "PLUGIN_V2":
            fields = trt.PluginFieldCollection(
                [
                    trt.PluginField(n, np.array([v], np.int32), trt.PluginFieldType.INT32)
                    for n, v in (("num_heads", int(value)), ("num_kv_heads", 2), ("head_size", 16))
                ]
            )
            layer = net.add_plugin_v2([x, x, x], v2.create_plugin("attn", fields))
        else:
            fields = trt.PluginFieldCollection(
                [
                    trt.PluginField(
                        "bias", np.array([value], np.float32), trt.PluginFieldType.FLOAT32
                    )
                ]
            )
            plugin = v3.create_plugin("bias", fields, trt.TensorRTPhase.BUILD)
            if static_id:  # a plugin whose timing cache id does not depend on its fields
                plugin.timing_cache_id = "add_bias"
            layer = net.add_plugin_v3([x], [], plugin)
        net.mark_output(layer.get_output(0))
        return builder, net

    return _captured(build, capture=capture)


def coverage_network(layer_type: str) -> Built | None:
    """A small network holding a ``layer_type`` layer, or None if no network can."""
    if layer_type in ZOO:
        builder, net, _ = zoo_network(layer_type)
        return builder, net
    if layer_type in ("PLUGIN_V2", "PLUGIN_V3"):
        return plugin_network(layer_type, 4)
    return None  # PLUGIN: the IPluginV1 layer was removed in TensorRT 10


# --------------------------------------------------------------------------- generic


def _writable(cls: type) -> list[str]:
    return sorted(
        name
        for name in dir(cls)
        if not name.startswith("_")
        and name not in SKIPPED_PROPERTIES
        and isinstance(getattr(cls, name, None), property)
        and getattr(cls, name).fset is not None
    )


def _relevant(layer: Any, prop: str) -> bool:
    """False where TensorRT ignores ``prop`` (an input slot supplies it, ...)."""
    for klass in type(layer).__mro__:
        rule = CONDITIONAL_PROPERTIES.get((klass.__name__, prop))
        if rule is None:
            continue
        if any(s < layer.num_inputs and layer.get_input(s) is not None for s in rule.unless_input):
            return False
        if any(len(getattr(layer, p) or ()) for p in rule.unless_nonempty):
            return False
        if any(not getattr(layer, p) for p in rule.only_if_true):
            return False
    return True


Target = Callable[[Any], Any]  # zoo layer -> object whose property is changed

TARGETS: dict[str, Target] = {
    "layer": lambda layer: layer,
    "output tensor": lambda layer: layer.get_output(0) if layer.num_outputs else None,
    "construct": lambda layer: next(
        (getattr(layer, a) for a in ("loop", "conditional", "attention") if hasattr(layer, a)),
        None,
    ),
}


def _mutated(layer_type: str, target: str, prop: str, candidate: Any) -> Built | None:
    """A fresh zoo network with ``prop`` of the target set to ``candidate``; None if the
    setter refused it (exception, or a logged error leaving the value unchanged)."""
    found = _mutated_object(layer_type, target, prop, candidate)
    return None if found is None else found[:2]


def _mutated_object(
    layer_type: str, target: str, prop: str, candidate: Any
) -> tuple[Any, Any, Any] | None:
    builder, net, layer = zoo_network(layer_type)
    obj = TARGETS[target](layer)
    original = repr(getattr(obj, prop))
    try:
        setattr(obj, prop, candidate)
    except (TypeError, ValueError, AttributeError, RuntimeError):
        return None
    if repr(getattr(obj, prop)) == original:
        return None
    return builder, net, obj


def attribute_cases(layer_types: list[str]) -> Iterator[Case]:
    """One case per writable property of each layer type's layer, construct and output."""
    seen_constructs: set[str] = set()
    for layer_type in layer_types:
        _, _, layer = zoo_network(layer_type)
        for target, get in TARGETS.items():
            obj = get(layer)
            if obj is None:
                continue
            cls = type(obj)
            if target == "construct":
                if cls.__name__ in seen_constructs:
                    continue
                seen_constructs.add(cls.__name__)
            if target == "output tensor" and layer.get_output(0).is_network_input:
                continue
            for prop in _writable(cls):
                for candidate in alternatives(getattr(obj, prop)):
                    found = _mutated_object(layer_type, target, prop, candidate)
                    if found is None:
                        continue
                    relevant = target != "layer" or _relevant(found[2], prop)
                    expect = "change" if relevant else "irrelevant"
                    yield Case(
                        category=f"{target} attribute",
                        label=f"{layer_type}: {cls.__name__}.{prop} -> {candidate!r}",
                        expect=expect,
                        before=lambda t=layer_type: zoo_network(t)[:2],
                        after=lambda t=layer_type, g=target, p=prop, c=candidate: _mutated(
                            t, g, p, c
                        ),
                    )
                    break


# --------------------------------------------------------------------------- hand-made


def _input_net(**over: Any) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        net = builder.create_network(over.get("flags", 0))
        spec = {"name": "y", "dtype": trt.float32, "shape": [2, 3], **over}
        y = net.add_input(spec["name"], spec["dtype"], trt.Dims(spec["shape"]))
        if "dim_name" in over:
            y.set_dimension_name(0, over["dim_name"])
        net.mark_output(net.add_identity(y).get_output(0))
        return builder, net

    return lambda: _captured(build)


def _graph_net(
    *,
    rewire: bool = False,
    swap_outputs: bool = False,
    debug: bool = False,
    layer_name: str | None = None,
    output_type: bool = False,
) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder, net, x = new_network(trt)
        a = net.add_unary(x, trt.UnaryOperation.EXP)
        b = net.add_unary(x, trt.UnaryOperation.ABS)
        c = net.add_elementwise(a.get_output(0), b.get_output(0), trt.ElementWiseOperation.SUM)
        if rewire:
            c.set_input(1, a.get_output(0))
        if layer_name:
            c.name = layer_name
        if output_type:
            a.set_output_type(0, trt.float16)
        outs = [c.get_output(0), b.get_output(0)]
        for t in reversed(outs) if swap_outputs else outs:
            net.mark_output(t)
        if debug:
            net.mark_debug(a.get_output(0))
        return builder, net

    return lambda: _captured(build)


def _gather_net(indices: list[int]) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder, net, x = new_network(trt)
        idx = net.add_constant(trt.Dims([len(indices)]), trt.Weights(np.array(indices, np.int32)))
        net.mark_output(net.add_gather(x, idx.get_output(0), 1).get_output(0))
        return builder, net

    return lambda: _captured(build)


def _scale_power_net(power: float) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder, net, x = new_network(trt)
        pw = trt.Weights(np.full(8, power, np.float32))
        layer = net.add_scale(x, trt.ScaleMode.CHANNEL, weights(trt, 8), weights(trt, 8), pw)
        net.mark_output(layer.get_output(0))
        return builder, net

    return lambda: _captured(build)


def _constant_net(count: int, dtype: Any = np.float32) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder, net, _ = new_network(trt)
        c = net.add_constant(trt.Dims([count]), trt.Weights(np.ones(count, dtype)))
        net.mark_output(c.get_output(0))
        return builder, net

    return lambda: _captured(build)


def _collective_net(root: int, *, capture: bool = True) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder, net, x = new_network(trt)
        layer = net.add_dist_collective(
            x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, root, [0, 1]
        )
        net.mark_output(layer.get_output(0))
        return builder, net

    return lambda: _captured(build, capture=capture)


def _moe_net(limit: float, *, capture: bool = True) -> Callable[[], Built]:
    def build() -> Built:
        builder, net, moe = network_with(offline, "MOE")
        moe.set_swiglu_params(limit, 1.0, 0.5)
        return builder, net

    return lambda: _captured(build, capture=capture)


def _decoder(seed: int, attention: str = "attention") -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        register_test_plugins(trt)
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        net = networks.build_decoder_block(
            trt, network=networks.new_network(trt, builder), seed=seed, attention=attention
        )
        return builder, net

    return lambda: _captured(build)


def _plugin(kind: str, value: float, capture: bool, static_id: bool = False) -> Callable[[], Built]:
    return lambda: plugin_network(kind, value, capture=capture, static_id=static_id)


def _named_weights_net(name: str, *, capture: bool) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder, net, x = new_network(trt)
        w = weights(trt, 4 * 8 * 3 * 3)
        conv = net.add_convolution_nd(x, 4, trt.Dims([3, 3]), w, trt.Weights())
        net.mark_output(conv.get_output(0))
        net.set_weights_name(w, name)
        return builder, net

    return lambda: _captured(build, capture=capture)


def _uniform_scale_net(seed: int) -> Callable[[], Built]:
    def build() -> Built:
        trt = offline
        builder, net, x = new_network(trt)
        layer = net.add_scale(
            x,
            trt.ScaleMode.UNIFORM,
            weights(trt, 1, seed=seed),
            weights(trt, 1, seed=seed + 7),
            trt.Weights(),
        )
        net.mark_output(layer.get_output(0))
        return builder, net

    return lambda: _captured(build)


def handmade_cases() -> Iterator[Case]:
    """Inputs, flags, wiring, outputs, names, plugins, captured state, structural weights."""
    base = _input_net()
    for label, variant in (
        ("input dtype float32 -> float16", _input_net(dtype=offline.float16)),
        ("input shape (2,3) -> (2,4)", _input_net(shape=[2, 4])),
        ("input shape (2,3) -> (-1,3)", _input_net(shape=[-1, 3])),
        ("input rank 2 -> 3", _input_net(shape=[2, 3, 1])),
        ("input name y -> z", _input_net(name="z")),
    ):
        yield Case("input", label, "change", base, variant)
    yield Case(
        "input",
        "dimension name on a dynamic dim",
        "change",
        _input_net(shape=[-1, 3]),
        _input_net(shape=[-1, 3], dim_name="batch"),
    )
    strongly = 1 << int(offline.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    yield Case("network flag", "STRONGLY_TYPED", "change", base, _input_net(flags=strongly))
    g = _graph_net()
    yield Case(
        "wiring",
        "rewire elementwise input 1 to another producer",
        "change",
        g,
        _graph_net(rewire=True),
    )
    yield Case(
        "wiring", "swap the order of two outputs", "change", g, _graph_net(swap_outputs=True)
    )
    yield Case("wiring", "mark a tensor as debug", "change", g, _graph_net(debug=True))
    yield Case(
        "wiring", "set_output_type float16 on a layer", "change", g, _graph_net(output_type=True)
    )
    yield Case(
        "name",
        "layer name (refit maps weights by layer name)",
        "change",
        g,
        _graph_net(layer_name="sum"),
    )
    for kind, a, b in (("PLUGIN_V2", 4, 8), ("PLUGIN_V3", 1.0, 2.0)):
        for capture in (True, False):
            how = "inside capture()" if capture else "no capture"
            yield Case(
                "plugin field",
                f"{kind} field {a} -> {b} ({how})",
                "change",
                _plugin(kind, a, capture),
                _plugin(kind, b, capture),
            )
    yield Case(
        "plugin field",
        "PLUGIN_V3 field 1.0 -> 2.0, static timing_cache_id (no capture)",
        "change",
        _plugin("PLUGIN_V3", 1.0, False, True),
        _plugin("PLUGIN_V3", 2.0, False, True),
    )
    for capture in (True, False):
        how = "inside capture()" if capture else "no capture"
        yield Case(
            "write-only state",
            f"set_weights_name conv.weight -> conv.w ({how})",
            "change",
            _named_weights_net("conv.weight", capture=capture),
            _named_weights_net("conv.w", capture=capture),
        )
        yield Case(
            "write-only state",
            f"dist collective root 0 -> 1 ({how})",
            "change",
            _collective_net(0, capture=capture),
            _collective_net(1, capture=capture),
        )
        yield Case(
            "write-only state",
            f"MoE set_swiglu_params limit 7 -> 8 ({how})",
            "change",
            _moe_net(7.0, capture=capture),
            _moe_net(8.0, capture=capture),
        )
    yield Case(
        "structural weights",
        "gather INT32 indices [0,1,2] -> [0,1,3]",
        "change",
        _gather_net([0, 1, 2]),
        _gather_net([0, 1, 3]),
    )
    yield Case(
        "structural weights",
        "scale power 1 -> 2 (not refittable)",
        "change",
        _scale_power_net(1.0),
        _scale_power_net(2.0),
    )
    yield Case(
        "structural weights", "constant count 4 -> 5", "change", _constant_net(4), _constant_net(5)
    )
    yield Case(
        "structural weights",
        "constant dtype float32 -> float16",
        "change",
        _constant_net(4),
        _constant_net(4, np.float16),
    )
    yield Case(
        "weights only",
        "decoder block fine-tune (every weight new)",
        "keep",
        _decoder(0),
        _decoder(1),
    )
    yield Case(
        "weights only",
        "decoder block with GPT plugin, fine-tune",
        "keep",
        _decoder(0, "plugin"),
        _decoder(1, "plugin"),
    )
    yield Case(
        "weights only",
        "learned 1-element scale/shift (ScaleMode.UNIFORM) fine-tune",
        "keep",
        _uniform_scale_net(1),
        _uniform_scale_net(2),
    )


def weight_cases(layer_types: list[str]) -> Iterator[Case]:
    """A fine-tune per layer type: the zoo's seed changes only learned float weights.
    Layer types whose zoo network has no learned weights give identical rebuilds."""
    for layer_type in layer_types:
        yield Case(
            "weights only",
            f"{layer_type}: seed 1 -> 2",
            "keep",
            lambda t=layer_type: zoo_network(t, 1)[:2],
            lambda t=layer_type: zoo_network(t, 2)[:2],
        )


def rebuild_cases(layer_types: list[str]) -> Iterator[Case]:
    """The same construction twice in one process: with the network name pinned, and left
    at TensorRT's default ``Unnamed Network N`` (N counts networks per process)."""
    for pin, category in ((True, "rebuild, name pinned"), (False, "rebuild, default name")):
        for layer_type in layer_types:
            yield Case(
                category,
                f"{layer_type}: built twice ({category})",
                "keep",
                lambda t=layer_type, p=pin: zoo_network(t, pin=p)[:2],
                lambda t=layer_type, p=pin: zoo_network(t, pin=p)[:2],
            )


def catalogue(layer_types: list[str] | None = None) -> list[Case]:
    """Every case, for ``layer_types`` (default: every zoo type)."""
    types = sorted(ZOO) if layer_types is None else layer_types
    return [
        *attribute_cases(types),
        *handmade_cases(),
        *weight_cases(types),
        *rebuild_cases(types),
    ]


def module() -> ModuleType:
    """The TensorRT module the catalogue builds with."""
    return offline
