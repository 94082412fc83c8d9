"""Engine-side client code passes ``mypy --strict`` against ``trt_netser.offline``.

The offline model's engine API is typed as TensorRT's bindings declare it (for example
``deserialize_cuda_engine -> ICudaEngine``), so code written for ``tensorrt`` type-checks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _mypy(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",  # judge the user's file, not the package internals
            "--cache-dir",
            str(cache),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_engine_user_code_passes_strict_mypy(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    proc = _mypy(HERE / "engine_user_code.py", tmp_path / "mypy-cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_engine_user_code_runs(tmp_path: Path) -> None:
    """The type-checked client code is real code: it builds, runs and refits offline."""
    from tests.typing.engine_user_code import build_run_refit

    names, ran, refitted, info = build_run_refit(str(tmp_path / "plan.engine"))
    assert ran and refitted
    assert "w" in names and "CONSTANT" in names  # Refitter.get_all: layer names, roles
    assert (tmp_path / "plan.engine").stat().st_size > 0
    assert '"Layers"' in info


def test_a_wrongly_typed_engine_setting_is_caught(tmp_path: Path) -> None:
    """The check can fail: the table-made settings have types, not Any."""
    pytest.importorskip("mypy")
    bad = tmp_path / "bad_engine_user.py"
    bad.write_text(
        "import trt_netser.offline as trt\n\n"
        "def f(config: trt.IBuilderConfig, runtime: trt.Runtime) -> str:\n"
        '    config.builder_optimization_level = "3"\n'
        "    return runtime.deserialize_cuda_engine(b'').create_execution_context().debug_sync\n"
    )
    proc = _mypy(bad, tmp_path / "mypy-cache")
    assert proc.returncode == 1
    assert 'expression has type "str", variable has type "int"' in proc.stdout
    assert 'Incompatible return value type (got "bool", expected "str")' in proc.stdout
