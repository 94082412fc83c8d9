"""Build, serialize, deserialize and refit offline engines the way client code does.

Why: the build-or-refit pipeline and the offline executor are written against this model
of TensorRT's engine side and must run unchanged on real TensorRT, so the model must
behave like TensorRT: plans are IHostMemory buffers, refusals are ERRORs through the
user's ILogger with None/False returned, a refit engine is the engine a fresh build with
the new weights gives.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger, is_invalid_dims

F32 = np.float32


def cnn(
    logger: ListLogger,
    seed: int,
    *flags: Any,
    name_kernel: bool = True,
    mark: tuple[str, ...] = (),
    kernel_seed: int | None = None,
) -> tuple[Any, Any, Any]:
    """Builder, network and config of a small conv -> +constant -> reshape network."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (1, 3, 8, 8))
    values = _new_weights(seed)
    if kernel_seed is not None:
        values["kernel"] = _new_weights(kernel_seed)["kernel"]
    conv = net.add_convolution_nd(
        x, 4, (3, 3), trt.Weights(values["kernel"]), trt.Weights(values["bias"])
    )
    conv.name = "conv"
    if name_kernel:
        assert net.set_weights_name(conv.kernel, "conv.weight")
    bias = net.add_constant((1, 4, 1, 1), trt.Weights(values["constant"]))
    bias.name = "bias"
    add = net.add_elementwise(conv.get_output(0), bias.get_output(0), trt.ElementWiseOperation.SUM)
    add.name = "add"
    shuffle = net.add_shuffle(add.get_output(0))
    shuffle.reshape_dims = (1, -1)
    shuffle.get_output(0).name = "y"
    net.mark_output(shuffle.get_output(0))
    for name in mark:
        assert net.mark_weights_refittable(name)
    config = builder.create_builder_config()
    for flag in flags:
        config.set_flag(flag)
    return builder, net, config


def plan_of(logger: ListLogger, seed: int, *flags: Any, **kw: Any) -> bytes:
    builder, net, config = cnn(logger, seed, *flags, **kw)
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, logger.errors
    return bytes(plan)


def layer(net: Any, name: str) -> Any:
    """The layer called ``name``, downcast as client code does."""
    for i in range(net.num_layers):
        found = net.get_layer(i)
        if found.name == name:
            found.__class__ = getattr(trt, f"I{_CLASS[str(found.type).split('.')[-1]]}Layer")
            return found
    raise KeyError(name)


_CLASS = {"CONVOLUTION": "Convolution", "CONSTANT": "Constant", "SCALE": "Scale"}


# -- build ----------------------------------------------------------------------------------
def test_plan_is_a_host_memory_buffer(logger: ListLogger) -> None:
    builder, net, config = cnn(logger, 0, trt.BuilderFlag.REFIT)
    plan = builder.build_serialized_network(net, config)
    assert type(plan) is trt.IHostMemory
    assert plan.dtype == trt.DataType.UINT8
    data = bytes(plan)
    assert plan.nbytes == len(data) > 0
    assert memoryview(plan).nbytes == len(data)
    assert np.frombuffer(plan, dtype=np.uint8).tobytes() == data
    sink = io.BytesIO()
    sink.write(plan)  # how build scripts save engines
    assert sink.getvalue() == data
    assert data[:8] == b"TNSPLAN\0"
    assert not logger.errors


def test_same_network_and_config_give_the_same_plan(logger: ListLogger) -> None:
    first = plan_of(logger, 0, trt.BuilderFlag.REFIT)
    again = plan_of(logger, 0, trt.BuilderFlag.REFIT)
    assert first == again
    assert plan_of(logger, 1, trt.BuilderFlag.REFIT) != first  # weights are in the plan
    assert plan_of(logger, 0) != first  # so is the config


def test_serialize_after_deserialize_gives_the_same_bytes(logger: ListLogger) -> None:
    plan = plan_of(logger, 0, trt.BuilderFlag.REFIT)
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    assert engine is not None
    again = bytes(engine.serialize())
    assert again == plan
    assert bytes(trt.Runtime(logger).deserialize_cuda_engine(again).serialize()) == plan


class Writer(trt.IStreamWriter):
    """A stream writer as the TensorRT docstring shows it."""

    def __init__(self) -> None:
        trt.IStreamWriter.__init__(self)
        self.data = b""

    def write(self, data: Any) -> int:
        self.data += bytes(data)
        return len(bytes(data))


class Reader(trt.IStreamReader):
    """A stream reader over bytes that hands out at most ``chunk`` bytes per call."""

    def __init__(self, data: bytes, chunk: int = 7) -> None:
        trt.IStreamReader.__init__(self)
        self.data, self.pos, self.chunk = data, 0, chunk

    def read(self, size: int) -> bytes:
        out = self.data[self.pos : self.pos + min(size, self.chunk)]
        self.pos += len(out)
        return out


class ReaderV2(trt.IStreamReaderV2):
    def __init__(self, data: bytes) -> None:
        trt.IStreamReaderV2.__init__(self)
        self.file = io.BytesIO(data)

    def read(self, num_bytes: int, stream: int) -> bytes:
        return self.file.read(num_bytes)

    def seek(self, offset: int, where: Any) -> bool:
        self.file.seek(offset, int(where))
        return True


def test_build_serialized_network_to_stream(logger: ListLogger) -> None:
    builder, net, config = cnn(logger, 0, trt.BuilderFlag.REFIT)
    writer = Writer()
    assert builder.build_serialized_network_to_stream(net, config, writer) is True
    assert writer.data == plan_of(logger, 0, trt.BuilderFlag.REFIT)


