"""Execution through TensorRT's own API: IExecutionContext on offline engines.

Client code as written for TensorRT (allocate, copy, set addresses, enqueue, read back)
runs unchanged apart from allocation: offline "device" memory is host memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.exec_support import build, const, out
from trt_netser.offline._execute.table import KERNELS

RNG = np.random.default_rng(3)


def _mlp(builder: Any, batch: int = -1) -> tuple[Any, Any, np.ndarray]:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (batch, 4))
    w = RNG.standard_normal((4, 3)).astype(np.float32)
    mm = net.add_matrix_multiply(
        x, trt.MatrixOperation.NONE, const(net, w), trt.MatrixOperation.NONE
    )
    out(net, net.add_activation(mm.get_output(0), trt.ActivationType.RELU))
    config = builder.create_builder_config()
    if batch == -1:
        prof = builder.create_optimization_profile()
        prof.set_shape("x", (1, 4), (4, 4), (8, 4))
        config.add_optimization_profile(prof)
    return net, config, w


def test_dynamic_shape_output_shape_and_execute(builder: Any, logger: Any) -> None:
    net, config, w = _mlp(builder)
    engine = build(builder, net, config)
    ctx = engine.create_execution_context()
    assert tuple(ctx.get_tensor_shape("y")) == (-1, 3)
    assert ctx.set_input_shape("x", (5, 4))
    assert tuple(ctx.get_tensor_shape("y")) == (5, 3)
    xv = RNG.standard_normal((5, 4)).astype(np.float32)
    yv = np.empty((5, 3), np.float32)
    ctx.set_tensor_address("x", xv.ctypes.data)
    ctx.set_tensor_address("y", yv.ctypes.data)
    assert ctx.execute_async_v3(0)
    np.testing.assert_allclose(yv, np.maximum(xv @ w, 0), rtol=1e-6)
    assert not logger.errors


def test_shape_outside_the_profile_is_refused(builder: Any, logger: Any) -> None:
    net, config, _ = _mlp(builder)
    ctx = build(builder, net, config).create_execution_context()
    assert ctx.set_input_shape("x", (9, 4)) is False
    assert any("does not satisfy any optimization profiles" in m for m in logger.errors)
    assert not ctx.all_binding_shapes_specified
    yv = np.empty((9, 3), np.float32)
    xv = np.zeros((9, 4), np.float32)
    ctx.set_tensor_address("x", xv.ctypes.data)
    ctx.set_tensor_address("y", yv.ctypes.data)
    assert ctx.execute_async_v3(0) is False
    assert "allInputDimensionsSpecified" in logger.errors[-1]


def test_missing_address_is_the_tensorrt_error(builder: Any, logger: Any) -> None:
    net, config, _ = _mlp(builder, batch=2)
    ctx = build(builder, net, config).create_execution_context()
    xv = np.zeros((2, 4), np.float32)
    ctx.set_tensor_address("x", xv.ctypes.data)
    assert ctx.execute_async_v3(0) is False
    assert "Address is not set for output tensor y" in logger.errors[-1]


def test_execute_v2_takes_bindings_in_engine_order(builder: Any) -> None:
    net, config, w = _mlp(builder, batch=2)
    engine = build(builder, net, config)
    ctx = engine.create_execution_context()
    xv = RNG.standard_normal((2, 4)).astype(np.float32)
    yv = np.zeros((2, 3), np.float32)
    bufs = {"x": xv, "y": yv}
    bindings = [bufs[engine.get_tensor_name(i)].ctypes.data for i in range(engine.num_io_tensors)]
    assert ctx.execute_v2(bindings)
    np.testing.assert_allclose(yv, np.maximum(xv @ w, 0), rtol=1e-6)


def test_set_optimization_profile_async_selects_the_profile(builder: Any, logger: Any) -> None:
    net, config, _w = _mlp(builder)
    prof2 = builder.create_optimization_profile()
    prof2.set_shape("x", (16, 4), (16, 4), (32, 4))
    config.add_optimization_profile(prof2)
    engine = build(builder, net, config)
    assert engine.num_optimization_profiles == 2
    ctx = engine.create_execution_context()
    assert ctx.set_input_shape("x", (20, 4)) is False
    assert ctx.set_optimization_profile_async(1, 0)
    assert ctx.set_input_shape("x", (20, 4))
    res = infer_with(ctx, {"x": RNG.standard_normal((20, 4)).astype(np.float32)})
    assert res["y"].shape == (20, 3)


def infer_with(ctx: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    engine = ctx.engine
    outs = {}
    for name, arr in feeds.items():
        ctx.set_tensor_address(name, arr.ctypes.data)
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        if engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT:
            outs[name] = np.zeros(tuple(ctx.get_tensor_shape(name)), np.float32)
            ctx.set_tensor_address(name, outs[name].ctypes.data)
    assert ctx.execute_async_v3(0)
    return outs


def _conv_net(builder: Any, w: np.ndarray, b: np.ndarray) -> Any:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (1, 2, 4, 4))
    conv = net.add_convolution_nd(x, 3, (3, 3), trt.Weights(w), trt.Weights(b))
    conv.name = "conv"
    out(net, conv)
    return net


def test_stripped_engine_refuses_to_run_until_refit(builder: Any, logger: Any) -> None:
    w = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(3).astype(np.float32)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.STRIP_PLAN)
    config.set_flag(trt.BuilderFlag.REFIT)
    engine = build(builder, _conv_net(builder, w, b), config)
    ctx = engine.create_execution_context()
    xv = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
    yv = np.zeros((1, 3, 2, 2), np.float32)
    ctx.set_tensor_address("x", xv.ctypes.data)
    ctx.set_tensor_address("y", yv.ctypes.data)
    assert ctx.execute_async_v3(0) is False
    assert "must be refit before execution" in logger.errors[-1]
    with pytest.raises(Exception, match="refit"):
        trt.run(engine, {"x": xv})
    refitter = trt.Refitter(engine, logger)
    assert refitter.set_weights("conv", trt.WeightsRole.KERNEL, trt.Weights(w))
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, trt.Weights(b))
    assert refitter.refit_cuda_engine()
    assert ctx.execute_async_v3(0)
    fresh = build(builder, _conv_net(builder, w, b))
    assert yv.tobytes() == trt.run(fresh, {"x": xv})["y"].tobytes()


def test_refit_changes_what_the_engine_computes(builder: Any, logger: Any) -> None:
    w1 = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
    w2 = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = np.zeros(3, np.float32)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    engine = build(builder, _conv_net(builder, w1, b), config)
    xv = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
    before = trt.run(engine, {"x": xv})["y"]
    refitter = trt.Refitter(engine, logger)
    assert refitter.set_weights("conv", trt.WeightsRole.KERNEL, trt.Weights(w2))
    assert refitter.set_weights("conv", trt.WeightsRole.BIAS, trt.Weights(b))  # same group
    assert refitter.refit_cuda_engine()
    after = trt.run(engine, {"x": xv})["y"]
    fresh = trt.run(build(builder, _conv_net(builder, w2, b)), {"x": xv})["y"]
    assert not np.array_equal(before, after)
    assert after.tobytes() == fresh.tobytes()


def test_float64_reference_mode(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float16, (3,))
    y = net.add_elementwise(
        x, const(net, np.array([3.0, 3.0, 3.0], np.float16)), trt.ElementWiseOperation.DIV
    )
    out(net, y)
    engine = build(builder, net)
    xv = np.array([1.0, 2.0, 1e-3], np.float16)
    ref = trt.run(engine, {"x": xv}, reference=True)["y"]
    low = trt.run(engine, {"x": xv})["y"]
    assert ref.dtype == np.float64 and low.dtype == np.float16
    np.testing.assert_array_equal(ref, xv.astype(np.float64) / 3)
    assert low.tobytes() == (xv.astype(np.float32) / 3).astype(np.float16).tobytes()


def test_run_all_tensors_names_every_layer_output(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2,))
    a = net.add_unary(x, trt.UnaryOperation.NEG)
    a.get_output(0).name = "neg"
    out(net, net.add_unary(a.get_output(0), trt.UnaryOperation.EXP))
    res = trt.run(build(builder, net), {"x": np.array([0.0, 1.0], np.float32)}, all_tensors=True)
    assert set(res) == {"neg", "y"}
    np.testing.assert_allclose(res["neg"], [0.0, -1.0])


def test_run_rejects_bad_feeds(builder: Any) -> None:
    net, config, _ = _mlp(builder)
    engine = build(builder, net, config)
    with pytest.raises(ValueError, match="unknown inputs"):
        trt.run(engine, {"x": np.zeros((2, 4), np.float32), "z": np.zeros(1)})
    with pytest.raises(ValueError, match="not given"):
        trt.run(engine, {})
    with pytest.raises(ValueError, match="outside every optimization profile"):
        trt.run(engine, {"x": np.zeros((9, 4), np.float32)})


def test_layer_without_kernel_names_layer_and_type(
    builder: Any, logger: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every creatable layer type has a kernel now: take MOE's away to see the refusal
    monkeypatch.delitem(KERNELS, "MOE")
    net = builder.create_network(0)
    h = net.add_input("h", trt.float32, (4, 8))
    sel = net.add_input("sel", trt.int32, (4, 2))
    scores = net.add_input("scores", trt.float32, (4, 2))
    moe = net.add_moe(h, sel, scores)
    moe.name = "experts"
    out(net, moe)
    engine = build(builder, net)
    feeds = {
        "h": np.ones((4, 8), np.float32),
        "sel": np.zeros((4, 2), np.int32),
        "scores": np.ones((4, 2), np.float32),
    }
    message = "layer 'experts' (MOE): has no CPU implementation"
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        trt.run(engine, feeds)
    ctx = engine.create_execution_context()
    yv = np.zeros((4, 8), np.float32)
    for name, arr in (*feeds.items(), ("y", yv)):
        ctx.set_tensor_address(name, arr.ctypes.data)
    assert ctx.execute_async_v3(0) is False
    assert message in logger.errors[-1]


def test_collectives_run_on_one_rank_and_refuse_more(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    one = net.add_dist_collective(
        x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, None, None
    )
    out(net, one, "one")
    xv = RNG.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(trt.run(build(builder, net), {"x": xv})["one"], xv)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    two = net.add_dist_collective(
        x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, None, [0, 1]
    )
    two.name = "tp_allreduce"
    out(net, two)
    with pytest.raises(
        Exception, match=r"'tp_allreduce' \(DIST_COLLECTIVE\): the collective spans 2"
    ):
        trt.run(build(builder, net), {"x": xv})


def infer_ok(ctx: Any, feeds: dict[str, np.ndarray]) -> bool:
    for name, arr in feeds.items():
        ctx.set_tensor_address(name, arr.ctypes.data)
    engine = ctx.engine
    keep = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        if engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT:
            keep.append(np.zeros(tuple(ctx.get_tensor_shape(name)), np.float32))
            ctx.set_tensor_address(name, keep[-1].ctypes.data)
    return bool(ctx.execute_async_v3(0))


def test_if_conditional_runs_only_the_taken_branch(builder: Any) -> None:
    net = builder.create_network(0)
    c = net.add_input("c", trt.bool, ())
    x = net.add_input("x", trt.float32, (3,))
    cond = net.add_if_conditional()
    cond.set_condition(c)
    xin = cond.add_input(x).get_output(0)
    t = net.add_unary(xin, trt.UnaryOperation.NEG).get_output(0)
    # the false branch gathers out of bounds: it fails, but only matters if taken
    bad = net.add_gather(xin, const(net, np.array([5], np.int32)), 0).get_output(0)
    f = net.add_concatenation([bad, bad, bad]).get_output(0)
    o = cond.add_output(t, f)
    out(net, o)
    engine = build(builder, net)
    xv = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(trt.run(engine, {"c": np.array(True), "x": xv})["y"], -xv)
    dump = trt.run(engine, {"c": np.array(True), "x": xv}, all_tensors=True)
    np.testing.assert_array_equal(dump["y"], -xv)
    assert bad.name not in dump  # the untaken branch's failure is left out of the dump
    with pytest.raises(Exception, match=r"\(GATHER\): gather index out of range"):
        trt.run(engine, {"c": np.array(False), "x": xv})


def test_plugin_runs_with_a_registered_numpy_implementation(builder: Any, logger: Any) -> None:
    from tests.offline.plugins import register_test_plugins

    v2, _ = register_test_plugins(trt)
    fields = trt.PluginFieldCollection(
        [
            trt.PluginField(k, np.array([v], np.int32), trt.PluginFieldType.INT32)
            for k, v in (("num_heads", 2), ("num_kv_heads", 2), ("head_size", 4))
        ]
    )
    plugin = v2.create_plugin("gpt", fields)
    net = builder.create_network(0)
    q = net.add_input("q", trt.float32, (1, 2, 3, 4))
    out(net, net.add_plugin_v2([q, q, q], plugin))
    engine = build(builder, net)
    qv = RNG.standard_normal((1, 2, 3, 4)).astype(np.float32)
    with pytest.raises(Exception, match=r"\(PLUGIN_V2\): no numpy implementation is registered"):
        trt.run(engine, {"q": qv})
    seen = []

    def impl(node: Any, xs: list[Any]) -> list[Any]:
        seen.append(dict(node.attrs["plugin"].items)["type"])
        return [xs[0] + xs[1] + xs[2]]

    trt.register_plugin_implementation(v2, impl)
    try:
        np.testing.assert_array_equal(trt.run(engine, {"q": qv})["y"], qv * 3)
        assert seen == ["GPTAttentionTest"]
    finally:
        trt.register_plugin_implementation(v2, None)


def test_loop_running_sum_with_last_value_and_concatenate(builder: Any) -> None:
    from tests.offline.networks import build_loop

    net = build_loop(trt, steps=5, width=3)
    engine = trt.Runtime(trt.Logger()).deserialize_cuda_engine(
        net.builder.build_serialized_network(net, net.builder.create_builder_config())
    )
    xv = RNG.standard_normal((5, 3)).astype(np.float32)
    res = trt.run(engine, {"sequence": xv})
    np.testing.assert_allclose(res["total"], xv.sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(res["prefix_sums"], np.cumsum(xv, axis=0), rtol=1e-6)


def test_while_loop_and_reverse_iterator(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (4,))
    loop = net.add_loop()
    rec = loop.add_recurrence(const(net, np.array([1.0], np.float32)))
    doubled = net.add_elementwise(
        rec.get_output(0), const(net, np.array([2.0], np.float32)), trt.ElementWiseOperation.PROD
    ).get_output(0)
    rec.set_input(1, doubled)
    less = net.add_elementwise(
        rec.get_output(0), const(net, np.array([100.0], np.float32)), trt.ElementWiseOperation.LESS
    ).get_output(0)
    cond = net.add_shuffle(less)
    cond.reshape_dims = ()
    loop.add_trip_limit(cond.get_output(0), trt.TripLimit.WHILE)
    out(net, loop.add_loop_output(rec.get_output(0), trt.LoopOutput.LAST_VALUE, 0), "last")
    # a second loop: iterate x from the end, REVERSE-stack the elements
    loop2 = net.add_loop()
    loop2.add_trip_limit(const(net, np.array(4, np.int32)), trt.TripLimit.COUNT)
    it = loop2.add_iterator(x, 0, True)
    r2 = loop2.add_recurrence(const(net, np.array(0.0, np.float32)))
    r2.set_input(1, it.get_output(0))
    lo = loop2.add_loop_output(it.get_output(0), trt.LoopOutput.REVERSE, 0)
    lo.set_input(1, const(net, np.array(4, np.int32)))
    out(net, lo, "rev")
    res = trt.run(build(builder, net), {"x": np.array([1, 2, 3, 4], np.float32)})
    assert res["last"].tolist() == [64.0]  # 1, 2, ..., 64 < 100; 128 stops the loop
    assert res["rev"].tolist() == [1, 2, 3, 4]  # iterated 4,3,2,1 then reversed


def test_data_dependent_output_is_refused_not_written_past_its_buffer(
    builder: Any, logger: Any
) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (4,))
    out(net, net.add_non_zero(x))
    engine = build(builder, net)
    ctx = engine.create_execution_context()
    assert -1 in tuple(ctx.get_tensor_shape("y"))
    xv = np.array([0, 1, 0, 2], np.float32)
    guard = np.full(16, 7, np.int32)
    ctx.set_tensor_address("x", xv.ctypes.data)
    ctx.set_tensor_address("y", guard.ctypes.data)
    assert ctx.execute_async_v3(0) is False
    assert "IOutputAllocator" in logger.errors[-1]
    assert (guard == 7).all()
    assert trt.run(engine, {"x": xv})["y"].tolist() == [[1, 3]]


def test_shape_tensor_input_values_come_from_host_memory(builder: Any) -> None:
    net = builder.create_network(0)
    dims = net.add_input("dims", trt.int32, (2,))
    x = net.add_input("x", trt.float32, (2, 6))
    sh = net.add_shuffle(x)
    sh.set_input(1, dims)
    out(net, sh)
    config = builder.create_builder_config()
    prof = builder.create_optimization_profile()
    prof.set_shape_input("dims", (1, 1), (3, 4), (12, 12))
    config.add_optimization_profile(prof)
    engine = build(builder, net, config)
    ctx = engine.create_execution_context()
    dv = np.array([3, 4], np.int32)
    xv = np.arange(12, dtype=np.float32).reshape(2, 6)
    yv = np.zeros((3, 4), np.float32)
    for name, arr in (("dims", dv), ("x", xv), ("y", yv)):
        ctx.set_tensor_address(name, arr.ctypes.data)
    assert ctx.execute_async_v3(0)
    np.testing.assert_array_equal(yv, xv.reshape(3, 4))


def test_run_never_returns_the_callers_memory(builder: Any) -> None:
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (4,))
    out(net, net.add_slice(x, (1,), (2,), (1,)), "part")
    out(net, net.add_identity(x), "same")
    xv = np.arange(4, dtype=np.float32)
    res = trt.run(build(builder, net), {"x": xv})
    assert res["part"].tolist() == [1, 2] and res["same"].tolist() == [0, 1, 2, 3]
    assert not np.may_share_memory(res["part"], xv)
    assert not np.may_share_memory(res["same"], xv)


def test_nested_loops(builder: Any) -> None:
    """outer: 3 iterations of acc = inner(acc); inner: 2 doublings -> acc * 4 ** 3; the outer
    loop also stacks each iteration's result, and an outer iterator feeds the inner loop."""
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2,))
    rows = net.add_input("rows", trt.float32, (3, 2))
    outer = net.add_loop()
    outer.add_trip_limit(const(net, np.array(3, np.int32)), trt.TripLimit.COUNT)
    acc = outer.add_recurrence(x)
    row = outer.add_iterator(rows, 0, False).get_output(0)
    inner = net.add_loop()
    inner.add_trip_limit(const(net, np.array(2, np.int32)), trt.TripLimit.COUNT)
    r = inner.add_recurrence(acc.get_output(0))
    step = net.add_elementwise(r.get_output(0), r.get_output(0), trt.ElementWiseOperation.SUM)
    r.set_input(1, step.get_output(0))
    inner_out = inner.add_loop_output(step.get_output(0), trt.LoopOutput.LAST_VALUE, 0)
    plus = net.add_elementwise(inner_out.get_output(0), row, trt.ElementWiseOperation.SUM)
    acc.set_input(1, plus.get_output(0))
    out(net, outer.add_loop_output(plus.get_output(0), trt.LoopOutput.LAST_VALUE, 0), "last")
    stacked = outer.add_loop_output(plus.get_output(0), trt.LoopOutput.CONCATENATE, 0)
    stacked.set_input(1, const(net, np.array(3, np.int32)))
    out(net, stacked, "all")
    engine = build(builder, net)
    xv = np.array([1.0, -2.0], np.float32)
    rv = RNG.standard_normal((3, 2)).astype(np.float32)
    res = trt.run(engine, {"x": xv, "rows": rv})
    acc_v, seq = xv.astype(np.float64), []
    for i in range(3):
        acc_v = acc_v * 4 + rv[i]
        seq.append(acc_v)
    np.testing.assert_allclose(res["last"], acc_v, rtol=1e-6)
    np.testing.assert_allclose(res["all"], np.stack(seq), rtol=1e-6)


def test_v3_plugin_implementation_and_its_failures(builder: Any) -> None:
    from tests.offline.plugins import register_test_plugins

    _, v3 = register_test_plugins(trt)
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    fields = trt.PluginFieldCollection(
        [trt.PluginField("bias", np.array([2.0], np.float32), trt.PluginFieldType.FLOAT32)]
    )
    layer = net.add_plugin_v3([x], [], v3.create_plugin("bias", fields, trt.TensorRTPhase.BUILD))
    layer.name = "add_bias"
    out(net, layer)
    engine = build(builder, net)
    xv = RNG.standard_normal((2, 3)).astype(np.float32)

    def broken(node: Any, xs: list[Any]) -> list[Any]:
        raise KeyError("bias")

    try:
        trt.register_plugin_implementation(("AddBiasTestV3", "1", ""), lambda n, xs: [xs[0] + 2])
        np.testing.assert_array_equal(trt.run(engine, {"x": xv})["y"], xv + 2)
        trt.register_plugin_implementation(v3, broken)
        with pytest.raises(Exception, match=r"'add_bias' \(PLUGIN_V3\): the registered .*KeyError"):
            trt.run(engine, {"x": xv})
    finally:
        trt.register_plugin_implementation(v3, None)
