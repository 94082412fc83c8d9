"""Value-type edge cases of the offline model: integer ranges and Dims slice assignment.

Why: code developed offline must fail (or succeed) where the official 10.16 bindings do.
Dims entries are C++ ``int64`` and Permutation entries and indices ``int32``, so pybind11
rejects a Python int outside that range with ``TypeError`` instead of storing it; and
``Dims`` supports ``d[a:b] = dims``. Every expectation below was observed with the real
bindings (stub-loaded, see ``tests/support/real_trt.py``); ``test_real_types`` compares a
subset of them directly. One case is deliberately not mirrored: a negative-step slice with
start < stop walks out of bounds in the real binding, offline it changes nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import trt_netser.offline as trt

INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)


# --- integer ranges -------------------------------------------------------------------


@pytest.mark.parametrize("value", [INT64_MAX, INT64_MIN])
def test_dims_accepts_int64_bounds(value: int) -> None:
    assert trt.Dims([value]) == [value]
    assert trt.Dims2(value, 1) == (value, 1)
    d = trt.Dims([0])
    d[0] = value
    assert d == [value]


@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, 2**64, np.uint64(2**63)])
def test_dims_rejects_values_outside_int64(value: Any) -> None:
    with pytest.raises(TypeError, match="incompatible constructor arguments"):
        trt.Dims([value])
    with pytest.raises(TypeError, match=r"Dims2\(dim0: typing.SupportsInt"):
        trt.Dims2(value, 1)
    with pytest.raises(TypeError, match="incompatible constructor arguments"):
        trt.Dims3([1, 2, value])
    d = trt.Dims([1])
    with pytest.raises(TypeError, match=r"__setitem__\(\): incompatible function arguments"):
        d[0] = value
    assert d == [1]


def test_dims_overflow_is_a_type_error_before_the_length_check() -> None:
    with pytest.raises(ValueError, match="Max expected length is 8"):
        trt.Dims([1] * 9)
    with pytest.raises(TypeError):
        trt.Dims([2**63] * 9)


def test_dims_setitem_error_lists_both_overloads() -> None:
    d = trt.Dims([1, 2])
    with pytest.raises(TypeError) as info:
        d[0] = 2**63
    assert str(info.value) == (
        "__setitem__(): incompatible function arguments. The following argument types are "
        "supported:\n"
        "    1. (self: trt_netser.offline.Dims, arg0: typing.SupportsInt, "
        "arg1: typing.SupportsInt) -> None\n"
        "    2. (self: trt_netser.offline.Dims, arg0: slice, arg1: trt_netser.offline.Dims)"
        " -> None\n\n"
        "Invoked with: (1, 2), 0, 9223372036854775808"
    )


@pytest.mark.parametrize("index", [2**31, -(2**31) - 1, 2**40])
def test_dims_indices_are_int32(index: int) -> None:
    d = trt.Dims([1])
    with pytest.raises(TypeError, match="__getitem__"):
        d[index]
    with pytest.raises(TypeError, match="__setitem__"):
        d[index] = 1
    with pytest.raises(IndexError, match="Out of bounds"):
        d[INT32_MAX]


@pytest.mark.parametrize("attr", ["h", "w"])
def test_dimshw_setters_check_int64(attr: str) -> None:
    d = trt.DimsHW(1, 2)
    setattr(d, attr, np.int64(INT64_MIN))
    assert getattr(d, attr) == INT64_MIN
    for bad in (2**63, 1.5, "1"):
        with pytest.raises(TypeError) as info:
            setattr(d, attr, bad)
        assert str(info.value).startswith(
            "(): incompatible function arguments. The following argument types are supported:"
            "\n    1. (arg0: trt_netser.offline.DimsHW, arg1: typing.SupportsInt) -> None"
        )
    assert type(d) is trt.DimsHW


@pytest.mark.parametrize("value", [INT32_MAX, INT32_MIN, -1])
def test_permutation_accepts_int32(value: int) -> None:
    assert trt.Permutation([value])[0] == value
    p = trt.Permutation()
    p[0] = value
    assert p[0] == value


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**63])
def test_permutation_rejects_values_outside_int32(value: int) -> None:
    with pytest.raises(TypeError, match="incompatible constructor arguments"):
        trt.Permutation([value])
    p = trt.Permutation()
    with pytest.raises(TypeError, match="__setitem__"):
        p[0] = value
    assert list(p) == [0] * 8


def test_permutation_bad_index_or_value_is_a_type_error() -> None:
    p = trt.Permutation([1, 0])
    for bad in ("a", slice(0, 2), 2**31):
        with pytest.raises(TypeError, match="__getitem__"):
            p[bad]
    with pytest.raises(TypeError, match="__setitem__"):
        p["a"] = 1
    with pytest.raises(TypeError, match="__setitem__"):
        p[0] = 1.5
    with pytest.raises(IndexError, match="Out of bounds"):
        p[8] = 1
    with pytest.raises(IndexError, match="Out of bounds"):
        p[-9]
    p[-1] = 3
    assert tuple(p) == (1, 0, 0, 0, 0, 0, 0, 3)


def test_out_of_range_values_do_not_convert_for_parameters(net: Any) -> None:
    """Dims/Permutation parameters convert implicitly, with the same ranges."""
    with pytest.raises(TypeError):
        net.add_input("x", trt.float32, [2**63])
    x = net.add_input("x", trt.float32, (2, 3))
    shuffle = net.add_shuffle(x)
    with pytest.raises(TypeError):
        shuffle.first_transpose = [2**31, 0]
    shuffle.first_transpose = (1, 0)
    assert tuple(shuffle.first_transpose)[:2] == (1, 0)


# --- slice assignment -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [trt.Dims([5, 6]), (5, 6), [5, 6], range(5, 7), np.array([5, 6]), trt.Dims2(5, 6)],
    ids=["Dims", "tuple", "list", "range", "ndarray", "Dims2"],
)
def test_slice_assignment(value: Any) -> None:
    d = trt.Dims([1, 2, 3])
    d[0:2] = value
    assert d == (5, 6, 3)


@pytest.mark.parametrize(
    ("dims", "index", "value", "expected"),
    [
        ([1, 2, 3], slice(0, 2), (5, 6, 7), (5, 6, 3)),  # extra entries are ignored
        ([1, 2, 3], slice(0, 2), (5,), (5, 0, 3)),  # past a shorter value: 0
        ([1, 2, 3], slice(0, 2), (), (0, 0, 3)),
        ([1, 2, 3], slice(0, 0), (9,), (1, 2, 3)),  # empty slice: no change
        ([1, 2, 3, 4], slice(0, 3, 2), (8, 9), (8, 2, 9, 4)),
        ([1, 2, 3, 4], slice(-3, -1), (8, 9), (1, 8, 9, 4)),
        ([1, 2, 3, 4], slice(-9, 2), (8, 9), (8, 9, 3, 4)),
        ([1, 2, 3, 4], slice(2, 1), (8, 9), (1, 2, 3, 4)),
        ([1, 2, 3], slice(2, 0, -1), (8, 9), (1, 2, 3)),  # negative step: no change
        ([1, 2, 3], slice(1, None, -1), (8, 9), (1, 2, 3)),
        ([1, 2, 3], slice(0, 2), [np.int64(5), True], (5, 1, 3)),
        ([1, 2, 3], slice(0, 2), trt.Permutation([5, 6]), (5, 6, 3)),
    ],
)
def test_slice_assignment_like_the_real_binding(
    dims: list[int], index: slice, value: Any, expected: tuple[int, ...]
) -> None:
    d = trt.Dims(dims)
    d[index] = value
    assert d == expected


@pytest.mark.parametrize(
    ("dims", "index"),
    [
        ([1, 2, 3], slice(None)),  # the slice must stop before the last entry
        ([1, 2, 3], slice(1, None)),
        ([1, 2, 3], slice(-2, None)),
        ([1, 2, 3], slice(0, 5)),
        ([1, 2, 3], slice(0, 2**63)),
        ([1, 2, 3], slice(3, 5)),
        ([1, 2, 3], slice(None, None, 2)),
        ([], slice(0, 0)),
    ],
)
def test_slice_assignment_out_of_bounds(dims: list[int], index: slice) -> None:
    d = trt.Dims(dims)
    with pytest.raises(IndexError, match="Out of bounds"):
        d[index] = (5, 6, 7)
    assert d == dims


@pytest.mark.parametrize("index", [slice(0, 2, 0), slice("a", 2)])
def test_slice_assignment_bad_slice(index: slice) -> None:
    d = trt.Dims([1, 2, 3])
    with pytest.raises(ValueError, match="Incorrect setter slice dims"):
        d[index] = (5, 6)


@pytest.mark.parametrize(
    "value",
    ["ab", 5, None, (1.5, 2), (2**63, 2), [1] * 9, np.array([[5, 6]]), {5: 1, 6: 2}],
)
def test_slice_assignment_value_must_convert_to_dims(value: Any) -> None:
    d = trt.Dims([1, 2, 3])
    with pytest.raises(TypeError, match=r"__setitem__\(\): incompatible function arguments"):
        d[0:2] = value
    assert d == (1, 2, 3)


def test_slice_assignment_keeps_the_subclass() -> None:
    d = trt.Dims3(1, 2, 3)
    d[0:2] = (5, 6)
    assert type(d) is trt.Dims3
    assert d == (5, 6, 3)
    hw = trt.DimsHW(1, 2)
    hw[0:1] = (5, 6)
    assert (hw.h, hw.w) == (5, 2)
    with pytest.raises(IndexError):
        trt.Dims2(1, 2)[0:2] = (5, 6)


def test_int_assignment_rejects_a_sequence() -> None:
    d = trt.Dims([1, 2, 3])
    with pytest.raises(TypeError, match="__setitem__"):
        d[0] = (5,)
