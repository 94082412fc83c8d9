"""Captured weight names carry the weights' pointer, and the pointer never reaches a digest.

Why: TensorRT names "all Weights with matching type, value pointer, and count", so a
refit pipeline needs the pointer to tell which of several same-shaped buffers (q/k/v
projections) a name belongs to (issue 14's request to issue 12). The pointer is a memory
address: it differs between processes and builds, so it must never enter the hash, the
encoded stream, the description or the cache key.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser
import trt_netser.offline as trt
from tests.key.helpers import ENV
from trt_netser import cache_key, describe_network, encode_network, hash_network

NAMES = ("attn.q.weight", "attn.k.weight", "attn.v.weight")


def _qkv() -> tuple[Any, list[np.ndarray]]:
    """Three same-shaped projections, each named, as TensorRT-LLM's attention does."""
    arrays = [np.full((8, 8), 0.25 * (k + 1), np.float32) for k in range(3)]
    with trt_netser.capture(trt):
        net = trt.Builder(trt.Logger()).create_network(0)
        x = net.add_input("x", trt.float32, (2, 8))
        for name, w in zip(NAMES, arrays, strict=True):
            const = net.add_constant((8, 8), w)
            assert net.set_weights_name(w, name)
            mm = net.add_matrix_multiply(
                x, trt.MatrixOperation.NONE, const.get_output(0), trt.MatrixOperation.NONE
            )
            net.mark_output(mm.get_output(0))
    return net, arrays


def _entries(net: Any) -> list[tuple[str, Any, int, int | None]]:
    record = trt_netser.capturing.lookup_network(net)
    assert record is not None
    return record.weights_names


def test_each_name_records_the_address_of_its_own_array() -> None:
    net, arrays = _qkv()
    entries = _entries(net)
    assert [e[0] for e in entries] == list(NAMES)
    assert [e[2] for e in entries] == [64, 64, 64]  # same count: only the pointer differs
    assert [e[3] for e in entries] == [a.__array_interface__["data"][0] for a in arrays]
    assert len({e[3] for e in entries}) == 3


def test_weights_from_a_pointer_record_that_pointer() -> None:
    buffer = np.zeros(16, np.float16)
    with trt_netser.capture(trt):
        net = trt.Builder(trt.Logger()).create_network(0)
        w = trt.Weights(trt.DataType.HALF, buffer.ctypes.data, 16)
        net.add_constant((16,), w)
        assert net.set_weights_name(w, "from_pointer")
        from_array = trt.Weights(np.ones(4, np.float32))  # no pointer in the public API
        net.add_constant((4,), from_array)
        assert net.set_weights_name(from_array, "from_array")
    pointers = {e[0]: e[3] for e in _entries(net)}
    assert pointers == {"from_pointer": buffer.ctypes.data, "from_array": None}


def test_the_same_network_at_other_addresses_has_the_same_identity() -> None:
    first, first_arrays = _qkv()
    second, second_arrays = _qkv()  # the first arrays are alive: new addresses
    first_pointers = [e[3] for e in _entries(first)]
    second_pointers = [e[3] for e in _entries(second)]
    assert set(first_pointers).isdisjoint(second_pointers)
    assert hash_network(first) == hash_network(second)
    assert encode_network(first) == encode_network(second)
    assert describe_network(first).records == describe_network(second).records
    config = trt.Builder(trt.Logger()).create_builder_config()
    assert cache_key(first, config, environment=ENV) == cache_key(second, config, environment=ENV)
    assert first_arrays[0] is not second_arrays[0]


def test_no_address_appears_in_the_stream_or_the_description() -> None:
    net, arrays = _qkv()
    stream = encode_network(net)
    description = repr(describe_network(net))
    for a in arrays:
        address = a.__array_interface__["data"][0]
        assert address.to_bytes(8, "big") not in stream  # a CBOR uint64 would hold these
        assert str(address) not in description
        assert hex(address) not in description


@settings(max_examples=40, deadline=None)
@given(pointers=st.lists(st.one_of(st.none(), st.integers(0, 2**64 - 1)), min_size=3, max_size=3))
def test_whatever_the_pointers_the_bytes_are_the_same(pointers: list[int | None]) -> None:
    net, _ = _qkv()
    before = encode_network(net)
    digest = hash_network(net)
    entries = _entries(net)
    for k, pointer in enumerate(pointers):
        name, dtype, count, _ = entries[k]
        entries[k] = (name, dtype, count, pointer)
    assert encode_network(net) == before
    assert hash_network(net) == digest
