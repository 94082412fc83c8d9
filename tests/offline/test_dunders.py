"""Protocol methods (len, indexing, context managers) match the real bindings.

API dumps list public methods only, so these are compared separately: Polygraphy, for
one, iterates ``for layer in network``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import trt_netser.offline as trt
from tests.support.real_trt import have_compiler, installed_bindings, run_real

PROTOCOL = (
    "__len__",
    "__getitem__",
    "__setitem__",
    "__iter__",
    "__contains__",
    "__enter__",
    "__exit__",
)

#: Classes whose protocol methods are absent offline, with the reason.
ABSENT: dict[str, str] = {
    "ISymExprs": "plugin runtime symbolic expressions: outside the network-definition model",
}


@pytest.fixture(scope="module")
def real_protocols() -> dict[str, list[str]]:
    if not have_compiler() or installed_bindings() is None:
        pytest.skip("needs gcc and the tensorrt-cu12-bindings wheel")
    code = f"""
import json, tensorrt_bindings as trt
out = {{}}
for name in dir(trt):
    cls = getattr(trt, name)
    if isinstance(cls, type) and not hasattr(cls, "__members__"):
        found = [m for m in {PROTOCOL!r} if m in dir(cls)]
        if found:
            out[name] = found
print(json.dumps(out))
"""
    result = run_real(code)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.real_trt
def test_protocol_methods_match_the_real_bindings(real_protocols: dict[str, list[str]]) -> None:
    missing = {
        name: [m for m in methods if not hasattr(getattr(trt, name), m)]
        for name, methods in real_protocols.items()
        if hasattr(trt, name) and name not in ABSENT
    }
    assert {k: v for k, v in missing.items() if v} == {}
    real = {name: set(methods) for name, methods in real_protocols.items()}
    extra = {
        name: [
            m
            for m in PROTOCOL
            if m in vars(getattr(trt, name))
            and m not in real.get(name, set())
            # an explicit __iter__ on a class the bindings iterate through __getitem__ is
            # the same behaviour (``list(dims)``, ``for d in dims``), only faster offline
            and not (m == "__iter__" and "__getitem__" in real.get(name, set()))
        ]
        for name in dir(trt)
        if isinstance(getattr(trt, name), type)
    }
    assert {k: v for k, v in extra.items() if v} == {}


def network() -> Any:
    net = trt.Builder(trt.Logger(trt.Logger.ERROR)).create_network(0)
    x = net.add_input("x", trt.float32, trt.Dims([2, 3]))
    a = net.add_unary(x, trt.UnaryOperation.EXP)
    net.add_unary(a.get_output(0), trt.UnaryOperation.ABS)
    return net


def test_network_is_a_sequence_of_layers() -> None:
    net = network()
    assert len(net) == net.num_layers == 2
    layers = list(net)
    assert len(layers) == 2
    assert all(type(layer) is trt.ILayer for layer in layers)
    assert [layer.name for layer in layers] == [net.get_layer(i).name for i in range(2)]
    assert net[-1].name == net.get_layer(1).name
    with pytest.raises(IndexError):
        net[2]
    with pytest.raises(IndexError):
        net[-3]
    with pytest.raises(TypeError, match="incompatible function arguments"):
        net["0"]  # type: ignore[index]


def test_builder_config_is_a_no_op_context_manager() -> None:
    config = trt.Builder(trt.Logger()).create_builder_config()
    with pytest.warns(DeprecationWarning, match="Context managers"), config as entered:
        assert entered is config
