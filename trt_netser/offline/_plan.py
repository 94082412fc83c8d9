"""The offline plan format: an engine's bytes, and back.

Layout (all integers little endian; see docs/offline-engine.md for the payload schema)::

    offset    size  field
    0         8     magic  b"TNSPLAN\\0"
    8         2     format version (2)
    10        2     reserved, 0
    12        8     payload length N
    20        8     data length D
    28        N     payload: one CBOR map in canonical encoding (RFC 8949 4.2.1)
    28+N      D     data: the network record, then the bytes of every stored weight
    28+N+D    32    blake3 digest of bytes [0, 28+N+D)

The payload holds the TensorRT version and offline device the plan was built for, the
builder config, the engine's IO tensors and profiles, and, as columns, the weight uses
(their bytes' lengths in the data region; refittable ones left out when the plan excludes
weights) and the refit inventory. The data region holds the network as a :class:`GraphIR`
record (every layer, attribute and weight use; canonical CBOR, decoded only when the IR is
needed, so deserializing and re-serializing a large engine stays cheap) and the weights'
bytes, which a deserialized engine keeps as slices of the plan (no per-weight copies and
no CBOR decoding of weight data). Nothing in it depends on object ids, clocks, counters or
dict order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import blake3
import cbor2

from trt_netser.offline._enums import DataType, LayerType, WeightsRole
from trt_netser.offline._inventory import Entry
from trt_netser.offline._ir import (
    ConstructIR,
    GraphIR,
    LayerIR,
    ProfileIR,
    TensorIR,
    WeightIR,
    enum_record,
    from_record,
    paused_gc,
    to_record,
)

MAGIC = b"TNSPLAN\0"
FORMAT_VERSION = 2
#: magic, format version, reserved, payload length N, data length D
HEADER = struct.Struct("<8sHHQQ")
_VERSION = struct.Struct("<H")  # at offset 8 in every format version
DIGEST_SIZE = 32
TENSORRT_VERSION = "10.16.1.11"
#: The device every offline plan is built for and every offline runtime runs on.
DEVICE: dict[str, Any] = {
    "name": "trt-netser offline device",
    "compute_capability": [0, 0],
    "total_memory": 80 << 30,
}


class PlanError(Exception):
    """A plan that cannot be deserialized; the message is what the runtime logs."""


@dataclass
class GraphHead:
    """What an engine needs of its network without decoding every layer."""

    name: str
    flags: int
    tensors: dict[int, TensorIR]  # the IO tensors, by id
    inputs: list[int]
    outputs: list[int]
    shape_outputs: list[int]
    profiles: list[ProfileIR]
    num_layers: int


class Plan:
    """The content of a plan, as the engine holds it (the layer graph is decoded lazily)."""

    __slots__ = (
        "_ir",
        "_network",
        "config",
        "head",
        "inventory",
        "refittable",
        "serialization_flags",
        "weights",
        "weights_excluded",
    )

    def __init__(
        self,
        *,
        head: GraphHead,
        weights: list[WeightIR],
        config: dict[str, Any],
        inventory: list[Entry],
        refittable: bool,
        weights_excluded: bool,
        serialization_flags: int,
        network: bytes | None = None,
        ir: GraphIR | None = None,
    ) -> None:
        if network is None and ir is None:
            raise ValueError("a plan needs its network bytes or its IR")
        self.head = head
        self.weights = weights
        self.config = config
        self.inventory = inventory
        self.refittable = refittable
        self.weights_excluded = weights_excluded
        self.serialization_flags = serialization_flags
        self._network = network
        self._ir = ir

    @classmethod
    def from_ir(cls, ir: GraphIR, **kw: Any) -> Plan:
        """The plan of a freshly lowered network."""
        io = [*ir.inputs, *ir.outputs, *ir.shape_outputs]
        head = GraphHead(
            name=ir.name,
            flags=ir.flags,
            tensors={t: ir.tensors[t] for t in io},
            inputs=list(ir.inputs),
            outputs=list(ir.outputs),
            shape_outputs=list(ir.shape_outputs),
            profiles=ir.profiles,
            num_layers=len(ir.layers),
        )
        return cls(head=head, weights=ir.weights, ir=ir, **kw)

    def derive(self, **changes: Any) -> Plan:
        """The same engine with other engine-level fields (sharing graph and weights)."""
        fields: dict[str, Any] = {
            "head": self.head,
            "weights": self.weights,
            "config": self.config,
            "inventory": self.inventory,
            "refittable": self.refittable,
            "weights_excluded": self.weights_excluded,
            "serialization_flags": self.serialization_flags,
            "network": self._network,
            "ir": self._ir,
        }
        fields.update(changes)
        return Plan(**fields)

    @property
    def ir(self) -> GraphIR:
        """The full layer graph (decoded on first use; shares :attr:`weights`).

        Raises :class:`PlanError` if the network record is malformed, which only a plan
        crafted with a matching digest can be.
        """
        if self._ir is None:
            assert self._network is not None
            try:
                with paused_gc():
                    net = cbor2.loads(self._network)
                    self._ir = _decode_network(net, self.head, self.weights)
            except Exception as exc:  # digest-valid but malformed: a crafted plan
                raise PlanError(
                    f"{_SERIAL} network record schema failed. The engine plan is malformed: "
                    f"{type(exc).__name__}: {exc}.)"
                ) from None
        return self._ir

    def network_bytes(self) -> bytes:
        """The canonical CBOR of the network record (encoded on first use)."""
        if self._network is None:
            assert self._ir is not None
            with paused_gc():
                self._network = cbor2.dumps(_network_rec(self._ir), canonical=True)
        return self._network


# -- encoding ---------------------------------------------------------------------------------
def _tensor_rec(t: TensorIR) -> list[Any]:
    return [
        t.name,
        enum_record(t.dtype),
        list(t.shape),
        enum_record(t.location),
        t.is_shape,
        t.is_execution,
        t.producer,
        t.index,
    ]


def _layer_rec(layer: LayerIR) -> dict[str, Any]:
    return {
        "name": layer.name,
        "type": layer.type.name,
        "inputs": list(layer.inputs),
        "outputs": list(layer.outputs),
        "attrs": {k: to_record(v) for k, v in layer.attrs.items()},
        "private": {k: to_record(v) for k, v in layer.private.items()},
        "metadata": layer.metadata,
        "num_ranks": layer.num_ranks,
        "precision": enum_record(layer.precision),
        "output_types": [[i, enum_record(d)] for i, d in sorted(layer.output_types.items())],
        "construct": layer.construct,
    }


def _construct_rec(c: ConstructIR) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "name": c.name,
        "metadata": c.metadata,
        "num_ranks": c.num_ranks,
        "inputs": list(c.inputs),
        "attrs": {k: to_record(v) for k, v in c.attrs.items()},
        "layers": list(c.layers),
    }


def _profile_rec(p: ProfileIR) -> dict[str, Any]:
    return {
        "shapes": {k: [list(d) for d in v] for k, v in p.shapes.items()},
        "values": {k: [list(d) for d in v] for k, v in p.values.items()},
        "extra_memory_target": p.extra_memory_target,
    }


def _network_rec(ir: GraphIR) -> dict[str, Any]:
    return {
        "tensors": [_tensor_rec(t) for t in ir.tensors],
        "layers": [_layer_rec(layer) for layer in ir.layers],
        "constructs": [_construct_rec(c) for c in ir.constructs],
    }


_ENTRY_FIELDS = ("weights", "layer", "role", "name", "refittable", "reason", "group")


def _inventory_rec(entries: list[Entry]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {f: [] for f in _ENTRY_FIELDS}
    for e in entries:
        cols["weights"].append(e.weights)
        cols["layer"].append(e.layer)
        cols["role"].append(None if e.role is None else e.role.name)
        cols["name"].append(e.name)
        cols["refittable"].append(e.refittable)
        cols["reason"].append(e.reason)
        cols["group"].append(e.group)
    return cols


def encode(plan: Plan, *, exclude: frozenset[int] = frozenset()) -> bytes:
    """The plan bytes; weights whose index is in ``exclude`` are written without data."""
    head = plan.head
    weights = plan.weights
    network = plan.network_bytes()
    stored = [None if i in exclude else w.data for i, w in enumerate(weights)]
    payload = {
        "format": FORMAT_VERSION,
        "tensorrt": TENSORRT_VERSION,
        "device": DEVICE,
        "config": plan.config,
        "engine": {
            "refittable": plan.refittable,
            "weights_excluded": plan.weights_excluded,
            "serialization_flags": plan.serialization_flags,
        },
        "io": {
            "name": head.name,
            "flags": head.flags,
            "tensors": [[tid, *_tensor_rec(t)] for tid, t in sorted(head.tensors.items())],
            "inputs": head.inputs,
            "outputs": head.outputs,
            "shape_outputs": head.shape_outputs,
            "profiles": [_profile_rec(p) for p in head.profiles],
            "num_layers": head.num_layers,
        },
        "network": len(network),
        "weights": {
            "layer": [w.layer for w in weights],
            "attr": [w.attr for w in weights],
            "dtype": [w.dtype.name for w in weights],
            "count": [w.count for w in weights],
            "name": [w.name for w in weights],
            "nbytes": [None if d is None else len(d) for d in stored],
        },
        "inventory": _inventory_rec(plan.inventory),
    }
    body = cbor2.dumps(payload, canonical=True)
    data = [network, *(d for d in stored if d is not None)]
    size = sum(map(len, data))
    out = b"".join([HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(body), size), body, *data])
    return out + blake3.blake3(out).digest()


# -- decoding ---------------------------------------------------------------------------------
_SERIAL = "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (Serialization assertion"


def _check_envelope(data: bytes) -> tuple[dict[str, Any], memoryview]:
    """The payload and the data region (a view of ``data``) of a well-formed plan."""
    if len(data) < HEADER.size or data[:8] != MAGIC:
        raise PlanError(f"{_SERIAL} plan->header.magicTag == rt::kPLAN_MAGIC_TAG failed.)")
    (version,) = _VERSION.unpack_from(data, 8)
    if version != FORMAT_VERSION:
        raise PlanError(
            f"{_SERIAL} formatVersion == {FORMAT_VERSION} failed. Unsupported offline plan "
            f"format version {version}.)"
        )
    _, _, _, length, size = HEADER.unpack_from(data)
    expected = HEADER.size + length + size + DIGEST_SIZE
    if len(data) != expected:
        raise PlanError(
            f"{_SERIAL} size == expectedSize failed. Truncated or padded engine plan: "
            f"expected {expected} bytes, got {len(data)}.)"
        )
    end = HEADER.size + length
    view = memoryview(data)  # slices of a view copy no bytes (a plan is the weights' size)
    if blake3.blake3(view[: end + size]).digest() != view[end + size :]:
        raise PlanError(f"{_SERIAL} checksum matches failed. The engine plan is corrupted.)")
    try:
        # cbor2 decodes bytes faster than a memoryview; the payload is small (no weights)
        payload = cbor2.loads(data[HEADER.size : end])
    except Exception:
        raise PlanError(
            f"{_SERIAL} payload decodes failed. The engine plan is corrupted.)"
        ) from None
    if not isinstance(payload, dict):
        raise PlanError(f"{_SERIAL} payload is a map failed. The engine plan is corrupted.)")
    return payload, view[end : end + size]


def _dims(v: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in v)


def _bounds(v: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A profile's (min, opt, max) record; not three of them is a malformed plan (ValueError)."""
    lo, opt, hi = v
    return _dims(lo), _dims(opt), _dims(hi)


