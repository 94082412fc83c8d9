"""Every hit-path failure ends in a correct engine and the documented outcome."""

from __future__ import annotations

import json
import os
import struct
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import blake3
import cbor2
import numpy as np
import pytest

import trt_netser
from tests.pipeline.nets import conv_net, fresh_plan, plan_bytes
from trt_netser.cache import EngineCache
from trt_netser.capturing import lookup_network
from trt_netser.pipeline import EXTRAS_KEY, FAILURES, EntryMeta, Outcome, PipelineWarning


def _stored(trt: Any, cache: Any, seed: int = 0) -> Any:
    result = conv_net(trt, seed=seed).build(cache=cache)
    assert result.outcome is Outcome.MISS_BUILT
    return result


def _republish(cache: Any, key: str, plan: bytes, edit: Any = None) -> None:
    """Replace the entry's plan and/or metadata (as a buggy or hostile writer would)."""
    extras = cache.get(key).extras
    if edit is not None:
        edit(extras[EXTRAS_KEY])
    cache.put(key, plan, extras=extras)


def _assert_rebuilt(result: Any, failure: str, trt: Any, seed: int, quarantined: bool) -> None:
    assert result.outcome is Outcome.HIT_REFIT_FAILED_REBUILT, (result.outcome, result.reason)
    assert result.failure == failure and failure in FAILURES
    assert (result.quarantined is not None) is quarantined
    assert result.stored
    assert plan_bytes(result) == fresh_plan(conv_net(trt, seed=seed))


def test_garbage_plan_is_quarantined_and_rebuilt(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)
    _republish(cache, first.entry_key, b"not a TensorRT plan at all")
    result = conv_net(trt, seed=1).build(cache=cache)
    _assert_rebuilt(result, "deserialize", trt, 1, quarantined=True)
    assert Path(result.quarantined).is_dir()
    assert conv_net(trt, seed=2).build(cache=cache).outcome is Outcome.HIT_REFIT


