"""Refit a deserialized engine with the network's weights, or say exactly why not.

Only TensorRT's public ``Refitter`` API is used: ``get_all_weights``/``get_all`` for the
engine's inventory, ``get_weights_prototype`` for dtype and count,
``set_named_weights``/``set_weights`` with the getters' own objects (no copies),
``get_missing_weights``/``get_missing`` and ``refit_cuda_engine``.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from trt_netser.pipeline._entry import EntryMeta, Inventory
from trt_netser.pipeline._weights import NetworkWeights, WeightSource, dtype_name, weights_nbytes

__all__ = ["HitError", "engine_inventory", "engine_signature", "refit_engine"]


class HitError(Exception):
    """The hit path cannot go on; ``code`` is a key of ``FAILURES``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _role_name(role: Any) -> str:
    name = getattr(role, "name", None)
    return name if isinstance(name, str) else str(role)


def _role_names(roles: list[Any]) -> list[str]:
    """``_role_name`` of each of ``roles``, once per distinct object (offline returns the
    same member objects, so 25,000 roles cost a handful of lookups; ids are stable while
    ``roles`` holds them)."""
    by_id: dict[int, str] = {}
    out = []
    for role in roles:
        name = by_id.get(id(role))
        if name is None:
            name = by_id[id(role)] = _role_name(role)
        out.append(name)
    return out


def _prototype(refitter: Any, name: str) -> tuple[str, int]:
    proto = refitter.get_weights_prototype(name)
    return dtype_name(getattr(proto, "dtype", "?")), int(getattr(proto, "size", -1))


def _engine_named(refitter: Any) -> tuple[tuple[str, str, int], ...]:
    """The engine's named refittable weights with their prototypes' dtype and count, sorted."""
    names = sorted({str(n) for n in (refitter.get_all_weights() or []) if n})
    return tuple((n, *_prototype(refitter, n)) for n in names)


def _engine_layers(refitter: Any) -> list[tuple[str, str]]:
    """The engine's (layer name, role name) refittable weights, as ``get_all`` lists them."""
    layer_names, roles = refitter.get_all() or ([], [])
    return list(zip(map(str, layer_names), _role_names(roles), strict=False))


def engine_inventory(refitter: Any, weights: NetworkWeights) -> Inventory:
    """The engine's refittable weights, as the refitter lists them.

    Named weights carry the prototype's dtype and count; (layer, role) weights the
    network's (TensorRT has no prototype by layer), ``"?"``/-1 when the network lacks them.
    """
    layers = []
    for layer, role in _engine_layers(refitter):
        source = weights.by_layer_role.get((layer, role))
        dtype, count = (source.dtype, source.count) if source else ("?", -1)
        layers.append((layer, role, dtype, count))
    return Inventory(_engine_named(refitter), tuple(sorted(set(layers))))


_PAIR = operator.itemgetter(0, 1)
_DTYPE_COUNT = operator.itemgetter(2, 3)
_SOURCE_DTYPE_COUNT = operator.attrgetter("dtype", "count")


def _check(
    meta: EntryMeta,
    named: tuple[tuple[str, str, int], ...],
    layers: list[tuple[str, str]],
    weights: NetworkWeights,
) -> tuple[dict[str, str], list[WeightSource]]:
    """Coverage, prototypes and the network against the entry's recorded inventory.

    ``named`` and ``layers`` are what the engine lists (:func:`_engine_named`,
    :func:`_engine_layers`). Returns the inventory names the network cannot place (name ->
    why; their values may still reach the engine through (layer, role): TensorRT's missing
    list decides) and the network's source of each inventory (layer, role) weight, in
    inventory order.
    """
    want = meta.inventory
    keys = list(map(_PAIR, want.layers))  # (layer, role) of every inventory weight
    found_layers = set(layers)
    if {n for n, _d, _c in named} != {n for n, _d, _c in want.named} or found_layers != set(keys):
        raise HitError(
            "inventory-mismatch",
            f"the engine lists {len(named) + len(found_layers)} refittable weights, its "
            f"manifest {want.size}",
        )
    recorded = {n: (d, c) for n, d, c in want.named}
    for name, dtype, count in named:
        if recorded[name] != (dtype, count):
            raise HitError(
                "prototype-mismatch",
                f"weights {name!r}: the engine's prototype is {dtype} x {count}, "
                f"its manifest says {recorded[name][0]} x {recorded[name][1]}",
            )
    unplaced: dict[str, str] = {}
    for name, dtype, count in want.named:
        source = weights.named(name)
        if source is None:
            unplaced[name] = weights.unresolved_names.get(name, "no weights of that name captured")
            continue
        if (source.dtype, source.count) != (dtype, count):
            raise HitError(
                "network-weight-mismatch",
                f"weights {name!r} are {source.dtype} x {source.count} in the network, "
                f"{dtype} x {count} in the engine",
            )
    # The common case at once (one weight per layer, 25,000 for a 50k-layer network); the
    # loop below finds the first problem in inventory order when there is one.
    sources = list(map(weights.by_layer_role.get, keys))
    if (
        all(sources)
        and (not weights.duplicate_layers or weights.duplicate_layers.isdisjoint(keys))
        and list(map(_SOURCE_DTYPE_COUNT, sources)) == list(map(_DTYPE_COUNT, want.layers))
    ):
        return unplaced, sources  # type: ignore[return-value]  # all() proved: no None
    for layer, role, dtype, count in want.layers:
        source = weights.by_layer_role.get((layer, role))
        if source is None:
            raise HitError(
                "network-lacks-weight", f"the network has no {role} weights on layer {layer!r}"
            )
        if (layer, role) in weights.duplicate_layers:
            raise HitError(
                "network-lacks-weight",
                f"layer name {layer!r} is not unique: its {role} weights are ambiguous",
            )
        if (source.dtype, source.count) != (dtype, count):
            raise HitError(
                "network-weight-mismatch",
                f"{role} weights of layer {layer!r} are {source.dtype} x {source.count} in the "
                f"network, {dtype} x {count} in the engine",
            )
    raise AssertionError("the inventory check found no problem twice")  # pragma: no cover