def test_build_engine_with_config(logger: ListLogger) -> None:
    builder, net, config = cnn(logger, 0, trt.BuilderFlag.REFIT)
    engine = builder.build_engine_with_config(net, config)
    assert type(engine) is trt.ICudaEngine
    assert bytes(engine.serialize()) == plan_of(logger, 0, trt.BuilderFlag.REFIT)
    builder, net, config = cnn(logger, 0)
    net.unmark_output(net.get_output(0))
    assert builder.build_engine_with_config(net, config) is None
    assert "at least one output" in logger.errors[-1]


@pytest.mark.parametrize("make", [Reader, ReaderV2], ids=["IStreamReader", "IStreamReaderV2"])
def test_deserialize_from_stream_readers(logger: ListLogger, make: Any) -> None:
    plan = plan_of(logger, 0, trt.BuilderFlag.REFIT)
    engine = trt.Runtime(logger).deserialize_cuda_engine(make(plan))
    assert engine is not None and bytes(engine.serialize()) == plan
    assert trt.Runtime(logger).deserialize_cuda_engine(make(plan[:-3])) is None
    assert "Truncated" in logger.errors[-1]
    assert trt.Runtime(logger).deserialize_cuda_engine(make(b"not a plan at all")) is None
    assert "magicTag" in logger.errors[-1]


# -- refit flags --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "first, second",
    [
        (trt.BuilderFlag.REFIT, trt.BuilderFlag.REFIT_IDENTICAL),
        (trt.BuilderFlag.REFIT_IDENTICAL, trt.BuilderFlag.REFIT_INDIVIDUAL),
        (trt.BuilderFlag.REFIT_INDIVIDUAL, trt.BuilderFlag.REFIT),
    ],
)
def test_refit_flags_exclude_each_other(logger: ListLogger, first: Any, second: Any) -> None:
    config = trt.Builder(logger).create_builder_config()
    config.set_flag(first)
    assert not logger.messages
    config.set_flag(second)
    assert config.get_flag(second) and not config.get_flag(first)
    assert logger.messages == [
        (
            trt.ILogger.Severity.WARNING,
            "Unset previous flag because kREFIT, kREFIT_INDIVIDUAL and kREFIT_IDENTICAL are "
            "mutually exclusive.",
        )
    ]


def test_setting_the_same_refit_flag_twice_does_not_warn(logger: ListLogger) -> None:
    config = trt.Builder(logger).create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    config.set_flag(trt.BuilderFlag.REFIT)
    config.set_flag(trt.BuilderFlag.STRIP_PLAN)
    assert config.get_flag(trt.BuilderFlag.REFIT) and config.get_flag(trt.BuilderFlag.STRIP_PLAN)
    assert not logger.messages


# -- build refusals ---------------------------------------------------------------------------------
def _refused(logger: ListLogger, builder: Any, net: Any, config: Any, text: str) -> None:
    assert builder.build_serialized_network(net, config) is None
    assert len(logger.errors) == 1, logger.errors
    assert text in logger.errors[0]


def test_refuses_a_network_without_outputs(logger: ListLogger, builder: Any, net: Any) -> None:
    net.add_identity(net.add_input("x", trt.float32, (2,)))
    config = builder.create_builder_config()
    _refused(logger, builder, net, config, "Network must have at least one output")


def test_refuses_dynamic_inputs_without_a_profile(
    logger: ListLogger, builder: Any, net: Any
) -> None:
    x = net.add_input("x", trt.float32, (-1, 4))
    net.mark_output(net.add_identity(x).get_output(0))
    config = builder.create_builder_config()
    _refused(
        logger,
        builder,
        net,
        config,
        "Network has dynamic or shape inputs, but no optimization profile has been defined.",
    )


def test_refuses_a_profile_that_does_not_cover_an_input(
    logger: ListLogger, builder: Any, net: Any
) -> None:
    x = net.add_input("x", trt.float32, (-1, 4))
    y = net.add_input("y", trt.float32, (-1, 4))
    net.mark_output(net.add_elementwise(x, y, trt.ElementWiseOperation.SUM).get_output(0))
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 4), (2, 4), (8, 4))
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    _refused(logger, builder, net, config, "y: dynamic input is missing dimensions in profile 0.")


def test_refuses_a_profile_that_contradicts_a_static_dimension(
    logger: ListLogger, builder: Any, net: Any
) -> None:
    x = net.add_input("x", trt.float32, (-1, 4))
    net.mark_output(net.add_identity(x).get_output(0))
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 2), (2, 4), (8, 8))
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    _refused(logger, builder, net, config, "does not match network definition")


def test_refuses_a_profile_of_another_rank(logger: ListLogger, builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (-1, 4))
    net.mark_output(net.add_identity(x).get_output(0))
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 4, 1), (2, 4, 1), (8, 4, 1))
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    _refused(logger, builder, net, config, "x: profile 0 has rank 3, the network input has rank 2.")


def test_profile_out_of_order_never_reaches_the_build(builder: Any) -> None:
    """min <= opt <= max is checked by IOptimizationProfile.set_shape already."""
    profile = builder.create_optimization_profile()
    with pytest.raises(ValueError):
        profile.set_shape("x", (4, 4), (2, 4), (8, 4))
    assert not profile  # an invalid profile, which add_optimization_profile refuses


def test_refuses_weight_streaming_on_a_weakly_typed_network(logger: ListLogger) -> None:
    builder, net, config = cnn(logger, 0, trt.BuilderFlag.WEIGHT_STREAMING)
    _refused(logger, builder, net, config, "Weight streaming is only supported with strongly typed")


