"""Large refit records go to a sidecar entry: manifests are bounded (1 MiB)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

import trt_netser
from tests.pipeline.nets import conv_net, fresh_plan, plan_bytes
from trt_netser.cli import main
from trt_netser.pipeline import EXTRAS_KEY, _record


@pytest.fixture
def sidecar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record counts as large (a 15 000-weight network is slow to build here)."""
    monkeypatch.setattr(_record, "INLINE_LIMIT", 0)


def test_large_record_is_stored_beside_and_refit_from(trt: Any, cache: Any, sidecar: None) -> None:
    first = conv_net(trt, seed=0, named=True).build(cache=cache)
    assert first.outcome.value == "miss-built"
    extras = cache.get(first.entry_key).extras[EXTRAS_KEY]
    assert "inventory" not in extras and "pinned" not in extras
    assert extras["record"]["key"] == f"{first.entry_key}/refit-record"
    assert extras["refit_flag"] == "REFIT"  # the small fields stay in the manifest
    second = conv_net(trt, seed=1, named=True)
    hit = second.build(cache=cache)
    assert hit.outcome.value == "hit-refit" and hit.weights_refit == 5
    assert plan_bytes(hit) == fresh_plan(conv_net(trt, seed=1, named=True))
    shown = (
        CliRunner()
        .invoke(main, ["cache", "--cache", str(cache.root), "show", first.entry_key])
        .output
    )
    assert "    conv.weight: FLOAT x 108" in shown and "  pinned weights: 2" in shown


@pytest.mark.parametrize("damage", ["altered", "missing"])
def test_damaged_record_rebuilds(trt: Any, cache: Any, sidecar: None, damage: str) -> None:
    first = conv_net(trt, seed=0).build(cache=cache)
    where = f"{first.entry_key}/refit-record"
    if damage == "altered":
        cache.put(where, b'{"inventory": {"named": [], "layers": []}}')
    else:
        assert cache.remove(where)
    again = conv_net(trt, seed=1).build(cache=cache)
    assert again.outcome.value == "hit-refit-failed-rebuilt"
    assert again.failure == "bad-metadata" and again.quarantined
    assert plan_bytes(again) == fresh_plan(conv_net(trt, seed=1))
    third = conv_net(trt, seed=2).build(cache=cache)
    assert third.outcome.value == "hit-refit"  # the rebuild stored a whole record again


def test_small_records_stay_inline(trt: Any, cache: Any) -> None:
    result = trt_netser.build_engine(*_parts(conv_net(trt)), cache=cache)
    extras = cache.get(result.entry_key).extras[EXTRAS_KEY]
    assert "inventory" in extras and "record" not in extras
    assert not cache.contains(f"{result.entry_key}/refit-record")


def _parts(net: Any) -> tuple[Any, Any, Any]:
    return net.builder, net.network, net.config
