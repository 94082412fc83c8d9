"""hash_builder_config: every setting changes the digest, excluded ones do not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from trt_netser.config import (
    CONFIG_PROPERTY_EXCLUSIONS,
    add_optimization_profile,
    describe_builder_config,
    hash_builder_config,
    unique_members,
)
from trt_netser.errors import UnhashableNetworkError

from .helpers import config, network, profile


def _digest(cfg, net=None, **kw):
    return hash_builder_config(cfg, net, **kw)


def _pdigest(net, *profiles):
    """Digest of a default config with ``profiles`` added (recorded) in order."""
    cfg = config()
    for p in profiles:
        add_optimization_profile(cfg, p)
    return _digest(cfg, net)


@pytest.mark.parametrize("member", unique_members(trt.BuilderFlag), ids=lambda m: m.name)
def test_each_builder_flag_changes_the_digest(member):
    cfg = config()
    before = _digest(cfg)
    (cfg.clear_flag if cfg.get_flag(member) else cfg.set_flag)(member)
    assert _digest(cfg) != before


def test_flag_aliases_give_one_digest():
    assert int(trt.BuilderFlag.STRIP_PLAN) == int(trt.BuilderFlag.WEIGHTLESS)
    assert _digest(config("STRIP_PLAN")) == _digest(config("WEIGHTLESS"))
    assert _digest(config("STRIP_PLAN")) != _digest(config())


@pytest.mark.parametrize("member", unique_members(trt.QuantizationFlag), ids=lambda m: m.name)
def test_each_quantization_flag_changes_the_digest(member):
    cfg = config()
    before = _digest(cfg)
    cfg.set_quantization_flag(member)
    assert _digest(cfg) != before


@pytest.mark.parametrize("member", unique_members(trt.PreviewFeature), ids=lambda m: m.name)
def test_each_preview_feature_changes_the_digest(member):
    cfg = config()
    before = _digest(cfg)
    cfg.set_preview_feature(member, not cfg.get_preview_feature(member))
    assert _digest(cfg) != before


@pytest.mark.parametrize("pool", unique_members(trt.MemoryPoolType), ids=lambda m: m.name)
def test_each_memory_pool_limit_changes_the_digest(pool):
    cfg = config()
    before = _digest(cfg)
    cfg.set_memory_pool_limit(pool, 1 << 22)
    assert _digest(cfg) != before


@pytest.mark.parametrize("source", unique_members(trt.TacticSource), ids=lambda m: m.name)
def test_each_tactic_source_changes_the_digest(source):
    cfg = config()
    before = _digest(cfg)
    cfg.set_tactic_sources(cfg.get_tactic_sources() ^ (1 << int(source)))
    assert _digest(cfg) != before


def _other_enum(value):
    members = unique_members(type(value))
    return next(m for m in members if int(m) != int(value))


PROPERTY_CHANGES = {
    "builder_optimization_level": 5,
    "avg_timing_iterations": 4,
    "max_aux_streams": 2,
    "max_num_tactics": 10,
    "DLA_core": 0,
    "l2_limit_for_tiling": 1 << 20,
    "plugins_to_serialize": ["libmy_plugin.so"],
    "remote_auto_tuning_config": "tuner://host",
    "hardware_compatibility_level": "enum",
    "tiling_optimization_level": "enum",
    "runtime_platform": "enum",
    "profiling_verbosity": "enum",
    "engine_capability": "enum",
    "default_device_type": "enum",
}


def _encoded_properties():
    from trt_netser.walk import readable_properties

    return [
        p for p in readable_properties(trt.IBuilderConfig) if p not in CONFIG_PROPERTY_EXCLUSIONS
    ]


def test_every_encoded_property_has_a_change_test():
    assert sorted(_encoded_properties()) == sorted(PROPERTY_CHANGES)


@pytest.mark.parametrize("prop", sorted(PROPERTY_CHANGES))
def test_each_property_changes_the_digest(prop):
    cfg = config()
    before = _digest(cfg)
    value = PROPERTY_CHANGES[prop]
    if value == "enum":
        value = _other_enum(getattr(cfg, prop))
    setattr(cfg, prop, value)
    assert getattr(cfg, prop) == value
    assert _digest(cfg) != before


class _Monitor(trt.IProgressMonitor):
    """A progress monitor as users write them (TensorRT takes only IProgressMonitor)."""

    def __init__(self):
        trt.IProgressMonitor.__init__(self)

    def phase_start(self, phase_name, parent_phase, num_steps):
        pass

    def step_complete(self, phase_name, step):
        return True

    def phase_finish(self, phase_name):
        pass


class _Calibrator(trt.IInt8EntropyCalibrator2):
    """An INT8 calibrator as users write them (TensorRT takes only IInt8Calibrator)."""

    def __init__(self):
        trt.IInt8EntropyCalibrator2.__init__(self)

    def get_batch_size(self):
        return 1

    def get_batch(self, names):
        return None

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


@pytest.mark.parametrize("prop", ["progress_monitor", "profile_stream"])
def test_excluded_properties_do_not_change_the_digest(prop):
    cfg = config()
    before = _digest(cfg)
    setattr(cfg, prop, 7 if prop == "profile_stream" else _Monitor())
    assert _digest(cfg) == before


def test_timing_cache_does_not_change_the_digest():
    cfg = config()
    before = _digest(cfg)
    cfg.set_timing_cache(cfg.create_timing_cache(b""), False)
    assert _digest(cfg) == before


def test_calibrator_is_opaque_strict_and_partial_otherwise():
    cfg = config()
    cfg.int8_calibrator = _Calibrator()
    with pytest.raises(UnhashableNetworkError, match="int8_calibrator"):
        _digest(cfg)
    described = describe_builder_config(cfg, strict=False)
    assert described.partial
    assert described.digest != _digest(config())


# --------------------------------------------------------------------------- profiles


def test_profiles_cannot_be_read_back_so_they_must_be_given():
    net, cfg, p = network(), config(), profile()
    cfg.add_optimization_profile(p)
    with pytest.raises(ValueError, match="cannot read profiles back"):
        _digest(cfg, net)
    assert _digest(cfg, net, profiles=[p]) != _digest(config(), net)


def test_profiles_need_the_network():
    cfg, p = config(), profile()
    add_optimization_profile(cfg, p)
    with pytest.raises(ValueError, match="needs the network"):
        _digest(cfg)


def test_recorded_profiles_equal_given_profiles():
    net = network()
    a, pa = config(), profile()
    add_optimization_profile(a, pa)
    b, pb = config(), profile()
    b.add_optimization_profile(pb)
    assert _digest(a, net) == _digest(b, net, profiles=[pb])


dims = st.tuples(st.integers(1, 4), st.integers(0, 4), st.integers(0, 4))


@settings(max_examples=40, deadline=None)
@given(batch=dims, which=st.integers(0, 2))
def test_each_profile_dimension_changes_the_digest(batch, which):
    lo = batch[0]
    mid = lo + batch[1]
    hi = mid + batch[2]
    net = network()
    shapes = [[lo, 16], [mid, 16], [hi, 16]]
    base = _pdigest(net, profile(*map(tuple, shapes)))
    changed = [list(s) for s in shapes]
    for k in range(which, 3):  # grow min, opt or max (and what must stay >= it)
        changed[k][0] += 1
    other = _pdigest(net, profile(*map(tuple, changed)))
    assert other != base
    again = _pdigest(net, profile(*map(tuple, shapes)))
    assert again == base


def test_shape_input_values_and_profile_order_matter():
    net = network(shape_input=True)
    v1 = ([1, 16], [4, 16], [8, 16])
    v2 = ([1, 16], [4, 16], [9, 16])
    d1 = _pdigest(net, profile(values=v1))
    d2 = _pdigest(net, profile(values=v2))
    assert d1 != d2
    small, large = profile(), profile(max_=(32, 16))
    assert _pdigest(net, small, large) != _pdigest(net, large, small)


def test_profile_extra_memory_target_changes_the_digest():
    net, p = network(), profile()
    before = _pdigest(net, p)
    p.extra_memory_target = 0.5
    assert _pdigest(net, p) != before


def test_per_layer_device_type_changes_the_digest():
    net, cfg = network(), config()
    before = _digest(cfg, net)
    cfg.set_device_type(net.get_layer(0), trt.DeviceType.DLA)
    assert _digest(cfg, net) != before
    cfg.reset_device_type(net.get_layer(0))
    assert _digest(cfg, net) == before


def test_per_layer_device_types_are_recorded_by_layer_index():
    net, cfg = network(), config()
    cfg.set_device_type(net.get_layer(net.num_layers - 1), trt.DeviceType.DLA)
    fields = describe_builder_config(cfg, net).record.fields
    assert [entry[0] for entry in fields["device_types"]] == [net.num_layers - 1]
    assert fields["device_types"][0][1].value == int(trt.DeviceType.DLA)


def test_a_device_type_query_that_raises_is_a_problem(monkeypatch):
    net, cfg = network(), config()

    def boom(self, layer):
        raise RuntimeError("boom")

    monkeypatch.setattr(type(cfg), "is_device_type_set", boom)
    described = describe_builder_config(cfg, net, strict=False)
    assert len(described.issues) == net.num_layers
    assert all("is_device_type_set" in i and "boom" in i for i in described.issues)
    assert described.record.fields["device_types"] == []
    with pytest.raises(UnhashableNetworkError, match=r"is_device_type_set.*boom"):
        describe_builder_config(cfg, net)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [None, 3, "config", object()])
def test_bad_config_is_a_type_error(bad):
    with pytest.raises(TypeError, match="IBuilderConfig"):
        hash_builder_config(bad)


def test_bad_strict_is_a_type_error():
    with pytest.raises(TypeError, match="strict"):
        hash_builder_config(config(), strict="yes")


def test_trtllm_builder_config_wrapper_is_accepted():
    class Wrapper:  # FAKE of tensorrt_llm.builder.BuilderConfig
        def __init__(self, inner):
            self.trt_builder_config = inner

    cfg = config("REFIT")
    assert hash_builder_config(Wrapper(cfg)) == hash_builder_config(cfg)
