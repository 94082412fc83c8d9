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


def test_a_method_left_unimplemented_does_what_the_trampoline_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The bindings print why and return a default (observed with the real 10.16 ones)."""

    class Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

    assert Monitor().step_complete("phase", 1) is False
    assert 'pure virtual function "IProgressMonitor::step_complete"' in capsys.readouterr().err

    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)

    calibrator = Calibrator()
    assert calibrator.get_algorithm() == trt.CalibrationAlgoType.ENTROPY_CALIBRATION_2
    assert calibrator.get_batch_size() == -1 and calibrator.get_batch(["x"]) == []
    with pytest.raises(TypeError, match="Unable to convert function return value"):
        calibrator.read_calibration_cache()


def test_a_subclass_must_call_the_interface_init() -> None:
    class Profiler(trt.IProfiler):
        def __init__(self) -> None:
            pass

    with pytest.raises(TypeError, match=r"IProfiler.__init__\(\) must be called"):
        Profiler()


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


PROBE = r"""
import importlib, json, sys
trt = importlib.import_module(sys.argv[1])
NAMES = json.loads(sys.argv[2])
CALLS = json.loads(sys.argv[3])

def obs(f):
    try:
        v = f()
    except BaseException as e:
        return [type(e).__name__]
    return ["ok", type(v).__name__, v if isinstance(v, (bool, int, str, type(None))) else None]

out = {}
for n in NAMES:
    cls = getattr(trt, n)
    class Sub(cls):
        def __init__(self):
            cls.__init__(self)
    class NoInit(cls):
        def __init__(self):
            pass
    out[n + "()"] = obs(lambda: cls())
    out[n + " subclass"] = obs(lambda: Sub())
    out[n + " subclass without base __init__"] = obs(lambda: NoInit())
    for method, args in CALLS.get(n, []):
        s = Sub()
        out[n + "." + method] = obs(lambda: getattr(s, method)(*args))
print("@@" + json.dumps(out))
"""

#: Unimplemented callbacks called with valid arguments, per interface.
CALLS: dict[str, list[tuple[str, list[Any]]]] = {
    "IProfiler": [("report_layer_time", ["a", 1.0])],
    "Profiler": [("report_layer_time", ["a", 1.0])],
    "IProgressMonitor": [("step_complete", ["a", 1]), ("phase_finish", ["a"])],
    "IInt8Calibrator": [("get_batch_size", []), ("get_batch", [["a"]])],
    "IInt8EntropyCalibrator2": [("get_batch_size", []), ("get_algorithm", [])],
    "IInt8MinMaxCalibrator": [("read_calibration_cache", [])],
    "IGpuAllocator": [("allocate", [16, 0, 0]), ("allocate_async", [16, 0, 0, 0])],
    "IAlgorithmSelector": [("report_algorithms", [[], []])],
}


@pytest.mark.real_trt
def test_same_behaviour_as_the_real_bindings(real_trt: Any) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    names = [
        *INTERFACES[:-1],
        "Profiler",
        "IAlgorithm",
        "IAlgorithmContext",
        "IAlgorithmIOInfo",
        "IAlgorithmVariant",
        "TimingCacheKey",
        "ParserError",
        "ITimingCache",
        "OnnxParser",
        "OnnxParserRefitter",
        "NodeIndices",
        "SubGraphCollection",
    ]
    args = [json.dumps(names), json.dumps(CALLS)]
    real = real_trt(
        "import sys\nsys.argv = ['probe', 'tensorrt_bindings', "
        + ", ".join(map(repr, args))
        + "]\n"
        + PROBE
    )
    offline = subprocess.run(
        [sys.executable, "-c", PROBE, "trt_netser.offline", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )

    def parse(proc: Any) -> dict[str, Any]:
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("@@")), None)
        assert line is not None, proc.stderr[-2000:]
        return dict(json.loads(line[2:]))

    ours, theirs = parse(offline), parse(real)
    known = {  # the stub-loaded OnnxParser checks its arguments before the factory runs
        "OnnxParser()",
        "OnnxParserRefitter()",
        "OnnxParser subclass",
        "OnnxParserRefitter subclass",
    }
    differ = {
        k: (theirs[k], ours.get(k)) for k in theirs if k not in known and theirs[k] != ours.get(k)
    }
    assert differ == {}, json.dumps(differ, indent=1)
