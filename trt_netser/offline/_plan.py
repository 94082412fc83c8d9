"""The offline plan format: an engine's bytes, and back.

Layout (all integers little endian; see docs/offline-engine.md for the payload schema)::

    offset  size  field
    0       8     magic  b"TNSPLAN\\0"
    8       2     format version (1)
    10      2     reserved, 0
    12      8     payload length N
    20      N     payload: one CBOR map in canonical encoding (RFC 8949 4.2.1)
    20+N    32    blake3 digest of bytes [0, 20+N)

The payload holds the TensorRT version and offline device the plan was built for, the
builder config, the network as a :class:`GraphIR` (every layer, attribute and weight use),
the weights' bytes (refittable ones left out when the plan excludes weights) and the refit
inventory. Nothing in it depends on object ids, clocks, counters or dict order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
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
    to_record,
)

MAGIC = b"TNSPLAN\0"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sHHQ")
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
class Plan:
    """The content of a plan, as the engine holds it."""

    ir: GraphIR
    config: dict[str, Any]
    inventory: list[Entry]
    refittable: bool
    weights_excluded: bool
    serialization_flags: int


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


def _entry_rec(e: Entry) -> dict[str, Any]:
    return {
        "weights": e.weights,
        "layer": e.layer,
        "role": None if e.role is None else e.role.name,
        "name": e.name,
        "refittable": e.refittable,
        "reason": e.reason,
        "group": e.group,
    }


def encode(plan: Plan, *, exclude: frozenset[int] = frozenset()) -> bytes:
    """The plan bytes; weights whose index is in ``exclude`` are written without data."""
    ir = plan.ir
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
        "network": {
            "name": ir.name,
            "flags": ir.flags,
            "tensors": [_tensor_rec(t) for t in ir.tensors],
            "inputs": ir.inputs,
            "outputs": ir.outputs,
            "shape_outputs": ir.shape_outputs,
            "layers": [_layer_rec(layer) for layer in ir.layers],
            "constructs": [_construct_rec(c) for c in ir.constructs],
            "profiles": [_profile_rec(p) for p in ir.profiles],
        },
        "weights": [
            {
                "layer": w.layer,
                "attr": w.attr,
                "dtype": w.dtype.name,
                "count": w.count,
                "name": w.name,
                "data": None if i in exclude else w.data,
            }
            for i, w in enumerate(ir.weights)
        ],
        "inventory": [_entry_rec(e) for e in plan.inventory],
    }
    body = cbor2.dumps(payload, canonical=True)
    head = HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(body))
    return head + body + blake3.blake3(head + body).digest()


# -- decoding ---------------------------------------------------------------------------------
_SERIAL = "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (Serialization assertion"


def _check_envelope(data: bytes) -> dict[str, Any]:
    if len(data) < HEADER.size or data[:8] != MAGIC:
        raise PlanError(f"{_SERIAL} plan->header.magicTag == rt::kPLAN_MAGIC_TAG failed.)")
    _, version, _, length = HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise PlanError(
            f"{_SERIAL} formatVersion == {FORMAT_VERSION} failed. Unsupported offline plan "
            f"format version {version}.)"
        )
    expected = HEADER.size + length + DIGEST_SIZE
    if len(data) != expected:
        raise PlanError(
            f"{_SERIAL} size == expectedSize failed. Truncated or padded engine plan: "
            f"expected {expected} bytes, got {len(data)}.)"
        )
    end = HEADER.size + length
    if blake3.blake3(data[:end]).digest() != data[end:]:
        raise PlanError(f"{_SERIAL} checksum matches failed. The engine plan is corrupted.)")
    try:
        payload = cbor2.loads(data[HEADER.size : end])
    except Exception:
        raise PlanError(
            f"{_SERIAL} payload decodes failed. The engine plan is corrupted.)"
        ) from None
    if not isinstance(payload, dict):
        raise PlanError(f"{_SERIAL} payload is a map failed. The engine plan is corrupted.)")
    return payload


def _dims(v: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in v)


def _decode_payload(p: dict[str, Any]) -> Plan:
    net = p["network"]
    tensors = [
        TensorIR(
            id=i,
            name=str(r[0]),
            dtype=from_record(r[1]),
            shape=_dims(r[2]),
            location=from_record(r[3]),
            is_shape=bool(r[4]),
            is_execution=bool(r[5]),
            producer=r[6],
            index=int(r[7]),
        )
        for i, r in enumerate(net["tensors"])
    ]
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
    profiles = [
        ProfileIR(
            shapes={k: tuple(_dims(d) for d in v) for k, v in r["shapes"].items()},  # type: ignore[misc]
            values={k: tuple(_dims(d) for d in v) for k, v in r["values"].items()},  # type: ignore[misc]
            extra_memory_target=float(r["extra_memory_target"]),
        )
        for r in net["profiles"]
    ]
    weights = [
        WeightIR(
            layer=int(r["layer"]),
            attr=str(r["attr"]),
            dtype=DataType.__members__[r["dtype"]],
            count=int(r["count"]),
            name=r["name"],
            data=None if r["data"] is None else bytes(r["data"]),
        )
        for r in p["weights"]
    ]
    ir = GraphIR(
        name=str(net["name"]),
        flags=int(net["flags"]),
        tensors=tensors,
        inputs=list(net["inputs"]),
        outputs=list(net["outputs"]),
        shape_outputs=list(net["shape_outputs"]),
        layers=layers,
        constructs=constructs,
        weights=weights,
        profiles=profiles,
    )
    inventory = [
        Entry(
            weights=int(r["weights"]),
            layer=str(r["layer"]),
            role=None if r["role"] is None else WeightsRole.__members__[r["role"]],
            name=r["name"],
            refittable=bool(r["refittable"]),
            reason=r["reason"],
            group=r["group"],
        )
        for r in p["inventory"]
    ]
    eng = p["engine"]
    return Plan(
        ir=ir,
        config=p["config"],
        inventory=inventory,
        refittable=bool(eng["refittable"]),
        weights_excluded=bool(eng["weights_excluded"]),
        serialization_flags=int(eng["serialization_flags"]),
    )


def decode(data: bytes) -> Plan:
    """The plan in ``data``; raises :class:`PlanError` with the message the runtime logs."""
    payload = _check_envelope(data)
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
        return _decode_payload(payload)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise PlanError(
            f"{_SERIAL} payload schema failed. The engine plan is malformed: "
            f"{type(exc).__name__}: {exc}.)"
        ) from None
