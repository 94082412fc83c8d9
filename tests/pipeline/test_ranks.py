"""Tensor-parallel ranks racing on one key: one build, the others refit it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pipeline._rank", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def _race(tmp_path: Path, root: str, ranks: int, s3: str | None = None) -> list[dict[str, Any]]:
    count, go = tmp_path / "builds.txt", tmp_path / "go"
    extra = [s3] if s3 else []
    procs = [_spawn(root, str(r), str(count), str(go), *extra) for r in range(ranks)]
    time.sleep(1.5)  # let them import and wait at the start line
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-3000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    assert len(count.read_text().split()) == 1, "more than one rank built"
    return results


def _check(results: list[dict[str, Any]]) -> None:
    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes == ["hit-refit"] * (len(results) - 1) + ["miss-built"], results
    assert len({r["key"] for r in results}) == 1
    assert all(r["fresh"] for r in results), results  # each rank's engine has its own shard


def test_ranks_on_one_local_cache(trt: Any, tmp_path: Path) -> None:
    _check(_race(tmp_path, str(tmp_path / "cache"), 4))


def test_ranks_on_two_hosts_sharing_an_s3_bucket(
    trt: Any, tmp_path: Path, s3_endpoint: str, s3_url: str
) -> None:
    # every rank has its own lock directory: only the lease in the bucket keeps them apart
    _check(_race(tmp_path, s3_url, 3, s3=s3_endpoint))


def test_sigkilled_builder_holding_the_lease(
    trt: Any, tmp_path: Path, s3_endpoint: str, s3_url: str
) -> None:
    count, go = tmp_path / "builds.txt", tmp_path / "go"
    go.touch()
    env = {"LEASE_TTL": "1.5"}
    doomed = _spawn(
        s3_url, "0", str(count), str(go), s3_endpoint, env={**env, "BUILD_DELAY": "600"}
    )
    deadline = time.monotonic() + 60
    while not (count.exists() and count.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)  # rank 0 holds the lease and is building
    assert count.read_text().split(), "rank 0 never started its build"
    survivor = _spawn(
        s3_url, "1", str(count), str(go), s3_endpoint, env={**env, "BUILD_DELAY": "0"}
    )
    time.sleep(3.0)  # rank 1 waits on rank 0's live lease
    assert survivor.poll() is None, survivor.communicate()[1].decode()[-2000:]
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    out, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err.decode()[-3000:]
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["outcome"] == "miss-built" and result["fresh"]
    assert len(count.read_text().split()) == 2  # the dead build, then the take-over


def test_hosts_rebuilding_a_failed_entry_on_s3_build_once(
    trt: Any, tmp_path: Path, s3_endpoint: str, s3_url: str
) -> None:
    """A hit that fails while the failed entry stays in place (here: no pipeline metadata,
    as ``get_or_build`` stores; such an entry is not quarantined) rebuilds under the lease
    too: the failed entry does not count as published, so one host builds and the others
    wait, then refit its replacement."""
    from tests.cache.conftest import s3_options
    from tests.pipeline.nets import conv_net, plan_bytes
    from trt_netser.cache import EngineCache

    cache = EngineCache(s3_url, storage_options=s3_options(s3_endpoint), lock_dir=tmp_path / "l")
    first = conv_net(trt, seed=9).build(cache=cache, explain=False)
    assert first.outcome.value == "miss-built"
    # the same plan bytes, stored without the pipeline's record: a rebuild gives an entry
    # with the same plan digest, so only its version tells it from the failed one
    cache.put(first.key, plan_bytes(first))
    stale = cache.get(first.key)
    assert stale is not None and "trt_netser.pipeline" not in stale.extras
    results = _race(tmp_path, s3_url, 3, s3=s3_endpoint)
    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes == ["hit-refit", "hit-refit", "hit-refit-failed-rebuilt"], results
    assert all(r["fresh"] for r in results), results
    assert "no-metadata" in next(r["reason"] for r in results if r["outcome"] != "hit-refit")
    replaced = cache.get(first.key)
    assert replaced is not None and "trt_netser.pipeline" in replaced.extras
