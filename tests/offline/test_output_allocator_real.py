"""The offline IOutputAllocator calls behave as the real bindings' trampoline does.

Why: TensorRT calls a Python allocator through ``tensorrt::PyOutputAllocator``, the
bindings' pybind11 trampoline, and what it does with a missing method, a bad return value
or an exception decides whether an execution fails. The real 10.16 trampoline is in
``tensorrt.so`` and needs no native library, so its virtual methods are called here
directly (``ctypes`` through the C++ vtable: slot 5 is ``reallocateOutputAsync``, slot 6
``notifyShape``, after IVersionedInterface's getAPILanguage, getInterfaceInfo and the two
destructors, and reallocateOutput, as NvInferRuntime.h declares them) and compared with
what the offline execution calls (``trt_netser.offline._execute.allocators``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.real_trt

PROBE = r"""
import ctypes, json, os, sys
trt = __import__(sys.argv[1], fromlist=["IOutputAllocator"])
calls = []

def mark(label):
    sys.stderr.flush()
    os.write(2, ("@@" + label + "\n").encode())

class Base(trt.IOutputAllocator):
    def __init__(self):
        trt.IOutputAllocator.__init__(self)

class Full(Base):
    def reallocate_output_async(self, *a): calls.append(["async", *a]); return 1234
    def reallocate_output(self, *a): calls.append(["legacy", *a]); return 5678
    def notify_shape(self, name, shape):
        calls.append(["notify", name, type(shape).__name__, list(shape)])

class Legacy(Base):
    def reallocate_output(self, *a): calls.append(["legacy", *a]); return 5678

class Empty(Base):
    pass

class NotAnInt(Base):
    def reallocate_output_async(self, *a): return "0x10"
    def notify_shape(self, name, shape): raise ValueError("nope")

class Raises(Base):
    def reallocate_output(self, *a): raise MemoryError("boom")

class ReturnsNone(Base):
    def reallocate_output_async(self, *a): return None

class Negative(Base):
    def reallocate_output_async(self, *a): return -1

class Attribute(Base):
    def __init__(self):
        Base.__init__(self)
        self.reallocate_output_async = lambda *a: calls.append(["attr", *a]) or 99

if sys.argv[1] == "tensorrt_bindings":
    class Dims64(ctypes.Structure):
        _fields_ = [("nbDims", ctypes.c_int32), ("d", ctypes.c_int64 * 8)]
    ASYNC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                             ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)
    NOTIFY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(Dims64))

    def slot(this, i):
        vtable = ctypes.c_void_p.from_address(this).value
        return ctypes.c_void_p.from_address(vtable + 8 * i).value

    def reallocate(obj, name, memory, size, stream):
        this = ctypes.c_void_p.from_address(id(obj) + 16).value  # pybind11 value pointer
        return ASYNC(slot(this, 5))(this, name.encode(), memory, size, 256, stream) or 0

    def notify(obj, name, shape):
        this = ctypes.c_void_p.from_address(id(obj) + 16).value
        d = Dims64(); d.nbDims = len(shape)
        for i, v in enumerate(shape):
            d.d[i] = v
        NOTIFY(slot(this, 6))(this, name.encode(), ctypes.byref(d))
else:
    from trt_netser.offline._execute import allocators
    reallocate = allocators.reallocate
    notify = lambda obj, name, shape: allocators.notify_shape(obj, name, trt.Dims(shape))

out = {}
for cls in (Full, Legacy, Empty, NotAnInt, Raises, ReturnsNone, Negative, Attribute):
    obj = cls()
    calls.clear()
    mark(cls.__name__ + ".reallocate")
    got = reallocate(obj, "y", 4096, 40, 7)
    mark(cls.__name__ + ".notify")
    notify(obj, "y", (2, 3))
    out[cls.__name__] = {"address": int(got), "calls": list(calls)}
mark("end")
print("@@" + json.dumps(out))
"""


def _observe(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("@@")), None)
    assert line is not None, proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(line[2:])
    # stderr between markers: the trampoline's messages (traceback lines "  file(n): f"
    # and blank lines differ between the two runs and are left out)
    section = None
    for text in proc.stderr.splitlines():
        if text.startswith("@@"):
            section = text[2:]
            continue
        if section and text.strip() and not text.startswith("  "):
            name, call = section.split(".")
            if name in result:
                result[name].setdefault(call, []).append(text)
    return result


def test_trampoline_calls_match_the_real_bindings(real_trt: Any) -> None:
    real = real_trt("import sys\nsys.argv = ['probe', 'tensorrt_bindings']\n" + PROBE)
    offline = subprocess.run(
        [sys.executable, "-c", PROBE, "trt_netser.offline"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    theirs, ours = _observe(real), _observe(offline)
    # the observations themselves (what the model is built on)
    assert theirs["Full"]["address"] == 1234
    assert theirs["Legacy"]["address"] == 5678  # the deprecated method is the fallback
    assert theirs["Empty"]["address"] == 0
    assert theirs["Attribute"]["address"] == 99
    differ = {k: (theirs[k], ours.get(k)) for k in theirs if theirs[k] != ours.get(k)}
    assert differ == {}, json.dumps(differ, indent=1)
