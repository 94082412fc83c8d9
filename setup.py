"""Builds the optional compiled extensions: the walker's hot loop (trt_netser/_layerwriter.pyx)
and the buffer-protocol base of the offline IHostMemory (trt_netser/offline/_hostbuf.pyx).

Everything else is declared in pyproject.toml. Without Cython, a source file or a working C
compiler the package installs all the same: the walker runs its Python path (same bytes,
slower) and IHostMemory's buffer protocol needs Python 3.12+.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: Each optional extension, its source, and what trt-netser does without it.
EXTENSIONS: dict[str, tuple[str, str]] = {
    "trt_netser._layerwriter": (
        "trt_netser/_layerwriter.pyx",
        "trt-netser hashes with its pure-Python layer writer (same digests, slower)",
    ),
    "trt_netser.offline._hostbuf": (
        "trt_netser/offline/_hostbuf.pyx",
        "offline IHostMemory plans support the buffer protocol only on Python 3.12+",
    ),
}


def _skip_reason(name: str, reason: str) -> None:
    fallback = EXTENSIONS.get(name, ("", "trt-netser falls back to pure Python"))[1]
    print(f"warning: {name} was not compiled ({reason}); {fallback}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that warns and carries on when an extension cannot be compiled."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers, a failing compiler...
            for name in EXTENSIONS:
                _skip_reason(name, str(exc))

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _skip_reason(ext.name, str(exc))


def _extensions() -> list[Extension]:
    """The compiled extensions that can be generated here; a missing one is a warning.

    Cythonizing needs Cython and the ``.pyx`` sources (both present in a normal sdist or
    checkout); anything missing or failing here is a warning, like a missing compiler.
    """
    try:
        from Cython.Build import cythonize
    except ImportError:
        for name in EXTENSIONS:
            _skip_reason(name, "Cython is not installed in the build environment")
        return []
    here = Path(__file__).parent
    built: list[Extension] = []
    for name, (source, _) in EXTENSIONS.items():
        if not (here / source).is_file():
            _skip_reason(name, f"{source} is not in this source tree")
            continue
        try:
            built += cythonize(
                [Extension(name, [source])],
                compiler_directives={"language_level": 3},
                quiet=True,
            )
        except Exception as exc:  # a Cython error: the pure-Python fallback still works
            _skip_reason(name, f"cythonize failed: {exc}")
    return built


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