def test_weight_streaming_on_a_strongly_typed_network(logger: ListLogger) -> None:
    builder = trt.Builder(logger)
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    x = net.add_input("x", trt.float32, (2, 4))
    c = net.add_constant((2, 4), trt.Weights(np.ones((2, 4), F32)))
    net.mark_output(
        net.add_elementwise(x, c.get_output(0), trt.ElementWiseOperation.SUM).get_output(0)
    )
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.WEIGHT_STREAMING)
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, config)
    )
    assert engine.streamable_weights_size == 32
    assert engine.weight_streaming_budget_v2 == 32
    engine.weight_streaming_budget_v2 = 16
    assert engine.weight_streaming_budget_v2 == 16
    assert not logger.errors


def test_refuses_marked_weights_that_do_not_exist(logger: ListLogger) -> None:
    builder, net, config = cnn(logger, 0, trt.BuilderFlag.REFIT_INDIVIDUAL, mark=("conv",))
    layer(net, "conv").name = "renamed"  # the marked name no longer names any weights
    _refused(logger, builder, net, config, "Weights 'conv' are marked refittable")


def test_refuses_an_invalid_network(logger: ListLogger, builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (2, 4))
    shuffle = net.add_shuffle(x)
    net.mark_output(shuffle.get_output(0))
    x.shape = (3, 5)
    shuffle.reshape_dims = (7,)  # 15 elements cannot become 7: a shape error now
    logger.messages.clear()
    config = builder.create_builder_config()
    assert builder.build_serialized_network(net, config) is None
    assert any("Shape Error" in m for m in logger.errors), logger.errors


@pytest.mark.parametrize(
    ("boxes", "scores", "builds"),
    [
        ((1, 10, 4), (1, 10, 3), True),  # TensorRT's [batch, boxes, classes] scores
        ((1, 10, 3, 4), (1, 10, 3), True),  # per-class boxes
        ((1, 10, 4), (1, 3, 10), False),  # ONNX's [batch, classes, boxes] scores
        ((1, 10, 3, 4), (1, 10, 2), False),  # per-class boxes for 3 classes, scores for 2
        ((2, 10, 4), (1, 10, 3), False),  # batch sizes differ
    ],
)
def test_nms_needs_tensorrts_box_and_score_layout(
    logger: ListLogger, builder: Any, net: Any, boxes: Any, scores: Any, builds: bool
) -> None:
    limit = net.add_constant((), trt.Weights(np.array(5, np.int32))).get_output(0)
    nms = net.add_nms(
        net.add_input("boxes", trt.float32, boxes),
        net.add_input("scores", trt.float32, scores),
        limit,
    )
    assert nms is not None  # TensorRT checks the shapes when it needs them
    net.mark_output(nms.get_output(0))
    net.mark_output(nms.get_output(1))
    plan = builder.build_serialized_network(net, builder.create_builder_config())
    if builds:
        assert plan is not None and not logger.errors
    else:
        assert plan is None
        assert len(logger.errors) == 1 and "Error Code 4: Shape Error" in logger.errors[0]
        assert "[batchSize, numInputBoundingBoxes, numClasses]" in logger.errors[0]


