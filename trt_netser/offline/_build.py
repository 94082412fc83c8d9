"""The offline builder: checks a network and config the way TensorRT does, then makes a plan.

:data:`BUILD_CHECKS` lists what TensorRT refuses, in the order it is checked; the first
failing check's message is logged at ERROR and the build returns None. A network that
passes is lowered to a :class:`~trt_netser.offline._ir.GraphIR`, its refit inventory is
decided by :mod:`trt_netser.offline._inventory`, and the engine is serialized with the
flags it was built with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trt_netser.offline import _plan
from trt_netser.offline._engine import ICudaEngine
from trt_netser.offline._enums import (
    BuilderFlag,
    LayerType,
    NetworkDefinitionCreationFlag,
    PluginCapabilityType,
    _Severity,
)
from trt_netser.offline._inventory import inventory, refit_mode
from trt_netser.offline._ir import ProfileIR, paused_gc
from trt_netser.offline._logger import report
from trt_netser.offline._lower import LoweringError, lower
from trt_netser.offline._plugins import get_plugin_registry
from trt_netser.offline._shapes import ShapeError, infer
from trt_netser.offline._types import Weights

_B = "Builder::buildSerializedNetwork"


@dataclass(frozen=True)
class BuildInput:
    """What a check may look at: the network and config objects, and their profiles."""

    network: Any
    config: Any
    profiles: list[Any]  # IOptimizationProfile objects of the config


def _flag(config: Any, flag: BuilderFlag) -> bool:
    return bool(config.get_flag(flag))


def _inputs(b: BuildInput) -> list[Any]:
    return [b.network.get_input(i) for i in range(b.network.num_inputs)]


def check_outputs(b: BuildInput) -> str | None:
    """A network needs at least one output."""
    if b.network.num_outputs == 0:
        return f"{_B}: Error Code 4: API Usage Error (Network must have at least one output.)"
    return None


def check_names(b: BuildInput) -> str | None:
    """IO tensor names are the engine's binding names: they must be distinct."""
    names = [t.name for t in _inputs(b)]
    names += [b.network.get_output(i).name for i in range(b.network.num_outputs)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return (
                f"{_B}: Error Code 4: API Usage Error (Repeated tensor name: {name} (tensors must "
                "have distinct names).)"
            )
        seen.add(name)
    return None


def check_shapes(b: BuildInput) -> str | None:
    """Every layer's configuration must still be valid (shape errors the model detects)."""
    for i in range(b.network.num_layers):
        layer = b.network.get_layer(i)
        if layer._impl.shape_error is not None:  # its own, or an input's that it inherits
            return f"{_B}: Error Code 4: Shape Error ({layer._impl.shape_error})"
        try:
            outs = infer(layer._impl)
        except ShapeError as exc:
            return f"{_B}: Error Code 4: Shape Error ({layer.name}: {exc})"
        for out, (shape, dtype, _) in zip(layer._impl.outputs, outs, strict=False):
            if out._shape != shape or out._dtype != dtype:
                return (
                    f"{_B}: Error Code 4: Shape Error ({layer.name}: output {out.name} is stale: "
                    f"expected {shape} {dtype}, the network holds {out._shape} {out._dtype}.)"
                )
    return None


def _loop_internal(net: Any) -> dict[Any, Any]:
    """Tensors inside a loop (reachable from its recurrences and iterators without leaving
    through one of its ILoopOutputLayers), each with its loop."""
    loops: dict[int, Any] = {}
    for layer in net.layers:
        if layer.ltype in (LayerType.RECURRENCE, LayerType.ITERATOR):
            loops.setdefault(id(layer.construct), layer.construct)
    inside: dict[Any, Any] = {}
    for loop in loops.values():
        own = {id(layer) for layer in loop.layers}
        work = [
            t
            for layer in loop.layers
            if layer.ltype in (LayerType.RECURRENCE, LayerType.ITERATOR)
            for t in layer.outputs
        ]
        while work:
            t = work.pop()
            if t in inside:
                continue
            inside[t] = loop
            for consumer in t._consumers:
                if id(consumer) not in own:
                    work.extend(consumer.outputs)
    return inside


def check_loop_outputs(b: BuildInput) -> str | None:
    """An ILoopOutputLayer is the sole way to get output from a loop: a loop-internal tensor
    cannot be a network output."""
    inside = _loop_internal(b.network._impl)
    for i in range(b.network.num_outputs):
        t = b.network.get_output(i)
        loop = inside.get(t)
        if loop is not None:
            return (
                f"{_B}: Error Code 4: API Usage Error (Network output {t.name} is a "
                f"loop-internal tensor of {loop.name}: an ILoopOutputLayer is the sole way to "
                "get output from a loop.)"
            )
    return None


def _dynamic(t: Any) -> bool:
    return -1 in tuple(t.shape)


def check_profiles(b: BuildInput) -> str | None:
    """Dynamic inputs and shape inputs need a profile that covers them, in order."""
    needs = [t for t in _inputs(b) if _dynamic(t) or t.is_shape_tensor]
    if needs and not b.profiles:
        return (
            f"{_B}: Error Code 4: API Usage Error (Network has dynamic or shape inputs, but no "
            "optimization profile has been defined.)"
        )
    for pi, profile in enumerate(b.profiles):
        for t in needs:
            if t.is_shape_tensor:
                values = profile.get_shape_input(t.name)
                if not values:
                    return (
                        f"{_B}: Error Code 4: API Usage Error ({t.name}: shape input is missing "
                        f"values in profile {pi}.)"
                    )
                continue
            shapes = profile.get_shape(t.name)
            if not shapes:
                return (
                    f"{_B}: Error Code 4: API Usage Error ({t.name}: dynamic input is missing "
                    f"dimensions in profile {pi}.)"
                )
            lo, opt, hi = (tuple(s) for s in shapes)
            dims = tuple(t.shape)
            if not len(lo) == len(opt) == len(hi) == len(dims):
                return (
                    f"{_B}: Error Code 4: API Usage Error ({t.name}: profile {pi} has rank "
                    f"{len(lo)}, the network input has rank {len(dims)}.)"
                )
            for d, (a, o, c, n) in enumerate(zip(lo, opt, hi, dims, strict=True)):
                if not 0 <= a <= o <= c:
                    return (
                        f"{_B}: Error Code 4: API Usage Error ({t.name}: for dimension number {d} "
                        f"in profile {pi}, expected min <= opt <= max (got min={a}, opt={o}, "
                        f"max={c}).)"
                    )
                if n != -1 and not a == o == c == n:
                    return (
                        f"{_B}: Error Code 4: API Usage Error ({t.name}: for dimension number {d} "
                        f"in profile {pi} does not match network definition (got min={a}, "
                        f"opt={o}, max={c}), expected min=opt=max={n}).)"
                    )
    return None


def _dim_ranges(t: Any, profile: Any) -> list[tuple[int, int, int]]:
    """(min, opt, max) of each dimension of input ``t`` in ``profile`` (static dims: n, n, n)."""
    dims = tuple(t.shape)
    shapes = profile.get_shape(t.name) if profile is not None else []
    if len(shapes) == 3 and all(len(s) == len(dims) for s in shapes):
        return [(int(a), int(o), int(c)) for a, o, c in zip(*shapes, strict=True)]
    return [(n, n, n) for n in dims]


def check_named_dimensions(b: BuildInput) -> str | None:
    """Input dimensions with the same name must be equal at runtime (set_dimension_name), so
    in every profile they must have the same min, opt and max (TensorRT validates it at build
    time; TensorRT-LLM's _validate_named_dimensions repeats the check for a clearer error)."""
    for pi, profile in enumerate(b.profiles or [None]):
        first: dict[str, tuple[str, int, tuple[int, int, int]]] = {}
        for t in _inputs(b):
            for d, rng in enumerate(_dim_ranges(t, profile)):
                name = t.get_dimension_name(d)
                if not name:
                    continue
                seen = first.setdefault(name, (t.name, d, rng))
                if seen[2] != rng:
                    return (
                        f"{_B}: Error Code 4: API Usage Error ({t.name}: dimension {d} is named "
                        f"{name}, as is dimension {seen[1]} of {seen[0]}, but in profile {pi} it "
                        f"has min={rng[0]}, opt={rng[1]}, max={rng[2]} where {seen[0]} has "
                        f"min={seen[2][0]}, opt={seen[2][1]}, max={seen[2][2]}: dimensions with "
                        "the same name must be equal at runtime.)"
                    )
    return None


def check_weight_streaming(b: BuildInput) -> str | None:
    """WEIGHT_STREAMING needs a strongly typed network."""
    strongly = bool(
        b.network.get_flag(NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        if hasattr(b.network, "get_flag")
        else False
    )
    if _flag(b.config, BuilderFlag.WEIGHT_STREAMING) and not strongly:
        return (
            f"{_B}: Error Code 3: API Usage Error (Weight streaming is only supported with "
            "strongly typed networks. Create the network with "
            "NetworkDefinitionCreationFlag::kSTRONGLY_TYPED.)"
        )
    return None


def _weight_names(network: Any) -> set[str]:
    net = network._impl
    names: set[str] = net.weight_names.all_names()
    for layer in net.layers:
        if any(isinstance(v, Weights) and v.size for v in layer.p.values()):
            names.add(layer.name)
    return names


def check_marked(b: BuildInput) -> str | None:
    """REFIT_INDIVIDUAL: every name marked refittable must still name weights."""
    if not _flag(b.config, BuilderFlag.REFIT_INDIVIDUAL):
        return None
    known = _weight_names(b.network)
    for name in sorted(b.network._impl.refittable):
        if name not in known:
            return (
                f"{_B}: Error Code 3: API Usage Error (Weights '{name}' are marked refittable but "
                "no weights of the network have this name.)"
            )
    return None


def check_plugins(b: BuildInput) -> str | None:
    """Every plugin layer needs its creator in the plugin registry."""
    registry = get_plugin_registry()
    for i in range(b.network.num_layers):
        impl = b.network.get_layer(i)._impl
        if impl.ltype not in (LayerType.PLUGIN_V2, LayerType.PLUGIN_V3):
            continue
        plugin = impl.p.get("plugin")
        if impl.ltype == LayerType.PLUGIN_V2:
            ident = (plugin.plugin_type, plugin.plugin_version, plugin.plugin_namespace)
        else:
            core = plugin.get_capability_interface(PluginCapabilityType.CORE)
            ident = (core.plugin_name, core.plugin_version, core.plugin_namespace)
        if registry.get_creator(*ident) is None:
            return (
                f"{_B}: Error Code 4: API Usage Error (Cannot find plugin creator for "
                f"{ident[0]}, version: {ident[1]}, namespace: {ident[2]!r}, used by layer "
                f"{impl.name}.)"
            )
    return None


#: What TensorRT refuses, in order (name, check). Each check returns the message to log.
BUILD_CHECKS: tuple[tuple[str, Callable[[BuildInput], str | None]], ...] = (
    ("outputs", check_outputs),
    ("tensor-names", check_names),
    ("shapes", check_shapes),
    ("loop-outputs", check_loop_outputs),
    ("profiles", check_profiles),
    ("named-dimensions", check_named_dimensions),
    ("weight-streaming", check_weight_streaming),
    ("marked-weights", check_marked),
    ("plugins", check_plugins),
)


def _profile_irs(b: BuildInput) -> list[ProfileIR]:
    inputs = _inputs(b)
    profiles = b.profiles or [None]
    out = []
    for profile in profiles:
        shapes: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for t in inputs:
            got = profile.get_shape(t.name) if profile is not None else []
            dims = tuple(t.shape)
            shapes[t.name] = tuple(tuple(s) for s in got) if got else (dims, dims, dims)
            vals = profile.get_shape_input(t.name) if profile is not None else []
            if vals:
                values[t.name] = tuple(tuple(v) for v in vals)
        extra = float(profile.extra_memory_target) if profile is not None else 1.0
        out.append(ProfileIR(shapes, values, extra))
    return out


def config_record(config: Any, network: Any) -> dict[str, Any]:
    """The build settings that shape an engine, as a canonical record."""
    s = config._s
    index_of = {id(layer): i for i, layer in enumerate(network._impl.layers)}
    return {
        "flags": int(s["flags"]),
        "quantization_flags": int(s["quantization_flags"]),
        "engine_capability": int(s["engine_capability"]),
        "hardware_compatibility_level": int(s["hardware_compatibility_level"]),
        "builder_optimization_level": int(s["builder_optimization_level"]),
        "avg_timing_iterations": int(s["avg_timing_iterations"]),
        "default_device_type": int(s["default_device_type"]),
        "DLA_core": int(s["DLA_core"]),
        "max_aux_streams": int(s["max_aux_streams"]),
        "max_num_tactics": int(s["max_num_tactics"]),
        "profiling_verbosity": int(s["profiling_verbosity"]),
        "runtime_platform": int(s["runtime_platform"]),
        "tiling_optimization_level": int(s["tiling_optimization_level"]),
        "l2_limit_for_tiling": int(s["l2_limit_for_tiling"]),
        "tactic_sources": int(s["tactic_sources"]),
        "plugins_to_serialize": list(s["plugins_to_serialize"]),
        "remote_auto_tuning_config": str(s["remote_auto_tuning_config"]),
        "preview_features": sorted([int(k), bool(v)] for k, v in s["preview"].items()),
        "memory_pools": sorted([int(k), int(v)] for k, v in s["pools"].items()),
        "device_types": sorted(
            [index_of[id(layer)], int(dev)]
            for layer, dev in s["device_types"].items()
            if id(layer) in index_of
        ),
    }


def build_engine(builder: Any, network: Any, config: Any) -> ICudaEngine | None:
    """The engine for ``network`` under ``config``, or None after logging why not."""
    with paused_gc():
        return _build_engine(builder, network, config)


def _build_engine(builder: Any, network: Any, config: Any) -> ICudaEngine | None:
    logger = builder.logger
    b = BuildInput(network, config, list(config._s["profiles"]))
    for _, check in BUILD_CHECKS:
        msg = check(b)
        if msg is not None:
            report(logger, _Severity.ERROR, msg)
            return None
    try:
        ir = lower(network, _profile_irs(b))
    except LoweringError as exc:
        report(logger, _Severity.ERROR, f"{_B}: {exc}")
        return None
    flags = int(config._s["flags"])
    entries = inventory(ir, flags, frozenset(network._impl.refittable))
    plan = _plan.Plan.from_ir(
        ir,
        config=config_record(config, network),
        inventory=entries,
        refittable=refit_mode(flags).any,
        weights_excluded=False,
        serialization_flags=0,
    )
    return ICudaEngine._make(plan, logger)


def build_serialized(builder: Any, network: Any, config: Any) -> bytes | None:
    """The plan bytes of a fresh build (None after an ERROR)."""
    with paused_gc():
        engine = _build_engine(builder, network, config)
        if engine is None:
            return None
        return engine._serialize(engine._default_serialization_flags())
