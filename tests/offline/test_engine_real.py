"""The engine-side classes take the real 10.16 bindings' arguments and return their types.

Why: code written for ``tensorrt`` calls ``refitter.set_weights(layer_name=..., role=...,
weights=...)``, ``engine.get_tensor_profile_shape(name, profile_index)`` and so on, and
relies on what comes back. The real bindings are loaded with stub libraries (see
``tests/support/real_trt.py``) and every overload signature of every method of the classes
the engine issue adds is read from them; each overload is then called on a live offline
object, positionally and with the real keyword names, and the value must have the type the
real signature declares. The classes' constructors and value behaviour that need no native
library are compared directly, as ``test_real_types`` does for the value types.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.conftest import RealRunner
from tests.offline.conftest import ListLogger

pytestmark = pytest.mark.real_trt

CLASSES = (
    "ICudaEngine",
    "IExecutionContext",
    "Runtime",
    "Refitter",
    "IHostMemory",
    "ISerializationConfig",
    "IRuntimeConfig",
    "EngineInspector",
)

SIGNATURES = r"""
import json, re, tensorrt_bindings as trt
out = {}
for c in %r:
    cls = getattr(trt, c)
    for n in dir(cls):
        if n.startswith("_") and n != "__getitem__":
            continue
        a = getattr(cls, n)
        if isinstance(a, property):
            continue
        lines = (a.__doc__ or "").split("\n")
        sigs = [re.sub(r"^\d+\. ", "", l) for l in lines if re.match(r"^(\d+\. )?" + n + r"\(self", l)]
        out[c + "." + n] = sigs
print("@@" + json.dumps(out))
"""


def _split_params(text: str) -> list[str]:
    """Top-level comma split of a parameter list (types have brackets with commas)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(<":
            depth += 1
        elif ch in "])>":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse(sig: str) -> tuple[list[tuple[str, str, bool]], str]:
    """([(name, type, has_default)], return type) of one pybind11 signature line."""
    m = re.match(r"^\w+\((.*)\) -> (.*)$", sig)
    assert m, sig
    params = []
    for p in _split_params(m.group(1))[1:]:  # drop self
        name, _, rest = p.partition(": ")
        ptype, eq, _ = rest.partition(" = ")
        params.append((name, ptype, bool(eq)))
    return params, m.group(2).replace("tensorrt_bindings.tensorrt.", "")


@pytest.fixture(scope="module")
def real_signatures(real_trt: RealRunner) -> dict[str, list[str]]:
    proc = real_trt(SIGNATURES % (CLASSES,))
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("@@"))
    return dict(json.loads(line[2:]))


def _objects() -> dict[str, Any]:
    """One live offline object per class, from a small refittable CNN with a dynamic batch."""
    logger = ListLogger()
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (-1, 3, 8, 8))
    kernel = np.ones((4, 3, 3, 3), np.float32)
    conv = net.add_convolution_nd(
        x, 4, (3, 3), trt.Weights(kernel), trt.Weights(np.ones(4, np.float32))
    )
    conv.name = "conv"
    net.set_weights_name(conv.kernel, "conv.weight")
    conv.get_output(0).name = "y"
    net.mark_output(conv.get_output(0))
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 3, 8, 8), (2, 3, 8, 8), (4, 3, 8, 8))
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    config.set_flag(trt.BuilderFlag.REFIT)
    plan = builder.build_serialized_network(net, config)
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(plan)
    return {
        "logger": logger,
        "plan": plan,
        "ICudaEngine": engine,
        "IExecutionContext": engine.create_execution_context(),
        "Runtime": runtime,
        "Refitter": trt.Refitter(engine, logger),
        "IHostMemory": plan,
        "ISerializationConfig": engine.create_serialization_config(),
        "IRuntimeConfig": engine.create_runtime_config(),
        "EngineInspector": engine.create_engine_inspector(),
    }


#: Argument values by parameter name (per class where names mean different things).
ARGS: dict[str, Any] = {
    "name": "x",
    "index": 0,
    "arg0": 0,
    "profile_index": 0,
    "stat": trt.EngineStat.TOTAL_WEIGHTS_SIZE,
    "strategy": trt.ExecutionContextAllocationStrategy.STATIC,
    "stream_handle": 0,
    "bindings": [0, 0],
    "flag": True,
    "memory": 0,
    "size": 0,
    "event": 0,
    "aux_streams": [],
    "shape": (2, 3, 8, 8),
    "listener": None,
    "output_allocator": None,
    "communicator": None,
    "logger": None,  # replaced by the fixture's logger
    "path": "/nonexistent/libnvinfer_lean.so",
    "weights_name": "conv.weight",
    "layer_name": "conv",
    "role": trt.WeightsRole.KERNEL,
    "weights": trt.Weights(np.ones((4, 3, 3, 3), np.float32)),
    "location": trt.TensorLocation.HOST,
    "tensor_name": "x",
    "range": [0.0, 1.0],
    "runtime_config": None,
    "layer_index": 0,
    "format": trt.LayerInformationFormat.JSON,
}
OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("Refitter", "set_named_weights"): {"name": "conv.weight"},
    ("ISerializationConfig", "set_flag"): {"flag": trt.SerializationFlag.INCLUDE_REFIT},
    ("ISerializationConfig", "clear_flag"): {"flag": trt.SerializationFlag.EXCLUDE_WEIGHTS},
    ("ISerializationConfig", "get_flag"): {"flag": trt.SerializationFlag.INCLUDE_REFIT},
}
#: Methods whose real overload cannot be called meaningfully offline (with the reason).
NOT_CALLED: dict[str, str] = {
    "Runtime.deserialize_cuda_engine": "stream-reader overloads: covered by test_engine",
    "ICudaEngine.serialize_with_config": "needs an ISerializationConfig: covered by test_engine",
    "ICudaEngine.get_tensor_profile_values": (
        "raises RuntimeError for this CNN's input (no shape input): test_engine_client_code"
    ),
    "Refitter.__init__": "constructor: covered by test_engine",
    "Runtime.__init__": "constructor: covered by test_engine",
}


