"""A representative few runs in a real process (each costs ~0.5 s): the console script,
``python -m``, exit codes, stderr, and user code that does ``import tensorrt``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from tests.cli.conftest import run_cli
from trt_netser.cli import main


def test_demo_runs_without_tests_on_the_path(tmp_path: Path) -> None:
    proc = run_cli("demo", cwd=tmp_path)  # cwd outside the repo: tests/ is not importable
    assert proc.returncode == 0, proc.stderr
    assert "same key" in proc.stdout and "different key" in proc.stdout
    assert "\x1b[" not in proc.stdout


def test_console_script_error_is_one_line_on_stderr(tmp_path: Path) -> None:
    proc = run_cli("hash", f"{tmp_path}/missing.py:build", module=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        f"trt-netser: error: {tmp_path}/missing.py: no such file (--debug shows the traceback)\n"
    )


def test_unmodified_build_code_and_diff_exit_codes(model: Path, tmp_path: Path) -> None:
    dump = tmp_path / "a.tnsd"
    proc = run_cli("dump", f"{model}:build", "-o", dump, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["backend"] == "offline"  # `import tensorrt` got offline
    same = run_cli("diff", dump, f"{model}:build_tuned", cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    changed = run_cli("diff", dump, f"{model}:build_axis", cwd=tmp_path)
    assert changed.returncode == 1 and "first divergence" in changed.stdout
    failing = run_cli("diff", dump, f"{model}:fails", cwd=tmp_path)
    assert failing.returncode == 2 and "raised ValueError" in failing.stderr
    assert "Traceback" not in failing.stderr


def test_debug_environment_variable_shows_traceback(model: Path) -> None:
    proc = run_cli("hash", f"{model}:fails", env={"TRT_NETSER_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_colour_only_when_forced_and_never_under_no_color(model: Path) -> None:
    runner = CliRunner()
    spec = f"{model}:fails"
    colour = re.compile(r"\x1b\[[0-9;]*m")  # SGR sequences (cursor moves are not colour)
    forced = runner.invoke(main, ["hash", spec], env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert colour.search(forced.stderr)
    plain = runner.invoke(main, ["hash", spec], env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not colour.search(plain.stderr) and "raised ValueError" in plain.stderr
