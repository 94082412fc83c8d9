"""Output allocators (``trt.IOutputAllocator``) as ``execute_async_v3`` calls them.

An output with an allocator (``IExecutionContext.set_output_allocator``) needs no address:
TensorRT asks the allocator for memory with ``reallocate_output_async(tensor_name, memory,
size, alignment, stream)`` (or, when a subclass defines only the deprecated
``reallocate_output(tensor_name, memory, size, alignment)``, with that), writes the output
there and reports its shape with ``notify_shape(tensor_name, shape)``. The calls go through
the bindings' trampoline (``tensorrt::PyOutputAllocator``), whose behaviour is modelled
here as observed by calling the real 10.16 trampoline's virtual methods
(``tests/offline/test_output_allocator_real.py``): neither method defined prints
``Method: reallocate_output was not overriden...`` and gives nullptr, a return value that
is not a non-negative int or a raised exception is printed to stderr with the bindings' own
message and gives nullptr; ``notify_shape`` missing or raising is printed and execution
goes on (it is ``noexcept``). Instance attributes count as overrides (pybind11 looks the
method up on the object).
"""

from __future__ import annotations

import operator
import sys
import traceback
from typing import Any

#: Alignment passed to ``reallocate_output*`` (CUDA's allocation granularity; TensorRT
#: does not document the value it passes).
ALIGNMENT = 256


def _override(allocator: Any, name: str) -> Any:
    """The subclass's method ``name``, or None (pybind11's get_override)."""
    fn = getattr(allocator, name, None)
    return fn if callable(fn) else None


def _address(value: Any, method: str) -> int:
    """The trampoline's cast of a returned address to ``size_t`` (nullptr when it fails)."""
    try:
        address = operator.index(value)
    except TypeError:
        address = -1
    if address < 0:
        print(
            f"[ERROR] Return value of {method}() could not be interpreted as an int",
            file=sys.stderr,
        )
        return 0
    return address


def reallocate(allocator: Any, name: str, memory: int, size: int, stream: int) -> int:
    """Memory for output ``name`` of ``size`` bytes from the allocator (0: none given)."""
    fn = _override(allocator, "reallocate_output_async")
    method = "reallocateOutputAsync"
    args: tuple[Any, ...] = (name, memory, size, ALIGNMENT, stream)
    if fn is None:  # IOutputAllocator::reallocateOutputAsync's default: the deprecated call
        fn = _override(allocator, "reallocate_output")
        method = "reallocateOutput"
        args = args[:4]
    if fn is None:
        print(
            "Method: reallocate_output was not overriden. Please provide an implementation "
            "for this method.",
            file=sys.stderr,
        )
        return 0
    try:
        value = fn(*args)
    except Exception as exc:  # the trampoline catches everything
        print(f"[ERROR] Exception caught in {method}(): {_what(exc)}", file=sys.stderr)
        return 0
    return _address(value, method)


def notify_shape(allocator: Any, name: str, shape: Any) -> None:
    """Report an output's shape (a ``trt.Dims``) to its allocator."""
    fn = _override(allocator, "notify_shape")
    if fn is None:
        print(
            "[ERROR] Exception caught in notifyShape(): Tried to call pure virtual function "
            '"IOutputAllocator::notify_shape"',
            file=sys.stderr,
        )
        return
    try:
        fn(name, shape)
    except Exception as exc:  # the trampoline catches everything
        print(f"[ERROR] Exception caught in notifyShape(): {_what(exc)}", file=sys.stderr)


def _what(exc: BaseException) -> str:
    """pybind11's ``error_already_set::what()``: ``Type: message``, then ``At:`` and the
    callback's frames, innermost first."""
    head = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0] is the call made here
    lines = [f"  {f.filename}({f.lineno}): {f.name}" for f in reversed(frames)]
    return f"{head}\n\nAt:\n" + "\n".join(lines) + "\n" if lines else head
