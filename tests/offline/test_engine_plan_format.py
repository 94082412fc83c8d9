"""The plan format is what docs/offline-engine.md says: a decoder written from the doc reads it.

Why: cached plans outlive the code that wrote them, and tools (``trt-netser cache show``,
other languages) read them without the offline model. This test decodes plans with only
``struct``, ``cbor2`` and ``blake3``, following the documented layout, and checks every
documented field against the network that was built.
"""

from __future__ import annotations

import struct
from typing import Any

import blake3
import cbor2
import numpy as np

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger


def decode_from_the_doc(plan: bytes) -> dict[str, Any]:
    """The payload, with the network record and the weights' data read from the data region
    (as ``network`` and a ``weights["data"]`` column), checked as documented."""
    magic, version, reserved, length, size = struct.unpack_from("<8sHHQQ", plan)
    assert (magic, version, reserved) == (b"TNSPLAN\0", 2, 0)
    assert len(plan) == 28 + length + size + 32
    assert blake3.blake3(plan[: 28 + length + size]).digest() == plan[28 + length + size :]
    body = plan[28 : 28 + length]
    payload = cbor2.loads(body)
    assert cbor2.dumps(payload, canonical=True) == body  # canonical encoding
    region = plan[28 + length : 28 + length + size]
    network = region[: payload["network"]]
    assert cbor2.dumps(cbor2.loads(network), canonical=True) == network
    payload["network"] = cbor2.loads(network)
    offset, data = len(network), []
    for n in payload["weights"]["nbytes"]:  # stored weights follow in weights order
        data.append(None if n is None else region[offset : offset + n])
        offset += n or 0
    assert offset == size  # nothing else in the data region
    payload["weights"]["data"] = data
    return dict(payload)


def _network(logger: ListLogger) -> tuple[Any, Any, Any, dict[str, np.ndarray]]:
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    net.name = "format"
    x = net.add_input("x", trt.float32, (-1, 2, 4, 4))
    kernel = np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    conv = net.add_convolution_nd(x, 2, (3, 3), trt.Weights(kernel), trt.Weights())
    conv.name = "conv"
    conv.padding_nd = (1, 1)
    net.set_weights_name(conv.kernel, "k")
    scale = net.add_scale(
        conv.get_output(0),
        trt.ScaleMode.CHANNEL,
        trt.Weights(np.ones(2, np.float32)),
        trt.Weights(np.full(2, 2, np.float32)),
        trt.Weights(np.ones(2, np.float32)),
    )
    scale.name = "bn"
    scale.get_output(0).name = "y"
    net.mark_output(scale.get_output(0))
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 2, 4, 4), (2, 2, 4, 4), (8, 2, 4, 4))
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    config.set_flag(trt.BuilderFlag.REFIT)
    return builder, net, config, {"kernel": kernel}


def test_a_decoder_written_from_the_doc_reads_every_field(logger: ListLogger) -> None:
    builder, net, config, values = _network(logger)
    p = decode_from_the_doc(bytes(builder.build_serialized_network(net, config)))
    assert p["format"] == 2
    assert p["tensorrt"] == "10.16.1.11" == trt.__version__
    assert p["device"]["name"] == "trt-netser offline device"
    assert p["config"]["flags"] == config.flags
    assert p["engine"] == {"refittable": True, "weights_excluded": False, "serialization_flags": 4}

    io = p["io"]
    assert (io["name"], io["num_layers"], io["flags"]) == ("format", 2, 0)
    by_id = {row[0]: row[1:] for row in io["tensors"]}
    assert [by_id[t][0] for t in io["inputs"]] == ["x"]
    assert [by_id[t][0] for t in io["outputs"]] == ["y"]
    assert by_id[io["inputs"][0]][2] == [-1, 2, 4, 4]
    assert io["profiles"] == [
        {
            "shapes": {"x": [[1, 2, 4, 4], [2, 2, 4, 4], [8, 2, 4, 4]]},
            "values": {},
            "extra_memory_target": 1.0,
        }
    ]

    network = p["network"]
    names = [t[0] for t in network["tensors"]]
    assert names[0] == "x" and names[-1] == "y"
    conv, bn = network["layers"]
    assert (conv["name"], conv["type"], bn["type"]) == ("conv", "CONVOLUTION", "SCALE")
    assert conv["inputs"] == [0] and bn["inputs"] == conv["outputs"]
    assert conv["attrs"]["pre_padding"] == conv["attrs"]["post_padding"] == [1, 1]
    assert conv["attrs"]["num_output_maps"] == 2
    assert bn["attrs"]["mode"] == {"$enum": ["ScaleMode", int(trt.ScaleMode.CHANNEL)]}
    kernel_id = conv["attrs"]["kernel"]["$weights"]

    w = p["weights"]
    assert w["name"][kernel_id] == "k"
    assert (w["dtype"][kernel_id], w["count"][kernel_id]) == ("FLOAT", 36)
    assert w["data"][kernel_id] == values["kernel"].tobytes()
    assert w["count"][conv["attrs"]["bias"]["$weights"]] == 0

    inv = p["inventory"]
    rows = sorted(
        zip(inv["layer"], inv["role"], inv["refittable"], inv["reason"], inv["group"], strict=True),
        key=str,
    )
    assert rows == sorted(
        [
            ("conv", "KERNEL", True, None, kernel_id),
            ("bn", "SHIFT", True, None, kernel_id),  # conv -> scale: one fusion group
            ("bn", "SCALE", True, None, kernel_id),
            ("bn", None, False, "no-role", None),  # Scale power
        ],
        key=str,
    )


def test_excluded_weights_are_null_in_the_doc_layout(logger: ListLogger) -> None:
    builder, net, config, _ = _network(logger)
    config.set_flag(trt.BuilderFlag.STRIP_PLAN)
    p = decode_from_the_doc(bytes(builder.build_serialized_network(net, config)))
    assert p["engine"]["weights_excluded"] is True
    refittable = {
        wi
        for wi, ok in zip(p["inventory"]["weights"], p["inventory"]["refittable"], strict=True)
        if ok
    }
    assert refittable
    for wi, data in enumerate(p["weights"]["data"]):
        assert (data is None) == (wi in refittable)
