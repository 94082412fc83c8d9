"""Compare two subjects: key components first, then an aligned diff of the networks.

Layers are aligned by user name (names unique on both sides), then by structure (same
type and the same, already aligned, inputs; repeated until nothing changes), then by
type in stream order for what is left. Tensor references are translated through the
alignment before comparing, so an inserted layer does not make every later reference
(whose canonical index shifted) look changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trt_netser.cli.render import (
    Labels,
    component_value_text,
    fmt,
    layer_title,
    layer_type_text,
    record_title,
    tensor_text,
)
from trt_netser.cli.subject import Component, Subject
from trt_netser.key import value_changes
from trt_netser.records import ConstructRef, EnumValue, Record, TensorRef

_SECTION = {"header": 0, "network": 1, "input": 2, "layer": 3, "output": 4, "weights": 5, "end": 6}
_LCS_LIMIT = 4_000_000  # cells; above this, remaining layers are paired greedily by type


@dataclass
class Change:
    """One difference: where (a readable label), what changed, old and new values."""

    section: str  # header | network | input | construct | layer | output | weights | end
    status: str  # added | removed | changed
    where: str
    what: str = ""
    old: str | None = None
    new: str | None = None
    order: tuple[int, int] = (0, 0)

    def sentence(self) -> str:
        if self.status == "added":
            return f"{self.where} was added" + (f": {self.new}" if self.new else "")
        if self.status == "removed":
            return f"{self.where} was removed" + (f" (was {self.old})" if self.old else "")
        return f"{self.where}: {self.what} changed from {self.old} to {self.new}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "status": self.status,
            "where": self.where,
            "what": self.what,
            "old": self.old,
            "new": self.new,
        }


@dataclass
class ComponentChange:
    """A key component whose digest differs (or that only one side has)."""

    name: str
    old: Component | None
    new: Component | None
    details: list[tuple[str, str, str]] = field(default_factory=list)  # path, old, new

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "old_digest": self.old.digest if self.old else None,
            "new_digest": self.new.digest if self.new else None,
            "old_value": self.old.value if self.old else None,
            "new_value": self.new.value if self.new else None,
            "details": [{"path": p, "old": o, "new": n} for p, o, n in self.details],
        }


@dataclass
class LayerPair:
    """A layer of A aligned with a layer of B, and how the pair was found."""

    a: int
    b: int
    how: str  # name | structure | type


@dataclass
class DiffResult:
    """Everything ``diff`` reports; ``equal`` decides the exit code."""

    a: Subject
    b: Subject
    equal: bool
    compared: str  # "key" or "network"
    components: list[ComponentChange]
    network_equal: bool
    changes: list[Change]
    pairs: list[LayerPair]
    first: str | None

    def counts(self) -> dict[str, int]:
        layers = [c for c in self.changes if c.section == "layer"]
        changed = {c.where for c in layers if c.status == "changed"}
        return {
            "layers_added": sum(1 for c in layers if c.status == "added"),
            "layers_removed": sum(1 for c in layers if c.status == "removed"),
            "layers_changed": len(changed),
            "changes": len(self.changes),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "trt-netser.diff",
            "version": 1,
            "equal": self.equal,
            "compared": self.compared,
            "a": {"source": self.a.label, "key": self.a.key_path, "network": self.a.digest},
            "b": {"source": self.b.label, "key": self.b.key_path, "network": self.b.digest},
            "components": [c.to_dict() for c in self.components],
            "network_equal": self.network_equal,
            "first_divergence": self.first,
            "counts": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
        }


# --------------------------------------------------------------------------- values


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested maps to ``a.b.c`` paths (lists stay whole: they are values)."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for k, v in sorted(value.items(), key=lambda kv: str(kv[0])):
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix or "value": value}


class _Side:
    """One subject's records by kind, with lookups used by the alignment."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        self.records = [item.record for item in subject.items]
        self.by_kind: dict[str, list[Record]] = {}
        for record in self.records:
            self.by_kind.setdefault(record.kind, []).append(record)
        self.layers = {int(r.get("index")): r for r in self.by_kind.get("layer", [])}
        self.inputs = {int(r.get("index")): r for r in self.by_kind.get("input", [])}
        self.labels = Labels(subject.items)

    def input_name(self, index: int) -> str:
        record = self.inputs.get(index)
        return str((record.get("tensor") or {}).get("name")) if record else f"#{index}"

    def one(self, kind: str) -> Record | None:
        found = self.by_kind.get(kind)
        return found[0] if found else None


