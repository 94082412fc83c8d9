"""Weights of every DataType hash, including those numpy cannot view (issue 12, B2).

Why: TensorRT's getters return BF16/FP8/INT4/FP4/E8M0 weights as ``trt.Weights`` whose
``numpy()`` returns the weights themselves and which have no buffer protocol (checked
against the real 10.16 bindings below), so a strict hash of a bf16 network with a scalar
constant, or any non-refit bf16 build (``weights="all"``), could not be made. Inside
``capture()`` the walker reads such values where ``trt.Weights(dtype, ptr, count)`` said
they live; without it the problem names capture().
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import numpy as np
import pytest

import trt_netser
import trt_netser.offline as trt
from tests.conftest import RealRunner
from tests.key.helpers import ENV
from trt_netser import UnhashableNetworkError, cache_key, hash_network

#: DataType -> the numpy dtype of a buffer holding such values (for the pointer form).
POINTER_DTYPES = {
    "BF16": np.uint16,
    "FP8": np.uint8,
    "E8M0": np.uint8,
    "INT4": np.uint8,
    "FP4": np.uint8,
}
#: DataType -> numpy dtype of the weights numpy can view (made from arrays).
NUMPY_DTYPES = {
    "FLOAT": np.float32,
    "HALF": np.float16,
    "INT8": np.int8,
    "INT32": np.int32,
    "INT64": np.int64,
    "BOOL": np.bool_,
    "UINT8": np.uint8,
}
KEEP: list[np.ndarray] = []  # the client keeps pointer-made weights' memory alive


def _weights(dtype: str, count: int, seed: int) -> Any:
    """Weights of ``dtype`` and ``count`` elements made as client code makes them."""
    if dtype in NUMPY_DTYPES:
        return np.full(count, seed % 2 if dtype == "BOOL" else seed, NUMPY_DTYPES[dtype])
    packed = dtype in ("INT4", "FP4")
    buffer = np.full((count + 1) // 2 if packed else count, seed, POINTER_DTYPES[dtype])
    KEEP.append(buffer)
    return trt.Weights(getattr(trt.DataType, dtype), buffer.ctypes.data, count)


def _network(dtype: str, count: int, seed: int, *, captured: bool = True) -> Any:
    def build() -> Any:
        net = trt.Builder(trt.Logger()).create_network(
            1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        )
        const = net.add_constant((count,), _weights(dtype, count, seed))
        const.name = "c"
        net.mark_output(const.get_output(0))
        return net

    if not captured:
        return build()
    with trt_netser.capture(trt):
        return build()


ALL_DTYPES = [*NUMPY_DTYPES, *POINTER_DTYPES]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_single_element_constants_hash_their_values(dtype: str) -> None:
    """A one-element constant is structure (TensorRT folds it): its value is in the key."""
    one, two = (hash_network(_network(dtype, 1, seed)) for seed in (1, 2))
    assert not one.partial
    assert one != two
    assert hash_network(_network(dtype, 1, 1)) == one


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_all_mode_hashes_every_value(dtype: str) -> None:
    one, two = (hash_network(_network(dtype, 6, seed), weights="all") for seed in (1, 2))
    assert one != two


@pytest.mark.parametrize("dtype", list(POINTER_DTYPES))
def test_learned_weights_stay_out_of_the_structure_key(dtype: str) -> None:
    one, two = (hash_network(_network(dtype, 6, seed)) for seed in (1, 2))
    assert one == two


@pytest.mark.parametrize("dtype", list(POINTER_DTYPES))
def test_without_capture_the_problem_names_capture(dtype: str) -> None:
    net = _network(dtype, 1, 1, captured=False)
    with pytest.raises(UnhashableNetworkError, match=rf"{dtype} weights.*capture"):
        hash_network(net)


def test_bf16_network_gets_a_cache_key_for_a_non_refit_build() -> None:
    """TensorRT-LLM's default bf16 build (no REFIT) keys on every value."""
    config = trt.Builder(trt.Logger()).create_builder_config()
    keys = {str(cache_key(_network("BF16", 6, seed), config, environment=ENV)) for seed in (1, 2)}
    assert len(keys) == 2


def test_kernel_set_after_creation_is_read_from_its_memory() -> None:
    """Client code creates a convolution, then sets its kernel."""

    def build(seed: int, *, replace_with_half: bool = False) -> Any:
        with trt_netser.capture(trt):
            net = trt.Builder(trt.Logger()).create_network(0)
            x = net.add_input("x", trt.bfloat16, (1, 2, 5, 5))
            conv = net.add_convolution_nd(x, 3, (3, 3), _weights("BF16", 3 * 2 * 3 * 3, 0))
            conv.kernel = _weights("BF16", 3 * 2 * 3 * 3, seed)
            if replace_with_half:
                conv.kernel = np.full(3 * 2 * 3 * 3, seed, np.float16)
            net.mark_output(conv.get_output(0))
        return net

    assert hash_network(build(1), weights="all") != hash_network(build(2), weights="all")
    assert hash_network(build(1), weights="all") == hash_network(build(1), weights="all")
    # a later numpy kernel is read from numpy, not from the earlier bf16 memory
    half = [hash_network(build(s, replace_with_half=True), weights="all") for s in (1, 1, 2)]
    assert half[0] == half[1] != half[2]


