"""Storage dtypes of TensorRT data types and the numerics a run uses.

Tensors are numpy arrays of their TensorRT storage type (float16, bfloat16 and the fp8/fp4
types through ml_dtypes). Floating-point math runs in float32, as TensorRT accumulates
reduced-precision layers, and each result is rounded to its output's storage type; in the
float64 reference mode every floating-point tensor is computed and kept in float64 instead
(quantized tensors keep their integer/fp8 storage, since quantization is the point).
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

from trt_netser.offline._enums import DataType

STORAGE: dict[int, np.dtype] = {
    int(DataType.FLOAT): np.dtype(np.float32),
    int(DataType.HALF): np.dtype(np.float16),
    int(DataType.BF16): np.dtype(ml_dtypes.bfloat16),
    int(DataType.INT8): np.dtype(np.int8),
    int(DataType.INT32): np.dtype(np.int32),
    int(DataType.INT64): np.dtype(np.int64),
    int(DataType.BOOL): np.dtype(np.bool_),
    int(DataType.UINT8): np.dtype(np.uint8),
    int(DataType.FP8): np.dtype(ml_dtypes.float8_e4m3fn),
    int(DataType.INT4): np.dtype(ml_dtypes.int4),
    int(DataType.FP4): np.dtype(ml_dtypes.float4_e2m1fn),
    int(DataType.E8M0): np.dtype(ml_dtypes.float8_e8m0fnu),
}

FLOATS = frozenset({int(DataType.FLOAT), int(DataType.HALF), int(DataType.BF16)})
"""Data types whose math runs in the compute type (float64 in the reference mode)."""

LOW_FLOATS = frozenset(
    np.dtype(t)
    for t in (
        np.float16,
        ml_dtypes.bfloat16,
        ml_dtypes.float8_e4m3fn,
        ml_dtypes.float4_e2m1fn,
        ml_dtypes.float8_e8m0fnu,
    )
)

# Largest finite magnitude of each quantized type (TensorRT saturates to it).
QUANT_RANGE: dict[int, tuple[float, float]] = {
    int(DataType.INT8): (-128.0, 127.0),
    int(DataType.INT4): (-8.0, 7.0),
    int(DataType.UINT8): (0.0, 255.0),
    int(DataType.FP8): (-448.0, 448.0),
    int(DataType.FP4): (-6.0, 6.0),
}


def storage(dtype: DataType) -> np.dtype:
    """The numpy dtype that stores tensors of a TensorRT data type."""
    return STORAGE[int(dtype)]


def is_float(arr: np.ndarray) -> bool:
    """Whether ``arr`` holds floating-point values (numpy or ml_dtypes floats)."""
    return arr.dtype.kind == "f" or arr.dtype in LOW_FLOATS


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
