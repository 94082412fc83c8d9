"""Execution through TensorRT's own API: what the offline IExecutionContext delegates to.

``execute_async_v3`` reads every input from the address set for it (host memory offline:
see :mod:`.memory`), runs the engine's IR and writes every output to its address, in C
order; an output with an output allocator is written where the allocator says (see
:mod:`.allocators`). Refusals are TensorRT's: logged at ERROR through the engine's logger,
``False`` returned (input shapes not all set, an address missing, a data-dependent output
without an allocator, an allocator giving no memory, a stripped engine not yet refit).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from trt_netser.offline._execute import allocators as allocators_mod
from trt_netser.offline._execute import plugins, profiling
from trt_netser.offline._execute._dtypes import storage
from trt_netser.offline._execute._node import ExecutionError
from trt_netser.offline._execute.graph import Program, all_tensor_ids
from trt_netser.offline._execute.memory import view
from trt_netser.offline._execute.shapes import runtime_shapes
from trt_netser.offline._types import Dims

_CACHE_LOCK = threading.Lock()
# engine -> (key, Program): the last program prepared for each engine
_PROGRAMS: weakref.WeakKeyDictionary[Any, tuple[Any, Program]] = weakref.WeakKeyDictionary()
# engine -> (key, shapes): the runtime shapes of the last input shapes seen
_SHAPES: weakref.WeakKeyDictionary[Any, tuple[Any, dict[int, tuple[int, ...]]]] = (
    weakref.WeakKeyDictionary()
)
# engine -> (key, shapes): the same with data-dependent dimensions at their upper bounds
_BOUNDS: weakref.WeakKeyDictionary[Any, tuple[Any, dict[int, tuple[int, ...]]]] = (
    weakref.WeakKeyDictionary()
)


def _plan_of(engine: Any) -> Any:
    return engine._plan


def missing_weights(ir: Any) -> list[str]:
    """Names (or layer/attribute) of weights the engine lacks (a stripped plan not refit)."""
    out = []
    for w in ir.weights:
        if w.data is None and w.count:
            out.append(w.name or f"{ir.layers[w.layer].name}.{w.attr}")
    return out


def program(engine: Any, wanted: list[int], reference: bool) -> Program:
    """The engine's Program for ``wanted``, cached on the engine until its weights change."""
    ir = _plan_of(engine).ir
    key = (tuple(wanted), reference, tuple(id(w.data) for w in ir.weights), id(ir))
    with _CACHE_LOCK:
        cached = _PROGRAMS.get(engine)
        if cached is not None and cached[0] == key:
            return cached[1]
    prog = Program(ir, wanted, reference=reference, plugins=plugins.lookup)
    with _CACHE_LOCK:
        _PROGRAMS[engine] = (key, prog)
    return prog


def _io(ir: Any) -> tuple[list[int], list[int]]:
    return list(ir.inputs), [*ir.outputs, *ir.shape_outputs]


