"""Data-dependent outputs through ``trt.IOutputAllocator``, as TensorRT samples run them.

Client code (TensorRT's samples, polygraphy, TensorRT-LLM) subclasses IOutputAllocator,
sets it with ``context.set_output_allocator(name, allocator)`` and calls
``execute_async_v3``: TensorRT asks ``reallocate_output_async`` (or the deprecated
``reallocate_output``) for memory, writes the output there and reports its shape with
``notify_shape``. Offline "device" memory is host memory: the allocators hand out numpy
buffers' addresses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt
from tests.offline.exec_support import build, const, out

STRONG = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


class NumpyAllocator(trt.IOutputAllocator):
    """Allocates a numpy byte buffer per output and records every call (polygraphy-like)."""

    def __init__(self) -> None:
        trt.IOutputAllocator.__init__(self)
        self.buffers: dict[str, np.ndarray] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.calls: list[tuple[Any, ...]] = []

    def reallocate_output_async(
        self, tensor_name: str, memory: int, size: int, alignment: int, stream: int
    ) -> int:
        self.calls.append(("async", tensor_name, memory, size, alignment, stream))
        buf = self.buffers.get(tensor_name)
        if buf is None or buf.nbytes < size:
            buf = self.buffers[tensor_name] = np.zeros(size, np.uint8)
        return int(buf.ctypes.data)

    def notify_shape(self, tensor_name: str, shape: Any) -> None:
        self.calls.append(("shape", tensor_name, tuple(shape)))
        self.shapes[tensor_name] = tuple(shape)

    def array(self, name: str, dtype: Any) -> np.ndarray:
        shape = self.shapes[name]
        n = int(np.prod(shape))
        return self.buffers[name][: n * np.dtype(dtype).itemsize].view(dtype).reshape(shape)


class LegacyAllocator(trt.IOutputAllocator):
    """Defines only the deprecated ``reallocate_output`` (TensorRT 8.5-9 style)."""

    def __init__(self) -> None:
        trt.IOutputAllocator.__init__(self)
        self.buffer = np.zeros(0, np.uint8)
        self.requests: list[tuple[str, int, int]] = []
        self.shape: tuple[int, ...] | None = None

    def reallocate_output(self, tensor_name: str, memory: int, size: int, alignment: int) -> int:
        self.requests.append((tensor_name, memory, size))
        self.buffer = np.zeros(size, np.uint8)
        return int(self.buffer.ctypes.data)

    def notify_shape(self, tensor_name: str, shape: Any) -> None:
        self.shape = tuple(shape)


def _non_zero_engine(builder: Any, flags: int) -> Any:
    net = builder.create_network(flags)
    x = net.add_input("x", trt.float32, (-1, 5))
    out(net, net.add_non_zero(x))
    config = builder.create_builder_config()
    prof = builder.create_optimization_profile()
    prof.set_shape("x", (1, 5), (3, 5), (8, 5))
    config.add_optimization_profile(prof)
    return build(builder, net, config)


@pytest.mark.parametrize("flags", [0, STRONG], ids=["weakly-typed", "strongly-typed"])
def test_non_zero_through_an_output_allocator(builder: Any, logger: Any, flags: int) -> None:
    engine = _non_zero_engine(builder, flags)
    ctx = engine.create_execution_context()
    xv = np.array([[0, 1, 0, 2, 0], [3, 0, 0, 0, 4], [0, 0, 0, 0, 0]], np.float32)
    assert ctx.set_input_shape("x", xv.shape)
    assert tuple(ctx.get_tensor_shape("y")) == (2, -1)  # known only after execution
    assert ctx.set_tensor_address("x", xv.ctypes.data)
    allocator = NumpyAllocator()
    assert ctx.set_output_allocator("y", allocator)
    assert ctx.get_output_allocator("y") is allocator
    assert ctx.execute_async_v3(7)
    assert not logger.errors
    dtype = trt.nptype(engine.get_tensor_dtype("y"))
    expected = np.stack(np.nonzero(xv))
    assert allocator.shapes == {"y": expected.shape}
    assert (allocator.array("y", dtype) == expected).all()
    kind, name, memory, size, alignment, stream = allocator.calls[0]
    assert (kind, name, memory, stream) == ("async", "y", 0, 7)
    # asked for the upper bound before the layer runs: 2 x (3 * 5) indices
    assert size == ctx.get_max_output_size("y") == 2 * 15 * np.dtype(dtype).itemsize
    assert alignment > 0
    assert [c[0] for c in allocator.calls] == ["async", "shape"]
    # a second run with other data reuses the allocator: it is asked again
    xv[2, 2] = 5.0
    assert ctx.execute_async_v3(7)
    assert allocator.shapes["y"] == (2, 5)
    assert (allocator.array("y", dtype) == np.stack(np.nonzero(xv))).all()


def test_nms_outputs_through_output_allocators(builder: Any, logger: Any) -> None:
    net = builder.create_network(0)
    boxes = net.add_input("boxes", trt.float32, (1, 4, 4))
    scores = net.add_input("scores", trt.float32, (1, 4, 1))
    nms = net.add_nms(boxes, scores, const(net, np.array(4, np.int32)), trt.int32)
    nms.set_input(3, const(net, np.array(0.5, np.float32)))
    out(net, nms, "selected", 0)
    out(net, nms, "count", 1)
    engine = build(builder, net)
    # boxes 0 and 1 overlap (IoU 0.81): the lower-scored 1 is suppressed
    bv = np.array([[[0, 0, 10, 10], [0, 0, 9, 9], [20, 20, 30, 30], [40, 40, 41, 41]]], np.float32)
    sv = np.array([[[0.9], [0.8], [0.7], [0.95]]], np.float32)
    ctx = engine.create_execution_context()
    count = np.zeros((), np.int32)
    ctx.set_tensor_address("boxes", bv.ctypes.data)
    ctx.set_tensor_address("scores", sv.ctypes.data)
    ctx.set_tensor_address("count", count.ctypes.data)  # a static output: an address
    allocator = NumpyAllocator()
    assert ctx.set_output_allocator("selected", allocator)
    assert ctx.execute_async_v3(0)
    assert not logger.errors
    assert allocator.shapes["selected"] == (3, 3)
    # the documented bound: batchSize * numClasses * min(numBoxes, constant limit 4) rows
    assert allocator.calls[0][3] == ctx.get_max_output_size("selected") == 4 * 3 * 4
    assert allocator.array("selected", np.int32).tolist() == [[0, 0, 3], [0, 0, 0], [0, 0, 2]]
    assert int(count) == 3


def test_an_allocator_on_a_static_output_is_asked_too(builder: Any, logger: Any) -> None:
    """Polygraphy sets one allocator on every output: static shapes go through it as well."""
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (2, 3))
    out(net, net.add_activation(x, trt.ActivationType.RELU))
    ctx = build(builder, net).create_execution_context()
    xv = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    ctx.set_tensor_address("x", xv.ctypes.data)
    allocator = NumpyAllocator()
    assert ctx.set_output_allocator("y", allocator)
    assert ctx.execute_async_v3(0)
    assert allocator.calls[0][3] == xv.nbytes
    assert (allocator.array("y", np.float32) == np.maximum(xv, 0)).all()


def test_without_an_allocator_a_data_dependent_output_fails(builder: Any, logger: Any) -> None:
    engine = _non_zero_engine(builder, STRONG)
    ctx = engine.create_execution_context()
    xv = np.ones((2, 5), np.float32)
    guard = np.full(64, 7, np.int32)
    ctx.set_input_shape("x", xv.shape)
    ctx.set_tensor_address("x", xv.ctypes.data)
    ctx.set_tensor_address("y", guard.ctypes.data)
    allocator = NumpyAllocator()
    ctx.set_output_allocator("y", allocator)
    assert ctx.set_output_allocator("y", None)  # unset again
    assert ctx.get_output_allocator("y") is None
    assert ctx.execute_async_v3(0) is False
    assert "IOutputAllocator" in logger.errors[-1] and "['y']" in logger.errors[-1]
    assert (guard == 7).all() and not allocator.calls
    # execute_v2 never calls allocators (execute_async_v3 does, says set_output_allocator)
    ctx.set_output_allocator("y", allocator)
    assert ctx.execute_v2([xv.ctypes.data, guard.ctypes.data]) is False
    assert (guard == 7).all() and not allocator.calls


def test_the_deprecated_reallocate_output_is_the_fallback(builder: Any, logger: Any) -> None:
    engine = _non_zero_engine(builder, 0)
    ctx = engine.create_execution_context()
    xv = np.array([[0, 0, 1, 0, 0]], np.float32)
    ctx.set_input_shape("x", xv.shape)
    ctx.set_tensor_address("x", xv.ctypes.data)
    preset = np.zeros(4, np.int64)
    ctx.set_tensor_address("y", preset.ctypes.data)  # passed as ``memory``
    allocator = LegacyAllocator()
    ctx.set_output_allocator("y", allocator)
    assert ctx.execute_async_v3(0)
    assert not logger.errors
    assert allocator.requests[0][:2] == ("y", preset.ctypes.data)
    assert allocator.shape == (2, 1)
    dtype = trt.nptype(engine.get_tensor_dtype("y"))
    assert allocator.requests[0][2] == ctx.get_max_output_size("y") == 2 * 5 * dtype().itemsize
    assert allocator.buffer.view(dtype)[:2].tolist() == [0, 2]


class RefusingAllocator(NumpyAllocator):
    """Strategy C of TensorRT's guide: preallocated memory, nullptr when it does not fit."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.memory = np.zeros(capacity, np.uint8)

    def reallocate_output_async(
        self, tensor_name: str, memory: int, size: int, alignment: int, stream: int
    ) -> int:
        self.calls.append(("async", tensor_name, memory, size, alignment, stream))
        return int(self.memory.ctypes.data) if size <= self.capacity else 0


