"""Benchmark hash_network on LLM-shaped offline networks of 1k to 100k layers.

Prints, per size: layers per second of ``hash_network``, peak extra memory during the
hash (tracemalloc), and the ratio to a *bare walk* that reads the same attributes through
the same public API without encoding anything (the floor any walker must pay).

    python bench/bench_hash.py                 # 1k, 10k, 100k layers
    python bench/bench_hash.py --sizes 1000 5000 --repeat 3

Targets (issue 3): >= 50k layers/s on one core, within 1.5x of the floor.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

import trt_netser.offline as trt
from tests.offline.networks import build_llm_like
from trt_netser import hash_network
from trt_netser.walk import readable_properties, trt_api


def bare_walk(network: Any) -> int:
    """Read every layer's type, inputs, outputs and every readable property, and every
    tensor's properties, dimension names, debug mark and output type, as the walker
    does, but encode nothing."""
    api = trt_api(trt)
    type_getter = inspect.getattr_static(api.ILayer, "type")
    reads = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            layer_type = type_getter.__get__(layer, type(layer))
            cls = api.classes_by_type.get(int(layer_type))
            if cls is not None:
                layer.__class__ = cls
            for s in range(layer.num_inputs):
                layer.get_input(s)
            for name in readable_properties(type(layer)):
                with contextlib.suppress(Exception):
                    getattr(layer, name)
                reads += 1
            for j in range(layer.num_outputs):
                tensor = layer.get_output(j)
                layer.output_type_is_set(j)
                network.is_debug_tensor(tensor)
                for name in readable_properties(type(tensor)):
                    getattr(tensor, name)
                    reads += 1
                for d in range(len(tensor.shape)):
                    tensor.get_dimension_name(d)
                    reads += 1
    return reads


def timed(fn: Any, *args: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory(fn: Any, *args: Any) -> int:
    gc.collect()
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(
        f"trt-netser hash benchmark, offline backend {trt.__version__}, Python {sys.version.split()[0]}"
    )
    header = (
        f"{'layers':>8} {'hash s':>8} {'layers/s':>10} {'floor s':>8} {'ratio':>6} {'peak MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        network = build_llm_like(trt, size)
        layers = network.num_layers
        repeat = args.repeat if layers <= 20_000 else 1
        hash_s = timed(hash_network, network, repeat=repeat)
        floor_s = timed(bare_walk, network, repeat=repeat)
        peak = peak_memory(hash_network, network)
        print(
            f"{layers:>8} {hash_s:>8.3f} {layers / hash_s:>10,.0f} {floor_s:>8.3f} "
            f"{hash_s / floor_s:>6.2f} {peak / 2**20:>9.1f}"
        )
        del network
        gc.collect()


if __name__ == "__main__":
    main()
