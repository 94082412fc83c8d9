"""build_engine and refit_if_cached on the offline backend: the fine-tune loop and policy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import trt_netser
from tests.pipeline.nets import conv_net, fresh_plan, plan_bytes, rotary_net
from trt_netser.pipeline import EXTRAS_KEY, EntryMeta, Outcome, dump_key


def test_fine_tune_loop_refits_to_a_fresh_builds_plan(trt: Any, cache: Any) -> None:
    first = conv_net(trt, seed=0).build(cache=cache)
    assert first.outcome is Outcome.MISS_BUILT
    assert first.stored and first.refit_flag == "REFIT" and first.refit_flag_added
    tuned = conv_net(trt, seed=1)
    second = tuned.build(cache=cache)
    assert second.outcome is Outcome.HIT_REFIT, second.reason
    assert str(second.key) == str(first.key)
    assert second.weights_refit == 5  # kernel, bias, shift, scale, offset
    assert second.engine is not None and second.engine.refittable
    assert plan_bytes(second) == fresh_plan(conv_net(trt, seed=1))
    assert plan_bytes(second) != plan_bytes(first)
    for phase in ("key", "lookup", "collect", "deserialize", "refit"):
        assert phase in second.timings, phase


def test_refit_flag_added_sets_the_config_and_is_reported(trt: Any, cache: Any) -> None:
    net = conv_net(trt)
    assert not net.config.get_flag(trt.BuilderFlag.REFIT)
    result = net.build(cache=cache)
    assert net.config.get_flag(trt.BuilderFlag.REFIT)
    assert result.refit_flag_added and result.to_dict()["refit_flag_added"] is True


def test_keep_policy_without_refit_flag_needs_identical_weights(trt: Any, cache: Any) -> None:
    first = conv_net(trt, seed=0).build(cache=cache, refit="keep")
    assert first.outcome is Outcome.MISS_BUILT and first.refit_flag is None
    same = conv_net(trt, seed=0).build(cache=cache, refit="keep")
    assert same.outcome is Outcome.HIT_IDENTICAL
    assert plan_bytes(same) == plan_bytes(first)
    other = conv_net(trt, seed=1).build(cache=cache, refit="keep")
    assert other.outcome is Outcome.MISS_BUILT  # the key hashes every value
    assert str(other.key) != str(first.key)


def test_refit_identical_is_respected(trt: Any, cache: Any) -> None:
    first = conv_net(trt, flags=("REFIT_IDENTICAL",)).build(cache=cache)
    assert first.refit_flag == "REFIT_IDENTICAL" and not first.refit_flag_added
    again = conv_net(trt, flags=("REFIT_IDENTICAL",)).build(cache=cache)
    assert again.outcome is Outcome.HIT_IDENTICAL
    tuned = conv_net(trt, seed=5, flags=("REFIT_IDENTICAL",)).build(cache=cache)
    assert tuned.outcome is Outcome.MISS_BUILT


def test_refit_individual_fine_tune_of_marked_weights(trt: Any, cache: Any) -> None:
    def net(seed: int) -> Any:
        n = conv_net(trt, seed=seed, flags=("REFIT_INDIVIDUAL",), named=True)
        assert n.network.mark_weights_refittable("conv.weight")
        return n

    first = net(0).build(cache=cache)
    assert first.outcome is Outcome.MISS_BUILT and first.refit_flag == "REFIT_INDIVIDUAL"
    meta = EntryMeta.from_extras(cache.get(first.entry_key).extras)
    assert [n for n, _d, _c in meta.inventory.named] == ["conv.weight"]
    assert any(p.layer == "conv" and p.prop == "bias" for p in meta.pinned)
    # only the marked kernel changes: same key, refit
    tuned = net(0)
    tuned.arrays["kernel"][...] = 0.5
    second = tuned.build(cache=cache)
    assert second.outcome is Outcome.HIT_REFIT, second.reason
    reference = net(0)
    reference.arrays["kernel"][...] = 0.5
    assert plan_bytes(second) == fresh_plan(reference, ("REFIT_INDIVIDUAL",))


def test_weightless_entries_are_smaller_and_refit_fully(trt: Any, cache: Any) -> None:
    first = conv_net(trt, seed=0).build(cache=cache, weightless=True)
    assert first.outcome is Outcome.MISS_BUILT and first.weightless
    stored = cache.get(first.entry_key)
    assert stored.size < len(plan_bytes(first))
    assert EntryMeta.from_extras(stored.extras).weightless
    second = conv_net(trt, seed=3).build(cache=cache, weightless=True)
    assert second.outcome is Outcome.HIT_REFIT, second.reason
    assert plan_bytes(second) == fresh_plan(conv_net(trt, seed=3))
    # even identical weights are refit into a weightless plan
    third = conv_net(trt, seed=3).build(cache=cache, weightless=True)
    assert third.outcome is Outcome.HIT_REFIT


def test_strip_plan_config_is_stored_weightless(trt: Any, cache: Any) -> None:
    first = conv_net(trt, flags=("REFIT", "STRIP_PLAN")).build(cache=cache)
    assert first.weightless
    second = conv_net(trt, seed=2, flags=("REFIT", "STRIP_PLAN")).build(cache=cache)
    assert second.outcome is Outcome.HIT_REFIT
    engine = second.engine
    assert engine is not None and engine.refittable


def test_weightless_needs_a_refit_flag(trt: Any, cache: Any) -> None:
    with pytest.raises(ValueError, match="refittable"):
        conv_net(trt).build(cache=cache, refit="keep", weightless=True)


def test_rotary_tables_only_in_float_constants_are_refit(trt: Any, cache: Any) -> None:
    first = rotary_net(trt, 10000.0).build(cache=cache)
    assert first.outcome is Outcome.MISS_BUILT
    scaled = rotary_net(trt, 500000.0).build(cache=cache)  # another rotary_base: same key
    assert scaled.outcome is Outcome.HIT_REFIT, scaled.reason
    assert plan_bytes(scaled) == fresh_plan(rotary_net(trt, 500000.0))


def test_rotary_tables_baked_in_are_caught_by_the_pinned_check(trt: Any, cache: Any) -> None:
    # REFIT_INDIVIDUAL with nothing marked: the tables are baked into the engine
    first = rotary_net(trt, 10000.0, flags=("REFIT_INDIVIDUAL",)).build(cache=cache)
    meta = EntryMeta.from_extras(cache.get(first.entry_key).extras)
    assert {p.layer for p in meta.pinned} >= {"rotary_cos", "rotary_sin"}
    scaled = rotary_net(trt, 500000.0, flags=("REFIT_INDIVIDUAL",)).build(cache=cache)
    assert str(scaled.key) == str(first.key)
    assert scaled.outcome is Outcome.HIT_PINNED_MISMATCH_BUILT
    assert scaled.variant and scaled.entry_key.startswith(str(first.key) + "/pinned-")
    assert "rotary" in (scaled.reason or "")
    assert plan_bytes(scaled) == fresh_plan(
        rotary_net(trt, 500000.0, flags=("REFIT_INDIVIDUAL",)), ()
    )
    # both variants stay: each base hits its own engine
    again = rotary_net(trt, 500000.0, flags=("REFIT_INDIVIDUAL",)).build(cache=cache)
    assert again.outcome.hit and again.variant and again.entry_key == scaled.entry_key
    back = rotary_net(trt, 10000.0, flags=("REFIT_INDIVIDUAL",)).build(cache=cache)
    assert back.outcome.hit and not back.variant
    assert plan_bytes(back) == plan_bytes(first)


def test_verify_mode_builds_fresh_and_compares(trt: Any, cache: Any) -> None:
    conv_net(trt, seed=0).build(cache=cache)
    checked = conv_net(trt, seed=4).build(cache=cache, verify=True)
    assert checked.outcome is Outcome.HIT_REFIT and checked.verified == "plan"
    assert "verify" in checked.timings


def test_refit_if_cached(trt: Any, cache: Any) -> None:
    net = conv_net(trt, seed=0)
    assert trt_netser.refit_if_cached(net.builder, net.network, net.config, cache=cache) is None
    assert net.config.get_flag(trt.BuilderFlag.REFIT)  # the script's own build is refittable
    net.build(cache=cache)
    tuned = conv_net(trt, seed=7)
    engine = trt_netser.refit_if_cached(tuned.builder, tuned.network, tuned.config, cache=cache)
    assert engine is not None
    config = engine.create_serialization_config()
    config.set_flag(trt.SerializationFlag.INCLUDE_REFIT)
    assert bytes(memoryview(engine.serialize_with_config(config))) == fresh_plan(
        conv_net(trt, seed=7)
    )


def test_entry_records_inventory_pinned_and_dump(trt: Any, cache: Any) -> None:
    result = conv_net(trt, named=True).build(cache=cache)
    entry = cache.get(result.entry_key)
    meta = EntryMeta.from_extras(entry.extras)
    layers = {(ly, r) for ly, r, _d, _c in meta.inventory.layers}
    assert {("conv", "BIAS"), ("scale", "SHIFT"), ("scale", "SCALE"), ("offset", "CONSTANT")} <= (
        layers
    )
    pinned = {(p.layer, p.prop) for p in meta.pinned}
    assert ("scale", "power") in pinned and ("index", "weights") in pinned
    assert all(p.digest and len(p.digest) == 64 for p in meta.pinned)
    assert meta.dump_key == dump_key(result.entry_key)
    assert cache.get(meta.dump_key) is not None
    assert EXTRAS_KEY in entry.extras


def test_no_cache_builds(trt: Any) -> None:
    result = conv_net(trt).build(cache=False, deserialize=True)
    assert result.outcome is Outcome.MISS_BUILT and not result.stored
    assert result.engine is not None


def test_build_failure_raises(trt: Any, cache: Any) -> None:
    net = conv_net(trt)
    net.network.unmark_output(net.network.get_output(0))
    with pytest.raises(trt_netser.pipeline.BuildError, match="could not build"):
        net.build(cache=cache)


def test_describe_entry_lists_inventory_and_pinned(trt: Any, cache: Any) -> None:
    result = conv_net(trt, named=True).build(cache=cache)
    lines = trt_netser.pipeline.describe_entry(cache.get(result.entry_key).extras)
    text = "\n".join(lines)
    assert lines[0].startswith("refit: REFIT, with weights")
    assert "conv.weight: FLOAT x 108" in text and "scale [SHIFT]: FLOAT x 4" in text
    assert "'scale'.power" in text and "pinned weights:" in text
    assert trt_netser.pipeline.describe_entry({}) == []


def test_miss_explained_by_a_config_change(trt: Any, cache: Any) -> None:
    first = conv_net(trt).build(cache=cache)
    other = conv_net(trt)
    other.config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    result = other.build(cache=cache)
    assert result.outcome is Outcome.MISS_BUILT
    explanation = result.explanation
    assert explanation.nearest == first.entry_key and explanation.relation == "same-network"
    assert explanation.differing == ["config"]
    assert any("WORKSPACE" in path or "memory" in path for _c, path, _o, _n in explanation.details)
    assert result.reason == explanation.summary and "differs in config" in result.reason


def test_miss_on_an_empty_cache_says_so(trt: Any, cache: Any) -> None:
    result = conv_net(trt).build(cache=cache)
    assert result.explanation.relation == "empty" and result.explanation.nearest is None


def _streaming_net(trt: Any, seed: int) -> Any:
    with trt_netser.capture(trt):
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        x = network.add_input("x", trt.float32, trt.Dims([1, 4, 8]))
        w = np.random.default_rng(seed).standard_normal((1, 8, 8)).astype(np.float32)
        const = network.add_constant(trt.Dims([1, 8, 8]), trt.Weights(w))
        const.name = "w"
        mm = network.add_matrix_multiply(
            x, trt.MatrixOperation.NONE, const.get_output(0), trt.MatrixOperation.NONE
        )
        mm.get_output(0).name = "y"
        network.mark_output(mm.get_output(0))
        config = builder.create_builder_config()
        config.set_flag(trt.BuilderFlag.WEIGHT_STREAMING)
    return builder, network, config, w


def test_weight_streaming_engines_are_keyed_cached_and_refit(trt: Any, cache: Any) -> None:
    builder, network, config, _w = _streaming_net(trt, 0)
    first = trt_netser.build_engine(builder, network, config, cache=cache)
    assert first.outcome is Outcome.MISS_BUILT
    assert (
        first.weight_streaming is not None and "streamable_weights_size" in first.weight_streaming
    )
    builder, network, config, _w = _streaming_net(trt, 1)
    second = trt_netser.build_engine(builder, network, config, cache=cache)
    assert second.outcome is Outcome.HIT_REFIT, second.reason
    assert "weight_streaming_budget_v2" in second.weight_streaming
    # the budget is a runtime setting: changing it on the engine does not touch the key
    second.engine.weight_streaming_budget_v2 = 0
    builder, network, config, _w = _streaming_net(trt, 2)
    third = trt_netser.build_engine(builder, network, config, cache=cache)
    assert str(third.key) == str(first.key) and third.outcome is Outcome.HIT_REFIT


def test_script_with_its_own_build_call(trt: Any, cache: Any) -> None:
    def script(seed: int) -> tuple[Any, str]:
        net = conv_net(trt, seed=seed)
        engine = trt_netser.refit_if_cached(net.builder, net.network, net.config, cache=cache)
        if engine is not None:
            return engine, "refit"
        plan = net.builder.build_serialized_network(net.network, net.config)  # its own call
        stored = trt_netser.pipeline.store_engine(
            net.builder, net.network, net.config, plan, cache=cache
        )
        assert stored.stored and stored.outcome is Outcome.MISS_BUILT
        return plan, "built"

    assert script(0)[1] == "built"
    engine, how = script(1)
    assert how == "refit"
    config = engine.create_serialization_config()
    config.set_flag(trt.SerializationFlag.INCLUDE_REFIT)
    assert bytes(memoryview(engine.serialize_with_config(config))) == fresh_plan(
        conv_net(trt, seed=1)
    )


class _VerifyBuilder:
    """A builder whose next build differs from the cached one (as a real GPU's may)."""

    def __init__(self, inner: Any, build: Any) -> None:
        self._inner, self._build = inner, build
        self.logger = inner.logger

    def build_serialized_network(self, network: Any, config: Any) -> Any:
        return self._build(network, config)


def test_verify_accepts_other_bytes_with_the_same_engine_signature(trt: Any, cache: Any) -> None:
    conv_net(trt).build(cache=cache)
    net = conv_net(trt, seed=2)

    def other_tactics(network: Any, config: Any) -> Any:
        config.builder_optimization_level = 5  # other plan bytes, same engine interface
        return net.builder.build_serialized_network(network, config)

    builder = _VerifyBuilder(net.builder, other_tactics)
    result = trt_netser.build_engine(builder, net.network, net.config, cache=cache, verify=True)
    assert result.outcome is Outcome.HIT_REFIT and result.verified == "signature"


def test_verify_rejects_a_different_engine(trt: Any, cache: Any) -> None:
    first = conv_net(trt).build(cache=cache)
    net = conv_net(trt, seed=2)
    impostor = conv_net(trt, seed=2, stride=2)  # another output shape
    impostor.config.set_flag(trt.BuilderFlag.REFIT)

    def different(network: Any, config: Any) -> Any:
        return impostor.builder.build_serialized_network(impostor.network, impostor.config)

    builder = _VerifyBuilder(net.builder, different)
    result = trt_netser.build_engine(builder, net.network, net.config, cache=cache, verify=True)
    assert result.outcome is Outcome.HIT_VERIFY_FAILED_REBUILT and result.failure == "verify"
    assert result.quarantined is not None and cache.get(first.entry_key) is not None


def test_strip_plan_alone_with_keep_is_refit_from_the_network(trt: Any, cache: Any) -> None:
    # STRIP_PLAN without a refit flag: TensorRT treats it as REFIT_IDENTICAL, stripped
    first = conv_net(trt, flags=("STRIP_PLAN",)).build(cache=cache, refit="keep")
    assert first.refit_flag is None and first.weightless
    again = conv_net(trt, flags=("STRIP_PLAN",)).build(cache=cache, refit="keep")
    assert again.outcome is Outcome.HIT_REFIT  # the stripped plan needs its weights back
    assert plan_bytes(again) == fresh_plan(conv_net(trt, flags=("STRIP_PLAN",)), ())


def test_refit_if_cached_quarantines_a_bad_entry_and_returns_none(trt: Any, cache: Any) -> None:
    first = conv_net(trt).build(cache=cache)
    cache.put(first.entry_key, b"garbage", extras=cache.get(first.entry_key).extras)
    net = conv_net(trt, seed=1)
    assert trt_netser.refit_if_cached(net.builder, net.network, net.config, cache=cache) is None
    assert cache.get(first.entry_key) is None  # quarantined, so the next build stores anew


def test_the_refitter_gets_the_callers_buffers_not_copies(
    trt: Any, cache: Any, monkeypatch: Any
) -> None:
    conv_net(trt, seed=0, named=True).build(cache=cache)
    tuned = conv_net(trt, seed=1, named=True)
    given: list[Any] = []
    set_weights, set_named = trt.Refitter.set_weights, trt.Refitter.set_named_weights

    def spy_weights(self: Any, layer: str, role: Any, weights: Any) -> bool:
        given.append(weights)
        return set_weights(self, layer, role, weights)

    def spy_named(self: Any, name: str, weights: Any, *rest: Any) -> bool:
        given.append(weights)
        return set_named(self, name, weights, *rest)

    monkeypatch.setattr(trt.Refitter, "set_weights", spy_weights)
    monkeypatch.setattr(trt.Refitter, "set_named_weights", spy_named)
    result = tuned.build(cache=cache)
    assert result.outcome is Outcome.HIT_REFIT and len(given) == result.weights_refit
    arrays = [a for name, a in tuned.arrays.items() if name not in ("power", "index")]
    for weights in given:
        assert isinstance(weights, np.ndarray)
        assert any(np.shares_memory(weights, a) for a in arrays)  # a view of the caller's
    assert result.weight_bytes == sum(a.nbytes for a in arrays)


def test_miss_explanation_is_logged(trt: Any, cache: Any, caplog: Any) -> None:
    conv_net(trt).build(cache=cache)
    with caplog.at_level("INFO", logger="trt_netser.pipeline"):
        conv_net(trt, stride=2).build(cache=cache)
    logged = [r.getMessage() for r in caplog.records if r.name == "trt_netser.pipeline"]
    assert any(m.startswith("miss: nearest entry") for m in logged)
    assert any("stride_nd" in m for m in logged)
