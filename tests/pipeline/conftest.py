"""Fixtures: the offline TensorRT module and a private local engine cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trt_netser.cache import EngineCache


@pytest.fixture
def trt() -> Any:
    import trt_netser.offline as offline

    if not hasattr(offline, "Refitter") or not hasattr(offline, "Runtime"):
        pytest.skip("the offline backend has no engine side yet (issue 13)")
    return offline


@pytest.fixture
def cache(tmp_path: Path) -> EngineCache:
    return EngineCache(tmp_path / "cache")