@pytest.mark.parametrize("internal", ["recurrence", "iterator", "body"])
def test_refuses_a_loop_internal_network_output(
    logger: ListLogger, builder: Any, net: Any, internal: str
) -> None:
    """An ILoopOutputLayer is the sole way to get output from a loop (INetworkDefinition
    accepts the mark; the build refuses it)."""
    x = net.add_input("x", trt.float32, (4, 3))
    loop = net.add_loop()
    count = net.add_constant((), trt.Weights(np.array(4, np.int32))).get_output(0)
    loop.add_trip_limit(count, trt.TripLimit.COUNT)
    rec = loop.add_recurrence(x)
    row = loop.add_iterator(x, 0, False)
    step = net.add_elementwise(rec.get_output(0), x, trt.ElementWiseOperation.SUM)
    body = net.add_unary(step.get_output(0), trt.UnaryOperation.ABS)
    rec.set_input(1, body.get_output(0))
    out = loop.add_loop_output(rec.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    net.mark_output(out.get_output(0))
    config = builder.create_builder_config()
    assert builder.build_serialized_network(net, config) is not None
    tensor = {"recurrence": rec, "iterator": row, "body": body}[internal].get_output(0)
    net.mark_output(tensor)
    assert not logger.errors
    _refused(logger, builder, net, config, f"Network output {tensor.name} is a loop-internal")
    assert "Error Code 4" in logger.errors[0]


def test_refuses_an_unregistered_plugin(logger: ListLogger, builder: Any, net: Any) -> None:
    class Plugin(trt.IPluginV2DynamicExt):
        def __init__(self) -> None:
            trt.IPluginV2DynamicExt.__init__(self)
            self.plugin_type = "NoSuchPlugin"
            self.plugin_version = "1"
            self.plugin_namespace = ""
            self.num_outputs = 1

        def get_output_datatype(self, index: int, input_types: list[Any]) -> Any:
            return input_types[0]

        def get_output_dimensions(self, index: int, inputs: list[Any], expr_builder: Any) -> Any:
            return inputs[0]

    x = net.add_input("x", trt.float32, (2, 4))
    layer_ = net.add_plugin_v2([x], Plugin())
    assert layer_ is not None, logger.errors
    net.mark_output(layer_.get_output(0))
    config = builder.create_builder_config()
    _refused(logger, builder, net, config, "Cannot find plugin creator for NoSuchPlugin")


def test_registered_plugins_build(logger: ListLogger, builder: Any, net: Any) -> None:
    from tests.offline.plugins import register_test_plugins

    v2, v3 = register_test_plugins(trt)
    x = net.add_input("x", trt.float32, (1, 2, 4, 8))
    fields = trt.PluginFieldCollection(
        [
            trt.PluginField("num_heads", np.array([2], np.int32), trt.PluginFieldType.INT32),
            trt.PluginField("num_kv_heads", np.array([2], np.int32), trt.PluginFieldType.INT32),
            trt.PluginField("head_size", np.array([8], np.int32), trt.PluginFieldType.INT32),
        ]
    )
    attention = net.add_plugin_v2([x, x, x], v2.create_plugin("attn", fields))
    bias = trt.PluginFieldCollection(
        [trt.PluginField("bias", np.ones(8, np.float32), trt.PluginFieldType.FLOAT32)]
    )
    plugin_v3 = v3.create_plugin("bias", bias, trt.TensorRTPhase.BUILD)
    added = net.add_plugin_v3([attention.get_output(0)], [], plugin_v3)
    net.mark_output(added.get_output(0))
    config = builder.create_builder_config()
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, logger.errors
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    assert bytes(engine.serialize()) == bytes(plan)


# -- runtime refusals ------------------------------------------------------------------------------
def _deserialize_refused(logger: ListLogger, data: Any, text: str) -> None:
    assert trt.Runtime(logger).deserialize_cuda_engine(data) is None
    assert len(logger.errors) == 1, logger.errors
    assert text in logger.errors[0]


@pytest.mark.parametrize("data", [b"", b"garbage", b"\0" * 100, bytearray(b"x" * 64)])
def test_garbage_is_refused(logger: ListLogger, data: Any) -> None:
    _deserialize_refused(logger, data, "magicTag")


def test_truncated_plan_is_refused(logger: ListLogger) -> None:
    plan = plan_of(logger, 0, trt.BuilderFlag.REFIT)
    _deserialize_refused(logger, plan[:-1], "Truncated")


def test_corrupted_plan_is_refused(logger: ListLogger) -> None:
    plan = bytearray(plan_of(logger, 0, trt.BuilderFlag.REFIT))
    plan[len(plan) // 2] ^= 0x40
    _deserialize_refused(logger, bytes(plan), "corrupted")


def _rewrite(plan: bytes, **changes: Any) -> bytes:
    """The plan with top-level payload fields replaced (and a valid digest); ``network``
    given as bytes replaces the network record at the start of the data region."""
    import struct

    import blake3
    import cbor2

    from trt_netser.offline._plan import HEADER

    magic, version, reserved, length, size = struct.unpack_from("<8sHHQQ", plan)
    payload = cbor2.loads(plan[HEADER.size : HEADER.size + length])
    region = plan[HEADER.size + length : HEADER.size + length + size]
    if isinstance(changes.get("network"), bytes):
        region = changes["network"] + region[payload["network"] :]
        changes["network"] = len(changes["network"])
    payload.update(changes)
    body = cbor2.dumps(payload, canonical=True)
    head = struct.pack("<8sHHQQ", magic, version, reserved, len(body), len(region))
    return head + body + region + blake3.blake3(head + body + region).digest()


def test_plan_from_another_version_is_refused(logger: ListLogger) -> None:
    plan = _rewrite(plan_of(logger, 0), tensorrt="10.15.1.29")
    _deserialize_refused(
        logger,
        plan,
        "The engine plan file is not compatible with this version of TensorRT, expecting "
        "library version 10.16.1.11 got 10.15.1.29, please rebuild.",
    )


def test_plan_for_another_device_is_refused(logger: ListLogger) -> None:
    plan = _rewrite(plan_of(logger, 0), device={"name": "H100"})
    _deserialize_refused(logger, plan, "incompatible device")


def test_malformed_payload_is_refused(logger: ListLogger) -> None:
    plan = _rewrite(plan_of(logger, 0), network={"layers": 3})
    _deserialize_refused(logger, plan, "malformed")


def _dynamic_identity_plan(logger: ListLogger) -> bytes:
    """The plan of an identity over a dynamic ``x`` (profile (1,4)..(4,4)), for crafting."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (-1, 4))
    net.mark_output(net.add_identity(x).get_output(0))
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 4), (2, 4), (4, 4))
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    plan = bytes(builder.build_serialized_network(net, config))
    return plan


def test_a_crafted_profile_without_three_bounds_is_refused(logger: ListLogger) -> None:
    import cbor2

    from trt_netser.offline._plan import HEADER

    plan = _dynamic_identity_plan(logger)
    length = int.from_bytes(plan[12:20], "little")
    io = cbor2.loads(plan[HEADER.size : HEADER.size + length])["io"]
    assert len(io["profiles"][0]["shapes"]["x"]) == 3  # min, opt, max
    io["profiles"][0]["shapes"]["x"] = io["profiles"][0]["shapes"]["x"][:2]
    _deserialize_refused(logger, _rewrite(plan, io=io), "malformed")


def test_a_crafted_network_record_is_an_error_not_a_traceback(logger: ListLogger) -> None:
    import cbor2

    plan = _dynamic_identity_plan(logger)
    crafted = _rewrite(plan, network=cbor2.dumps({"layers": "nope"}))
    engine = trt.Runtime(logger).deserialize_cuda_engine(crafted)  # the IO header is intact
    assert engine is not None and not logger.errors
    context = engine.create_execution_context()
    assert context.set_input_shape("x", (2, 4))
    assert tuple(context.get_tensor_shape(engine.get_tensor_name(1))) == (-1, 4)
    assert "The engine plan is malformed" in logger.errors[-1]


def test_deserialize_accepts_bytes_host_memory_and_buffers(logger: ListLogger) -> None:
    builder, net, config = cnn(logger, 0)
    plan = builder.build_serialized_network(net, config)
    runtime = trt.Runtime(logger)
    for source in (plan, bytes(plan), bytearray(bytes(plan)), memoryview(bytes(plan))):
        engine = runtime.deserialize_cuda_engine(source)
        assert type(engine) is trt.ICudaEngine
    assert not logger.errors


# -- engine introspection ----------------------------------------------------------------------------
def test_shape_queries_of_a_name_that_is_no_io_tensor(logger: ListLogger) -> None:
    """TensorRT documents Dims{-1} (the invalid Dims) from getTensorShape/getTensorStrides of
    a name that is not an input or output, and -1 from getMaxOutputSize, each with an ERROR;
    an empty Dims would be a valid 0-D shape."""
    builder, net, config = cnn(logger, 0)
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, config)
    )
    context = engine.create_execution_context()
    before = len(logger.errors)
    assert is_invalid_dims(engine.get_tensor_shape("nope"))
    assert is_invalid_dims(context.get_tensor_shape("nope"))
    assert is_invalid_dims(context.get_tensor_strides("nope"))
    assert context.get_max_output_size("nope") == -1
    assert len(logger.errors) - before >= 4
    assert all("nope" in e for e in logger.errors[before:])
    assert tuple(context.get_tensor_strides("y")) == (144, 1)


def test_engine_io_introspection(logger: ListLogger) -> None:
    builder, net, config = cnn(logger, 0, trt.BuilderFlag.REFIT)
    net.name = "tiny cnn"
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, config)
    )
    assert engine.name == "tiny cnn"
    assert engine.num_io_tensors == 2
    assert [engine.get_tensor_name(i) for i in range(2)] == ["x", "y"]
    assert engine[1] == "y"
    assert engine.get_tensor_mode("x") == trt.TensorIOMode.INPUT
    assert engine.get_tensor_mode("y") == trt.TensorIOMode.OUTPUT
    assert engine.get_tensor_mode("nope") == trt.TensorIOMode.NONE
    assert tuple(engine.get_tensor_shape("x")) == (1, 3, 8, 8)
    assert tuple(engine.get_tensor_shape("y")) == (1, 144)
    assert engine.get_tensor_dtype("y") == trt.float32
    assert engine.get_tensor_location("x") == trt.TensorLocation.DEVICE
    assert engine.get_tensor_format("x") == trt.TensorFormat.LINEAR
    assert [tuple(d) for d in engine.get_tensor_profile_shape("x", 0)] == [(1, 3, 8, 8)] * 3
    assert engine.num_optimization_profiles == 1
    assert engine.num_layers == net.num_layers
    assert engine.refittable is True
    assert engine.engine_capability == trt.EngineCapability.STANDARD
    assert engine.hardware_compatibility_level == trt.HardwareCompatibilityLevel.NONE
    assert engine.streamable_weights_size == 0
    assert not logger.errors


def test_engine_without_refit_flag_is_not_refittable(logger: ListLogger) -> None:
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan_of(logger, 0))
    assert engine.refittable is False


@pytest.mark.parametrize("verbosity", ["LAYER_NAMES_ONLY", "DETAILED", "NONE"])
def test_engine_inspector(logger: ListLogger, verbosity: str) -> None:
    import json

    builder, net, config = cnn(logger, 0)
    config.profiling_verbosity = getattr(trt.ProfilingVerbosity, verbosity)
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, config)
    )
    inspector = engine.create_engine_inspector()
    info = inspector.get_engine_information(trt.LayerInformationFormat.JSON)
    one = inspector.get_layer_information(0, trt.LayerInformationFormat.ONELINE)
    if verbosity == "NONE":
        assert info == one == ""
        return
    parsed = json.loads(info)
    assert parsed["Bindings"] == ["x", "y"]
    names = [
        layer if verbosity == "LAYER_NAMES_ONLY" else layer["Name"] for layer in parsed["Layers"]
    ]
    assert names == [net.get_layer(i).name for i in range(net.num_layers)]
    if verbosity == "DETAILED":
        conv = parsed["Layers"][0]
        assert conv["LayerType"] == "CONVOLUTION"
        assert conv["Inputs"][0] == {
            "Name": "x",
            "Location": "Device",
            "Dimensions": [1, 3, 8, 8],
            "Format/Datatype": "Row major linear FP32 format",
        }
    else:
        assert one == "conv"
    assert inspector.get_layer_information(99, trt.LayerInformationFormat.JSON) == ""
    assert "layerIndex" in logger.errors[-1]


def test_default_network_names_do_not_reach_the_plan(logger: ListLogger) -> None:
    """TensorRT counts unnamed networks per process; plans must not carry that counter."""
    first = trt.Builder(logger).create_network(0)
    second = trt.Builder(logger).create_network(0)
    assert first.name != second.name
    assert plan_of(logger, 0) == plan_of(logger, 0)
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan_of(logger, 0))
    assert engine.name == "Unnamed Network 0"


def test_profiles_and_the_context_shape_api(logger: ListLogger, builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (-1, 4))
    net.mark_output(net.add_activation(x, trt.ActivationType.RELU).get_output(0))
    config = builder.create_builder_config()
    for lo, hi in ((1, 4), (5, 16)):
        profile = builder.create_optimization_profile()
        profile.set_shape("x", (lo, 4), (hi, 4), (hi, 4))
        config.add_optimization_profile(profile)
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, config)
    )
    assert engine.num_optimization_profiles == 2
    assert [tuple(d) for d in engine.get_tensor_profile_shape("x", 1)] == [(5, 4), (16, 4), (16, 4)]
    assert tuple(engine.get_tensor_shape("x")) == (-1, 4)
    context = engine.create_execution_context()
    assert context.engine is engine
    assert context.all_binding_shapes_specified is False
    assert context.infer_shapes() == ["x"]
    logger.messages.clear()
    assert context.set_input_shape("x", (3, 4)) is True
    assert tuple(context.get_tensor_shape("x")) == (3, 4)
    assert context.all_binding_shapes_specified is True
    assert context.infer_shapes() == []
    assert context.set_input_shape("x", (9, 4)) is False  # outside profile 0
    assert "does not satisfy any optimization profiles" in logger.errors[-1]
    assert context.set_optimization_profile_async(1, 0) is True
    assert context.active_optimization_profile == 1
    assert context.set_input_shape("x", (9, 4)) is True
    assert context.set_tensor_address("x", 1234) is True
    assert context.get_tensor_address("x") == 1234


def test_context_infers_output_shapes(logger: ListLogger, builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (-1, 3, 8, 8))
    kernel = trt.Weights(np.ones((4, 3, 3, 3), F32))
    conv = net.add_convolution_nd(x, 4, (3, 3), kernel, trt.Weights())
    conv.stride_nd = (2, 2)
    flat = net.add_shuffle(conv.get_output(0))
    flat.reshape_dims = (0, -1)
    flat.get_output(0).name = "y"
    net.mark_output(flat.get_output(0))
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 3, 8, 8), (2, 3, 8, 8), (8, 3, 8, 8))
    config = builder.create_builder_config()
    config.add_optimization_profile(profile)
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, config)
    )
    static = tuple(flat.get_output(0).shape)  # what the network model knows: -1 where dynamic
    assert -1 in static and tuple(engine.get_tensor_shape("y")) == static
    context = engine.create_execution_context()
    assert tuple(context.get_tensor_shape("y")) == static  # input shape not set yet
    assert context.set_input_shape("x", (5, 3, 8, 8))
    assert tuple(context.get_tensor_shape("y")) == (5, 36)
    assert tuple(context.get_tensor_strides("y")) == (36, 1)
    assert context.get_max_output_size("y") == 5 * 36 * 4
    assert context.set_input_shape("x", (2, 3, 8, 8))
    assert tuple(context.get_tensor_shape("y")) == (2, 36)
    assert not logger.errors


# -- refit -------------------------------------------------------------------------------------------
def _new_weights(seed: int) -> dict[str, np.ndarray]:
    """The weights ``cnn(seed)`` holds, as the refitter gets them."""
    rng = np.random.default_rng(seed)
    return {
        "kernel": rng.standard_normal((4, 3, 3, 3)).astype(F32),
        "bias": rng.standard_normal(4).astype(F32),
        "constant": rng.standard_normal((1, 4, 1, 1)).astype(F32),
    }


def _engine(logger: ListLogger, *flags: Any, **kw: Any) -> Any:
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan_of(logger, 0, *flags, **kw))
    assert engine is not None
    return engine


def _refit_all(refitter: Any, new: dict[str, np.ndarray], *, by_name: bool = True) -> None:
    if by_name:
        assert refitter.set_named_weights("conv.weight", trt.Weights(new["kernel"]))
    else:
        assert refitter.set_weights("conv", trt.WeightsRole.KERNEL, trt.Weights(new["kernel"]))
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, new["bias"])
    assert refitter.set_weights("bias", trt.WeightsRole.CONSTANT, trt.Weights(new["constant"]))


@pytest.mark.parametrize("flag", [trt.BuilderFlag.REFIT, trt.BuilderFlag.REFIT_IDENTICAL])
@pytest.mark.parametrize("by_name", [True, False])
def test_refit_gives_the_fresh_build_plan(logger: ListLogger, flag: Any, by_name: bool) -> None:
    engine = _engine(logger, flag)
    refitter = trt.Refitter(engine, logger)
    _refit_all(refitter, _new_weights(1), by_name=by_name)
    assert refitter.get_missing() == ([], [])
    assert refitter.refit_cuda_engine() is True
    assert bytes(engine.serialize()) == plan_of(logger, 1, flag)
    assert not logger.errors


def test_refitter_inventory(logger: ListLogger) -> None:
    refitter = trt.Refitter(_engine(logger, trt.BuilderFlag.REFIT), logger)
    layers, roles = refitter.get_all()
    assert sorted(zip(layers, [r.name for r in roles], strict=True)) == [
        ("bias", "CONSTANT"),
        ("conv", "BIAS"),
        ("conv", "KERNEL"),
    ]
    assert refitter.get_all_weights() == ["conv.weight"]
    proto = refitter.get_weights_prototype("conv.weight")
    assert (proto.dtype, proto.size) == (trt.float32, 4 * 3 * 3 * 3)
    assert refitter.get_weights_prototype("nope").size == -1
    assert refitter.get_missing() == ([], [])
    assert refitter.weights_validation is True
    assert refitter.max_threads == 1
    assert refitter.logger is logger


def test_kernel_and_bias_are_one_group(logger: ListLogger) -> None:
    refitter = trt.Refitter(_engine(logger, trt.BuilderFlag.REFIT, name_kernel=False), logger)
    assert refitter.set_weights("conv", trt.WeightsRole.KERNEL, _new_weights(1)["kernel"])
    assert refitter.get_missing() == (["conv"], [trt.WeightsRole.BIAS])
    assert refitter.get_missing_weights() == [""]  # unnamed
    assert refitter.refit_cuda_engine() is False
    assert "getMissingWeights() == 0" in logger.errors[-1]


def test_refit_individual_only_marked_weights(logger: ListLogger) -> None:
    flag = trt.BuilderFlag.REFIT_INDIVIDUAL
    engine = _engine(logger, flag, mark=("conv.weight",))
    refitter = trt.Refitter(engine, logger)
    assert refitter.get_all() == (["conv"], [trt.WeightsRole.KERNEL])
    new = _new_weights(1)
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, new["bias"]) is False
    assert "The weights cannot be refitted." in logger.errors[-1]
    logger.messages.clear()
    assert refitter.set_named_weights("conv.weight", new["kernel"])
    assert refitter.refit_cuda_engine() is True
    # A fresh build whose marked weights are the new ones and the rest the old ones.
    fresh = plan_of(logger, 0, flag, mark=("conv.weight",), kernel_seed=1)
    assert bytes(engine.serialize()) == fresh
    assert not logger.errors


def test_strip_plan_needs_every_weight_before_it_is_whole(logger: ListLogger) -> None:
    flags = (trt.BuilderFlag.REFIT, trt.BuilderFlag.STRIP_PLAN)
    stripped = plan_of(logger, 0, *flags)
    assert len(stripped) < len(plan_of(logger, 0, trt.BuilderFlag.REFIT))
    assert stripped == plan_of(logger, 1, *flags)  # no refittable values in the plan
    engine = trt.Runtime(logger).deserialize_cuda_engine(stripped)
    assert engine.get_engine_stat(trt.EngineStat.STRIPPED_WEIGHTS_SIZE) > 0
    refitter = trt.Refitter(engine, logger)
    layers, roles = refitter.get_missing()
    assert sorted(zip(layers, [r.name for r in roles], strict=True)) == [
        ("bias", "CONSTANT"),
        ("conv", "BIAS"),
        ("conv", "KERNEL"),
    ]
    assert refitter.refit_cuda_engine() is False
    logger.messages.clear()
    _refit_all(refitter, _new_weights(1))
    assert refitter.refit_cuda_engine() is True
    assert engine.get_engine_stat(trt.EngineStat.STRIPPED_WEIGHTS_SIZE) == 0
    assert bytes(engine.serialize()) == plan_of(logger, 1, *flags)
    # ... and whole again when serialized with the weights
    config = engine.create_serialization_config()
    assert config.get_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    config.clear_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    whole = engine.serialize_with_config(config)
    refit_whole = trt.Runtime(logger).deserialize_cuda_engine(whole)
    assert refit_whole.get_engine_stat(trt.EngineStat.STRIPPED_WEIGHTS_SIZE) == 0
    assert not logger.errors


def test_exclude_weights_and_include_refit(logger: ListLogger) -> None:
    engine = _engine(logger, trt.BuilderFlag.REFIT)
    config = engine.create_serialization_config()
    assert config.get_flag(trt.SerializationFlag.INCLUDE_REFIT)
    assert not config.get_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    assert config.set_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    light = bytes(engine.serialize_with_config(config))
    assert len(light) < len(bytes(engine.serialize()))
    back = trt.Runtime(logger).deserialize_cuda_engine(light)
    assert back.refittable
    assert len(trt.Refitter(back, logger).get_missing()[0]) == 3
    config.clear_flag(trt.SerializationFlag.INCLUDE_REFIT)
    still = trt.Runtime(logger).deserialize_cuda_engine(engine.serialize_with_config(config))
    assert still.refittable  # a plan without its weights stays refittable
    config.clear_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    frozen = trt.Runtime(logger).deserialize_cuda_engine(engine.serialize_with_config(config))
    assert frozen.refittable is False
    assert not logger.errors


def test_exclude_weights_needs_a_refittable_engine(logger: ListLogger) -> None:
    engine = _engine(logger)
    config = engine.create_serialization_config()
    config.set_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    assert engine.serialize_with_config(config) is None
    assert "kEXCLUDE_WEIGHTS requires" in logger.errors[-1]


# -- refit errors ---------------------------------------------------------------------------------
def test_refitter_for_a_non_refittable_engine(logger: ListLogger) -> None:
    refitter = trt.Refitter(_engine(logger), logger)
    assert "engine.isRefittable()" in logger.errors[-1]
    assert refitter.get_all() == ([], [])
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, _new_weights(1)["bias"]) is False
    assert refitter.refit_cuda_engine() is False


def test_unknown_layer_or_role(logger: ListLogger) -> None:
    refitter = trt.Refitter(_engine(logger, trt.BuilderFlag.REFIT), logger)
    bias = _new_weights(1)["bias"]
    assert refitter.set_weights("nope", trt.WeightsRole.BIAS, bias) is False
    assert refitter.set_weights("conv", trt.WeightsRole.SHIFT, bias) is False
    assert all(
        "network does not have (or does not use) this layer or no such role for this layer" in m
        for m in logger.errors
    )
    assert len(logger.errors) == 2
    assert refitter.set_named_weights("nope", bias) is False
    assert "no weights with this name" in logger.errors[-1]


def test_wrong_count_and_dtype(logger: ListLogger) -> None:
    refitter = trt.Refitter(_engine(logger, trt.BuilderFlag.REFIT), logger)
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, np.zeros(5, F32)) is False
    assert "weights.count == expectedCount" in logger.errors[-1]
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, np.zeros(4, np.float16)) is False
    assert "weights.type == expectedType" in logger.errors[-1]
    assert refitter.get_missing() == ([], [])  # nothing was set


def test_pinned_weights_cannot_be_refitted(logger: ListLogger, builder: Any, net: Any) -> None:
    x = net.add_input("x", trt.float32, (1, 2, 4, 4))
    ones = np.ones(2, F32)
    scale = net.add_scale(
        x, trt.ScaleMode.CHANNEL, trt.Weights(ones), trt.Weights(ones), trt.Weights(ones)
    )
    scale.name = "scale"
    shape = net.add_constant((2,), trt.Weights(np.array([2, 16], np.int32)))
    shape.name = "shape"
    shuffle = net.add_shuffle(scale.get_output(0))
    shuffle.set_input(1, shape.get_output(0))
    net.mark_output(shuffle.get_output(0))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, config)
    )
    refitter = trt.Refitter(engine, logger)
    assert sorted(r.name for r in refitter.get_all()[1]) == ["SCALE", "SHIFT"]
    assert (
        refitter.set_weights("shape", trt.WeightsRole.CONSTANT, np.array([4, 8], np.int32)) is False
    )
    assert (
        "Error Code 3: API Usage Error (shape WeightsRole.CONSTANT: The weights cannot be refitted."
        in (logger.errors[-1])
    )


def test_failed_validation_leaves_a_partial_refit(logger: ListLogger) -> None:
    engine = _engine(logger, trt.BuilderFlag.REFIT)
    before = bytes(engine.serialize())
    refitter = trt.Refitter(engine, logger)
    new = _new_weights(1)
    new["constant"][0, 0, 0, 0] = np.nan
    _refit_all(refitter, new)
    assert refitter.refit_cuda_engine() is False
    assert "weights validation failed" in logger.errors[-1]
    after = bytes(engine.serialize())
    assert after != before  # the kernel and bias were applied before the constant failed
    assert after != plan_of(logger, 1, trt.BuilderFlag.REFIT)
    refitter.weights_validation = False
    assert refitter.refit_cuda_engine() is True


def test_refitter_reads_weights_when_it_refits(logger: ListLogger) -> None:
    """TensorRT keeps the pointer: updating the buffer after set_* changes what is refit."""
    engine = _engine(logger, trt.BuilderFlag.REFIT)
    refitter = trt.Refitter(engine, logger)
    new = _new_weights(1)
    buffers = {k: np.zeros_like(v) for k, v in new.items()}
    _refit_all(refitter, buffers)
    for key, value in new.items():
        buffers[key][...] = value
    assert refitter.refit_cuda_engine() is True
    assert bytes(engine.serialize()) == plan_of(logger, 1, trt.BuilderFlag.REFIT)


def test_named_weights_accessors(logger: ListLogger) -> None:
    refitter = trt.Refitter(_engine(logger, trt.BuilderFlag.REFIT), logger)
    kernel = trt.Weights(_new_weights(1)["kernel"])
    assert refitter.get_named_weights("conv.weight").size == 0
    assert "have not been set" in logger.errors[-1]
    assert refitter.set_named_weights("conv.weight", kernel, trt.TensorLocation.HOST)
    assert refitter.get_named_weights("conv.weight") is kernel
    assert refitter.get_weights_location("conv.weight") == trt.TensorLocation.HOST
    assert refitter.unset_named_weights("conv.weight") is True
    assert refitter.unset_named_weights("conv.weight") is False


@pytest.mark.parametrize("layer_type", sorted(__import__("tests.hashing.zoo").hashing.zoo.ZOO))
def test_replayed_shapes_equal_the_network_model(layer_type: str) -> None:
    """The context's shape inference replays the network model's rules over the plan: for
    the zoo's static shapes it must give every tensor the shape the network gave it."""
    from tests.hashing.zoo import LOOP_INTERNAL, X_SHAPE, ZOO
    from trt_netser.offline._replay import _Replay

    logger = ListLogger()
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, X_SHAPE)
    layer = ZOO[layer_type](trt, net, x, 0)
    for i in range(layer.num_outputs if layer_type not in LOOP_INTERNAL else 0):
        if not layer.get_output(i).is_network_output:
            net.mark_output(layer.get_output(i))
    if net.num_outputs == 0:
        net.mark_output(net.add_identity(x).get_output(0))
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        builder.build_serialized_network(net, builder.create_builder_config())
    )
    ir = engine._plan.ir
    replay = _Replay(ir)
    replayed = replay.run({tid: ir.tensors[tid].shape for tid in ir.inputs})
    assert replayed == [t.shape for t in ir.tensors]
    assert replay.kept == []  # every layer's rule ran on the replayed state


