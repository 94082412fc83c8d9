"""Builder, IBuilderConfig and IOptimizationProfile: documented defaults and behaviour."""

from __future__ import annotations

from typing import Any

import pytest

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger


def test_config_defaults(builder: Any) -> None:
    c = builder.create_builder_config()
    assert c.flags == 1 << int(trt.BuilderFlag.TF32) and c.get_flag(trt.BuilderFlag.TF32)
    assert c.avg_timing_iterations == 1 and c.builder_optimization_level == 3
    assert c.default_device_type == trt.DeviceType.GPU and c.DLA_core == -1
    assert c.engine_capability == trt.EngineCapability.STANDARD
    assert c.hardware_compatibility_level == trt.HardwareCompatibilityLevel.NONE
    assert c.profiling_verbosity == trt.ProfilingVerbosity.LAYER_NAMES_ONLY
    assert c.runtime_platform == trt.RuntimePlatform.SAME_AS_BUILD
    assert c.tiling_optimization_level == trt.TilingOptimizationLevel.NONE
    assert c.max_aux_streams == -1 and c.max_num_tactics == -1 and c.l2_limit_for_tiling == -1
    assert (
        c.num_optimization_profiles == 0
        and c.plugins_to_serialize == []
        and c.quantization_flags == 0
    )
    assert c.get_preview_feature(trt.PreviewFeature.PROFILE_SHARING_0806)
    assert not c.get_preview_feature(trt.PreviewFeature.ALIASED_PLUGIN_IO_10_03)
    assert c.get_memory_pool_limit(trt.MemoryPoolType.DLA_MANAGED_SRAM) == 1 << 20
    assert c.get_calibration_profile() is None


def test_config_setters_and_reset(builder: Any) -> None:
    c = builder.create_builder_config()
    c.set_flag(trt.BuilderFlag.STRIP_PLAN)
    assert c.get_flag(trt.BuilderFlag.WEIGHTLESS)  # alias, same bit
    c.clear_flag(trt.BuilderFlag.TF32)
    assert c.flags == 1 << 19
    c.set_quantization_flag(trt.QuantizationFlag.CALIBRATE_BEFORE_FUSION)
    assert c.get_quantization_flag(trt.QuantizationFlag.CALIBRATE_BEFORE_FUSION)
    c.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    assert c.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 1 << 30
    assert c.set_tactic_sources(1 << int(trt.TacticSource.CUBLAS)) and c.get_tactic_sources() == 1
    c.set_preview_feature(trt.PreviewFeature.ALIASED_PLUGIN_IO_10_03, True)
    c.builder_optimization_level = 5
    c.hardware_compatibility_level = trt.HardwareCompatibilityLevel.AMPERE_PLUS
    c.plugins_to_serialize = ["a.so"]
    c.reset()
    assert c.builder_optimization_level == 3 and c.plugins_to_serialize == [] and c.flags == 64
    with pytest.raises(TypeError):
        c.set_flag(3)
    with pytest.raises(TypeError):
        c.builder_optimization_level = "high"


def test_profiles(builder: Any) -> None:
    p = builder.create_optimization_profile()
    assert p.get_shape("x") == [] and bool(p)
    p.set_shape("x", (1, 4), (2, 4), (8, 4))
    assert [tuple(d) for d in p.get_shape("x")] == [(1, 4), (2, 4), (8, 4)]
    with pytest.raises(ValueError):
        p.set_shape("y", (4, 4), (2, 4), (8, 4))
    p2 = builder.create_optimization_profile()
    p2.set_shape_input("s", [1], [2], [3])
    assert p2.get_shape_input("s") == [[1], [2], [3]]
    c = builder.create_builder_config()
    assert c.add_optimization_profile(p2) == 0 and c.num_optimization_profiles == 1
    assert p2.extra_memory_target == 1.0


def test_builder_surface_and_unsupported_build() -> None:
    logger = ListLogger()
    b = trt.Builder(logger)
    assert b.logger is logger and b.get_plugin_registry() is trt.get_plugin_registry()
    assert b.platform_has_tf32 and b.num_DLA_cores == 0
    net = b.create_network()
    assert b.build_serialized_network(net, b.create_builder_config()) is None
    assert logger.errors


def test_logger_filters_by_severity(capsys: pytest.CaptureFixture[str]) -> None:
    lg = trt.Logger(trt.Logger.ERROR)
    lg.log(trt.Logger.WARNING, "hidden")
    lg.log(trt.Logger.ERROR, "shown")
    err = capsys.readouterr().err
    assert "shown" in err and "hidden" not in err
    assert trt.Logger().min_severity == trt.Logger.WARNING


