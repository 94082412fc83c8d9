"""Plugin registry, Python-subclassed V2/V3 creators, native creators, no field read-back."""

from __future__ import annotations

from typing import Any

import numpy as np

import trt_netser.offline as trt
from tests.offline.plugins import register_test_plugins


def _fields(**kw: int) -> Any:
    return trt.PluginFieldCollection(
        [
            trt.PluginField(k, np.array([v], np.int32), trt.PluginFieldType.INT32)
            for k, v in kw.items()
        ]
    )


def test_registry_lookup_and_duplicates() -> None:
    v2, v3 = register_test_plugins(trt)
    reg = trt.get_plugin_registry()
    assert reg is trt.get_plugin_registry()
    assert reg.get_plugin_creator("GPTAttentionTest", "1") is v2
    assert reg.get_plugin_creator("AddBiasTestV3", "1") is None  # not an IPluginCreator
    assert reg.get_creator("AddBiasTestV3", "1") is v3
    assert v2 in reg.plugin_creator_list and v3 not in reg.plugin_creator_list
    assert v2 in reg.all_creators and v3 in reg.all_creators
    assert not reg.register_creator(v2, "")  # same name/version/namespace


def test_register_and_deregister_a_user_creator() -> None:
    class Creator(trt.IPluginCreator):
        def __init__(self) -> None:
            trt.IPluginCreator.__init__(self)
            self.name, self.plugin_version = "Tmp", "2"
            self.field_names = trt.PluginFieldCollection([])

    c = Creator()
    reg = trt.get_plugin_registry()
    assert reg.register_creator(c, "ns")
    assert c.plugin_namespace == "ns" and reg.get_plugin_creator("Tmp", "2", "ns") is c
    assert reg.deregister_creator(c) and reg.get_plugin_creator("Tmp", "2", "ns") is None


def test_v2_plugin_readable_surface(net: Any) -> None:
    v2, _ = register_test_plugins(trt)
    plugin = v2.create_plugin("gpt", _fields(num_heads=4, num_kv_heads=4, head_size=16))
    x = net.add_input("q", trt.float16, (2, 4, 8, 16))
    layer = net.add_plugin_v2([x, x, x], plugin)
    assert layer.plugin is plugin
    assert (plugin.plugin_type, plugin.plugin_version, plugin.plugin_namespace) == (
        "GPTAttentionTest",
        "1",
        "",
    )
    assert tuple(layer.get_output(0).shape) == (2, 4, 8, 16) and layer.num_inputs == 3


def test_v3_plugin_capabilities(net: Any) -> None:
    _, v3 = register_test_plugins(trt)
    plugin = v3.create_plugin("b", _fields(bias=1), trt.TensorRTPhase.BUILD)
    x = net.add_input("x", trt.float32, (3, -1))
    layer = net.add_plugin_v3([x], [], plugin)
    core = layer.plugin.get_capability_interface(trt.PluginCapabilityType.CORE)
    build = layer.plugin.get_capability_interface(trt.PluginCapabilityType.BUILD)
    assert (core.plugin_name, core.plugin_version, core.plugin_namespace) == (
        "AddBiasTestV3",
        "1",
        "",
    )
    assert build.metadata_string == "add_bias" and build.timing_cache_id
    assert tuple(layer.get_output(0).shape) == (3, -1)


def test_native_plugins_serialize_deterministically_and_hide_fields(net: Any) -> None:
    assert trt.init_libnvinfer_plugins(None, "")
    reg = trt.get_plugin_registry()
    c2 = reg.get_plugin_creator("LReLU_TRT", "1", "")
    a = c2.create_plugin("a", _fields(type_id=1))
    b = c2.create_plugin("b", _fields(type_id=1))
    c = c2.create_plugin("c", _fields(type_id=2))
    assert bytes(a.serialize()) == bytes(b.serialize()) != bytes(c.serialize())
    assert not [n for n in dir(a) if not n.startswith("_") and "field" in n]
    x = net.add_input("x", trt.float32, (2, 5))
    assert tuple(net.add_plugin_v2([x], a).get_output(0).shape) == (2, 5)
    c3 = reg.get_creator("CustomSkipLayerNormPluginDynamic", "5", "")
    p3 = c3.create_plugin("s", _fields(ld=8), trt.TensorRTPhase.BUILD)
    p3b = c3.create_plugin("s", _fields(ld=9), trt.TensorRTPhase.BUILD)
    build = p3.get_capability_interface(trt.PluginCapabilityType.BUILD)
    assert (
        build.timing_cache_id
        != p3b.get_capability_interface(trt.PluginCapabilityType.BUILD).timing_cache_id
    )
    assert tuple(net.add_plugin_v3([x], [], p3).get_output(0).shape) == (2, 5)


def test_a_plugin_that_fails_gives_an_error_not_a_traceback(net: Any, logger: Any) -> None:
    class Broken(trt.IPluginV2DynamicExt):
        def __init__(self) -> None:
            trt.IPluginV2DynamicExt.__init__(self)
            self.num_outputs = 1

        def get_output_dimensions(self, *args: Any) -> Any:
            raise ValueError("boom")

    x = net.add_input("x", trt.float32, (2,))
    assert net.add_plugin_v2([x], Broken()) is None
    assert any("boom" in m for m in logger.errors)


def test_plugin_field_collections() -> None:
    f = trt.PluginField("a", np.arange(3, dtype=np.int32), trt.PluginFieldType.INT32)
    col = trt.PluginFieldCollection([f])
    assert len(col) == 1 and col[0] is f and list(col) == [f]
    ro = trt.PluginFieldCollection_(col)
    assert len(ro) == 1 and [g.name for g in ro] == ["a"]
    assert f.data.tolist() == [0, 1, 2] and f.size == 3
