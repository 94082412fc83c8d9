"""Human-readable rendering of records and values, and the consoles output goes to.

Colour is used only when the stream is a terminal; ``NO_COLOR`` (any value) turns it off,
as rich does itself. Markup is never interpreted in data (``[digest]`` is text).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import blake3
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from trt_netser.cli.subject import Item, Subject
from trt_netser.records import ConstructRef, EnumValue, Record, TensorRef, WeightsValue

#: Digest characters shown in human output (JSON output always has all 64).
SHORT = 12

#: Operations over fewer items than this get no progress bar (it would only flicker).
PROGRESS_THRESHOLD = 2000


def _color_disabled() -> bool:
    return "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""


def console(stderr: bool = False) -> Console:
    """A console on stdout/stderr: colour only on a terminal, never under NO_COLOR."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        no_color=_color_disabled(),
        highlight=False,
        soft_wrap=True,
        emoji=False,
        markup=False,
    )


def echo_json(data: Any) -> None:
    """Print a JSON document (the ``--json`` output of every command)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def progress(
    description: str, total: int | None, *, force: bool = False, counts: bool = True
) -> Any:
    """A progress bar on stderr for long operations; a no-op when not on a terminal.

    Yields a callable ``advance(n=1)``. ``total=None`` shows a spinner; the callable also
    accepts ``advance(done=..., total=...)`` (the library's ``progress(done, total)``
    callbacks), which turns the spinner into a bar once the total is known, and
    ``advance(description=...)``, which says what is happening now. ``counts=False``
    keeps a spinner without a count (for steps whose size is unknown, like a user's
    build function).
    """
    err = console(stderr=True)
    big = total is None or total >= PROGRESS_THRESHOLD or force
    if not (err.is_terminal and big):
        yield lambda n=1, done=None, total=None, description=None: None
        return
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    if total is None and counts:
        columns[2:2] = [BarColumn(), MofNCompleteColumn()]  # shown once a total arrives
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(
            n: int = 1,
            done: int | None = None,
            total: int | None = None,
            description: str | None = None,
        ) -> None:
            if description is not None:  # what is happening now (e.g. the build runs)
                bar.update(task, description=description)
            elif done is None:
                bar.advance(task, n)
            else:
                bar.update(task, completed=done, total=total)

        yield advance


def short(digest: str) -> str:
    return digest[:SHORT]


# --------------------------------------------------------------------------- values


def _common(maps: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Attribute values shared by every map (compared with their types: True is not 1)."""
    if len(maps) < 2:
        return {}
    common = {k: v for k, v in maps[0].items() if not isinstance(v, (list, dict))}
    for m in maps[1:]:
        common = {k: v for k, v in common.items() if k in m and type(m[k]) is type(v) and m[k] == v}
        if not common:
            break
    return common


class Labels:
    """Names for positions (inputs by name, layers by user name and type), and the
    attribute values every tensor / every layer shares, which explain shows only once."""

    def __init__(self, items: list[Item] | list[Record], *, elide: bool = False) -> None:
        records = [i.record if isinstance(i, Item) else i for i in items]
        self.inputs: dict[int, str] = {}
        self.layers: dict[int, Record] = {}
        tensors: list[Mapping[str, Any]] = []
        layer_attrs: list[Mapping[str, Any]] = []
        for record in records:
            if record.kind == "input":
                tensor = record.get("tensor") or {}
                self.inputs[int(record.get("index", 0))] = str(tensor.get("name"))
                tensors.append(tensor.get("attrs") or {})
            elif record.kind == "layer":
                self.layers[int(record.get("index", 0))] = record
                layer_attrs.append(record.get("attrs") or {})
                tensors += [(d or {}).get("attrs") or {} for d in record.get("outputs") or []]
            elif record.kind == "output":
                tensors.append((record.get("desc") or {}).get("attrs") or {})
        self.shared_tensor: dict[str, Any] = {}
        self.shared_layer: dict[str, Any] = {}
        if elide:
            self.shared_tensor = _common(tensors)
            self.shared_tensor.pop("dtype", None)
            self.shared_layer = _common(layer_attrs)

    def layer(self, index: int | None) -> str:
        """``layer 3 "name"`` (or with the type when unnamed)."""
        record = self.layers.get(index) if index is not None else None
        if record is None:
            return f"layer {index}"
        return layer_title(record)

    def tensor(self, ref: TensorRef) -> str:
        if ref.input is not None:
            return f'input "{self.inputs.get(ref.input, ref.input)}"'
        record = self.layers.get(ref.layer) if ref.layer is not None else None
        if record is not None:
            outputs = record.get("outputs") or []
            if ref.slot is not None and ref.slot < len(outputs):
                name = (outputs[ref.slot] or {}).get("name")
                if name:
                    return f'"{name}"'
            if record.get("name"):
                suffix = f".out{ref.slot}" if len(outputs) > 1 or ref.slot else ""
                return f'"{record.get("name")}"{suffix}'
        return f"layer[{ref.layer}].out[{ref.slot}]"


