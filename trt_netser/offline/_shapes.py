"""Output shape / dtype inference for every layer type, from TensorRT's documented semantics.

``infer(impl)`` returns one ``(shape, dtype, values)`` triple per output, where ``shape``
is a tuple with ``-1`` for dimensions only known at run time and ``values`` are the known
contents of small integer shape tensors (``None`` per unknown element, or ``None`` when
nothing is known). Invalid configurations raise :class:`ShapeError`; the network logs it
at ERROR severity (and ``add_*`` returns None).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trt_netser.offline._enums import (
    CollectiveOperation,
    DataType,
    ElementWiseOperation,
    FillOperation,
    GatherMode,
    LoopOutput,
    MatrixOperation,
    PaddingMode,
    ReduceOperation,
    ScaleMode,
    UnaryOperation,
)
from trt_netser.offline._types import MAX_DIMS

if TYPE_CHECKING:
    from trt_netser.offline._layers import LayerImpl
    from trt_netser.offline._tensor import ITensor

Shape = tuple[int, ...]
Values = tuple[int | None, ...] | None
Out = tuple[Shape, DataType, Values]

INT_TYPES = (DataType.INT32, DataType.INT64)
FLOAT_TYPES = (DataType.FLOAT, DataType.HALF, DataType.BF16)
MAX_VALUES = 2 * MAX_DIMS * 8


class ShapeError(Exception):
    """The layer's configuration is invalid for its inputs."""


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def inp(impl: LayerImpl, i: int, what: str = "input") -> ITensor:
    """Required input ``i``."""
    tensor = impl.inputs[i] if i < len(impl.inputs) else None
    if tensor is None:
        raise ShapeError(f"{what} (input {i}) is not set")
    return tensor


def opt(impl: LayerImpl, i: int) -> ITensor | None:
    """Optional input ``i`` (None if unset)."""
    return impl.inputs[i] if i < len(impl.inputs) else None


def vals(t: ITensor | None) -> Values:
    """Known values of an integer tensor of rank <= 1 (None elements where unknown)."""
    if t is None:
        return None
    if t._values is not None:
        return t._values
    if t._dtype in INT_TYPES or t._dtype == DataType.BOOL:
        if len(t._shape) == 0:
            return (None,)
        if len(t._shape) == 1 and 0 <= t._shape[0] <= MAX_VALUES:
            return (None,) * t._shape[0]
    return None


def types_agree(impl: LayerImpl, tensors: Sequence[ITensor]) -> bool:
    """Whether operands of these types may meet in one layer: equal types, or (in a weakly
    typed network, where TensorRT chooses precisions at build) floating-point types of any
    width, as TensorRT-LLM's attention mixes HALF and FLOAT."""
    first = tensors[0]._dtype
    if all(t._dtype == first for t in tensors):
        return True
    if impl.net.strongly_typed:
        return False
    return all(t._dtype in FLOAT_TYPES for t in tensors)


