"""Measurements: soundness over the catalogue, coverage per layer type, stability across
processes, and speed/memory on LLM-shaped networks. Every number is computed here."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.compare.catalogue import ROOT, Case, coverage_network, module, zoo_network
from bench.compare.schemes import Scheme


def _key(scheme: Scheme, built: Any) -> str:
    builder, network = built
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scheme.key(module(), builder, network)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}"


# --------------------------------------------------------------------------- soundness


@dataclass
class SchemeSoundness:
    """Per scheme: counts over the catalogue and the cases behind each bad count."""

    scheme: str
    scored: int = 0
    false_hits: list[str] = field(default_factory=list)
    needless_misses: list[str] = field(default_factory=list)
    unstable: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def soundness(cases: Sequence[Case], schemes: Sequence[Scheme]) -> dict[str, SchemeSoundness]:
    """Build every case's two networks once and key them with every scheme."""
    results = {s.name: SchemeSoundness(s.name) for s in schemes}
    for case in cases:
        before, after = case.before(), case.after()
        for scheme in schemes:
            res = results[scheme.name]
            counts = res.by_category[case.category]
            counts["cases"] += 1
            try:
                same = _key(scheme, before) == _key(scheme, after)
            except Exception as exc:  # a scheme that cannot key the network
                res.errors.append(f"{case.label}: {_error(exc)}")
                counts["error"] += 1
                continue
            if case.expect == "irrelevant":
                counts["irrelevant_changed" if not same else "irrelevant_kept"] += 1
                continue
            res.scored += 1
            if case.expect == "change" and same:
                res.false_hits.append(case.label)
                counts["false_hit"] += 1
            elif case.expect == "keep" and not same:
                if case.category.startswith("rebuild"):
                    res.unstable.append(case.label)
                    counts["unstable"] += 1
                else:
                    res.needless_misses.append(case.label)
                    counts["needless_miss"] += 1
            else:
                counts["right"] += 1
    return results


# --------------------------------------------------------------------------- coverage


def coverage(schemes: Sequence[Scheme]) -> dict[str, dict[str, str | None]]:
    """layer type -> scheme -> None (keyed) or the error; layer types no network can
    hold map to the string "n/a" for every scheme."""
    trt = module()
    out: dict[str, dict[str, str | None]] = {}
    for layer_type in trt.LayerType.__members__:
        built = coverage_network(layer_type)
        row: dict[str, str | None] = {}
        for scheme in schemes:
            if built is None:
                row[scheme.name] = "n/a"
                continue
            try:
                _key(scheme, built)
                row[scheme.name] = None
            except Exception as exc:
                row[scheme.name] = _error(exc)
        out[layer_type] = row
    return out


# --------------------------------------------------------------------------- stability


def stability_keys(
    layer_types: Sequence[str], schemes: Sequence[Scheme], junk: int
) -> dict[str, dict[str, str]]:
    """scheme -> layer type -> key, after building ``junk`` unrelated networks first
    (which shifts TensorRT's per-process counters). Runs inside a worker process."""
    for _ in range(junk):
        zoo_network("ELEMENTWISE", pin=False)
    built = {t: zoo_network(t, pin=False)[:2] for t in layer_types}
    out: dict[str, dict[str, str]] = {}
    for scheme in schemes:
        keys = {}
        for t, b in built.items():
            try:
                keys[t] = _key(scheme, b)
            except Exception as exc:
                keys[t] = "error: " + _error(exc)
        out[scheme.name] = keys
    return out


def _worker(
    args: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.compare.worker", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: (label, PYTHONHASHSEED, networks built before) of the processes compared with the first.
STABILITY_RUNS = (
    ("reference", "0", 0),
    ("other PYTHONHASHSEED", "1", 0),
    ("other seed + 3 networks built before", "12345", 3),
)


def stability(
    layer_types: Sequence[str], schemes: Sequence[Scheme]
) -> dict[str, dict[str, list[str]]]:
    """scheme -> run label -> layer types whose key differs from the reference process."""
    names = ",".join(s.name for s in schemes)
    types = ",".join(layer_types)
    runs = {
        label: _worker(["stability", names, types, str(junk)], env={"PYTHONHASHSEED": seed})
        for label, seed, junk in STABILITY_RUNS
    }
    reference = runs[STABILITY_RUNS[0][0]]
    out: dict[str, dict[str, list[str]]] = {}
    for scheme in schemes:
        out[scheme.name] = {
            label: sorted(
                t
                for t in layer_types
                if keys[scheme.name][t] != reference[scheme.name][t]
                or keys[scheme.name][t].startswith("error")
            )
            for label, keys in runs.items()
            if label != STABILITY_RUNS[0][0]
        }
    return out


# --------------------------------------------------------------------------- speed


def speed_in_process(
    scheme: Scheme, size: int, *, memory: bool, budget: float, report: Any = None
) -> dict[str, Any]:
    """Build an LLM-shaped network of ``size`` layers, time one key, then (if the first run
    took under a third of ``budget``) measure peak tracemalloc memory in a second run.
    ``report(result)`` is called after the timed run (the worker prints it at once, so a
    traced run that overruns the time limit does not lose the timing)."""
    from tests.offline.networks import build_llm_like

    trt = module()
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    net = build_llm_like(trt, size, builder=builder)
    net.name = "llm"
    gc.collect()
    start = time.perf_counter()
    scheme.key(trt, builder, net)
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {"layers": net.num_layers, "seconds": seconds, "peak_bytes": None}
    if report is not None:
        report(result)
    if memory and seconds * 3 < budget:
        gc.collect()
        tracemalloc.start()
        scheme.key(trt, builder, net)
        result["peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result


def speed(scheme: Scheme, size: int, budget: float) -> dict[str, Any]:
    """Run :func:`speed_in_process` in a fresh process; past ``budget`` seconds of keying
    (plus the network build) the run is stopped and reported as not finished (keeping the
    timing if only the traced memory run overran)."""
    build_allowance = 30 + size / 1000  # building 100k offline layers takes a while
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.compare.worker",
            "speed",
            scheme.name,
            str(size),
            str(budget),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=budget * 2 + build_allowance)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        lines = stdout.strip().splitlines()
        if lines:  # the timed run finished; the traced one did not
            result = json.loads(lines[-1])
            result["note"] = "peak memory not measured: the traced run overran the time limit"
            return result
        return {
            "layers": size,
            "seconds": None,
            "peak_bytes": None,
            "note": f"did not finish within {budget:.0f} s",
        }
    lines = stdout.strip().splitlines()
    if proc.returncode != 0:
        result = (
            json.loads(lines[-1])
            if lines
            else {"layers": size, "seconds": None, "peak_bytes": None}
        )
        errors = [line for line in stderr.strip().splitlines() if line.strip()]
        why = errors[-1][:200] if errors else f"exit status {proc.returncode}"
        result["note"] = f"failed ({why})" + (" in the traced run" if lines else "")
        return result
    return json.loads(lines[-1])
