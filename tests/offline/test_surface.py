"""The surface of ``trt_netser.offline`` equals TensorRT 10.16.1.11's Python API.

Why: the offline model stands in for ``tensorrt`` wherever the native library is missing
(tests, CI, keys computed on machines without a GPU). Code written against it must run
unchanged on the real module, so it must expose exactly the real names: nothing missing
(code would break offline) and no "side doors" (code would work offline and break on
real TensorRT). The reference is the committed dump of the official bindings, made by
``trt_netser.apidump``; the offline side is dumped by the same tool.

Each check is parametrized by name, so a failure says exactly which class, enum,
property or method is missing, extra or different. Deliberate gaps are listed below,
each with its reason.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trt_netser import apidump

REFERENCE = Path(apidump.__file__).parent / "data" / "trt_api" / "10.16.1.11.json"

#: Classes that may be absent offline, with the reason. If present they must match.
#: None are: every class of the 10.16 dump exists offline (engine-side classes model the
#: engine; classes whose behaviour needs a GPU or a native library fail where used).
ABSENT_CLASSES: dict[str, str] = {}

#: Offline-only module functions, documented as such in trt_netser.offline's docstring: the
#: real bindings cannot run engines on the CPU, so these have no counterpart. Exactly these
#: names are accepted; any other extra function is a side door.
OFFLINE_ONLY_FUNCTIONS: dict[str, str] = {
    "run": "runs an offline engine on named numpy inputs (issue 15)",
    "register_plugin_implementation": "a numpy implementation for a plugin creator (issue 15)",
}

#: Enums that may be absent offline, with the reason (none: enums are pure values).
ABSENT_ENUMS: dict[str, str] = {}

#: Public class attributes the dump format does not record (plain int constants), with
#: the real 10.16.1.11 values; offline must have them too.
STATIC_CONSTANTS: dict[tuple[str, str], int] = {
    ("Dims", "MAX_DIMS"): 8,
    ("Dims2", "MAX_DIMS"): 8,
    ("Dims3", "MAX_DIMS"): 8,
    ("Dims4", "MAX_DIMS"): 8,
    ("DimsHW", "MAX_DIMS"): 8,
    ("IPluginV2DynamicExt", "FORMAT_COMBINATION_LIMIT"): 100,
    ("IPluginV3OneBuild", "DEFAULT_FORMAT_COMBINATION_LIMIT"): 100,
    ("IPluginV3OneBuildV2", "DEFAULT_FORMAT_COMBINATION_LIMIT"): 100,
}

#: Public non-member attributes of enum types in the real bindings.
ENUM_EXTRAS: dict[str, set[str]] = {"DataType": {"itemsize"}}
ENUM_COMMON = {"name", "value"}


def _load_offline() -> tuple[types.ModuleType | None, dict[str, Any], str]:
    """Import and dump the offline module; on failure return the error instead of raising.

    Done at collection time so extra (side-door) names can be parametrized too; a broken
    import then fails every test with the error rather than erroring the collection.
    """
    try:
        import trt_netser.offline as offline

        return offline, apidump.dump_module(offline), ""
    except Exception as exc:
        empty = {k: {} for k in ("aliases", "classes", "constants", "enums", "functions")}
        return None, {**empty, "version": ""}, f"{type(exc).__name__}: {exc}"


REAL: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
OFFLINE_MODULE, OFFLINE, IMPORT_ERROR = _load_offline()


def _names(field: str) -> list[str]:
    """Every name of ``field`` on either side, so extras become test cases too."""
    return sorted(set(REAL[field]) | set(OFFLINE[field]))


def _require_import() -> types.ModuleType:
    if OFFLINE_MODULE is None:
        pytest.fail(f"import trt_netser.offline failed: {IMPORT_ERROR}")
    return OFFLINE_MODULE


def _diff_members(kind: str, real: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Human-readable differences of two name -> value mappings."""
    problems = [f"missing {kind} {n!r}" for n in sorted(set(real) - set(ours))]
    problems += [f"extra {kind} {n!r} (side door)" for n in sorted(set(ours) - set(real))]
    problems += [
        f"{kind} {n!r}: real {real[n]!r}, offline {ours[n]!r}"
        for n in sorted(set(real) & set(ours))
        if real[n] != ours[n]
    ]
    return problems


def test_version() -> None:
    _require_import()
    assert OFFLINE["version"] == REAL["version"]


