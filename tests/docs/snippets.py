"""Find, run and check the fenced code blocks of README.md and docs/*.md.

Rules (docs/architecture.md "Docs that run" states them for writers):

- every fence has a language: ``python`` blocks are executed (one namespace per file, in
  order), ``sh`` blocks run line by line with bash, ``console`` blocks run each ``$ ``
  command and compare its output with the lines below it, ``json`` blocks must parse,
  ``text`` blocks (diagrams, layouts, schemas with comments) are prose;
- ``<!-- docs-test: skip REASON -->`` on the line before a fence: not run, with a reason;
- ``<!-- docs-test: ci -->`` before an ``sh``/``console`` block: install commands that
  ``.ci/run`` runs verbatim in a fresh virtualenv (the test checks that it does).

Commands run in one scratch directory per file, holding ``model.py`` from docs/cli.md,
with ``TRT_NETSER_CACHE`` in it and ``NO_COLOR=1``; ``tensorrt`` is the offline model
when real TensorRT cannot be imported (as ``--backend auto`` does). Console output is
stdout followed by stderr; ``(exit status N)`` gives a non-zero status; ``... (N more
lines)`` elides N lines. Times and the scratch path are normalized before comparing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = ("python", "sh", "console", "json", "text")
DOC_ROOT = "/tmp/docrun"  # the scratch path as printed in the docs

_FENCE = re.compile(r"^```(\S*)\n(.*?)^```\n", re.S | re.M)
_MARKER = re.compile(r"<!-- docs-test: (skip|ci)\b\s*(.*?)\s*-->\s*$")
_ELIDED = re.compile(r"^\.\.\. \((\d+) more lines\)$")
_STATUS = re.compile(r"^\(exit status (\d+)\)$")
_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(\+00:00)?")
_SECONDS = re.compile(r"\b\d+\.\ds\b")
_PHASE = re.compile(r"\b\d+(\.\d+)? ms\b|\(total \d+\.\d+ s\)")  # measured timings
_WRITER = re.compile(r"^layer writer: pure Python .*$", re.M)


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    body: str
    marker: str | None  # "skip" / "ci" / None
    reason: str
    start: int  # offsets of the body in the file text
    end: int

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        found.append(
            Block(
                path=path,
                line=text[: m.start()].count("\n") + 1,
                language=m.group(1),
                body=m.group(2),
                marker=marker.group(1) if marker else None,
                reason=marker.group(2) if marker else "",
                start=m.start(2),
                end=m.end(2),
            )
        )
    return found


def fixture_sources() -> dict[str, str]:
    """The files docs/cli.md shows with ``$ cat NAME`` (``model.py`` first): the docs' fixtures."""
    found: dict[str, str] = {}
    for block in blocks(ROOT / "docs" / "cli.md"):
        m = re.match(r"\$ cat ([\w.-]+)\n", block.body)
        if block.language == "console" and m:
            found[m.group(1)] = block.body[m.end() :]
    if "model.py" not in found:
        raise AssertionError("docs/cli.md has no `$ cat model.py` block")
    return found


def model_source() -> str:
    """The ``model.py`` shown in docs/cli.md (``$ cat model.py``), the docs' main fixture."""
    return fixture_sources()["model.py"]


