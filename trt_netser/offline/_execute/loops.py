"""ILoop execution: the body of a loop runs once per iteration inside its own scope.

A loop's body is every layer reachable from its recurrence and iterator outputs without
crossing the loop's boundary layers. Per iteration the recurrences hold their current
values (the initial value first, then input 1's value of the previous iteration), each
iterator the slice of its tensor for the iteration (from the end when ``reverse``), and
the body layers run in dependency order. A COUNT trip limit fixes the number of
iterations; a WHILE trip limit's condition is evaluated on the iteration's values and the
loop stops (discarding that iteration) when it is false. Loop outputs: LAST_VALUE is the
value in the last iteration, CONCATENATE / REVERSE stack the values of every iteration
along ``axis`` (in reverse for REVERSE), zero-padded to the length given by input 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trt_netser.offline._enums import LayerType, LoopOutput, TripLimit
from trt_netser.offline._execute._node import KernelError

Array = np.ndarray
MAX_WHILE_ITERATIONS = 1_000_000


@dataclass
class LoopPlan:
    """The layers of one loop: boundary layers by kind, the body in dependency order."""

    construct: int
    recurrences: list[int] = field(default_factory=list)
    iterators: list[int] = field(default_factory=list)
    trip_limits: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    body: list[int] = field(default_factory=list)
    internal: set[int] = field(default_factory=set)  # layer indices inside the loop scope
    external: list[int] = field(default_factory=list)  # tensor ids read from outside
    parent: int | None = None  # the loop whose body holds this one
    steps: list[tuple[str, int]] = field(default_factory=list)  # ("layer", li) / ("loop", c)


def loop_plans(ir: Any) -> dict[int, LoopPlan]:
    """A :class:`LoopPlan` per loop construct of the IR (by construct index)."""
    consumers: dict[int, list[int]] = {}
    for li, layer in enumerate(ir.layers):
        for t in layer.inputs:
            if t is not None:
                consumers.setdefault(t, []).append(li)
    plans: dict[int, LoopPlan] = {}
    for c in ir.constructs:
        if c.kind != "ILoop":
            continue
        plan = LoopPlan(c.index)
        kinds = {
            LayerType.RECURRENCE: plan.recurrences,
            LayerType.ITERATOR: plan.iterators,
            LayerType.TRIP_LIMIT: plan.trip_limits,
            LayerType.LOOP_OUTPUT: plan.outputs,
        }
        for li in c.layers:
            kinds[ir.layers[li].type].append(li)
        boundary = set(c.layers)
        body: set[int] = set()
        work = [t for li in (*plan.recurrences, *plan.iterators) for t in ir.layers[li].outputs]
        while work:
            t = work.pop()
            for li in consumers.get(t, ()):
                if li not in boundary and li not in body:
                    body.add(li)
                    work.extend(ir.layers[li].outputs)
        plan.body = sorted(body)
        plan.internal = body | boundary
        produced = {t for li in plan.internal for t in ir.layers[li].outputs}
        ext: set[int] = set()
        for li in plan.internal:
            ext.update(t for t in ir.layers[li].inputs if t is not None and t not in produced)
        plan.external = sorted(ext)
        plans[c.index] = plan
    _nest(ir, plans)
    return plans


def _nest(ir: Any, plans: dict[int, LoopPlan]) -> None:
    """Parents (innermost enclosing loop) and each loop's steps: its own body layers and its
    direct child loops, in dependency order."""
    for q in plans.values():
        boundary = q.internal - set(q.body)
        enclosing = [p for p in plans.values() if p is not q and boundary & set(p.body)]
        if enclosing:
            q.parent = min(enclosing, key=lambda p: len(p.body)).construct

    def depth(q: LoopPlan) -> int:
        d = 0
        while q.parent is not None:
            q, d = plans[q.parent], d + 1
        return d

    # a parent's scope holds all of its children's layers (a child's trip limit or
    # iterator input may not be reachable from the parent's recurrences)
    for q in sorted(plans.values(), key=depth, reverse=True):
        if q.parent is not None:
            parent = plans[q.parent]
            parent.internal |= q.internal
            parent.body = sorted(set(parent.body) | q.internal)
    for q in plans.values():
        produced = {t for li in q.internal for t in ir.layers[li].outputs}
        q.external = sorted(
            {
                t
                for li in q.internal
                for t in ir.layers[li].inputs
                if t is not None and t not in produced
            }
        )
    for p in plans.values():
        children = [q for q in plans.values() if q.parent == p.construct]
        owner: dict[int, tuple[str, int]] = {}
        for q in children:
            for li in q.internal:
                owner[li] = ("loop", q.construct)
        for li in p.body:
            owner.setdefault(li, ("layer", li))
        producer = {t: owner[li] for li in p.body for t in ir.layers[li].outputs}

        def deps(
            step: tuple[str, int], producer: dict[int, tuple[str, int]] = producer
        ) -> list[tuple[str, int]]:
            kind, ref = step
            tensors = ir.layers[ref].inputs if kind == "layer" else plans[ref].external
            return [producer[t] for t in tensors if t is not None and t in producer]

        p.steps = _order_steps(sorted(set(owner.values())), deps)


def _order_steps(steps: list[tuple[str, int]], deps: Any) -> list[tuple[str, int]]:
    """``steps`` with every step after the steps it depends on (depth-first)."""
    done: set[tuple[str, int]] = set()
    seen: set[tuple[str, int]] = set()
    order: list[tuple[str, int]] = []
    for root in steps:
        stack = [(root, False)]
        while stack:
            step, expanded = stack.pop()
            if step in done:
                continue
            if expanded:
                done.add(step)
                order.append(step)
                continue
            if step in seen:
                continue
            seen.add(step)
            stack.append((step, True))
            stack.extend((d, False) for d in deps(step) if d not in done and d not in seen)
    return order


RunLayer = Callable[[int, Callable[[int], Any]], list[Any]]


class _Scope(Mapping[int, Any]):
    """The values an inner loop sees: the enclosing iteration's, then the outer ones."""

    def __init__(self, lookup: Callable[[int], Any]) -> None:
        self._lookup = lookup

    def __getitem__(self, t: int) -> Any:
        return self._lookup(t)

    def __iter__(self) -> Any:
        raise TypeError("a loop scope is not iterable")

    def __len__(self) -> int:
        raise TypeError("a loop scope has no length")