def execute(ctx: Any, api: str, stream: int = 0) -> bool:
    """Run the context's engine on the buffers at the context's tensor addresses."""
    engine = ctx._engine
    ir = _plan_of(engine).ir

    def fail(msg: str) -> bool:
        ctx._error(f"IExecutionContext::{api}: Error Code 3: API Usage Error ({msg})")
        return False

    lacking = missing_weights(ir)
    if lacking:
        return fail(
            "Parameter check failed, condition: the engine holds all its weights. The engine "
            f"was built with kSTRIP_PLAN and must be refit before execution; missing weights: "
            f"{lacking[:8]}{' ...' if len(lacking) > 8 else ''}."
        )
    if not ctx.all_binding_shapes_specified:
        missing = [
            ir.tensors[t].name
            for t in ir.inputs
            if -1 in ir.tensors[t].shape and ir.tensors[t].name not in ctx._shapes
        ]
        return fail(
            f"Parameter check failed, condition: allInputDimensionsSpecified(routine). "
            f"Input shapes not set: {missing}."
        )
    inputs, outputs = _io(ir)
    # output allocators are called by execute_async_v3 only (its docstring; not execute_v2)
    allocators = ctx._p.get("output_allocators", {}) if api == "enqueueV3" else {}
    for tid in (*inputs, *outputs):
        name = ir.tensors[tid].name
        if tid in outputs and allocators.get(name) is not None:
            continue
        if not ctx._addresses.get(name):
            kind = "input" if tid in inputs else "output"
            return fail(
                f"Parameter check failed, condition: mContext.profileObliviousBindings.at(index) "
                f"|| getPtrOrNull(mOutputAllocators, index). Address is not set for {kind} "
                f"tensor {name}. Call setInputTensorAddress or setTensorAddress before "
                f"enqueue/execute."
            )
    shapes_in = {
        ir.tensors[t].name: tuple(ctx._shapes.get(ir.tensors[t].name, ir.tensors[t].shape))
        for t in inputs
    }
    feeds: dict[int, np.ndarray] = {}
    for tid in inputs:
        t = ir.tensors[tid]
        feeds[tid] = view(ctx._addresses[t.name], shapes_in[t.name], storage(t.dtype))
    expected = _expected_shapes(engine, ir, shapes_in, _shape_values(ir, feeds))
    unknown = [
        ir.tensors[t].name
        for t in outputs
        if -1 in expected.get(t, (-1,)) and allocators.get(ir.tensors[t].name) is None
    ]
    if unknown:
        # the buffer at the address has a size only the caller knows: never write past it
        return fail(
            f"Parameter check failed, condition: the shapes of outputs {unknown} are known "
            "before execution. They depend on data: set an IOutputAllocator for them with "
            "set_output_allocator."
        )
    timings: list[tuple[int, float]] | None = [] if ctx._p.get("profiler") is not None else None
    try:
        values = program(engine, outputs, False).run(feeds, timings=timings)
    except ExecutionError as exc:
        ctx._error(f"IExecutionContext::{api}: Error Code 7: Internal Error ({exc})")
        return False
    for tid in outputs:
        t = ir.tensors[tid]
        arr = values[tid]
        want = expected[tid]
        if len(want) != arr.ndim or any(
            w not in (-1, a) for w, a in zip(want, arr.shape, strict=True)
        ):
            ctx._error(
                f"IExecutionContext::{api}: Error Code 2: Internal Error (output {t.name}: "
                f"computed shape {arr.shape} differs from the inferred {tuple(want)})"
            )
            return False
        dtype = storage(t.dtype)
        allocator = allocators.get(t.name)
        address = ctx._addresses.get(t.name, 0)
        if allocator is not None:
            # TensorRT allocates a data-dependent output for its upper bound before the
            # layer runs; "size: number of bytes required. Always positive, even for an
            # empty tensor." (NvInferRuntime.h)
            shape = arr.shape
            if -1 in want:
                bound = _bound_shapes(engine, ir, shapes_in, _shape_values(ir, feeds))[tid]
                if -1 not in bound and math.prod(bound) >= arr.size:
                    shape = bound
            size = max(1, math.prod(shape) * np.dtype(dtype).itemsize)
            address = allocators_mod.reallocate(allocator, t.name, address, size, stream)
            if not address:
                ctx._error(
                    f"IExecutionContext::{api}: Error Code 2: OutOfMemory (the output allocator "
                    f"of tensor {t.name} returned nullptr from reallocateOutputAsync for "
                    f"{size} bytes)"
                )
                return False
        np.copyto(view(address, arr.shape, dtype), arr.astype(dtype, copy=False))
        if allocator is not None:
            allocators_mod.notify_shape(allocator, t.name, Dims._from(arr.shape))
    profiling.after_execute(ctx, timings)
    return True


def _expected_shapes(
    engine: Any,
    ir: Any,
    shapes_in: dict[str, tuple[int, ...]],
    values: dict[str, tuple[int, ...]],
) -> dict[int, tuple[int, ...]]:
    """Runtime shapes for these input shapes and shape-input values, cached per engine
    (inference walks every layer; shapes depend on no refittable weight)."""
    key = (id(ir), tuple(sorted(shapes_in.items())), tuple(sorted(values.items())))
    with _CACHE_LOCK:
        cached = _SHAPES.get(engine)
        if cached is not None and cached[0] == key:
            return cached[1]
    shapes = runtime_shapes(ir, shapes_in, values)
    with _CACHE_LOCK:
        _SHAPES[engine] = (key, shapes)
    return shapes


