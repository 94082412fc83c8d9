"""The callback interfaces of TensorRT 10.16 exist offline and behave like the bindings'.

Why: client code subclasses and isinstance-checks them at import time (TensorRT-LLM's
runtime subclasses ``trt.IProfiler``); they must import and subclass as pybind11
trampolines do, and fail clearly only where their behaviour needs a GPU (issue 12).
"""

from __future__ import annotations

from typing import Any

import pytest

import trt_netser.offline as trt

INTERFACES = [
    "IProfiler",
    "IGpuAllocator",
    "IGpuAsyncAllocator",
    "IOutputAllocator",
    "IDebugListener",
    "IInt8Calibrator",
    "IInt8EntropyCalibrator",
    "IInt8EntropyCalibrator2",
    "IInt8LegacyCalibrator",
    "IInt8MinMaxCalibrator",
    "IAlgorithmSelector",
    "IProgressMonitor",
    "IErrorRecorder",
]


@pytest.mark.parametrize("name", INTERFACES)
def test_subclass_like_a_trampoline(name: str) -> None:
    base = getattr(trt, name)

    class Impl(base):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            base.__init__(self)
            self.calls: list[Any] = []

    impl = Impl()
    assert isinstance(impl, base)


def test_tensorrt_llm_style_profiler() -> None:
    class Profiler(trt.IProfiler):
        def __init__(self) -> None:
            trt.IProfiler.__init__(self)
            self.times: dict[str, float] = {}

        def report_layer_time(self, layer_name: str, ms: float) -> None:
            self.times[layer_name] = ms

    p = Profiler()
    p.report_layer_time("a", 1.5)
    assert p.times == {"a": 1.5}
    assert isinstance(trt.Profiler(), trt.IProfiler)


def test_a_method_left_unimplemented_fails_where_called() -> None:
    class Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

    with pytest.raises(RuntimeError, match=r"pure virtual.*IProgressMonitor::step_complete"):
        Monitor().step_complete("phase", 1)


@pytest.mark.parametrize(
    "name",
    ["IAlgorithm", "IAlgorithmContext", "IAlgorithmIOInfo", "IAlgorithmVariant", "ParserError"],
)
def test_objects_only_tensorrt_hands_out_have_no_constructor(name: str) -> None:
    with pytest.raises(TypeError, match="No constructor defined"):
        getattr(trt, name)()


def test_onnx_parser_needs_the_native_library() -> None:
    net = trt.Builder(trt.Logger()).create_network(0)
    with pytest.raises(TypeError, match="libnvonnxparser"):
        trt.OnnxParser(net, trt.Logger())
    with pytest.raises(TypeError, match="libnvonnxparser"):
        trt.OnnxParserRefitter(None, trt.Logger())


def test_timing_cache_is_exported() -> None:
    config = trt.Builder(trt.Logger()).create_builder_config()
    cache = config.create_timing_cache(b"")
    assert isinstance(cache, trt.ITimingCache)
    assert cache.queryKeys() == []


def test_bound_vectors() -> None:
    nodes = trt.NodeIndices()
    nodes.extend([3, 1])
    nodes.append(2)
    assert list(nodes) == [3, 1, 2] and nodes.pop() == 2 and len(nodes) == 2
