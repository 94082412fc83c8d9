"""Introspect a TensorRT-like Python module into the JSON API-dump format.

Why: trt-netser must only touch names that exist in TensorRT's public Python API, and
its pure-Python model (``trt_netser.offline``) must expose exactly that API. Both claims
are checked against API dumps of the official bindings wheels. This module makes those
dumps, and it works the same on the real compiled module (``tensorrt`` or
``tensorrt_bindings``, loaded with stub libraries where the native library is missing)
and on ``trt_netser.offline``, so the two can be compared field by field.

The format (one JSON object, ``json.dumps(..., indent=1, sort_keys=True)``):

- ``version``: the module's ``__version__``.
- ``enums``: module-level enum types (classes with ``__members__``), member name ->
  integer value; aliases appear as two names with one value.
- ``classes``: every other public module-level class, with

  - ``bases``: the classes of the module (reachable by their name on the module) in the
    class's MRO, nearest first; implementation bases (``pybind11_object``, private
    helpers) are left out;
  - ``properties``: every public ``property`` reachable on the class, inherited ones
    included, ``"rw"`` if it has a setter, else ``"r"``;
  - ``methods``: every public callable attribute plus ``__init__`` (a sorted list of
    names, or, with docstrings, name -> stripped docstring);
  - ``doc`` (with docstrings only): the stripped class docstring;
  - ``class_attributes`` (only when non-empty): nested enums (``{"enum": {...}}``) and
    enum members reachable on the class (``{"member": "Severity.WARNING"}``).

- ``functions``: public module-level callables that are not classes, name -> stripped
  docstring (``""`` without docstrings).
- ``aliases``: public module-level names bound to an enum member, e.g. ``float32`` ->
  ``"DataType.FLOAT"``.
- ``constants``: public module-level ``str``/``int``/``float``/``bool`` values.

Module objects, private names and dunders (other than ``__init__``) are ignored. Static
class constants that are not enums (``Dims.MAX_DIMS``) are not part of the format.

Usage: ``python -m trt_netser.apidump --module tensorrt_bindings -o FILE [--docstrings]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "dump_module",
    "dumps",
    "is_enum_member",
    "is_enum_type",
    "main",
]

_CONSTANT_TYPES = (str, int, float, bool)


def is_enum_type(obj: object) -> bool:
    """Whether ``obj`` is an enum type: a class with a ``__members__`` mapping.

    pybind11 enums are not ``enum.Enum`` subclasses; ``__members__`` is what both they
    and Python enums have in common, so it is the test the reference dumps use.
    """
    if not isinstance(obj, type):
        return False
    try:
        members = obj.__members__  # type: ignore[attr-defined]
    except Exception:
        return False
    return hasattr(members, "items")


def is_enum_member(obj: object) -> bool:
    """Whether ``obj`` is an instance of an enum type (see :func:`is_enum_type`)."""
    return not isinstance(obj, type) and is_enum_type(type(obj))


def _enum_members(enum_type: type) -> dict[str, int]:
    """Member name -> integer value, aliases included (``__members__`` lists them)."""
    members: dict[str, int] = {}
    for name, member in enum_type.__members__.items():  # type: ignore[attr-defined]
        members[str(name)] = int(member)
    return dict(sorted(members.items()))


def _member_ref(member: object) -> str:
    """``"EnumType.NAME"`` for an enum member, the form the dumps use for aliases."""
    return f"{type(member).__name__}.{member.name}"  # type: ignore[attr-defined]


def _doc(obj: object) -> str:
    """The stripped docstring of ``obj``, or ``""``; read defensively."""
    try:
        doc = obj.__doc__
    except Exception:
        return ""
    return doc.strip() if isinstance(doc, str) else ""


def _is_public(name: str) -> bool:
    """Names the dump format records: no leading underscore."""
    return not name.startswith("_")


def _safe_getattr(obj: object, name: str) -> tuple[bool, Any]:
    """``getattr`` that reports failure instead of raising (some attributes raise)."""
    try:
        return True, getattr(obj, name)
    except Exception:
        return False, None


def _class_entry(cls: type, module: types.ModuleType, docstrings: bool) -> dict[str, Any]:
    """The dump entry of one class (see the module docstring for the fields)."""
    bases = [
        base.__name__
        for base in cls.__mro__[1:]
        if _is_public(base.__name__) and getattr(module, base.__name__, None) is base
    ]
    properties: dict[str, str] = {}
    methods: dict[str, str] = {}
    class_attributes: dict[str, dict[str, Any]] = {}
    for name in sorted(dir(cls)):
        if not (_is_public(name) or name == "__init__"):
            continue
        ok, value = _safe_getattr(cls, name)
        if not ok:
            continue
        if isinstance(value, property):
            properties[name] = "rw" if value.fset is not None else "r"
            continue
        if is_enum_type(value):
            class_attributes[name] = {"enum": _enum_members(value)}
        elif is_enum_member(value):
            class_attributes[name] = {"member": _member_ref(value)}
        if callable(value):
            methods[name] = _doc(value)
    entry: dict[str, Any] = {
        "bases": bases,
        "methods": methods if docstrings else sorted(methods),
        "properties": properties,
    }
    if docstrings:
        entry["doc"] = _doc(cls)
    if class_attributes:
        entry["class_attributes"] = class_attributes
    return entry


def dump_module(module: types.ModuleType | str, *, docstrings: bool = False) -> dict[str, Any]:
    """Introspect ``module`` (a module or an importable name) into an API dump.

    ``docstrings`` selects the richer form: method and function docstrings and class
    ``doc`` fields. The result is plain JSON data; see :func:`dumps` for the exact text.
    """
    if isinstance(module, str):
        module = importlib.import_module(module)
    enums: dict[str, dict[str, int]] = {}
    classes: dict[str, dict[str, Any]] = {}
    functions: dict[str, str] = {}
    aliases: dict[str, str] = {}
    constants: dict[str, Any] = {}
    for name in sorted(vars(module)):
        if not _is_public(name):
            continue
        value = vars(module)[name]
        if isinstance(value, types.ModuleType):
            continue
        if is_enum_type(value):
            enums[name] = _enum_members(value)
        elif isinstance(value, type):
            classes[name] = _class_entry(value, module, docstrings)
        elif is_enum_member(value):
            aliases[name] = _member_ref(value)
        elif callable(value):
            functions[name] = _doc(value) if docstrings else ""
        elif isinstance(value, _CONSTANT_TYPES):
            constants[name] = value
    return {
        "aliases": aliases,
        "classes": classes,
        "constants": constants,
        "enums": enums,
        "functions": functions,
        "version": str(getattr(module, "__version__", "")),
    }


def dumps(dump: dict[str, Any]) -> str:
    """The canonical text of a dump, byte-identical to the reference files' layout."""
    return json.dumps(dump, indent=1, sort_keys=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: dump ``--module`` to ``-o FILE`` (or stdout)."""
    parser = argparse.ArgumentParser(
        prog="python -m trt_netser.apidump",
        description="Dump the Python API of a TensorRT-like module as JSON.",
    )
    parser.add_argument(
        "--module",
        default="tensorrt",
        help="module to introspect (tensorrt, tensorrt_bindings, trt_netser.offline)",
    )
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    parser.add_argument(
        "--docstrings",
        action="store_true",
        help="record method/function docstrings and class docs, not just names",
    )
    args = parser.parse_args(argv)
    text = dumps(dump_module(args.module, docstrings=args.docstrings))
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
