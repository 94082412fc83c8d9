"""Engine-side client code as users write it against ``tensorrt``: must pass ``mypy --strict``
when written against ``trt_netser.offline`` (build, serialize, deserialize, run, refit, inspect).

Checked by test_engine_user_code_types.py (not imported by pytest: it only has to type-check).
"""

from __future__ import annotations

import numpy as np

import trt_netser.offline as trt


class Logger(trt.ILogger):
    def __init__(self) -> None:
        trt.ILogger.__init__(self)
        self.lines: list[str] = []

    def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
        self.lines.append(msg)


def build_run_refit(path: str) -> tuple[list[str], bool, bool, str]:
    logger = Logger()
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    x = network.add_input("x", trt.float32, (-1, 8))
    w = network.add_constant((8, 8), trt.Weights(np.ones((8, 8), dtype=np.float32)))
    w.name = "w"
    mm = network.add_matrix_multiply(
        x, trt.MatrixOperation.NONE, w.get_output(0), trt.MatrixOperation.NONE
    )
    network.mark_output(mm.get_output(0))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    config.builder_optimization_level = 3
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 8), (4, 8), (16, 8))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    with open(path, "wb") as f:
        f.write(serialized)
    runtime = trt.Runtime(logger)
    runtime.max_threads = 2
    engine = runtime.deserialize_cuda_engine(serialized)
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    context = engine.create_execution_context()
    context.debug_sync = False
    context.set_input_shape(inputs[0], (4, 8))
    out_shape = tuple(context.get_tensor_shape(names[1]))
    feed = np.ones((4, 8), dtype=np.float32)
    out = np.empty(out_shape, dtype=trt.nptype(engine.get_tensor_dtype(names[1])))
    context.set_tensor_address(inputs[0], feed.ctypes.data)
    context.set_tensor_address(names[1], out.ctypes.data)
    ran: bool = context.execute_async_v3(0)
    refitter = trt.Refitter(engine, logger)
    layers, roles = refitter.get_all()
    refitter.set_named_weights("w", trt.Weights(np.zeros((8, 8), dtype=np.float32)))
    missing: list[str] = refitter.get_missing_weights()
    refitted: bool = not missing and refitter.refit_cuda_engine()
    plan = bytes(memoryview(engine.serialize()))
    info: str = engine.create_engine_inspector().get_engine_information(
        trt.LayerInformationFormat.JSON
    )
    return [*layers, *(r.name for r in roles), plan.hex()[:8]], ran, refitted, info
