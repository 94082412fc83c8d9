"""The offline value types behave like the real TensorRT 10.16 bindings.

Why: trt-netser hashes what these objects report (dims, weights, plugin fields, enum
values and names), and code developed against ``trt_netser.offline`` must behave the same
on real TensorRT. The surface test checks names; this one checks behaviour: one probe
script runs under the official bindings (stub-loaded, see ``tests/support/real_trt.py``)
and under the offline model, each in a subprocess, and every observation must agree.

Each observation is one named snippet in :data:`CHECKS`; its result (a normalised value,
or the exception type it raised) is compared by name, so a failure names the behaviour.
Exception messages are shown but not compared. One known, deliberate difference is not
probed: ``trt.Builder(trt.Logger())`` raises ``TypeError`` (nullptr) under the stubs but
works offline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RealRunner

pytestmark = pytest.mark.real_trt

REPO_ROOT = Path(__file__).resolve().parents[2]
DUMP = REPO_ROOT / "trt_netser" / "data" / "trt_api" / "10.16.1.11.json"

NP_DTYPES = ("float32", "float16", "int8", "int32", "int64", "bool", "uint8")
#: PluginFieldType member -> the numpy dtype a plugin would naturally pass for it.
PLUGIN_FIELD_TYPES = {
    "FLOAT16": "float16",
    "FLOAT32": "float32",
    "FLOAT64": "float64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "CHAR": "int8",
    "DIMS": "int32",
    "UNKNOWN": "uint8",
    "BF16": "uint16",
    "INT64": "int64",
    "FP8": "uint8",
    "INT4": "uint8",
    "FP4": "uint8",
}
DATA_TYPES = (
    "FLOAT",
    "HALF",
    "INT8",
    "INT32",
    "BOOL",
    "UINT8",
    "FP8",
    "BF16",
    "INT64",
    "INT4",
    "FP4",
    "E8M0",
)

#: name -> snippet. The snippet's last line is an expression whose value is observed;
#: earlier lines are statements. ``trt`` and ``np`` are in scope.
CHECKS: dict[str, str] = {
    # Dims and friends
    "Dims()": "trt.Dims()",
    "Dims(list)": "trt.Dims([1, 2, 3])",
    "Dims(tuple)": "trt.Dims((4, 5))",
    "Dims(empty)": "trt.Dims([])",
    "Dims(negative)": "trt.Dims([-1, 3])",
    "Dims(range)": "trt.Dims(range(3))",
    "Dims(too many)": "trt.Dims([1] * 9)",
    "Dims(MAX_DIMS)": "trt.Dims([1] * 8)",
    "Dims(float)": "trt.Dims([1.5])",
    "Dims(str)": "trt.Dims('ab')",
    "Dims(int)": "trt.Dims(3)",
    "Dims.repr": "repr(trt.Dims([1, 2, 3]))",
    "Dims.str": "str(trt.Dims([1, 2, 3]))",
    "Dims.repr(empty)": "repr(trt.Dims())",
    "Dims.len": "len(trt.Dims([1, 2, 3]))",
    "Dims[0]": "trt.Dims([1, 2, 3])[0]",
    "Dims[-1]": "trt.Dims([1, 2, 3])[-1]",
    "Dims[-4]": "trt.Dims([1, 2, 3])[-4]",
    "Dims[3]": "trt.Dims([1, 2, 3])[3]",
    "Dims[slice]": "trt.Dims([1, 2, 3])[0:2]",
    "Dims[str]": "trt.Dims([1, 2, 3])['a']",
    "Dims[0]=": "d = trt.Dims([1, 2, 3])\nd[0] = 7\nd",
    "Dims[-1]=": "d = trt.Dims([1, 2, 3])\nd[-1] = 7\nd",
    "Dims[3]=": "d = trt.Dims([1, 2, 3])\nd[3] = 7\nd",
    "Dims[0]=float": "d = trt.Dims([1, 2, 3])\nd[0] = 1.5\nd",
    "Dims.list": "list(trt.Dims([1, 2, 3]))",
    "Dims.tuple": "tuple(trt.Dims([1, 2, 3]))",
    "Dims==list": "trt.Dims([1, 2]) == [1, 2]",
    "Dims==tuple": "trt.Dims([1, 2]) == (1, 2)",
    "Dims==list(other)": "trt.Dims([1, 2]) == [1, 3]",
    "Dims!=list": "trt.Dims([1, 2]) != [1, 2]",
    "list==Dims": "[1, 2] == trt.Dims([1, 2])",
    "Dims==Dims": "trt.Dims([1, 2]) == trt.Dims([1, 2])",
    "Dims==Dims2": "trt.Dims([1, 2]) == trt.Dims2(1, 2)",
    "Dims==int": "trt.Dims([1]) == 1",
    "Dims==None": "trt.Dims([1]) == None",
    "Dims.hash": "hash(trt.Dims([1]))",
    "Dims.in": "2 in trt.Dims([1, 2])",
    "Dims.bool(empty)": "bool(trt.Dims())",
    "Dims.MAX_DIMS": "trt.Dims.MAX_DIMS",
    "Dims2()": "trt.Dims2()",
    "Dims2(a,b)": "trt.Dims2(1, 2)",
    "Dims2(list)": "trt.Dims2([1, 2])",
    "Dims2(3 args)": "trt.Dims2(1, 2, 3)",
    "Dims2.isinstance": "isinstance(trt.Dims2(1, 2), trt.Dims)",
    "Dims2[2]=": "d = trt.Dims2(1, 2)\nd[2] = 1\nd",
    "Dims3()": "trt.Dims3()",
    "Dims3(a,b,c)": "trt.Dims3(1, 2, 3)",
    "Dims3(list)": "trt.Dims3([1, 2, 3])",
    "Dims4()": "trt.Dims4()",
    "Dims4(a,b,c,d)": "trt.Dims4(1, 2, 3, 4)",
    "Dims4(list)": "trt.Dims4([1, 2, 3, 4])",
    "Dims4.repr": "repr(trt.Dims4(1, 2, 3, 4))",
    "DimsHW()": "trt.DimsHW()",
    "DimsHW(h,w)": "trt.DimsHW(2, 3)",
    "DimsHW(list)": "trt.DimsHW([2, 3])",
    "DimsHW.repr": "repr(trt.DimsHW(2, 3))",
    "DimsHW.h": "trt.DimsHW(2, 3).h",
    "DimsHW.w": "trt.DimsHW(2, 3).w",
    "DimsHW.h=": "d = trt.DimsHW(2, 3)\nd.h = 5\nd",
    "DimsHW.w=": "d = trt.DimsHW(2, 3)\nd.w = 5\nd",
    "DimsHW.isinstance": "isinstance(trt.DimsHW(2, 3), trt.Dims2)",
    "DimsHW==tuple": "trt.DimsHW(2, 3) == (2, 3)",
    "DimsHW.MAX_DIMS": "trt.DimsHW.MAX_DIMS",
    # Permutation
    "Permutation()": "list(trt.Permutation())",
    "Permutation(list)": "trt.Permutation([1, 0, 2])",
    "Permutation.repr": "repr(trt.Permutation([1, 0, 2]))",
    "Permutation.str": "str(trt.Permutation([1, 0, 2]))",
    "Permutation.len": "len(trt.Permutation([1, 0, 2]))",
    "Permutation[0]": "trt.Permutation([1, 0, 2])[0]",
    "Permutation[-1]": "trt.Permutation([1, 0, 2])[-1]",
    "Permutation[8]": "trt.Permutation([1, 0, 2])[8]",
    "Permutation[0]=": "p = trt.Permutation([1, 0, 2])\np[0] = 2\np",
    "Permutation==list": "trt.Permutation([1, 0]) == [1, 0]",
    "Permutation(too many)": "trt.Permutation(list(range(9)))",
    # Weights
    "Weights()": "w = trt.Weights()\n(w.dtype, w.size, w.nbytes)",
    "Weights().numpy": "trt.Weights().numpy()",
    "Weights(list)": "trt.Weights([1.0, 2.0])",
    "Weights(float64)": "trt.Weights(np.zeros(2, np.float64))",
    "Weights(int16)": "trt.Weights(np.zeros(2, np.int16))",
    "Weights(noncontiguous)": "w = trt.Weights(np.arange(6, dtype=np.float32).reshape(2, 3).T)\n(w.size, w.numpy())",
    "Weights(2d).numpy": "trt.Weights(np.arange(6, dtype=np.float32).reshape(2, 3)).numpy()",
    "Weights(scalar)": "w = trt.Weights(np.float32(3))\n(w.size, w.numpy())",
    "Weights.repr": "repr(trt.Weights(np.zeros(2, np.float32)))",
    "Weights.len": "len(trt.Weights(np.zeros(2, np.float32)))",
    "Weights.numpy shares memory": (
        "a = np.arange(3, dtype=np.float32)\nw = trt.Weights(a)\na[0] = 9\nw.numpy()"
    ),
    "Weights.dtype=": "w = trt.Weights()\nw.dtype = trt.int8",
}
for _dt in NP_DTYPES:
    CHECKS[f"Weights({_dt})"] = (
        f"w = trt.Weights(np.arange(3).astype(np.{_dt}))\n(w.dtype, w.size, w.nbytes, w.numpy())"
    )
for _dt in DATA_TYPES:
    CHECKS[f"Weights(DataType.{_dt})"] = (
        f"w = trt.Weights(trt.DataType.{_dt})\n(w.dtype, w.size, w.nbytes)"
    )
    CHECKS[f"Weights(DataType.{_dt}).numpy"] = f"trt.Weights(trt.DataType.{_dt}).numpy()"
    CHECKS[f"nptype({_dt})"] = f"trt.nptype(trt.DataType.{_dt})"
    CHECKS[f"itemsize({_dt})"] = f"trt.DataType.{_dt}.itemsize"
    # TensorRT-LLM's constant(): Weights(dtype, ndarray.ctypes.data, count); for INT4/FP4
    # the bindings report nbytes in size_t arithmetic with an element size of -1.
    CHECKS[f"Weights(DataType.{_dt}, ptr, 3)"] = (
        "a = np.zeros(64, np.uint8)\n"
        f"w = trt.Weights(trt.DataType.{_dt}, a.ctypes.data, 3)\n(w.dtype, w.size, w.nbytes)"
    )

#: Field types whose element is at most 4 bytes: the real binding reinterprets the raw
#: buffer by the field type, so wider types would read past a 4-element int32 array.
_NARROW_FIELD_TYPES = {"FLOAT16", "FLOAT32", "INT8", "INT16", "INT32", "CHAR", "UNKNOWN", "BF16"}
for _pft, _dt in PLUGIN_FIELD_TYPES.items():
    _make = f"f = trt.PluginField('a', np.arange(4).astype(np.{_dt}), trt.PluginFieldType.{_pft})"
    CHECKS[f"PluginField({_pft})"] = f"{_make}\n(f.name, f.size, f.type)"
    CHECKS[f"PluginField({_pft}).data"] = f"{_make}\nf.data"
    if _pft in _NARROW_FIELD_TYPES:
        CHECKS[f"PluginField({_pft}, int32 data).data"] = (
            "f = trt.PluginField('a', np.arange(4, dtype=np.int32), "
            f"trt.PluginFieldType.{_pft})\n(f.data, f.size)"
        )

CHECKS.update(
    {
        # PluginField / PluginFieldCollection
        "PluginField()": "f = trt.PluginField()\n(f.name, f.data, f.size, f.type)",
        "PluginField(name)": "f = trt.PluginField('a')\n(f.name, f.data, f.size, f.type)",
        "PluginField(str data)": (
            "f = trt.PluginField('a', np.array(list(b'xyz'), np.int8), "
            "trt.PluginFieldType.CHAR)\n(f.name, f.data, f.size, f.type)"
        ),
        "PluginField(list data)": "trt.PluginField('a', [1, 2], trt.PluginFieldType.INT32)",
        "PluginField(bytes name)": "trt.PluginField(b'a').name",
        "PluginField.name=": "f = trt.PluginField('a')\nf.name = 'b'\nf.name",
        "PluginField.data=": (
            "f = trt.PluginField('a')\nf.data = np.array([1, 2], np.int32)\n(f.data, f.size)"
        ),
        "PluginField.type=": (
            "f = trt.PluginField('a')\nf.type = trt.PluginFieldType.INT8\nf.type"
        ),
        "PluginField.size=": "f = trt.PluginField('a')\nf.size = 3\nf.size",
        "PluginField.repr": "repr(trt.PluginField('a'))",
        "PluginFieldCollection()": "len(trt.PluginFieldCollection())",
        "PluginFieldCollection(list)": (
            "c = trt.PluginFieldCollection([trt.PluginField('a'), trt.PluginField('b')])\n"
            "(len(c), c[0].name, c[1].name, c[-1].name, type(c).__name__)"
        ),
        "PluginFieldCollection[2]": (
            "trt.PluginFieldCollection([trt.PluginField('a'), trt.PluginField('b')])[2]"
        ),
        "PluginFieldCollection.iter": (
            "[f.name for f in trt.PluginFieldCollection([trt.PluginField('a')])]"
        ),
        "PluginFieldCollection.append": (
            "c = trt.PluginFieldCollection()\nc.append(trt.PluginField('a'))\nlen(c)"
        ),
        "PluginFieldCollection(tuple)": "len(trt.PluginFieldCollection((trt.PluginField('a'),)))",
        "PluginFieldCollection(str)": "trt.PluginFieldCollection(['a'])",
        "PluginFieldCollection.repr": "repr(trt.PluginFieldCollection())",
        # enums
        "enum.int": "int(trt.DataType.HALF)",
        "enum.name": "trt.DataType.HALF.name",
        "enum.value": "trt.DataType.HALF.value",
        "enum.repr": "repr(trt.DataType.HALF)",
        "enum.str": "str(trt.DataType.HALF)",
        "enum.format": "f'{trt.DataType.HALF}'",
        "enum==int": "trt.DataType.HALF == 1",
        "int==enum": "1 == trt.DataType.HALF",
        "enum!=int": "trt.DataType.HALF != 1",
        "enum==other enum": "trt.DataType.HALF == trt.LayerType.SCALE",
        "enum==same": "trt.DataType.HALF == trt.DataType.HALF",
        "enum is same": "trt.DataType.HALF is trt.DataType.HALF",
        "enum==str": "trt.DataType.HALF == 'HALF'",
        "enum.hash": "hash(trt.DataType.HALF)",
        "enum.hash(other)": "hash(trt.LayerType.SCALE)",
        "enum in dict": "{trt.DataType.HALF: 1}.get(1)",
        "enum(int)": "trt.DataType(1)",
        "enum(999).name": "trt.DataType(999).name",
        "enum(999).repr": "repr(trt.DataType(999))",
        "enum(999)==999": "trt.DataType(999) == 999",
        "enum(-1).name": "trt.DataType(-1).name",
        "enum(str)": "trt.DataType('HALF')",
        "enum()": "trt.DataType()",
        "enum(enum)": "trt.DataType(trt.DataType.HALF)",
        "enum.__members__": "list(trt.DataType.__members__.items())",
        "enum.__members__ type": "type(trt.DataType.__members__).__name__",
        "enum.iter": "list(trt.DataType)",
        "enum.len": "len(trt.DataType)",
        "enum<": "trt.DataType.FLOAT < trt.DataType.HALF",
        "enum<int": "trt.DataType.FLOAT < 1",
        "enum+1": "trt.DataType.FLOAT + 1",
        "enum.index": "[10, 20][trt.DataType.HALF]",
        "enum.float": "float(trt.DataType.HALF)",
        "enum.bool(0)": "bool(trt.DataType.FLOAT)",
        "enum.isinstance int": "isinstance(trt.DataType.HALF, int)",
        "enum.type name": "type(trt.DataType.HALF).__name__",
        "enum.name=": "m = trt.DataType.HALF\nm.name = 'X'",
        "enum.member.member": "trt.DataType.HALF.FLOAT",
        "STRIP_PLAN.name": "trt.BuilderFlag.STRIP_PLAN.name",
        "STRIP_PLAN==WEIGHTLESS": "trt.BuilderFlag.STRIP_PLAN == trt.BuilderFlag.WEIGHTLESS",
        "STRIP_PLAN.int": "int(trt.BuilderFlag.STRIP_PLAN)",
        "STRIP_PLAN.repr": "repr(trt.BuilderFlag.STRIP_PLAN)",
        "BuilderFlag(19).name": "trt.BuilderFlag(19).name",
        "BuilderFlag members": "[(k, int(v)) for k, v in trt.BuilderFlag.__members__.items()]",
        # module helpers
        "volume(list)": "trt.volume([2, 3, 4])",
        "volume(empty)": "trt.volume([])",
        "volume(Dims)": "trt.volume(trt.Dims([2, 3]))",
        "volume(negative)": "trt.volume(trt.Dims([-1, 3]))",
        "volume(None)": "trt.volume(None)",
        "nptype(int)": "trt.nptype(0)",
        "shortcuts": (
            "[(n, getattr(trt, n)) for n in ('float32', 'float16', 'bfloat16', 'int8', "
            "'int32', 'int64', 'bool', 'uint8', 'fp8', 'int4', 'fp4', 'e8m0')]"
        ),
        "shortcut==member": "trt.float32 == trt.DataType.FLOAT",
        # Logger
        "Logger()": "trt.Logger().min_severity",
        "Logger(ERROR)": "trt.Logger(trt.Logger.ERROR).min_severity",
        "Logger(int)": "trt.Logger(1).min_severity",
        "Logger.min_severity=": (
            "lg = trt.Logger()\nlg.min_severity = trt.ILogger.Severity.VERBOSE\nlg.min_severity"
        ),
        "Logger.Severity is ILogger.Severity": "trt.Logger.Severity is trt.ILogger.Severity",
        "Logger.Severity members": (
            "[(k, int(v)) for k, v in trt.Logger.Severity.__members__.items()]"
        ),
        "Logger.WARNING": "trt.Logger.WARNING",
        "Logger.WARNING==ILogger.WARNING": "trt.Logger.WARNING == trt.ILogger.WARNING",
        "Logger.Severity.repr": "repr(trt.Logger.VERBOSE)",
        "Logger.Severity.name": "trt.ILogger.Severity.INTERNAL_ERROR.name",
        "Logger.Severity qualname": "trt.ILogger.Severity.__qualname__",
        "ILogger()": "type(trt.ILogger()).__name__",
        "Logger isinstance ILogger": "isinstance(trt.Logger(), trt.ILogger)",
        "module attr/value": "(trt.attr, trt.value)",
        # inputs a caller may plausibly pass (numpy scalars/arrays, odd arrays)
        "Dims(ndarray)": "trt.Dims(np.array([1, 2], np.int64))",
        "Dims(np ints)": "trt.Dims([np.int32(1), np.int64(2)])",
        "Dims(bools)": "trt.Dims([True, False])",
        "Dims[np.int64]": "trt.Dims([1, 2])[np.int64(1)]",
        "Dims(huge)": "trt.Dims([2**63])",
        "Dims(int64 max)": "trt.Dims([2**63 - 1])",
        "Dims(-huge)": "trt.Dims([-(2**63) - 1])",
        "Dims[0]=huge": "d = trt.Dims([1])\nd[0] = 2**63\nd",
        "Dims2(huge)": "trt.Dims2(2**63, 1)",
        "Permutation(huge)": "trt.Permutation([2**31])",
        "Dims[slice]=Dims": "d = trt.Dims([1, 2, 3])\nd[0:2] = trt.Dims([5, 6])\nd",
        "Dims[slice]=tuple": "d = trt.Dims([1, 2, 3])\nd[0:2] = (5, 6)\nd",
        # not probed: a slice assigned from shorter Dims reads past nbDims in the real binding
        # not probed: trt.Dims(...)[::-1] segfaults the real 10.16 binding
        "Weights(empty f32)": "w = trt.Weights(np.array([], np.float32))\n(w.size, w.nbytes, w.numpy())",
        "Weights(big-endian)": "trt.Weights(np.zeros(2, '>f4'))",
        "Weights(readonly)": (
            "a = np.zeros(2, np.float32)\na.setflags(write=False)\ntrt.Weights(a).size"
        ),
        "Weights(DataType, numpy)": "trt.Weights(trt.float16, np.zeros(2, np.float16))",
        "enum as dict key": "{trt.DataType.HALF: 1}[trt.DataType.HALF]",
        "enum in list of ints": "trt.DataType.HALF in [1]",
        "enum sorted": "sorted([trt.DataType.HALF, trt.DataType.FLOAT])",
        "enum sorted by int": "sorted([trt.DataType.HALF, trt.DataType.FLOAT], key=int)",
        "enum.__index__ range": "list(range(trt.DataType.INT8))",
        # last: would disturb later checks if it leaked into shared state
        "enum.__members__ mutation": (
            "trt.DataType.__members__['X'] = 1\n'X' in trt.DataType.__members__"
        ),
    }
)

#: Every enum of the 10.16.1.11 API (module-level, plus the nested ``ILogger.Severity``):
#: each member's name, value, ``.name`` (aliases resolve to one name), repr, str, and the
#: ``.name`` of the member rebuilt from its integer.
_ENUMS = [*json.loads(DUMP.read_text(encoding="utf-8"))["enums"], "ILogger.Severity"]
for _enum in _ENUMS:
    CHECKS[f"enum {_enum}: members"] = (
        f"E = trt.{_enum}\n"
        "[(k, int(v), v.name, repr(v), str(v), E(int(v)).name) for k, v in E.__members__.items()]"
    )

PROBE = r'''
import json, re, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import importlib
trt = importlib.import_module(sys.argv[1])
CHECKS = json.loads(sys.argv[2])

def norm(v, depth=0):
    """A JSON-able, implementation-neutral picture of a value."""
    if depth > 6:
        return ["<deep>"]
    if isinstance(v, str):
        return re.sub(r"<([\w.]*\.)?(\w+) object at 0x[0-9a-fA-F]+>", r"<\2 object>", v)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and type(v) in (int, float):
        return [type(v).__name__, v]
    if isinstance(v, bytes):
        return ["bytes", v.hex()]
    if isinstance(v, np.ndarray):
        return ["ndarray", str(v.dtype), list(v.shape), v.tolist()]
    if isinstance(v, np.generic):
        return ["npscalar", str(v.dtype), v.item()]
    if isinstance(v, type):
        mod = v.__module__
        if mod.startswith(("numpy", "builtins")):
            return ["type", mod + "." + v.__qualname__]
        return ["type", v.__qualname__]
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, [norm(x, depth + 1) for x in v]]
    if isinstance(v, dict):
        return ["dict", [[norm(k, depth + 1), norm(x, depth + 1)] for k, x in v.items()]]
    r = repr(v)
    r = re.sub(r"<([\w.]*\.)?(\w+) object at 0x[0-9a-fA-F]+>", r"<\2 object>", r)
    return [type(v).__name__, r]

out = {}
for name, src in CHECKS.items():
    lines = src.split("\n")
    ns = {"trt": trt, "np": np}
    sys.stderr.write("@@CHECK " + name + "\n")
    sys.stderr.flush()
    try:
        exec("\n".join(lines[:-1]), ns)
        try:
            code = compile(lines[-1], name, "eval")
        except SyntaxError:
            exec(lines[-1], ns)
            value = "<statement ok>"
        else:
            value = eval(code, ns)
        out[name] = {"value": norm(value)}
    except BaseException as exc:
        out[name] = {"raises": type(exc).__name__, "message": str(exc)[:300]}
print("@@PROBE@@" + json.dumps(out))
'''


def _parse(proc: subprocess.CompletedProcess[str], who: str) -> dict[str, Any]:
    """The observations printed by the probe, or a failure naming what went wrong."""
    for line in proc.stdout.splitlines():
        if line.startswith("@@PROBE@@"):
            return json.loads(line[len("@@PROBE@@") :])
    started = [ln[8:] for ln in proc.stderr.splitlines() if ln.startswith("@@CHECK ")]
    pytest.fail(
        f"probe under {who} exited {proc.returncode} without observations"
        f" (last check started: {started[-1] if started else None!r}):\n{proc.stderr[-3000:]}"
    )


@pytest.fixture(scope="module")
def observations(real_trt: RealRunner) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the probe once under each implementation: (real, offline)."""
    checks = json.dumps(CHECKS)
    real = real_trt(
        "import sys\nsys.argv = ['probe', 'tensorrt_bindings', " + repr(checks) + "]\n" + PROBE
    )
    offline = subprocess.run(
        [sys.executable, "-c", PROBE, "trt_netser.offline", checks],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    return _parse(real, "the real bindings"), _parse(offline, "trt_netser.offline")


@pytest.mark.parametrize("check", list(CHECKS))
def test_same_behaviour(check: str, observations: tuple[dict[str, Any], dict[str, Any]]) -> None:
    real, offline = (side[check] for side in observations)
    if "raises" in real or "raises" in offline:
        assert real.get("raises") == offline.get("raises"), (
            f"{check}: real {_show(real)}; offline {_show(offline)}"
        )
        # An AttributeError for a name the offline model lacks is not the real error.
        missing = ["has no attribute" in side["message"] for side in (real, offline)]
        assert missing[0] == missing[1], f"{check}: real {_show(real)}; offline {_show(offline)}"
        return
    assert real["value"] == offline["value"], (
        f"{check}: real {_show(real)}; offline {_show(offline)}"
    )


def _show(obs: dict[str, Any]) -> str:
    """One observation, readably."""
    if "raises" in obs:
        return f"raises {obs['raises']}({obs['message']!r})"
    return f"= {json.dumps(obs['value'])[:600]}"
