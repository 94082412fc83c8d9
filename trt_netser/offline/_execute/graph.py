"""The executor: runs an engine's layer-graph IR on numpy arrays.

A :class:`Program` is prepared once per IR (and weight set): the layers the requested
tensors depend on, in dependency order (network layer order need not be topological), each
as a :class:`Node` whose weights are zero-copy numpy views of the plan's bytes. Running it
feeds the inputs, calls one kernel per layer and returns the requested tensors.

A kernel failure does not stop the run at once: the layer's outputs become a failure that
propagates to whatever consumes them, so a failing branch of an if-conditional that is not
taken costs nothing (as TensorRT only runs the taken branch), and the error is raised,
naming the first failing layer and its type, only if a requested tensor depends on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from trt_netser.offline._enums import DataType
from trt_netser.offline._execute._dtypes import Numerics, storage
from trt_netser.offline._execute._node import ExecutionError, KernelError, Node
from trt_netser.offline._execute.loops import LoopPlan, loop_plans, run_loop
from trt_netser.offline._execute.table import KERNELS, STRUCTURAL

Array = np.ndarray

PACKED = frozenset({int(DataType.INT4), int(DataType.FP4)})

PluginImpl = Callable[[Node, list[Array | None]], list[Array]]


@dataclass(frozen=True)
class Failure:
    """The value of a tensor whose producing layer (or an input of it) failed."""

    error: ExecutionError


def layer_error(layer: Any, message: str) -> ExecutionError:
    """An error naming the layer and its type."""
    return ExecutionError(f"layer '{layer.name}' ({layer.type.name}): {message}")


def _weights_array(w: Any, layer: Any) -> Array:
    if w.data is None:
        raise layer_error(
            layer, f"weights '{w.attr}' are not in the engine (stripped plan): refit it first"
        )
    dt = storage(w.dtype)
    if int(w.dtype) in PACKED:
        # two 4-bit values per byte, the first in the low nibble (TensorRT's INT4/FP4 layout)
        raw = np.frombuffer(w.data, dtype=np.uint8, count=(w.count + 1) // 2)
        nibbles = np.empty(raw.size * 2, np.uint8)
        nibbles[0::2], nibbles[1::2] = raw & 0xF, raw >> 4
        return nibbles[: w.count].view(dt)  # ml_dtypes' 4-bit types hold the code in a byte
    if w.count and len(w.data) < w.count * dt.itemsize:
        raise layer_error(layer, f"weights '{w.attr}' hold fewer bytes than {w.count} values")
    return np.frombuffer(w.data, dtype=dt, count=w.count)


class Program:
    """An IR prepared for execution of the tensors in ``wanted`` (tensor ids)."""

    def __init__(
        self,
        ir: Any,
        wanted: list[int],
        *,
        reference: bool = False,
        plugins: Callable[[Any], PluginImpl | None] | None = None,
    ) -> None:
        self.ir = ir
        self.num = Numerics(reference)
        self.wanted = list(wanted)
        self._plugins = plugins
        self.loops: dict[int, LoopPlan] = loop_plans(ir)
        # every layer inside a top-level loop (nested loops included) -> that loop
        self.in_loop: dict[int, LoopPlan] = {
            li: plan for plan in self.loops.values() if plan.parent is None for li in plan.internal
        }
        self.order = self._schedule()
        needed = list(self.order)
        scheduled_loops = {self.in_loop[li].construct for li in self.order if li in self.in_loop}
        for c in sorted(scheduled_loops):
            needed += self.loops[c].body
        self.nodes = {li: self._node(ir.layers[li]) for li in needed}
        self.release = self._liveness()

    # -- preparation -------------------------------------------------------------------------
    def _deps(self, layer: Any) -> list[int | None]:
        ir = self.ir
        deps = list(layer.inputs)
        if layer.construct is not None:
            c = ir.constructs[layer.construct]
            if (
                layer.type.name == "LOOP_OUTPUT"
                and c.index in self.loops
                and self.loops[c.index].parent is None
            ):
                return list(self.loops[c.index].external)
            if layer.type.name == "ATTENTION_OUTPUT":
                deps = list(c.inputs)
            elif layer.type.name == "CONDITIONAL_OUTPUT":
                for li in c.layers:
                    if ir.layers[li].type.name == "CONDITION":
                        deps.extend(ir.layers[li].inputs)
        return deps

    def _schedule(self) -> list[int]:
        """Layers the wanted tensors need, producers before consumers (depth-first)."""
        ir = self.ir
        order: list[int] = []
        state: dict[int, int] = {}  # 1: on the stack, 2: done
        for tid in self.wanted:
            root = ir.tensors[tid].producer
            if root is None or state.get(root) == 2:
                continue
            if root in self.in_loop and ir.layers[root].type.name != "LOOP_OUTPUT":
                raise layer_error(
                    ir.layers[root], "is inside a loop: only loop outputs can be read"
                )
            stack: list[tuple[int, int]] = [(root, 0)]
            state[root] = 1
            while stack:
                li, i = stack.pop()
                deps = self._deps(ir.layers[li])
                while i < len(deps):
                    d = deps[i]
                    i += 1
                    p = None if d is None else ir.tensors[d].producer
                    if p is None or state.get(p) == 2:
                        continue
                    if p in self.in_loop and ir.layers[p].type.name != "LOOP_OUTPUT":
                        raise layer_error(
                            ir.layers[p], "is inside a loop: only loop outputs can be read"
                        )
                    if state.get(p) == 1:
                        layer = ir.layers[p]
                        if layer.type.name in KERNELS or layer.type.name in STRUCTURAL:
                            raise layer_error(layer, "the network has a cycle through this layer")
                        raise layer_error(layer, "has no CPU implementation")
                    stack.append((li, i))
                    stack.append((p, 0))
                    state[p] = 1
                    break
                else:
                    state[li] = 2
                    order.append(li)
        return order

    def _liveness(self) -> dict[int, list[int]]:
        """Tensors to drop after each scheduled position: their last consumer has run (so a
        run holds only the live activations, as TensorRT reuses activation memory)."""
        last: dict[int, int] = {}
        for pos, li in enumerate(self.order):
            layer = self.ir.layers[li]
            for t in self._deps(layer):
                if t is not None:
                    last[t] = pos
            for t in layer.outputs:
                last.setdefault(t, pos)  # produced, never consumed
        keep = set(self.wanted)
        release: dict[int, list[int]] = {}
        for t, pos in last.items():
            if t not in keep:
                release.setdefault(pos, []).append(t)
        return release

    def _attr(self, v: Any, layer: Any) -> Any:
        name = type(v).__name__
        if name == "WeightsRef":
            return _weights_array(self.ir.weights[v.index], layer)
        if name == "ArrayValue":
            return v.numpy()
        if isinstance(v, tuple):
            return tuple(self._attr(x, layer) for x in v)
        return v

    def _node(self, layer: Any) -> Node:
        ir = self.ir
        t = layer.type.name
        if t not in KERNELS and t not in STRUCTURAL:
            raise layer_error(layer, "has no CPU implementation")
        attrs = layer.attrs
        if t == "ATTENTION_OUTPUT":
            attrs = ir.constructs[layer.construct].attrs
        return Node(
            name=layer.name,
            type=t,
            attrs={k: self._attr(v, layer) for k, v in attrs.items()},
            out_dtypes=tuple(ir.tensors[o].dtype for o in layer.outputs),
            num=self.num,
            private=dict(layer.private),
            num_ranks=int(getattr(layer, "num_ranks", 1) or 1),
        )

    # -- running -----------------------------------------------------------------------------
    def run(
        self,
        feeds: Mapping[int, Array],
        optional: set[int] | None = None,
        timings: list[tuple[int, float]] | None = None,
    ) -> dict[int, Array]:
        """Values of the wanted tensors given the network inputs' values (by tensor id);
        ``optional`` wanted tensors whose computation failed are left out instead of raising.
        ``timings``, when given, receives (layer index, milliseconds) per layer run, in run
        order (a loop's time shared evenly among its layers), for an IProfiler."""
        clock = time.perf_counter if timings is not None else None
        ir = self.ir
        values: dict[int, Array | Failure] = {}
        for tid in ir.inputs:
            if tid in feeds:
                values[tid] = self.num.out(feeds[tid], ir.tensors[tid].dtype)
        get = values.__getitem__
        release = self.release
        done_loops: set[int] = set()
        for pos, li in enumerate(self.order):
            layer = ir.layers[li]
            start = clock() if clock is not None else 0.0
            if li in self.in_loop:
                plan = self.in_loop[li]
                if plan.construct not in done_loops:
                    done_loops.add(plan.construct)
                    values.update(self._loop(plan, values))
                    if clock is not None and timings is not None:
                        share = (clock() - start) * 1e3 / max(1, len(plan.internal))
                        timings.extend((i, share) for i in sorted(plan.internal))
            else:
                outs = self._run_layer(layer, self.nodes[li], get)
                for tid, val in zip(layer.outputs, outs, strict=False):
                    values[tid] = val
                if clock is not None and timings is not None:
                    timings.append((li, (clock() - start) * 1e3))
            for tid in release.get(pos, ()):
                values.pop(tid, None)
        result: dict[int, Array] = {}
        for tid in self.wanted:
            if tid not in values:
                raise ExecutionError(f"tensor '{ir.tensors[tid].name}' was not computed")
            v = values[tid]
            if isinstance(v, Failure):
                if optional and tid in optional:
                    continue
                raise v.error
            result[tid] = v
        return result

    def _loop(self, plan: LoopPlan, values: Mapping[int, Any]) -> dict[int, Any]:
        """Run a loop; a failure inside it fails all its outputs."""
        ir = self.ir
        failed = next(
            (values[t] for t in plan.external if isinstance(values.get(t), Failure)), None
        )
        if failed is None:

            def run_body(li: int, get: Callable[[int], Any]) -> list[Any]:
                outs = self._run_layer(ir.layers[li], self.nodes[li], get)
                bad = next((o for o in outs if isinstance(o, Failure)), None)
                if bad is not None:
                    raise bad.error
                return outs

            try:
                return run_loop(ir, plan, values, run_body, self.loops)
            except KernelError as exc:
                failed = Failure(layer_error(ir.layers[plan.outputs[0]], str(exc)))
            except ExecutionError as exc:
                failed = Failure(exc)
        return {ir.layers[li].outputs[0]: failed for li in plan.outputs}

    def _inputs(self, layer: Any, get: Callable[[int], Any]) -> list[Any]:
        ids = self._deps(layer) if layer.type.name == "ATTENTION_OUTPUT" else layer.inputs
        out: list[Any] = []
        for tid in ids:
            if tid is None:
                out.append(None)
                continue
            try:
                out.append(get(tid))
            except KeyError:
                name = self.ir.tensors[tid].name
                raise layer_error(layer, f"input '{name}' has no value") from None
        return out

    def _run_layer(self, layer: Any, node: Node, get: Callable[[int], Any]) -> list[Any]:
        xs = self._inputs(layer, get)
        t = node.type
        if t == "CONDITIONAL_OUTPUT":
            c = self.ir.constructs[layer.construct]
            cond_layer = next(
                self.ir.layers[i] for i in c.layers if self.ir.layers[i].type.name == "CONDITION"
            )
            cond = get(cond_layer.inputs[0])
            if isinstance(cond, Failure):
                return [cond]
            return [xs[0] if bool(np.asarray(cond).reshape(())) else xs[1]]
        failed = next((x for x in xs if isinstance(x, Failure)), None)
        if failed is not None:
            return [failed] * len(layer.outputs)
        try:
            outs = self._compute(layer, node, xs)
        except (KernelError, ValueError, IndexError, TypeError, ZeroDivisionError) as exc:
            err = layer_error(layer, str(exc))
            if not layer.outputs:
                raise err from exc
            return [Failure(err)] * len(layer.outputs)
        if len(outs) != len(layer.outputs):
            raise layer_error(layer, f"produced {len(outs)} outputs, expected {len(layer.outputs)}")
        return outs

    def _compute(self, layer: Any, node: Node, xs: list[Array | None]) -> list[Array]:
        t = node.type
        if t in ("ATTENTION_INPUT", "CONDITION"):
            return []
        if t == "CONDITIONAL_INPUT":
            return [xs[0]]  # type: ignore[list-item]
        if t in ("PLUGIN_V2", "PLUGIN_V3"):
            impl = self._plugins(layer) if self._plugins is not None else None
            if impl is None:
                raise KernelError(
                    "no numpy implementation is registered for this plugin "
                    "(see trt_netser.offline.register_plugin_implementation)"
                )
            try:
                outs = impl(node, xs)
            except Exception as exc:  # user code: reported as the layer's failure
                raise KernelError(
                    f"the registered implementation raised {type(exc).__name__}: {exc}"
                ) from exc
            if len(outs) != len(node.out_dtypes):
                raise KernelError(f"the implementation returned {len(outs)} outputs")
            return [node.out(np.asarray(o), i) for i, o in enumerate(outs)]
        kernel = KERNELS.get(t)
        if kernel is None:  # a loop boundary layer met outside its loop's scope
            raise KernelError("a loop boundary layer outside its loop's scope")
        return kernel(node, xs)


def input_ids(ir: Any) -> dict[str, int]:
    """Network input names to tensor ids."""
    return {ir.tensors[t].name: t for t in ir.inputs}


def all_tensor_ids(ir: Any) -> list[int]:
    """Every tensor a layer produces outside loop bodies (for dumps of every layer's output;
    tensors inside a loop have one value per iteration and are not listed)."""
    plans = loop_plans(ir)
    inside = {
        li
        for plan in plans.values()
        if plan.parent is None
        for li in plan.internal
        if li not in plan.outputs
    }
    return [t for li, layer in enumerate(ir.layers) if li not in inside for t in layer.outputs]