def enum_text(value: EnumValue, qualified: bool = True) -> str:
    name = value.name or str(value.value)
    return f"{value.type}.{name}" if qualified else name


def fmt(value: Any, labels: Labels | None = None, *, top: bool = True) -> str:
    """A compact, unambiguous text form of a record value."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        if len(value) <= 16:
            return "0x" + value.hex() if value else "b''"
        return f"<{len(value)} bytes blake3:{blake3.blake3(value).hexdigest()[:12]}>"
    if isinstance(value, EnumValue):
        return enum_text(value)
    if isinstance(value, TensorRef):
        return labels.tensor(value) if labels is not None else str(value)
    if isinstance(value, ConstructRef):
        return str(value)
    if isinstance(value, WeightsValue):
        dtype = enum_text(value.dtype, False) if isinstance(value.dtype, EnumValue) else value.dtype
        text = f"Weights({dtype}, {value.count})"
        if value.values is not None:
            text = text[:-1] + f", values blake3:{blake3.blake3(value.values).hexdigest()[:12]})"
        return text
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}={fmt(v, labels, top=False)}" for k, v in sorted(value.items()))
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, labels, top=False) for v in value) + "]"
    return repr(value)


def tensor_text(
    desc: Mapping[str, Any] | None, labels: Labels | None = None, *, named: bool = False
) -> str:
    """``HALF[-1, 128, 512]`` followed by the tensor's other hashed attributes."""
    if not desc:
        return "None"
    if desc.get("missing"):
        return "<missing>"
    attrs = dict(desc.get("attrs") or {})
    if labels is not None:
        for k in labels.shared_tensor:
            attrs.pop(k, None)
    dtype = attrs.pop("dtype", None)
    shape = attrs.pop("shape", None)
    head = enum_text(dtype, False) if isinstance(dtype, EnumValue) else fmt(dtype)
    if isinstance(shape, list):
        head += "[" + ", ".join(str(d) for d in shape) + "]"
    elif shape is not None:
        head += f"[{fmt(shape)}]"
    extra = [f"{k}={fmt(v, labels, top=False)}" for k, v in sorted(attrs.items())]
    dim_names = desc.get("dim_names")
    if dim_names and any(dim_names):
        extra.append(f"dim_names={fmt(dim_names)}")
    if desc.get("debug"):
        extra.append("debug=true")
    if "output_type" in desc:
        extra.append(f"output_type={fmt(desc['output_type'])}")
    if extra:
        head += " {" + ", ".join(extra) + "}"
    if named and desc.get("name"):
        head = f"{json.dumps(desc['name'], ensure_ascii=False)}: {head}"
    return head


def layer_type_text(record: Record) -> str:
    value = record.get("type")
    return enum_text(value, False) if isinstance(value, EnumValue) else fmt(value)


def layer_title(record: Record) -> str:
    """``layer 3 "attn.qkv" (MATRIX_MULTIPLY)``, or ``layer 3 (MATRIX_MULTIPLY)`` if unnamed."""
    name = record.get("name")
    named = f' "{name}"' if name else ""
    return f"layer {record.get('index')}{named} ({layer_type_text(record)})"


