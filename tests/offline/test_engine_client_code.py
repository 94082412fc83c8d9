"""The engine side as client code uses it: Polygraphy, NVIDIA's samples, TensorRT-LLM.

Why: an audit of ICudaEngine / IExecutionContext / Runtime / EngineInspector against the
10.16 bindings (their docstrings, setter signatures and ``tensorrt/__init__.py``) found
calls where the offline model answered differently from what that code relies on:
Polygraphy unpacks ``min, opt, max = engine.get_tensor_profile_shape(name, p)`` for every
input, TensorRT 8-era code iterates ``for name in engine``, TensorRT-LLM reads
``get_tensor_format_desc``, and assignments of a wrong type to a setting raise TypeError
in the bindings. Each test fails on the model as it was before the audit.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.conftest import RealRunner
from tests.offline.conftest import ListLogger, is_invalid_dims
from tests.offline.exec_support import build, out


def _static_engine(builder: Any, dtype: Any = trt.float32) -> Any:
    net = builder.create_network(0)
    x = net.add_input("x", dtype, (2, 3))
    out(net, net.add_activation(x, trt.ActivationType.RELU), "y")
    return build(builder, net)


def _shape_input_engine(builder: Any) -> Any:
    net = builder.create_network(0)
    dims = net.add_input("dims", trt.int32, (2,))
    x = net.add_input("x", trt.float32, (2, 6))
    sh = net.add_shuffle(x)
    sh.set_input(1, dims)
    out(net, sh, "y")
    config = builder.create_builder_config()
    prof = builder.create_optimization_profile()
    prof.set_shape_input("dims", (1, 1), (3, 4), (12, 12))
    config.add_optimization_profile(prof)
    return build(builder, net, config)


# -- ICudaEngine ---------------------------------------------------------------------------------
def test_polygraphy_unpacks_three_profile_shapes_for_every_input(
    builder: Any, logger: ListLogger
) -> None:
    engine = _static_engine(builder)
    for p in range(engine.num_optimization_profiles):
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                lo, opt, hi = engine.get_tensor_profile_shape(name, p)
                assert tuple(lo) == tuple(opt) == tuple(hi) == (2, 3)
    assert not logger.errors


@pytest.mark.parametrize(("name", "profile"), [("y", 0), ("x", 1), ("nope", 0)])
def test_a_refused_profile_shape_query_is_three_invalid_dims(
    builder: Any, logger: ListLogger, name: str, profile: int
) -> None:
    """The binding calls getProfileShape once per selector: three invalid Dims, not []."""
    engine = _static_engine(builder)
    shapes = engine.get_tensor_profile_shape(name, profile)
    assert len(shapes) == 3 and all(is_invalid_dims(d) for d in shapes)
    assert len(logger.errors) == 3


def test_profile_values_take_the_profile_then_the_name(builder: Any, logger: ListLogger) -> None:
    """The real parameters are ``(name: int, profile_index: str)``: profile index first."""
    engine = _shape_input_engine(builder)
    assert engine.get_tensor_profile_values(0, "dims") == [[1, 1], [3, 4], [12, 12]]
    assert engine.get_tensor_profile_values(name=0, profile_index="dims") == [
        [1, 1],
        [3, 4],
        [12, 12],
    ]
    with pytest.raises(TypeError, match="incompatible function arguments"):
        engine.get_tensor_profile_values("dims", 0)
    assert engine.get_tensor_profile_values(3, "dims") == []  # profile out of range
    assert logger.errors
    with pytest.raises(RuntimeError):  # "If the specified binding is not an input shape
        engine.get_tensor_profile_values(0, "x")  # binding, an exception is raised."


def test_engine_indexing_is_a_sequence_of_names(builder: Any) -> None:
    engine = _static_engine(builder)
    assert list(engine) == ["x", "y"]  # stops at IndexError, as pre-10 code iterates
    assert engine[-1] == "y"
    with pytest.raises(IndexError):
        engine[2]
    with pytest.raises(TypeError):
        engine["x"]  # the real __getitem__ takes an int only


def test_format_description_names_the_dtype_as_tensorrt(builder: Any, logger: ListLogger) -> None:
    assert _static_engine(builder).get_tensor_format_desc("x") == (
        "Row major linear FP32 format (kLINEAR)"
    )
    half = _static_engine(builder, trt.float16)
    assert half.get_tensor_format_desc("x", 0) == "Row major linear FP16 format (kLINEAR)"
    assert not logger.errors
    assert half.get_tensor_format_desc("nope") is None  # nullptr
    assert logger.errors


def test_stripped_weights_size_of_a_normal_engine_is_minus_one(builder: Any) -> None:
    stat = trt.EngineStat.STRIPPED_WEIGHTS_SIZE
    assert _static_engine(builder).get_engine_stat(stat) == -1
    assert _static_engine(builder).get_engine_stat(trt.EngineStat.TOTAL_WEIGHTS_SIZE) == 0


def test_engine_error_recorder_must_be_an_error_recorder(builder: Any) -> None:
    engine = _static_engine(builder)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        engine.error_recorder = "recorder"
    engine.error_recorder = None


# -- IExecutionContext ----------------------------------------------------------------------------
def test_infer_shapes_names_shape_inputs_without_an_address(builder: Any) -> None:
    engine = _shape_input_engine(builder)
    ctx = engine.create_execution_context()
    assert ctx.infer_shapes() == ["dims"]
    dims = np.array([3, 4], np.int32)
    assert ctx.set_tensor_address("dims", dims.ctypes.data)
    assert ctx.infer_shapes() == []


def test_report_to_profiler_is_false_without_a_profiler(builder: Any) -> None:
    ctx = _static_engine(builder).create_execution_context()
    assert ctx.report_to_profiler() is False
    ctx.profiler = trt.Profiler()
    assert ctx.report_to_profiler() is True


class _Times(trt.IProfiler):
    def __init__(self) -> None:
        trt.IProfiler.__init__(self)
        self.calls: list[tuple[str, float]] = []

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        self.calls.append((layer_name, ms))


def _run(engine: Any, ctx: Any, api: str = "v3") -> None:
    xv = np.ones((2, 3), np.float32)
    yv = np.zeros((2, 3), np.float32)
    if api == "v2":
        assert ctx.execute_v2([xv.ctypes.data, yv.ctypes.data])
        return
    assert ctx.set_tensor_address("x", xv.ctypes.data)
    assert ctx.set_tensor_address("y", yv.ctypes.data)
    assert ctx.execute_async_v3(0)


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_the_profiler_hears_of_every_layer_of_every_execution(builder: Any, api: str) -> None:
    """IProfiler's docstring: "called once per layer for each invocation of execute_v2()"."""
    engine = _static_engine(builder)
    ctx = engine.create_execution_context()
    ctx.profiler = times = _Times()
    _run(engine, ctx, api)
    _run(engine, ctx, api)
    names = [
        engine.create_engine_inspector().get_layer_information(
            0, trt.LayerInformationFormat.ONELINE
        )
    ]
    assert [n for n, _ in times.calls] == names * 2
    assert all(type(ms) is float and ms >= 0 for _, ms in times.calls)