def run_loop(
    ir: Any,
    plan: LoopPlan,
    values: Mapping[int, Any],
    run_layer: RunLayer,
    plans: Mapping[int, LoopPlan] | None = None,
) -> dict[int, Array]:
    """The values of the loop's output tensors; ``run_layer(li, lookup)`` computes a layer."""
    layers = ir.layers
    plans = plans or {}
    local: dict[int, Any] = {}

    def lookup(t: int) -> Any:
        return local[t] if t in local else values[t]

    count: int | None = None
    cond_tensor: int | None = None
    for li in plan.trip_limits:
        layer = layers[li]
        if layer.attrs["kind"] == TripLimit.COUNT:
            count = int(np.asarray(values[layer.inputs[0]]).reshape(()))
        else:
            cond_tensor = layer.inputs[0]
    if count is None and cond_tensor is None:
        raise KernelError("the loop has no trip limit")
    state = {li: values[layers[li].inputs[0]] for li in plan.recurrences}
    stacks: dict[int, list[Array]] = {li: [] for li in plan.outputs}
    i = 0
    while count is None or i < count:
        if count is None and i >= MAX_WHILE_ITERATIONS:
            raise KernelError(f"the WHILE loop ran {MAX_WHILE_ITERATIONS} iterations")
        local.clear()
        for li, v in state.items():
            local[layers[li].outputs[0]] = v
        for li in plan.iterators:
            layer = layers[li]
            src = values[layer.inputs[0]]
            axis = int(layer.attrs["axis"]) % src.ndim
            n = src.shape[axis]
            if i >= n:
                raise KernelError(f"iteration {i} is past the iterated axis of size {n}")
            local[layer.outputs[0]] = np.take(
                src, n - 1 - i if layer.attrs["reverse"] else i, axis=axis
            )
        for kind, ref in plan.steps:
            if kind == "layer":
                for t, v in zip(layers[ref].outputs, run_layer(ref, lookup), strict=False):
                    local[t] = v
            else:  # a loop nested in this one's body, run once per iteration of this one
                local.update(run_loop(ir, plans[ref], _Scope(lookup), run_layer, plans))
        if cond_tensor is not None and not bool(np.asarray(lookup(cond_tensor)).reshape(())):
            break
        for li in plan.outputs:
            stacks[li].append(lookup(layers[li].inputs[0]))
        for li in plan.recurrences:
            nxt = layers[li].inputs[1] if len(layers[li].inputs) > 1 else None
            if nxt is None:
                raise KernelError(f"recurrence '{layers[li].name}' has no next value (input 1)")
            state[li] = lookup(nxt)
        i += 1
    result: dict[int, Array] = {}
    for li in plan.outputs:
        layer = layers[li]
        kind = layer.attrs["kind"]
        seq = stacks[li]
        if kind == LoopOutput.LAST_VALUE:
            if not seq:
                raise KernelError("LAST_VALUE of a loop that ran no iteration")
            result[layer.outputs[0]] = seq[-1]
            continue
        if kind == LoopOutput.REVERSE:
            seq = seq[::-1]
        axis = int(layer.attrs["axis"])
        length = len(seq)
        if len(layer.inputs) > 1 and layer.inputs[1] is not None:
            length = int(np.asarray(values[layer.inputs[1]]).reshape(()))
        if not seq:
            raise KernelError("a loop output of a loop that ran no iteration")
        stacked = np.stack(seq, axis=axis)
        if length > len(seq):
            pad = [(0, 0)] * stacked.ndim
            pad[axis % stacked.ndim] = (0, length - len(seq))
            stacked = np.pad(stacked, pad)
        result[layer.outputs[0]] = stacked
    return result
