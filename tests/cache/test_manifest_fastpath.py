"""The manifest fast path (``_conforms``) accepts only what ``jsonschema`` accepts.

``validate_manifest`` skips ``jsonschema`` when ``_conforms`` is sure a manifest is valid; any
doubt goes to the validator, which then says what is wrong. So the outcome of
``validate_manifest`` (valid, or the ``ManifestError`` text) must equal the validator's own
on every input, valid or hostile.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trt_netser.cache._types import (
    MANIFEST_SCHEMA,
    ManifestError,
    _conforms,
    _validator,
    validate_manifest,
)

VALID: dict[str, Any] = {
    "format": "trt-netser-engine-cache",
    "format_version": 1,
    "key": "v1/trt-10.16.1.11/sm90/" + "a" * 64 + "/" + "b" * 64,
    "plan": {"file": "plan-" + "c" * 16, "size": 123, "blake3": "d" * 64},
    "created": 1732200000.1,
    "last_used": 1732200000,
    "build_seconds": 412.7,
    "trt_netser_version": "0.1.0",
    "key_components": {"schema": {"v": 1}},
    "extras": {"trt_netser.pipeline": {"format": 1, "inventory": [[1, "x"]]}},
    "future_field": [1, 2, 3],
}


def _by_jsonschema(manifest: Any) -> str | None:
    """What the validator alone says: None (valid) or the ``ManifestError`` text."""
    error = next(iter(_validator().iter_errors(manifest)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"manifest field {where}: {str(error.message)[:200]}"


def _outcome(manifest: Any) -> str | None:
    try:
        validate_manifest(manifest)
    except ManifestError as exc:
        return str(exc)
    return None


#: (field path, value) edits of VALID: each valid, invalid, or at a JSON Schema corner.
EDITS: list[tuple[tuple[str, ...], Any]] = [
    (("format",), "trt-netser-engine-cache "),
    (("format",), 1),
    (("format_version",), 1.0),
    (("format_version",), True),
    (("format_version",), 0),
    (("format_version",), 2),
    (("key",), ""),
    (("key",), "k" * 512),
    (("key",), "k" * 513),
    (("key",), None),
    (("plan",), None),
    (("plan",), []),
    (("plan", "file"), "plan-x\n"),  # re.search: "$" matches before a final newline
    (("plan", "file"), "plan-a/b"),
    (("plan", "file"), "plan-a\\b"),
    (("plan", "file"), "xplan-a"),
    (("plan", "file"), "plan-" + "y" * 201),
    (("plan", "size"), 5.0),
    (("plan", "size"), -1),
    (("plan", "size"), 2**63),
    (("plan", "size"), 2**63 - 1),
    (("plan", "size"), False),
    (("plan", "blake3"), "D" * 64),
    (("plan", "blake3"), "d" * 64 + "\n"),
    (("plan", "blake3"), "d" * 63),
    (("created",), -0.5),
    (("created",), 10**400),
    (("created",), 253402300799),
    (("created",), 253402300799.5),
    (("created",), "now"),
    (("created",), True),
    (("last_used",), None),
    (("build_seconds",), None),
    (("build_seconds",), "slow"),
    (("build_seconds",), -1),
    (("build_seconds",), 1e9 + 1),
    (("trt_netser_version",), None),
    (("trt_netser_version",), 1),
    (("key_components",), None),
    (("key_components",), "abc"),
    (("extras",), "abc"),
    (("extras",), []),
    (("extras",), None),
]


def _edited(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(VALID)
    target = manifest
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return manifest


@pytest.mark.parametrize(
    ("path", "value"), EDITS, ids=[f"{'/'.join(p)}={v!r:.30}" for p, v in EDITS]
)
def test_edits_give_the_validators_outcome(path: tuple[str, ...], value: Any) -> None:
    manifest = _edited(path, value)
    assert _outcome(manifest) == _by_jsonschema(manifest)


@pytest.mark.parametrize("name", ["format", "format_version", "key", "plan"])
def test_a_missing_required_field_is_refused_by_the_validator(name: str) -> None:
    manifest = copy.deepcopy(VALID)
    del manifest[name]
    assert not _conforms(manifest, MANIFEST_SCHEMA)
    assert _outcome(manifest) == _by_jsonschema(manifest) is not None


def test_the_valid_manifest_takes_the_fast_path() -> None:
    assert _conforms(VALID, MANIFEST_SCHEMA)
    assert _outcome(VALID) is None


def test_unknown_keywords_defer_to_the_validator() -> None:
    """A schema keyword the fast path does not implement never counts as satisfied."""
    assert not _conforms("abc", {"type": "string", "format": "date"})
    assert not _conforms({"a": 1}, {"type": "object", "additionalProperties": False})
    assert not _conforms(1, {"enum": [1]})


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_HEXISH = st.text(alphabet="0123456789abcdefABC\n/", min_size=60, max_size=66)
_FIELD_VALUES = {
    "format": st.sampled_from(["trt-netser-engine-cache", "other"]) | _JSON,
    "format_version": st.integers(-2, 3) | st.floats(0, 3) | st.booleans(),
    "key": st.text(max_size=3) | st.just("k" * 513) | _JSON,
    "created": st.integers(-5, 10**13) | st.floats(-5, 3e11) | _JSON,
    "last_used": st.integers(-5, 10**13) | st.floats(-5, 3e11) | _JSON,
    "build_seconds": st.none() | st.floats(-1, 2e9) | st.integers(-1, 2 * 10**9) | _JSON,
    "trt_netser_version": st.none() | st.text(max_size=5) | _JSON,
    "key_components": st.none() | st.dictionaries(st.text(max_size=3), _JSON, max_size=2) | _JSON,
    "extras": st.none() | st.dictionaries(st.text(max_size=3), _JSON, max_size=2) | _JSON,
}
_PLAN_VALUES = {
    "file": st.from_regex(r"plan-[a-z/\\\n]{0,4}", fullmatch=True) | _JSON,
    "size": st.integers(-2, 2**64) | st.floats(-1, 10) | st.booleans() | _JSON,
    "blake3": _HEXISH | _JSON,
}


@st.composite
def _manifests(draw: st.DrawFn) -> Any:
    """Manifests near VALID: each field kept, dropped or replaced (with JSON of any type)."""
    if draw(st.integers(0, 20)) == 0:
        return draw(_JSON)  # not even an object
    manifest: dict[str, Any] = copy.deepcopy(VALID)
    for name, values in _FIELD_VALUES.items():
        action = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
        if action == "drop":
            manifest.pop(name, None)
        elif action == "replace":
            manifest[name] = draw(values)
    plan = draw(st.sampled_from(["edit", "edit", "drop", "replace"]))
    if plan == "drop":
        del manifest["plan"]
    elif plan == "replace":
        manifest["plan"] = draw(_JSON)
    else:
        for name, values in _PLAN_VALUES.items():
            action = draw(st.sampled_from(["keep", "drop", "replace"]))
            if action == "drop":
                del manifest["plan"][name]
            elif action == "replace":
                manifest["plan"][name] = draw(values)
    return manifest


@settings(max_examples=400, deadline=None)
@given(_manifests())
def test_generated_manifests_give_the_validators_outcome(manifest: Any) -> None:
    if _conforms(manifest, MANIFEST_SCHEMA):
        assert _by_jsonschema(manifest) is None
    if isinstance(manifest, dict):
        assert _outcome(manifest) == _by_jsonschema(manifest)


def test_a_valid_manifest_does_not_import_jsonschema(tmp_path: Any) -> None:
    """Reading a valid entry in a fresh process leaves ``jsonschema`` unimported (the
    validator is only needed to explain a manifest the fast path is unsure of)."""
    (tmp_path / "m.json").write_text(json.dumps(VALID))
    code = (
        "import sys, pathlib\n"
        "from trt_netser.cache._types import parse_manifest\n"
        f"parse_manifest(pathlib.Path({str(tmp_path / 'm.json')!r}).read_bytes())\n"
        "print('jsonschema' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
