"""IProfiler calls as ``execute_v2`` / ``execute_async_v3`` make them.

The IProfiler docstring: "the profiler will be called once per layer for each invocation
of execute_v2()"; ``report_layer_time(layer_name, ms)`` gets the layer's name, or "the
decimal index of the layer" when the engine was built with ProfilingVerbosity.NONE. With
``enqueue_emits_profile`` False the times of the last execution are kept and reported by
``report_to_profiler()``. Offline times are the CPU kernels' wall times (``perf_counter``),
and an offline engine's layers are the network's (nothing is fused).
"""

from __future__ import annotations

import sys
from typing import Any

from trt_netser.offline._enums import ProfilingVerbosity
from trt_netser.offline._execute.allocators import _what

#: Key of the last execution's layer times in the context's stored state.
PENDING = "pending_layer_times"


def layer_times(engine: Any, timings: list[tuple[int, float]]) -> list[tuple[str, float]]:
    """(name as the profiler sees it, ms) for each (layer index, ms) of a run."""
    by_index = engine.profiling_verbosity == ProfilingVerbosity.NONE
    layers = engine._plan.ir.layers
    return [(str(li) if by_index else layers[li].name, ms) for li, ms in timings]


def report(profiler: Any, times: list[tuple[str, float]]) -> None:
    """Call ``profiler.report_layer_time`` per layer; what a call raises is printed, as the
    bindings' trampoline does, and the next layer is reported all the same."""
    for name, ms in times:
        try:
            profiler.report_layer_time(name, float(ms))
        except Exception as exc:  # the trampoline catches everything
            print(f"[ERROR] Exception caught in report_layer_time(): {_what(exc)}", file=sys.stderr)


def after_execute(ctx: Any, timings: list[tuple[int, float]] | None) -> None:
    """Report (or keep, with enqueue_emits_profile False) the layer times of a run."""
    profiler = ctx._p.get("profiler")
    if profiler is None or timings is None:
        return
    times = layer_times(ctx._engine, timings)
    if ctx._p.get("enqueue_emits_profile", True):
        report(profiler, times)
    else:
        ctx._p[PENDING] = times


def report_pending(ctx: Any) -> bool:
    """``report_to_profiler()``: report the kept times (False without a profiler)."""
    profiler = ctx._p.get("profiler")
    if profiler is None:
        return False
    report(profiler, ctx._p.pop(PENDING, []))
    return True
