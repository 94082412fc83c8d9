"""Shared pytest fixtures (kept minimal on purpose)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.real_trt import have_compiler, installed_bindings, run_real

RealRunner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def real_trt(tmp_path_factory: pytest.TempPathFactory) -> RealRunner:
    """Run code where ``import tensorrt_bindings`` is the real 10.x module (stub-loaded).

    Why a session fixture: the stub libraries are compiled once per test session into a
    private temporary directory, so tests cost one interpreter start each, not a gcc run.
    Skips (with the reason) when gcc or the bindings wheel is missing.
    """
    if not have_compiler():
        pytest.skip("gcc is not available to build the TensorRT stub libraries")
    site_dir = installed_bindings()
    if site_dir is None:
        pytest.skip("tensorrt_bindings (tensorrt-cu12-bindings) is not installed")
    stub_dir = tmp_path_factory.mktemp("trt-stubs")  # run_real compiles into it on first use

    def run(
        code: str, site: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run_real(code, site or site_dir, stub_dir=stub_dir, timeout=timeout)

    return run
