"""Hypothesis: random zoo networks and weight sets through build_engine twice.

The second call (other learned weights, same structure) is a hit whose plan equals a
fresh build's with the second weights (or, under REFIT_INDIVIDUAL with nothing marked,
a pinned-weights variant: equal to a fresh build all the same). Layer types the offline
builder refuses are skipped (they cannot be built at all, cached or not).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import trt_netser
from tests.hashing.zoo import ZOO, new_network
from trt_netser.cache import EngineCache
from trt_netser.pipeline import BuildError, Outcome

NAMES = sorted(ZOO)


def _network(trt: Any, names: list[str], seed: int, flag: str | None) -> tuple[Any, Any, Any]:
    with trt_netser.capture(trt):
        builder, net, x = new_network(trt)
        for i, name in enumerate(names):
            layer = ZOO[name](trt, net, x, seed + i)
            for j in range(layer.num_outputs):
                out = layer.get_output(j)
                if out is not None and not out.is_network_output:
                    net.mark_output(out)
        config = builder.create_builder_config()
        if flag is not None:
            config.set_flag(getattr(trt.BuilderFlag, flag))
    return builder, net, config


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3),
    seeds=st.tuples(st.integers(0, 2**16), st.integers(0, 2**16)),
    weightless=st.booleans(),
    flag=st.sampled_from([None, "REFIT", "REFIT_INDIVIDUAL"]),
)
def test_second_build_is_a_hit_equal_to_a_fresh_build(
    trt: Any, names: list[str], seeds: tuple[int, int], weightless: bool, flag: str | None
) -> None:
    with tempfile.TemporaryDirectory() as root:
        cache = EngineCache(Path(root) / "cache")
        builder, net, config = _network(trt, names, seeds[0], flag)
        try:
            first = trt_netser.build_engine(
                builder, net, config, cache=cache, weightless=weightless, explain=False
            )
        except BuildError:
            assume(False)  # the offline builder refuses this network at all
        assert first.outcome is Outcome.MISS_BUILT
        builder, net, config = _network(trt, names, seeds[1], flag)
        second = trt_netser.build_engine(
            builder, net, config, cache=cache, weightless=weightless, explain=False
        )
        assert second.outcome.hit or second.outcome is Outcome.HIT_PINNED_MISMATCH_BUILT, (
            second.outcome,
            second.reason,
        )
        assert str(second.key) == str(first.key)
        builder, net, config = _network(trt, names, seeds[1], flag or "REFIT")
        fresh = builder.build_serialized_network(net, config)
        assert bytes(memoryview(second.plan)) == bytes(memoryview(fresh))
