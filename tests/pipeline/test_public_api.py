"""The pipeline touches only TensorRT's public Python API, so it runs unchanged on real
TensorRT: every name it uses exists in the official 10.16 bindings' API dump, and no
module of the pipeline imports ``trt_netser.offline``."""

from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DUMP = json.loads((ROOT / "trt_netser/data/trt_api/10.16.1.11.json").read_text())

#: (class, member) the pipeline calls or reads, found in its source.
USED: tuple[tuple[str, str], ...] = (
    ("Builder", "build_serialized_network"),
    ("Builder", "logger"),
    ("Runtime", "__init__"),
    ("Runtime", "deserialize_cuda_engine"),
    ("Refitter", "__init__"),
    ("Refitter", "get_all"),
    ("Refitter", "get_all_weights"),
    ("Refitter", "get_weights_prototype"),
    ("Refitter", "set_named_weights"),
    ("Refitter", "set_weights"),
    ("Refitter", "get_missing"),
    ("Refitter", "get_missing_weights"),
    ("Refitter", "refit_cuda_engine"),
    ("ICudaEngine", "refittable"),
    ("ICudaEngine", "serialize"),
    ("ICudaEngine", "create_serialization_config"),
    ("ICudaEngine", "serialize_with_config"),
    ("ICudaEngine", "num_io_tensors"),
    ("ICudaEngine", "num_optimization_profiles"),
    ("ICudaEngine", "get_tensor_name"),
    ("ICudaEngine", "get_tensor_mode"),
    ("ICudaEngine", "get_tensor_dtype"),
    ("ICudaEngine", "get_tensor_shape"),
    ("ICudaEngine", "get_tensor_profile_shape"),
    ("ICudaEngine", "streamable_weights_size"),
    ("ICudaEngine", "weight_streaming_budget_v2"),
    ("ICudaEngine", "minimum_weight_streaming_budget"),
    ("ISerializationConfig", "set_flag"),
    ("IBuilderConfig", "get_flag"),
    ("IBuilderConfig", "set_flag"),
    ("INetworkDefinition", "get_layer"),
    ("INetworkDefinition", "num_layers"),
    ("INetworkDefinition", "get_input"),
    ("INetworkDefinition", "get_output"),
    ("INetworkDefinition", "num_inputs"),
    ("INetworkDefinition", "num_outputs"),
    ("INetworkDefinition", "builder"),
    ("ILayer", "name"),
    ("ILayer", "type"),
    ("ILayer", "num_outputs"),
    ("ILayer", "get_output"),
    ("ITensor", "name"),
    ("IConvolutionLayer", "kernel"),
    ("IConvolutionLayer", "bias"),
    ("IDeconvolutionLayer", "kernel"),
    ("IDeconvolutionLayer", "bias"),
    ("IScaleLayer", "shift"),
    ("IScaleLayer", "scale"),
    ("IScaleLayer", "power"),
    ("IConstantLayer", "weights"),
    ("Weights", "numpy"),
    ("Weights", "dtype"),
    ("Weights", "size"),
    ("Weights", "nbytes"),
)

ENUMS: tuple[tuple[str, str], ...] = (
    ("SerializationFlag", "INCLUDE_REFIT"),
    ("SerializationFlag", "EXCLUDE_WEIGHTS"),
    ("BuilderFlag", "REFIT"),
    ("BuilderFlag", "REFIT_INDIVIDUAL"),
    ("BuilderFlag", "REFIT_IDENTICAL"),
    ("BuilderFlag", "STRIP_PLAN"),
    ("BuilderFlag", "WEIGHT_STREAMING"),
    ("WeightsRole", "KERNEL"),
    ("WeightsRole", "BIAS"),
    ("WeightsRole", "SHIFT"),
    ("WeightsRole", "SCALE"),
    ("WeightsRole", "CONSTANT"),
    ("TensorIOMode", "INPUT"),
)


def _members(cls: str) -> set[str]:
    found: set[str] = set()
    stack = [cls]
    while stack:
        entry = DUMP["classes"][stack.pop()]
        found |= set(entry.get("methods", {})) | set(entry.get("properties", {}))
        doc = entry.get("doc", "")
        found |= {w.split(":")[0] for w in doc.split(":ivar ")[1:]}
        stack.extend(b for b in entry.get("bases", []) if b in DUMP["classes"])
    return found


def test_every_tensorrt_name_the_pipeline_uses_is_public() -> None:
    missing = [(c, m) for c, m in USED if m not in _members(c)]
    assert not missing
    enums = [(e, m) for e, m in ENUMS if m not in DUMP["enums"][e]]
    assert not enums


def test_the_pipeline_never_imports_the_offline_backend() -> None:
    sources = [*sorted((ROOT / "trt_netser/pipeline").glob("*.py"))]
    sources += [
        ROOT / "trt_netser/integrations/tensorrt_llm.py",
        ROOT / "trt_netser/cache/_lease.py",
    ]
    for path in sources:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("trt_netser.offline"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("trt_netser.offline") for a in node.names), path
