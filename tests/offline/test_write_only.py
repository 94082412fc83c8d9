"""Write-only properties: exactly those of the real bindings (setter, no getter).

Why: the API dump lists every property as "rw", but the 10.16 bindings define some with a
setter only (``Builder.gpu_allocator``, ``Runtime.gpu_allocator``,
``IExecutionContext.device_memory``, ``ISymExpr``'s fields); reading one raises
AttributeError there, so client code cannot rely on reading them, and the model must not
offer it. Compared against the stub-loaded real module (``tests/support/real_trt.py``).
"""

from __future__ import annotations

import ast

import pytest

import trt_netser.offline as trt
from tests.conftest import RealRunner

LISTING = r"""
import tensorrt_bindings as trt
print(sorted(
    f"{name}.{attr}"
    for name in dir(trt)
    if isinstance(cls := getattr(trt, name), type)
    for attr, prop in vars(cls).items()
    if isinstance(prop, property) and prop.fget is None and prop.fset is not None
))
"""


def _offline_write_only() -> list[str]:
    return sorted(
        f"{name}.{attr}"
        for name in dir(trt)
        if isinstance(cls := getattr(trt, name), type)
        for attr, prop in vars(cls).items()
        if isinstance(prop, property) and prop.fget is None and prop.fset is not None
    )


@pytest.mark.real_trt
def test_write_only_properties_are_the_bindings(real_trt: RealRunner) -> None:
    proc = real_trt(LISTING)
    assert proc.returncode == 0, proc.stderr[-2000:]
    real = ast.literal_eval(proc.stdout.strip().splitlines()[-1])  # a printed list of str
    assert real, "the real bindings listed no write-only property"
    assert _offline_write_only() == real


def test_write_only_properties_set_and_refuse_reads() -> None:
    logger = trt.Logger(trt.Logger.ERROR)
    runtime = trt.Runtime(logger)
    runtime.gpu_allocator = None  # the default allocator
    with pytest.raises(AttributeError):
        _ = runtime.gpu_allocator
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2,))
    net.mark_output(net.add_identity(x).get_output(0))
    plan = builder.build_serialized_network(net, builder.create_builder_config())
    context = runtime.deserialize_cuda_engine(plan).create_execution_context()
    context.device_memory = 0
    with pytest.raises(AttributeError):
        _ = context.device_memory
    assert _offline_write_only() == [
        "Builder.gpu_allocator",
        "IExecutionContext.device_memory",
        "ISymExpr.dtype",
        "ISymExpr.expr",
        "ISymExpr.type",
        "Runtime.gpu_allocator",
    ]