def test_builder_max_threads_below_one_is_refused(logger: ListLogger) -> None:
    # IBuilder::setMaxThreads (NvInfer.h): default 1; "a value less than 1 triggers a
    # kINVALID_ARGUMENT error" and the setting stays as it was.
    builder = trt.Builder(logger)
    assert builder.max_threads == 1
    builder.max_threads = 4
    assert builder.max_threads == 4 and not logger.errors
    builder.max_threads = 0
    assert builder.max_threads == 4 and len(logger.errors) == 1
    builder.max_threads = -2
    assert builder.max_threads == 4 and len(logger.errors) == 2


def test_runtime_and_refitter_max_threads_below_one_are_refused(logger: ListLogger) -> None:
    # IRuntime and IRefitter::setMaxThreads (NvInferRuntime.h) say what IBuilder's does:
    # default 1, "a value less than 1 triggers a kINVALID_ARGUMENT error".
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2,))
    net.mark_output(net.add_identity(x).get_output(0))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(builder.build_serialized_network(net, config))
    for owner, interface in ((runtime, "IRuntime"), (trt.Refitter(engine, logger), "IRefitter")):
        assert owner.max_threads == 1
        owner.max_threads = 2
        before = len(logger.errors)
        owner.max_threads = 0
        assert owner.max_threads == 2
        assert len(logger.errors) == before + 1
        assert logger.errors[-1].startswith(f"{interface}::setMaxThreads:")


def test_memory_pool_limit_requirements(builder: Any, logger: ListLogger) -> None:
    # MemoryPoolType's docstring: DLA pools "must be at least 4 KiB and must be a power of
    # 2", TACTIC_SHARED_MEMORY "must be less than 1GiB"; set_memory_pool_limit's: a size
    # that fails the requirement "does nothing and emits ... INVALID_ARGUMENT".
    config = builder.create_builder_config()
    sram = trt.MemoryPoolType.DLA_MANAGED_SRAM
    config.set_memory_pool_limit(sram, 256 << 10)
    assert config.get_memory_pool_limit(sram) == 256 << 10 and not logger.errors
    for bad in (3000, 3 << 20, 0):
        config.set_memory_pool_limit(sram, bad)
    assert config.get_memory_pool_limit(sram) == 256 << 10 and len(logger.errors) == 3
    dram = trt.MemoryPoolType.DLA_GLOBAL_DRAM
    config.set_memory_pool_limit(dram, (1 << 30) + 1)
    assert config.get_memory_pool_limit(dram) == 512 << 20 and len(logger.errors) == 4
    shared = trt.MemoryPoolType.TACTIC_SHARED_MEMORY
    config.set_memory_pool_limit(shared, 1 << 30)
    assert config.get_memory_pool_limit(shared) == 48 << 10 and len(logger.errors) == 5
    config.set_memory_pool_limit(shared, 96 << 10)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 0)  # no requirement
    assert config.get_memory_pool_limit(shared) == 96 << 10 and len(logger.errors) == 5
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 0


def test_unsigned_parameters_refuse_negative_values(builder: Any, logger: ListLogger) -> None:
    # pool_size is a C++ size_t and tactic_sources a uint32_t: pybind11's casters refuse
    # values those types cannot hold, so the call raises TypeError (nothing is logged).
    config = builder.create_builder_config()
    with pytest.raises(TypeError, match=r"set_memory_pool_limit\(\): incompatible function"):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, -1)
    with pytest.raises(TypeError, match=r"set_tactic_sources\(\): incompatible function"):
        config.set_tactic_sources(-1)
    with pytest.raises(TypeError):
        config.set_tactic_sources(1 << 32)
    assert not logger.errors
    default = 1 << int(trt.TacticSource.EDGE_MASK_CONVOLUTIONS) | 1 << int(
        trt.TacticSource.JIT_CONVOLUTIONS
    )
    assert config.get_tactic_sources() == default
    assert not config.set_tactic_sources(1 << 5) and len(logger.errors) == 1
    assert config.get_tactic_sources() == default


