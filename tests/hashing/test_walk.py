"""hash_network on the offline backend: stable, weight-blind, sharp, explainable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trt_netser
import trt_netser.offline as trt
from trt_netser import (
    PartialHashWarning,
    UnhashableNetworkError,
    describe_network,
    encode_network,
    hash_network,
)
from trt_netser.encode import decode_stream
from trt_netser.records import EnumValue, TensorRef

from .zoo import X_SHAPE, ZOO, alternatives, network_with, new_network, weights

ROOT = Path(__file__).resolve().parents[2]
LAYER_TYPES = sorted(ZOO)


def digest(net: Any, **kw: Any) -> str:
    return hash_network(net, **kw)


# --------------------------------------------------------------------------- basics


def test_digest_is_64_lowercase_hex() -> None:
    _, net, _ = network_with(trt, "CONVOLUTION")
    d = hash_network(net)
    assert isinstance(d, str) and len(d) == 64 and d == d.lower()
    int(d, 16)
    assert not d.partial


def test_every_layer_type_of_10_16_is_in_the_zoo() -> None:
    members = set(trt.LayerType.__members__) - {"PLUGIN", "PLUGIN_V2", "PLUGIN_V3"}
    assert members <= set(ZOO), sorted(members - set(ZOO))


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_every_layer_type_hashes_and_round_trips(layer_type: str) -> None:
    with trt_netser.capture(trt):
        _, net, _ = network_with(trt, layer_type)
    description = describe_network(net)
    stream = encode_network(net)
    assert b"".join(r.data for r in description) == stream
    assert hash_network(net) == description.digest
    decoded = list(decode_stream(stream))
    assert decoded == [r.record for r in description]
    kinds = [r.kind for r in decoded]
    assert kinds[0] == "header" and kinds[-1] == "end"
    layer_records = [r for r in decoded if r.kind == "layer"]
    assert len(layer_records) == net.num_layers
    assert {r.get("type").value for r in layer_records} >= {int(getattr(trt.LayerType, layer_type))}


def test_same_construction_same_digest_in_one_process() -> None:
    a = [digest(network_with(trt, t)[1]) for t in ("CONVOLUTION", "SHUFFLE", "RESIZE")]
    b = [digest(network_with(trt, t)[1]) for t in ("CONVOLUTION", "SHUFFLE", "RESIZE")]
    assert a == b
    assert len(set(a)) == 3


STABILITY_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import trt_netser, trt_netser.offline as trt
    from tests.hashing.zoo import network_with
    junk = [network_with(trt, "ELEMENTWISE") for _ in range(int(sys.argv[1]))]  # shift counters
    out = []
    with trt_netser.capture(trt):
        for t in ("CONVOLUTION", "RECURRENCE", "CONDITION", "ATTENTION_INPUT", "DIST_COLLECTIVE"):
            out.append(trt_netser.hash_network(network_with(trt, t)[1]))
    print(" ".join(out))
    """
)


