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
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trt_netser.offline as trt
from tests.offline.networks import build_llm_like
from trt_netser import hash_network
from trt_netser import walk as walk_module
from trt_netser.policy import Policy
from trt_netser.walk import Walk, _class_plan, _tensor_plan


def bare_walk(network: Any) -> int:
    """The floor: the walker's traversal (the structure pass and the topological order)
    and every read it makes, by the same means, without canonicalizing, interning,
    encoding or hashing anything. Reads each layer's and each tensor's hashed properties
    (one ``attrgetter`` call per object, as the walker does), names, dimension names,
    debug marks, explicit output types, and the dtype and size of weights."""
    walk = Walk(network, Policy())
    layers, types, inputs, outputs, forward = walk._read_structure()
    order = walk._topological_order(layers, types, inputs, forward)
    flat, starts = outputs.flat, outputs.starts  # each layer's outputs, as the walker slices them
    weights_types = (walk.api.Weights, np.ndarray)
    is_debug = network.is_debug_tensor
    reads = 0

    def read_tensor(tensor: Any) -> int:
        _ = tensor.name
        plan = _tensor_plan(type(tensor))
        raw = plan.read_all(tensor)
        for d in range(len(raw[plan.shape_index])):  # the rank, from the shape read above
            tensor.get_dimension_name(d)
        is_debug(tensor)
        return len(raw) + 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(network.num_inputs):
            reads += read_tensor(network.get_input(k))
        for i in order:
            layer = layers[i]
            _ = layer.name
            raw = _class_plan(type(layer)).read_all(layer)
            for value in raw:
                if isinstance(value, weights_types):
                    _ = value.dtype, value.size
            reads += len(raw) + 1
            for j, tensor in enumerate(flat[starts[i] : starts[i + 1]]):
                if layer.output_type_is_set(j):
                    layer.get_output_type(j)
                reads += read_tensor(tensor)
        for k in range(network.num_outputs):
            reads += read_tensor(network.get_output(k))
    walk._release()  # frees what it built when it ends, as the walk does
    return reads


def timed(fns: list[Any], network: Any, repeat: int) -> list[float]:
    """The best of ``repeat`` runs of each of ``fns``, taken in turns (so that a busy
    moment of the machine does not fall on one side of a ratio only)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            gc.collect()
            start = time.perf_counter()
            fn(network)
            best[k] = min(best[k], time.perf_counter() - start)
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
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument(
        "--python-writer",
        action="store_true",
        help="use the walker's pure-Python layer writer even if the compiled one was built",
    )
    args = parser.parse_args()
    if args.python_writer:
        walk_module._compiled = None

    writer = "compiled" if walk_module._compiled is not None else "Python"
    print(
        f"trt-netser hash benchmark, offline backend {trt.__version__}, "
        f"Python {sys.version.split()[0]}, {writer} layer writer"
    )
    header = (
        f"{'layers':>8} {'hash s':>8} {'layers/s':>10} {'floor s':>8} {'ratio':>6} {'peak MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        network = build_llm_like(trt, size)
        layers = network.num_layers
        # short runs are noisier: take more of them (about a second of each at 1k layers)
        repeat = max(1, args.repeat // 3) if layers > 20_000 else args.repeat
        repeat = max(repeat, min(10 * repeat, args.repeat * 10_000 // layers))
        hash_s, floor_s = timed([hash_network, bare_walk], network, repeat=repeat)
        peak = peak_memory(hash_network, network)
        print(
            f"{layers:>8} {hash_s:>8.3f} {layers / hash_s:>10,.0f} {floor_s:>8.3f} "
            f"{hash_s / floor_s:>6.2f} {peak / 2**20:>9.1f}"
        )
        del network
        gc.collect()


if __name__ == "__main__":
    main()