def test_calibration_profile(builder: Any, logger: ListLogger) -> None:
    # set_calibration_profile's docstring: the profile "must satisfy bool(profile) == True
    # or be None. MIN and MAX values will be overwritten by OPT"; returns whether it was set.
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 3, 8, 8), (4, 3, 16, 16), (8, 3, 32, 32))
    assert config.set_calibration_profile(profile)
    calib = config.get_calibration_profile()
    assert [tuple(d) for d in calib.get_shape("x")] == [(4, 3, 16, 16)] * 3
    assert tuple(profile.get_shape("x")[0]) == (1, 3, 8, 8)
    bad = builder.create_optimization_profile()
    with pytest.raises(ValueError):
        bad.set_shape("x", (2, 3), (1, 3), (4, 3))
    assert not config.set_calibration_profile(bad) and len(logger.errors) == 1
    assert config.get_calibration_profile() is calib
    assert config.set_calibration_profile(None)
    assert config.get_calibration_profile() is None


def test_add_optimization_profile_refusals(builder: Any, logger: ListLogger) -> None:
    # add_optimization_profile returns the index, or -1 if the profile is not valid; None
    # reaches TensorRT as nullptr (a pointer parameter), which is not valid either.
    config = builder.create_builder_config()
    good = builder.create_optimization_profile()
    good.set_shape("x", (1, 4), (2, 4), (8, 4))
    bad = builder.create_optimization_profile()
    with pytest.raises(ValueError):
        bad.set_shape("x", (1, 4), (2, 4), (1, 4))
    assert config.add_optimization_profile(good) == 0
    assert config.add_optimization_profile(bad) == -1 and len(logger.errors) == 1
    assert config.add_optimization_profile(None) == -1 and len(logger.errors) == 2
    assert config.add_optimization_profile(good) == 1 and config.num_optimization_profiles == 2
    with pytest.raises(TypeError):
        config.add_optimization_profile("x")


def test_timing_cache_round_trip(builder: Any, logger: ListLogger, tmp_path: Any) -> None:
    # As TensorRT-LLM and Polygraphy do: create a cache from b"", attach it, serialize it to
    # a file (ITimingCache.serialize returns an IHostMemory), load it back, combine.
    config = builder.create_builder_config()
    assert config.get_timing_cache() is None
    cache = config.create_timing_cache(b"")
    assert config.set_timing_cache(cache, ignore_mismatch=False)
    assert config.get_timing_cache() is cache
    blob = config.get_timing_cache().serialize()
    assert isinstance(blob, trt.IHostMemory) and blob.nbytes == len(bytes(blob)) > 0
    path = tmp_path / "model.cache"
    # IHostMemory's context manager is the real module's common_enter: it warns
    with pytest.warns(DeprecationWarning, match="Context managers"), blob as buffer:
        path.write_bytes(buffer)
    loaded = config.create_timing_cache(path.read_bytes())
    assert isinstance(loaded, trt.ITimingCache) and bytes(loaded.serialize()) == bytes(blob)
    assert config.create_timing_cache(blob) is not None
    assert cache.combine(loaded, False) and loaded.reset()
    assert not logger.errors


def test_timing_cache_refusals(builder: Any, logger: ListLogger) -> None:
    # Data that is not a serialized timing cache: an ERROR and None. Arguments of the wrong
    # Python type (str for the Buffer, None for the ITimingCache reference): TypeError.
    config = builder.create_builder_config()
    assert config.create_timing_cache(b"not a timing cache") is None and len(logger.errors) == 1
    with pytest.raises(TypeError, match=r"create_timing_cache\(\): incompatible function"):
        config.create_timing_cache("model.cache")
    with pytest.raises(TypeError, match=r"set_timing_cache\(\): incompatible function"):
        config.set_timing_cache(None, False)
    cache = config.create_timing_cache(bytearray())
    with pytest.raises(TypeError, match=r"combine\(\): incompatible function"):
        cache.combine(b"", False)
    assert config.get_timing_cache() is None


@pytest.mark.parametrize(
    ("shapes", "which"),
    [
        (((4, 4), (2, 4), (8, 4)), "opt"),  # opt < min
        (((1, 4), (2, 4), (1, 4)), "max"),  # max < opt
        (((1, 4), (2, 4, 1), (8, 4)), "opt"),  # rank of opt differs
        (((1, 4), (2, 4), (8,)), "max"),  # rank of max differs
        (((-1, 4), (2, 4), (8, 4)), "min"),  # a negative (wildcard) dimension
    ],
)
def test_set_shape_names_the_inconsistent_shape(builder: Any, shapes: Any, which: str) -> None:
    # The binding sets MIN, OPT and MAX in turn and raises ValueError("Shape provided for
    # <which> is inconsistent with other shapes.") at the first that setDimensions refuses.
    profile = builder.create_optimization_profile()
    with pytest.raises(ValueError, match=f"^Shape provided for {which} is inconsistent"):
        profile.set_shape("x", *shapes)
    assert not profile