def record_title(record: Record) -> str:
    """A short label for any record (used by explain and diff)."""
    kind = record.kind
    if kind == "layer":
        return layer_title(record)
    if kind == "input":
        return f'input {record.get("index")} "{(record.get("tensor") or {}).get("name")}"'
    if kind == "output":
        return f'output {record.get("index")} "{(record.get("desc") or {}).get("name")}"'
    if kind == "construct":
        name = record.get("name")
        return f"{record.get('construct')} {record.get('index')}" + (f' "{name}"' if name else "")
    return kind


def record_body(record: Record, labels: Labels | None = None) -> str:
    """The record's hashed content, readable: shapes, attributes with enum names, wiring."""
    f = record.fields
    kind = record.kind
    if kind == "header":
        return f"{f.get('format')} schema={f.get('schema')} policy={fmt(f.get('policy'))}"
    if kind == "network":
        parts = [f"name={fmt(f.get('name'))}"]
        flags = f.get("flags") or []
        parts.append("flags=[" + ", ".join(fmt(x) for x in flags) + "]")
        parts += [f"{k}={fmt(v, labels)}" for k, v in sorted((f.get("attrs") or {}).items())]
        if f.get("calls"):
            parts.append(f"calls={fmt(f.get('calls'), labels)}")
        return " ".join(parts)
    if kind == "input":
        return tensor_text(f.get("tensor"), labels)
    if kind == "output":
        source = fmt(f.get("tensor"), labels)
        return f"{tensor_text(f.get('desc'), labels)} from {source}"
    if kind == "construct":
        return " ".join(f"{k}={fmt(v, labels)}" for k, v in sorted((f.get("attrs") or {}).items()))
    if kind == "layer":
        ins = ", ".join(fmt(r, labels) for r in f.get("inputs") or [])
        outs = ", ".join(tensor_text(d, labels, named=True) for d in f.get("outputs") or [])
        parts = [f"({ins}) -> ({outs})"]
        shared = labels.shared_layer if labels is not None else {}
        parts += [
            f"{k}={fmt(v, labels)}"
            for k, v in sorted((f.get("attrs") or {}).items())
            if k not in shared
        ]
        if "plugin" in f:
            parts.append(f"plugin={fmt(f.get('plugin'), labels)}")
        if "captured" in f:
            parts.append(f"captured={fmt(f.get('captured'), labels)}")
        return " ".join(parts)
    return " ".join(f"{k}={fmt(v, labels)}" for k, v in sorted(f.items()))


def explain_line(item: Item, labels: Labels) -> Text:
    """``[digest] title: body`` for one record, styled."""
    text = Text()
    text.append(f"[{short(item.digest)}] ", style="dim")
    text.append(record_title(item.record), style="bold cyan" if item.kind == "layer" else "bold")
    body = record_body(item.record, labels)
    if body:
        text.append(": ")
        text.append(body)
    return text


def shared_lines(labels: Labels) -> list[Text]:
    """The attribute values explain elided from every tensor / layer line."""
    lines = []
    for what, shared in (("tensor", labels.shared_tensor), ("layer", labels.shared_layer)):
        if shared:
            text = Text(f"(every {what} unless shown: ", style="dim")
            text.append(
                " ".join(f"{k}={fmt(v)}" for k, v in sorted(shared.items())) + ")", style="dim"
            )
            lines.append(text)
    return lines


def component_line(name: str, digest: str, value: str, width: int = 10) -> Text:
    text = Text()
    text.append(f"[{short(digest)}] ", style="dim")
    text.append(f"key.{name}", style="bold magenta")
    if value:
        text.append(": " + value)
    return text


def component_value_text(value: Any, limit: int = 160) -> str:
    """A one-line rendering of a key component value (JSON), shortened if huge."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def subject_summary(subject: Subject) -> dict[str, Any]:
    """Where a subject came from (shared by the JSON outputs)."""
    return {
        "source": subject.label,
        "origin": subject.origin,
        "backend": subject.backend,
        "trt_version": subject.trt_version,
    }