def test_stable_across_processes_and_hash_seeds() -> None:
    """Same construction, same digest: whatever PYTHONHASHSEED, object ids and counters."""
    script = STABILITY_SCRIPT.format(root=str(ROOT))
    results = set()
    for seed, junk in (("0", "0"), ("1", "3"), ("12345", "1")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", script, junk],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        results.add(proc.stdout.strip())
    assert len(results) == 1
    in_process = []
    with trt_netser.capture(trt):
        for t in ("CONVOLUTION", "RECURRENCE", "CONDITION", "ATTENTION_INPUT", "DIST_COLLECTIVE"):
            in_process.append(hash_network(network_with(trt, t)[1]))
    assert results == {" ".join(in_process)}


def test_default_names_with_counters_are_not_hashed() -> None:
    _, first, _ = network_with(trt, "CONVOLUTION")
    for _ in range(3):
        network_with(trt, "ELEMENTWISE")  # later networks get other "Unnamed Network N"
    _, second, _ = network_with(trt, "CONVOLUTION")
    assert first.name != second.name
    assert digest(first) == digest(second)


# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_weight_blind(layer_type: str) -> None:
    """A fine-tune (new float weight values, same shapes) keeps the digest."""
    with trt_netser.capture(trt):
        _, a, _ = network_with(trt, layer_type, seed=1)
        _, b, _ = network_with(trt, layer_type, seed=2)
    assert digest(a) == digest(b)


def test_weights_all_hashes_values() -> None:
    _, a, _ = network_with(trt, "CONVOLUTION", seed=1)
    _, b, _ = network_with(trt, "CONVOLUTION", seed=2)
    assert digest(a, weights="all") != digest(b, weights="all")
    assert digest(a, weights="all") != digest(a)


def test_structural_weights_are_hashed() -> None:
    """INT32 constants (indices, shapes) and single-element constants define structure."""

    def gather(indices: list[int]) -> str:
        _, net, x = new_network(trt)
        idx = net.add_constant(trt.Dims([len(indices)]), trt.Weights(np.array(indices, np.int32)))
        net.mark_output(net.add_gather(x, idx.get_output(0), 1).get_output(0))
        return digest(net)

    assert gather([0, 1, 2]) != gather([0, 1, 3])

    def scalar(value: float) -> str:
        _, net, x = new_network(trt)
        c = net.add_constant(trt.Dims([1, 1, 1, 1]), trt.Weights(np.array([value], np.float32)))
        net.mark_output(
            net.add_elementwise(x, c.get_output(0), trt.ElementWiseOperation.PROD).get_output(0)
        )
        return digest(net)

    assert scalar(0.5) != scalar(0.25)


def test_scale_power_is_not_refittable_so_it_is_hashed() -> None:
    def build(power: float) -> str:
        _, net, x = new_network(trt)
        layer = net.add_scale(
            x,
            trt.ScaleMode.CHANNEL,
            weights(trt, 8),
            weights(trt, 8),
            trt.Weights(np.full(8, power, np.float32)),
        )
        net.mark_output(layer.get_output(0))
        return digest(net)

    assert build(1.0) != build(2.0)


def test_weight_count_and_dtype_are_hashed() -> None:
    def build(count: int, dtype: Any = np.float32) -> str:
        _, net, _x = new_network(trt)
        c = net.add_constant(trt.Dims([count]), trt.Weights(np.ones(count, dtype)))
        net.mark_output(c.get_output(0))
        return digest(net)

    assert build(4) != build(5)
    assert build(4) != build(4, np.float16)


def test_refittable_weight_values_are_never_read() -> None:
    """O(1) in weight size: the walker never touches the values of float weights."""
    _, net, _x = new_network(trt)
    big = np.zeros(1 << 22, np.float32)  # 16 MiB
    c = net.add_constant(trt.Dims([1 << 22]), trt.Weights(big))
    net.mark_output(c.get_output(0))
    description = describe_network(net)
    total = sum(len(r.data) for r in description)
    assert total < 4096


# --------------------------------------------------------------------------- sharpness


#: (class, property) that cannot be changed to another valid value in these small networks.
UNMUTABLE: dict[tuple[str, str], str] = {}


def _build(layer_type: str) -> tuple[Any, Any]:
    with trt_netser.capture(trt):
        _, net, layer = network_with(trt, layer_type)
    return net, layer


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_sharp_every_writable_property(layer_type: str) -> None:
    """For every writable, hashed property: a single accepted change flips the digest.

    Each change is made on a freshly built network, compared with an unchanged one.
    """
    from trt_netser.apicoverage import coverage

    report = coverage(trt)
    net, layer = _build(layer_type)
    cls = type(layer)
    statuses = {e.member: e.status for e in report.for_class(cls.__name__) if e.kind == "property"}
    base = digest(net)
    changed, failed = [], []
    for prop, status in sorted(statuses.items()):
        descriptor = getattr(cls, prop, None)
        if status not in ("encoded", "conditional") or not isinstance(descriptor, property):
            continue
        if descriptor.fset is None:
            continue
        accepted = False
        for candidate in alternatives(getattr(layer, prop)):
            net, layer = _build(layer_type)
            original = getattr(layer, prop)
            try:
                setattr(layer, prop, candidate)
            except (TypeError, ValueError):
                continue
            if repr(getattr(layer, prop)) == repr(original):
                continue  # rejected through the logger
            accepted = True
            if status == "encoded" and digest(net) == base:
                failed.append(f"{prop}: {original!r} -> {candidate!r} kept the digest")
            break
        if accepted:
            changed.append(prop)
        elif (
            status == "encoded"
            and (cls.__name__, prop) not in UNMUTABLE
            and alternatives(getattr(layer, prop))
        ):
            failed.append(f"{prop}: no alternative value was accepted")
    assert not failed, failed
    assert "name" not in changed  # names are covered separately


def test_sharp_layer_name_and_tensor_name() -> None:
    _, net, layer = network_with(trt, "CONVOLUTION")
    base = digest(net)
    layer.name = "conv1"
    named = digest(net)
    assert named != base
    layer.get_output(0).name = "features"
    assert digest(net) != named


def test_sharp_input_dtype_shape_name_and_dimension_names() -> None:
    def build(**over: Any) -> str:
        _, net, _ = new_network(trt)
        spec = {"name": "y", "dtype": trt.float32, "shape": [2, 3], **over}
        y = net.add_input(spec["name"], spec["dtype"], trt.Dims(spec["shape"]))
        if "dim_name" in over:
            y.set_dimension_name(0, over["dim_name"])
        net.mark_output(net.add_identity(y).get_output(0))
        return digest(net)

    base = build()
    variants = [
        build(dtype=trt.float16),
        build(shape=[2, 4]),
        build(shape=[-1, 3]),
        build(shape=[2, 3, 1]),
        build(name="z"),
        build(shape=[-1, 3], dim_name="batch"),
    ]
    assert len({base, *variants}) == len(variants) + 1


def test_sharp_network_flags() -> None:
    _, plain, _ = new_network(trt)
    _, typed, _ = new_network(trt, flags=1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    assert digest(plain) != digest(typed)


def test_sharp_output_marks_and_order() -> None:
    _, net, x = new_network(trt)
    a = net.add_unary(x, trt.UnaryOperation.EXP).get_output(0)
    b = net.add_unary(x, trt.UnaryOperation.ABS).get_output(0)
    net.mark_output(a)
    one = digest(net)
    net.mark_output(b)
    two = digest(net)
    net.unmark_output(a)
    net.mark_output(a)
    swapped = digest(net)
    assert len({one, two, swapped}) == 3


def test_sharp_debug_and_output_type() -> None:
    _, net, layer = network_with(trt, "UNARY")
    base = digest(net)
    net.mark_debug(layer.get_output(0))
    debug = digest(net)
    assert debug != base
    net.unmark_debug(layer.get_output(0))
    assert digest(net) == base


def test_sharp_rewiring_an_input() -> None:
    _, net, x = new_network(trt)
    a = net.add_unary(x, trt.UnaryOperation.EXP)
    b = net.add_unary(x, trt.UnaryOperation.ABS)
    c = net.add_elementwise(a.get_output(0), b.get_output(0), trt.ElementWiseOperation.SUM)
    net.mark_output(c.get_output(0))
    base = digest(net)
    c.set_input(1, a.get_output(0))
    assert digest(net) != base
    c.set_input(1, b.get_output(0))
    assert digest(net) == base


def test_topological_order_survives_rewiring_to_a_later_layer() -> None:
    """set_input to a tensor produced later: insertion order is not topological."""
    _, net, x = new_network(trt)
    first = net.add_unary(x, trt.UnaryOperation.EXP)
    later = net.add_unary(x, trt.UnaryOperation.ABS)
    first.set_input(0, later.get_output(0))
    net.mark_output(first.get_output(0))
    records = [r.record for r in describe_network(net) if r.kind == "layer"]
    by_index = {r.get("index"): r for r in records}
    consumer = next(
        r for r in records if r.get("attrs").get("op").value == int(trt.UnaryOperation.EXP)
    )
    assert consumer.get("inputs") == [TensorRef(layer=by_index[0].get("index"), slot=0)]
    assert consumer.get("index") == 1


def test_cycle_is_an_error_but_recurrence_back_edge_is_not() -> None:
    _, net, x = new_network(trt)
    a = net.add_unary(x, trt.UnaryOperation.EXP)
    b = net.add_unary(a.get_output(0), trt.UnaryOperation.ABS)
    a.set_input(0, b.get_output(0))
    with pytest.raises(UnhashableNetworkError, match="cycle"):
        hash_network(net)
    _, looped, _ = network_with(trt, "RECURRENCE")
    assert len(hash_network(looped)) == 64


def test_unused_layers_are_hashed() -> None:
    _, net, layer = network_with(trt, "UNARY")
    base = digest(net)
    net.add_unary(layer.get_output(0), trt.UnaryOperation.ABS)  # dead end
    assert digest(net) != base


# --------------------------------------------------------------------------- constructs


def test_constructs_are_encoded_once_and_referenced() -> None:
    _, net, _ = network_with(trt, "RECURRENCE")
    records = [r.record for r in describe_network(net)]
    constructs = [r for r in records if r.kind == "construct"]
    assert [c.get("construct") for c in constructs] == ["loop"]
    loop_refs = {
        str(r.get("attrs").get("loop"))
        for r in records
        if r.kind == "layer" and "loop" in r.get("attrs")
    }
    assert loop_refs == {"loop[0]"}
    first_ref = next(
        i for i, r in enumerate(records) if r.kind == "layer" and "loop" in r.get("attrs")
    )
    assert records.index(constructs[0]) < first_ref


def test_attention_attributes_are_hashed() -> None:
    _, net, layer = network_with(trt, "ATTENTION_INPUT")
    base = digest(net)
    layer.attention.causal = not layer.attention.causal
    assert digest(net) != base


# --------------------------------------------------------------------------- capture


def test_dist_collective_needs_capture() -> None:
    _, net, _ = network_with(trt, "DIST_COLLECTIVE")
    with pytest.raises(UnhashableNetworkError, match=r"IDistCollectiveLayer.*capture"):
        hash_network(net)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        partial = hash_network(net, strict=False)
    assert partial.partial and partial.issues
    assert any(issubclass(w.category, PartialHashWarning) for w in caught)
    with trt_netser.capture(trt):
        _, captured, _ = network_with(trt, "DIST_COLLECTIVE")
    complete = hash_network(captured)
    assert not complete.partial
    assert complete != partial


def test_captured_arguments_are_sharp() -> None:
    def build(root: int) -> str:
        with trt_netser.capture(trt):
            _, net, x = new_network(trt)
            layer = net.add_dist_collective(
                x, trt.CollectiveOperation.ALL_REDUCE, trt.ReduceOperation.SUM, root, [0, 1]
            )
            net.mark_output(layer.get_output(0))
        return digest(net)

    assert build(0) != build(1)


def test_moe_setters_are_captured() -> None:
    def build(limit: float) -> str:
        with trt_netser.capture(trt):
            _, net, moe = network_with(trt, "MOE")
            moe.set_swiglu_params(limit, 1.0, 0.5)
        return digest(net)

    assert build(7.0) != build(8.0)


def test_capture_unwraps_on_exit_and_on_error() -> None:
    original = trt.INetworkDefinition.add_dist_collective
    with trt_netser.capture(trt):
        assert trt.INetworkDefinition.add_dist_collective is not original
    assert trt.INetworkDefinition.add_dist_collective is original
    with pytest.raises(RuntimeError), trt_netser.capture(trt):
        raise RuntimeError("boom")
    assert trt.INetworkDefinition.add_dist_collective is original
    with trt_netser.capture(trt), trt_netser.capture(trt):
        pass
    assert trt.INetworkDefinition.add_dist_collective is original


def test_capture_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match="tensorrt module"), trt_netser.capture("tensorrt"):  # type: ignore[arg-type]
        pass


def test_weights_names_and_refit_marks() -> None:
    def build(name: str, mark: bool) -> str:
        with trt_netser.capture(trt):
            _, net, x = new_network(trt)
            w = weights(trt, 4 * 8 * 3 * 3)
            conv = net.add_convolution_nd(x, 4, trt.Dims([3, 3]), w, trt.Weights())
            net.mark_output(conv.get_output(0))
            net.set_weights_name(w, name)
            if mark:
                net.mark_weights_refittable(name)
        return digest(net)

    assert build("conv.weight", False) != build("conv.w", False)
    assert build("conv.weight", False) != build("conv.weight", True)


# --------------------------------------------------------------------------- inputs


def test_tensorrt_llm_network_wrapper_is_accepted() -> None:
    _, net, _ = network_with(trt, "CONVOLUTION")

    class Network:  # TensorRT-LLM's functional Network holds the TensorRT one
        trt_network = net

    assert hash_network(Network()) == hash_network(net)


def test_bad_input_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="INetworkDefinition"):
        hash_network(object())
    _, net, _ = network_with(trt, "UNARY")
    with pytest.raises(ValueError, match="weights must be"):
        hash_network(net, weights="some")
    with pytest.raises(TypeError, match="strict"):
        hash_network(net, strict="yes")  # type: ignore[arg-type]


def test_enum_values_carry_display_names_but_hash_by_value() -> None:
    _, net, _ = network_with(trt, "ACTIVATION")
    layer = next(
        r.record
        for r in describe_network(net)
        if r.kind == "layer" and r.record.get("type").name == "ACTIVATION"
    )
    kind = layer.get("attrs").get("type", None)
    assert layer.get("type") == EnumValue("LayerType", int(trt.LayerType.ACTIVATION))
    assert kind is None or isinstance(kind, EnumValue)


def test_memory_input_shape_matches_zoo() -> None:
    _, net, _ = new_network(trt)
    assert tuple(net.get_input(0).shape) == X_SHAPE
