"""Build leases in remote stores: exclusive, renewed, taken over when the holder dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

from tests.pipeline.conftest import s3_options
from trt_netser.cache import EngineCache
from trt_netser.cache._lease import acquire_lease

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def memfs() -> tuple[Any, str]:
    fs = fsspec.filesystem("memory")
    return fs, f"/lease-{uuid.uuid4().hex[:8]}"


def test_lease_is_exclusive_until_released(memfs: tuple[Any, str]) -> None:
    fs, base = memfs
    held = acquire_lease(fs, base, "a/b", ttl=5, poll=0.05)
    assert held is not None and held.gen == 0
    with pytest.raises(TimeoutError, match="still held"):
        acquire_lease(fs, base, "a/b", ttl=5, poll=0.05, timeout=0.3)
    other = acquire_lease(fs, base, "a/other", ttl=5, poll=0.05)  # other keys are free
    assert other is not None
    held.release()
    other.release()
    again = acquire_lease(fs, base, "a/b", ttl=5, poll=0.05, timeout=1)
    assert again is not None
    again.release()


def test_live_lease_is_renewed_past_its_ttl(memfs: tuple[Any, str]) -> None:
    fs, base = memfs
    held = acquire_lease(fs, base, "k", ttl=0.6, poll=0.05)
    assert held is not None
    time.sleep(1.5)  # more than two ttls: only the renewals keep it
    with pytest.raises(TimeoutError):
        acquire_lease(fs, base, "k", ttl=0.6, poll=0.05, timeout=0.4)
    assert not held.lost
    held.release()


def test_expired_lease_is_taken_over(memfs: tuple[Any, str]) -> None:
    fs, base = memfs
    dead = acquire_lease(fs, base, "k", ttl=0.5, poll=0.05)
    assert dead is not None
    dead._stop.set()  # the builder died: no more renewals (its object stays behind)
    start = time.monotonic()
    taker = acquire_lease(fs, base, "k", ttl=5, poll=0.05, timeout=5)
    assert taker is not None and taker.gen == dead.gen + 1
    assert time.monotonic() - start >= 0.3
    taker.release()


def test_waiter_returns_when_the_entry_appears(memfs: tuple[Any, str]) -> None:
    fs, base = memfs
    held = acquire_lease(fs, base, "k", ttl=5, poll=0.05)
    done = threading.Event()
    threading.Timer(0.3, done.set).start()
    assert acquire_lease(fs, base, "k", ttl=5, poll=0.05, ready=done.is_set, timeout=5) is None
    assert held is not None
    held.release()


def test_bad_arguments(memfs: tuple[Any, str]) -> None:
    fs, base = memfs
    with pytest.raises(ValueError, match="positive"):
        acquire_lease(fs, base, "k", ttl=0)


def test_local_caches_need_no_lease(tmp_path: Path) -> None:
    assert EngineCache(tmp_path / "c").lease("a/b") is None


def test_sigkilled_holder_is_taken_over_on_s3(
    s3_endpoint: str, s3_url: str, tmp_path: Path
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.pipeline._holder",
            s3_url,
            s3_endpoint,
            "a/b",
            "1.5",
            str(tmp_path / "locks-holder"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline().decode()
        assert line.startswith("held 0"), holder.stderr.read().decode() if holder.stderr else line
        cache = EngineCache(
            s3_url, storage_options=s3_options(s3_endpoint), lock_dir=tmp_path / "locks-me"
        )
        with pytest.raises(TimeoutError):
            cache.lease("a/b", ttl=5, poll=0.1, timeout=2.0)  # alive: renewed past its ttl
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        start = time.monotonic()
        lease = cache.lease("a/b", ttl=5, poll=0.1, timeout=10)
        assert lease is not None and lease.gen == 1
        assert time.monotonic() - start < 5
        lease.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_stale_entry_does_not_count_as_published(s3_endpoint: str, s3_url: str) -> None:
    """Builders replacing an entry they found unusable take the lease although the entry
    is still there, wait for each other, and stop waiting once it is replaced."""
    cache = EngineCache(s3_url, storage_options=s3_options(s3_endpoint))
    cache.put("a/b", b"plan")
    stale = cache.get("a/b")
    assert stale is not None
    assert cache.lease("a/b", ttl=5, poll=0.05) is None  # published: nothing to build
    held = cache.lease("a/b", ttl=5, poll=0.05, stale=stale)
    assert held is not None
    with pytest.raises(TimeoutError, match="still held"):
        cache.lease("a/b", ttl=5, poll=0.05, timeout=0.3, stale=stale)
    # the holder publishes the same bytes again: a new version all the same
    threading.Timer(0.3, cache.put, ("a/b", b"plan")).start()
    start = time.monotonic()
    assert cache.lease("a/b", ttl=5, poll=0.05, timeout=5, stale=stale) is None
    assert time.monotonic() - start >= 0.2
    held.release()
    cache.remove("a/b")  # gone (quarantined, say): the stale version is not there either
    lease = cache.lease("a/b", ttl=5, poll=0.05, timeout=1, stale=stale)
    assert lease is not None
    lease.release()
