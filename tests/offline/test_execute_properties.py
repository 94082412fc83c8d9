"""Properties of execution over random networks: the execution context and
``trt_netser.offline.run`` compute the same bytes, runs are deterministic, and the float64
reference agrees with the float32 run to float32 accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_netser.offline as trt
from tests.offline.exec_support import infer
from tests.offline.random_nets import CHANNELS, OPS, SIZE, random_network


def _engine(ops: list[str], choices: list[int], seed: int) -> tuple[Any, list[Any]]:
    builder, net, config, keep = random_network(ops, choices, seed)
    plan = builder.build_serialized_network(net, config)
    assert plan is not None
    engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(plan)
    return engine, [builder, net, keep]


@settings(max_examples=30, deadline=None)
@given(
    ops=st.lists(st.sampled_from(OPS), min_size=1, max_size=7),
    data=st.data(),
    seed=st.integers(0, 10**6),
)
def test_context_run_reference_agree(ops: list[str], data: Any, seed: int) -> None:
    choices = data.draw(st.lists(st.integers(0, 11), min_size=len(ops), max_size=len(ops)))
    engine, _keep = _engine(ops, choices, seed)
    x = np.random.default_rng(seed).standard_normal((2, CHANNELS, SIZE, SIZE)).astype(np.float32)
    y = trt.run(engine, {"x": x})["y"]
    assert trt.run(engine, {"x": x})["y"].tobytes() == y.tobytes()  # deterministic
    assert infer(engine, {"x": x})["y"].tobytes() == y.tobytes()  # the TensorRT API path
    ref = trt.run(engine, {"x": x}, reference=True)["y"]
    assert ref.dtype == np.float64 and ref.shape == y.shape
    scale = max(float(np.max(np.abs(ref))), 1.0)
    # float32 accuracy, allowing for ill-conditioned stacks (a norm of a norm amplifies
    # rounding): a wrong type or formula in one of the modes is off by far more
    np.testing.assert_allclose(y, ref, rtol=1e-3, atol=1e-4 * scale)
