"""Client-style helpers for the execution tests: build an engine, run it through
IExecutionContext exactly as TensorRT client code does (host buffers offline)."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

import trt_netser.offline as trt

NP_OF = {
    trt.float32: np.float32,
    trt.float16: np.float16,
    trt.int32: np.int32,
    trt.int64: np.int64,
    trt.bool: np.bool_,
    trt.int8: np.int8,
    trt.uint8: np.uint8,
}


def build(builder: Any, net: Any, config: Any = None) -> Any:
    """Build and deserialize an engine (asserting both succeed)."""
    config = config or builder.create_builder_config()
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, "build failed"
    engine = trt.Runtime(builder.logger).deserialize_cuda_engine(plan)
    assert engine is not None
    _LOGGERS[engine] = builder.logger
    return engine


_LOGGERS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def engine_logger(engine: Any) -> Any:
    """The logger an engine of :func:`build` was deserialized with."""
    return _LOGGERS.get(engine)


def infer(engine: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Allocate, copy, set addresses, enqueue, read back: the TensorRT client sequence."""
    ctx = engine.create_execution_context()
    keep: list[np.ndarray] = []
    outputs: dict[str, np.ndarray] = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
            arr = np.require(feeds[name], requirements="C")
            assert ctx.set_input_shape(name, arr.shape)
            keep.append(arr)
            assert ctx.set_tensor_address(name, arr.ctypes.data)
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        if engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT:
            shape = tuple(ctx.get_tensor_shape(name))
            dt = engine.get_tensor_dtype(name)
            buf = np.zeros(shape, trt.nptype(dt) if dt in NP_OF else np.uint8)
            outputs[name] = buf
            assert ctx.set_tensor_address(name, buf.ctypes.data)
    ok = ctx.execute_async_v3(0)
    assert ok, f"execution failed: {getattr(engine_logger(engine), 'errors', '')}"
    return outputs


def run_net(
    builder: Any, net: Any, feeds: dict[str, np.ndarray], config: Any = None
) -> dict[str, np.ndarray]:
    """Build ``net`` and run it on ``feeds`` through the execution context."""
    return infer(build(builder, net, config), feeds)


def const(net: Any, arr: np.ndarray) -> Any:
    """A constant tensor holding ``arr``."""
    arr = np.require(arr, requirements="C")  # ascontiguousarray would make a 0-D array 1-D
    return net.add_constant(arr.shape, trt.Weights(arr)).get_output(0)


def out(net: Any, layer: Any, name: str = "y", index: int = 0) -> Any:
    """Mark output ``index`` of ``layer`` as the network output ``name``."""
    t = layer.get_output(index)
    t.name = name
    net.mark_output(t)
    return t
