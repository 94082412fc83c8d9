"""Load the official TensorRT Python bindings on a CPU with link-time stub libraries.

The bindings wheel (``tensorrt-cu12-bindings`` / ``tensorrt-cu13-bindings``) is a real
pybind11 module that needs ``libnvinfer.so.N`` and friends only for nine C entry points.
We compile three tiny shared objects that export those symbols (returning null/0), so
``import tensorrt_bindings`` works and every class, enum and value type is the real one.
Only one bindings version can be imported per process, so callers run code in a
subprocess via :func:`run_real`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

STUB_SOURCE = r"""
void *createInferBuilder_INTERNAL(void *logger, int version) { return 0; }
void *createInferRefitter_INTERNAL(void *engine, void *logger, int version) { return 0; }
void *createInferRuntime_INTERNAL(void *logger, int version) { return 0; }
void *getBuilderPluginRegistry(int capability) { return 0; }
void *getPluginRegistry(void) { return 0; }
int initLibNvInferPlugins(void *logger, const char *ns) { return 0; }
void *createNvOnnxParser_INTERNAL(void *network, void *logger, int version) { return 0; }
void *createNvOnnxParserRefitter_INTERNAL(void *refitter, void *logger, int version) { return 0; }
int getNvOnnxParserVersion(void) { return 0; }
"""

STUB_LIBRARIES = ("nvinfer", "nvinfer_plugin", "nvonnxparser")


def have_compiler() -> bool:
    """Whether gcc (or $CC) is available to build the stub libraries."""
    return shutil.which(os.environ.get("CC", "gcc")) is not None


def build_stub_libs(out_dir: Path, major: int) -> Path:
    """Compile ``lib{nvinfer,nvinfer_plugin,nvonnxparser}.so.<major>`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / "trt_stub.c"
    src.write_text(STUB_SOURCE)
    cc = os.environ.get("CC", "gcc")
    for lib in STUB_LIBRARIES:
        soname = f"lib{lib}.so.{major}"
        target = out_dir / soname
        if not target.exists():
            subprocess.run(
                [cc, "-shared", "-fPIC", "-o", str(target), f"-Wl,-soname,{soname}", str(src)],
                check=True,
            )
    return out_dir


def installed_bindings() -> Path | None:
    """Directory that contains the installed ``tensorrt_bindings`` package, without importing it."""
    spec = importlib.util.find_spec("tensorrt_bindings")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).parent


def extract_wheel(wheel: Path, out_dir: Path) -> Path:
    """Unpack a bindings wheel into ``out_dir`` (a directory to put on ``sys.path``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(out_dir)
    return out_dir


def bindings_major(site_dir: Path) -> int:
    """TensorRT major version of the bindings in ``site_dir``, read from the ELF's NEEDED list."""
    so = site_dir / "tensorrt_bindings" / "tensorrt.so"
    data = so.read_bytes()
    for major in (11, 10, 12, 9):
        if f"libnvinfer.so.{major}".encode() in data:
            return major
    raise RuntimeError(f"cannot tell the TensorRT major version of {so}")


def run_real(
    code: str,
    site_dir: Path | None = None,
    *,
    stub_dir: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``import tensorrt_bindings`` is the real module."""
    site_dir = site_dir or installed_bindings()
    if site_dir is None:
        raise RuntimeError("tensorrt_bindings is not installed and no site_dir was given")
    major = bindings_major(site_dir)
    stub_dir = stub_dir or Path(tempfile.gettempdir()) / f"trt-netser-stubs-{major}"
    build_stub_libs(stub_dir, major)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(stub_dir), env.get("LD_LIBRARY_PATH", "")) if p
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site_dir), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
