"""Upper bounds of data-dependent output shapes, as TensorRT documents them.

TensorRT allocates a data-dependent output for its upper bound before the layer runs
(``get_max_output_size``; an IOutputAllocator is asked for that many bytes). The bounds
are the layers' documented ones, keyed by layer type (policy as data): a shape inference
run with ``bounds=True`` (:func:`.shapes.runtime_shapes`) puts them in place of the -1 the
shape rules give, and the layers downstream propagate them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

#: (shape, dtype, values) of a layer output, as the shape rules return them
Out = tuple[tuple[int, ...], Any, Any]


def _non_zero(ins: list[Any], outs: list[Out]) -> list[Out]:
    """INonZeroLayer: ``{D, C}``, C at most the input's volume."""
    x = ins[0]
    if x is None or -1 in x._shape:
        return outs
    (rank, _), dtype, values = outs[0]
    return [((rank, math.prod(x._shape)), dtype, values), *outs[1:]]


def _nms(ins: list[Any], outs: list[Out]) -> list[Out]:
    """INMSLayer: "batchSize * numClasses * min(numInputBoundingBoxes,
    MaxOutputBoxesPerClass)" rows when MaxOutputBoxesPerClass is a constant input, else
    "batchSize * numClasses * numInputBoundingBoxes" (the layer's docstring)."""
    scores, limit = ins[1], ins[2]
    if scores is None or len(scores._shape) != 3 or -1 in scores._shape:
        return outs
    batch, boxes, classes = scores._shape
    per_class = boxes
    if limit is not None and limit._values:
        per_class = min(boxes, max(0, int(limit._values[0])))
    _, dtype, values = outs[0]
    return [((batch * classes * per_class, 3), dtype, values), *outs[1:]]


#: layer type name -> the bound of its outputs given its inputs and inferred outputs
UPPER_BOUNDS: dict[str, Callable[[list[Any], list[Out]], list[Out]]] = {
    "NON_ZERO": _non_zero,
    "NMS": _nms,
}