def _tensor(tid: int, r: list[Any]) -> TensorIR:
    return TensorIR(
        id=tid,
        name=str(r[0]),
        dtype=from_record(r[1]),
        shape=_dims(r[2]),
        location=from_record(r[3]),
        is_shape=bool(r[4]),
        is_execution=bool(r[5]),
        producer=r[6],
        index=int(r[7]),
    )


def _decode_network(net: dict[str, Any], head: GraphHead, weights: list[WeightIR]) -> GraphIR:
    tensors = [_tensor(i, r) for i, r in enumerate(net["tensors"])]
    layers = [
        LayerIR(
            index=i,
            name=str(r["name"]),
            type=LayerType.__members__[r["type"]],
            inputs=tuple(r["inputs"]),
            outputs=tuple(r["outputs"]),
            attrs={k: from_record(v) for k, v in r["attrs"].items()},
            private={k: from_record(v) for k, v in r["private"].items()},
            metadata=str(r["metadata"]),
            num_ranks=int(r["num_ranks"]),
            precision=from_record(r["precision"]),
            output_types={int(i): from_record(d) for i, d in r["output_types"]},
            construct=r["construct"],
        )
        for i, r in enumerate(net["layers"])
    ]
    constructs = [
        ConstructIR(
            index=i,
            kind=str(r["kind"]),
            name=str(r["name"]),
            metadata=str(r["metadata"]),
            num_ranks=int(r["num_ranks"]),
            inputs=tuple(r["inputs"]),
            attrs={k: from_record(v) for k, v in r["attrs"].items()},
            layers=tuple(r["layers"]),
        )
        for i, r in enumerate(net["constructs"])
    ]
    return GraphIR(
        name=head.name,
        flags=head.flags,
        tensors=tensors,
        inputs=list(head.inputs),
        outputs=list(head.outputs),
        shape_outputs=list(head.shape_outputs),
        layers=layers,
        constructs=constructs,
        weights=weights,
        profiles=head.profiles,
    )


