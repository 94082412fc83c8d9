"""bench.compare runs, and its numbers come from the schemes, not from constants.

Small on purpose (a few layer types, 200-layer networks): the full comparison is
``python -m bench.compare`` (docs/comparison.md).
"""

from __future__ import annotations

from typing import Any

import pytest

import trt_netser.offline as trt
from bench.compare.catalogue import Case, catalogue, coverage_network, zoo_network
from bench.compare.measure import coverage, soundness, speed_in_process, stability
from bench.compare.schemes import BY_NAME, SCHEMES, Scheme

TYPES = ["CONVOLUTION", "SHUFFLE", "RECURRENCE"]
ONNX = BY_NAME["onnx-polygraphy"]


def available(scheme: Scheme) -> Scheme:
    why = scheme.unavailable()
    if why:
        pytest.skip(
            f"{scheme.name}: {why} (polygraphy, onnx and onnx-graphsurgeon are "
            "benchmark-only dependencies)"
        )
    return scheme


CHEAP = [s for s in SCHEMES if not s.requires]


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return catalogue(TYPES)


def test_catalogue_has_every_kind_of_change(cases: list[Case]) -> None:
    categories = {c.category for c in cases}
    assert {
        "layer attribute",
        "output tensor attribute",
        "input",
        "network flag",
        "wiring",
        "plugin field",
        "write-only state",
        "structural weights",
        "weights only",
        "rebuild, name pinned",
        "rebuild, default name",
    } <= categories
    labels = {c.label for c in cases}
    assert any(
        label.startswith("CONVOLUTION: IConvolutionLayer.num_output_maps") for label in labels
    )
    assert all(c.expect in ("change", "keep", "irrelevant") for c in cases)


@pytest.mark.parametrize("scheme", CHEAP, ids=lambda s: s.name)
def test_every_cheap_scheme_keys_every_constructible_layer_type(scheme: Scheme) -> None:
    row = coverage([scheme])
    assert row["PLUGIN"] == {scheme.name: "n/a"}
    failed = {t: r[scheme.name] for t, r in row.items() if r[scheme.name] not in (None, "n/a")}
    assert failed == {}
    assert len(row) == 57


def test_soundness_counts_follow_the_keys(cases: list[Case]) -> None:
    results = soundness(cases, CHEAP)
    netser, names, ops, naive = (
        results[n] for n in ("trt-netser", "names-edges", "op-types", "naive-json")
    )
    changes = [c for c in cases if c.expect == "change"]
    # trt-netser's only false hits are write-only state set outside capture()
    assert netser.false_hits and all("(no capture)" in f for f in netser.false_hits)
    assert len(names.false_hits) > len(changes) // 2
    assert len(ops.false_hits) > len(changes) // 2
    assert netser.needless_misses == ["learned 1-element scale/shift (ScaleMode.UNIFORM) fine-tune"]
    # str() of builder objects carries memory addresses: naive JSON never repeats
    assert len(naive.unstable) == 2 * len(TYPES)
    assert netser.unstable == names.unstable == ops.unstable == []
    for res in results.values():
        assert res.scored == sum(
            c["cases"] - c["error"] - c["irrelevant_kept"] - c["irrelevant_changed"]
            for c in res.by_category.values()
        )


def test_a_constant_scheme_is_all_false_hits(cases: list[Case]) -> None:
    """The counts are computed from the keys: a scheme that ignores its input hits always."""
    constant = Scheme("constant", lambda trt, builder, net: "0" * 64, "always the same key")
    res = soundness(cases, [constant])["constant"]
    assert len(res.false_hits) == sum(c.expect == "change" for c in cases)
    assert res.needless_misses == [] and res.unstable == []


def test_stability_across_processes() -> None:
    out = stability(["CONVOLUTION", "RECURRENCE"], [BY_NAME["trt-netser"], BY_NAME["naive-json"]])
    assert all(v == [] for v in out["trt-netser"].values())
    assert all(len(v) == 2 for v in out["naive-json"].values())


@pytest.mark.parametrize("scheme", CHEAP, ids=lambda s: s.name)
def test_speed_is_measured(scheme: Scheme) -> None:
    result = speed_in_process(scheme, 200, memory=True, budget=60)
    assert result["layers"] >= 200 and result["seconds"] > 0 and result["peak_bytes"] > 0


def test_onnx_route_runs_and_is_weight_sensitive() -> None:
    onnx = available(ONNX)
    stripped = available(BY_NAME["onnx-stripped"])

    def key(scheme: Scheme, seed: int) -> str:
        builder, net, _ = zoo_network("CONVOLUTION", seed)
        return scheme.key(trt, builder, net)

    assert key(onnx, 1) != key(onnx, 2)  # weights are exported as FLOATS attributes
    assert key(stripped, 1) == key(stripped, 2)
    built: Any = coverage_network("DYNAMIC_QUANTIZE")
    with pytest.raises(Exception, match="float4"):
        onnx.key(trt, *built)
    speed = speed_in_process(onnx, 200, memory=False, budget=60)
    assert speed["seconds"] > 0