@pytest.mark.parametrize("name", _names("classes"))
def test_class(name: str) -> None:
    """Class present (or a listed exception), same bases, properties, r/rw, methods."""
    _require_import()
    real = REAL["classes"].get(name)
    ours = OFFLINE["classes"].get(name)
    if real is None:
        pytest.fail(f"extra class {name!r}: the real bindings have no such class (side door)")
    if ours is None:
        if name in ABSENT_CLASSES:
            pytest.skip(f"{name} absent offline: {ABSENT_CLASSES[name]}")
        pytest.fail(f"missing class {name!r}")
    problems = []
    if real["bases"] != ours["bases"]:
        problems.append(f"bases: real {real['bases']}, offline {ours['bases']}")
    problems += _diff_members("property", real["properties"], ours["properties"])
    real_methods = dict.fromkeys(real["methods"], "")
    our_methods = dict.fromkeys(ours["methods"], "")
    problems += _diff_members("method", real_methods, our_methods)
    problems += _diff_members(
        "class attribute", real.get("class_attributes", {}), ours.get("class_attributes", {})
    )
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("method", sorted(REAL["classes"]["INetworkDefinition"]["methods"]))
def test_network_definition_method(method: str) -> None:
    """Every ``INetworkDefinition`` method exists offline (the heart of the model)."""
    _require_import()
    ours = OFFLINE["classes"].get("INetworkDefinition", {"methods": []})
    assert method in ours["methods"], f"INetworkDefinition.{method} is missing"


