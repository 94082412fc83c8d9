"""environment(): explicit (offline) and collected from a (faked) process."""

from __future__ import annotations

import os
import sys
import types

import pytest

import trt_netser.offline as trt
import trt_netser.portability as envmod
from trt_netser.portability import Environment, environment, file_digest


def test_offline_module_says_offline():
    env = environment(trt)
    assert env.backend == "offline"
    assert env.trt_version == "10.16.1.11"
    assert env.compute_capability is None and env.trt_library is None


def test_explicit_prediction():
    env = environment(trt, compute_capability="9.0", gpu_name="H100", cuda_version="12.8")
    assert (env.sm, env.cuda_major, env.gpu_name) == ("sm90", "12", "H100")
    assert environment(trt_version="10.13.3.9").trt_version == "10.13.3.9"


def test_without_a_module_the_version_is_required(monkeypatch):
    for name in ("tensorrt", "tensorrt_bindings", "tensorrt_rtx"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ValueError, match="trt_version"):
        environment()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("trt_version", "ten", ValueError),
        ("compute_capability", "90", ValueError),
        ("compute_capability", 9.0, ValueError),
        ("cuda_version", "twelve", ValueError),
        ("backend", "gpu", ValueError),
        ("gpu_name", 3, TypeError),
        ("plugins", ["a.so"], TypeError),
        ("platform", "", ValueError),
    ],
)
def test_bad_fields_are_named(field, value, error):
    kwargs = {"trt_version": "10.16.1.11", field: value}
    with pytest.raises(error, match=field):
        Environment(**kwargs)


def test_to_dict_is_plain_data():
    import json

    env = Environment("10.16.1.11", plugins=("libnvinfer_plugin.so.10",))
    assert json.loads(json.dumps(env.to_dict()))["plugins"] == ["libnvinfer_plugin.so.10"]


@pytest.fixture
def fake_process(tmp_path, monkeypatch):
    """A fake /proc/self/maps naming a 'libnvinfer' and a plugin library on disk."""
    lib = tmp_path / "libnvinfer.so.10"
    lib.write_bytes(b"nvinfer" * 1000)
    plugin = tmp_path / "libnvinfer_plugin_tensorrt_llm.so"
    plugin.write_bytes(b"plugin")
    maps = tmp_path / "maps"
    maps.write_text(
        f"7f00-7f01 r-xp 00000000 08:01 1 {lib}\n"
        f"7f01-7f02 r--p 00001000 08:01 1 {lib}\n"
        f"7f02-7f03 r-xp 00000000 08:01 2 {plugin}\n"
        "7f03-7f04 rw-p 00000000 00:00 0 [heap]\n"
    )
    monkeypatch.setattr(envmod, "_MAPS", str(maps))
    monkeypatch.setenv("TRT_NETSER_LIBRARY_DIGESTS", str(tmp_path / "digests.json"))
    monkeypatch.setattr(envmod, "_digest_memory", {})
    return types.SimpleNamespace(lib=lib, plugin=plugin, tmp=tmp_path)


def test_real_backend_identifies_library_and_plugins(fake_process):
    env = environment(trt)
    assert env.backend == "tensorrt"
    assert env.trt_library == file_digest(fake_process.lib)
    assert env.trt_library.startswith("blake3:")
    assert env.plugins == ("libnvinfer_plugin_tensorrt_llm.so",)
    assert env.plugin_digests[0].startswith("libnvinfer_plugin_tensorrt_llm.so=blake3:")


def test_library_digest_is_remembered_by_path_size_and_mtime(fake_process, monkeypatch):
    lib = fake_process.lib
    first = file_digest(lib)
    st = os.stat(lib)
    lib.write_bytes(b"NVINFER" * 1000)  # same size; restore mtime: the memo must be used
    os.utime(lib, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file_digest(lib) == first
    monkeypatch.setattr(envmod, "_digest_memory", {})  # a new process: the disk memo
    assert file_digest(lib) == first
    os.utime(lib, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert file_digest(lib) != first


def test_gpu_probe_through_pynvml(fake_process, monkeypatch):
    nvml = types.ModuleType("pynvml")
    nvml.nvmlInit = lambda: None
    nvml.nvmlShutdown = lambda: None
    nvml.nvmlDeviceGetHandleByIndex = lambda i: ("dev", i)
    nvml.nvmlDeviceGetCudaComputeCapability = lambda h: (8, 9)
    nvml.nvmlDeviceGetName = lambda h: b"NVIDIA L40S"
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    env = environment(trt)
    assert (env.compute_capability, env.gpu_name) == ("8.9", "NVIDIA L40S")


def test_gpu_probe_prefers_torch_and_reads_trtllm(fake_process, monkeypatch):
    cuda = types.SimpleNamespace(
        is_available=lambda: True,
        current_device=lambda: 0,
        get_device_capability=lambda d: (9, 0),
        get_device_name=lambda d: "NVIDIA H100",
    )
    torch = types.SimpleNamespace(cuda=cuda, version=types.SimpleNamespace(cuda="12.4"))
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "tensorrt_llm", types.SimpleNamespace(__version__="0.20.0"))
    env = environment(trt)
    assert (env.compute_capability, env.gpu_name, env.cuda_version) == (
        "9.0",
        "NVIDIA H100",
        "12.4",
    )
    assert env.trtllm_version == "0.20.0"


def test_failing_probes_are_ignored(fake_process, monkeypatch):
    def boom():
        raise RuntimeError("no driver")

    monkeypatch.setattr(envmod, "GPU_PROBES", (("x", boom),))
    assert environment(trt).compute_capability is None


def test_nothing_depends_on_host_identity(fake_process, monkeypatch):
    a = environment(trt)
    monkeypatch.setattr(os, "getpid", lambda: 12345)
    monkeypatch.setenv("HOSTNAME", "elsewhere")
    assert environment(trt) == a
