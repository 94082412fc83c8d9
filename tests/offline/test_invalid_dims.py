"""TensorRT's invalid Dims (nbDims == -1): what the bindings show and where it appears.

Why: TensorRT returns an invalid Dims (``nbDims == -1``) as the shape of a tensor whose
dimensions cannot be computed; the model returned an empty Dims, which is a valid 0-D
shape, so client code (and trt-netser's walker) could not tell an invalid network from a
scalar. The real binding's behaviour is observed by setting nbDims of a real ``Dims`` to
-1 through its pybind11 holder (stub-loaded bindings, see tests/support/real_trt.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import trt_netser
import trt_netser.offline as trt
from tests.conftest import RealRunner
from tests.offline.conftest import ListLogger, is_invalid_dims

#: Observations of an invalid Dims ``d``: expression -> result or exception type.
PROBE = r"""
import json
def observe(make):
    out = {}
    checks = {
        "len": lambda d: len(d),
        "bool": lambda d: bool(d),
        "tuple": lambda d: tuple(d),
        "list": lambda d: list(d),
        "iterate": lambda d: [x for x in d],
        "d[0]": lambda d: d[0],
        "d[-1]": lambda d: d[-1],
        "d[:]": lambda d: d[:],
        "== ()": lambda d: d == (),
        "== []": lambda d: d == [],
        "!= ()": lambda d: d != (),
        "volume": lambda d: trt.volume(d),
        "Dims(d)": lambda d: list(trt.Dims(d)),
        "d[0] = 1": lambda d: d.__setitem__(0, 1),
        "isinstance": lambda d: isinstance(d, trt.Dims),
    }
    for name, fn in checks.items():
        try:
            v = fn(make())
            out[name] = ["value", list(v) if isinstance(v, tuple) else v]
        except Exception as exc:
            out[name] = ["raises", type(exc).__name__, str(exc)]
    return out
"""

REAL = (
    "import ctypes\nimport tensorrt_bindings as trt\n"
    + PROBE
    + r"""
def make():
    d = trt.Dims([7, 8, 9])
    ptr = ctypes.c_void_p.from_address(id(d) + 16).value  # pybind11's value pointer
    ctypes.c_int32.from_address(ptr).value = -1  # nbDims
    for i in range(8):
        ctypes.c_int64.from_address(ptr + 8 + 8 * i).value = 0  # "invalid": d[i] == 0
    make.keep.append(d)
    return d
make.keep = []
print(json.dumps(observe(make)))
"""
)

OFFLINE = (
    "import trt_netser.offline as trt\n" + PROBE + "print(json.dumps(observe(trt.Dims._invalid)))\n"
)


@pytest.mark.real_trt
def test_the_invalid_dims_behaves_like_the_bindings_one(real_trt: RealRunner) -> None:
    real = real_trt(REAL)
    assert real.returncode == 0, real.stderr
    offline = subprocess.run([sys.executable, "-c", OFFLINE], capture_output=True, text=True)
    assert offline.returncode == 0, offline.stderr
    got, want = json.loads(offline.stdout), json.loads(real.stdout)
    assert got.keys() == want.keys()
    for name in want:  # exception messages are compared too: len() gives Python's own
        assert got[name][:2] == want[name][:2], (name, got[name], want[name])
    assert want["len"] == ["raises", "ValueError", "__len__() should return >= 0"]
    assert got["len"] == want["len"]


def _broken(logger: ListLogger) -> tuple[Any, Any, Any]:
    """A network whose reshape cannot hold its input's 24 elements, and a layer after it."""
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float32, (2, 3, 4))
    shuffle = net.add_shuffle(x)
    shuffle.reshape_dims = (5, 5)
    act = net.add_activation(shuffle.get_output(0), trt.ActivationType.RELU)
    net.mark_output(act.get_output(0))
    return net, shuffle, act


