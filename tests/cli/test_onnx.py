"""`trt-netser hash model.onnx`: TensorRT's OnnxParser where it exists, one sentence where not.

TensorRT (and its parser) cannot be installed here, so the parser path is tested with a
stand-in ``tensorrt`` module: the offline model plus an ``OnnxParser`` with TensorRT's
interface (``parse_from_file``, ``num_errors``, ``get_error``) reading a tiny JSON "model".
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import trt_netser
import trt_netser.offline as offline
from tests.cli.conftest import Invoke
from trt_netser.cli.spec import ONNX_NEEDS_PARSER


class StandInOnnxParser:
    """TensorRT's OnnxParser interface over a JSON description: {"width": N, "act": NAME}."""

    def __init__(self, network: Any, logger: Any) -> None:
        self.network = network
        self.errors: list[str] = []

    def parse_from_file(self, path: str) -> bool:
        try:
            model = json.loads(Path(path).read_text())
            width, act = int(model["width"]), str(model["act"])
        except (ValueError, KeyError) as exc:
            self.errors.append(f"ModelImporter.cpp: failed to parse {path}: {exc}")
            return False
        x = self.network.add_input("input", offline.float32, (-1, width))
        layer = self.network.add_activation(x, getattr(offline.ActivationType, act))
        layer.name = "node_0"
        self.network.mark_output(layer.get_output(0))
        return True

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, index: int) -> str:
        return self.errors[index]


@pytest.fixture()
def tensorrt_with_parser(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    fake = types.ModuleType("tensorrt")
    for name in dir(offline):
        if not name.startswith("_"):
            setattr(fake, name, getattr(offline, name))
    fake.__version__ = offline.__version__  # type: ignore[attr-defined]
    fake.OnnxParser = StandInOnnxParser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    return fake


def _onnx(tmp_path: Path, name: str = "model.onnx", **model: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(model))
    return path


def test_hash_onnx_parses_with_tensorrts_parser(
    cli: Invoke, tmp_path: Path, tensorrt_with_parser: types.ModuleType
) -> None:
    path = _onnx(tmp_path, width=8, act="RELU")
    result = cli("hash", path, "--backend", "tensorrt", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # the key of the same network built by hand with a default config (trtexec's build)
    builder = offline.Builder(offline.Logger())
    network = builder.create_network(0)
    StandInOnnxParser(network, None).parse_from_file(str(path))
    expected = trt_netser.cache_key(network, builder.create_builder_config())
    assert doc["key"] == str(expected)
    assert doc["backend"] == "tensorrt"
    tanh = _onnx(tmp_path, "tanh.onnx", width=8, act="TANH")
    other = cli("hash", tanh, "--backend", "tensorrt", "--json")
    assert json.loads(other.stdout)["network"] != doc["network"]


def test_parser_errors_are_one_sentence(
    cli: Invoke, tmp_path: Path, tensorrt_with_parser: types.ModuleType
) -> None:
    path = tmp_path / "model.onnx"
    path.write_text("{}")
    result = cli("hash", path, "--backend", "tensorrt")
    assert result.exit_code == 2
    assert "TensorRT's ONNX parser failed with 1 error(s); first: ModelImporter.cpp" in (
        result.stderr
    )


def test_onnx_without_tensorrt_is_one_clear_sentence(cli: Invoke, tmp_path: Path) -> None:
    result = cli("hash", _onnx(tmp_path, width=8, act="RELU"), "--backend", "offline")
    assert result.exit_code == 2
    assert ONNX_NEEDS_PARSER in result.stderr
    assert result.stderr.count("\n") == 1


SPEC_USING_PARSER = """
import tensorrt as trt


def build():
    logger = trt.Logger()
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    parser.parse_from_file("model.onnx")
    return network, builder.create_builder_config()
"""


def test_spec_calling_onnxparser_offline_gets_the_same_sentence(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "onnx_model.py"
    spec.write_text(SPEC_USING_PARSER)
    absent = cli("hash", f"{spec}:build", "--backend", "offline")
    assert absent.exit_code == 2 and ONNX_NEEDS_PARSER in absent.stderr

    class OnnxParser:  # an offline OnnxParser whose constructor refuses, as one may
        def __init__(self, network: Any, logger: Any) -> None:
            raise TypeError("the offline model cannot parse ONNX")

    monkeypatch.setattr(offline, "OnnxParser", OnnxParser, raising=False)
    refused = cli("hash", f"{spec}:build", "--backend", "offline")
    assert refused.exit_code == 2 and ONNX_NEEDS_PARSER in refused.stderr
    onnx = _onnx(tmp_path, width=8, act="RELU")
    assert ONNX_NEEDS_PARSER in cli("hash", onnx, "--backend", "offline").stderr
