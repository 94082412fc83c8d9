"""A bounded, seeded chaos run of the engine cache (the long run is bench/bench_cache_chaos.py).

Writers are SIGKILLed at random while gc and verify loops race them on keys that share
parent directories, hostile files are planted, and the internal directories start out as
symlinks to a user's directory. Nothing may be lost, nothing wrong may be returned, and
nothing may be left behind (docs/cache.md, "Faults").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_cache_chaos import run_chaos


@pytest.mark.slow
def test_chaos_loses_nothing_returns_nothing_wrong_leaves_nothing(tmp_path: Path) -> None:
    figures = run_chaos(tmp_path / "cache", seed=20261204, seconds=20.0, writers=3)
    print(figures.line())  # shown with pytest -s / -rA: the figures this run reached
    assert figures.kills >= 10 and figures.races >= 10 and figures.corruptions >= 10
    assert figures.commits >= 50 and figures.reads >= 1
    assert figures.quarantined >= 1  # hostile entries were found and moved aside
    assert (figures.lost, figures.wrong, figures.leftovers) == (0, 0, 0), figures.line()