def norm_axis(axis: int, rank: int, what: str = "axis") -> int:
    """Normalize a possibly negative axis, raising ShapeError if out of range."""
    if not -rank <= axis < max(rank, 1) or (rank == 0 and axis not in (0, -1)):
        raise ShapeError(f"{what} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def bcast_dim(a: int, b: int) -> int:
    """Broadcast two dimensions (``-1`` is unknown)."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if a == -1:
        return b
    if b == -1:
        return a
    raise ShapeError(f"dimensions {a} and {b} cannot be broadcast")


def bcast(*shapes: Shape) -> Shape:
    """Broadcast shapes of EQUAL rank (TensorRT does not prepend ones)."""
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError(f"input ranks differ: {[len(s) for s in shapes]}")
    out = list(shapes[0])
    for s in shapes[1:]:
        out = [bcast_dim(a, b) for a, b in zip(out, s, strict=True)]
    return tuple(out)


def same(impl: LayerImpl, dtype: DataType | None = None) -> list[Out]:
    """Output with the shape (and by default dtype and values) of input 0."""
    x = inp(impl, 0)
    return [(x._shape, dtype or x._dtype, x._values if dtype is None else None)]


def check_rank(t: ITensor, lo: int, hi: int = MAX_DIMS, what: str = "input") -> None:
    """Raise unless lo <= rank(t) <= hi."""
    if not lo <= len(t._shape) <= hi:
        raise ShapeError(f"{what} must have rank in [{lo}, {hi}], got {len(t._shape)}")


def _dims_from_values(v: Values) -> Shape:
    return tuple(-1 if x is None else int(x) for x in (v or ()))


def _div(a: int, b: int) -> int:
    return -1 if a < 0 or b <= 0 else a // b


# ---------------------------------------------------------------------------------------
# per-type inference
# ---------------------------------------------------------------------------------------
def _activation(impl: LayerImpl) -> list[Out]:
    return same(impl)


def _assertion(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    if x._dtype != DataType.BOOL:
        raise ShapeError("the assertion condition must be a BOOL tensor")
    check_rank(x, 0, 1, "the assertion condition")
    return []


def _cast(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    to = impl.p["to_type"]
    keep = x._values if (to in INT_TYPES and x._dtype in INT_TYPES) else None
    return [(x._shape, to, keep)]


def _concatenation(impl: LayerImpl) -> list[Out]:
    ins = [inp(impl, i) for i in range(len(impl.inputs))]
    if not ins:
        raise ShapeError("concatenation needs at least one input")
    rank = len(ins[0]._shape)
    if rank == 0:
        raise ShapeError("concatenation inputs must have rank >= 1")
    axis = norm_axis(impl.p["axis"], rank)
    dtype = ins[0]._dtype
    out = list(ins[0]._shape)
    total = 0
    for t in ins:
        if len(t._shape) != rank:
            raise ShapeError(f"all concatenation inputs must have rank {rank}, got {len(t._shape)}")
        if not types_agree(impl, (ins[0], t)):
            raise ShapeError("all concatenation inputs must have the same data type")
        for d in range(rank):
            if d == axis:
                continue
            a, b = out[d], t._shape[d]
            if a != b and a != -1 and b != -1:
                raise ShapeError(
                    f"concatenation inputs differ on non-axis dimension {d}: {a} vs {b}"
                )
            out[d] = a if a != -1 else b
        n = t._shape[axis]
        total = -1 if (total < 0 or n < 0) else total + n
    out[axis] = total
    values: Values = None
    if rank == 1 and dtype in INT_TYPES:
        parts = [vals(t) for t in ins]
        known = [p for p in parts if p is not None]
        if len(known) == len(parts):
            values = tuple(v for p in known for v in p)
    return [(tuple(out), dtype, values)]


def _constant(impl: LayerImpl) -> list[Out]:
    shape = impl.p["shape"]
    w = impl.p["weights"]
    if any(d < 0 for d in shape):
        raise ShapeError(f"constant shape {shape} must be static and non-negative")
    if w.size != math.prod(shape):
        raise ShapeError(
            f"weights count {w.size} does not match the volume {math.prod(shape)} of shape {shape}"
        )
    values: Values = None
    arr = w._array
    if w.dtype in INT_TYPES and len(shape) <= 1 and arr is not None and w.size <= MAX_VALUES:
        values = tuple(int(v) for v in np.asarray(arr).reshape(-1)[: w.size])
    return [(tuple(shape), w.dtype, values)]


def _conv_like(impl: LayerImpl, deconv: bool) -> list[Out]:
    x = inp(impl, 0)
    p = impl.p
    k = tuple(p["kernel_size_nd"])
    nsp = len(k)
    if nsp not in (1, 2, 3):
        raise ShapeError(f"kernel must have 1 to 3 spatial dimensions, got {nsp}")
    if len(x._shape) < nsp + 2:
        raise ShapeError(
            f"input must have rank >= {nsp + 2} for a {nsp}D kernel, got {len(x._shape)}"
        )
    # dims before the channel are batch dims: a rank-5 input with a 2-D kernel is [N0, N1, C, H, W]
    channel = len(x._shape) - nsp - 1
    groups, kmaps = p["num_groups"], p["num_output_maps"]
    if groups < 1 or kmaps < 1:
        raise ShapeError("num_groups and num_output_maps must be positive")
    c = x._shape[channel]
    if c < 0:
        raise ShapeError("the channel dimension of the input must be static")
    if c % groups or kmaps % groups:
        raise ShapeError(
            f"channels ({c}) and output maps ({kmaps}) must be divisible by num_groups ({groups})"
        )
    kernel, bias = p["kernel"], p["bias"]
    expected = kmaps * (c // groups) * math.prod(k)
    if kernel.size and kernel.size != expected and opt(impl, 1) is None:
        # TensorRT checks the exact count when building, since num_groups is usually set after
        # add_convolution_nd; here only a count that fits no grouping at all is an error.
        unit = max(kmaps * math.prod(k), 1)
        per_group = kernel.size // unit
        if kernel.size % unit or per_group == 0 or c % per_group:
            raise ShapeError(
                f"kernel weights count {kernel.size} does not match the expected {expected}"
            )
    if not kernel.size and opt(impl, 1) is None:
        raise ShapeError("kernel weights are empty and no kernel tensor is set")
    if bias.size and bias.size != kmaps:
        raise ShapeError(f"bias weights count {bias.size} does not match num_output_maps {kmaps}")
    stride, dil = tuple(p["stride_nd"]), tuple(p["dilation_nd"])
    pre, post = tuple(p["pre_padding"]), tuple(p["post_padding"])
    for name, v in (
        ("stride", stride),
        ("dilation", dil),
        ("pre_padding", pre),
        ("post_padding", post),
    ):
        if len(v) != nsp:
            raise ShapeError(f"{name} {v} must have {nsp} dimensions")
    if any(s < 1 for s in stride) or any(d < 1 for d in dil):
        raise ShapeError("stride and dilation must be positive")
    mode = p["padding_mode"]
    out = [*x._shape[:channel], kmaps]
    for i in range(nsp):
        n = x._shape[channel + 1 + i]
        ek = dil[i] * (k[i] - 1) + 1
        if n < 0:
            out.append(-1)
        elif deconv:
            if mode in (PaddingMode.SAME_UPPER, PaddingMode.SAME_LOWER):
                out.append(n * stride[i])
            else:
                out.append((n - 1) * stride[i] + ek - pre[i] - post[i])
        elif mode in (PaddingMode.SAME_UPPER, PaddingMode.SAME_LOWER):
            out.append(-(-n // stride[i]))
        else:
            span = n + pre[i] + post[i] - ek
            if span < 0:
                raise ShapeError(f"kernel does not fit into the padded input along spatial dim {i}")
            up = mode == PaddingMode.EXPLICIT_ROUND_UP
            out.append((-(-span // stride[i]) if up else span // stride[i]) + 1)
    return [(tuple(out), x._dtype, None)]


def _convolution(impl: LayerImpl) -> list[Out]:
    return _conv_like(impl, False)


def _deconvolution(impl: LayerImpl) -> list[Out]:
    return _conv_like(impl, True)


def _pooling(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    p = impl.p
    w = tuple(p["window_size_nd"])
    nsp = len(w)
    if nsp not in (1, 2, 3) or len(x._shape) < nsp + 1:
        raise ShapeError(f"pooling window {w} does not fit an input of rank {len(x._shape)}")
    stride, pre, post = tuple(p["stride_nd"]), tuple(p["pre_padding"]), tuple(p["post_padding"])
    if len(stride) != nsp or len(pre) != nsp or len(post) != nsp or any(s < 1 for s in stride):
        raise ShapeError("pooling stride/padding must match the window rank and be positive")
    if p["type"].name == "???":
        raise ShapeError(f"invalid pooling type {int(p['type'])}")
    mode = p["padding_mode"]
    lead = len(x._shape) - nsp
    out = list(x._shape[:lead])
    for i in range(nsp):
        n = x._shape[lead + i]
        if n < 0:
            out.append(-1)
        elif mode in (PaddingMode.SAME_UPPER, PaddingMode.SAME_LOWER):
            out.append(-(-n // stride[i]))
        else:
            span = n + pre[i] + post[i] - w[i]
            if span < 0:
                raise ShapeError("pooling window does not fit into the padded input")
            up = mode == PaddingMode.EXPLICIT_ROUND_UP
            out.append((-(-span // stride[i]) if up else span // stride[i]) + 1)
    return [(tuple(out), x._dtype, None)]


def _cumulative(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    a = inp(impl, 1, "axis")
    if len(a._shape) != 0 or a._dtype not in INT_TYPES:
        raise ShapeError("the cumulative axis must be a 0-D INT32/INT64 tensor")
    av = vals(a)
    if av and av[0] is not None:
        norm_axis(av[0], len(x._shape))
    return [(x._shape, x._dtype, None)]


_QUANTIZED = (DataType.INT8, DataType.FP8, DataType.INT4, DataType.FP4)
#: LayerType name -> (input types, output types) that IQuantizeLayer / IDequantizeLayer
#: document ("supports ... precision" and "... output").
QDQ_TYPES: dict[str, tuple[tuple[DataType, ...], tuple[DataType, ...]]] = {
    "QUANTIZE": (FLOAT_TYPES, _QUANTIZED),
    "DEQUANTIZE": (_QUANTIZED, FLOAT_TYPES),
}


def _quantize(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    scale = inp(impl, 1, "scale")
    ins, outs = QDQ_TYPES[impl.ltype.name]
    what = impl.ltype.name.capitalize()
    if x._dtype not in ins:
        raise ShapeError(f"{what} input type {x._dtype.name} is not one of {_names(ins)}")
    to_type = impl.p["to_type"]
    if to_type not in outs:
        raise ShapeError(f"{what} output type {to_type.name} is not one of {_names(outs)}")
    if len(scale._shape) == 1 and scale._shape[0] > 1:  # per-axis: one scale per element
        axis = norm_axis(impl.p["axis"], len(x._shape), "quantization axis")
        n = x._shape[axis]
        if n >= 0 and n != scale._shape[0]:
            raise ShapeError(
                f"the per-axis scale has {scale._shape[0]} values but quantization axis {axis} "
                f"has size {n}"
            )
    return [(x._shape, to_type, None)]


def _names(types: Sequence[DataType]) -> str:
    return ", ".join(t.name for t in types)


def _dequantize(impl: LayerImpl) -> list[Out]:
    return _quantize(impl)


def _dynamic_quantize(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    rank = len(x._shape)
    p = impl.p
    if impl.private.get("v2"):
        block = tuple(p["block_shape"])
        if len(block) != rank or any(b < 1 for b in block):
            raise ShapeError(f"block_shape {block} must have rank {rank} and positive entries")
        scale = tuple(
            -1 if d < 0 else (d // b if d % b == 0 else -2)
            for d, b in zip(x._shape, block, strict=True)
        )
    else:
        if rank not in (2, 3):
            raise ShapeError("dynamic quantize supports only 2D and 3D inputs")
        axis = norm_axis(p["axis"], rank)
        if axis < rank - 2:
            raise ShapeError("the blocked axis must be one of the last two dimensions")
        bs = p["block_size"]
        if bs < 1:
            raise ShapeError("block_size must be positive")
        scale = tuple(
            -1 if (i == axis and d < 0) else (d // bs if d % bs == 0 else -2) if i == axis else d
            for i, d in enumerate(x._shape)
        )
    if -2 in scale:
        raise ShapeError("the blocked dimension must be divisible by the block size")
    return [(x._shape, p["to_type"], None), (scale, p["scale_type"], None)]


def _dist_collective(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    op = impl.private["op"]
    groups = impl.private.get("groups") or []
    n = len(groups) if groups else impl.num_ranks
    shape = list(x._shape)
    if op == CollectiveOperation.ALL_GATHER and shape:
        shape[0] = -1 if shape[0] < 0 else shape[0] * n
    elif op == CollectiveOperation.REDUCE_SCATTER and shape:
        if shape[0] >= 0 and shape[0] % n:
            raise ShapeError(f"dimension 0 ({shape[0]}) is not divisible by the group size {n}")
        shape[0] = _div(shape[0], n)
    return [(tuple(shape), x._dtype, None)]


def _einsum(impl: LayerImpl) -> list[Out]:
    ins = [inp(impl, i) for i in range(len(impl.inputs))]
    eq = impl.p["equation"].replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ins):
        raise ShapeError(f"equation '{eq}' does not match {len(ins)} inputs")
    for term, t in zip(terms, ins, strict=True):
        named = term.replace("...", "", 1)
        ok = all(c.islower() for c in named) and (
            len(named) == len(term) or len(named) <= len(t._shape)
        )
        if not ok or (len(named) == len(term) and len(term) != len(t._shape)):
            raise ShapeError(f"subscripts '{term}' do not match an input of rank {len(t._shape)}")
    # an ellipsis stands for the dims the named subscripts leave, broadcast right-aligned
    # across inputs: spell them with labels of their own (upper case, unused otherwise)
    widths = [
        len(t._shape) - len(term) + 3 for term, t in zip(terms, ins, strict=True) if "..." in term
    ]
    ellipsis = "ABCDEFGH"[: max(widths, default=0)]
    terms = [
        term.replace("...", ellipsis[len(ellipsis) - (len(t._shape) - len(term) + 3) :])
        for term, t in zip(terms, ins, strict=True)
    ]
    if arrow:
        rhs = rhs.replace("...", ellipsis)
    sizes: dict[str, int] = {}
    for term, t in zip(terms, ins, strict=True):
        if len(term) != len(t._shape) or "." in term:
            raise ShapeError(f"subscripts '{term}' do not match an input of rank {len(t._shape)}")
        for c, d in zip(term, t._shape, strict=True):
            sizes[c] = bcast_dim(sizes[c], d) if c in sizes else d
    if ins and not types_agree(impl, ins):
        raise ShapeError("all einsum inputs must have the same data type")
    if arrow:
        if any(c not in sizes for c in rhs) or len(set(rhs)) != len(rhs):
            raise ShapeError(f"invalid output subscripts '{rhs}'")
        out_labels = rhs
    else:
        counts = {c: "".join(terms).count(c) for c in sizes if c.islower()}
        out_labels = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1))
    return [(tuple(sizes[c] for c in out_labels), ins[0]._dtype, None)]


_CMP_OPS = (ElementWiseOperation.EQUAL, ElementWiseOperation.GREATER, ElementWiseOperation.LESS)
_BOOL_OPS = (ElementWiseOperation.AND, ElementWiseOperation.OR, ElementWiseOperation.XOR)
_EW_FN: dict[int, Callable[[int, int], int]] = {
    int(ElementWiseOperation.SUM): lambda a, b: a + b,
    int(ElementWiseOperation.SUB): lambda a, b: a - b,
    int(ElementWiseOperation.PROD): lambda a, b: a * b,
    int(ElementWiseOperation.MAX): max,
    int(ElementWiseOperation.MIN): min,
    int(ElementWiseOperation.FLOOR_DIV): lambda a, b: a // b,
    int(ElementWiseOperation.DIV): lambda a, b: int(a / b),
}


def _elementwise(impl: LayerImpl) -> list[Out]:
    a, b = inp(impl, 0), inp(impl, 1)
    op = impl.p["op"]
    if op.name == "???":
        raise ShapeError(f"invalid ElementWiseOperation {int(op)}")
    if not types_agree(impl, (a, b)):
        raise ShapeError(f"operand types differ: {a._dtype} vs {b._dtype}")
    if op in _BOOL_OPS and a._dtype != DataType.BOOL:
        raise ShapeError(f"{op} needs BOOL operands")
    shape = bcast(a._shape, b._shape)
    dtype = DataType.BOOL if op in _CMP_OPS else a._dtype
    values: Values = None
    fn = _EW_FN.get(int(op))
    va, vb = vals(a), vals(b)
    if fn and dtype in INT_TYPES and len(shape) <= 1 and va is not None and vb is not None:
        n = shape[0] if shape else 1
        if n >= 0:
            va2 = va * n if len(va) == 1 else va
            vb2 = vb * n if len(vb) == 1 else vb
            try:
                values = tuple(
                    None if x is None or y is None else fn(x, y)
                    for x, y in zip(va2, vb2, strict=True)
                )
            except (ZeroDivisionError, ValueError):
                values = None
    return [(shape, dtype, values)]


#: FillOperation -> the output types it supports (IFillLayer's table) and what inputs 1 and
#: 2 must be when given: "scalar" (start; minimum, maximum; mean, deviation) or "delta" (a
#: 1-D tensor with one value per output dimension).
FILL_RULES: dict[FillOperation, tuple[tuple[DataType, ...], tuple[str, str]]] = {
    FillOperation.LINSPACE: ((DataType.INT32, DataType.INT64, DataType.FLOAT), ("scalar", "delta")),
    FillOperation.RANDOM_UNIFORM: ((DataType.HALF, DataType.FLOAT), ("scalar", "scalar")),
    FillOperation.RANDOM_NORMAL: ((DataType.HALF, DataType.FLOAT), ("scalar", "scalar")),
}


def _fill(impl: LayerImpl) -> list[Out]:
    shape = _fill_shape(impl)
    op, to_type = impl.p["operation"], impl.p["to_type"]
    rule = FILL_RULES.get(op)
    if rule is None:
        raise ShapeError(f"invalid FillOperation {int(op)}")
    types, kinds = rule
    if to_type not in types:
        names = ", ".join(t.name for t in types)
        raise ShapeError(f"FillOperation.{op.name} outputs {names}, not {to_type.name}")
    for index, kind in zip((1, 2), kinds, strict=True):
        t = opt(impl, index)
        if t is None:
            continue
        if kind == "scalar" and t._shape != ():
            raise ShapeError(f"FillOperation.{op.name} input {index} must be a scalar")
        if kind == "delta" and (len(t._shape) != 1 or t._shape[0] not in (len(shape), -1)):
            raise ShapeError(
                f"FillOperation.{op.name} input {index} must be a 1-D tensor of length {len(shape)}"
            )
    return [(shape, to_type, None)]


def _fill_shape(impl: LayerImpl) -> tuple[int, ...]:
    st = opt(impl, 0)
    if st is not None:
        if len(st._shape) != 1 or st._dtype not in INT_TYPES or st._shape[0] < 0:
            raise ShapeError(
                "the fill shape input must be a 1-D INT32/INT64 shape tensor of static length"
            )
        shape = _dims_from_values(vals(st))
    else:
        shape = tuple(impl.p["shape"])
        if any(d < 0 for d in shape):
            raise ShapeError(f"fill dimensions {shape} must be non-negative")
    return shape


def _gather(impl: LayerImpl) -> list[Out]:
    data, idx = inp(impl, 0), inp(impl, 1, "indices")
    if idx._dtype not in INT_TYPES:
        raise ShapeError("gather indices must be INT32 or INT64")
    mode, nbe = impl.p["mode"], impl.p["num_elementwise_dims"]
    ds, is_ = data._shape, idx._shape
    r = len(ds)
    if mode == GatherMode.DEFAULT:
        if r == 0:
            raise ShapeError("gather data must have rank >= 1")
        axis = norm_axis(impl.p["axis"], r)
        if nbe not in (0, 1):
            raise ShapeError("num_elementwise_dims must be 0 or 1 for GatherMode.DEFAULT")
        if nbe and axis < nbe:
            raise ShapeError("the gather axis cannot be an elementwise dimension")
        _elementwise_dims_agree(ds, is_, nbe)
        out = ds[:axis] + is_[nbe:] + ds[axis + 1 :]
        values: Values = None
        dv, iv = vals(data), vals(idx)
        if r == 1 and nbe == 0 and dv is not None and iv is not None and len(is_) <= 1:
            n = len(dv)
            values = tuple(None if i is None or not -n <= i < n else dv[i] for i in iv)
        return [(out, data._dtype, values)]
    if mode == GatherMode.ELEMENT:
        if nbe != 0:
            raise ShapeError("num_elementwise_dims must be 0 for GatherMode.ELEMENT")
        if len(is_) != r:
            raise ShapeError("GatherMode.ELEMENT needs data and indices of the same rank")
        norm_axis(impl.p["axis"], r)
        values = None
        dv, iv = vals(data), vals(idx)
        if r == 1 and dv is not None and iv is not None:  # out[i] = data[indices[i]]
            n = len(dv)
            values = tuple(None if i is None or not -n <= i < n else dv[i] for i in iv)
        return [(is_, data._dtype, values)]
    if mode == GatherMode.ND:
        if not is_ or is_[-1] < 0:
            raise ShapeError("GatherMode.ND needs indices with a static last dimension")
        k = is_[-1]
        if nbe + k > r:
            raise ShapeError("GatherMode.ND indices address more dimensions than the data has")
        _elementwise_dims_agree(ds, is_, nbe)
        out = is_[:-1] + ds[nbe + k :]
        values = None
        dv, rows = vals(data), _constant_rows(idx)
        if r == 1 and nbe == 0 and k == 1 and len(out) <= 1 and dv is not None and rows:
            n = len(dv)
            values = tuple(None if not -n <= i < n else dv[i] for (i,) in rows)
        return [(out, data._dtype, values)]
    raise ShapeError(f"invalid GatherMode {int(mode)}")


def _elementwise_dims_agree(ds: tuple[int, ...], is_: tuple[int, ...], nbe: int) -> None:
    """The leading ``nbe`` dims of data and indices are walked together: where both are
    static they must be equal."""
    if len(is_) < nbe:
        raise ShapeError("gather indices have fewer dimensions than num_elementwise_dims")
    for d, (a, b) in enumerate(zip(ds[:nbe], is_[:nbe], strict=False)):
        if a >= 0 and b >= 0 and a != b:
            raise ShapeError(
                f"elementwise dimension {d} of data ({a}) and indices ({b}) must be equal"
            )


def _constant_rows(t: ITensor) -> list[tuple[int, ...]] | None:
    """The rows (over the last dim) of a small static integer constant of rank 2, as
    GatherMode.ND indices of shape tensors are written; None for anything else."""
    p = t._producer
    if p is None or p.ltype.name != "CONSTANT" or len(t._shape) != 2 or t._dtype not in INT_TYPES:
        return None
    arr = p.p["weights"]._array
    if arr is None or not 0 < arr.size <= MAX_VALUES:
        return None
    return [tuple(int(v) for v in row) for row in np.asarray(arr).reshape(t._shape)]


def _grid_sample(impl: LayerImpl) -> list[Out]:
    x, g = inp(impl, 0), inp(impl, 1, "grid")
    if len(x._shape) != 4 or len(g._shape) != 4:
        raise ShapeError("grid sample input and grid must have rank 4")
    if g._shape[3] not in (2, -1):
        raise ShapeError("the last dimension of the grid must be 2")
    return [
        (
            (bcast_dim(x._shape[0], g._shape[0]), x._shape[1], g._shape[1], g._shape[2]),
            x._dtype,
            None,
        )
    ]


def _identity(impl: LayerImpl) -> list[Out]:
    return same(impl)


def _kv_cache_update(impl: LayerImpl) -> list[Out]:
    cache, upd, idx = inp(impl, 0, "cache"), inp(impl, 1, "update"), inp(impl, 2, "write_indices")
    if len(cache._shape) != 4 or len(upd._shape) != 4:
        raise ShapeError("cache and update must be 4-D [batch, heads, sequence, head_size]")
    if cache._dtype != upd._dtype:
        raise ShapeError("cache and update must have the same data type")
    for d in (0, 1, 3):
        a, b = cache._shape[d], upd._shape[d]
        if a >= 0 and b >= 0 and a != b:
            raise ShapeError(f"cache and update differ on dimension {d}: {a} vs {b}")
    if idx._dtype not in INT_TYPES:
        raise ShapeError("write_indices must be INT32 or INT64")
    return [(cache._shape, cache._dtype, None)]


def _lrn(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    w = impl.p["window_size"]
    if w < 1 or w > 15 or w % 2 == 0:
        raise ShapeError(f"LRN window size {w} must be odd and in [1, 15]")
    check_rank(x, 3)
    return same(impl)


def _matrix_multiply(impl: LayerImpl) -> list[Out]:
    a, b = inp(impl, 0), inp(impl, 1)
    op0, op1 = impl.p["op0"], impl.p["op1"]
    if not types_agree(impl, (a, b)):
        raise ShapeError(f"operand types differ: {a._dtype} vs {b._dtype}")

    def split(s: Shape, op: MatrixOperation, which: int) -> tuple[Shape, tuple[int, ...], int]:
        if op == MatrixOperation.VECTOR:
            if len(s) < 1:
                raise ShapeError("a vector operand needs rank >= 1")
            return s[:-1], (), s[-1]
        if len(s) < 2:
            raise ShapeError("a matrix operand needs rank >= 2")
        m, n = s[-2], s[-1]
        if op == MatrixOperation.TRANSPOSE:
            m, n = n, m
        # which=0: rows kept, contraction = n ; which=1: contraction = m, cols kept
        return (s[:-2], (m,), n) if which == 0 else (s[:-2], (n,), m)

    ba, keep_a, ka = split(a._shape, op0, 0)
    bb, keep_b, kb = split(b._shape, op1, 1)
    if ka >= 0 and kb >= 0 and ka != kb:
        raise ShapeError(f"contraction dimensions differ: {ka} vs {kb}")
    if len(ba) != len(bb):
        raise ShapeError(f"batch ranks differ: {len(ba)} vs {len(bb)}")
    batch = bcast(ba, bb) if ba else ()
    return [(batch + keep_a + keep_b, a._dtype, None)]


def _moe(impl: LayerImpl) -> list[Out]:
    h = inp(impl, 0, "hidden_states")
    sel, scores = (
        inp(impl, 1, "selected_experts_for_tokens"),
        inp(impl, 2, "scores_for_selected_experts"),
    )
    if sel._dtype not in INT_TYPES:
        raise ShapeError("selected_experts_for_tokens must be INT32 or INT64")
    if len(sel._shape) != len(scores._shape):
        raise ShapeError("selected experts and scores must have the same rank")
    return [(h._shape, h._dtype, None)]


def _nms(impl: LayerImpl) -> list[Out]:
    boxes, scores, mx = (
        inp(impl, 0, "boxes"),
        inp(impl, 1, "scores"),
        inp(impl, 2, "max_output_boxes_per_class"),
    )
    if len(boxes._shape) not in (3, 4) or len(scores._shape) != 3:
        raise ShapeError("boxes must be 3-D or 4-D and scores 3-D")
    # boxes [batchSize, numInputBoundingBoxes, 4] or [..., numClasses, 4] (per-class boxes),
    # scores [batchSize, numInputBoundingBoxes, numClasses] (not ONNX's [batch, classes, boxes])
    b, s = boxes._shape, scores._shape
    pairs = [(b[0], s[0], "batchSize"), (b[1], s[1], "numInputBoundingBoxes")]
    if len(b) == 4:
        pairs.append((b[2], s[2], "numClasses"))
    for db, ds, what in pairs:
        if db >= 0 and ds >= 0 and db != ds:
            raise ShapeError(
                f"boxes {b} and scores {s} disagree on {what}: boxes must be "
                "[batchSize, numInputBoundingBoxes, (numClasses,) 4] and scores "
                "[batchSize, numInputBoundingBoxes, numClasses]"
            )
    if b[-1] not in (4, -1):
        raise ShapeError(f"the last dimension of boxes {b} must be 4")
    if boxes._dtype not in (DataType.FLOAT, DataType.HALF) or scores._dtype != boxes._dtype:
        raise ShapeError("boxes must be FLOAT or HALF and scores of the same type")
    if len(mx._shape) != 0 or mx._dtype != DataType.INT32:
        raise ShapeError("max_output_boxes_per_class must be a 0-D INT32 tensor")
    return [((-1, 3), impl.p["indices_type"], None), ((), DataType.INT32, None)]


def _non_zero(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    return [((len(x._shape), -1), impl.p["indices_type"], None)]


def _normalization(impl: LayerImpl) -> list[Out]:
    x, s, b = inp(impl, 0), inp(impl, 1, "scale"), inp(impl, 2, "bias")
    r = len(x._shape)
    if len(s._shape) != r or len(b._shape) != r:
        raise ShapeError("scale and bias must have the same rank as the input")
    if s._shape != b._shape and -1 not in s._shape + b._shape:
        raise ShapeError("scale and bias must have the same shape")
    if impl.p["axes"] == 0 or impl.p["axes"] >> r:
        raise ShapeError(f"normalization axes mask {impl.p['axes']} is invalid for rank {r}")
    if impl.p["num_groups"] < 1:
        raise ShapeError("num_groups must be positive")
    return same(impl)


def _one_hot(impl: LayerImpl) -> list[Out]:
    idx, values, depth = inp(impl, 0, "indices"), inp(impl, 1, "values"), inp(impl, 2, "depth")
    if idx._dtype not in INT_TYPES:
        raise ShapeError("one-hot indices must be INT32 or INT64")
    if values._shape not in ((2,), (-1,)):
        raise ShapeError("one-hot values must be a 1-D tensor of two elements")
    if len(depth._shape) != 0:
        raise ShapeError("one-hot depth must be a 0-D tensor")
    r = len(idx._shape) + 1
    axis = norm_axis(impl.p["axis"], r)
    dv = vals(depth)
    d = dv[0] if dv and dv[0] is not None else -1
    out = list(idx._shape)
    out.insert(axis, d)
    return [(tuple(out), values._dtype, None)]


def _padding(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    pre, post = tuple(impl.p["pre_padding_nd"]), tuple(impl.p["post_padding_nd"])
    if len(pre) != len(post) or len(pre) > len(x._shape):
        raise ShapeError("pre/post padding must have the same length, at most the input rank")
    lead = len(x._shape) - len(pre)
    out = list(x._shape[:lead])
    for i, n in enumerate(x._shape[lead:]):
        v = -1 if n < 0 else n + pre[i] + post[i]
        if n >= 0 and v < 0:
            raise ShapeError("padding trims more than the dimension size")
        out.append(v)
    return [(tuple(out), x._dtype, None)]


def _parametric_relu(impl: LayerImpl) -> list[Out]:
    x, s = inp(impl, 0), inp(impl, 1, "slopes")
    if len(s._shape) != len(x._shape):
        raise ShapeError("slopes must have the same rank as the input")
    bcast(x._shape, s._shape)
    return same(impl)


def _ragged_softmax(impl: LayerImpl) -> list[Out]:
    x, b = inp(impl, 0), inp(impl, 1, "bounds")
    # ZxS, or with a leading batch dimension (NVIDIA's example uses a rank-3 input)
    if len(x._shape) not in (2, 3) or len(b._shape) != len(x._shape):
        raise ShapeError("ragged softmax needs a ZxS input and a Zx1 bounds tensor")
    return same(impl)


def _reduce(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    r, axes = len(x._shape), impl.p["axes"]
    if axes < 0 or axes >> r:
        raise ShapeError(f"reduce axes mask {axes} is invalid for rank {r}")
    if impl.p["op"].name == "???":
        raise ShapeError(f"invalid ReduceOperation {int(impl.p['op'])}")
    keep = impl.p["keep_dims"]
    out = (
        [1 if (axes >> i) & 1 else d for i, d in enumerate(x._shape)]
        if keep
        else [d for i, d in enumerate(x._shape) if not (axes >> i) & 1]
    )
    values: Values = None
    v = vals(x)
    if r == 1 and axes == 1 and v is not None and None not in v and x._dtype in INT_TYPES:
        op = impl.p["op"]
        if op == ReduceOperation.SUM:
            values = (sum(v),)  # type: ignore[arg-type]  # mypy cannot narrow by `None not in v`
        elif op == ReduceOperation.PROD:
            values = (math.prod(v),)  # type: ignore[arg-type]  # as above: no None in v
    return [(tuple(out), x._dtype, values)]


def _resize(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    st = opt(impl, 1)
    r = len(x._shape)
    if st is not None:
        if len(st._shape) != 1:
            raise ShapeError("the resize shape input must be a 1-D tensor")
        if st._dtype in INT_TYPES:
            shape = _dims_from_values(vals(st))
            if len(shape) != r:
                raise ShapeError("the resize shape input length must equal the input rank")
            return [(shape, x._dtype, None)]
        return [((-1,) * r, x._dtype, None)]
    scales = impl.p["scales"]
    if scales:
        if len(scales) != r:
            raise ShapeError(f"{len(scales)} scales given for an input of rank {r}")
        return [
            (
                tuple(
                    -1 if d < 0 else math.floor(d * s)
                    for d, s in zip(x._shape, scales, strict=True)
                ),
                x._dtype,
                None,
            )
        ]
    shape = impl.p["shape"]
    if shape is None:
        return same(impl)
    if len(shape) != r:
        raise ShapeError("resize output dimensions must have the input rank")
    return [(tuple(shape), x._dtype, None)]


def _reverse_sequence(impl: LayerImpl) -> list[Out]:
    x, s = inp(impl, 0), inp(impl, 1, "sequence_lens")
    r = len(x._shape)
    ba, sa = norm_axis(impl.p["batch_axis"], r), norm_axis(impl.p["sequence_axis"], r)
    if ba == sa or len(s._shape) != 1:
        raise ShapeError("batch and sequence axes must differ and sequence_lens must be 1-D")
    if s._shape[0] >= 0 and x._shape[ba] >= 0 and s._shape[0] != x._shape[ba]:
        raise ShapeError("sequence_lens length must equal the batch dimension")
    return same(impl)


def _rotary_embedding(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    inp(impl, 1, "cos_cache")
    inp(impl, 2, "sin_cache")
    if len(x._shape) != 4:
        raise ShapeError(
            "the rotary embedding input must be 4-D [batch, heads, sequence, head_size]"
        )
    dim = impl.p["rotary_embedding_dim"]
    hs = x._shape[3]
    if dim < 0 or dim % 2 or (hs >= 0 and dim > hs):
        raise ShapeError(f"rotary_embedding_dim {dim} must be even and at most the head size {hs}")
    return same(impl)


def _scale(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    r = len(x._shape)
    if r < 3:
        raise ShapeError("the scale input must have at least 3 dimensions")
    axis = norm_axis(impl.p["channel_axis"], r, "channel_axis")
    mode = impl.p["mode"]
    if mode == ScaleMode.UNIFORM:
        n = 1
    elif mode == ScaleMode.CHANNEL:
        n = x._shape[axis]
    elif mode == ScaleMode.ELEMENTWISE:
        tail = x._shape[axis:]
        n = -1 if -1 in tail else math.prod(tail)
    else:
        raise ShapeError(f"invalid ScaleMode {int(mode)}")
    for role in ("shift", "scale", "power"):
        cnt = impl.p[role].size
        if cnt and n >= 0 and cnt != n:
            raise ShapeError(f"{role} has {cnt} weights, expected {n} for {mode}")
    return same(impl)


def _scatter(impl: LayerImpl) -> list[Out]:
    d, i, u = inp(impl, 0, "data"), inp(impl, 1, "indices"), inp(impl, 2, "updates")
    if i._dtype not in INT_TYPES or d._dtype != u._dtype:
        raise ShapeError("scatter indices must be integer and updates must have the data type")
    return [(d._shape, d._dtype, None)]


def _select(impl: LayerImpl) -> list[Out]:
    c, t, e = inp(impl, 0, "condition"), inp(impl, 1, "then"), inp(impl, 2, "else")
    if c._dtype != DataType.BOOL:
        raise ShapeError("the select condition must be BOOL")
    if not types_agree(impl, (t, e)):
        raise ShapeError("then and else inputs must have the same data type")
    return [(bcast(c._shape, t._shape, e._shape), t._dtype, None)]


def _shape(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    return [((len(x._shape),), DataType.INT64, tuple(None if d < 0 else d for d in x._shape))]


#: A dimension as shape inference compares them: ``(coefficient, factors)``, the product of
#: a static coefficient and dynamic dimensions, each named ``(tensor, axis)``. TensorRT's
#: shape analysis is symbolic: equal factors cancel.
Dim = tuple[int, tuple[tuple[Any, int], ...]]

#: Single-input layers whose output has exactly their input's dimensions (same symbols).
_SAME_DIMS = frozenset({"ACTIVATION", "CAST", "IDENTITY", "SOFTMAX", "UNARY"})
_TRACE_DEPTH = 32


def _root(t: Any) -> Any:
    """The tensor whose dimensions ``t`` repeats unchanged (through activations, casts...)."""
    for _ in range(_TRACE_DEPTH):
        p = getattr(t, "_producer", None)
        if p is None or p.ltype.name not in _SAME_DIMS or not p.inputs:
            return t
        src = p.inputs[0]
        if src is None or src._shape != t._shape:
            return t
        t = src
    return t


def _dim(t: Any, axis: int) -> Dim:
    """Dimension ``axis`` of ``t``."""
    d: int = t._shape[axis]
    return (d, ()) if d >= 0 else (1, ((_root(t), axis),))


def _element(t: Any, k: int, depth: int = 0) -> Dim | None:
    """Element ``k`` of the integer shape tensor ``t`` as a dimension, traced back through
    the layers that move or multiply shape elements (shape, slice, gather, concatenation,
    cast, squeeze/unsqueeze, elementwise PROD); None if it is computed some other way."""
    v = vals(t)
    known = v[k] if v is not None and 0 <= k < len(v) else None
    if known is not None:
        return (known, ())
    p = getattr(t, "_producer", None)
    if p is None or depth > _TRACE_DEPTH or k < 0 or len(t._shape) > 1:
        return None
    name = p.ltype.name
    src = p.inputs[0] if p.inputs else None
    if src is None or (len(src._shape) > 1 and name != "SHAPE"):
        return None
    if name == "SHAPE":
        return _dim(src, k) if k < len(src._shape) else None
    if name in ("CAST", "IDENTITY", "SQUEEZE", "UNSQUEEZE"):
        return _element(src, k, depth + 1)
    if name == "CONCATENATION":
        for part in p.inputs:
            n = part._shape[0] if part is not None and len(part._shape) == 1 else -1
            if n < 0:
                return None
            if k < n:
                return _element(part, k, depth + 1)
            k -= n
        return None
    if name == "SLICE" and len(src._shape) == 1:
        if any(i < len(p.inputs) and p.inputs[i] is not None for i in (1, 2, 3, 4, 5)):
            return None
        return _element(src, p.p["start"][0] + k * p.p["stride"][0], depth + 1)
    if name == "GATHER" and p.p["mode"] == GatherMode.DEFAULT and len(src._shape) == 1:
        iv = vals(p.inputs[1] if len(p.inputs) > 1 else None)
        i = iv[k if len(iv) > 1 else 0] if iv and k < max(len(iv), 1) else None
        if i is None or src._shape[0] < 0 or not -src._shape[0] <= i < src._shape[0]:
            return None
        return _element(src, i % src._shape[0], depth + 1)
    if name == "ELEMENTWISE" and p.p["op"] == ElementWiseOperation.PROD and len(p.inputs) > 1:
        parts = []
        for operand in p.inputs[:2]:
            if operand is None or len(operand._shape) > 1:
                return None
            single = not operand._shape or operand._shape[0] == 1
            parts.append(_element(operand, 0 if single else k, depth + 1))
        a, b = parts
        return None if a is None or b is None else (a[0] * b[0], a[1] + b[1])
    return None


def _reshape(
    cur: list[Dim], spec: Sequence[int | Dim | None], zero_ph: bool, shown: Shape
) -> list[int]:
    """Output dimensions of reshaping dimensions ``cur`` with ``spec`` (0: copy the input
    dimension if ``zero_ph``, -1: inferred, None: unknown, a Dim: that product). The -1 is
    resolved whenever the volume's symbolic quotient is static, as TensorRT does:
    (-1, 4, 9) reshaped with (0, -1) is (-1, 36)."""
    out: list[Dim | None] = []
    infer_at = -1
    for i, v in enumerate(spec):
        if v is None or isinstance(v, tuple):
            out.append(v)
        elif v == 0 and zero_ph:
            if i >= len(cur):
                raise ShapeError("a 0 placeholder has no corresponding input dimension")
            out.append(cur[i])
        elif v == -1:
            if infer_at >= 0:
                raise ShapeError("at most one reshape dimension may be -1")
            infer_at = i
            out.append((-1, ()))
        elif v < -1:
            raise ShapeError(f"invalid reshape dimension {v}")
        else:
            out.append((v, ()))
    # cancel the dynamic factors both sides share; what is left must be static
    rest = [f for _, factors in cur for f in factors]
    vol_in = math.prod(c for c, _ in cur)
    known, vol_out = True, 1
    for j, d in enumerate(out):
        if j == infer_at:
            continue
        if d is None:
            known = False
            continue
        vol_out *= d[0]
        for f in d[1]:
            if f in rest:
                rest.remove(f)
            else:
                known = False
    known = known and not rest
    shape = [-1 if d is None or d[1] else d[0] for d in out]
    # a volume that cannot match is an error here only for static inputs: with dynamic
    # dimensions TensorRT checks it against the profile's shapes when it builds
    static = all(not factors for _, factors in cur)
    if infer_at >= 0 and known:
        if vol_out == 0 or vol_in % vol_out:
            if static:
                raise ShapeError(f"cannot infer -1 in reshape {tuple(shape)} of {shown}")
        else:
            shape[infer_at] = vol_in // vol_out
    elif infer_at < 0 and known and static and vol_out != vol_in:
        raise ShapeError(f"reshape {tuple(shape)} changes the volume of {shown}")
    return shape


def _shuffle(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    p = impl.p
    r = len(x._shape)
    first = p["first_transpose"]
    if sorted(first[:r]) != list(range(r)):
        raise ShapeError(f"first_transpose {tuple(first[:r])} is not a permutation of rank {r}")
    cur = [x._shape[first[i]] for i in range(r)]
    vin = x._values
    rt = opt(impl, 1)
    spec: list[int | Dim | None] | None
    if rt is not None:
        if len(rt._shape) != 1 or rt._shape[0] < 0 or rt._dtype not in INT_TYPES:
            raise ShapeError(
                "the reshape dimensions input must be a 1-D INT32/INT64 tensor of static length"
            )
        spec = [v if v is not None else _element(rt, k) for k, v in enumerate(vals(rt) or ())]
    elif p["reshape_dims"] is not None:
        spec = list(p["reshape_dims"])
    else:
        spec = None
    if spec is not None:
        dims = [_dim(x, first[i]) for i in range(r)]
        cur = _reshape(dims, spec, p["zero_is_placeholder"], tuple(cur))
        if vin is not None and len(cur) > 1:
            vin = None
    rank2 = len(cur)
    second = p["second_transpose"]
    if sorted(second[:rank2]) != list(range(rank2)):
        raise ShapeError(
            f"second_transpose {tuple(second[:rank2])} is not a permutation of rank {rank2}"
        )
    final = tuple(cur[second[i]] for i in range(rank2))
    if any(first[i] != i for i in range(r)) or any(second[i] != i for i in range(rank2)):
        vin = None if r > 1 or rank2 > 1 else vin
    return [(final, x._dtype, vin)]


def _slice(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    p = impl.p
    r = len(x._shape)
    axes_t = opt(impl, 5)
    if axes_t is not None:
        av = vals(axes_t)
        if av is None:
            raise ShapeError("the slice axes input must be a 1-D tensor of static length")
        axes: list[int | None] = list(av)
    elif p["axes"] is not None:
        axes = list(p["axes"])
    else:
        axes = list(range(r))
    size_t = opt(impl, 2)
    if size_t is not None:
        sv = vals(size_t)
        if sv is None:
            raise ShapeError(
                "the slice size input must be a 1-D INT32/INT64 tensor of static length"
            )
        sizes: list[int | None] = list(sv)
    else:
        sizes = list(p["shape"])
    start_t, stride_t = opt(impl, 1), opt(impl, 3)
    n_start = len(vals(start_t) or ()) if start_t is not None else len(p["start"])
    n_stride = len(vals(stride_t) or ()) if stride_t is not None else len(p["stride"])
    if (
        axes_t is None
        and p["axes"] is None
        and len(sizes) == n_start == n_stride
        and len(sizes) < r
    ):
        # Fewer start/size/stride entries than the input rank: valid once axes are set
        # (TensorRT reports it only when the network is built).
        return [((-1,) * r, x._dtype, None)]
    if len(sizes) != len(axes) or n_start != len(axes) or n_stride != len(axes):
        raise ShapeError(
            f"slice start/size/stride lengths ({n_start}, {len(sizes)}, {n_stride}) must equal "
            f"the number of sliced axes ({len(axes)})"
        )
    out = list(x._shape)
    for ax, sz in zip(axes, sizes, strict=True):
        if ax is None:
            out = [-1] * r
            continue
        a = norm_axis(ax, r, "slice axis")
        if sz is not None and sz < 0:
            raise ShapeError(f"slice size {sz} must be non-negative")
        out[a] = -1 if sz is None else sz
    values: Values = None
    xv = vals(x)
    if (
        r == 1
        and xv is not None
        and start_t is None
        and stride_t is None
        and size_t is None
        and axes_t is None
    ):
        st, sd, sz = p["start"][0], p["stride"][0], out[0]
        if sz >= 0:
            idx = [st + k * sd for k in range(sz)]
            n = len(xv)
            values = tuple(xv[i] if 0 <= i < n else None for i in idx)
    return [(tuple(out), x._dtype, values)]


def _softmax(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    axes = impl.p["axes"]
    r = len(x._shape)
    if bin(axes).count("1") != 1 or axes >> max(r, 1):
        raise ShapeError(f"softmax axes mask {axes} must select exactly one of {r} dimensions")
    return same(impl)


def _axes_values(impl: LayerImpl) -> list[int | None]:
    a = inp(impl, 1, "axes")
    if len(a._shape) > 1 or a._dtype not in INT_TYPES:
        raise ShapeError("axes must be a 0-D or 1-D INT32/INT64 tensor")
    v = vals(a)
    if v is None:
        raise ShapeError("axes must have a static number of elements")
    return list(v)


def _squeeze(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    axes = _axes_values(impl)
    r = len(x._shape)
    if None in axes:
        return [((-1,) * (r - len(axes)), x._dtype, None)]
    norm = {norm_axis(a, r) for a in axes}  # type: ignore[arg-type]  # no None: returned above
    if len(norm) != len(axes):
        raise ShapeError("squeeze axes must be unique")
    for a in norm:
        if x._shape[a] not in (1, -1):
            raise ShapeError(f"cannot squeeze dimension {a} of size {x._shape[a]}")
    out = tuple(d for i, d in enumerate(x._shape) if i not in norm)
    keep = x._values if r <= 1 else None
    return [(out, x._dtype, keep)]


def _unsqueeze(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    axes = _axes_values(impl)
    rf = len(x._shape) + len(axes)
    if rf > MAX_DIMS:
        raise ShapeError(f"unsqueeze result rank {rf} exceeds {MAX_DIMS}")
    if None in axes:
        return [((-1,) * rf, x._dtype, None)]
    norm = {norm_axis(a, rf) for a in axes}  # type: ignore[arg-type]  # no None: returned above
    if len(norm) != len(axes):
        raise ShapeError("unsqueeze axes must be unique")
    it = iter(x._shape)
    out = tuple(1 if i in norm else next(it) for i in range(rf))
    keep = x._values if rf <= 1 else None
    return [(out, x._dtype, keep)]


def _topk(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    r = len(x._shape)
    axes = impl.p["axes"]
    if bin(axes).count("1") != 1 or axes >> max(r, 1):
        raise ShapeError(f"TopK axes mask {axes} must select exactly one dimension")
    axis = axes.bit_length() - 1
    kt = opt(impl, 1)
    if kt is not None:
        if kt._shape != () or kt._dtype not in INT_TYPES:
            raise ShapeError("the TopK k input must be a 0-D (scalar) integer shape tensor")
        kv = vals(kt)
        k = kv[0] if kv and len(kv) == 1 and kv[0] is not None else -1
    else:
        k = impl.p["k"]
        if not 0 < k <= 3840:
            raise ShapeError(f"TopK k={k} must be in [1, 3840]")
    out = list(x._shape)
    out[axis] = k
    return [(tuple(out), x._dtype, None), (tuple(out), impl.p["indices_type"], None)]


def _unary(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    op = impl.p["op"]
    if op.name == "???":
        raise ShapeError(f"invalid UnaryOperation {int(op)}")
    if op == UnaryOperation.NOT and x._dtype != DataType.BOOL:
        raise ShapeError("UnaryOperation.NOT needs a BOOL input")
    dtype = DataType.BOOL if op in (UnaryOperation.ISINF, UnaryOperation.ISNAN) else x._dtype
    values: Values = None
    v = vals(x)
    if v is not None and op in (UnaryOperation.ABS, UnaryOperation.NEG) and x._dtype in INT_TYPES:
        fn = abs if op == UnaryOperation.ABS else (lambda a: -a)
        values = tuple(None if a is None else fn(a) for a in v)
    return [(x._shape, dtype, values)]


# -- loops, conditionals, attention -------------------------------------------------------
def _recurrence(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0, "initial value")
    nxt = opt(impl, 1)
    if nxt is not None and getattr(getattr(nxt, "_producer", None), "shape_error", None):
        nxt = None  # the back edge's dimensions cannot be computed (reported where they fail)
    if nxt is not None and (nxt._dtype != x._dtype or len(nxt._shape) != len(x._shape)):
        raise ShapeError("the recurrence's next value must have the initial value's type and rank")
    return [(x._shape, x._dtype, None)]


def _trip_limit(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    if len(x._shape) != 0:
        raise ShapeError("a trip limit must be a 0-D tensor")
    return []


def _iterator(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    r = len(x._shape)
    if r == 0:
        raise ShapeError("cannot iterate over a 0-D tensor")
    axis = norm_axis(impl.p["axis"], r)
    return [(x._shape[:axis] + x._shape[axis + 1 :], x._dtype, None)]


def _loop_output(impl: LayerImpl) -> list[Out]:
    x = inp(impl, 0)
    kind = impl.p["kind"]
    if kind == LoopOutput.LAST_VALUE:
        return [(x._shape, x._dtype, None)]
    r = len(x._shape) + 1
    axis = norm_axis(impl.p["axis"], r)
    n = opt(impl, 1)
    nv = vals(n) if n is not None else None
    length = nv[0] if nv and len(nv) == 1 and nv[0] is not None else -1
    out = list(x._shape)
    out.insert(axis, length)
    return [(tuple(out), x._dtype, None)]


def _condition(impl: LayerImpl) -> list[Out]:
    c = inp(impl, 0, "condition")
    if c._dtype != DataType.BOOL or len(c._shape) != 0:
        raise ShapeError("the if-conditional condition must be a 0-D BOOL tensor")
    return []


def _conditional_input(impl: LayerImpl) -> list[Out]:
    return same(impl)


def _conditional_output(impl: LayerImpl) -> list[Out]:
    t, f = inp(impl, 0, "true-branch output"), inp(impl, 1, "false-branch output")
    if t._dtype != f._dtype or len(t._shape) != len(f._shape):
        raise ShapeError("both branch outputs must have the same type and rank")
    shape = tuple(a if a == b else -1 for a, b in zip(t._shape, f._shape, strict=True))
    return [(shape, t._dtype, None)]


def _attention_input(impl: LayerImpl) -> list[Out]:
    q, k, v = inp(impl, 0, "query"), inp(impl, 1, "key"), inp(impl, 2, "value")
    for name, t in (("query", q), ("key", k), ("value", v)):
        if len(t._shape) != 4:
            raise ShapeError(f"attention {name} must be 4-D [batch, heads, sequence, head_size]")
    if not (q._dtype == k._dtype == v._dtype):
        raise ShapeError("query, key and value must have the same data type")
    qd, kd = q._shape[3], k._shape[3]
    if qd >= 0 and kd >= 0 and qd != kd:
        raise ShapeError(f"query and key head sizes differ: {qd} vs {kd}")
    ks, vs = k._shape[2], v._shape[2]
    if ks >= 0 and vs >= 0 and ks != vs:
        raise ShapeError(f"key and value sequence lengths differ: {ks} vs {vs}")
    hq, hk = q._shape[1], k._shape[1]
    if hq >= 0 and hk > 0 and hq % hk:
        raise ShapeError(f"query heads ({hq}) must be a multiple of key/value heads ({hk})")
    return []


def _attention_output(impl: LayerImpl) -> list[Out]:
    att = impl.construct
    q, v = att.inputs[0], att.inputs[2]
    if q is None or v is None:
        raise ShapeError("attention query and value must be set")
    if len(q._shape) != 4 or len(v._shape) != 4:
        raise ShapeError(
            "attention query and value must be 4-D [batch, heads, sequence, head_size]"
        )
    return [((q._shape[0], q._shape[1], q._shape[2], v._shape[3]), q._dtype, None)]


def _plugin(impl: LayerImpl) -> list[Out]:
    fn: Callable[[LayerImpl], list[Out]] = impl.private["infer"]
    return fn(impl)


INFER: dict[str, Callable[[LayerImpl], list[Out]]] = {
    "ACTIVATION": _activation,
    "ASSERTION": _assertion,
    "CAST": _cast,
    "CONCATENATION": _concatenation,
    "CONSTANT": _constant,
    "CONVOLUTION": _convolution,
    "DECONVOLUTION": _deconvolution,
    "CUMULATIVE": _cumulative,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
    "DYNAMIC_QUANTIZE": _dynamic_quantize,
    "DIST_COLLECTIVE": _dist_collective,
    "EINSUM": _einsum,
    "ELEMENTWISE": _elementwise,
    "FILL": _fill,
    "GATHER": _gather,
    "GRID_SAMPLE": _grid_sample,
    "IDENTITY": _identity,
    "KV_CACHE_UPDATE": _kv_cache_update,
    "LRN": _lrn,
    "MATRIX_MULTIPLY": _matrix_multiply,
    "MOE": _moe,
    "NMS": _nms,
    "NON_ZERO": _non_zero,
    "NORMALIZATION": _normalization,
    "ONE_HOT": _one_hot,
    "PADDING": _padding,
    "PARAMETRIC_RELU": _parametric_relu,
    "POOLING": _pooling,
    "RAGGED_SOFTMAX": _ragged_softmax,
    "REDUCE": _reduce,
    "RESIZE": _resize,
    "REVERSE_SEQUENCE": _reverse_sequence,
    "ROTARY_EMBEDDING": _rotary_embedding,
    "SCALE": _scale,
    "SCATTER": _scatter,
    "SELECT": _select,
    "SHAPE": _shape,
    "SHUFFLE": _shuffle,
    "SLICE": _slice,
    "SOFTMAX": _softmax,
    "SQUEEZE": _squeeze,
    "UNSQUEEZE": _unsqueeze,
    "TOPK": _topk,
    "UNARY": _unary,
    "RECURRENCE": _recurrence,
    "TRIP_LIMIT": _trip_limit,
    "ITERATOR": _iterator,
    "LOOP_OUTPUT": _loop_output,
    "CONDITION": _condition,
    "CONDITIONAL_INPUT": _conditional_input,
    "CONDITIONAL_OUTPUT": _conditional_output,
    "ATTENTION_INPUT": _attention_input,
    "ATTENTION_OUTPUT": _attention_output,
    "PLUGIN_V2": _plugin,
    "PLUGIN_V3": _plugin,
}


def infer(impl: LayerImpl) -> list[Out]:
    """Outputs of ``impl`` (raises ShapeError when the configuration is invalid)."""
    outs = INFER[impl.ltype.name](impl)
    if impl.out_types:
        outs = [(s, impl.out_types.get(i, d), v) for i, (s, d, v) in enumerate(outs)]
    return outs


def as_list(x: Sequence[Any]) -> list[Any]:
    """Small helper for callers that need a mutable copy."""
    return list(x)