def environment(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "NO_COLOR": "1",
            "TRT_NETSER_CACHE": str(scratch / "cache"),
            "TRT_NETSER_LIBRARY_DIGESTS": "",
            "COLUMNS": "200",
            "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            ),
        }
    )
    for name in ("TRT_NETSER_DEBUG", "FORCE_COLOR"):
        env.pop(name, None)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def scratch_dir(tmp: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    for name, source in fixture_sources().items():
        (tmp / name).write_text(source)
    return tmp


def normalize(text: str, scratch: Path) -> str:
    text = text.replace(str(scratch), DOC_ROOT)
    text = _TIME.sub("<time>", text)
    # --version's writer line depends on the install (a compiler or not), not on the docs
    text = _WRITER.sub("layer writer: compiled (trt_netser._layerwriter)", text)
    text = _PHASE.sub("<t>", text)
    return _SECONDS.sub("<s>", text)


@dataclass
class Command:
    command: str
    expected: list[str]  # output lines as documented (may contain one elision line)
    status: int


def console_commands(body: str) -> list[Command]:
    commands: list[Command] = []
    for line in body.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            commands.append(Command(line[2:], [], 0))
        elif not commands:
            raise AssertionError(f"console block does not start with a `$ ` command: {line!r}")
        elif (status := _STATUS.match(line)) is not None:
            commands[-1].status = int(status.group(1))
        else:
            commands[-1].expected.append(line)
    return commands


def run_command(command: str, scratch: Path, env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout
    if proc.stderr:
        out += ("" if not out or out.endswith("\n") else "\n") + proc.stderr
    return proc.returncode, out


def matches(expected: list[str], actual: list[str]) -> bool:
    """Documented lines against real ones; one ``... (N more lines)`` elides N lines."""
    for i, line in enumerate(expected):
        elided = _ELIDED.match(line)
        if elided:
            head, tail = expected[:i], expected[i + 1 :]
            n = int(elided.group(1))
            return (
                len(actual) == len(head) + n + len(tail)
                and actual[: len(head)] == head
                and actual[len(actual) - len(tail) :] == tail
            )
    return expected == actual


def rendered(expected: list[str], actual: list[str]) -> list[str]:
    """``actual`` written the way ``expected`` was (same elision), for --update."""
    for i, line in enumerate(expected):
        if _ELIDED.match(line):
            head, tail = i, len(expected) - i - 1
            if len(actual) > head + tail:
                hidden = len(actual) - head - tail
                return [*actual[:head], f"... ({hidden} more lines)", *actual[len(actual) - tail :]]
    return actual


def run_python(block: Block, namespace: dict[str, object], scratch: Path) -> None:
    """Execute a python block in ``namespace`` from ``scratch``, offline if need be."""
    from trt_netser.cli.spec import use_backend

    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    os.chdir(scratch)
    os.environ.update(environment(scratch))
    try:
        with use_backend("auto"):
            code = compile(block.body, block.where, "exec")
            exec(code, namespace)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def update(path: Path, scratch: Path) -> int:
    """Rewrite the output of every console block of ``path`` with real output."""
    text = path.read_text()
    env = environment(scratch)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    pieces, last, changed = [], 0, 0
    for block in blocks(path):
        if block.marker is not None:
            continue
        if block.language == "python":
            run_python(block, namespace, scratch)
            continue
        if block.language != "console":
            continue
        lines = []
        for command in console_commands(block.body):
            status, out = run_command(command.command, scratch, env)
            actual = out.replace(str(scratch), DOC_ROOT).rstrip("\n").split("\n") if out else []
            if not matches(
                [normalize(x, scratch) for x in command.expected],
                [normalize(x, scratch) for x in actual],
            ):
                changed += 1
            lines += [f"$ {command.command}", *rendered(command.expected, actual)]
            if status:
                lines.append(f"(exit status {status})")
        pieces += [text[last : block.start], "\n".join(lines) + "\n"]
        last = block.end
    pieces.append(text[last:])
    path.write_text("".join(pieces))
    return changed


if __name__ == "__main__":  # python -m tests.docs.snippets --update docs/cli.md
    import tempfile

    if sys.argv[1:2] != ["--update"] or len(sys.argv) < 3:
        sys.exit("usage: python -m tests.docs.snippets --update DOC.md...")
    for name in sys.argv[2:]:
        with tempfile.TemporaryDirectory() as tmp:
            n = update(Path(name).resolve(), scratch_dir(Path(tmp)))
            print(f"{name}: {n} command(s) had different output")