def _same_lengths(cols: list[Any]) -> None:
    """Columns of one table hold one value per row (ValueError naming the short one)."""
    n = len(cols[0])
    if any(len(c) != n for c in cols):
        for _ in zip(*cols, strict=True):
            pass


def _decode_weights(w: dict[str, Any], network: Any, region: memoryview) -> list[WeightIR]:
    """The weight uses; each stored weight's data is a slice of the data region (no copy)."""
    cols = [w["layer"], w["attr"], w["dtype"], w["count"], w["name"], w["nbytes"]]
    _same_lengths(cols)
    sizes = cols[5]
    if type(network) is not int or not set(map(type, sizes)) <= {int, type(None)}:
        raise TypeError("a data region size is not an integer")
    stored = [n for n in sizes if n is not None]
    if network < 0 or (stored and min(stored) < 0):
        raise ValueError("a data region size is negative")
    if network + sum(stored) != len(region):
        raise ValueError(
            f"the data region holds {len(region)} bytes, the network record and weights "
            f"{network + sum(stored)}"
        )
    ends = list(accumulate(stored, initial=network))
    data = iter(map(region.__getitem__, map(slice, ends, ends[1:])))
    dtypes = DataType.__members__
    return list(
        map(
            WeightIR,
            map(int, cols[0]),
            map(str, cols[1]),
            map(dtypes.__getitem__, cols[2]),
            map(int, cols[3]),
            cols[4],
            [None if n is None else next(data) for n in sizes],
        )
    )