def test_integer_settings_hold_their_cpp_types(builder: Any, logger: ListLogger) -> None:
    # The settings are C++ int32_t (levels, counts, DLA core, max_threads), uint32_t (flag
    # bit masks) and int64_t (l2_limit_for_tiling): pybind11's casters refuse what those
    # types cannot hold with the setter's TypeError, and the setting keeps its value.
    config = builder.create_builder_config()
    for name, value in (
        ("avg_timing_iterations", 1 << 31),
        ("builder_optimization_level", -(1 << 31) - 1),
        ("max_aux_streams", 1 << 31),
        ("DLA_core", 1 << 40),
        ("flags", -1),
        ("quantization_flags", 1 << 32),
        ("l2_limit_for_tiling", 1 << 63),
    ):
        before = getattr(config, name)
        with pytest.raises(TypeError, match="incompatible function arguments"):
            setattr(config, name, value)
        assert getattr(config, name) == before, name
    config.l2_limit_for_tiling = 1 << 40
    config.max_aux_streams = (1 << 31) - 1
    assert config.l2_limit_for_tiling == 1 << 40 and config.max_aux_streams == (1 << 31) - 1
    with pytest.raises(TypeError):
        builder.max_threads = 1 << 31
    assert not logger.errors


def test_max_num_tactics_range(builder: Any, logger: ListLogger) -> None:
    # max_num_tactics' docstring: "Valid values include integers from -1 to the maximum
    # 32-bit integer. Default value -1"; below -1 is refused with an ERROR.
    config = builder.create_builder_config()
    assert config.max_num_tactics == -1
    config.max_num_tactics = 0
    assert config.max_num_tactics == 0 and not logger.errors
    config.max_num_tactics = -2
    assert config.max_num_tactics == 0 and len(logger.errors) == 1
    config.max_num_tactics = -1
    assert config.max_num_tactics == -1 and len(logger.errors) == 1


def test_extra_memory_target(builder: Any) -> None:
    # Default 1.0; "Valid inputs lie between 0.0 and 1.0" (others change nothing); a float
    # property, so pybind11 refuses a str with the setter's TypeError.
    profile = builder.create_optimization_profile()
    assert profile.extra_memory_target == 1.0
    profile.extra_memory_target = 0.25
    profile.extra_memory_target = 1.5
    assert profile.extra_memory_target == 0.25
    with pytest.raises(TypeError, match="incompatible function arguments"):
        profile.extra_memory_target = "0.5"
    assert profile.extra_memory_target == 0.25


def test_is_network_supported_checks_argument_types(builder: Any) -> None:
    # Both parameters are C++ references: pybind11 refuses None or other objects.
    network = builder.create_network(0)
    config = builder.create_builder_config()
    assert builder.is_network_supported(network, config) is True
    with pytest.raises(TypeError, match=r"is_network_supported\(\): incompatible function"):
        builder.is_network_supported(None, config)
    with pytest.raises(TypeError, match=r"is_network_supported\(\): incompatible function"):
        builder.is_network_supported(network, object())


@pytest.mark.parametrize(
    ("values", "which"),
    [
        (([4], [2], [8]), "opt"),  # opt < min
        (([1, 1], [2, 2], [3, 1]), "max"),  # max < opt
        (([1], [2, 2], [3, 3]), "opt"),  # another count of values
    ],
)
def test_set_shape_input_names_the_inconsistent_values(
    builder: Any, values: Any, which: str
) -> None:
    profile = builder.create_optimization_profile()
    with pytest.raises(ValueError, match=f"^{which} input provided for shape tensor is"):
        profile.set_shape_input("s", *values)
    assert not profile
    ok = builder.create_optimization_profile()
    ok.set_shape_input("s", [-3], [0], [5])  # shape values may be negative
    assert ok.get_shape_input("s") == [[-3], [0], [5]] and ok


class _Monitor(trt.IProgressMonitor):
    def __init__(self) -> None:
        trt.IProgressMonitor.__init__(self)

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        pass

    def step_complete(self, phase_name: str, step: int) -> bool:
        return True

    def phase_finish(self, phase_name: str) -> None:
        pass