class _Translator:
    """Maps A-side references into B's coordinates so equal wiring compares equal."""

    def __init__(self, a: _Side, b: _Side, pairs: dict[int, int], constructs: dict[Any, Any]):
        self.a, self.b, self.pairs, self.constructs = a, b, pairs, constructs

    def token(self, value: Any, side: str) -> Any:
        if isinstance(value, TensorRef):
            owner = self.a if side == "a" else self.b
            if value.input is not None:
                return ("input", owner.input_name(value.input))
            if side == "a":
                mapped = self.pairs.get(value.layer) if value.layer is not None else None
                if mapped is None:
                    return ("a-only", value.layer, value.slot)
                return ("layer", mapped, value.slot)
            return ("layer", value.layer, value.slot)
        if isinstance(value, ConstructRef):
            if side == "a":
                key = (value.kind, value.index)
                return ("construct", *self.constructs.get(key, ("a-only", *key)))
            return ("construct", value.kind, value.index)
        if isinstance(value, EnumValue):
            return ("enum", value.type, value.value)
        if isinstance(value, Mapping):
            return tuple(sorted((k, self.token(v, side)) for k, v in value.items()))
        if isinstance(value, (list, tuple)):
            return ("list", *(self.token(v, side) for v in value))
        if isinstance(value, float) and value != value:
            return ("nan",)
        return value

    def same(self, old: Any, new: Any) -> bool:
        return bool(self.token(old, "a") == self.token(new, "b"))


# --------------------------------------------------------------------------- alignment


