"""Every property and state-changing method of every TensorRT API we know is classified."""

from __future__ import annotations

import pytest

from trt_netser.apicoverage import available_dumps, coverage, load_dump

DUMPS = available_dumps()


def test_all_committed_dumps_are_present() -> None:
    assert {"10.0.1", "10.16.1.11", "11.0.0.114", "11.4.0.106"} <= set(DUMPS)


@pytest.mark.parametrize("version", DUMPS)
def test_nothing_unclassified(version: str) -> None:
    report = coverage(version)
    assert report.unclassified == (), [f"{e.owner}.{e.member}" for e in report.unclassified]


@pytest.mark.parametrize("version", DUMPS)
def test_every_layer_property_is_classified(version: str) -> None:
    dump = load_dump(version)
    report = coverage(version)
    classified = {(e.owner, e.member) for e in report.entries if e.kind == "property"}
    for name, info in dump["classes"].items():
        if name == "ILayer" or "ILayer" in info["bases"]:
            for prop in info["properties"]:
                assert (name, prop) in classified, f"{name}.{prop} is not classified"


@pytest.mark.parametrize("version", DUMPS)
def test_every_layer_type_has_a_class_or_a_reason(version: str) -> None:
    report = coverage(version)
    dump = load_dump(version)
    for type_name, cls_name in report.layer_classes.items():
        if cls_name is None:
            assert any(e.member == type_name and e.status == "excluded" for e in report.entries)
        else:
            assert cls_name in dump["classes"], (type_name, cls_name)


def test_known_classifications_10_16() -> None:
    report = coverage("10.16.1.11")
    status = {(e.owner, e.member): e.status for e in report.entries}
    assert status[("IConvolutionLayer", "kernel_size_nd")] == "encoded"
    assert status[("IConvolutionLayer", "metadata")] == "excluded"
    assert status[("IShuffleLayer", "reshape_dims")] == "conditional"
    assert status[("IMoELayer", "set_gated_weights")] == "captured"
    assert status[("IDistCollectiveLayer", "<write-only state>")] == "captured"
    assert status[("INetworkDefinition", "set_weights_name")] == "captured"
    assert status[("IAttention", "causal")] == "encoded"
    assert report.layer_classes["CONDITIONAL_INPUT"] == "IIfConditionalInputLayer"
    assert report.layer_classes["MATRIX_MULTIPLY"] == "IMatrixMultiplyLayer"
    assert report.layer_classes["KV_CACHE_UPDATE"] == "IKVCacheUpdateLayer"
    assert len([t for t, c in report.layer_classes.items() if c]) == 56  # 57 minus PLUGIN


def test_a_new_write_only_setter_is_flagged() -> None:
    dump = load_dump("10.16.1.11")
    dump["classes"]["IConvolutionLayer"]["methods"] = {
        **dict.fromkeys(dump["classes"]["IConvolutionLayer"]["methods"]),
        "set_secret_knob": "",
    }
    report = coverage(dump)
    assert [(e.owner, e.member) for e in report.unclassified] == [
        ("IConvolutionLayer", "set_secret_knob")
    ]


def test_a_new_layer_type_without_class_is_flagged() -> None:
    dump = load_dump("10.16.1.11")
    dump["enums"]["LayerType"] = {**dump["enums"]["LayerType"], "QUANTUM_FOLD": 99}
    report = coverage(dump)
    assert ("LayerType", "QUANTUM_FOLD") in {(e.owner, e.member) for e in report.unclassified}


def test_unknown_version_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"no API dump for TensorRT .9\.9."):
        coverage("9.9")


@pytest.mark.parametrize("version", DUMPS)
def test_shadowed_type_properties_are_encoded(version: str) -> None:
    """IActivationLayer.type / IPoolingLayer.type hold the activation / pooling kind."""
    status = {(e.owner, e.member): e.status for e in coverage(version).entries}
    assert status[("IActivationLayer", "type")] == "encoded"
    assert status[("IPoolingLayer", "type")] == "encoded"
    assert status[("IConvolutionLayer", "type")] == "structural"


def test_public_names_are_not_shadowed_by_submodules() -> None:
    """Importing every submodule must not turn an exported function into a module."""
    import importlib
    import pkgutil
    import types

    import trt_netser

    for info in pkgutil.walk_packages(trt_netser.__path__, "trt_netser."):
        if ".offline" in info.name or ".cli" in info.name:
            continue
        importlib.import_module(info.name)
    shadowed = [
        name
        for name in trt_netser.__all__
        if name != "__version__" and isinstance(getattr(trt_netser, name), types.ModuleType)
    ]
    assert shadowed == []