def _returns_ok(value: Any, ret: str) -> bool:
    """Whether ``value`` has the type a pybind11 return annotation declares."""
    if ret == "None":
        return value is None
    if ret == "int":
        return type(value) is int
    if ret == "bool":
        return type(value) is bool
    if ret == "str":
        return type(value) is str or value is None
    if ret == "tuple":
        return type(value) is tuple
    if ret.startswith("tuple["):
        return type(value) is tuple and all(type(v) is list for v in value)
    if ret.startswith("list["):
        inner = ret[5:-1]
        if type(value) is not list:
            return False
        if inner in ("str", "int"):
            return all(type(v).__name__ == inner for v in value)
        return all(_returns_ok(v, inner) for v in value)
    # a class of the module: pybind11 returns None for null pointers
    return value is None or type(value).__name__ == ret


def test_every_overload_takes_the_real_arguments(real_signatures: dict[str, list[str]]) -> None:
    problems: list[str] = []
    called = 0
    for key, sigs in sorted(real_signatures.items()):
        cls_name, method = key.split(".")
        if key in NOT_CALLED or method == "__init__":
            continue
        assert sigs, f"{key}: the real bindings document no signature"
        for sig in sigs:
            params, ret = parse(sig)
            objects = _objects()  # fresh per call: calls change state
            obj = objects[cls_name]
            fn = getattr(obj, method, None)
            if fn is None:
                problems.append(f"{key}: missing offline")
                continue
            values = {n: ARGS.get(n) for n, _, _ in params}
            values.update(OVERRIDES.get((cls_name, method), {}))
            if "logger" in values:
                values["logger"] = objects["logger"]
            for style in ("positional", "keywords"):
                try:
                    out = fn(*values.values()) if style == "positional" else fn(**values)
                except TypeError as exc:
                    problems.append(f"{sig} [{style}]: TypeError {exc}")
                    continue
                called += 1
                if not _returns_ok(out, ret):
                    problems.append(f"{sig} [{style}]: returned {type(out).__name__} {out!r}")
    assert not problems, "\n".join(problems)
    assert called > 100


@pytest.mark.parametrize("name", CLASSES)
def test_documented_methods_have_signatures_offline(
    name: str, real_signatures: dict[str, list[str]]
) -> None:
    """Every real method of the class exists offline (the surface test checks names too)."""
    missing = [
        key
        for key in real_signatures
        if key.startswith(name + ".") and not hasattr(getattr(trt, name), key.split(".")[1])
    ]
    assert not missing


#: Behaviour that needs no native library, observed under both implementations.
CHECKS: dict[str, str] = {
    f"{c}()": f"trt.{c}()"
    for c in (
        "ICudaEngine",
        "IExecutionContext",
        "IHostMemory",
        "ISerializationConfig",
        "IRuntimeConfig",
        "EngineInspector",
    )
}
CHECKS.update(
    {
        "Runtime(None)": "trt.Runtime(None)",
        "Runtime(str)": "trt.Runtime('logger')",
        "Refitter(None, logger)": "trt.Refitter(None, trt.Logger())",
        "Refitter(logger)": "trt.Refitter(trt.Logger())",
        "property kinds": (
            "sorted((c, n, type(getattr(getattr(trt, c), n)).__name__) for c in "
            f"{list(CLASSES)!r} for n in dir(getattr(trt, c)) if not n.startswith('_') and "
            "isinstance(getattr(getattr(trt, c), n), property))"
        ),
        "SerializationFlag": "[(k, int(v)) for k, v in trt.SerializationFlag.__members__.items()]",
        "WeightsRole": "[(k, int(v)) for k, v in trt.WeightsRole.__members__.items()]",
        "Weights(FLOAT, 0, 7)": "w = trt.Weights(trt.DataType.FLOAT, 0, 7)\n(w.dtype, w.size, w.nbytes)",
    }
)


def test_constructors_and_values_match_the_real_bindings(real_trt: RealRunner) -> None:
    import subprocess
    import sys

    from tests.offline.test_real_types import PROBE, REPO_ROOT, _parse

    checks = json.dumps(CHECKS)
    real = _parse(
        real_trt(
            "import sys\nsys.argv = ['probe', 'tensorrt_bindings', " + repr(checks) + "]\n" + PROBE
        ),
        "the real bindings",
    )
    offline = _parse(
        subprocess.run(
            [sys.executable, "-c", PROBE, "trt_netser.offline", checks],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
        ),
        "trt_netser.offline",
    )
    problems = []
    for name in CHECKS:
        r, o = real[name], offline[name]
        if "raises" in r or "raises" in o:
            if r.get("raises") != o.get("raises"):
                problems.append(f"{name}: real {r}, offline {o}")
        elif r["value"] != o["value"]:
            problems.append(f"{name}: real {r['value']}, offline {o['value']}")
    assert not problems, "\n".join(problems)
