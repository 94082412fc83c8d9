"""Fixtures: the offline TensorRT module, a private local engine cache, and S3 (moto)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cache.conftest import s3_endpoint, s3_options
from trt_netser.cache import EngineCache

__all__ = ["cache", "s3_endpoint", "s3_options", "s3_url", "trt"]


@pytest.fixture
def trt() -> Any:
    import trt_netser.offline as offline

    if not hasattr(offline, "Refitter") or not hasattr(offline, "Runtime"):
        pytest.skip("the offline backend has no engine side yet (issue 13)")
    return offline


@pytest.fixture
def cache(tmp_path: Path) -> EngineCache:
    return EngineCache(tmp_path / "cache")


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A fresh bucket on the session's moto server, as an s3:// cache root."""
    import s3fs

    bucket = f"trt-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**s3_options(s3_endpoint)).mkdir(bucket)  # type: ignore[arg-type]
    return f"s3://{bucket}/engines"
