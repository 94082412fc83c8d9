"""Offline engine round trip: build, deserialize, refit (every weight), serialize.

Usage: python bench/bench_engine.py [--layers 2000 20000 50000] [--width 64] [--repeat 3]
The network is a chain of (constant + elementwise add) pairs, so half the layers hold a
refittable FLOAT constant of ``width`` elements. Prints the best of ``repeat`` runs per
phase; the figures in docs/offline-engine.md come from here.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import trt_netser.offline as trt


def _network(layers: int, width: int) -> tuple[Any, Any, Any]:
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    net = builder.create_network(0)
    t = net.add_input("x", trt.float32, (1, width))
    values = np.ones((1, width), np.float32)
    for _ in range(layers // 2):
        c = net.add_constant((1, width), trt.Weights(values))
        t = net.add_elementwise(t, c.get_output(0), trt.ElementWiseOperation.SUM).get_output(0)
    net.mark_output(t)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    return builder, net, config


def _best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run(layers: int, width: int, repeat: int) -> None:
    builder, net, config = _network(layers, width)
    logger = trt.Logger(trt.Logger.ERROR)
    build, plan = _best(repeat, lambda: builder.build_serialized_network(net, config))
    runtime = trt.Runtime(logger)
    deser, engine = _best(repeat, lambda: runtime.deserialize_cuda_engine(plan))
    new = np.full((1, width), 2, np.float32)

    def refit() -> bool:
        refitter = trt.Refitter(engine, logger)
        names, roles = refitter.get_all()
        for name, role in zip(names, roles, strict=True):
            refitter.set_weights(name, role, new)
        return bool(refitter.refit_cuda_engine())

    refit_s, ok = _best(repeat, refit)
    assert ok
    ser, _ = _best(repeat, engine.serialize)
    ir_s, _ = _best(1, lambda: trt.Runtime(logger).deserialize_cuda_engine(plan)._plan.ir)
    print(
        f"{layers:>7} layers  plan {plan.nbytes / 1e6:7.2f} MB  build {build:7.3f} s  "
        f"deserialize {deser:6.3f} s  refit all {refit_s:6.3f} s  serialize {ser:6.3f} s  "
        f"deserialize+IR {ir_s:6.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[2000, 20000, 50000])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for layers in args.layers:
        run(layers, args.width, args.repeat)


if __name__ == "__main__":
    main()
