"""Tests of :mod:`trt_netser.apidump` and of the committed API dumps.

Why: every coverage and fidelity check in the project trusts these dumps, so we check
that (1) the tool reproduces the shared reference dumps, (2) the committed dumps are what
the tool makes from the real bindings today, and (3) the tool also works on the offline
model (the other side of every comparison).
"""

from __future__ import annotations

import enum
import json
import types
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RealRunner
from trt_netser import apidump

DATA_DIR = Path(apidump.__file__).parent / "data" / "trt_api"
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared" / "trt-api"
VERSIONS = (
    "10.0.1",
    "10.3.0",
    "10.8.0.43",
    "10.13.3.9",
    "10.16.1.11",
    "11.0.0.114",
    "11.4.0.106",
)
WITH_DOCSTRINGS = {"10.16.1.11", "11.4.0.106"}


def validate_dump(dump: dict[str, Any], *, docstrings: bool | None = None) -> None:
    """Assert that ``dump`` has the API-dump schema (see :mod:`trt_netser.apidump`)."""
    assert set(dump) == {"aliases", "classes", "constants", "enums", "functions", "version"}
    assert isinstance(dump["version"], str) and dump["version"]
    for name, members in dump["enums"].items():
        assert members, f"enum {name} has no members"
        assert all(isinstance(v, int) and not isinstance(v, bool) for v in members.values())
    enum_names = set(dump["enums"])
    for name, ref in dump["aliases"].items():
        assert isinstance(ref, str) and ref.count(".") == 1, (name, ref)
    for name, value in dump["constants"].items():
        assert isinstance(value, (str, int, float, bool)), name
    for name, doc in dump["functions"].items():
        assert isinstance(doc, str), name
    classes = dump["classes"]
    assert not enum_names & set(classes), "an enum is listed as a class"
    for name, entry in classes.items():
        assert set(entry) <= {"bases", "methods", "properties", "doc", "class_attributes"}
        assert {"bases", "methods", "properties"} <= set(entry), name
        for base in entry["bases"]:
            assert base in classes, f"{name}: base {base} is not a class of the module"
        assert all(v in ("r", "rw") for v in entry["properties"].values()), name
        assert "__init__" in entry["methods"], f"{name} has no __init__"
        assert not set(entry["properties"]) & set(entry["methods"]), name
        if docstrings is not None:
            assert isinstance(entry["methods"], dict) == docstrings, name
            assert ("doc" in entry) == docstrings, name
        for attr, value in entry.get("class_attributes", {}).items():
            assert set(value) in ({"enum"}, {"member"}), (name, attr)


def load(path: Path) -> dict[str, Any]:
    """Read one dump file."""
    return json.loads(path.read_text(encoding="utf-8"))


# -- the tool on a synthetic module: exact format, no dependencies ---------------------


def _fake_module() -> types.ModuleType:
    """A tiny TensorRT-like module exercising every field of the format."""
    mod = types.ModuleType("faketrt")

    class Color(enum.IntEnum):
        """Colors."""

        RED = 0
        GREEN = 1
        VERT = 1  # alias

    class Base:
        """Base doc."""

        class Level(enum.IntEnum):
            LOW = 0
            HIGH = 1

        LOW = Level.LOW
        MAX = 8  # plain constants are not part of the format

        @property
        def name(self) -> str:
            """Read-write."""
            return ""

        @name.setter
        def name(self, value: str) -> None:
            pass

        def get(self) -> int:
            """get(self) -> int"""
            return 0

        def _hidden(self) -> None:
            pass

    class _Private(Base):
        @property
        def size(self) -> int:
            return 0

    class Child(_Private):
        """
        Child doc.
        """

    def helper(x: int) -> int:
        """Helper doc."""
        return x

    mod.__version__ = "1.2.3"  # type: ignore[attr-defined]
    mod.Color = Color  # type: ignore[attr-defined]
    mod.Base = Base  # type: ignore[attr-defined]
    mod._Private = _Private  # type: ignore[attr-defined]
    mod.Child = Child  # type: ignore[attr-defined]
    mod.helper = helper  # type: ignore[attr-defined]
    mod.red = Color.RED  # type: ignore[attr-defined]
    mod.attr = "X"  # type: ignore[attr-defined]
    mod.json = json  # type: ignore[attr-defined]
    return mod


