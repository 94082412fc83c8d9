"""Builds the optional compiled extensions: the walker's hot loop (trt_netser/_layerwriter.pyx)
and the buffer-protocol base of the offline IHostMemory (trt_netser/offline/_hostbuf.pyx).

Everything else is declared in pyproject.toml. Without Cython or a working C compiler the
package installs all the same and the walker runs its Python path (same bytes, slower).
"""

from __future__ import annotations

import sys
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


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
        print(
            f"warning: a trt_netser extension was not compiled ({exc}); trt-netser falls back "
            "to pure Python (same digests and plans; IHostMemory's buffer protocol then "
            "needs Python 3.12+)",
            file=sys.stderr,
        )


try:
    from Cython.Build import cythonize
except ImportError:  # no Cython in the build environment: pure Python
    ext_modules: list[Extension] = []
else:
    ext_modules = cythonize(
        [
            Extension("trt_netser._layerwriter", ["trt_netser/_layerwriter.pyx"]),
            Extension("trt_netser.offline._hostbuf", ["trt_netser/offline/_hostbuf.pyx"]),
        ],
        compiler_directives={"language_level": 3},
        quiet=True,
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
