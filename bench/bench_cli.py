"""Benchmark the CLI against the library on a large offline network.

Times, in fresh processes (as a user runs them): ``trt-netser hash SPEC``, ``dump``,
``hash DUMP``, ``diff DUMP DUMP`` (identical inputs) and ``diff SPEC DUMP``, next to the
library's own ``cache_key(network, config)`` on the same network (build time excluded).
The config sets REFIT, so weight values are neither hashed nor dumped.

    python bench/bench_cli.py                      # 50k layers
    python bench/bench_cli.py --layers 180000
    python bench/bench_cli.py --layers 20000 --tree /path/to/other/checkout

``--tree`` runs another checkout's CLI (``python -m trt_netser.cli`` with its root first
on ``sys.path``), to compare before and after a change. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MODEL = """\
import time

import tensorrt as trt

from tests.offline.networks import build_llm_like

BUILD_SECONDS = []


def build():
    start = time.perf_counter()
    builder = trt.Builder(trt.Logger())
    network = build_llm_like(trt, {layers}, builder=builder)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)  # refittable: weight values are not hashed
    BUILD_SECONDS.append(time.perf_counter() - start)
    return network, config
"""

LIBRARY = """\
import sys, time
sys.path.insert(0, {model_dir!r})
import trt_netser, trt_netser.offline as trt
sys.modules["tensorrt"] = trt
import model
start = time.perf_counter()
network, config = model.build()
built = time.perf_counter() - start
start = time.perf_counter()
key = trt_netser.cache_key(network, config)
print(f"{{built:.2f}} {{time.perf_counter() - start:.2f}} {{network.num_layers}}")
"""


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of a fresh process (CPU time is steadier on a shared machine)."""
    start, cpu = time.perf_counter(), _child_cpu()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, _child_cpu() - cpu, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=50_000)
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose CLI to run")
    args = parser.parse_args()
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "model.py").write_text(MODEL.format(layers=args.layers))
        env = dict(os.environ, NO_COLOR="1", TRT_NETSER_LIBRARY_DIGESTS="")
        env["PYTHONPATH"] = os.pathsep.join([str(tree), str(ROOT)])
        cli = [sys.executable, "-m", "trt_netser.cli"]
        lib, lib_cpu, out = timed(
            [sys.executable, "-c", LIBRARY.format(model_dir=str(work))], env, work
        )
        built, keyed, layers = out.split()
        print(f"network: {int(layers):,} layers (offline), built in {float(built):.1f} s")
        print(
            f"library cache_key(network, config): {float(keyed):.1f} s "
            f"(process total {lib:.1f} s wall, {lib_cpu:.1f} s CPU)"
        )
        print(f"{'command':28} {'wall':>7} {'CPU':>7}")
        rows = [
            ("hash SPEC", [*cli, "hash", "model.py:build", "--backend", "offline"]),
            ("dump SPEC", [*cli, "dump", "model.py:build", "--backend", "offline", "-o", "a.tnsd"]),
            ("hash DUMP", [*cli, "hash", "a.tnsd"]),
            ("diff DUMP DUMP (identical)", [*cli, "diff", "a.tnsd", "a.tnsd"]),
            (
                "diff SPEC DUMP (identical)",
                [*cli, "diff", "model.py:build", "a.tnsd", "--backend", "offline"],
            ),
        ]
        for name, argv in rows:
            seconds, cpu, _ = timed(argv, env, work)
            print(f"{name:28} {seconds:6.1f}s {cpu:6.1f}s")
        size = (work / "a.tnsd").stat().st_size
        print(f"dump size: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