def test_dump_of_synthetic_module_names_only() -> None:
    dump = apidump.dump_module(_fake_module())
    validate_dump(dump, docstrings=False)
    assert dump["version"] == "1.2.3"
    assert dump["enums"] == {"Color": {"GREEN": 1, "RED": 0, "VERT": 1}}
    assert dump["aliases"] == {"red": "Color.RED"}
    assert dump["constants"] == {"attr": "X"}
    assert dump["functions"] == {"helper": ""}
    assert set(dump["classes"]) == {"Base", "Child"}
    child = dump["classes"]["Child"]
    assert child["bases"] == ["Base"]  # the private base is an implementation detail
    assert child["properties"] == {"name": "rw", "size": "r"}  # inherited ones included
    assert child["methods"] == ["Level", "__init__", "get"]  # nested enum is callable
    assert child["class_attributes"] == {
        "LOW": {"member": "Level.LOW"},
        "Level": {"enum": {"HIGH": 1, "LOW": 0}},
    }


def test_dump_of_synthetic_module_with_docstrings() -> None:
    dump = apidump.dump_module(_fake_module(), docstrings=True)
    validate_dump(dump, docstrings=True)
    assert dump["functions"] == {"helper": "Helper doc."}
    child = dump["classes"]["Child"]
    assert child["doc"] == "Child doc."
    assert child["methods"]["get"] == "get(self) -> int"


def test_cli_writes_canonical_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "faketrt", _fake_module())
    out = tmp_path / "sub" / "dump.json"
    assert apidump.main(["--module", "faketrt", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text == apidump.dumps(apidump.dump_module("faketrt"))
    assert text == json.dumps(json.loads(text), indent=1, sort_keys=True)


# -- the committed dumps ----------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_committed_dump_is_valid(version: str) -> None:
    dump = load(DATA_DIR / f"{version}.json")
    validate_dump(dump, docstrings=version in WITH_DOCSTRINGS)
    assert dump["version"] == version


@pytest.mark.parametrize("version", VERSIONS)
def test_committed_dump_matches_shared_reference(version: str) -> None:
    """Our tool's dumps agree with the reference dumps in ``../shared/trt-api``."""
    ref = SHARED_DIR / f"{version}.json"
    if not ref.is_file():
        pytest.skip(f"reference dump {ref} is not available")
    ours = (DATA_DIR / f"{version}.json").read_text(encoding="utf-8")
    expected = ref.read_text(encoding="utf-8")
    if ours != expected:
        a, b = json.loads(ours), json.loads(expected)
        diffs = [
            f"{field}.{name}"
            for field in sorted(set(a) | set(b))
            for name in sorted(set(a.get(field) or {}) | set(b.get(field) or {}))
            if isinstance(a.get(field), dict) and (a[field].get(name) != b[field].get(name))
        ]
        pytest.fail(f"{version}: dump differs from the reference at {diffs[:20]}")


@pytest.mark.real_trt
def test_tool_reproduces_committed_dump_from_real_bindings(
    real_trt: RealRunner, tmp_path: Path
) -> None:
    """The committed 10.16.1.11 dump is exactly what apidump makes from the installed wheel."""
    out = tmp_path / "real.json"
    proc = real_trt(
        "from trt_netser.apidump import main; "
        f"main(['--module', 'tensorrt_bindings', '--docstrings', '-o', {str(out)!r}])"
    )
    assert proc.returncode == 0, proc.stderr
    version = load(out)["version"]
    if version != "10.16.1.11":
        pytest.skip(f"installed bindings are {version}, the committed dump is 10.16.1.11")
    assert out.read_text(encoding="utf-8") == (DATA_DIR / "10.16.1.11.json").read_text(
        encoding="utf-8"
    )


# -- the tool on the offline model -------------------------------------------------------


def test_dump_of_offline_module_is_valid() -> None:
    """apidump works on ``trt_netser.offline`` and yields a well-formed 10.16.1.11 dump."""
    offline = pytest.importorskip("trt_netser.offline", reason="trt_netser.offline missing")
    for docstrings in (False, True):
        dump = apidump.dump_module(offline, docstrings=docstrings)
        validate_dump(dump, docstrings=docstrings)
        assert dump["version"] == "10.16.1.11"
        json.loads(apidump.dumps(dump))  # serialisable
