"""Every code block of README.md and docs/*.md runs (rules: tests/docs/snippets.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.docs.snippets import (
    DOCS,
    LANGUAGES,
    ROOT,
    Block,
    blocks,
    console_commands,
    environment,
    matches,
    normalize,
    run_command,
    run_python,
    scratch_dir,
)


def _ci_lines() -> set[str]:
    return {line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()}


def _check_ci(block: Block) -> None:
    ci = _ci_lines()
    for line in block.body.splitlines():
        command = line.removeprefix("$ ").split("#", 1)[0].strip()
        if command:
            assert command in ci, f"{block.where}: .ci/run does not run {command!r}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_blocks_run(path: Path, tmp_path: Path) -> None:
    scratch = scratch_dir(tmp_path)
    env = environment(scratch)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(path):
        assert block.language in LANGUAGES, (
            f"{block.where}: a fence needs a language, one of {', '.join(LANGUAGES)}"
        )
        if block.marker == "skip":
            assert block.reason, f"{block.where}: docs-test: skip needs a reason"
            continue
        if block.marker == "ci":
            _check_ci(block)
            continue
        if block.language == "python":
            run_python(block, namespace, scratch)
        elif block.language == "json":
            json.loads(block.body)
        elif block.language == "sh":
            status, out = run_command("set -e\n" + block.body, scratch, env)
            assert status == 0, f"{block.where}: exit status {status}\n{out}"
        elif block.language == "console":
            for command in console_commands(block.body):
                status, out = run_command(command.command, scratch, env)
                assert status == command.status, (
                    f"{block.where}: `{command.command}` exited {status}, documented "
                    f"{command.status}\n{out}"
                )
                actual = (
                    [normalize(x, scratch) for x in out.rstrip("\n").split("\n")] if out else []
                )
                expected = [normalize(x, scratch) for x in command.expected]
                assert matches(expected, actual), (
                    f"{block.where}: `{command.command}` printed something else; rerun "
                    f"`python -m tests.docs.snippets --update {path.relative_to(ROOT)}`\n"
                    + "\n".join(actual)
                )


def test_markers_are_few() -> None:
    """Blocks that cannot run here are explicit, explained and few."""
    skipped = [b for p in DOCS for b in blocks(p) if b.marker == "skip"]
    assert all(b.reason for b in skipped)
    assert len(skipped) <= 5, [b.where for b in skipped]


def test_elision_and_status_parsing() -> None:
    [cmd] = console_commands("$ x\na\n... (2 more lines)\nd\n(exit status 1)\n")
    assert cmd.status == 1
    assert matches(cmd.expected, ["a", "b", "c", "d"])
    assert not matches(cmd.expected, ["a", "b", "d"])
    assert not matches(cmd.expected, ["a", "b", "c", "e"])


def _resolves(dotted: str) -> bool:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def test_dotted_names_in_docs_exist() -> None:
    """`trt_netser.module.NAME` in the docs' prose names something that exists."""
    import re

    wrong = []
    for path in DOCS:
        for m in re.finditer(r"`(trt_netser(?:\.[A-Za-z_]\w*)+)", path.read_text()):
            if not _resolves(m.group(1)):
                wrong.append(f"{path.relative_to(ROOT)}: {m.group(1)}")
    assert not wrong, wrong
