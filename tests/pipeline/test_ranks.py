"""Tensor-parallel ranks racing on one key: one build, the others refit it."""

from __future__ import annotations

import json
import os
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
