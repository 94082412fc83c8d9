"""The canonical encoding: deterministic, decodable, injective."""

from __future__ import annotations

import math
import struct

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trt_netser.encode import decode_stream, encode_record
from trt_netser.errors import DumpFormatError
from trt_netser.records import ConstructRef, EnumValue, Record, TensorRef, WeightsValue

names = st.text(min_size=0, max_size=12)
enums = st.builds(
    EnumValue, st.sampled_from(["DataType", "LayerType", "X|Y"]), st.integers(-5, 2**40)
)
refs = st.one_of(
    st.builds(TensorRef, layer=st.integers(0, 10**6), slot=st.integers(0, 8)),
    st.builds(TensorRef, input=st.integers(0, 100)),
)
constructs = st.builds(
    ConstructRef, st.sampled_from(["loop", "conditional", "attention"]), st.integers(0, 99)
)
weights = st.builds(
    WeightsValue, enums, st.integers(0, 2**40), st.one_of(st.none(), st.binary(max_size=16))
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    names,
    st.binary(max_size=8),
    enums,
    refs,
    constructs,
    weights,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=4)),
    max_leaves=12,
)
records = st.builds(
    Record,
    st.sampled_from(["layer", "input", "output", "network"]),
    st.dictionaries(names.filter(lambda k: k != "kind"), values, max_size=5),
)


@settings(max_examples=300)
@given(records)
def test_round_trip(record: Record) -> None:
    data = encode_record(record)
    (decoded,) = decode_stream(data)
    assert decoded == record


def strict(value: object) -> object:
    """A type-exact view of a value: Python's == says 1 == 1.0 == True and 0.0 == -0.0,
    but those are different values to the encoding (and to TensorRT)."""
    if isinstance(value, float):
        return ("float", struct.pack(">d", value))
    if isinstance(value, dict):
        return ("map", sorted((k, strict(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("list", [strict(v) for v in value])
    if isinstance(value, Record):
        return ("record", value.kind, strict(value.fields))
    if isinstance(value, WeightsValue):
        return ("weights", strict(value.dtype), value.count, value.values)
    return (type(value).__name__, repr(value))


@settings(max_examples=300)
@given(records, records)
def test_injective(a: Record, b: Record) -> None:
    """Distinct records never share bytes; equal records always do."""
    assert (encode_record(a) == encode_record(b)) == (strict(a) == strict(b))


@pytest.mark.parametrize(("a", "b"), [(1, 1.0), (True, 1), (0.0, -0.0), (False, 0)])
def test_python_equal_but_distinct_values(a: object, b: object) -> None:
    assert encode_record(Record("x", {"v": a})) != encode_record(Record("x", {"v": b}))


def test_no_delimiter_games() -> None:
    """Names containing separators cannot collide with structure."""
    one = Record("layer", {"name": "a|b", "attrs": {}})
    two = Record("layer", {"name": "a", "attrs": {"|b": None}})
    assert encode_record(one) != encode_record(two)


def test_enum_is_not_a_pair_and_ref_is_not_a_list() -> None:
    assert encode_record(Record("x", {"v": EnumValue("DataType", 0)})) != encode_record(
        Record("x", {"v": ["DataType", 0]})
    )
    assert encode_record(Record("x", {"v": TensorRef(layer=1, slot=0)})) != encode_record(
        Record("x", {"v": [1, 0]})
    )
    assert encode_record(Record("x", {"v": TensorRef(input=1)})) != encode_record(
        Record("x", {"v": TensorRef(layer=1, slot=0)})
    )


def test_enum_display_name_is_not_encoded() -> None:
    """STRIP_PLAN and WEIGHTLESS are one value: only (type, value) is hashed."""
    assert encode_record(
        Record("x", {"v": EnumValue("BuilderFlag", 19, "STRIP_PLAN")})
    ) == encode_record(Record("x", {"v": EnumValue("BuilderFlag", 19, "WEIGHTLESS")}))


def test_floats_canonical() -> None:
    nan_a = float("nan")
    nan_b = -math.copysign(float("nan"), -1.0)
    assert encode_record(Record("x", {"v": nan_a})) == encode_record(Record("x", {"v": nan_b}))
    assert encode_record(Record("x", {"v": 0.0})) != encode_record(Record("x", {"v": -0.0}))
    assert encode_record(Record("x", {"v": 1})) != encode_record(Record("x", {"v": 1.0}))


def test_map_order_does_not_matter() -> None:
    assert encode_record(Record("x", {"a": 1, "b": 2})) == encode_record(
        Record("x", {"b": 2, "a": 1})
    )


def test_deterministic_bytes_are_rfc8949_core() -> None:
    """Keys sorted by their encoded bytes, shortest integer and float forms."""
    data = encode_record(Record("layer", {"bb": 1, "a": 2.5}))
    assert data == cbor2.dumps({"a": 2.5, "bb": 1, "kind": "layer"}, canonical=True)
    assert data.hex().startswith("a3616114") or data.hex().startswith("a36161f9")


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        b"\x01",
        cbor2.dumps([1, 2]),
        cbor2.dumps({"kind": 3}),
        cbor2.dumps({"kind": "x"})[:-1],
    ],
)
def test_corrupt_streams_raise_dump_format_error(data: bytes) -> None:
    with pytest.raises(DumpFormatError):
        list(decode_stream(data))
