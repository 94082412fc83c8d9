"""MoE engines through the cache, by running them: the write-only setters that change what
the layer computes change the key, and new expert weights keep the key while the refit
hit computes exactly what a fresh build computes."""

from __future__ import annotations

from typing import Any

import numpy as np

import trt_netser
from trt_netser.cache import EngineCache

E, H, INTER, K, T = 3, 8, 5, 2, 6


def moe_net(trt: Any, seed: int, act: str = "SILU", swiglu: Any = None) -> tuple[Any, Any, Any]:
    """Builder, network and refit config of a captured MoE network; ``seed`` picks weights."""
    rng = np.random.default_rng(seed)
    with trt_netser.capture(trt):
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        net = builder.create_network(0)
        x = net.add_input("x", trt.float32, (T, H))
        sel = net.add_input("sel", trt.int32, (T, K))
        scores = net.add_input("scores", trt.float32, (T, K))
        layer = net.add_moe(x, sel, scores)

        def const(*shape: int) -> Any:
            w = rng.standard_normal(shape).astype(np.float32)
            return net.add_constant(shape, trt.Weights(w)).get_output(0)

        layer.set_gated_weights(
            const(E, INTER, H), const(E, INTER, H), const(E, H, INTER), getattr(trt.MoEActType, act)
        )
        layer.set_gated_biases(const(E, INTER), const(E, INTER), const(E, H))
        if swiglu is not None:
            layer.set_swiglu_params(*swiglu)
        y = layer.get_output(0)
        y.name = "y"
        net.mark_output(y)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    return builder, net, config


def feeds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(99)
    return {
        "x": rng.standard_normal((T, H)).astype(np.float32),
        "sel": rng.integers(0, E, (T, K)).astype(np.int32),
        "scores": rng.random((T, K)).astype(np.float32),
    }


def run(trt: Any, builder: Any, net: Any, config: Any) -> np.ndarray:
    plan = builder.build_serialized_network(net, config)
    engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(plan)
    return trt.run(engine, feeds())["y"]  # type: ignore[no-any-return]


def test_setters_that_change_the_outputs_change_the_key(trt: Any) -> None:
    variants = {
        "silu": moe_net(trt, 0),
        "none": moe_net(trt, 0, act="NONE"),
        "gpt-oss swiglu": moe_net(trt, 0, swiglu=(7.0, 1.702, 1.0)),
        "limit 0.5": moe_net(trt, 0, swiglu=(0.5, 1.702, 1.0)),
    }
    outs = {name: run(trt, *v) for name, v in variants.items()}
    keys = {name: str(trt_netser.cache_key(v[1], v[2])) for name, v in variants.items()}
    names = sorted(variants)
    for a in names:
        for b in names:
            if a < b:
                assert not np.array_equal(outs[a], outs[b]), (a, b)
                assert keys[a] != keys[b], (a, b)


def test_new_expert_weights_keep_the_key_and_the_refit_hit_equals_a_fresh_build(
    trt: Any, cache: EngineCache
) -> None:
    b1, n1, c1 = moe_net(trt, 1, swiglu=(7.0, 1.702, 1.0))
    b2, n2, c2 = moe_net(trt, 2, swiglu=(7.0, 1.702, 1.0))
    assert str(trt_netser.cache_key(n1, c1)) == str(trt_netser.cache_key(n2, c2))
    assert trt_netser.build_engine(b1, n1, c1, cache=cache).outcome.value == "miss-built"
    hit = trt_netser.build_engine(b2, n2, c2, cache=cache)
    assert hit.outcome.value == "hit-refit", hit.failure
    got = trt.run(hit.engine, feeds())["y"]
    fresh = run(trt, *moe_net(trt, 2, swiglu=(7.0, 1.702, 1.0)))
    assert got.tobytes() == fresh.tobytes()
    assert not np.array_equal(fresh, run(trt, *moe_net(trt, 1, swiglu=(7.0, 1.702, 1.0))))
