"""cache_key: components change exactly when they should."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trt_netser.offline as trt
from trt_netser.cache._keys import validate_key
from trt_netser.config import add_optimization_profile
from trt_netser.key import COMPONENTS, CacheKey, cache_key

from .helpers import ENV, FakeBuildConfig, FakeLlmNetwork, config, network, profile


def key(net=None, cfg=None, **kw):
    kw.setdefault("environment", ENV)
    return cache_key(
        net if net is not None else network(), cfg if cfg is not None else config(), **kw
    )


BASE = None


def base():
    global BASE
    if BASE is None:
        BASE = key()
    return BASE


def test_layout_and_components():
    k = base()
    assert k.names == COMPONENTS
    parts = str(k).split("/")
    assert parts[:3] == ["v1", "trt-10.16.1.11", "sm90"]
    assert parts[3] == k.component("network").digest[:32]
    assert validate_key(k) == str(k)
    assert len(k.explain()) == 6 and k.explain()[0].startswith("[")
    data = json.loads(json.dumps(k.to_dict()))
    again = CacheKey.from_dict(data)
    assert again.diff(k) == () and str(again) == str(k) and again.digest == k.digest


def test_same_inputs_same_key():
    assert str(key()) == str(base()) and key().diff(base()) == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"cuda_version": "13.0"}, ("tensorrt",)),
        ({"platform": "windows-x86_64"}, ("tensorrt",)),
        ({"plugins": ("libnvinfer_plugin.so.10",)}, ("tensorrt",)),
        ({"trtllm_version": "0.20.0"}, ("tensorrt",)),
        ({"compute_capability": "8.9"}, ("device",)),
        ({"gpu_name": "NVIDIA H200"}, ("device",)),
        ({"cuda_version": "12.9"}, ()),  # only the CUDA major is hashed
        ({"trt_library": "blake3:00"}, ()),  # recorded, not hashed by default
        ({"backend": "tensorrt"}, ()),  # offline prediction == GPU machine's key
    ],
)
def test_environment_fields(change, expected):
    k = key(environment=dataclasses.replace(ENV, **change))
    assert k.diff(base()) == expected
    assert (str(k) == str(base())) == (expected == ())


def test_library_identity_option():
    a = key(library_identity=True)
    b = key(library_identity=True, environment=dataclasses.replace(ENV, trt_library="blake3:00"))
    assert b.diff(a) == ("tensorrt",)


def test_environment_must_match_the_module_version():
    with pytest.raises(ValueError, match="trt_version"):
        key(environment=dataclasses.replace(ENV, trt_version="10.13.3.9"))


@pytest.mark.parametrize(
    "setting",
    [
        lambda c: c.set_flag(trt.BuilderFlag.SPARSE_WEIGHTS),
        lambda c: c.set_quantization_flag(trt.QuantizationFlag.CALIBRATE_BEFORE_FUSION),
        lambda c: c.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30),
        lambda c: c.set_tactic_sources(0),
        lambda c: c.set_preview_feature(trt.PreviewFeature.MULTIDEVICE_RUNTIME_10_16, True),
        lambda c: setattr(c, "builder_optimization_level", 5),
        lambda c: setattr(c, "tiling_optimization_level", trt.TilingOptimizationLevel.FULL),
    ],
)
def test_config_settings_change_only_the_config(setting):
    cfg = config()
    setting(cfg)
    assert key(cfg=cfg).diff(base()) == ("config",)


def test_excluded_config_settings_change_nothing():
    cfg = config()
    cfg.profile_stream = 5
    cfg.set_timing_cache(cfg.create_timing_cache(b""), False)
    assert str(key(cfg=cfg)) == str(base())


def test_profiles_are_part_of_the_config():
    net = network()
    a, b = config(), config()
    add_optimization_profile(a, profile())
    add_optimization_profile(b, profile(max_=(9, 16)))
    assert key(net, a).diff(key(net, b)) == ("config",)


# --------------------------------------------------------------------------- refit rules


@pytest.mark.parametrize(
    ("flags", "hashes_values"),
    [
        ((), True),
        (("REFIT",), False),
        (("REFIT", "STRIP_PLAN"), False),
        (("REFIT_IDENTICAL",), True),
        (("REFIT_IDENTICAL", "STRIP_PLAN"), True),
        (("REFIT", "REFIT_IDENTICAL"), True),
        (("REFIT_INDIVIDUAL",), True),
        (("STRIP_PLAN",), True),
        (("WEIGHTLESS",), True),
        (("WEIGHT_STREAMING",), True),
    ],
)
def test_refit_rule(flags, hashes_values):
    a = key(network(1.0), config(*flags))
    b = key(network(2.0), config(*flags))
    assert (a.diff(b) == ("network",)) == hashes_values
    assert (str(a) == str(b)) == (not hashes_values)
    assert a.component("network").value["weights"] == ("all" if hashes_values else "structure")


def test_strip_plan_aliases_give_one_key():
    assert str(key(cfg=config("REFIT", "STRIP_PLAN"))) == str(
        key(cfg=config("REFIT", "WEIGHTLESS"))
    )


def test_unsafe_weights_option_is_refused():
    with pytest.raises(ValueError, match="REFIT_IDENTICAL"):
        key(cfg=config("REFIT_IDENTICAL"), weights="structure")
    with pytest.raises(ValueError, match="no REFIT flag"):
        key(weights="structure")
    with pytest.raises(ValueError, match="weights must be"):
        key(weights="some")
    stricter = key(network(1.0), config("REFIT"), weights="all")
    assert stricter.diff(key(network(2.0), config("REFIT"), weights="all")) == ("network",)


# --------------------------------------------------------------------------- compatibility


def _hw(level):
    cfg = config()
    cfg.hardware_compatibility_level = getattr(trt.HardwareCompatibilityLevel, level)
    return cfg


@pytest.mark.parametrize(
    ("level", "cc_matters", "name_matters", "segment"),
    [
        ("NONE", True, True, "sm90"),
        ("SAME_COMPUTE_CAPABILITY", True, False, "sm90"),
        ("AMPERE_PLUS", False, False, "hw-ampere-plus"),
    ],
)
def test_hardware_compatibility_widens_the_device(level, cc_matters, name_matters, segment):
    a = key(cfg=_hw(level))
    assert str(a).split("/")[2] == segment
    other_cc = key(cfg=_hw(level), environment=dataclasses.replace(ENV, compute_capability="8.6"))
    other_name = key(cfg=_hw(level), environment=dataclasses.replace(ENV, gpu_name="H200"))
    assert ("device" in a.diff(other_cc)) == cc_matters
    assert ("device" in a.diff(other_name)) == name_matters


def test_version_compatible_keys_on_the_major():
    k = key(cfg=config("VERSION_COMPATIBLE"))
    assert str(k).split("/")[1] == "trt-10-vc"
    assert k.component("tensorrt").value["version"] == "10"
    lean = key(cfg=config("VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME"))
    assert str(lean).split("/")[1] == "trt-10.16.1.11"


# --------------------------------------------------------------------------- extras, LLM


def test_extras():
    a = key(extras={"model": "llama", "rev": 3})
    assert a.diff(base()) == ("extras",)
    assert str(key(extras={"rev": 3, "model": "llama"})) == str(a)
    with pytest.raises(TypeError, match="extras"):
        key(extras=[("a", 1)])
    with pytest.raises(TypeError, match="extras"):
        key(extras={"a": object()})


def test_trtllm_network_and_build_config():
    net = network()
    a = key(FakeLlmNetwork(net), FakeBuildConfig())
    assert a.component("network").digest == base().component("network").digest
    b = key(FakeLlmNetwork(net), FakeBuildConfig(max_batch_size=1))
    assert b.diff(a) == ("config",)
    c = key(FakeLlmNetwork(net), FakeBuildConfig(dry_run=True, gpu_weights_percent=0.5))
    assert str(c) == str(a)
    assert key(network(2.0), FakeBuildConfig()).diff(a) == ("network",)  # no use_refit
    r1 = key(network(1.0), FakeBuildConfig(use_refit=True))
    r2 = key(network(2.0), FakeBuildConfig(use_refit=True))
    assert str(r1) == str(r2)
    both = key(net, config(), build_config=FakeBuildConfig())
    assert both.diff(base()) == ("config",)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("net", None), {}, TypeError, "INetworkDefinition"),
        ((None, None), {}, TypeError, "config"),
        ((None, 3), {}, TypeError, "IBuilderConfig"),
        ((None, None), {"environment": {"trt_version": "10"}}, TypeError, "Environment"),
        ((None, None), {"library_identity": 1}, TypeError, "library_identity"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    net = network() if args[0] is None else args[0]
    cfg = args[1]
    if "environment" in kwargs or "library_identity" in kwargs:
        cfg = config()
    kwargs.setdefault("environment", ENV)
    with pytest.raises(error, match=match):
        cache_key(net, cfg, **kwargs)


# --------------------------------------------------------------------------- determinism

SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from tests.key.helpers import ENV, config, network, profile
from trt_netser.config import add_optimization_profile
from trt_netser.key import cache_key
cfg = config("REFIT", "STRIP_PLAN")
add_optimization_profile(cfg, profile())
k = cache_key(network(), cfg, environment=ENV, extras={{"b": {{1, 2, 3}}, "a": [1.5, None]}})
print(str(k), k.digest)
"""


def test_deterministic_across_hash_seeds():
    root = str(Path(__file__).resolve().parents[2])
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(root=root)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        outputs.add(out.stdout.strip())
    assert len(outputs) == 1


def test_value_changes_names_each_differing_leaf() -> None:
    from trt_netser.key import ABSENT, value_changes

    old = {"flags": ["FP16", "REFIT"], "pools": {"WORKSPACE": 1 << 30}, "gone": 1}
    new = {"flags": ["FP16", "STRIP_PLAN"], "pools": {"WORKSPACE": 1 << 31}, "added": 2}
    assert value_changes(old, new) == [
        ("added", ABSENT, 2),
        ("flags[1]", "REFIT", "STRIP_PLAN"),
        ("gone", 1, ABSENT),
        ("pools.WORKSPACE", 1 << 30, 1 << 31),
    ]
    assert value_changes([1, 2], [1, 2, 3]) == [("", [1, 2], [1, 2, 3])]  # lengths differ
    assert value_changes(old, old) == []
