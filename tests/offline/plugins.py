"""Test plugin creators, registered the PUBLIC way real TensorRT offers.

:func:`register_test_plugins` subclasses ``trt.IPluginCreator`` (V2) and
``trt.IPluginCreatorV3One`` (V3) of the given module and registers instances with
``trt.get_plugin_registry().register_creator``. Works with the offline model; with real
TensorRT it needs the native library.

* ``GPTAttentionTest`` v1 (V2): inputs q, k, v ``[b, heads, s, d]``; one output shaped
  like q; fields ``num_heads``, ``num_kv_heads``, ``head_size`` (INT32).
* ``AddBiasTestV3`` v1 (V3): one output shaped and typed like input 0; field ``bias``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_REGISTERED: dict[int, tuple[Any, Any]] = {}


def register_test_plugins(trt: Any) -> tuple[Any, Any]:
    """Register (once per module) and return the (V2 creator, V3 creator)."""
    if id(trt) in _REGISTERED:
        return _REGISTERED[id(trt)]

    def fields_blob(fc: Any) -> bytes:
        out = b""
        for f in fc:
            out += f.name.encode() + b"=" + np.asarray(f.data).tobytes() + b";"
        return out

    class GPTAttentionPlugin(trt.IPluginV2DynamicExt):
        def __init__(self, blob: bytes) -> None:
            trt.IPluginV2DynamicExt.__init__(self)
            self.num_outputs = 1
            self.plugin_type = "GPTAttentionTest"
            self.plugin_version = "1"
            self.plugin_namespace = ""
            self._blob = blob

        def get_output_datatype(self, index: int, input_types: list[Any]) -> Any:
            return input_types[0]

        def get_output_dimensions(
            self, output_index: int, inputs: list[Any], expr_builder: Any
        ) -> Any:
            return inputs[0]

        def serialize(self) -> bytes:
            return self._blob

    class GPTAttentionCreator(trt.IPluginCreator):
        def __init__(self) -> None:
            trt.IPluginCreator.__init__(self)
            self.name = "GPTAttentionTest"
            self.plugin_version = "1"
            self.plugin_namespace = ""
            self.field_names = trt.PluginFieldCollection(
                [
                    trt.PluginField("num_heads", np.zeros(1, np.int32), trt.PluginFieldType.INT32),
                    trt.PluginField(
                        "num_kv_heads", np.zeros(1, np.int32), trt.PluginFieldType.INT32
                    ),
                    trt.PluginField("head_size", np.zeros(1, np.int32), trt.PluginFieldType.INT32),
                ]
            )

        def create_plugin(self, name: str, fc: Any) -> Any:
            return GPTAttentionPlugin(fields_blob(fc))

    class AddBiasPlugin(
        trt.IPluginV3, trt.IPluginV3OneCore, trt.IPluginV3OneBuild, trt.IPluginV3OneRuntime
    ):
        def __init__(self, blob: bytes) -> None:
            trt.IPluginV3.__init__(self)
            trt.IPluginV3OneCore.__init__(self)
            trt.IPluginV3OneBuild.__init__(self)
            trt.IPluginV3OneRuntime.__init__(self)
            self.plugin_name = "AddBiasTestV3"
            self.plugin_version = "1"
            self.plugin_namespace = ""
            self.num_outputs = 1
            self.metadata_string = "add_bias"
            self.timing_cache_id = blob.hex()[:16]

        def get_capability_interface(self, type: Any) -> Any:
            return self

        def get_output_data_types(self, input_types: list[Any]) -> list[Any]:
            return [input_types[0]]

        def get_output_shapes(
            self, inputs: list[Any], shape_inputs: list[Any], expr_builder: Any
        ) -> list[Any]:
            return [inputs[0]]

    class AddBiasCreator(trt.IPluginCreatorV3One):
        def __init__(self) -> None:
            trt.IPluginCreatorV3One.__init__(self)
            self.name = "AddBiasTestV3"
            self.plugin_version = "1"
            self.plugin_namespace = ""
            self.field_names = trt.PluginFieldCollection(
                [trt.PluginField("bias", np.zeros(1, np.float32), trt.PluginFieldType.FLOAT32)]
            )

        def create_plugin(self, name: str, fc: Any, phase: Any) -> Any:
            return AddBiasPlugin(fields_blob(fc))

    v2, v3 = GPTAttentionCreator(), AddBiasCreator()
    registry = trt.get_plugin_registry()
    registry.register_creator(v2, "")
    registry.register_creator(v3, "")
    _REGISTERED[id(trt)] = (v2, v3)
    return v2, v3
