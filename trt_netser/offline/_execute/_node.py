"""What a kernel sees of one layer, and the errors execution reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trt_netser.offline._enums import DataType
from trt_netser.offline._execute._dtypes import Numerics


class ExecutionError(Exception):
    """Execution failed; the message names the layer and its type."""


class KernelError(Exception):
    """A kernel refuses its inputs or attributes (wrapped into an ExecutionError)."""


@dataclass
class Node:
    """One layer as a kernel sees it: attributes with weights resolved to numpy arrays.

    ``attrs`` are the layer's attributes (for an attention output: the attention's);
    weights are flat numpy arrays of their data type's storage. ``out_dtypes`` are the
    engine's output data types, ``num`` the run's numerics.
    """

    name: str
    type: str
    attrs: Mapping[str, Any]
    out_dtypes: tuple[DataType, ...]
    num: Numerics = field(default_factory=Numerics)
    private: Mapping[str, Any] = field(default_factory=dict)
    num_ranks: int = 1

    def out(self, arr: np.ndarray, index: int = 0) -> np.ndarray:
        """``arr`` in the storage of output ``index``."""
        return self.num.out(arr, self.out_dtypes[index])


def need(x: np.ndarray | None, what: str) -> np.ndarray:
    """A required input (KernelError naming it when missing)."""
    if x is None:
        raise KernelError(f"{what} is not set")
    return x


def axes_of(mask: int, rank: int) -> tuple[int, ...]:
    """The axes selected by a TensorRT axes bitmask."""
    return tuple(i for i in range(rank) if (mask >> i) & 1)


def norm_axis(axis: int, rank: int) -> int:
    """A possibly negative axis as an index in ``[0, rank)``."""
    if not -rank <= axis < max(rank, 1):
        raise KernelError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def ints(x: np.ndarray | None, what: str) -> list[int]:
    """The values of a small integer (shape) tensor as Python ints."""
    arr = need(x, what)
    return [int(v) for v in np.asarray(arr).reshape(-1)]