def test_an_allocator_returning_nullptr_fails_the_execution(builder: Any, logger: Any) -> None:
    engine = _non_zero_engine(builder, STRONG)
    ctx = engine.create_execution_context()
    xv = np.zeros((4, 5), np.float32)
    xv[0, 1] = 1  # one non-zero, but the bound is what is asked for: 2 * 20 * 4 bytes
    ctx.set_input_shape("x", xv.shape)
    ctx.set_tensor_address("x", xv.ctypes.data)
    assert engine.get_tensor_dtype("y") == trt.int32
    allocator = RefusingAllocator(64)
    ctx.set_output_allocator("y", allocator)
    assert ctx.execute_async_v3(0) is False
    assert "y" in logger.errors[-1] and "nullptr" in logger.errors[-1]
    assert "shape" not in [c[0] for c in allocator.calls]  # no shape for a failed output
    assert allocator.calls[-1][3] == 160 and (allocator.memory == 0).all()
    small = np.ascontiguousarray(xv[:1])  # bound 2 * 5 * 4 bytes: fits
    ctx.set_input_shape("x", small.shape)
    ctx.set_tensor_address("x", small.ctypes.data)
    assert ctx.execute_async_v3(0)
    assert allocator.calls[-2][3] == 40 and allocator.shapes["y"] == (2, 1)
    assert allocator.memory[:8].view(np.int32).tolist() == [0, 1]


