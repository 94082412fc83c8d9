"""The settings a class gets from a table (``setattr`` after its body) are declared to type
checkers, one for one: a setting added to a table but not declared would be an
``attr-defined`` error in strict client code, one declared but not added a lie."""

from __future__ import annotations

import ast
import inspect
import sys

import pytest

import trt_netser.offline as trt

#: class -> the factory whose properties it gets from a table.
TABLE_MADE = {
    trt.IBuilderConfig: "_config_prop",
    trt.Runtime: "_runtime_prop",
    trt.IExecutionContext: "_ctx_prop",
}


def _declared(cls: type) -> set[str]:
    """Names annotated ``Setting[...]`` in the class body's ``if TYPE_CHECKING:`` block."""
    tree = ast.parse(inspect.getsource(sys.modules[cls.__init__.__module__]))
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    names = set()
    for node in body.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for decl in node.body:
                if isinstance(decl, ast.AnnAssign) and ast.unparse(decl.annotation).startswith(
                    "Setting["
                ):
                    assert isinstance(decl.target, ast.Name)
                    names.add(decl.target.id)
    return names


@pytest.mark.parametrize("cls", list(TABLE_MADE), ids=lambda c: c.__name__)
def test_table_made_settings_are_declared(cls: type) -> None:
    factory = TABLE_MADE[cls]
    made = {
        name
        for name, value in vars(cls).items()
        if isinstance(value, property)
        # the setter: write-only settings (the bindings' Runtime.gpu_allocator) have no getter
        and value.fset is not None
        and value.fset.__qualname__.startswith(f"{factory}.")
    }
    assert made, f"no property of {cls.__name__} comes from {factory}"
    assert _declared(cls) == made
