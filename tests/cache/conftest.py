"""Fixtures: local, memory:// and S3 (moto server on loopback) engine caches."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from trt_netser.cache import EngineCache


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cache(tmp_path: Path) -> EngineCache:
    return EngineCache(tmp_path / "cache", strict=True)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
    }.items():
        os.environ.setdefault(name, value)
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_options(endpoint: str) -> dict[str, object]:
    return {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-west-2"},
        "skip_instance_cache": True,
    }


@pytest.fixture
def s3_cache(s3_endpoint: str, tmp_path: Path) -> EngineCache:
    import s3fs

    bucket = f"trt-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(**s3_options(s3_endpoint))  # type: ignore[arg-type]
    fs.mkdir(bucket)
    return EngineCache(
        f"s3://{bucket}/engines",
        storage_options=s3_options(s3_endpoint),
        lock_dir=tmp_path / "locks",
        strict=True,
    )


@pytest.fixture
def memory_cache(tmp_path: Path) -> EngineCache:
    return EngineCache(
        f"memory://trt-{uuid.uuid4().hex[:12]}", lock_dir=tmp_path / "locks", strict=True
    )


@pytest.fixture(params=["local", "memory", "s3"])
def any_cache(request: pytest.FixtureRequest) -> EngineCache:
    return request.getfixturevalue(
        {"local": "cache", "memory": "memory_cache", "s3": "s3_cache"}[request.param]
    )
