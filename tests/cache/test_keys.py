"""Key validation: only safe relative paths, clear errors naming the bad key or segment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trt_netser.cache import CacheKeyLike, EngineCache, UnsafePathError, validate_key

GOOD = "v1/trt-10.16.1.11/sm90/" + "a" * 64 + "/" + "b" * 64


class FakeKey:
    """Stands in for trt_netser.key.CacheKey (written elsewhere)."""

    def __init__(self, path: str = GOOD) -> None:
        self.path = path

    def __str__(self) -> str:
        return self.path

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": {"digest": "v1", "explanation": "key schema"},
            "tensorrt": {"digest": "10.16.1.11", "explanation": "TensorRT version"},
            "network": {"digest": "a" * 64, "explanation": "network hash"},
        }


@pytest.mark.parametrize(
    "key", [GOOD, "a", "A.b_c+d-e/0", "x/" * 15 + "y", "a" * 128, "v1/a..b", "v1/a.."]
)
def test_valid_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


def test_key_objects_use_str_and_satisfy_protocol() -> None:
    key = FakeKey()
    assert isinstance(key, CacheKeyLike)
    assert validate_key(key) == GOOD


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("\\\\server\\share", "relative"),
        ("C:/x", "relative"),
        ("../x", "'..'"),
        ("a/../../b", "'..'"),
        ("a/./b", "'.'"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("a\\..\\b", "'a\\\\..\\\\b'"),
        ("a/b\x00c", "'b\\x00c'"),
        ("a/.hidden", "'.hidden'"),
        ("a/b c", "'b c'"),
        ("a/b@", "'b@'"),
        ("x/" * 16 + "y", "segments"),
        ("a" * 129, "longer than"),
        ("a/" * 300 + "b", "characters"),
    ],
)
def test_bad_keys_raise_value_error_naming_the_problem(key: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="invalid cache key") as info:
        validate_key(key)
    assert fragment in str(info.value)


@pytest.mark.parametrize("key", [None, b"v1/a", 42, ["a"], object()])
def test_wrong_types_raise_type_error(key: object) -> None:
    with pytest.raises(TypeError, match="cache key must be"):
        validate_key(key)


_segment_chars = st.sampled_from([*"ab.-_/\\\x00:~@ ", "..", "../", "/.."])


@settings(max_examples=300, deadline=None)
@given(st.lists(_segment_chars, min_size=1, max_size=12).map("".join))
def test_accepted_keys_never_escape(text: str) -> None:
    """Whatever is accepted stays strictly below the entries directory."""
    try:
        key = validate_key(text)
    except ValueError:
        return
    parts = key.split("/")
    assert not key.startswith("/")
    assert all(p and not p.startswith(".") and "\\" not in p and "\x00" not in p for p in parts)
    root = Path("/cache/entries")
    resolved = Path(os.path.normpath(root.joinpath(*parts)))
    assert root in resolved.parents


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["..", ".", "", "/", "a", "b"]), min_size=1, max_size=6),
)
def test_traversal_attempts_are_rejected(parts: list[str]) -> None:
    text = "/".join(parts)
    escaping = any(p in ("..", ".", "") for p in text.split("/"))
    if escaping:
        with pytest.raises(ValueError):
            validate_key(text)
    else:
        assert validate_key(text) == text


def test_cache_methods_validate_keys(cache: EngineCache) -> None:
    for call in (
        lambda: cache.get("../x"),
        lambda: cache.put("../x", b"plan"),
        lambda: cache.contains("/abs"),
        lambda: cache.remove("a/../../b"),
        lambda: cache.path_for("a//b"),
        lambda: cache.get_or_build("..", lambda: b"x"),
    ):
        with pytest.raises(ValueError, match="invalid cache key"):
            call()
    assert not list(cache.root.rglob("*x*")) if cache.root.exists() else True


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "cache")
    outside = tmp_path / "outside"
    outside.mkdir()
    cache.put("v1/inside", b"ok")
    # Someone plants a symlink inside the cache pointing out of it.
    (cache.root / "entries" / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="outside the root"):
        cache.path_for("evil/x")
    entry = cache.put("evil/x", b"secret")  # degrades: logged, not written outside
    assert entry.stored is False
    assert list(outside.iterdir()) == []
    assert cache.get("evil/x") is None
    strict = EngineCache(cache.root, strict=True)
    with pytest.raises(Exception, match="outside the root"):
        strict.put("evil/x", b"secret")
    # An entry dir that is itself a symlink to a copy outside the root is never read.
    real = cache.path_for("v1/inside")
    assert isinstance(real, Path)
    (outside / "copy@").mkdir()
    for item in real.iterdir():
        (outside / "copy@" / item.name).write_bytes(item.read_bytes())
    (cache.root / "entries" / "v1" / "stolen@").symlink_to(outside / "copy@")
    assert cache.get("v1/stolen") is None
    assert [e.key for e in cache.entries()] == ["v1/inside"]
