"""Subprocess workers for the crash-safety and race tests (run as a script)."""

from __future__ import annotations

import hashlib
import os
import sys
import time


def plan_for(seed: int, size: int) -> bytes:
    """Deterministic plan content for ``seed`` (so readers can check what they got)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def writer(root: str, worker: int) -> None:
    from trt_netser.cache import EngineCache

    cache = EngineCache(root)
    n = 0
    while True:
        seed = worker * 1_000_000 + n
        size = (3 + n % 4) << 20  # 3-6 MiB
        cache.put(f"crash/k{n % 3}", plan_for(seed, size), extras={"seed": seed})
        n += 1


def racer(root: str, count_file: str, go_file: str) -> None:
    from trt_netser.cache import EngineCache

    cache = EngineCache(root, strict=True)
    while not os.path.exists(go_file):
        time.sleep(0.005)

    def build() -> bytes:
        fd = os.open(count_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        time.sleep(0.3)  # a slow build widens the race window
        return plan_for(os.getpid(), 2 << 20)

    entry = cache.get_or_build("race/key", build)
    assert entry.plan is not None
    print(entry.digest, hashlib.sha256(entry.plan).hexdigest(), flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "writer":
        writer(args[0], int(args[1]))
    else:
        racer(*args)
