"""What makes an engine non-portable: TensorRT, CUDA, GPU, OS, plugins.

``environment()`` collects it from the running process when real TensorRT is loaded
(``backend="tensorrt"``), or takes it from arguments to predict the key a GPU machine
would compute (``backend="offline"``). Nothing comes from clocks, hostnames or PIDs.

Which fields go into the cache key and which are only recorded (for the manifest and
for explaining a miss) is the data table :data:`ENVIRONMENT_FIELDS`. GPU facts come from
whatever is importable (``torch`` if already imported, ``cuda-python``, ``pynvml``);
none is required. The TensorRT library is identified by a blake3 digest of the loaded
``libnvinfer`` file, remembered by path, size and mtime so it is hashed once per
library, not once per call.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform as _platform
import re
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import blake3

from trt_netser.records import SCHEMA_VERSION

Backend = Literal["tensorrt", "offline"]

#: Every Environment field: (key component, "hashed" or "recorded", reason).
ENVIRONMENT_FIELDS: Mapping[str, tuple[str, str, str]] = {
    "schema": (
        "schema",
        "hashed",
        "the trt-netser record schema: a new schema never reuses keys of an old one",
    ),
    "trt_version": (
        "tensorrt",
        "hashed",
        "engines deserialize only with the TensorRT "
        "version that built them (major only with VERSION_COMPATIBLE)",
    ),
    "cuda_major": (
        "tensorrt",
        "hashed",
        "TensorRT ships one library per CUDA major "
        "(cu12/cu13) for the same version; their engines are not interchangeable",
    ),
    "platform": (
        "tensorrt",
        "hashed",
        "engines are OS- and CPU-architecture specific "
        "(unless runtime_platform targets another, which the config records)",
    ),
    "plugins": (
        "tensorrt",
        "hashed",
        "file names of loaded plugin libraries: plugin layers "
        "deserialize only where their creators are registered",
    ),
    "trtllm_version": (
        "tensorrt",
        "hashed",
        "TensorRT-LLM's plugins and network builders change between releases",
    ),
    "compute_capability": (
        "device",
        "hashed",
        "kernels are compiled per SM architecture (the hardware compatibility level widens this)",
    ),
    "gpu_name": (
        "device",
        "hashed",
        "TensorRT tunes tactics per GPU model and does not "
        "guarantee engines across models (dropped under hardware compatibility)",
    ),
    "backend": ("", "recorded", "offline prediction must give the key a GPU machine computes"),
    "trt_library": (
        "",
        "recorded",
        "digest of libnvinfer: not predictable offline, and the "
        "same version from pip, deb or tar builds compatible engines. "
        "cache_key(..., library_identity=True) hashes it",
    ),
    "plugin_digests": (
        "",
        "recorded",
        "digests of plugin libraries (hashed with library_identity=True)",
    ),
    "cuda_version": (
        "",
        "recorded",
        "full CUDA runtime version; only the major is hashed (CUDA minor-version compatibility)",
    ),
}

_VERSION = re.compile(r"\d+(\.\d+)*")
_CC = re.compile(r"\d+\.\d+")
_MAPS = "/proc/self/maps"
_NVINFER = re.compile(r"libnvinfer\.so(\.\d+)*")
_PLUGIN = re.compile(r"lib[A-Za-z0-9_+-]*plugin[A-Za-z0-9_+-]*\.so(\.\d+)*")


def host_platform() -> str:
    """``<os>-<arch>`` of this process, normalized (``linux-x86_64``, ``windows-x86_64``)."""
    system = _platform.system().lower() or sys.platform
    machine = _platform.machine().lower()
    machine = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return f"{system}-{machine}"


@dataclass(frozen=True)
class Environment:
    """The facts that decide where an engine can run. Construct it directly (or with
    :func:`environment`'s keywords) to predict the key of another machine."""

    trt_version: str
    backend: Backend = "offline"
    compute_capability: str | None = None
    gpu_name: str | None = None
    cuda_version: str | None = None
    platform: str = field(default_factory=host_platform)
    plugins: tuple[str, ...] = ()
    plugin_digests: tuple[str, ...] = ()
    trt_library: str | None = None
    trtllm_version: str | None = None
    schema: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.trt_version, str) or not _VERSION.fullmatch(self.trt_version):
            raise ValueError(f"trt_version must look like '10.16.1.11', not {self.trt_version!r}")
        if self.backend not in ("tensorrt", "offline"):
            raise ValueError(f"backend must be 'tensorrt' or 'offline', not {self.backend!r}")
        cc = self.compute_capability
        if cc is not None and (not isinstance(cc, str) or not _CC.fullmatch(cc)):
            raise ValueError(f"compute_capability must look like '9.0', not {cc!r}")
        cuda = self.cuda_version
        if cuda is not None and (not isinstance(cuda, str) or not _VERSION.fullmatch(cuda)):
            raise ValueError(f"cuda_version must look like '12.8', not {cuda!r}")
        for name in ("gpu_name", "trt_library", "trtllm_version"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
        if not isinstance(self.platform, str) or not self.platform:
            raise ValueError(f"platform must be a non-empty str, not {self.platform!r}")
        for name in ("plugins", "plugin_digests"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"{name} must be a tuple of str")

    @property
    def trt_major(self) -> str:
        return self.trt_version.split(".", 1)[0]

    @property
    def cuda_major(self) -> str | None:
        return None if self.cuda_version is None else self.cuda_version.split(".", 1)[0]

    @property
    def sm(self) -> str | None:
        """``sm90`` for compute capability 9.0, None if unknown."""
        if self.compute_capability is None:
            return None
        return "sm" + self.compute_capability.replace(".", "")

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-able data (lists for tuples)."""
        data = asdict(self)
        data["plugins"] = list(self.plugins)
        data["plugin_digests"] = list(self.plugin_digests)
        return data


# --------------------------------------------------------------------------- files


_digest_lock = threading.Lock()
_digest_memory: dict[tuple[str, int, int], str] = {}
_DISK_LIMIT = 64


def _digest_store() -> Path | None:
    """The on-disk digest memo (``TRT_NETSER_LIBRARY_DIGESTS``; empty disables it)."""
    configured = os.environ.get("TRT_NETSER_LIBRARY_DIGESTS")
    if configured is not None:
        return Path(configured) if configured else None
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("trt-netser")) / "library-digests.json"
    except Exception:
        return None


def _load_store(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_store(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".digests-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # a memo only: failing to write it costs a re-hash, nothing else


def file_digest(path: str | os.PathLike[str]) -> str:
    """``blake3:<hex>`` of a file, remembered by (real path, size, mtime) in memory and
    in a small JSON file, so a 1 GB library is hashed once, not on every call."""
    real = os.path.realpath(path)
    st = os.stat(real)
    memo_key = (real, st.st_size, st.st_mtime_ns)
    with _digest_lock:
        found = _digest_memory.get(memo_key)
    if found is not None:
        return found
    store = _digest_store()
    if store is not None:
        entry = _load_store(store).get(real)
        if (
            isinstance(entry, dict)
            and entry.get("size") == st.st_size
            and entry.get("mtime_ns") == st.st_mtime_ns
            and isinstance(entry.get("digest"), str)
        ):
            with _digest_lock:
                _digest_memory[memo_key] = entry["digest"]
            return str(entry["digest"])
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update_mmap(real)
    digest = "blake3:" + hasher.hexdigest()
    with _digest_lock:
        _digest_memory[memo_key] = digest
    if store is not None:
        data = _load_store(store)
        data[real] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "digest": digest}
        if len(data) > _DISK_LIMIT:
            for stale in sorted(data)[: len(data) - _DISK_LIMIT]:
                del data[stale]
        _save_store(store, data)
    return digest


def loaded_libraries(maps: str | os.PathLike[str] | None = None) -> list[str]:
    """Paths of the shared objects mapped into this process (Linux ``/proc/self/maps``)."""
    try:
        text = Path(maps or _MAPS).read_text()
    except OSError:
        return []
    paths = set()
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/") and ".so" in parts[5]:
            paths.add(parts[5].strip())
    return sorted(paths)


def _find_libraries(libs: list[str]) -> tuple[str | None, list[str]]:
    nvinfer = None
    plugins = []
    for path in libs:
        base = os.path.basename(path)
        if _NVINFER.fullmatch(base):
            nvinfer = nvinfer or path
        elif _PLUGIN.fullmatch(base):
            plugins.append(path)
    return nvinfer, plugins


# --------------------------------------------------------------------------- GPU probes


def _probe_torch() -> dict[str, Any]:
    torch = sys.modules.get("torch")  # never imported here: it takes seconds
    if torch is None or not torch.cuda.is_available():
        return {}
    dev = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(dev)
    return {
        "compute_capability": f"{major}.{minor}",
        "gpu_name": str(torch.cuda.get_device_name(dev)),
        "cuda_version": getattr(torch.version, "cuda", None),
    }


def _import_optional(*names: str) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except Exception:
            continue
    return None


def _probe_cuda_python() -> dict[str, Any]:
    cudart = _import_optional("cuda.bindings.runtime", "cuda.cudart")
    if cudart is None:
        return {}
    err, version = cudart.cudaRuntimeGetVersion()
    out: dict[str, Any] = {}
    if int(err) == 0:
        out["cuda_version"] = f"{version // 1000}.{(version % 1000) // 10}"
    err, dev = cudart.cudaGetDevice()
    if int(err) == 0:
        err, props = cudart.cudaGetDeviceProperties(dev)
        if int(err) == 0:
            name = props.name
            if isinstance(name, bytes):
                name = name.split(b"\0", 1)[0].decode()
            out["compute_capability"] = f"{props.major}.{props.minor}"
            out["gpu_name"] = str(name)
    return out


def _probe_nvml() -> dict[str, Any]:
    nvml = _import_optional("pynvml")
    if nvml is None:
        return {}
    nvml.nvmlInit()
    try:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
        index = int(visible) if visible.isdigit() else 0
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
        name = nvml.nvmlDeviceGetName(handle)
        if isinstance(name, bytes):
            name = name.decode()
        return {"compute_capability": f"{major}.{minor}", "gpu_name": str(name)}
    finally:
        nvml.nvmlShutdown()


#: GPU probes in order of preference; the first to give a field wins it.
GPU_PROBES = (("torch", _probe_torch), ("cuda-python", _probe_cuda_python), ("pynvml", _probe_nvml))


def probe_gpu() -> dict[str, Any]:
    """Compute capability, GPU name and CUDA runtime version from importable modules."""
    found: dict[str, Any] = {}
    for _, probe in GPU_PROBES:
        try:
            got = probe()
        except Exception:
            continue
        for name, value in got.items():
            if value is not None:
                found.setdefault(name, str(value))
    return found


def _cuda_major_of_distribution() -> str | None:
    """CUDA major of the installed TensorRT wheels (``tensorrt-cu12-*``), if any."""
    for major in ("13", "12", "11"):
        for dist in (f"tensorrt-cu{major}-libs", f"tensorrt-cu{major}-bindings"):
            try:
                importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
            return major
    return None


# --------------------------------------------------------------------------- collection


def _trt_module(module: ModuleType | None) -> ModuleType | None:
    if module is not None:
        return module
    for name in ("tensorrt", "tensorrt_bindings", "tensorrt_rtx"):
        found = sys.modules.get(name)
        if found is not None and hasattr(found, "__version__"):
            return found
    return None


def environment(
    module: ModuleType | None = None,
    *,
    trt_version: str | None = None,
    compute_capability: str | None = None,
    gpu_name: str | None = None,
    cuda_version: str | None = None,
    platform: str | None = None,
    plugins: tuple[str, ...] | None = None,
    trtllm_version: str | None = None,
    backend: Backend | None = None,
) -> Environment:
    """The environment of this process for TensorRT ``module`` (default: the imported
    ``tensorrt``), with any field overridden by the keywords.

    Real TensorRT is recognised by a loaded ``libnvinfer``; otherwise (e.g.
    ``trt_netser.offline``) the backend is "offline" and nothing is read from the host
    except the platform: give ``trt_version``, ``compute_capability``, ``gpu_name`` and
    ``cuda_version`` to predict a GPU machine's key.
    """
    module = _trt_module(module)
    libs = loaded_libraries()
    nvinfer, plugin_paths = _find_libraries(libs)
    detected: Backend = "tensorrt" if nvinfer is not None else "offline"
    chosen: Backend = backend if backend is not None else detected
    # "10.16.1.11+offline": the local part names the implementation, not the version
    version = trt_version or (
        str(getattr(module, "__version__", "")).split("+", 1)[0] if module else ""
    )
    if not version:
        raise ValueError(
            "no TensorRT module is imported: pass the module or trt_version= (e.g. "
            "environment(trt_version='10.16.1.11', compute_capability='9.0'))"
        )
    fields: dict[str, Any] = {}
    if chosen == "tensorrt" and detected == "tensorrt":
        fields.update(probe_gpu())
        if "cuda_version" not in fields:
            major = _cuda_major_of_distribution()
            if major is not None:
                fields["cuda_version"] = major
        fields["trt_library"] = file_digest(nvinfer) if nvinfer else None
        names = sorted({os.path.basename(p) for p in plugin_paths})
        fields["plugins"] = tuple(names)
        fields["plugin_digests"] = tuple(
            f"{os.path.basename(p)}={file_digest(p)}" for p in sorted(plugin_paths)
        )
        llm = sys.modules.get("tensorrt_llm")
        if llm is not None and isinstance(getattr(llm, "__version__", None), str):
            fields["trtllm_version"] = llm.__version__
    overrides = {
        "compute_capability": compute_capability,
        "gpu_name": gpu_name,
        "cuda_version": cuda_version,
        "platform": platform,
        "plugins": tuple(plugins) if plugins is not None else None,
        "trtllm_version": trtllm_version,
    }
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return Environment(trt_version=version, backend=chosen, **fields)


__all__ = [
    "ENVIRONMENT_FIELDS",
    "GPU_PROBES",
    "Environment",
    "environment",
    "file_digest",
    "host_platform",
    "loaded_libraries",
    "probe_gpu",
]
