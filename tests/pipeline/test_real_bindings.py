"""What the pipeline assumes of TensorRT's value types, checked on the real 10.16 bindings
(stub-loaded: no engine can be built, but Weights, enums and their names are real)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RealRunner

pytestmark = pytest.mark.real_trt

REPO = Path(__file__).resolve().parents[2]

PROBE = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
import numpy as np
import tensorrt_bindings as trt
from trt_netser.pipeline._policy import REFIT_FLAGS
from trt_netser.pipeline._weights import WEIGHT_ROLES, dtype_name, values_digest

a = np.arange(6, dtype=np.float32)
w = trt.Weights(a)
view = w.numpy()
half = trt.Weights(np.ones(4, dtype=np.float16))
print(json.dumps({{
    "dtype": dtype_name(w.dtype), "size": w.size, "nbytes": w.nbytes,
    "half": dtype_name(half.dtype), "numpy_dtype": dtype_name(a.dtype),
    "view_shares_memory": bool(isinstance(view, np.ndarray) and np.shares_memory(view, a)),
    "digest_of_weights_equals_array": values_digest(w) == values_digest(a),
    "roles": sorted(r for r in WEIGHT_ROLES.values() if r and not hasattr(trt.WeightsRole, r)),
    "flags": sorted(f for f in REFIT_FLAGS if not hasattr(trt.BuilderFlag, f)),
    "serialization": [
        hasattr(trt.SerializationFlag, f) for f in ("INCLUDE_REFIT", "EXCLUDE_WEIGHTS")
    ],
    "role_name": trt.WeightsRole.KERNEL.name, "mode_name": trt.TensorIOMode.INPUT.name,
}}))
"""


def test_value_types_behave_as_the_pipeline_assumes(real_trt: RealRunner) -> None:
    out = real_trt(PROBE)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["dtype"] == "FLOAT" and seen["size"] == 6 and seen["nbytes"] == 24
    assert seen["half"] == "HALF" and seen["numpy_dtype"] == "FLOAT"
    assert seen["view_shares_memory"]  # Weights(array) and .numpy() make no copies
    assert seen["digest_of_weights_equals_array"]
    assert seen["roles"] == [] and seen["flags"] == []
    assert seen["serialization"] == [True, True]
    assert (seen["role_name"], seen["mode_name"]) == ("KERNEL", "INPUT")


COLLECT_PROBE = f"""
import inspect, json, sys
sys.path.insert(0, {str(REPO)!r})
import tensorrt_bindings as trt
from trt_netser.pipeline._weights import _layer_plans
from trt_netser.walk import trt_api

plans = _layer_plans(trt)
print(json.dumps({{
    "reader_is_the_property_getter": (
        trt_api(trt).layer_type_getter is inspect.getattr_static(trt.ILayer, "type")
    ),
    "weighted": sorted(
        (name, plans[int(member)].owner)
        for name, member in trt.LayerType.__members__.items()
        if plans.get(int(member)) is not None
    ),
    "unknown": sorted(n for n, m in trt.LayerType.__members__.items() if int(m) not in plans),
}}))
"""


def test_collect_reads_layer_types_through_the_real_ilayer_property(
    real_trt: RealRunner,
) -> None:
    out = real_trt(COLLECT_PROBE)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["reader_is_the_property_getter"]
    assert seen["weighted"] == [
        ["CONSTANT", "IConstantLayer"],
        ["CONVOLUTION", "IConvolutionLayer"],
        ["DECONVOLUTION", "IDeconvolutionLayer"],
        ["SCALE", "IScaleLayer"],
    ]
    # a LayerType without a layer class in the module is skipped: only PLUGIN (TensorRT 10
    # removed IPluginLayer but kept its LayerType), which holds no weights properties
    assert seen["unknown"] == ["PLUGIN"]