def test_weights_setter_wrapping_is_undone() -> None:
    prop = vars(trt.IConstantLayer)["weights"]
    init = trt.Weights.__init__
    with trt_netser.capture(trt):
        assert vars(trt.IConstantLayer)["weights"] is not prop
        assert trt.Weights.__init__ is not init
    assert vars(trt.IConstantLayer)["weights"] is prop
    assert trt.Weights.__init__ is init


REAL_PROBE = textwrap.dedent(
    """
    import json, numpy as np, tensorrt_bindings as trt, trt_netser
    from trt_netser import capturing
    out = {}
    buffer = np.arange(4, dtype=np.uint16)
    for name in ("BF16", "FP8", "INT4", "FP4", "E8M0", "HALF"):
        w = trt.Weights(getattr(trt.DataType, name), buffer.ctypes.data, 4)
        view = w.numpy()
        try:
            memoryview(w)
            buffer_protocol = True
        except TypeError:
            buffer_protocol = False
        out[name] = [view is w, buffer_protocol]
    init, prop = trt.Weights.__init__, vars(trt.IConstantLayer)["weights"]
    with trt_netser.capture(trt):
        w = trt.Weights(trt.bfloat16, buffer.ctypes.data, 4)
        memory = capturing.lookup_weights_memory(w)
        out["memory"] = [memory.ptr == buffer.ctypes.data, memory.count, int(memory.dtype)]
        out["setter wrapped"] = vars(trt.IConstantLayer)["weights"] is not prop
        out["dtype"] = [int(w.dtype), w.size]
    out["restored"] = [trt.Weights.__init__ is init, vars(trt.IConstantLayer)["weights"] is prop]
    print("@@" + json.dumps(out))
    """
)


@pytest.mark.real_trt
def test_real_bindings_need_the_pointer_and_capture_notes_it(real_trt: RealRunner) -> None:
    proc = real_trt(REAL_PROBE)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("@@")), None)
    assert line is not None, proc.stderr[-3000:]
    out = json.loads(line[2:])
    for name in ("BF16", "FP8", "INT4", "FP4", "E8M0"):
        assert out[name] == [True, False], name  # numpy() gives the Weights back; no buffer
    assert out["HALF"] == [False, False]  # numpy can view HALF
    assert out["memory"] == [True, 4, int(trt.DataType.BF16)]
    assert out["setter wrapped"] is True
    assert out["dtype"] == [int(trt.DataType.BF16), 4]
    assert out["restored"] == [True, True]


def _llm_constant(net: Any, array: np.ndarray, dtype: Any, shape: tuple[int, ...]) -> Any:
    """tensorrt_llm.functional.constant for a bf16 array (held as uint16 bits)."""
    KEEP.append(array)
    weights = trt.Weights(dtype, array.ctypes.data, int(np.prod(shape)))
    layer = net.add_constant(shape, weights)
    return layer, weights


def _bf16_llm(scale_bits: int, weight_bits: int) -> Any:
    """A bf16 block as TensorRT-LLM builds it (strongly typed, numpy-backed bf16 weights
    named with set_weights_name, a scalar scale constant), inside capture()."""
    with trt_netser.capture(trt):
        net = trt.Builder(trt.Logger()).create_network(
            1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        )
        x = net.add_input("hidden_states", trt.bfloat16, (-1, 16))
        w, weights = _llm_constant(
            net, np.full((16, 16), weight_bits, np.uint16), trt.bfloat16, (16, 16)
        )
        assert net.set_weights_name(weights, "transformer.layers.0.attention.qkv.weight")
        mm = net.add_matrix_multiply(
            x, trt.MatrixOperation.NONE, w.get_output(0), trt.MatrixOperation.NONE
        )
        scale, _ = _llm_constant(net, np.array([scale_bits], np.uint16), trt.bfloat16, (1, 1))
        out = net.add_elementwise(
            mm.get_output(0), scale.get_output(0), trt.ElementWiseOperation.PROD
        )
        out.get_output(0).name = "logits"
        net.mark_output(out.get_output(0))
    return net


def test_tensorrt_llm_style_bf16_network_hashes_and_keys_strictly() -> None:
    base = _bf16_llm(0x3F80, 0x3C00)  # scale 1.0
    digest = hash_network(base)
    assert not digest.partial
    assert hash_network(_bf16_llm(0x4000, 0x3C00)) != digest  # the scalar is structure
    assert hash_network(_bf16_llm(0x3F80, 0x3D00)) == digest  # learned weights are not
    builder = trt.Builder(trt.Logger())
    plain, refit = builder.create_builder_config(), builder.create_builder_config()
    refit.set_flag(trt.BuilderFlag.REFIT)
    keys = {
        (flags, weight_bits): str(
            cache_key(_bf16_llm(0x3F80, weight_bits), config, environment=ENV)
        )
        for flags, config in (("plain", plain), ("refit", refit))
        for weight_bits in (0x3C00, 0x3D00)
    }
    assert keys[("plain", 0x3C00)] != keys[("plain", 0x3D00)]  # non-refit: every value
    assert keys[("refit", 0x3C00)] == keys[("refit", 0x3D00)]  # refit: a fine-tune keeps it
