"""Many processes: SIGKILLed writers leave a consistent cache; racing builders build once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trt_netser.cache import EngineCache

from ._worker import plan_for

WORKER = str(Path(__file__).with_name("_worker.py"))
REPO = str(Path(__file__).resolve().parents[2])


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, WORKER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _check_consistent(cache: EngineCache) -> int:
    """Every visible entry verifies and holds exactly the plan its writer published."""
    seen = 0
    for info in cache.entries():
        entry = cache.get(info.key)
        if entry is None:  # replaced or evicted in between is fine, corrupt is not
            assert not cache.stats().quarantined, f"{info.key} was corrupt"
            continue
        seed = entry.extras["seed"]
        assert entry.plan == plan_for(seed, entry.size), info.key
        seen += 1
    return seen


@pytest.mark.slow
def test_sigkilled_writers_leave_old_or_new_state(tmp_path: Path) -> None:
    root = tmp_path / "c"
    cache = EngineCache(root)
    rng = random.Random(1234)
    deadline = time.monotonic() + 8.0
    iterations = 0
    while iterations < 6 and time.monotonic() < deadline:
        writers = [_spawn("writer", str(root), str(iterations * 10 + i)) for i in range(2)]
        time.sleep(rng.uniform(0.4, 0.9))  # import + several publishes
        _check_consistent(cache)  # lock-free reads while writers are publishing
        time.sleep(rng.uniform(0.0, 0.3))
        for proc in writers:
            proc.send_signal(signal.SIGKILL)
        for proc in writers:
            proc.wait()
            assert proc.returncode == -signal.SIGKILL, proc.stderr.read()  # type: ignore[union-attr]
        _check_consistent(cache)
        iterations += 1
    assert iterations >= 3
    assert _check_consistent(cache) >= 1
    report = cache.verify()
    assert report.clean, report.quarantined
    gc = cache.gc()
    assert gc.evicted == []
    assert list((root / ".staging").iterdir()) == []  # strays of dead writers are gone
    for info in cache.entries():
        names = sorted(p.name for p in (root / "entries" / info.location).iterdir())
        assert names == sorted(["last_used", "manifest.json", f"plan-{info.digest}"])[: len(names)]
        assert "manifest.json" in names and f"plan-{info.digest}" in names
    assert cache.stats().quarantined == 0


@pytest.mark.slow
def test_racing_get_or_build_builds_once(tmp_path: Path) -> None:
    root = tmp_path / "c"
    count = tmp_path / "builds.txt"
    go = tmp_path / "go"
    procs = [_spawn("racer", str(root), str(count), str(go)) for _ in range(6)]
    time.sleep(1.0)  # let them import and wait at the start line
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode().split())
    builds = count.read_text().split()
    assert len(builds) == 1, builds
    assert len({tuple(o) for o in outputs}) == 1  # everyone got the identical entry
    entry = EngineCache(root).get("race/key")
    assert entry is not None and entry.plan == plan_for(int(builds[0]), 2 << 20)
    assert entry.digest == outputs[0][0]
