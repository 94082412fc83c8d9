"""The pipeline's own overhead on a hit, and on a miss as a fraction of the build.

Usage: python bench/bench_pipeline.py [--layers 1000,10000,50000] [--weight-mib 64]
    [--no-dump] [--repeat 5]

For each layer count it builds a chain of (constant, elementwise) pairs whose constants
hold ``--weight-mib`` MiB in all, runs ``build_engine`` once (a miss) and once with other
weights (a hit), and prints the phases of each. "one pass" is the floor the target is
measured against: reading every weight byte once (blake3 of every buffer). "inspect"
(deserializing the new plan to read its refit inventory), "deserialize" and "refit"
are TensorRT's work; the rest is the pipeline's own. Phases are wall-clock seconds of one
call; the last line of each size times ``collect_weights`` alone against the one pass in
CPU seconds, ``--repeat`` times each, interleaved (min-max), which other jobs on the
machine disturb less (collect runs as in the hit, reusing the key's reading of the
layers). The figures in docs/pipeline.md come from here.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: one thread per job

import blake3
import numpy as np

import trt_netser
from trt_netser.cache import EngineCache
from trt_netser.layers import sharing_layer_reads
from trt_netser.pipeline import collect_weights

#: Hit phases that are the pipeline's own work, and those that are TensorRT's.
OWN_PHASES = ("key", "lock", "lookup", "collect", "pinned")
TRT_PHASES = ("deserialize", "refit")


def network(trt: Any, layers: int, weight_bytes: int, seed: int) -> tuple[Any, Any, Any, list[Any]]:
    """``layers`` layers: constants of ~weight_bytes / (layers / 2) bytes, summed in a chain."""
    pairs = max(1, layers // 2)
    width = max(1, weight_bytes // 4 // pairs)
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((1, width)).astype(np.float32) for _ in range(pairs)]
    with trt_netser.capture(trt):
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        net = builder.create_network(0)
        x = net.add_input("x", trt.float32, trt.Dims([1, width]))
        for i, array in enumerate(arrays):
            const = net.add_constant(trt.Dims([1, width]), trt.Weights(array))
            const.name = f"w{i}"
            add = net.add_elementwise(x, const.get_output(0), trt.ElementWiseOperation.SUM)
            add.name = f"add{i}"
            x = add.get_output(0)
        x.name = "y"
        net.mark_output(x)
        config = builder.create_builder_config()
    return builder, net, config, arrays


def one_pass(arrays: list[Any], clock: Any = time.perf_counter) -> float:
    """Seconds to read every weight byte once: blake3 of each buffer, as a refit copies
    (and the pinned check digests) buffer by buffer."""
    start = clock()
    for array in arrays:
        blake3.blake3(memoryview(array).cast("B")).digest()
    return float(clock() - start)


def collect_cpu(net: Any) -> float:
    """CPU seconds of ``collect_weights`` as the hit runs it: after the key's walk, whose
    reading of the layers it shares (trt_netser.layers), with the cyclic GC paused."""
    gc.disable()
    try:
        with sharing_layer_reads():
            trt_netser.hash_network(net)  # the key reads the layers; collect reuses them
            start = time.process_time()
            collect_weights(net)
            return time.process_time() - start
    finally:
        gc.enable()


def span(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def run(trt: Any, layers: int, weight_mib: int, root: Path, dump: bool, repeat: int) -> None:
    cache = EngineCache(root / f"c{layers}-{int(dump)}")
    weight_bytes = weight_mib << 20
    builder, net, config, arrays = network(trt, layers, weight_bytes, 0)
    gc.collect()
    miss = trt_netser.build_engine(builder, net, config, cache=cache, explain=dump, store_dump=dump)
    m = miss.timings
    build = m.get("build", 0.0)
    own = m.total - build - m.get("inspect", 0.0)
    del builder, net, config, arrays, miss
    builder, net, config, arrays = network(trt, layers, weight_bytes, 1)
    floor = one_pass(arrays)
    gc.collect()
    hit = trt_netser.build_engine(builder, net, config, cache=cache, explain=False)
    assert hit.outcome.value == "hit-refit", (hit.outcome, hit.reason)
    t = hit.timings
    mine = sum(t.get(p, 0.0) for p in OWN_PHASES)
    print(
        f"{layers:>7} layers {weight_mib:>4} MiB dump={'yes' if dump else 'no ':<3} | miss: build "
        f"{build:7.3f} s, inspect {m.get('inspect', 0.0):6.3f} s, pipeline {own:6.3f} s "
        f"({own / build * 100 if build else 0:5.1f} % of the build; "
        f"dump {m.get('dump', 0.0):.3f} s) "
        f"| hit: "
        + "  ".join(f"{p} {t.get(p, 0.0):.3f}" for p in (*OWN_PHASES, *TRT_PHASES))
        + f" | pipeline's own {mine:.3f} s (collect {t.get('collect', 0.0):.3f} s vs one pass "
        f"over the weights {floor:.3f} s)"
    )
    if repeat and not dump:
        collects, passes = [], []
        for _ in range(repeat):
            gc.collect()
            collects.append(collect_cpu(net))
            passes.append(one_pass(arrays, time.process_time))
        ratio = sorted(collects)[repeat // 2] / sorted(passes)[repeat // 2]
        print(
            f"{'':>20} collect alone {span(collects)} CPU s vs one pass {span(passes)} CPU s "
            f"({repeat} each; medians' ratio {ratio:.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", default="1000,10000,50000")
    parser.add_argument("--weight-mib", type=int, default=64)
    parser.add_argument("--no-dump", action="store_true", help="only runs without dumps")
    parser.add_argument(
        "--repeat", type=int, default=5, help="CPU-time runs of collect alone and of one pass"
    )
    args = parser.parse_args()
    import trt_netser.offline as trt

    print(f"backend offline {trt.__version__}; seconds per phase")
    with tempfile.TemporaryDirectory() as tmp:
        for layers in (int(n) for n in args.layers.split(",")):
            for dump in (False,) if args.no_dump else (False, True):
                run(trt, layers, args.weight_mib, Path(tmp), dump, args.repeat)


if __name__ == "__main__":
    main()
