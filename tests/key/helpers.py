"""Small networks, configs and a fake TensorRT-LLM BuildConfig for the key tests."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

import trt_netser.offline as trt
from trt_netser.portability import Environment

ENV = Environment(
    trt_version="10.16.1.11",
    compute_capability="9.0",
    gpu_name="NVIDIA H100 80GB HBM3",
    cuda_version="12.8",
    platform="linux-x86_64",
)


def builder() -> Any:
    return trt.Builder(trt.Logger())


def network(weight: float = 1.0, *, shape_input: bool = False) -> Any:
    """x[-1,16] @ W (a learned weight) + shape input, with names given by the user."""
    net = builder().create_network(0)
    x = net.add_input("x", trt.float32, (-1, 16))
    w = net.add_constant((16, 16), np.full((16, 16), weight, np.float32))
    w.name = "w"
    mm = net.add_matrix_multiply(
        x, trt.MatrixOperation.NONE, w.get_output(0), trt.MatrixOperation.NONE
    )
    mm.name = "mm"
    net.mark_output(mm.get_output(0))
    if shape_input:
        s = net.add_input("s", trt.int32, (2,))
        shuffle = net.add_shuffle(mm.get_output(0))
        shuffle.set_input(1, s)
        net.mark_output(shuffle.get_output(0))
    return net


def profile(
    min_: tuple[int, int] = (1, 16),
    opt: tuple[int, int] = (4, 16),
    max_: tuple[int, int] = (8, 16),
    values: tuple[list[int], list[int], list[int]] | None = None,
) -> Any:
    p = builder().create_optimization_profile()
    p.set_shape("x", min_, opt, max_)
    if values is not None:
        p.set_shape_input("s", *values)
    return p


def config(*flags: str) -> Any:
    cfg = builder().create_builder_config()
    for flag in flags:
        cfg.set_flag(getattr(trt.BuilderFlag, flag))
    return cfg


class FakeBuildConfig:
    """A FAKE of TensorRT-LLM's ``BuildConfig``: only ``to_dict()``, with the field names
    and nesting of TensorRT-LLM 0.1x (plugin_config, lora_config, auto_parallel_config,
    speculative decoding, weight streaming). Not the real class."""

    DEFAULTS: dict[str, Any] = {  # noqa: RUF012 - copied per instance
        "max_input_len": 1024,
        "max_seq_len": 2048,
        "opt_batch_size": 8,
        "max_batch_size": 64,
        "max_beam_width": 1,
        "max_num_tokens": 8192,
        "opt_num_tokens": None,
        "max_prompt_embedding_table_size": 0,
        "kv_cache_type": "PAGED",
        "gather_context_logits": False,
        "gather_generation_logits": False,
        "strongly_typed": True,
        "force_num_profiles": None,
        "profiling_verbosity": "layer_names_only",
        "enable_debug_output": False,
        "max_draft_len": 0,
        "speculative_decoding_mode": 1,
        "use_refit": False,
        "input_timing_cache": None,
        "output_timing_cache": "model.cache",
        "lora_config": {
            "lora_dir": [],
            "lora_ckpt_source": "hf",
            "max_lora_rank": 64,
            "lora_target_modules": [],
            "trtllm_modules_to_hf_modules": {},
        },
        "auto_parallel_config": {"world_size": 1, "gpus_per_node": 8},
        "weight_sparsity": False,
        "weight_streaming": False,
        "plugin_config": {
            "dtype": "float16",
            "gpt_attention_plugin": "auto",
            "gemm_plugin": None,
            "nccl_plugin": "auto",
            "use_paged_context_fmha": False,
            "tokens_per_block": 64,
            "multiple_profiles": False,
            "paged_kv_cache": True,
            "remove_input_padding": True,
        },
        "use_strip_plan": False,
        "max_encoder_input_len": 1024,
        "dry_run": False,
        "visualize_network": None,
        "monitor_memory": False,
        "use_mrope": False,
    }

    def __init__(self, **changes: Any) -> None:
        self._data = copy.deepcopy(self.DEFAULTS)
        for dotted, value in changes.items():
            target = self._data
            *parents, last = dotted.split("__")
            for part in parents:
                target = target[part]
            target[last] = value

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)


class FakeLlmNetwork:
    """A FAKE TensorRT-LLM ``Network``: holds the TensorRT network in ``trt_network``."""

    def __init__(self, trt_network: Any) -> None:
        self.trt_network = trt_network