@settings(max_examples=60, deadline=None)
@given(
    cut=st.integers(0, 10**6),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=3),
    tail=st.binary(max_size=8),
)
def test_damaged_plans_are_errors_never_tracebacks(
    cut: int, flips: list[tuple[int, int]], tail: bytes
) -> None:
    logger = ListLogger()
    plan = bytearray(plan_of(logger, 0, trt.BuilderFlag.REFIT))
    for pos, mask in flips:
        plan[pos % len(plan)] ^= mask
    damaged = bytes(plan[: len(plan) - cut % 40]) + tail
    if damaged == plan_of(logger, 0, trt.BuilderFlag.REFIT):
        return
    assert trt.Runtime(logger).deserialize_cuda_engine(damaged) is None
    assert len(logger.errors) == 1 and "IRuntime::deserializeCudaEngine" in logger.errors[0]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_refused(data: bytes) -> None:
    logger = ListLogger()
    assert trt.Runtime(logger).deserialize_cuda_engine(data) is None
    assert len(logger.errors) == 1


_PLAN_SCRIPT = """
import hashlib, sys
import numpy as np
import trt_netser.offline as trt
from tests.hashing.zoo import BUILDER_GROUP, ZOO, X_SHAPE

builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
one_per_builder = sorted({BUILDER_GROUP.get(n, n): n for n in sorted(ZOO)}.values())
for _ in range(int(sys.argv[1])):  # other networks first: the default-name counter moves
    builder.create_network(0)
net = builder.create_network(0)
x = net.add_input("x", trt.float32, X_SHAPE)
for i, name in enumerate(one_per_builder):
    layer = ZOO[name](trt, net, x, i)
    for k in range(layer.num_outputs):
        if not layer.get_output(k).is_network_output:
            net.mark_output(layer.get_output(k))
config = builder.create_builder_config()
config.set_flag(trt.BuilderFlag.REFIT)
plan = builder.build_serialized_network(net, config)
print(hashlib.sha256(bytes(plan)).hexdigest() if plan is not None else "refused")
"""


def test_plans_do_not_depend_on_hash_seed_or_process_history() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    digests = set()
    for seed, earlier in (("0", "0"), ("1", "3"), ("12345", "1")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", _PLAN_SCRIPT, earlier],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.add(proc.stdout.strip())
    assert len(digests) == 1 and "refused" not in digests, digests
