"""The demo's proof by execution: the fine-tuned block's cache hit is refit, and the refit
engine computes exactly what a fresh build of the fine-tuned block computes.

Runs through TensorRT's public API only (``build_engine``, ``IExecutionContext``), on the
offline backend, whose "device" memory is host memory (docs/execution.md).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FinetuneCheck:
    """What the fine-tune check found."""

    first: str  # outcome of building the base block through the cache
    second: str  # outcome for the fine-tuned block (a refit hit)
    outputs_equal: bool  # refit hit == fresh build, bit for bit
    differs_from_base: bool  # the new weights change the outputs
    shape: tuple[int, ...]


def _execute(trt: Any, engine: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The TensorRT client sequence: shapes, buffers, addresses, enqueue."""
    ctx = engine.create_execution_context()
    outputs: dict[str, np.ndarray] = {}
    for name, arr in feeds.items():
        ctx.set_input_shape(name, arr.shape)
        ctx.set_tensor_address(name, arr.ctypes.data)
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        if engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT:
            dtype = trt.nptype(engine.get_tensor_dtype(name))
            outputs[name] = np.zeros(tuple(ctx.get_tensor_shape(name)), dtype)
            ctx.set_tensor_address(name, outputs[name].ctypes.data)
    if not ctx.execute_async_v3(0):
        raise RuntimeError("execute_async_v3 failed")
    return outputs


def finetune_check() -> FinetuneCheck:
    """Build the base block through a fresh cache, then the fine-tuned one (a refit hit),
    and compare the hit's outputs with a fresh build's on random hidden states."""
    from trt_netser import build_engine, capture
    from trt_netser.cache import EngineCache
    from trt_netser.cli.demo import D_MODEL, build_block, build_finetuned
    from trt_netser.cli.spec import use_backend

    with use_backend("offline") as backend, tempfile.TemporaryDirectory() as root:
        trt = backend.module
        cache = EngineCache(root)
        with capture(trt):  # records the configs' optimization profiles for the key
            net, config = build_block(trt)
            tuned, tuned_config = build_finetuned(trt)
        first = build_engine(net.builder, net, config, cache=cache, deserialize=True)
        second = build_engine(tuned.builder, tuned, tuned_config, cache=cache)
        fresh_net, fresh_config = build_finetuned(trt)
        plan = fresh_net.builder.build_serialized_network(fresh_net, fresh_config)
        fresh = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(plan)
        x = np.random.default_rng(0).standard_normal((2, 16, D_MODEL)).astype(np.float32)
        feeds = {"hidden_states": x}
        hit_out = _execute(trt, second.engine, feeds)["output"]
        fresh_out = _execute(trt, fresh, feeds)["output"]
        base = first.engine
        if base is None:
            base = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(first.plan)
        base_out = _execute(trt, base, feeds)["output"]
    return FinetuneCheck(
        first=first.outcome.value,
        second=second.outcome.value,
        outputs_equal=hit_out.tobytes() == fresh_out.tobytes(),
        differs_from_base=base_out.tobytes() != hit_out.tobytes(),
        shape=tuple(hit_out.shape),
    )
