"""The fast canonical writer gives exactly the bytes of the reference encoder (cbor2's
canonical mode), and interning inside one walk never merges values that encode apart."""

from __future__ import annotations

import math

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.hashing.test_encode import records, values
from trt_netser import describe_network, encode_network, hash_network
from trt_netser.encode import _cbor2_canonical, decode_stream, encode_record, encode_value
from trt_netser.records import Encoded, Record, plain

plain_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True),
        st.text(max_size=30),
        st.binary(max_size=300),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=30),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=30), inner, max_size=8),
    ),
    max_leaves=40,
)


@settings(max_examples=500)
@given(plain_values)
def test_writer_matches_cbor2_canonical_on_plain_data(value: object) -> None:
    assert encode_value(value) == cbor2.dumps(value, canonical=True)


@settings(max_examples=300)
@given(values)
def test_writer_matches_the_reference_encoder_on_tagged_values(value: object) -> None:
    assert encode_value(value) == _cbor2_canonical(value)


@settings(max_examples=200)
@given(records)
def test_encoded_stands_for_its_value(record: Record) -> None:
    """A record holding Encoded values encodes like the record of the plain values."""
    wrapped = Record(
        record.kind, {k: Encoded(v, encode_value(v)) for k, v in record.fields.items()}
    )
    assert encode_record(wrapped) == encode_record(record)
    assert wrapped.plain() == record
    assert plain(wrapped.fields) == record.fields


@pytest.mark.parametrize(
    "value, expected",
    [
        (23, "17"),
        (24, "1818"),
        (-25, "3818"),
        (65536, "1a00010000"),
        (2**64 - 1, "1bffffffffffffffff"),
        (-(2**64), "3bffffffffffffffff"),
        ("ü", "62c3bc"),
        ({"bb": 1, "a": 2}, "a2616102626262" + "01"),
    ],
)
def test_known_encodings(value: object, expected: str) -> None:
    """Spot checks against RFC 8949 Appendix A style vectors (shortest heads; map keys
    sorted by their encoded bytes, so shorter keys first)."""
    assert encode_value(value).hex() == expected


def test_non_text_map_keys_fall_back_to_cbor2() -> None:
    value = {1: "a", "b": 2, b"c": 3}
    assert encode_value(value) == cbor2.dumps(value, canonical=True)


def test_record_field_named_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="'kind' is reserved"):
        encode_record(Record("layer", {"kind": "x"}))


# --------------------------------------------------------------------------- interning


def _two_activations(alpha_a: float, alpha_b: float) -> object:
    """Two activation layers identical except for alpha, in one network."""
    builder = trt.Builder(trt.Logger())
    net = builder.create_network()
    x = net.add_input("x", trt.float32, (2, 3))
    a = net.add_activation(x, trt.ActivationType.LEAKY_RELU)
    a.alpha = alpha_a
    b = net.add_activation(a.get_output(0), trt.ActivationType.LEAKY_RELU)
    b.alpha = alpha_b
    net.mark_output(b.get_output(0))
    return net


def _alphas(net: object) -> list[float]:
    return [r.record.fields["attrs"]["alpha"] for r in describe_network(net) if r.kind == "layer"]


@pytest.mark.parametrize(
    "a, b", [(0.0, -0.0), (-0.0, 0.0), (1.0, 1.0000001), (math.inf, -math.inf)]
)
def test_interning_keeps_floats_that_compare_equal_apart(a: float, b: float) -> None:
    """0.0 == -0.0 in Python, but they encode apart: the second layer must not reuse the
    first one's attribute map."""
    alphas = _alphas(_two_activations(a, b))
    assert [math.copysign(1, v) for v in alphas] == [math.copysign(1, a), math.copysign(1, b)]
    assert hash_network(_two_activations(a, b)) != hash_network(_two_activations(a, a))


def test_interned_stream_decodes_to_the_described_records() -> None:
    net = _two_activations(0.5, 0.5)
    described = [r.record for r in describe_network(net)]
    assert described == list(decode_stream(encode_network(net)))
    assert not any(isinstance(v, Encoded) for r in described for v in r.fields.values())


def test_equal_layers_share_one_encoded_attribute_map() -> None:
    """What makes interning pay: equal maps are encoded once per walk."""
    from trt_netser.policy import Policy
    from trt_netser.walk import Walk

    layers = [r for r in Walk(_two_activations(0.5, 0.5), Policy()).records() if r.kind == "layer"]
    assert layers[0].fields["attrs"] is layers[1].fields["attrs"]
    assert layers[0].fields["outputs"][0] is layers[1].fields["outputs"][0]


class _Holder:
    """An object with one property, whose value the test chooses."""

    def __init__(self, value: object) -> None:
        self._value = value

    @property
    def value(self) -> object:
        return self._value


@pytest.mark.parametrize(
    "first, second",
    [
        (1, True),
        (0, False),
        (1, 1.0),
        ([1], [True]),
        ([0.0], [-0.0]),
        ((1, 2), [1.0, 2]),
        ({"a": 0.0}, {"a": -0.0}),
        (trt.Dims([1, 2]), trt.Dims([1, 3])),
        (trt.DataType.FLOAT, trt.DataType.HALF),
        (trt.DataType.FLOAT, 0),
    ],
)
def test_interning_never_merges_values_that_encode_apart(first: object, second: object) -> None:
    from trt_netser.policy import Policy
    from trt_netser.walk import Plan, Walk

    walk = Walk(_two_activations(0.5, 0.5), Policy())
    plan = Plan("Holder", (("value", None),))
    a, _ = walk.attrs(_Holder(first), plan, "first")
    b, _ = walk.attrs(_Holder(second), plan, "second")
    assert a.data != b.data
    assert a.data == encode_value({"value": walk.canon(first)})
    assert b.data == encode_value({"value": walk.canon(second)})
    again, _ = walk.attrs(_Holder(first), plan, "first again")
    assert again is a