class _Recorder(trt.IErrorRecorder):
    pass


def test_interface_settings_take_instances_or_none(builder: Any) -> None:
    # progress_monitor, int8_calibrator, algorithm_selector, error_recorder and gpu_allocator
    # are C++ interface pointers: an implementation (a Python subclass) or None; pybind11
    # refuses any other object with the setter's TypeError.
    config = builder.create_builder_config()
    monitor = _Monitor()
    config.progress_monitor = monitor
    assert config.progress_monitor is monitor
    config.progress_monitor = None
    assert config.progress_monitor is None
    for name in ("progress_monitor", "int8_calibrator", "algorithm_selector"):
        with pytest.raises(TypeError, match="incompatible function arguments"):
            setattr(config, name, object())
        assert getattr(config, name) is None
    recorder = _Recorder()
    builder.error_recorder = recorder
    assert builder.error_recorder is recorder
    with pytest.raises(TypeError, match="incompatible function arguments"):
        builder.error_recorder = "stderr"
    with pytest.raises(TypeError, match="incompatible function arguments"):
        builder.gpu_allocator = object()
    assert builder.error_recorder is recorder
    builder.gpu_allocator = None  # the default allocator


def test_builder_gpu_allocator_is_write_only(builder: Any) -> None:
    # The bindings' Builder.gpu_allocator property has a setter and no getter (fget is None).
    assert isinstance(trt.Builder.gpu_allocator, property)
    assert trt.Builder.gpu_allocator.fget is None and trt.Builder.gpu_allocator.fset
    builder.gpu_allocator = None
    with pytest.raises(AttributeError):
        _ = builder.gpu_allocator


def test_builder_optimization_level_range(builder: Any, logger: ListLogger) -> None:
    # Its docstring: default 3, "Valid values include integers from 0 to the maximum
    # optimization level, which is currently 5. Setting it to be greater than the maximum
    # level results in identical behavior to the maximum level"; negative is refused.
    config = builder.create_builder_config()
    assert config.builder_optimization_level == 3
    config.builder_optimization_level = 0
    assert config.builder_optimization_level == 0
    config.builder_optimization_level = 9
    assert config.builder_optimization_level == 9 and not logger.errors
    config.builder_optimization_level = -1
    assert config.builder_optimization_level == 9 and len(logger.errors) == 1


def test_profile_is_valid_again_once_the_input_is_set(builder: Any, logger: ListLogger) -> None:
    # bool(profile) checks the profile's state (IOptimizationProfile::isValid): a failed
    # set_shape leaves the input half set, a later successful set_shape of it repairs it.
    profile = builder.create_optimization_profile()
    profile.set_shape("y", (1,), (1,), (1,))
    with pytest.raises(ValueError):
        profile.set_shape("x", (1, 4), (8, 4), (2, 4))
    assert not profile
    profile.set_shape("x", (1, 4), (2, 4), (8, 4))
    assert profile
    with pytest.raises(ValueError):
        profile.set_shape_input("s", [2], [1], [3])
    assert not profile
    profile.set_shape_input("s", [1], [2], [3])
    assert profile
    config = builder.create_builder_config()
    assert config.add_optimization_profile(profile) == 0 and not logger.errors


def test_plugins_to_serialize_takes_a_sequence_of_str(builder: Any) -> None:
    # The setter takes collections.abc.Sequence[str]: pybind11 does not split a str into
    # its characters, it refuses it.
    config = builder.create_builder_config()
    config.plugins_to_serialize = ("libA.so", "libB.so")
    assert config.plugins_to_serialize == ["libA.so", "libB.so"]
    with pytest.raises(TypeError, match="incompatible function arguments"):
        config.plugins_to_serialize = "libC.so"
    with pytest.raises(TypeError, match="incompatible function arguments"):
        config.plugins_to_serialize = ["libC.so", 3]
    assert config.plugins_to_serialize == ["libA.so", "libB.so"]


def test_create_network_flags_are_a_uint32(builder: Any) -> None:
    # NetworkDefinitionCreationFlags is a uint32_t: pybind11 refuses -1 (it would set every
    # bit, STRONGLY_TYPED among them) and values of 2**32 or more.
    strongly = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert builder.create_network(strongly).get_flag(
        trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED
    )
    for bad in (-1, 1 << 32):
        with pytest.raises(TypeError, match=r"create_network\(\): incompatible function"):
            builder.create_network(bad)
