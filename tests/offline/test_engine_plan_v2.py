"""Plan format 2 (weights in a raw data region) and the refit's one-buffer copy.

Why: a deserialized engine keeps its weights as slices of the plan and a refit copies
every set weight into one buffer and validates it per run of one float type. Observable
behaviour must stay TensorRT's: plans of other format versions and crafted data regions
are refused, a refit whose validation fails applies exactly the weights before the failing
one (in inventory order), and array conversion refuses what ``trt.Weights`` refuses.
"""

from __future__ import annotations

import struct
from typing import Any

import blake3
import cbor2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger
from tests.offline.test_engine import Reader, _deserialize_refused, plan_of

#: numpy types of the constants below; INT8 constants stay refittable and are not validated
TYPES = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8}


def _constants_plan(logger: ListLogger, values: list[np.ndarray]) -> bytes:
    """The REFIT plan of a network whose outputs are one constant per array in ``values``."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    for i, value in enumerate(values):
        const = net.add_constant(value.shape, trt.Weights(value))
        const.name = f"c{i}"
        const.get_output(0).name = f"y{i}"
        net.mark_output(const.get_output(0))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, logger.errors
    return bytes(plan)


def _values(types: list[str], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((2, 3)) * 10).astype(TYPES[t]) for t in types]


@settings(max_examples=25, deadline=None)
@given(
    types=st.lists(st.sampled_from(sorted(TYPES)), min_size=1, max_size=8),
    data=st.data(),
)
def test_a_failed_validation_applies_exactly_the_weights_before_it(
    types: list[str], data: Any
) -> None:
    logger = ListLogger()
    floats = [i for i, t in enumerate(types) if t != "INT8"]
    if not floats:
        return
    bad = data.draw(st.sampled_from(floats), label="first weights with NaN/Inf")
    poison = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]), label="value")
    old, new = _values(types, 0), _values(types, 1)
    new[bad].flat[data.draw(st.integers(0, 5), label="element")] = poison
    for later in floats:  # weights after the first bad ones may be bad too
        if later > bad and data.draw(st.booleans(), label=f"poison {later}"):
            new[later].flat[0] = poison
    engine = trt.Runtime(logger).deserialize_cuda_engine(_constants_plan(logger, old))
    refitter = trt.Refitter(engine, logger)
    for i, value in enumerate(new):
        assert refitter.set_weights(f"c{i}", trt.WeightsRole.CONSTANT, value)
    assert refitter.refit_cuda_engine() is False
    assert f"weights validation failed for c{bad} (CONSTANT)" in logger.errors[-1]
    partial = new[:bad] + old[bad:]
    assert bytes(engine.serialize()) == _constants_plan(ListLogger(), partial)
    refitter.weights_validation = False
    assert refitter.refit_cuda_engine() is True
    assert bytes(engine.serialize()) == _constants_plan(ListLogger(), new)


def test_refit_weights_are_read_only_copies(logger: ListLogger) -> None:
    """The engine keeps a copy: changing the arrays after a refit changes nothing."""
    old, new = _values(["FLOAT", "HALF", "FLOAT"], 0), _values(["FLOAT", "HALF", "FLOAT"], 1)
    engine = trt.Runtime(logger).deserialize_cuda_engine(_constants_plan(logger, old))
    refitter = trt.Refitter(engine, logger)
    for i, value in enumerate(new):
        assert refitter.set_weights(f"c{i}", trt.WeightsRole.CONSTANT, value)
    assert refitter.refit_cuda_engine()
    expected = _constants_plan(ListLogger(), new)
    for value in new:
        value[...] = 0
    assert bytes(engine.serialize()) == expected


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((2, 6), np.float32)[:, ::2],  # not contiguous
        np.zeros((3, 2), np.float32).T,  # Fortran order
        np.zeros((2, 3), np.float64),  # no TensorRT type
        np.zeros((2, 3), ">f4"),  # not native byte order
    ],
    ids=["strided", "fortran", "float64", "big-endian"],
)
def test_set_weights_refuses_arrays_weights_cannot_hold(
    logger: ListLogger, array: np.ndarray
) -> None:
    """pybind11 tries the implicit conversion to Weights; when it fails, the call does not
    match its signature (TypeError), as for any other argument of the wrong type."""
    engine = trt.Runtime(logger).deserialize_cuda_engine(
        _constants_plan(logger, _values(["FLOAT"], 0))
    )
    refitter = trt.Refitter(engine, logger)
    with pytest.raises(ValueError):
        trt.Weights(array)
    with pytest.raises(TypeError, match="set_weights\\(\\): incompatible function arguments"):
        refitter.set_weights("c0", trt.WeightsRole.CONSTANT, array)
    assert refitter.get_missing() == ([], []) and not logger.errors  # nothing was set


def _with_version(plan: bytes, version: int) -> bytes:
    return plan[:8] + struct.pack("<H", version) + plan[10:]


@pytest.mark.parametrize("version", [1, 3])
def test_plans_of_other_format_versions_are_refused(logger: ListLogger, version: int) -> None:
    plan = _with_version(plan_of(logger, 0, trt.BuilderFlag.REFIT), version)
    message = f"formatVersion == 2 failed. Unsupported offline plan format version {version}."
    _deserialize_refused(logger, plan, message)
    assert trt.Runtime(logger).deserialize_cuda_engine(Reader(plan)) is None
    assert message in logger.errors[-1]


def _resealed(plan: bytes, nbytes: list[Any]) -> bytes:
    """``plan`` with its ``weights.nbytes`` column replaced (and a valid digest)."""
    _, version, reserved, length, size = struct.unpack_from("<8sHHQQ", plan)
    payload = cbor2.loads(plan[28 : 28 + length])
    payload["weights"]["nbytes"] = nbytes
    body = cbor2.dumps(payload, canonical=True)
    region = plan[28 + length : 28 + length + size]
    head = struct.pack("<8sHHQQ", b"TNSPLAN\0", version, reserved, len(body), len(region))
    return head + body + region + blake3.blake3(head + body + region).digest()


def test_a_crafted_data_region_is_malformed(logger: ListLogger) -> None:
    plan = plan_of(logger, 0, trt.BuilderFlag.REFIT)
    length = struct.unpack_from("<Q", plan, 12)[0]
    nbytes = cbor2.loads(plan[28 : 28 + length])["weights"]["nbytes"]
    assert _resealed(plan, nbytes) == plan
    stored = next(i for i, n in enumerate(nbytes) if n)
    for crafted in (
        [n + 1 if i == stored else n for i, n in enumerate(nbytes)],  # more than the region
        [n - 1 if i == stored else n for i, n in enumerate(nbytes)],  # bytes left over
        [-n if i == stored else n for i, n in enumerate(nbytes)],  # negative
        [str(n) if i == stored else n for i, n in enumerate(nbytes)],  # not an integer
        nbytes[:-1],  # a short column
    ):
        logger.messages.clear()
        _deserialize_refused(logger, _resealed(plan, crafted), "The engine plan is malformed")


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float16, np.int8, np.int32, np.int64, np.bool_, np.uint8]
)
@pytest.mark.parametrize("shape", [(0,), (3,), (2, 3)])
def test_the_refitters_array_conversion_is_weights_conversion(dtype: Any, shape: Any) -> None:
    """set_weights converts arrays without Weights' generic dispatch: every slot must be
    what ``trt.Weights(array)`` gives (a slot added there must be added here too)."""
    from trt_netser.offline._refitter import _array_weights
    from trt_netser.offline._types import weights_key

    array = np.ones(shape, dtype)
    fast, slow = _array_weights(array), trt.Weights(array)
    assert fast is not None and type(fast) is type(slow)
    for slot in type(slow).__slots__:
        if slot == "__weakref__":
            continue
        a, b = getattr(fast, slot), getattr(slow, slot)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.shares_memory(a, array) or not array.size  # a view, as Weights keeps
        else:
            assert a == b, slot
    assert (fast.dtype, fast.size, fast.nbytes) == (slow.dtype, slow.size, slow.nbytes)
    assert weights_key(fast) == weights_key(slow)


@pytest.mark.parametrize(
    ("bits", "valid"),
    [(0x3F80, True), (0xFF7F, True), (0x7F80, False), (0xFF80, False), (0x7FC1, False)],
    ids=["one", "lowest", "inf", "-inf", "nan"],
)
def test_weights_validation_checks_bf16_weights(bits: int, valid: bool) -> None:
    """BF16 weights are validated like the other float types (numpy has no bfloat16: the
    values' bits tell NaN and Inf, every exponent bit set)."""
    logger = ListLogger()
    old = np.full(6, 0x3F80, np.uint16)  # 1.0
    builder = trt.Builder(logger)
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    const = net.add_constant((2, 3), trt.Weights(trt.bfloat16, old.ctypes.data, old.size))
    const.name = "c0"
    net.mark_output(const.get_output(0))
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, logger.errors
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    refitter = trt.Refitter(engine, logger)
    new = np.full(6, 0x4000, np.uint16)  # 2.0
    new[4] = bits
    weights = trt.Weights(trt.bfloat16, new.ctypes.data, new.size)
    assert refitter.set_weights("c0", trt.WeightsRole.CONSTANT, weights)
    assert refitter.refit_cuda_engine() is valid
    if not valid:
        assert "weights validation failed for c0 (CONSTANT)" in logger.errors[-1]
        refitter.weights_validation = False
        assert refitter.refit_cuda_engine() is True