def _decode_payload(p: dict[str, Any], region: memoryview) -> Plan:
    io = p["io"]
    profiles = [
        ProfileIR(
            shapes={k: _bounds(v) for k, v in r["shapes"].items()},
            values={k: _bounds(v) for k, v in r["values"].items()},
            extra_memory_target=float(r["extra_memory_target"]),
        )
        for r in io["profiles"]
    ]
    head = GraphHead(
        name=str(io["name"]),
        flags=int(io["flags"]),
        tensors={int(r[0]): _tensor(int(r[0]), r[1:]) for r in io["tensors"]},
        inputs=[int(t) for t in io["inputs"]],
        outputs=[int(t) for t in io["outputs"]],
        shape_outputs=[int(t) for t in io["shape_outputs"]],
        profiles=profiles,
        num_layers=int(io["num_layers"]),
    )
    for tid in (*head.inputs, *head.outputs, *head.shape_outputs):
        if tid not in head.tensors:
            raise ValueError(f"IO tensor {tid} is not described")
    weights = _decode_weights(p["weights"], p["network"], region)
    inv = p["inventory"]
    roles = WeightsRole.__members__
    cols = [inv[f] for f in _ENTRY_FIELDS]
    _same_lengths(cols)
    cols[0] = list(map(int, cols[0]))
    cols[1] = list(map(str, cols[1]))
    cols[2] = [None if role is None else roles[role] for role in cols[2]]
    cols[4] = list(map(bool, cols[4]))
    inventory = list(map(Entry._make, zip(*cols, strict=True)))
    if cols[0] and not 0 <= min(cols[0]) <= max(cols[0]) < len(weights):
        bad = next(wi for wi in cols[0] if not 0 <= wi < len(weights))
        raise ValueError(f"inventory entry for unknown weights {bad}")
    network = bytes(region[: p["network"]])  # a copy: the engine outlives the plan buffer
    eng = p["engine"]
    return Plan(
        head=head,
        weights=weights,
        config=p["config"],
        inventory=inventory,
        refittable=bool(eng["refittable"]),
        weights_excluded=bool(eng["weights_excluded"]),
        serialization_flags=int(eng["serialization_flags"]),
        network=network,
    )


def decode(data: bytes) -> Plan:
    """The plan in ``data``; raises :class:`PlanError` with the message the runtime logs.

    The network record is checked to be well-formed CBOR only when the IR is first used;
    the digest has already proven it is the bytes the builder wrote.
    """
    with paused_gc():
        payload, region = _check_envelope(data)
    version = payload.get("tensorrt")
    if version != TENSORRT_VERSION:
        raise PlanError(
            "IRuntime::deserializeCudaEngine: Error Code 6: API Usage Error (The engine plan file "
            f"is not compatible with this version of TensorRT, expecting library version "
            f"{TENSORRT_VERSION} got {version}, please rebuild.)"
        )
    if payload.get("device") != DEVICE:
        raise PlanError(
            "IRuntime::deserializeCudaEngine: Error Code 6: API Usage Error (The engine plan file "
            f"is generated on an incompatible device, expecting {DEVICE['name']!r} got "
            f"{(payload.get('device') or {}).get('name')!r}, please rebuild.)"
        )
    try:
        with paused_gc():
            return _decode_payload(payload, region)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise PlanError(
            f"{_SERIAL} payload schema failed. The engine plan is malformed: "
            f"{type(exc).__name__}: {exc}.)"
        ) from None
