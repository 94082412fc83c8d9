"""Client code as users write it: must pass ``mypy --strict`` against trt_netser's types.

Checked by test_user_code_types.py (not imported by pytest: it only has to type-check).
"""

from __future__ import annotations

import trt_netser
import trt_netser.offline as trt
from trt_netser.pipeline import Outcome
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


def _network() -> tuple[trt.Builder, trt.INetworkDefinition, trt.IBuilderConfig]:
    builder = trt.Builder(trt.Logger())
    network = builder.create_network(0)
    x = network.add_input("x", trt.float32, (1, 8))
    network.mark_output(network.add_activation(x, trt.ActivationType.RELU).get_output(0))
    return builder, network, builder.create_builder_config()


def readme_cache(root: str) -> bytes:
    """The README's cache example: get_or_build, then the verified bytes."""
    builder, network, config = _network()
    config.set_flag(trt.BuilderFlag.REFIT)
    key = trt_netser.cache_key(network, config)
    cache = trt_netser.EngineCache(root)
    entry = cache.get_or_build(key, lambda: builder.build_serialized_network(network, config))
    engine_bytes: bytes = entry.read()
    stored: trt_netser.CacheEntry = cache.put(key, engine_bytes, extras={"model": "m"})
    return engine_bytes if stored.stored else b""


def readme_pipeline(root: str) -> tuple[str, str | None, bool, bytes]:
    """The README's pipeline example: outcome, reason, engine and plan of build_engine."""
    builder, network, config = _network()
    cache = trt_netser.EngineCache(root)
    result: trt_netser.BuildResult = trt_netser.build_engine(builder, network, config, cache=cache)
    outcome: str = result.outcome.value
    if result.outcome is Outcome.MISS_BUILT:
        print("built:", result.reason)
    plan = bytes(result.plan)
    key: trt_netser.CacheKey = result.key
    seconds: float = result.timings.total
    engine = trt_netser.refit_if_cached(builder, network, config, cache=root)
    if engine is None:
        builder.build_serialized_network(network, config)
    print(key.explain(), seconds)
    return outcome, result.reason, result.hit, plan