def test_a_shape_that_cannot_be_computed_is_an_invalid_dims(logger: ListLogger) -> None:
    net, shuffle, act = _broken(logger)
    assert logger.errors == []  # the layers are created; the shapes are checked when needed
    assert is_invalid_dims(shuffle.get_output(0).shape)
    assert len(logger.errors) == 1 and "changes the volume" in logger.errors[0]
    # downstream tensors cannot be computed either; the cause is reported
    assert is_invalid_dims(act.get_output(0).shape)
    assert len(logger.errors) == 2 and logger.errors[1] == logger.errors[0]
    # fixing the reshape revalidates everything downstream
    shuffle.reshape_dims = (6, 4)
    logger.messages.clear()
    assert tuple(act.get_output(0).shape) == (6, 4) and logger.errors == []
    # a valid 0-D shape is an empty Dims, not an invalid one
    scalar = net.add_reduce(act.get_output(0), trt.ReduceOperation.SUM, 0b11, False)
    assert len(scalar.get_output(0).shape) == 0 and not is_invalid_dims(scalar.get_output(0).shape)


def test_the_builder_refuses_it_naming_the_cause(logger: ListLogger) -> None:
    net, shuffle, _ = _broken(logger)
    builder = trt.Builder(logger)
    assert builder.build_serialized_network(net, builder.create_builder_config()) is None
    assert len(logger.errors) == 1
    assert "Error Code 4: Shape Error" in logger.errors[0]
    assert shuffle.name in logger.errors[0]


def test_the_walker_and_describe_network_read_an_invalid_shape(logger: ListLogger) -> None:
    """Walking an invalid network gives a digest (that differs from the valid network's)
    and a description, instead of failing on ``len()`` of the shape."""
    net, shuffle, _ = _broken(logger)
    broken = trt_netser.hash_network(net)
    description = trt_netser.describe_network(net)
    assert description.digest == broken
    shuffle.reshape_dims = (6, 4)
    assert trt_netser.hash_network(net) != broken


def test_an_invalid_loop_body_recovers_once_fixed(logger: ListLogger) -> None:
    """The recurrence's back edge does not make the loop's dimensions invalid, so fixing the
    body layer revalidates everything (no cycle keeps an old error alive)."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (4, 3))
    loop = net.add_loop()
    count = net.add_constant((), trt.Weights(np.array(4, np.int32))).get_output(0)
    loop.add_trip_limit(count, trt.TripLimit.COUNT)
    rec = loop.add_recurrence(x)
    body = net.add_shuffle(rec.get_output(0))
    body.reshape_dims = (5,)  # 12 elements cannot become 5
    rec.set_input(1, body.get_output(0))
    out = loop.add_loop_output(rec.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    net.mark_output(out.get_output(0))
    assert is_invalid_dims(body.get_output(0).shape)
    assert tuple(out.get_output(0).shape) == (4, 3)
    config = builder.create_builder_config()
    assert builder.build_serialized_network(net, config) is None
    assert body.name in logger.errors[-1]
    body.reshape_dims = (4, 3)
    logger.messages.clear()
    assert tuple(body.get_output(0).shape) == (4, 3)
    assert builder.build_serialized_network(net, config) is not None and logger.errors == []


def test_an_attention_over_an_invalid_query_is_invalid_until_fixed(logger: ListLogger) -> None:
    net = trt.Builder(logger).create_network(0)
    x = net.add_input("x", trt.float32, (2, 4, 8, 16))
    query = net.add_shuffle(x)
    attention = net.add_attention(
        query.get_output(0), x, x, trt.AttentionNormalizationOp.SOFTMAX, False
    )
    assert tuple(attention.get_output(0).shape) == (2, 4, 8, 16)
    query.reshape_dims = (5,)  # the attention's output follows its query's dimensions
    assert is_invalid_dims(attention.get_output(0).shape)
    assert query.name in logger.errors[-1]
    query.reshape_dims = (0, 0, 4, -1)  # a valid reshape, but head sizes 32 vs 16 now
    logger.messages.clear()
    assert is_invalid_dims(attention.get_output(0).shape)
    assert "head sizes differ" in logger.errors[-1]
    query.reshape_dims = (0, 0, 0, -1)
    logger.messages.clear()
    assert tuple(attention.get_output(0).shape) == (2, 4, 8, 16) and logger.errors == []
