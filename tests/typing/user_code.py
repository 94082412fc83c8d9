"""Client code as users write it: must pass ``mypy --strict`` against trt_netser's types.

Checked by test_user_code_types.py (not imported by pytest: it only has to type-check).
"""

from __future__ import annotations

import trt_netser
import trt_netser.offline as trt
from trt_netser.portability import Environment


def build_and_key() -> tuple[str, str, list[str], tuple[str, ...], bool]:
    with trt_netser.capture(trt):
        builder = trt.Builder(trt.Logger())
        network = builder.create_network(0)
        x = network.add_input("x", trt.float32, (1, 8))
        network.mark_output(network.add_activation(x, trt.ActivationType.RELU).get_output(0))
        config = builder.create_builder_config()
        config.set_flag(trt.BuilderFlag.REFIT)
    digest: str = trt_netser.hash_network(network)
    key = trt_netser.cache_key(network, config, extras={"model": "m"})
    lines: list[str] = key.explain()
    host = Environment("10.16.1.11", compute_capability="9.0", gpu_name="NVIDIA H100")
    other = trt_netser.cache_key(network, config, environment=host)
    differing: tuple[str, ...] = key.diff(other)
    return digest, str(key), lines, differing, trt_netser.is_offline(trt)


def cached_plan(cache: trt_netser.EngineCache, key: trt_netser.CacheKey) -> bytes | None:
    entry = cache.get(key)
    return entry.plan if entry is not None else None
