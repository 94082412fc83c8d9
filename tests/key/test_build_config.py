"""hash_build_config on a FAKE TensorRT-LLM BuildConfig (see helpers.FakeBuildConfig)."""

from __future__ import annotations

import enum

import pytest

from trt_netser.config import BUILD_CONFIG_EXCLUSIONS, hash_build_config

from .helpers import FakeBuildConfig

BASE = hash_build_config(FakeBuildConfig())

CHANGES = {
    "max_input_len": 4096,
    "max_seq_len": 8192,
    "opt_batch_size": 4,
    "max_batch_size": 128,
    "max_beam_width": 4,
    "max_num_tokens": 4096,
    "opt_num_tokens": 1024,
    "max_prompt_embedding_table_size": 16,
    "kv_cache_type": "CONTINUOUS",
    "gather_context_logits": True,
    "gather_generation_logits": True,
    "strongly_typed": False,
    "force_num_profiles": 2,
    "profiling_verbosity": "detailed",
    "enable_debug_output": True,
    "max_draft_len": 4,
    "speculative_decoding_mode": 2,
    "use_refit": True,
    "weight_sparsity": True,
    "weight_streaming": True,
    "use_strip_plan": True,
    "max_encoder_input_len": 2048,
    "use_mrope": True,
    "lora_config__max_lora_rank": 8,
    "lora_config__lora_target_modules": ["attn_q"],
    "lora_config__lora_ckpt_source": "nemo",
    "auto_parallel_config__world_size": 2,
    "plugin_config__gemm_plugin": "float16",
    "plugin_config__gpt_attention_plugin": None,
    "plugin_config__tokens_per_block": 32,
    "plugin_config__multiple_profiles": True,
    "plugin_config__dtype": "bfloat16",
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_engine_fields_change_the_digest(field):
    assert hash_build_config(FakeBuildConfig(**{field: CHANGES[field]})) != BASE


def test_every_fake_field_is_tested():
    top = {k for k in FakeBuildConfig.DEFAULTS if not isinstance(FakeBuildConfig.DEFAULTS[k], dict)}
    tested = {k for k in CHANGES if "__" not in k} | set(BUILD_CONFIG_EXCLUSIONS)
    assert top <= tested


EXCLUDED = {
    "dry_run": True,
    "visualize_network": "/tmp/net.svg",
    "monitor_memory": True,
    "input_timing_cache": "/tmp/in.cache",
    "output_timing_cache": "/tmp/out.cache",
    "lora_config__lora_dir": ["/models/lora-a"],
}


@pytest.mark.parametrize("field", sorted(EXCLUDED))
def test_excluded_fields_do_not_change_the_digest(field):
    assert hash_build_config(FakeBuildConfig(**{field: EXCLUDED[field]})) == BASE


def test_runtime_gpu_weights_percent_is_not_part_of_the_digest():
    a = FakeBuildConfig(weight_streaming=True)
    b = FakeBuildConfig(weight_streaming=True, gpu_weights_percent=0.25)
    c = FakeBuildConfig(weight_streaming=True, gpu_weights_percent=1.0)
    assert hash_build_config(a) == hash_build_config(b) == hash_build_config(c)


def test_dict_order_does_not_matter():
    data = FakeBuildConfig().to_dict()
    reordered = dict(reversed(list(data.items())))
    assert hash_build_config(reordered) == BASE


def test_enums_by_type_and_value():
    class KVCacheType(enum.IntEnum):
        CONTINUOUS = 0
        PAGED = 1

    class Other(enum.IntEnum):
        PAGED = 1

    a = hash_build_config(FakeBuildConfig(kv_cache_type=KVCacheType.PAGED))
    b = hash_build_config(FakeBuildConfig(kv_cache_type=Other.PAGED))
    c = hash_build_config(FakeBuildConfig(kv_cache_type=KVCacheType.CONTINUOUS))
    assert len({a, b, c, BASE}) == 4


@pytest.mark.parametrize("bad", [None, 3, "x", object()])
def test_not_a_build_config_is_a_type_error(bad):
    with pytest.raises(TypeError, match="BuildConfig"):
        hash_build_config(bad)


def test_unhashable_field_names_its_path():
    with pytest.raises(TypeError, match=r"plugin_config\.gemm_plugin"):
        hash_build_config(FakeBuildConfig(plugin_config__gemm_plugin=object()))


def test_to_dict_must_return_a_dict():
    class Bad:
        def to_dict(self):
            return [1]

    with pytest.raises(TypeError, match="to_dict"):
        hash_build_config(Bad())
