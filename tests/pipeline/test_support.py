"""What the pipeline added to the key and the cache: pinned_verified, lock, quarantine."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import trt_netser
from tests.pipeline.nets import conv_net
from trt_netser.cache import EngineCache
from trt_netser.pipeline import Outcome


@pytest.fixture
def offline() -> Any:
    import trt_netser.offline as trt

    return trt


def test_pinned_verified_relaxes_only_refit_individual(offline: Any) -> None:
    individual = conv_net(offline, flags=("REFIT_INDIVIDUAL",))
    plain = trt_netser.cache_key(individual.network, individual.config)
    verified = trt_netser.cache_key(individual.network, individual.config, pinned_verified=True)
    assert plain.component("config").value["refit"]["weights"] == "all"
    assert verified.component("config").value["refit"]["weights"] == "structure"
    assert str(plain) != str(verified)  # never shares entries with key-only users
    tuned = conv_net(offline, seed=9, flags=("REFIT_INDIVIDUAL",))
    assert str(trt_netser.cache_key(tuned.network, tuned.config, pinned_verified=True)) == str(
        verified
    )
    identical = conv_net(offline, flags=("REFIT_IDENTICAL",))
    a = trt_netser.cache_key(identical.network, identical.config)
    b = trt_netser.cache_key(identical.network, identical.config, pinned_verified=True)
    assert str(a) == str(b)  # REFIT_IDENTICAL keeps hashing every value
    with pytest.raises(TypeError, match="pinned_verified"):
        trt_netser.cache_key(individual.network, individual.config, pinned_verified=1)


def test_cache_lock_excludes_other_holders(tmp_path: Path) -> None:
    first, second = EngineCache(tmp_path / "c"), EngineCache(tmp_path / "c")
    order: list[str] = []
    with first.lock("a/b"):
        worker = threading.Thread(target=lambda: _take(second, order))
        worker.start()
        time.sleep(0.3)
        order.append("first releases")
    worker.join(5)
    assert order == ["first releases", "second holds"]
    with first.lock("a/b"), first.lock("a/b"):  # reentrant in one cache object
        pass


def _take(cache: EngineCache, order: list[str]) -> None:
    with cache.lock("a/b"):
        order.append("second holds")


def test_cache_lock_timeout(tmp_path: Path) -> None:
    import filelock

    first, second = EngineCache(tmp_path / "c"), EngineCache(tmp_path / "c")
    with first.lock("a/b"):
        failed: list[BaseException] = []

        def attempt() -> None:
            try:
                with second.lock("a/b", timeout=0.2):
                    pass
            except filelock.Timeout as exc:
                failed.append(exc)

        t = threading.Thread(target=attempt)
        t.start()
        t.join(5)
    assert failed


def test_quarantine_moves_an_entry_aside(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("a/b", b"plan")
    where = cache.quarantine("a/b", "found unusable")
    assert where is not None and (Path(where) / "reason.json").is_file()
    assert cache.get("a/b") is None
    assert cache.quarantine("a/b", "gone") is None
    with pytest.raises(ValueError, match="invalid cache key"):
        cache.quarantine("../x", "bad")


def test_cache_given_as_a_path(offline: Any, tmp_path: Path) -> None:
    root = tmp_path / "by-path"
    assert conv_net(offline).build(cache=str(root)).outcome is Outcome.MISS_BUILT
    assert conv_net(offline, seed=1).build(cache=root).outcome is Outcome.HIT_REFIT


def test_quarantine_leaves_a_replaced_entry_alone(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("a/b", b"bad plan")
    seen = cache.get("a/b")
    cache.put("a/b", b"good plan")  # another writer replaced it
    assert cache.quarantine("a/b", "was bad", entry=seen) is None
    assert cache.get("a/b").plan == b"good plan"
    current = cache.get("a/b")
    assert cache.quarantine("a/b", "now bad", entry=current) is not None
