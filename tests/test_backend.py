"""trt_netser.is_offline / describe_backend: the public way to tell the offline model apart."""

from __future__ import annotations

import types

import trt_netser
import trt_netser.offline as trt


def test_offline_module_and_its_objects_are_offline() -> None:
    builder = trt.Builder(trt.Logger())
    network = builder.create_network(0)
    assert trt_netser.is_offline(trt)
    assert trt_netser.is_offline(builder)
    assert trt_netser.is_offline(network)
    assert trt_netser.is_offline(trt.DataType.FLOAT)


def test_other_modules_are_not_offline() -> None:
    fake = types.ModuleType("tensorrt")
    fake.__version__ = "10.16.1.11"  # type: ignore[attr-defined]
    assert not trt_netser.is_offline(fake)
    assert not trt_netser.is_offline(trt_netser)
    assert not trt_netser.is_offline(object())
    assert trt_netser.describe_backend(fake) == "TensorRT 10.16.1.11 (tensorrt)"
    assert trt_netser.describe_backend(None) == "no TensorRT"


def test_offline_version_stays_tensorrts() -> None:
    """Client code parses trt.__version__: it is TensorRT's string, with no local label."""
    major, minor, *_ = (int(p) for p in trt.__version__.split("."))
    assert (major, minor) == (10, 16)
    assert "offline" in trt_netser.describe_backend(trt)
    assert not hasattr(trt, "is_offline")