@pytest.mark.parametrize("name", _names("enums"))
def test_enum(name: str) -> None:
    """Enum present, same members (aliases included) with the same integer values."""
    _require_import()
    real = REAL["enums"].get(name)
    ours = OFFLINE["enums"].get(name)
    if real is None:
        pytest.fail(f"extra enum {name!r}: the real bindings have no such enum (side door)")
    if ours is None:
        if name in ABSENT_ENUMS:
            pytest.skip(f"{name} absent offline: {ABSENT_ENUMS[name]}")
        pytest.fail(f"missing enum {name!r}")
    problems = _diff_members("member", real, ours)
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("field", ["functions", "aliases", "constants"])
def test_module_level(field: str) -> None:
    """Module functions, aliases (``float32`` …) and constants match by name and value."""
    _require_import()
    real = REAL[field]
    ours = OFFLINE[field]
    if field == "functions":  # names only: docstrings are compared elsewhere, if at all
        real = dict.fromkeys(real, "")
        ours = {n: "" for n in ours if n not in OFFLINE_ONLY_FUNCTIONS}
    problems = _diff_members(field.rstrip("s"), real, ours)
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("key", sorted(STATIC_CONSTANTS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_static_constant(key: tuple[str, str]) -> None:
    """Class constants the dump format cannot show (``Dims.MAX_DIMS`` …) exist with the real value."""
    mod = _require_import()
    cls_name, attr = key
    cls = getattr(mod, cls_name, None)
    if cls is None:
        pytest.fail(f"missing class {cls_name!r}")
    assert getattr(cls, attr, None) == STATIC_CONSTANTS[key], f"{cls_name}.{attr}"


def _known_names(cls_name: str) -> set[str]:
    """Every public attribute name the real class has (dumped or static constants)."""
    real = REAL["classes"][cls_name]
    known = set(real["properties"]) | set(real["methods"]) | set(real.get("class_attributes", {}))
    known |= {attr for (c, attr) in STATIC_CONSTANTS if c == cls_name}
    return known


@pytest.mark.parametrize("name", sorted(OFFLINE["classes"]))
def test_no_side_door_on_class(name: str) -> None:
    """No public attribute of an offline class that the real class lacks.

    The dump records only properties, callables and enums; this also catches plain
    values, custom descriptors and other objects hung on a class.
    """
    mod = _require_import()
    if name not in REAL["classes"]:
        pytest.fail(f"extra class {name!r} (side door)")
    cls = getattr(mod, name)
    extra = sorted(a for a in dir(cls) if not a.startswith("_") and a not in _known_names(name))
    assert not extra, f"{name} has public attributes the real class lacks: {extra}"


@pytest.mark.parametrize("name", sorted(OFFLINE["enums"]))
def test_no_side_door_on_enum(name: str) -> None:
    """Enum types expose only their members, ``name``, ``value`` (and ``DataType.itemsize``).

    Catches e.g. an ``enum.IntEnum`` base leaking ``real``/``bit_length``/``to_bytes``.
    """
    mod = _require_import()
    if name not in REAL["enums"]:
        pytest.fail(f"extra enum {name!r} (side door)")
    allowed = set(REAL["enums"][name]) | ENUM_COMMON | ENUM_EXTRAS.get(name, set())
    enum_type = getattr(mod, name)
    extra = sorted(a for a in dir(enum_type) if not a.startswith("_") and a not in allowed)
    member = next(iter(enum_type.__members__.values()))
    extra += sorted(
        f"<member>.{a}"
        for a in dir(member)
        if not a.startswith("_") and a not in allowed and a not in extra
    )
    assert not extra, f"{name} has public attributes the real enum lacks: {extra}"


def test_no_side_door_on_nested_enums() -> None:
    """``ILogger.Severity`` (the one nested enum) exposes only members, name and value."""
    mod = _require_import()
    severity = mod.ILogger.Severity
    members = REAL["classes"]["ILogger"]["class_attributes"]["Severity"]["enum"]
    allowed = set(members) | ENUM_COMMON
    extra = sorted(a for a in dir(severity) if not a.startswith("_") and a not in allowed)
    assert not extra, f"ILogger.Severity has public attributes the real enum lacks: {extra}"


def _instances(trt: Any) -> dict[str, Callable[[], object]]:
    """Recipes for offline objects whose instance attributes are checked for side doors."""
    import numpy as np

    def network() -> Any:
        return trt.Builder(trt.Logger()).create_network(0)

    def tensor() -> Any:
        return network().add_input("x", trt.float32, (1, 2))

    def layer(method: str, *args: Any) -> Callable[[], object]:
        def make() -> object:
            net = network()
            x = net.add_input("x", trt.float32, (1, 2))
            return getattr(net, method)(x, *args)

        return make

    return {
        "Logger": trt.Logger,
        "Dims": lambda: trt.Dims([1, 2]),
        "Dims2": lambda: trt.Dims2(1, 2),
        "DimsHW": lambda: trt.DimsHW(1, 2),
        "Permutation": lambda: trt.Permutation([1, 0]),
        "Weights": lambda: trt.Weights(np.zeros(2, np.float32)),
        "PluginField": lambda: trt.PluginField("a"),
        "PluginFieldCollection": lambda: trt.PluginFieldCollection([]),
        "Builder": lambda: trt.Builder(trt.Logger()),
        "INetworkDefinition": network,
        "IBuilderConfig": lambda: trt.Builder(trt.Logger()).create_builder_config(),
        "IOptimizationProfile": lambda: trt.Builder(trt.Logger()).create_optimization_profile(),
        "ITensor": tensor,
        "IActivationLayer": layer("add_activation", trt.ActivationType.RELU),
        "IIdentityLayer": layer("add_identity"),
        "IShuffleLayer": layer("add_shuffle"),
        "ILayer": lambda: _first_layer(trt),
        "ILoop": lambda: network().add_loop(),
        "IHostMemory": lambda: _engine_objects(trt)["plan"],
        "ICudaEngine": lambda: _engine_objects(trt)["engine"],
        "IExecutionContext": lambda: _engine_objects(trt)["engine"].create_execution_context(),
        "ISerializationConfig": lambda: _engine_objects(trt)[
            "engine"
        ].create_serialization_config(),
        "IRuntimeConfig": lambda: _engine_objects(trt)["engine"].create_runtime_config(),
        "Runtime": lambda: trt.Runtime(trt.Logger()),
        "EngineInspector": lambda: _engine_objects(trt)["engine"].create_engine_inspector(),
        "Refitter": lambda: trt.Refitter(_engine_objects(trt)["engine"], trt.Logger()),
    }


def _engine_objects(trt: Any) -> dict[str, Any]:
    """A refittable one-constant engine and its plan."""
    import numpy as np

    builder = trt.Builder(trt.Logger())
    net = builder.create_network(0)
    net.mark_output(net.add_constant((2,), trt.Weights(np.ones(2, np.float32))).get_output(0))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    plan = builder.build_serialized_network(net, config)
    return {"plan": plan, "engine": trt.Runtime(trt.Logger()).deserialize_cuda_engine(plan)}


def _first_layer(trt: Any) -> object:
    """``get_layer(0)`` of a one-layer network: the generic ``ILayer`` view."""
    net = trt.Builder(trt.Logger()).create_network(0)
    net.add_identity(net.add_input("x", trt.float32, (1,)))
    return net.get_layer(0)


INSTANCE_CLASSES = [
    "Logger",
    "Dims",
    "Dims2",
    "DimsHW",
    "Permutation",
    "Weights",
    "PluginField",
    "PluginFieldCollection",
    "Builder",
    "INetworkDefinition",
    "IBuilderConfig",
    "IOptimizationProfile",
    "ITensor",
    "IActivationLayer",
    "IIdentityLayer",
    "IShuffleLayer",
    "ILayer",
    "ILoop",
    "IHostMemory",
    "ICudaEngine",
    "IExecutionContext",
    "ISerializationConfig",
    "IRuntimeConfig",
    "Runtime",
    "Refitter",
    "EngineInspector",
]


@pytest.mark.parametrize("name", INSTANCE_CLASSES)
def test_no_side_door_on_instance(name: str) -> None:
    """Objects made offline carry no public instance attribute the real class lacks."""
    mod = _require_import()
    try:
        obj = _instances(mod)[name]()
    except Exception as exc:
        pytest.fail(f"cannot make a {name} offline: {type(exc).__name__}: {exc}")
    assert type(obj).__name__ == name, f"a {name} recipe made a {type(obj).__name__}"
    known = _known_names(name)
    extra = sorted(a for a in dir(obj) if not a.startswith("_") and a not in known)
    assert not extra, f"{name} instances have public attributes the real class lacks: {extra}"