def _set_layer(trt: Any, refitter: Any, source: WeightSource) -> None:
    role = getattr(trt.WeightsRole, str(source.role))
    if not refitter.set_weights(source.layer, role, source.value):
        raise HitError(
            "set-weights", f"the refitter rejected the {source.role} weights of {source.where}"
        )


def refit_engine(
    trt: Any, engine: Any, weights: NetworkWeights, meta: EntryMeta, logger: Any
) -> tuple[int, int]:
    """Refit ``engine`` with every inventory weight from ``weights``.

    Returns (weights set, bytes passed). Raises :class:`HitError`; after a failure the
    engine may be partially refit (TensorRT says so) and must be discarded.
    """
    if not bool(getattr(engine, "refittable", False)):
        raise HitError("not-refittable", "the cached engine is not refittable")
    refitter = trt.Refitter(engine, logger)
    unplaced, sources = _check(meta, _engine_named(refitter), _engine_layers(refitter), weights)
    count = nbytes = 0
    by_name: set[int] = set()
    for name, _dtype, _count in meta.inventory.named:
        source = weights.named(name)
        if source is None:
            continue  # unplaced: only (layer, role) can supply it (checked below)
        if not refitter.set_named_weights(name, source.value):
            raise HitError("set-weights", f"the refitter rejected weights {name!r}")
        for s in weights.by_name.get(name, []):
            by_name.add(id(s))
        count += 1
        nbytes += weights_nbytes(source.value)
    pending = []
    roles: dict[str, Any] = {}
    set_weights = refitter.set_weights
    for source in sources:
        if by_name and id(source) in by_name:
            pending.append(source)  # already set by its name; only if TensorRT asks again
            continue
        role = roles.get(source.role)  # type: ignore[arg-type]  # a layer source has a role
        if role is None:
            role = roles[source.role] = getattr(trt.WeightsRole, str(source.role))  # type: ignore[index]
        value = source.value
        if not set_weights(source.layer, role, value):
            raise HitError(
                "set-weights", f"the refitter rejected the {source.role} weights of {source.where}"
            )
        count += 1
        nbytes += value.nbytes if type(value) is np.ndarray else weights_nbytes(value)
    missing_layers, missing_roles = refitter.get_missing() or ([], [])
    if missing_layers and pending:
        asked = {
            (str(ly), _role_name(r)) for ly, r in zip(missing_layers, missing_roles, strict=False)
        }
        for source in pending:
            if (source.layer, source.role) in asked:
                _set_layer(trt, refitter, source)
                count += 1
        missing_layers, missing_roles = refitter.get_missing() or ([], [])
    missing_named = [str(n) for n in (refitter.get_missing_weights() or [])]
    lacking = [n for n in missing_named if n in unplaced]
    if lacking:
        raise HitError(
            "network-lacks-weight", f"weights {lacking[0]!r} not found: {unplaced[lacking[0]]}"
        )
    if missing_layers or any(missing_named):
        described = [
            f"{ly}/{_role_name(r)}" for ly, r in zip(missing_layers, missing_roles, strict=False)
        ]
        described += [repr(n) for n in missing_named if n]
        raise HitError(
            "missing-weights",
            "weights still missing after setting all: " + ", ".join(described[:8]),
        )
    if not refitter.refit_cuda_engine():
        raise HitError("refit", "refit_cuda_engine() returned False")
    return count, nbytes


def engine_signature(trt: Any, engine: Any, logger: Any) -> tuple[Any, ...]:
    """What two builds of one network must agree on even when their plans differ:
    I/O tensors (name, mode, dtype, shape, per-profile shapes) and the refit inventory."""
    tensors = []
    profiles = int(getattr(engine, "num_optimization_profiles", 1) or 1)
    for i in range(int(engine.num_io_tensors)):
        name = engine.get_tensor_name(i)
        mode = engine.get_tensor_mode(name)
        shapes: list[Any] = []
        if _role_name(mode) == "INPUT":
            for p in range(profiles):
                try:
                    shapes.append([tuple(d) for d in engine.get_tensor_profile_shape(name, p)])
                except Exception:
                    shapes.append(None)
        tensors.append(
            (
                name,
                _role_name(mode),
                _role_name(engine.get_tensor_dtype(name)),
                tuple(engine.get_tensor_shape(name)),
                tuple(map(str, shapes)),
            )
        )
    refittable = bool(getattr(engine, "refittable", False))
    inventory: tuple[Any, ...] = ()
    if refittable:
        refitter = trt.Refitter(engine, logger)
        layers, roles = refitter.get_all() or ([], [])
        inventory = (
            tuple(sorted(str(n) for n in refitter.get_all_weights() or [] if n)),
            tuple(sorted((str(ly), _role_name(r)) for ly, r in zip(layers, roles, strict=False))),
        )
    return (tuple(tensors), profiles, refittable, inventory)
