"""Cache hit latency (lookup + blake3 verify + read) for a large plan, local and S3 (moto).

Usage: python bench/bench_cache.py [--size-mib 1024] [--repeat 3] [--no-remote]
Prints seconds and MB/s per operation; the figures in docs/cache.md come from here.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3

from trt_netser.cache import EngineCache

KEY = "v1/trt-10.16.1.11/sm90/" + "a" * 64 + "/" + "b" * 64


def _timed(label: str, size: int, repeat: int, fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
        del result
    rate = f"{size / best / 1e6:9.0f} MB/s" if size else ""
    print(f"  {label:<38} {best:8.3f} s  {rate}")
    return best


def _bench(cache: EngineCache, plan: bytes, repeat: int, local: bool) -> None:
    size = len(plan)
    _timed("put (hash + write + fsync + publish)", size, 1, lambda: cache.put(KEY, plan))
    _timed("get -> bytes (read + verify)", size, repeat, lambda: cache.get(KEY))
    if local:
        _timed("get(load=False) -> path (verify)", size, repeat, lambda: cache.get(KEY, load=False))
    _timed("contains (manifest only)", 0, repeat, lambda: cache.contains(KEY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-remote", action="store_true")
    args = parser.parse_args()
    size = args.size_mib << 20
    plan = os.urandom(1 << 20) * args.size_mib
    print(f"plan: {args.size_mib} MiB, cores: {os.cpu_count()}, best of {args.repeat}")
    _timed(
        "blake3 alone (AUTO threads)",
        size,
        args.repeat,
        lambda: blake3.blake3(plan, max_threads=blake3.blake3.AUTO).digest(),
    )
    _timed("blake3 alone (1 thread)", size, args.repeat, lambda: blake3.blake3(plan).digest())

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        print(f"local ({tmp}):")
        _bench(EngineCache(Path(tmp) / "cache", strict=True), plan, args.repeat, local=True)

    if args.no_remote:
        return
    try:
        import s3fs
        from moto.server import ThreadedMotoServer
    except ImportError:
        print("remote: skipped (pip install s3fs 'moto[server]')")
        return
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        options = {
            "key": "bench",
            "secret": "bench",
            "client_kwargs": {
                "endpoint_url": f"http://127.0.0.1:{port}",
                "region_name": "us-west-2",
            },
        }
        s3fs.S3FileSystem(**options).mkdir("bench")
        with tempfile.TemporaryDirectory() as locks:
            cache = EngineCache(
                "s3://bench/engines", storage_options=options, lock_dir=locks, strict=True
            )
            print(f"remote (moto S3 server on 127.0.0.1:{port}, same process):")
            _bench(cache, plan, args.repeat, local=False)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
