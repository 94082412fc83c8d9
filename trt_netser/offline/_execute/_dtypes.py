"""Storage dtypes of TensorRT data types and the numerics a run uses.

Tensors are numpy arrays of their TensorRT storage type (float16, bfloat16 and the fp8/fp4
types through ml_dtypes). Floating-point math runs in float32, as TensorRT accumulates
reduced-precision layers, and each result is rounded to its output's storage type; in the
float64 reference mode every floating-point tensor is computed and kept in float64 instead
(quantized tensors keep their integer/fp8 storage, since quantization is the point).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trt_netser.offline._enums import DataType

_NUMPY: dict[int, np.dtype[Any]] = {
    int(DataType.FLOAT): np.dtype(np.float32),
    int(DataType.HALF): np.dtype(np.float16),
    int(DataType.INT8): np.dtype(np.int8),
    int(DataType.INT32): np.dtype(np.int32),
    int(DataType.INT64): np.dtype(np.int64),
    int(DataType.BOOL): np.dtype(np.bool_),
    int(DataType.UINT8): np.dtype(np.uint8),
}
# Types numpy lacks, from ml_dtypes (imported on first use: it costs ~0.6 s of CPU).
_ML_DTYPES: dict[int, str] = {
    int(DataType.BF16): "bfloat16",
    int(DataType.FP8): "float8_e4m3fn",
    int(DataType.INT4): "int4",
    int(DataType.FP4): "float4_e2m1fn",
    int(DataType.E8M0): "float8_e8m0fnu",
}
LOW_FLOAT_NAMES = frozenset(
    {"float16", "bfloat16", "float8_e4m3fn", "float4_e2m1fn", "float8_e8m0fnu"}
)

FLOATS = frozenset({int(DataType.FLOAT), int(DataType.HALF), int(DataType.BF16)})
"""Data types whose math runs in the compute type (float64 in the reference mode)."""

# Largest finite magnitude of each quantized type (TensorRT saturates to it).
QUANT_RANGE: dict[int, tuple[float, float]] = {
    int(DataType.INT8): (-128.0, 127.0),
    int(DataType.INT4): (-8.0, 7.0),
    int(DataType.UINT8): (0.0, 255.0),
    int(DataType.FP8): (-448.0, 448.0),
    int(DataType.FP4): (-6.0, 6.0),
}


def storage(dtype: DataType) -> np.dtype[Any]:
    """The numpy dtype that stores tensors of a TensorRT data type."""
    found = _NUMPY.get(int(dtype))
    if found is not None:
        return found
    import ml_dtypes

    made: np.dtype[Any] = np.dtype(getattr(ml_dtypes, _ML_DTYPES[int(dtype)]))
    _NUMPY[int(dtype)] = made
    return made


def is_float(arr: np.ndarray) -> bool:
    """Whether ``arr`` holds floating-point values (numpy or ml_dtypes floats)."""
    kind = arr.dtype.kind
    return kind == "f" or (kind == "V" and arr.dtype.name in LOW_FLOAT_NAMES)


@dataclass(frozen=True)
class Numerics:
    """How a run computes: float32 math rounded to storage types, or float64 throughout."""

    reference: bool = False

    @property
    def compute(self) -> np.dtype:
        """The floating-point type all float math runs in."""
        return np.dtype(np.float64 if self.reference else np.float32)

    def up(self, arr: np.ndarray) -> np.ndarray:
        """``arr`` in the compute type if it is floating point (no copy when it already is)."""
        if is_float(arr):
            return arr.astype(self.compute, copy=False)
        return arr

    def tensor_dtype(self, dtype: DataType) -> np.dtype:
        """The dtype a tensor of ``dtype`` is held in during this run."""
        if self.reference and int(dtype) in FLOATS:
            return np.dtype(np.float64)
        return storage(dtype)

    def out(self, arr: np.ndarray, dtype: DataType) -> np.ndarray:
        """``arr`` rounded to the storage of an output of ``dtype`` (no copy if it already is)."""
        return np.asarray(arr).astype(self.tensor_dtype(dtype), copy=False)