def test_layer_times_wait_for_report_to_profiler_without_enqueue_emits_profile(
    builder: Any,
) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    out(net, net.add_activation(x, trt.ActivationType.RELU), "y")
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.NONE  # names are layer indices
    engine = build(builder, net, config)
    ctx = engine.create_execution_context()
    ctx.profiler = times = _Times()
    ctx.enqueue_emits_profile = False
    _run(engine, ctx)
    assert times.calls == []
    assert ctx.report_to_profiler() is True
    assert [n for n, _ in times.calls] == ["0"]


#: (setting, a value of the wrong type, a value of the right type), from the real setters'
#: signatures (``IExecutionContext.<name>.fset.__doc__``).
CONTEXT_SETTINGS = [
    ("debug_sync", "yes", True),
    ("enqueue_emits_profile", "no", False),
    ("name", 5, "ctx"),
    ("nvtx_verbosity", 1, trt.ProfilingVerbosity.NONE),
    ("persistent_cache_limit", -1, 1024),
    ("persistent_cache_limit", 1.5, 0),
    ("profiler", object(), None),
    ("error_recorder", object(), None),
    ("temporary_allocator", "allocator", None),
    ("unfused_tensors_debug_state", "x", True),
    ("device_memory", "address", 0),
]


@pytest.mark.parametrize(("name", "bad", "good"), CONTEXT_SETTINGS)
def test_context_settings_refuse_values_of_the_wrong_type(
    builder: Any, name: str, bad: Any, good: Any
) -> None:
    ctx = _static_engine(builder).create_execution_context()
    with pytest.raises(TypeError, match="incompatible function arguments"):
        setattr(ctx, name, bad)
    setattr(ctx, name, good)
    if name != "device_memory":  # write-only
        assert getattr(ctx, name) == good


def test_debug_listener_must_be_a_debug_listener(builder: Any) -> None:
    ctx = _static_engine(builder).create_execution_context()
    with pytest.raises(TypeError, match="incompatible function arguments"):
        ctx.set_debug_listener(object())

    class Listener(trt.IDebugListener):
        def __init__(self) -> None:
            trt.IDebugListener.__init__(self)

    listener = Listener()
    assert ctx.set_debug_listener(listener) is True
    assert ctx.get_debug_listener() is listener
    assert ctx.set_debug_listener(None) is True


