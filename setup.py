"""Builds the optional compiled twin of the walker's hot loop (trt_netser/_layerwriter.pyx).

Everything else is declared in pyproject.toml. Without Cython or a C compiler the
package installs all the same and the walker runs its Python path (same bytes, slower).
"""

from __future__ import annotations

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # no Cython in the build environment: pure Python
    ext_modules = []
else:
    ext_modules = cythonize(
        [Extension("trt_netser._layerwriter", ["trt_netser/_layerwriter.pyx"], optional=True)],
        compiler_directives={"language_level": 3},
        quiet=True,
    )

setup(ext_modules=ext_modules)
