"""hash/explain/dump/diff compute the key a GPU host would, and say when a key is offline."""

from __future__ import annotations

import json
from pathlib import Path

import trt_netser
import trt_netser.offline as trt
from tests.cli.conftest import Invoke
from trt_netser.cli.demo import build_block
from trt_netser.config import recorded_profiles
from trt_netser.portability import Environment

SPEC = "trt_netser.cli.demo:build_block"
H100 = ["--compute-capability", "9.0", "--gpu-name", "NVIDIA H100 80GB HBM3"]


def _library_key(**extras: object) -> trt_netser.CacheKey:
    with trt_netser.capture(trt):
        network, config = build_block(trt)
    env = Environment(
        "10.16.1.11",
        compute_capability="9.0",
        gpu_name="NVIDIA H100 80GB HBM3",
        cuda_version="12.8",
    )
    return trt_netser.cache_key(
        network,
        config,
        profiles=recorded_profiles(config),
        environment=env,
        extras=extras or None,
    )


def test_hash_predicts_the_gpu_hosts_key(cli: Invoke) -> None:
    result = cli(
        "hash",
        SPEC,
        *H100,
        "--cuda-version",
        "12.8",
        "--extras",
        "model=llama",
        "--extras",
        "batch=8",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    expected = _library_key(model="llama", batch=8)
    assert doc["key"] == str(expected)
    assert doc["key"].split("/")[2] == "sm90"
    assert doc["offline_key"] is True and doc["device_known"] is True


def test_environment_variables_work_like_options(cli: Invoke) -> None:
    env = {
        "TRT_NETSER_COMPUTE_CAPABILITY": "9.0",
        "TRT_NETSER_GPU_NAME": "NVIDIA H100 80GB HBM3",
        "TRT_NETSER_CUDA_VERSION": "12.8",
        "TRT_NETSER_EXTRAS": "model=llama batch=8",
    }
    result = cli("hash", SPEC, "--json", env=env)
    assert json.loads(result.stdout)["key"] == str(_library_key(model="llama", batch=8))


def test_offline_key_is_said_to_be_offline(cli: Invoke) -> None:
    plain = cli("hash", SPEC)
    assert plain.exit_code == 0
    assert "offline key" in plain.stderr and "sm-unknown" in plain.stderr
    assert "--compute-capability" in plain.stderr
    predicted = cli("hash", SPEC, *H100)
    assert "offline key" in predicted.stderr and "NVIDIA H100 80GB HBM3" in predicted.stderr
    # stdout keeps one "name digest" line per component
    assert [line.split()[0] for line in plain.stdout.splitlines()] == [
        "key",
        "schema",
        "tensorrt",
        "device",
        "network",
        "config",
        "extras",
    ]


def test_bad_environment_values_are_one_sentence(cli: Invoke) -> None:
    result = cli("hash", SPEC, "--compute-capability", "nine")
    assert result.exit_code == 2
    assert "compute_capability must look like '9.0'" in result.stderr
    result = cli("hash", SPEC, "--extras", "novalue")
    assert result.exit_code == 2
    assert result.stderr.startswith("trt-netser: error: Invalid value for --extras")


def test_options_refused_for_dumps_and_network_only_specs(
    cli: Invoke, model: Path, tmp_path: Path
) -> None:
    dump = tmp_path / "a.tnsd"
    assert cli("dump", SPEC, "-o", dump).exit_code == 0
    result = cli("hash", dump, *H100)
    assert result.exit_code == 2 and "is a dump" in result.stderr
    result = cli("hash", f"{model}:build", "--extras", "a=1")
    assert result.exit_code == 2 and "needs a full key" in result.stderr


def test_explain_kind_config_and_full_memory_pools(cli: Invoke) -> None:
    result = cli("explain", SPEC, "--kind", "config")
    assert result.exit_code == 0
    assert result.stdout.startswith("[") and "key.config" in result.stdout
    pools = next(line for line in result.stdout.splitlines() if "memory_pools" in line)
    assert "…" not in pools and "TACTIC_SHARED_MEMORY" in pools
    assert "layer 0" not in result.stdout  # only the config component
    default = cli("explain", SPEC)
    pools = next(line for line in default.stdout.splitlines() if "memory_pools" in line)
    assert "…" not in pools  # never shortened, even without --full
