"""Time cache_key() on a deep offline network (default 50k layers).

Uses ``tests.offline.networks.build_llm_like`` when it exists, else a simple deep chain
(matmul with a learned constant, then an elementwise add, repeated). Prints seconds
and layers/s for the key with refittable weights (structure) and without (all values).

    python bench/bench_key.py [--layers 50000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trt_netser.offline as trt
from trt_netser.config import add_optimization_profile
from trt_netser.key import cache_key
from trt_netser.portability import Environment


def deep_chain(num_layers: int) -> tuple[object, object]:
    builder = trt.Builder(trt.Logger())
    net = builder.create_network(0)
    x = net.add_input("x", trt.float32, (-1, 64))
    w = net.add_constant((64, 64), np.ones((64, 64), np.float32)).get_output(0)
    out = x
    while net.num_layers < num_layers:
        mm = net.add_matrix_multiply(
            out, trt.MatrixOperation.NONE, w, trt.MatrixOperation.NONE
        ).get_output(0)
        out = net.add_elementwise(mm, out, trt.ElementWiseOperation.SUM).get_output(0)
    net.mark_output(out)
    return builder, net


def build(num_layers: int) -> tuple[object, object, str]:
    try:
        from tests.offline.networks import build_llm_like
    except ImportError:
        builder, net = deep_chain(num_layers)
        return builder, net, "deep chain (matmul + add)"
    net = build_llm_like(trt, num_layers)
    return getattr(net, "builder", None) or trt.Builder(trt.Logger()), net, "build_llm_like"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=50_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    _builder, net, kind = build(args.layers)  # keep the builder alive
    built = time.perf_counter() - t0
    n = net.num_layers
    print(f"network: {kind}, {n} layers, built in {built:.2f}s")
    env = Environment("10.16.1.11", compute_capability="9.0", gpu_name="NVIDIA H100")
    for flags, label in (
        (("REFIT",), "refittable (weights: structure)"),
        ((), "not refittable (weights: all)"),
    ):
        cfg = trt.Builder(trt.Logger()).create_builder_config()
        for flag in flags:
            cfg.set_flag(getattr(trt.BuilderFlag, flag))
        if any(net.get_input(i).shape[0] == -1 for i in range(net.num_inputs)):
            profile = trt.Builder(trt.Logger()).create_optimization_profile()
            for i in range(net.num_inputs):
                t = net.get_input(i)
                dims = list(t.shape)
                lo = [1 if d == -1 else d for d in dims]
                hi = [8 if d == -1 else d for d in dims]
                profile.set_shape(t.name, lo, lo, hi)
            add_optimization_profile(cfg, profile)
        t0 = time.perf_counter()
        key = cache_key(net, cfg, environment=env)
        dt = time.perf_counter() - t0
        print(f"{label}: {dt:.2f}s, {n / dt:,.0f} layers/s -> {key}")


if __name__ == "__main__":
    main()
