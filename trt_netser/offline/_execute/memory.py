"""Offline "device" memory is host memory: tensor addresses are host addresses.

An address given to ``IExecutionContext.set_tensor_address`` (or in ``execute_v2``'s
bindings) is that of a host buffer, for example ``array.ctypes.data`` of a C-contiguous
numpy array; the executor reads inputs from and writes outputs to that memory in C order.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import numpy as np


def view(address: int, shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """A writable C-order numpy view of ``shape`` elements of ``dtype`` at ``address``."""
    n = math.prod(shape)
    nbytes = n * np.dtype(dtype).itemsize
    if nbytes == 0:
        return np.empty(shape, dtype)
    buf = (ctypes.c_char * nbytes).from_address(address)
    # (through a memoryview: numpy's stubs do not list ctypes arrays as buffers)
    return np.frombuffer(memoryview(buf), dtype=dtype, count=n).reshape(shape)
