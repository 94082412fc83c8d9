"""TensorRT's default layer and tensor names, one test per convention (issue 12).

Why: layer and tensor names are in the digest (network outputs keep default names: they
are the engine's binding names), so an offline key differs from the key the same script
gets on a GPU machine unless the offline model names things as TensorRT does. The
conventions live in ``trt_netser/offline/_layertable.py`` (DISPLAY_BY_PARAMETER,
OUTPUT_NAMES, EXTRA_LAYER_INDICES and the display names of LAYERS); the walker must take
every one of them for a default name (trt_netser.policy.DEFAULT_NAMES).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import trt_netser.offline as trt
from trt_netser import hash_network
from trt_netser.walk import _DEFAULT_LAYER_NAME, _DEFAULT_TENSOR_NAME, user_name


def _names(layer: Any) -> list[str]:
    return [layer.get_output(i).name for i in range(layer.num_outputs)]


def _assert_walker_takes_them_for_defaults(layer: Any) -> None:
    assert user_name(layer.name, _DEFAULT_LAYER_NAME) is None, layer.name
    for name in _names(layer):
        assert user_name(name, _DEFAULT_TENSOR_NAME) is None, name


def test_topk_outputs(net: Any) -> None:
    x = net.add_input("x", trt.float32, (4, 16))
    layer = net.add_topk(x, trt.TopKOperation.MAX, 2, 1 << 1)
    assert _names(layer) == [
        "(Unnamed Layer* 0) [TopK]_output",
        "(Unnamed Layer* 0) [TopK]_output (1)",
    ]
    _assert_walker_takes_them_for_defaults(layer)


def test_nms_outputs(net: Any) -> None:
    boxes = net.add_input("boxes", trt.float32, (1, 10, 4))
    scores = net.add_input("scores", trt.float32, (1, 10, 3))
    limit = net.add_constant((), np.array(5, np.int32)).get_output(0)
    layer = net.add_nms(boxes, scores, limit)
    assert _names(layer) == [
        "(Unnamed Layer* 1) [NMS]_output",
        "(Unnamed Layer* 1) [NMS]_output (1)",
    ]
    _assert_walker_takes_them_for_defaults(layer)


def test_dynamic_quantize_outputs(net: Any) -> None:
    x = net.add_input("x", trt.float16, (4, 32))
    layer = net.add_dynamic_quantize(x, 1, 16, trt.fp4, trt.fp8)
    assert _names(layer) == [
        "(Unnamed Layer* 0) [DynamicQuantize]_output",
        "(Unnamed Layer* 0) [DynamicQuantize]_output_1",
    ]
    _assert_walker_takes_them_for_defaults(layer)


def test_normalization_v2_display(net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 4, 8))
    s = net.add_input("s", trt.float32, (1, 1, 8))
    b = net.add_input("b", trt.float32, (1, 1, 8))
    v2 = net.add_normalization_v2(x, s, b, 1 << 2)
    v1 = net.add_normalization(x, s, b, 1 << 2)
    assert v2.name == "(Unnamed Layer* 0) [NormalizationV2]"
    assert v1.name == "(Unnamed Layer* 1) [Normalization]"
    _assert_walker_takes_them_for_defaults(v2)


def test_parametric_relu_display(net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 4))
    slopes = net.add_input("slopes", trt.float32, (1, 4))
    layer = net.add_parametric_relu(x, slopes)
    assert layer.name == "(Unnamed Layer* 0) [Parametric ReLU]"
    _assert_walker_takes_them_for_defaults(layer)


def test_if_conditional_output_display(net: Any) -> None:
    cond_in = net.add_input("c", trt.bool, ())
    x = net.add_input("x", trt.float32, (2, 3))
    cond = net.add_if_conditional()
    cond.set_condition(cond_in)
    inp = cond.add_input(x)
    out = cond.add_output(inp.get_output(0), inp.get_output(0))
    assert out.name.endswith("[Output]")
    _assert_walker_takes_them_for_defaults(out)


def test_attention_uses_three_layer_indices(net: Any) -> None:
    q = net.add_input("q", trt.float16, (1, 8, 16, 64))
    k = net.add_input("k", trt.float16, (1, 8, 16, 64))
    v = net.add_input("v", trt.float16, (1, 8, 16, 64))
    net.add_attention(q, k, v, trt.AttentionNormalizationOp.SOFTMAX, False)
    after = net.add_identity(q)
    assert net.num_layers == 3
    assert net.get_layer(0).name.startswith("(Unnamed Layer* 0) ")
    assert net.get_layer(1).name.startswith("(Unnamed Layer* 1) ")
    assert after.name == "(Unnamed Layer* 3) [Identity]"  # index 2 is taken by the attention
    assert after.get_output(0).name == "(Unnamed Layer* 3) [Identity]_output"


def test_plugins_keep_numbered_outputs() -> None:
    from trt_netser.offline._layertable import output_name

    assert output_name("PLUGIN_V3", "L", 1, 2) == "L_output_1"
    assert output_name("PLUGIN_V3", "L", 0, 1) == "L_output"


def test_a_user_name_that_is_not_a_default_is_hashed(builder: Any) -> None:
    """The patterns accept the defaults only: a user name still changes the digest, and
    the default names of a second network (other counters) do not."""

    def build(rename: bool) -> Any:
        net = builder.create_network(0)
        net.add_identity(net.add_input("pad", trt.float32, (1,)))  # shifts nothing visible
        x = net.add_input("x", trt.float32, (4, 16))
        layer = net.add_topk(x, trt.TopKOperation.MAX, 2, 1 << 1)
        if rename:
            layer.get_output(1).name = "indices"
        net.add_identity(layer.get_output(1))
        return net

    assert hash_network(build(False)) == hash_network(build(False))
    assert hash_network(build(False)) != hash_network(build(True))
    assert user_name("indices", _DEFAULT_TENSOR_NAME) == "indices"
    assert user_name("(Unnamed Layer* 0) [TopK]_output (x)", _DEFAULT_TENSOR_NAME) is not None
