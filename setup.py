"""Builds the optional compiled twin of the walker's hot loop (trt_netser/_layerwriter.pyx).

Everything else is declared in pyproject.toml. Without Cython or a working C compiler the
package installs all the same and the walker runs its Python path (same bytes, slower).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _skip_reason(reason: str) -> None:
    print(
        f"warning: trt_netser._layerwriter was not compiled ({reason}); "
        "trt-netser will hash with its pure-Python layer writer (same digests, slower)",
        file=sys.stderr,
    )


class OptionalBuildExt(build_ext):
    """build_ext that warns and carries on when an extension cannot be compiled."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers, a failing compiler...
            self._skip(exc)

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    @staticmethod
    def _skip(exc: Exception) -> None:
        _skip_reason(str(exc))


def _extensions() -> list[Extension]:
    """The compiled layer writer, or nothing when it cannot even be generated.

    Cythonizing needs Cython and the ``.pyx`` source (both present in a normal sdist or
    checkout); anything missing or failing here is a warning, like a missing compiler.
    """
    source = Path(__file__).parent / "trt_netser" / "_layerwriter.pyx"
    if not source.is_file():
        _skip_reason(f"{source.name} is not in this source tree")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _skip_reason("Cython is not installed in the build environment")
        return []
    try:
        return list(
            cythonize(
                [Extension("trt_netser._layerwriter", ["trt_netser/_layerwriter.pyx"])],
                compiler_directives={"language_level": 3},
                quiet=True,
            )
        )
    except Exception as exc:  # a Cython error: the pure-Python writer still works
        _skip_reason(f"cythonize failed: {exc}")
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
