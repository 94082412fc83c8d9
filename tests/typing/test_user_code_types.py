"""User code passes ``mypy --strict`` against the public API (py.typed package)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def test_user_code_passes_strict_mypy(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",  # judge the user's file, not the package internals
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            str(HERE / "user_code.py"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_type_error_in_user_code_is_caught(tmp_path: Path) -> None:
    """The check can fail: a wrong annotation on a public return type is reported."""
    pytest.importorskip("mypy")
    bad = tmp_path / "bad_user.py"
    bad.write_text(
        "import trt_netser\n\ndef f(key: trt_netser.CacheKey) -> int:\n    return key.explain()\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            str(bad),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 1 and "Incompatible return value type" in proc.stdout