def test_truncated_plan_is_quarantined_and_rebuilt(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)
    plan = plan_bytes(first)
    _republish(cache, first.entry_key, plan[: len(plan) // 2])
    _assert_rebuilt(conv_net(trt, seed=1).build(cache=cache), "deserialize", trt, 1, True)


class _Recorder:
    """A logger as client code writes one (subclassing trt.ILogger), keeping messages."""

    @staticmethod
    def make(trt: Any) -> Any:
        class Recorder(trt.ILogger):  # type: ignore[misc, name-defined]
            def __init__(self) -> None:
                trt.ILogger.__init__(self)
                self.messages: list[tuple[Any, str]] = []

            def log(self, severity: Any, msg: str) -> None:
                self.messages.append((severity, msg))

        return Recorder()


def _with_version(plan: bytes, version: str) -> bytes:
    """The plan re-sealed with another TensorRT version (layout of docs/offline-engine.md:
    magic, version, reserved, payload and data lengths, canonical CBOR payload, data,
    blake3)."""
    magic, fmt, reserved, length, size = struct.unpack_from("<8sHHQQ", plan)
    payload = cbor2.loads(plan[28 : 28 + length])
    assert payload["tensorrt"] == "10.16.1.11"
    payload["tensorrt"] = version
    body = cbor2.dumps(payload, canonical=True)
    head = struct.pack("<8sHHQQ", magic, fmt, reserved, len(body), size)
    data = plan[28 + length : 28 + length + size]
    return head + body + data + blake3.blake3(head + body + data).digest()


def test_plan_of_another_tensorrt_version(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)
    _republish(cache, first.entry_key, _with_version(plan_bytes(first), "10.15.1.8"))
    logger = _Recorder.make(trt)
    result = conv_net(trt, seed=1).build(cache=cache, logger=logger)
    _assert_rebuilt(result, "deserialize", trt, 1, True)
    errors = [m for sev, m in logger.messages if sev == trt.ILogger.Severity.ERROR]
    assert any("version" in m and "10.15.1.8" in m for m in errors), logger.messages


def test_flipped_plan_bit_is_caught_by_the_cache(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)
    plan_file = next(Path(cache.path_for(first.entry_key)).glob("plan-*"))
    data = bytearray(plan_file.read_bytes())
    data[len(data) // 2] ^= 1
    os.chmod(plan_file, 0o600)
    plan_file.write_bytes(bytes(data))
    result = conv_net(trt, seed=1).build(cache=cache)
    assert result.outcome is Outcome.MISS_BUILT  # the cache quarantined it on read
    assert plan_bytes(result) == fresh_plan(conv_net(trt, seed=1))


def test_refit_returning_false_rebuilds(trt: Any, cache: Any, monkeypatch: Any) -> None:
    _stored(trt, cache)
    monkeypatch.setattr(trt.Refitter, "refit_cuda_engine", lambda self: False)
    result = conv_net(trt, seed=1).build(cache=cache, deserialize=True)
    _assert_rebuilt(result, "refit", trt, 1, quarantined=True)
    assert result.engine is not None  # the fresh build's engine, not the half-refit one


def test_weights_still_missing_rebuilds(trt: Any, cache: Any, monkeypatch: Any) -> None:
    _stored(trt, cache)
    monkeypatch.setattr(trt.Refitter, "get_missing_weights", lambda self: ["ghost"])
    _assert_rebuilt(conv_net(trt, seed=1).build(cache=cache), "missing-weights", trt, 1, True)


def test_manifest_listing_a_weight_the_engine_lacks(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)

    def add_weight(meta: dict[str, Any]) -> None:
        meta["inventory"]["named"].append(["ghost", "FLOAT", 3])

    _republish(cache, first.entry_key, plan_bytes(first), add_weight)
    _assert_rebuilt(conv_net(trt, seed=1).build(cache=cache), "inventory-mismatch", trt, 1, True)


@pytest.mark.parametrize("field", ["count", "dtype"])
def test_wrong_prototype_in_the_manifest(trt: Any, cache: Any, field: str) -> None:
    result = conv_net(trt, named=True).build(cache=cache)

    def corrupt(meta: dict[str, Any]) -> None:
        name, dtype, count = meta["inventory"]["named"][0]
        meta["inventory"]["named"][0] = (
            [name, dtype, count + 1] if field == "count" else [name, "HALF", count]
        )

    _republish(cache, result.entry_key, plan_bytes(result), corrupt)
    rebuilt = conv_net(trt, seed=1, named=True).build(cache=cache)
    assert rebuilt.outcome is Outcome.HIT_REFIT_FAILED_REBUILT
    assert rebuilt.failure == "prototype-mismatch" and rebuilt.quarantined
    assert plan_bytes(rebuilt) == fresh_plan(conv_net(trt, seed=1, named=True))


def test_refitter_rejecting_a_weight_rebuilds(trt: Any, cache: Any, monkeypatch: Any) -> None:
    _stored(trt, cache)
    monkeypatch.setattr(trt.Refitter, "set_weights", lambda self, layer, role, w: False)
    _assert_rebuilt(conv_net(trt, seed=1).build(cache=cache), "set-weights", trt, 1, True)


def test_tampered_pinned_list_is_bad_metadata(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)

    def drop(meta: dict[str, Any]) -> None:
        meta["pinned"] = meta["pinned"][1:]  # the digest over the list no longer matches

    _republish(cache, first.entry_key, plan_bytes(first), drop)
    _assert_rebuilt(conv_net(trt, seed=1).build(cache=cache), "bad-metadata", trt, 1, True)


def test_entry_without_pipeline_metadata_is_replaced(trt: Any, cache: Any) -> None:
    net = conv_net(trt)
    net.config.set_flag(trt.BuilderFlag.REFIT)
    key = net.build(cache=False).key
    cache.get_or_build(key, lambda: net.builder.build_serialized_network(net.network, net.config))
    result = conv_net(trt, seed=1).build(cache=cache)
    _assert_rebuilt(result, "no-metadata", trt, 1, quarantined=False)
    assert conv_net(trt, seed=2).build(cache=cache).outcome is Outcome.HIT_REFIT


def _named_shift(trt: Any, seed: int) -> Any:
    n = conv_net(trt, seed=seed)
    # shift and scale are both FLOAT x 4: by dtype and count a name on one is ambiguous
    with trt_netser.capture(trt):
        assert n.network.set_weights_name(trt.Weights(n.arrays["shift"]), "scale.shift")
    return n


def _pointer_known(network: Any) -> bool:
    record = lookup_network(network)
    assert record is not None
    named = record.weights_names[0]
    return len(named) > 3 and isinstance(named[3], int)  # a capture may record it


def test_ambiguous_weights_name_is_refit_by_layer_and_role(trt: Any, cache: Any) -> None:
    first = _named_shift(trt, 0).build(cache=cache)
    meta = EntryMeta.from_extras(cache.get(first.entry_key).extras)
    assert "scale.shift" in [n for n, _d, _c in meta.inventory.named]
    result = _named_shift(trt, 1).build(cache=cache)
    # never guessed by name: set through ('scale', SHIFT), and TensorRT confirms nothing
    # is missing
    assert result.outcome is Outcome.HIT_REFIT, result.reason
    assert plan_bytes(result) == fresh_plan(_named_shift(trt, 1))


def test_a_name_the_network_cannot_supply_rebuilds(trt: Any, cache: Any, monkeypatch: Any) -> None:
    _named_shift(trt, 0).build(cache=cache)
    tuned = _named_shift(trt, 1)
    # an engine that insists on the name (as one whose named weights have no layer might)
    monkeypatch.setattr(trt.Refitter, "get_missing_weights", lambda self: ["scale.shift"])
    result = tuned.build(cache=cache)
    assert result.outcome is Outcome.HIT_REFIT_FAILED_REBUILT
    if _pointer_known(tuned.network):
        assert result.failure == "missing-weights"
    else:
        assert result.failure == "network-lacks-weight" and result.quarantined is None
        assert "could carry it" in (result.reason or "")
    assert plan_bytes(result) == fresh_plan(_named_shift(trt, 1))


def test_weight_names_given_with_their_buffers_resolve_the_ambiguity(trt: Any, cache: Any) -> None:
    _named_shift(trt, 0).build(cache=cache)
    tuned = _named_shift(trt, 1)
    result = tuned.build(cache=cache, weight_names={"scale.shift": tuned.arrays["shift"]})
    assert result.outcome is Outcome.HIT_REFIT, result.reason
    assert plan_bytes(result) == fresh_plan(_named_shift(trt, 1))


def test_unwritable_store_degrades_to_a_plain_build(trt: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache root should be")
    cache = EngineCache(blocker / "cache")
    with pytest.warns(PipelineWarning, match="not stored"):
        result = conv_net(trt, seed=0).build(cache=cache)
    assert result.outcome is Outcome.CACHE_ERROR_BUILT and not result.stored
    assert plan_bytes(result) == fresh_plan(conv_net(trt, seed=0))


def test_strict_cache_read_error_degrades(trt: Any, tmp_path: Path, monkeypatch: Any) -> None:
    cache = EngineCache(tmp_path / "c", strict=True)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(cache, "get", broken)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = conv_net(trt).build(cache=cache)
    assert result.outcome is Outcome.CACHE_ERROR_BUILT and "disk on fire" in (result.reason or "")
    assert any(issubclass(w.category, PipelineWarning) for w in seen)
    assert plan_bytes(result) == fresh_plan(conv_net(trt))


def test_every_failure_code_is_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "pipeline.md").read_text()
    for code in FAILURES:
        assert f"`{code}`" in doc, code
    for outcome in Outcome:
        assert f"`{outcome.value}`" in doc, outcome


def test_quarantine_reason_is_recorded(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)
    _republish(cache, first.entry_key, b"garbage")
    result = conv_net(trt, seed=1).build(cache=cache)
    reason = json.loads((Path(result.quarantined) / "reason.json").read_text())
    assert reason["key"] == first.entry_key and reason["reason"].startswith("deserialize")


def test_unreadable_pinned_weight_is_never_trusted(trt: Any, cache: Any) -> None:
    first = _stored(trt, cache)
    meta = EntryMeta.from_extras(cache.get(first.entry_key).extras)
    blind = EntryMeta(
        **{**meta.__dict__, "pinned": tuple(replace(p, digest=None) for p in meta.pinned)}
    )
    cache.put(first.entry_key, plan_bytes(first), extras=blind.to_extras())
    _assert_rebuilt(conv_net(trt, seed=1).build(cache=cache), "unpinnable", trt, 1, False)


def test_failed_hit_uses_the_entry_another_rank_just_stored(
    trt: Any, cache: Any, monkeypatch: Any
) -> None:
    first = _stored(trt, cache)
    good_plan, good_extras = plan_bytes(first), cache.get(first.entry_key).extras
    _republish(cache, first.entry_key, b"garbage")
    calls: list[str] = []

    def another_rank_rebuilt_it(key: str, reason: str, *, entry: Any = None) -> None:
        calls.append(reason)
        cache.put(key, good_plan, extras=good_extras)  # meanwhile, rank 0 replaced it

    monkeypatch.setattr(cache, "quarantine", another_rank_rebuilt_it)
    result = conv_net(trt, seed=1).build(cache=cache)
    assert calls and calls[0].startswith("deserialize")
    assert result.outcome is Outcome.HIT_REFIT  # refit rank 0's engine, no second build
    assert plan_bytes(result) == fresh_plan(conv_net(trt, seed=1))


def _same_named_constants(trt: Any, seed: int) -> Any:
    with trt_netser.capture(trt):
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        network = builder.create_network(0)
        x = network.add_input("x", trt.float32, trt.Dims([1, 4]))
        keep = []
        for i in range(2):
            array = np.random.default_rng(seed + i).standard_normal((1, 4)).astype(np.float32)
            keep.append(array)
            const = network.add_constant(trt.Dims([1, 4]), trt.Weights(array))
            const.name = "same"  # two layers, one name: set_weights("same", ...) is ambiguous
            x = network.add_elementwise(x, const.get_output(0), trt.ElementWiseOperation.SUM)
            x = x.get_output(0)
        x.name = "y"
        network.mark_output(x)
    return builder, network, builder.create_builder_config(), keep


def test_duplicate_layer_names_are_never_refit(trt: Any, cache: Any) -> None:
    builder, network, config, _keep = _same_named_constants(trt, 0)
    with pytest.warns(PipelineWarning, match="not unique"):
        first = trt_netser.build_engine(builder, network, config, cache=cache)
    assert first.outcome is Outcome.MISS_BUILT and not first.stored
    builder, network, config, _keep = _same_named_constants(trt, 5)
    with pytest.warns(PipelineWarning):
        second = trt_netser.build_engine(builder, network, config, cache=cache)
    assert second.outcome is Outcome.MISS_BUILT
    builder, network, config, _keep = _same_named_constants(trt, 5)
    config.set_flag(trt.BuilderFlag.REFIT)
    fresh = builder.build_serialized_network(network, config)
    assert plan_bytes(second) == bytes(memoryview(fresh))