def test_trampoline_failures_print_and_give_nullptr(
    builder: Any, logger: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the bindings' PyOutputAllocator does with a bad callback (its own messages, as
    test_output_allocator_real observes them), through execute_async_v3."""

    class NoMethods(trt.IOutputAllocator):
        def __init__(self) -> None:
            trt.IOutputAllocator.__init__(self)

    class NotAnAddress(NoMethods):
        def reallocate_output_async(self, *args: Any) -> Any:
            return "0x1234"

    class Raises(NoMethods):
        def reallocate_output_async(self, *args: Any) -> Any:
            raise MemoryError("out of host memory")

    engine = _non_zero_engine(builder, 0)
    xv = np.ones((1, 5), np.float32)
    for cls, printed in (
        (NoMethods, "Method: reallocate_output was not overriden."),
        (NotAnAddress, "Return value of reallocateOutputAsync() could not be interpreted"),
        (Raises, "Exception caught in reallocateOutputAsync(): MemoryError: out of host memory"),
    ):
        ctx = engine.create_execution_context()
        ctx.set_input_shape("x", xv.shape)
        ctx.set_tensor_address("x", xv.ctypes.data)
        ctx.set_output_allocator("y", cls())
        assert ctx.execute_async_v3(0) is False, cls.__name__
        assert "nullptr" in logger.errors[-1]
        assert printed in capsys.readouterr().err


def test_a_missing_notify_shape_is_printed_and_the_output_written(
    builder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    class NoNotify(trt.IOutputAllocator):
        def __init__(self) -> None:
            trt.IOutputAllocator.__init__(self)
            self.buffer = np.zeros(64, np.uint8)

        def reallocate_output_async(self, *args: Any) -> int:
            return int(self.buffer.ctypes.data)

    engine = _non_zero_engine(builder, 0)
    ctx = engine.create_execution_context()
    xv = np.array([[0, 0, 0, 3, 0]], np.float32)
    ctx.set_input_shape("x", xv.shape)
    ctx.set_tensor_address("x", xv.ctypes.data)
    allocator = NoNotify()
    ctx.set_output_allocator("y", allocator)
    assert ctx.execute_async_v3(0)  # notifyShape is noexcept: the trampoline prints
    assert 'pure virtual function "IOutputAllocator::notify_shape"' in capsys.readouterr().err
    assert allocator.buffer[:8].view(np.int32).tolist() == [0, 3]


def test_set_output_allocator_refusals(builder: Any, logger: Any) -> None:
    engine = _non_zero_engine(builder, 0)
    ctx = engine.create_execution_context()
    assert ctx.set_output_allocator("x", NumpyAllocator()) is False  # an input
    assert ctx.set_output_allocator("nope", NumpyAllocator()) is False
    assert len(logger.errors) == 2 and "nope" in logger.errors[-1]
    assert ctx.get_output_allocator("x") is None and ctx.get_output_allocator("nope") is None
    with pytest.raises(TypeError):
        ctx.set_output_allocator("y", object())

    class Uninitialized(trt.IOutputAllocator):
        def __init__(self) -> None:  # skips IOutputAllocator.__init__: pybind11 refuses
            pass

    with pytest.raises(TypeError, match="__init__"):
        Uninitialized()


def test_max_output_size_of_data_dependent_outputs_is_their_bound(builder: Any) -> None:
    engine = _non_zero_engine(builder, STRONG)
    ctx = engine.create_execution_context()
    assert ctx.get_max_output_size("y") == -1  # input shapes not yet set
    assert ctx.set_input_shape("x", (6, 5))
    assert tuple(ctx.get_tensor_shape("y")) == (2, -1)
    assert ctx.get_max_output_size("y") == 2 * 30 * 4
    assert ctx.get_max_output_size("x") == -1  # not an output

    net = builder.create_network(0)
    boxes = net.add_input("boxes", trt.float32, (2, 10, 4))
    scores = net.add_input("scores", trt.float32, (2, 10, 3))
    limit = net.add_input("limit", trt.int32, ())  # not a constant: every box counts
    nms = net.add_nms(boxes, scores, limit)
    out(net, nms, "selected", 0)
    config = builder.create_builder_config()
    prof = builder.create_optimization_profile()
    prof.set_shape_input("limit", [1], [4], [8])  # a shape tensor input (host memory)
    config.add_optimization_profile(prof)
    ctx = build(builder, net, config).create_execution_context()
    itemsize = np.dtype(trt.nptype(nms.indices_type)).itemsize
    assert ctx.get_max_output_size("selected") == 2 * 3 * 10 * 3 * itemsize