def _bound_shapes(
    engine: Any,
    ir: Any,
    shapes_in: dict[str, tuple[int, ...]],
    values: dict[str, tuple[int, ...]],
) -> dict[int, tuple[int, ...]]:
    """Runtime shapes with data-dependent dimensions at their upper bounds, cached per
    engine as :func:`_expected_shapes` caches the plain ones."""
    key = (id(ir), tuple(sorted(shapes_in.items())), tuple(sorted(values.items())))
    with _CACHE_LOCK:
        cached = _BOUNDS.get(engine)
        if cached is not None and cached[0] == key:
            return cached[1]
    shapes = runtime_shapes(ir, shapes_in, values, bounds=True)
    with _CACHE_LOCK:
        _BOUNDS[engine] = (key, shapes)
    return shapes


def _shape_values(ir: Any, feeds: Mapping[int, np.ndarray]) -> dict[str, tuple[int, ...]]:
    return {
        ir.tensors[t].name: tuple(int(v) for v in np.asarray(feeds[t]).reshape(-1))
        for t in ir.inputs
        if ir.tensors[t].is_shape and t in feeds
    }


def execute_v2(ctx: Any, bindings: list[int]) -> bool:
    """``execute_v2``: bindings are the addresses of the IO tensors in engine order."""
    engine = ctx._engine
    n = engine.num_io_tensors
    if len(bindings) < n:
        ctx._error(
            "IExecutionContext::executeV2: Error Code 3: API Usage Error (Parameter check "
            f"failed, condition: bindings has one address per IO tensor ({n}).)"
        )
        return False
    for i in range(n):
        ctx._addresses[engine.get_tensor_name(i)] = int(bindings[i])
    return execute(ctx, "executeV2")


def run(
    engine: Any,
    feeds: Mapping[str, Any],
    *,
    reference: bool = False,
    all_tensors: bool = False,
) -> dict[str, np.ndarray]:
    """Run an offline engine on named numpy inputs; the outputs (or every tensor) by name.

    Offline-only convenience (the real bindings have no such function). Raises
    ValueError for unknown, missing or ill-shaped inputs and ExecutionError when a layer
    fails or the engine is stripped and not refit.
    """
    ir = _plan_of(engine).ir
    lacking = missing_weights(ir)
    if lacking:
        raise ExecutionError(
            f"the engine was built without its weights (STRIP_PLAN/EXCLUDE_WEIGHTS): refit "
            f"{lacking[:8]} before running it"
        )
    by_name = {ir.tensors[t].name: t for t in ir.inputs}
    unknown = sorted(set(feeds) - set(by_name))
    if unknown:
        raise ValueError(f"unknown inputs {unknown}; the engine's inputs are {sorted(by_name)}")
    arrays: dict[int, np.ndarray] = {}
    for name, tid in by_name.items():
        if name not in feeds:
            raise ValueError(f"input '{name}' is not given")
        t = ir.tensors[tid]
        arr = np.require(np.asarray(feeds[name]), requirements="C")
        if arr.ndim != len(t.shape) or any(
            d not in (-1, s) for d, s in zip(t.shape, arr.shape, strict=False)
        ):
            raise ValueError(
                f"input '{name}' has shape {arr.shape}, the engine's is {tuple(t.shape)}"
            )
        _check_profile(ir, name, arr.shape)
        arrays[tid] = arr
    _, outputs = _io(ir)
    wanted = sorted(set(outputs) | set(all_tensor_ids(ir))) if all_tensors else outputs
    # every-layer dumps leave out tensors of a failed branch that the outputs do not need
    optional = set(wanted) - set(outputs)
    values = program(engine, wanted, reference).run(arrays, optional=optional)
    result = {}
    for t in wanted:
        if t in values:
            v = values[t]
            # kernels may return views (slices, reshapes): never hand back the caller's memory
            if any(np.may_share_memory(v, a) for a in arrays.values()):
                v = v.copy()
            result[ir.tensors[t].name] = v
    return result


def _check_profile(ir: Any, name: str, shape: tuple[int, ...]) -> None:
    if not ir.profiles:
        return
    bounds = [p.shapes[name] for p in ir.profiles if name in p.shapes]
    if bounds and not any(
        all(lo <= s <= hi for lo, s, hi in zip(b[0], shape, b[2], strict=False)) for b in bounds
    ):
        raise ValueError(f"input '{name}' shape {shape} is outside every optimization profile")
