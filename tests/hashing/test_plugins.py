"""Plugin layers: fields from capture, TensorRT-LLM's side table, serialize() or metadata."""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

import numpy as np
import pytest

import trt_netser
import trt_netser.offline as trt
from tests.offline.plugins import register_test_plugins
from trt_netser import PartialHashWarning, UnhashableNetworkError, describe_network, hash_network

from .zoo import new_network

trt.init_libnvinfer_plugins(None, "")
GPT_V2, ADD_BIAS_V3 = register_test_plugins(trt)


def creator(name: str, version: str) -> Any:
    found = trt.get_plugin_registry().get_creator(name, version, "")
    assert found is not None, (name, version)
    return found


def fields(**values: Any) -> Any:
    return trt.PluginFieldCollection(
        [
            trt.PluginField(name, np.asarray(value, dtype=np.int32), trt.PluginFieldType.INT32)
            for name, value in values.items()
        ]
    )


def gpt_network(num_heads: int, *, inside: bool = True) -> Any:
    def build() -> Any:
        _, net, x = new_network(trt)
        plugin = GPT_V2.create_plugin(
            "attn", fields(num_heads=num_heads, num_kv_heads=2, head_size=16)
        )
        layer = net.add_plugin_v2([x, x, x], plugin)
        layer.name = "gpt_attention"
        net.mark_output(layer.get_output(0))
        return net

    if not inside:
        return build()
    with trt_netser.capture(trt):
        return build()


def plugin_record(net: Any) -> dict[str, Any]:
    layer = next(
        r.record
        for r in describe_network(net, strict=False)
        if r.kind == "layer" and "plugin" in r.record.fields
    )
    return layer.get("plugin")


def test_python_v2_creator_fields_are_captured_and_sharp() -> None:
    record = plugin_record(gpt_network(4))
    assert record["fields_from"] == "capture"
    assert record["name"] == "GPTAttentionTest" and record["api"] == "v2"
    assert [f["name"] for f in record["fields"]] == ["num_heads", "num_kv_heads", "head_size"]
    assert hash_network(gpt_network(4)) != hash_network(gpt_network(8))
    assert hash_network(gpt_network(4)) == hash_network(gpt_network(4))


def test_v2_without_capture_falls_back_to_serialize() -> None:
    record = plugin_record(gpt_network(4, inside=False))
    assert record["fields_from"] == "serialize"
    assert len(record["serialized"]) == 64
    assert hash_network(gpt_network(4, inside=False)) != hash_network(gpt_network(8, inside=False))


def test_native_v2_creator_is_captured() -> None:
    def build(alpha: float) -> Any:
        with trt_netser.capture(trt):
            _, net, x = new_network(trt)
            pfc = trt.PluginFieldCollection(
                [
                    trt.PluginField(
                        "alpha", np.array([alpha], np.float32), trt.PluginFieldType.FLOAT32
                    )
                ]
            )
            plugin = creator("LReLU_TRT", "1").create_plugin("lrelu", pfc)
            net.mark_output(net.add_plugin_v2([x], plugin).get_output(0))
        return net

    assert plugin_record(build(0.1))["fields_from"] == "capture"
    assert hash_network(build(0.1)) != hash_network(build(0.2))


def v3_network(bias: float, *, inside: bool = True, native: bool = False) -> Any:
    def build() -> Any:
        _, net, x = new_network(trt)
        pfc = trt.PluginFieldCollection(
            [trt.PluginField("bias", np.array([bias], np.float32), trt.PluginFieldType.FLOAT32)]
        )
        made = (
            creator("CustomSkipLayerNormPluginDynamic", "5") if native else ADD_BIAS_V3
        ).create_plugin("v3", pfc, trt.TensorRTPhase.BUILD)
        layer = net.add_plugin_v3([x], [], made)
        net.mark_output(layer.get_output(0))
        return net

    if not inside:
        return build()
    with trt_netser.capture(trt):
        return build()


def test_v3_fields_are_captured_and_sharp() -> None:
    record = plugin_record(v3_network(1.0))
    assert record["api"] == "v3" and record["fields_from"] == "capture"
    assert record["name"] == "AddBiasTestV3"
    assert hash_network(v3_network(1.0)) != hash_network(v3_network(2.0))


def test_v3_without_capture_uses_build_interface() -> None:
    record = plugin_record(v3_network(1.0, inside=False))
    assert record["fields_from"] == "build_interface"
    assert record["timing_cache_id"]
    assert hash_network(v3_network(1.0, inside=False)) != hash_network(
        v3_network(2.0, inside=False)
    )


def test_v3_with_no_readable_state_is_unhashable() -> None:
    _, net, x = new_network(trt)
    plugin = ADD_BIAS_V3.create_plugin("v3", trt.PluginFieldCollection([]), trt.TensorRTPhase.BUILD)
    plugin.metadata_string = ""
    plugin.timing_cache_id = ""
    net.mark_output(net.add_plugin_v3([x], [], plugin).get_output(0))
    with pytest.raises(UnhashableNetworkError, match="IPluginV3"):
        hash_network(net)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        partial = hash_network(net, strict=False)
    assert partial.partial
    assert any(issubclass(w.category, PartialHashWarning) for w in caught)


def test_plugin_name_and_version_are_sharp() -> None:
    assert hash_network(v3_network(1.0, native=True)) != hash_network(v3_network(1.0))


@pytest.fixture
def fake_tensorrt_llm(monkeypatch: pytest.MonkeyPatch) -> dict[int, dict[str, Any]]:
    """A stand-in for TensorRT-LLM's side table: tensorrt_llm._utils keeps extra attributes
    of objects (by id) and tensorrt_llm.network stores PluginInfo(pfc=...) per layer name
    under the network's "plugin_infos" attribute. This mimics its structure, not its code."""
    store: dict[int, dict[str, Any]] = {}
    package = types.ModuleType("tensorrt_llm")
    utils = types.ModuleType("tensorrt_llm._utils")

    def has_extra_attr(obj: Any, name: str) -> bool:
        return name in store.get(id(obj), {})

    def get_extra_attr(obj: Any, name: str) -> Any:
        return store[id(obj)][name]

    def set_extra_attr(obj: Any, name: str, value: Any) -> None:
        store.setdefault(id(obj), {})[name] = value

    utils.has_extra_attr = has_extra_attr  # type: ignore[attr-defined]
    utils.get_extra_attr = get_extra_attr  # type: ignore[attr-defined]
    utils.set_extra_attr = set_extra_attr  # type: ignore[attr-defined]
    package._utils = utils  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tensorrt_llm", package)
    monkeypatch.setitem(sys.modules, "tensorrt_llm._utils", utils)
    return store


class PluginInfo:
    def __init__(self, creator: Any, plugin_name: str, pfc: Any) -> None:
        self.plugin_creator, self.plugin_name, self.pfc = creator, plugin_name, pfc


def test_tensorrt_llm_side_table(fake_tensorrt_llm: Any) -> None:
    utils = sys.modules["tensorrt_llm._utils"]

    def build(num_heads: int) -> Any:
        net = gpt_network(num_heads, inside=False)
        pfc = fields(num_heads=num_heads, num_kv_heads=2, head_size=16)
        utils.set_extra_attr(
            net, "plugin_infos", {"gpt_attention": PluginInfo(GPT_V2, "attn", pfc)}
        )
        return net

    record = plugin_record(build(4))
    assert record["fields_from"] == "tensorrt_llm"
    assert hash_network(build(4)) != hash_network(build(8))
    assert hash_network(build(4)) == hash_network(build(4))