# -- Runtime, EngineInspector ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "bad", "good"),
    [
        ("gpu_allocator", "allocator", None),
        ("error_recorder", 1, None),
        ("temporary_directory", 7, "/tmp"),
    ],
)
def test_runtime_settings_refuse_values_of_the_wrong_type(name: str, bad: Any, good: Any) -> None:
    runtime = trt.Runtime(trt.Logger())
    with pytest.raises(TypeError, match="incompatible function arguments"):
        setattr(runtime, name, bad)
    setattr(runtime, name, good)


def test_inspector_json_is_laid_out_as_tensorrt_writes_it(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    relu = net.add_activation(x, trt.ActivationType.RELU)
    relu.name = "relu"
    out(net, relu, "y")
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    inspector = build(builder, net, config).create_engine_inspector()
    text = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    info = json.loads(text)
    assert list(info) == ["Layers", "Bindings"]
    layer = info["Layers"][0]
    assert list(layer)[:4] == ["Name", "LayerType", "Inputs", "Outputs"]
    assert layer["Inputs"][0] == {
        "Name": "x",
        "Location": "Device",
        "Dimensions": [2, 3],
        "Format/Datatype": "Row major linear FP32 format",
    }
    with pytest.raises(TypeError, match="incompatible function arguments"):
        inspector.execution_context = "context"
    with pytest.raises(TypeError, match="incompatible function arguments"):
        inspector.error_recorder = 3


# -- module level: tensorrt/__init__.py ---------------------------------------------------------------
ENTERED = (
    "Builder",
    "IBuilderConfig",
    "ICudaEngine",
    "IExecutionContext",
    "IHostMemory",
    "ILogger",
    "INetworkDefinition",
    "OnnxParser",
    "Runtime",
)


def test_context_managers_warn_as_deprecated(builder: Any) -> None:
    engine = _static_engine(builder)
    warned = pytest.warns(DeprecationWarning, match="Context managers for TensorRT types")
    with warned, engine as entered:
        assert entered is engine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning), trt.Runtime(trt.Logger()):
            pass
    assert [c for c in ENTERED if getattr(trt, c).__enter__ is trt.common_enter] == list(ENTERED)


def test_the_classes_with_context_managers_are_the_real_ones(real_trt: RealRunner) -> None:
    code = (
        "import tensorrt_bindings as trt\n"
        "print(sorted(n for n in dir(trt) if isinstance(getattr(trt, n), type) and "
        "getattr(getattr(trt, n), '__enter__', None) is trt.common_enter))\n"
    )
    proc = real_trt(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    real = proc.stdout.strip().splitlines()[-1]
    offline = sorted(
        n
        for n in dir(trt)
        if isinstance(getattr(trt, n), type)
        and getattr(getattr(trt, n), "__enter__", None) is trt.common_enter
    )
    assert real == repr(offline)


# -- overloads taken by keyword ----------------------------------------------------------------------
def test_deserialize_takes_the_real_keywords(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    out(net, net.add_identity(x), "y")
    plan = builder.build_serialized_network(net, builder.create_builder_config())
    runtime = trt.Runtime(builder.logger)
    assert runtime.deserialize_cuda_engine(serialized_engine=plan) is not None
    for bad in ({"engine": plan}, {"stream_reader": plan}, {"stream_reader_v2": bytes(plan)}):
        with pytest.raises(TypeError, match="incompatible function arguments"):
            runtime.deserialize_cuda_engine(**bad)


def test_create_execution_context_takes_a_strategy_or_a_runtime_config(builder: Any) -> None:
    engine = _static_engine(builder)
    strategy = trt.ExecutionContextAllocationStrategy.ON_PROFILE_CHANGE
    ctx = engine.create_execution_context(strategy)
    assert ctx.get_runtime_config().get_execution_context_allocation_strategy() == strategy
    config = engine.create_runtime_config()
    assert engine.create_execution_context(runtime_config=config).get_runtime_config() is config
    for args, kwargs in ((("static",), {}), ((), {"stratgy": strategy}), ((1,), {})):
        with pytest.raises(TypeError, match="incompatible function arguments"):
            engine.create_execution_context(*args, **kwargs)


def test_aux_streams_are_a_sequence_of_stream_handles(builder: Any) -> None:
    ctx = _static_engine(builder).create_execution_context()
    assert ctx.set_aux_streams([1, 2]) is None
    with pytest.raises(TypeError, match="incompatible function arguments"):
        ctx.set_aux_streams("streams")
    with pytest.raises(TypeError, match="incompatible function arguments"):
        ctx.set_aux_streams(3)
