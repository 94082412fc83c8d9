"""The demo proves its fine-tune by execution: the hit is refit and computes what a fresh
build computes (tests/cli/test_schema_cache_demo.py covers the rest of the demo)."""

from __future__ import annotations

import json

from tests.cli.conftest import Invoke
from trt_netser.cli.demo_run import finetune_check


def test_finetune_check_runs_the_refit_hit_and_a_fresh_build() -> None:
    check = finetune_check()
    assert (check.first, check.second) == ("miss-built", "hit-refit")
    assert check.outputs_equal and check.differs_from_base
    assert check.shape == (2, 16, 64)


def test_demo_reports_the_execution_check(cli: Invoke) -> None:
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    assert "fine-tune hit-refit" in result.stdout
    assert "equal a fresh build's bit for bit" in result.stdout
    doc = json.loads(cli("demo", "--json").stdout)
    assert doc["finetuned"]["cache"] == ["miss-built", "hit-refit"]
    assert doc["finetuned"]["outputs_equal_fresh_build"] is True