def _lcs_pairs(xs: list[Any], ys: list[Any]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of two label lists."""
    n, m = len(xs), len(ys)
    if n * m > _LCS_LIMIT:
        out, j = [], 0
        for i, x in enumerate(xs):
            k = next((k for k in range(j, m) if ys[k] == x), None)
            if k is not None:
                out.append((i, k))
                j = k + 1
        return out
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if xs[i] == ys[j] else max(below[j], row[j + 1])
    out, i, j = [], 0, 0
    while i < n and j < m:
        if xs[i] == ys[j]:
            out.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def align_layers(a: _Side, b: _Side) -> list[LayerPair]:
    """Pair A's layers with B's: by user name, then structure, then type order."""
    pairs: dict[int, LayerPair] = {}
    used_b: set[int] = set()

    def names(side: _Side) -> dict[str, int]:
        counts: dict[str, list[int]] = {}
        for i, r in side.layers.items():
            if r.get("name"):
                counts.setdefault(str(r.get("name")), []).append(i)
        return {n: ix[0] for n, ix in counts.items() if len(ix) == 1}

    names_b = names(b)
    for name, i in names(a).items():
        j = names_b.get(name)
        if j is not None:
            pairs[i] = LayerPair(i, j, "name")
            used_b.add(j)

    def wiring(side: str, record: Record) -> tuple[Any, ...] | None:
        out: list[Any] = []
        for ref in record.get("inputs") or []:
            if ref is None:
                out.append(None)
            elif ref.input is not None:
                owner = a if side == "a" else b
                out.append(("input", owner.input_name(ref.input)))
            elif side == "a":
                pair = pairs.get(ref.layer)
                if pair is None:
                    return None
                out.append(("layer", pair.b, ref.slot))
            else:
                out.append(("layer", ref.layer, ref.slot))
        return (layer_type_text(record), *out)

    def structure_pass() -> None:
        changed = True
        while changed:  # a pass in canonical order aligns whole chains; repeat for stragglers
            changed = False
            free_b: dict[tuple[Any, ...], list[int]] = {}
            for j in sorted(b.layers, reverse=True):
                if j not in used_b:
                    w = wiring("b", b.layers[j])
                    if w is not None:
                        free_b.setdefault(w, []).append(j)
            for i in sorted(a.layers):
                if i in pairs:
                    continue
                w = wiring("a", a.layers[i])
                bucket = free_b.get(w) if w else None
                while bucket and bucket[-1] in used_b:
                    bucket.pop()
                if bucket:
                    j = bucket.pop()  # buckets are reversed: the lowest index comes first
                    pairs[i] = LayerPair(i, j, "structure")
                    used_b.add(j)
                    changed = True

    structure_pass()
    rest_a = [i for i in sorted(a.layers) if i not in pairs]
    rest_b = [j for j in sorted(b.layers) if j not in used_b]
    if rest_a and rest_b:
        lcs = _lcs_pairs(
            [layer_type_text(a.layers[i]) for i in rest_a],
            [layer_type_text(b.layers[j]) for j in rest_b],
        )
        for x, y in lcs:
            pairs[rest_a[x]] = LayerPair(rest_a[x], rest_b[y], "type")
            used_b.add(rest_b[y])
    return sorted(pairs.values(), key=lambda p: p.a)


def _align_constructs(a: _Side, b: _Side) -> dict[tuple[str, int], tuple[str, int]]:
    mapping: dict[tuple[str, int], tuple[str, int]] = {}
    bs = {(r.get("construct"), r.get("index")): r for r in b.by_kind.get("construct", [])}
    by_name = {r.get("name"): k for k, r in bs.items() if r.get("name")}
    used: set[Any] = set()
    for r in a.by_kind.get("construct", []):
        k = (r.get("construct"), r.get("index"))
        target = by_name.get(r.get("name")) if r.get("name") else None
        if target is None and k in bs and k not in used:
            target = k
        if target is not None and target not in used:
            mapping[k] = target
            used.add(target)
    return mapping


# --------------------------------------------------------------------------- comparing


class _Differ:
    def __init__(self, a: Subject, b: Subject) -> None:
        self.a, self.b = _Side(a), _Side(b)
        self.changes: list[Change] = []
        self.pairs = align_layers(self.a, self.b)
        self.constructs = _align_constructs(self.a, self.b)
        self.tr = _Translator(self.a, self.b, {p.a: p.b for p in self.pairs}, self.constructs)

    def add(
        self,
        section: str,
        status: str,
        where: str,
        what: str = "",
        old: Any = None,
        new: Any = None,
        pos: int = 0,
    ) -> None:
        self.changes.append(
            Change(section, status, where, what, old, new, (_SECTION.get(section, 3), pos))
        )

    def show_a(self, value: Any) -> str:
        return fmt(value, self.a.labels)

    def show_b(self, value: Any) -> str:
        return fmt(value, self.b.labels)

    def compare_maps(
        self,
        section: str,
        where: str,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        pos: int,
        prefix: str = "attribute ",
    ) -> None:
        for name in sorted(set(old) | set(new)):
            if name not in new:
                self.add(
                    section,
                    "changed",
                    where,
                    f"{prefix}{name}",
                    self.show_a(old[name]),
                    "(absent)",
                    pos,
                )
            elif name not in old:
                self.add(
                    section,
                    "changed",
                    where,
                    f"{prefix}{name}",
                    "(absent)",
                    self.show_b(new[name]),
                    pos,
                )
            elif not self.tr.same(old[name], new[name]):
                self.add(
                    section,
                    "changed",
                    where,
                    f"{prefix}{name}",
                    self.show_a(old[name]),
                    self.show_b(new[name]),
                    pos,
                )

    def run(self) -> list[Change]:
        self.header()
        self.network()
        self.io("input")
        self.construct_records()
        self.layers()
        self.io("output")
        self.weights()
        self.end()
        self.changes.sort(key=lambda c: c.order)
        return self.changes

    def header(self) -> None:
        old, new = self.a.one("header"), self.b.one("header")
        if old is None or new is None:
            return
        self.compare_maps(
            "header", "stream header", flatten(old.fields), flatten(new.fields), 0, ""
        )

    def network(self) -> None:
        old, new = self.a.one("network"), self.b.one("network")
        if old is None or new is None:
            return
        where = "network"
        if old.get("name") != new.get("name"):
            self.add(
                "network", "changed", where, "name", fmt(old.get("name")), fmt(new.get("name"))
            )
        flags_a = {self.show_a(f) for f in old.get("flags") or []}
        flags_b = {self.show_b(f) for f in new.get("flags") or []}
        if flags_a != flags_b:
            self.add(
                "network",
                "changed",
                where,
                "creation flags",
                "[" + ", ".join(sorted(flags_a)) + "]",
                "[" + ", ".join(sorted(flags_b)) + "]",
            )
        self.compare_maps("network", where, old.get("attrs") or {}, new.get("attrs") or {}, 0)
        if not self.tr.same(old.get("calls"), new.get("calls")):
            self.add(
                "network",
                "changed",
                where,
                "captured calls",
                self.show_a(old.get("calls")),
                self.show_b(new.get("calls")),
            )

    def _tensor(
        self,
        section: str,
        where: str,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        pos: int,
        prefix: str = "",
    ) -> None:
        if old.get("name") != new.get("name"):
            self.add(
                section,
                "changed",
                where,
                f"{prefix}name",
                fmt(old.get("name")),
                fmt(new.get("name")),
                pos,
            )
        self.compare_maps(
            section, where, old.get("attrs") or {}, new.get("attrs") or {}, pos, prefix
        )
        for extra in ("dim_names", "debug", "output_type", "missing"):
            if not self.tr.same(old.get(extra), new.get(extra)):
                self.add(
                    section,
                    "changed",
                    where,
                    f"{prefix}{extra}",
                    self.show_a(old.get(extra)),
                    self.show_b(new.get(extra)),
                    pos,
                )

    def io(self, kind: str) -> None:
        field_name = "tensor" if kind == "input" else "desc"

        def name_of(record: Record) -> str:
            return str((record.get(field_name) or {}).get("name"))

        olds = {name_of(r): r for r in self.a.by_kind.get(kind, [])}
        news = {name_of(r): r for r in self.b.by_kind.get(kind, [])}
        for name, old in olds.items():
            where = f'{kind} "{name}"'
            pos = int(old.get("index", 0))
            new = news.get(name)
            if new is None:
                self.add(kind, "removed", where, old=tensor_text(old.get(field_name)), pos=pos)
                continue
            if old.get("index") != new.get("index"):
                self.add(
                    kind,
                    "changed",
                    where,
                    "position",
                    str(old.get("index")),
                    str(new.get("index")),
                    pos,
                )
            self._tensor(kind, where, old.get(field_name) or {}, new.get(field_name) or {}, pos)
            if kind == "output" and not self.tr.same(old.get("tensor"), new.get("tensor")):
                self.add(
                    kind,
                    "changed",
                    where,
                    "source",
                    self.show_a(old.get("tensor")),
                    self.show_b(new.get("tensor")),
                    pos,
                )
        for name, new in news.items():
            if name not in olds:
                self.add(
                    kind,
                    "added",
                    f'{kind} "{name}"',
                    new=tensor_text(new.get(field_name)),
                    pos=int(new.get("index", 0)),
                )

    def construct_records(self) -> None:
        bs = {(r.get("construct"), r.get("index")): r for r in self.b.by_kind.get("construct", [])}
        matched = set()
        for r in self.a.by_kind.get("construct", []):
            k = (r.get("construct"), r.get("index"))
            target = self.constructs.get(k)
            where = record_title(r)
            if target is None:
                self.add("construct", "removed", where, pos=int(r.get("index", 0)))
                continue
            matched.add(target)
            new = bs[target]
            if r.get("name") != new.get("name"):
                self.add(
                    "construct", "changed", where, "name", fmt(r.get("name")), fmt(new.get("name"))
                )
            self.compare_maps("construct", where, r.get("attrs") or {}, new.get("attrs") or {}, 0)
        for k, r in bs.items():
            if k not in matched:
                self.add("construct", "added", record_title(r), pos=int(r.get("index", 0)))

    def layers(self) -> None:
        paired_b = {p.b for p in self.pairs}
        for pair in self.pairs:
            old, new = self.a.layers[pair.a], self.b.layers[pair.b]
            self.layer_pair(old, new, pair)
        paired_a = {p.a for p in self.pairs}
        for i, old in sorted(self.a.layers.items()):
            if i not in paired_a:
                self.add(
                    "layer",
                    "removed",
                    layer_title(old),
                    old=self._layer_summary(old, self.a),
                    pos=i,
                )
        for j, new in sorted(self.b.layers.items()):
            if j not in paired_b:
                self.add(
                    "layer", "added", layer_title(new), new=self._layer_summary(new, self.b), pos=j
                )

    def _layer_summary(self, record: Record, side: _Side) -> str:
        ins = ", ".join(fmt(r, side.labels) for r in record.get("inputs") or [])
        return f"inputs ({ins})"

    def layer_pair(self, old: Record, new: Record, pair: LayerPair) -> None:
        where = layer_title(old)
        if old.get("index") != new.get("index") or old.get("name") != new.get("name"):
            where = f"{layer_title(old)} -> {layer_title(new)}"
        pos = pair.a
        if old.get("name") != new.get("name"):
            self.add(
                "layer", "changed", where, "name", fmt(old.get("name")), fmt(new.get("name")), pos
            )
        if not self.tr.same(old.get("type"), new.get("type")):
            self.add(
                "layer", "changed", where, "type", layer_type_text(old), layer_type_text(new), pos
            )
        ins_a, ins_b = old.get("inputs") or [], new.get("inputs") or []
        for slot in range(max(len(ins_a), len(ins_b))):
            x = ins_a[slot] if slot < len(ins_a) else "(absent)"
            y = ins_b[slot] if slot < len(ins_b) else "(absent)"
            if not self.tr.same(x, y):
                self.add(
                    "layer",
                    "changed",
                    where,
                    f"input {slot} (rewired)",
                    self.show_a(x),
                    self.show_b(y),
                    pos,
                )
        outs_a, outs_b = old.get("outputs") or [], new.get("outputs") or []
        for slot in range(max(len(outs_a), len(outs_b))):
            if slot >= len(outs_a) or slot >= len(outs_b):
                self.add(
                    "layer",
                    "changed",
                    where,
                    f"output {slot}",
                    tensor_text(outs_a[slot]) if slot < len(outs_a) else "(absent)",
                    tensor_text(outs_b[slot]) if slot < len(outs_b) else "(absent)",
                    pos,
                )
                continue
            self._tensor(
                "layer", where, outs_a[slot] or {}, outs_b[slot] or {}, pos, f"output {slot} "
            )
        self.compare_maps("layer", where, old.get("attrs") or {}, new.get("attrs") or {}, pos)
        for extra in ("plugin", "captured"):
            x, y = old.get(extra), new.get(extra)
            if isinstance(x, Mapping) and isinstance(y, Mapping):
                self.compare_maps("layer", where, flatten(x), flatten(y), pos, f"{extra}.")
            elif not self.tr.same(x, y):
                self.add("layer", "changed", where, extra, self.show_a(x), self.show_b(y), pos)

    def weights(self) -> None:
        old, new = self.a.one("weights"), self.b.one("weights")
        if old is None or new is None:
            return
        for name in ("captured", "names", "refittable"):
            x, y = old.get(name), new.get(name)
            if isinstance(x, list) and isinstance(y, list):
                gone = sorted(set(map(str, x)) - set(map(str, y)))
                came = sorted(set(map(str, y)) - set(map(str, x)))
                if gone or came:
                    self.add(
                        "weights",
                        "changed",
                        "weights",
                        name,
                        ", ".join(gone) or "(none removed)",
                        ", ".join(came) or "(none added)",
                    )
                elif x != y:
                    self.add("weights", "changed", "weights", f"{name} order", fmt(x), fmt(y))
            elif not self.tr.same(x, y):
                self.add("weights", "changed", "weights", name, fmt(x), fmt(y))

    def end(self) -> None:
        old, new = self.a.one("end"), self.b.one("end")
        if old is None or new is None:
            return
        if old.get("partial") != new.get("partial"):
            self.add(
                "end",
                "changed",
                "hash completeness",
                "unreadable state",
                fmt(old.get("partial")),
                fmt(new.get("partial")),
            )


def _component_changes(a: Subject, b: Subject) -> list[ComponentChange]:
    out = []
    names = [c.name for c in a.components] + [
        c.name for c in b.components if a.component(c.name) is None
    ]
    for name in names:
        x, y = a.component(name), b.component(name)
        if x is not None and y is not None and x.digest == y.digest:
            continue
        change = ComponentChange(name, x, y)
        if x is not None and y is not None and name != "network":
            found = value_changes(x.value, y.value)
            # Digests inside a value only restate the fields next to them: list them last.
            found.sort(key=lambda d: d[0].rsplit(".", 1)[-1] == "digest")
            change.details = [
                (path or "value", component_value_text(o, 80), component_value_text(n, 80))
                for path, o, n in found
            ]
        out.append(change)
    return out


#: Why a network change cannot be itemized when one side is a cache entry.
NO_RECORDS = (
    "the network differs ({old} -> {new}); a cache entry keeps the key, not the network's "
    "records: diff against a dump of the build that made it to see which layers"
)


def diff_subjects(a: Subject, b: Subject) -> DiffResult:
    """Compare A and B: key components, then the networks if their digests differ.

    Records are loaded (``Subject.load_records``) only when the network digests differ,
    so identical inputs stop at the digests. A side without records (a cache entry)
    gives the component differences and one sentence instead of the network diff.
    """
    compared = "key" if a.key_path and b.key_path else "network"
    equal = a.key_path == b.key_path if compared == "key" else a.digest == b.digest
    components = _component_changes(a, b)
    network_equal = a.digest == b.digest
    changes: list[Change] = []
    pairs: list[LayerPair] = []
    itemize = a.origin != "cache" and b.origin != "cache"
    if not network_equal and not itemize:
        sentence = NO_RECORDS.format(old=a.digest[:12], new=b.digest[:12])
        for comp in components:
            if not _is_network_component(comp) and comp.details:
                path, old, new = comp.details[0]
                sentence = f"key component {comp.name}: {path} changed from {old} to {new}"
                break
        return DiffResult(a, b, equal, compared, components, network_equal, [], [], sentence)
    if not network_equal:
        a.load_records()
        b.load_records()
        differ = _Differ(a, b)
        changes = differ.run()
        pairs = differ.pairs
    first: str | None = None
    for comp in components:
        if _is_network_component(comp):
            if changes:
                first = changes[0].sentence()
                break
            continue
        if comp.old is None or comp.new is None:
            first = f"key component {comp.name} exists only in {'B' if comp.old is None else 'A'}"
        elif comp.details:
            path, old, new = comp.details[0]
            first = f"key component {comp.name}: {path} changed from {old} to {new}"
        else:
            first = f"key component {comp.name} changed ({comp.old.digest[:12]} -> {comp.new.digest[:12]})"
        break
    if first is None and changes:
        first = changes[0].sentence()
    if first is None and not network_equal:
        first = "the network streams differ, but no difference could be aligned (compare the explain output)"
    return DiffResult(a, b, equal, compared, components, network_equal, changes, pairs, first)


def _is_network_component(comp: ComponentChange) -> bool:
    """Whether a key component is the network digest (its details are the network diff)."""
    for c in (comp.old, comp.new):
        if c is not None and c.name.split(".")[-1] in ("network", "net"):
            return True
    return False
