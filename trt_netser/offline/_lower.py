"""Lowering: an offline INetworkDefinition and its IBuilderConfig become a :class:`GraphIR`.

The structure (inputs, outputs, layers, their tensors) is read through TensorRT's public
API; the attribute values and weight names, which TensorRT's API cannot read back
completely (``set_weights_name`` has no getter, some getters return garbage when unset),
come from the offline layer state, as the real builder reads its own internal state.
"""

from __future__ import annotations

import math
import re
from typing import Any, overload

import numpy as np

from trt_netser.offline._enumbase import PybindEnum
from trt_netser.offline._enums import PluginCapabilityType
from trt_netser.offline._ir import (
    ArrayValue,
    ConstructIR,
    GraphIR,
    LayerIR,
    MapValue,
    ProfileIR,
    TensorIR,
    TensorRef,
    Unencodable,
    WeightIR,
    WeightsRef,
    to_record,
)
from trt_netser.offline._tensor import ITensor
from trt_netser.offline._types import _ITEMSIZE, Weights

#: TensorRT's default network names count networks per process; a plan must not depend on
#: that counter, so every default name is stored as this one.
DEFAULT_NETWORK_NAME = "Unnamed Network 0"
_DEFAULT_NAME = re.compile(r"Unnamed Network \d+")


class LoweringError(Exception):
    """The network cannot be lowered; the message is what the builder logs."""


def weights_u8(w: Weights) -> np.ndarray:
    """The bytes of a Weights buffer (``nbytes`` of them, C order) as a uint8 array, a view
    of the buffer where it is contiguous (no copy)."""
    array = w._array
    size = _ITEMSIZE.get(w._dtype._value)
    n = math.ceil(w._count * (1 if size is None else size))  # Weights.nbytes, without numpy
    if not n or array is None:
        return _NO_BYTES
    if array.nbytes == n and array.flags.c_contiguous:  # the common case: the whole buffer
        return (array if array.ndim == 1 else array.reshape(-1)).view(_U8)
    return np.ascontiguousarray(array).reshape(-1).view(_U8)[:n]


def weights_bytes(w: Weights) -> bytes:
    """The bytes of a Weights buffer (``nbytes`` of them, C order)."""
    return weights_u8(w).tobytes()


_U8 = np.dtype(np.uint8)
_NO_BYTES = np.empty(0, _U8)
_NO_BYTES.flags.writeable = False


class _Lowering:
    def __init__(self, network: Any) -> None:
        self.network = network
        self.net = network._impl
        self.tensor_ids: dict[int, int] = {}  # id(ITensor) -> tensor id
        self.tensors: list[TensorIR] = []
        self.weights: list[WeightIR] = []
        self.constructs: dict[int, int] = {}  # id(ConstructImpl) -> construct index
        self.construct_list: list[Any] = []

    def tensor(self, t: ITensor, producer: int | None, index: int) -> int:
        tid = len(self.tensors)
        self.tensor_ids[id(t)] = tid
        self.tensors.append(
            TensorIR(
                id=tid,
                name=t.name,
                dtype=t.dtype,
                shape=tuple(t.shape),
                location=t.location,
                is_shape=bool(t.is_shape_tensor),
                is_execution=bool(t.is_execution_tensor),
                producer=producer,
                index=index,
            )
        )
        return tid

    @overload
    def ref(self, t: ITensor, where: str) -> int: ...
    @overload
    def ref(self, t: ITensor | None, where: str) -> int | None: ...
    def ref(self, t: ITensor | None, where: str) -> int | None:
        """The id of a tensor of the network (None for None)."""
        if t is None:
            return None
        tid = self.tensor_ids.get(id(t))
        if tid is None:
            raise LoweringError(
                f"Error Code 4: Internal Error ({where}: input tensor '{t.name}' is neither a "
                f"network input nor produced by a layer of the network.)"
            )
        return tid

    def value(self, v: Any, layer: int, attr: str, where: str) -> Any:
        if isinstance(v, Weights):
            return self.add_weights(v, layer, attr)
        if isinstance(v, ITensor):
            return TensorRef(self.ref(v, where))
        if isinstance(v, np.ndarray):
            arr = np.ascontiguousarray(v)
            return ArrayValue(arr.dtype.str, tuple(arr.shape), arr.tobytes())
        if isinstance(v, tuple | list):
            return tuple(self.value(x, layer, f"{attr}[{i}]", where) for i, x in enumerate(v))
        if isinstance(v, dict):
            items = [
                (self.value(k, layer, attr, where), self.value(x, layer, attr, where))
                for k, x in v.items()
            ]
            return MapValue(tuple(sorted(items, key=lambda kv: repr(to_record(kv[0])))))
        if hasattr(v, "plugin_type") or hasattr(v, "get_capability_interface"):
            return self.plugin(v)
        if v is None or isinstance(v, bool | int | float | str | bytes | PybindEnum | np.generic):
            return v.item() if isinstance(v, np.generic) else v
        raise LoweringError(
            f"Error Code 9: API Usage Error ({where}: attribute '{attr}' holds a "
            f"{type(v).__name__}, which the offline plan cannot serialize.)"
        )

    def add_weights(self, w: Weights, layer: int, attr: str) -> WeightsRef:
        idx = len(self.weights)
        impl = self.net.layers[layer] if 0 <= layer < len(self.net.layers) else None
        name = self.net.weight_names.name_of(impl, attr, w) if impl is not None else None
        self.weights.append(
            WeightIR(layer, attr, w.dtype, int(w.size), name, weights_bytes(w) if w.size else b"")
        )
        return WeightsRef(idx)

    def plugin(self, plugin: Any) -> MapValue:
        """A plugin as (api, type, version, namespace, data or fields)."""
        if hasattr(plugin, "plugin_type"):
            items: list[tuple[str, Any]] = [
                ("api", "v2"),
                ("type", str(plugin.plugin_type)),
                ("version", str(plugin.plugin_version)),
                ("namespace", str(plugin.plugin_namespace)),
                ("data", bytes(plugin.serialize())),
            ]
        else:
            core = plugin.get_capability_interface(PluginCapabilityType.CORE)
            runtime = plugin.get_capability_interface(PluginCapabilityType.RUNTIME)
            fields: list[Any] = []
            if runtime is not None:
                for f in runtime.get_fields_to_serialize() or ():
                    arr = np.ascontiguousarray(np.asarray(f.data))
                    fields.append(
                        (
                            str(f.name),
                            f.type,
                            ArrayValue(arr.dtype.str, tuple(arr.shape), arr.tobytes()),
                        )
                    )
            items = [
                ("api", "v3"),
                ("type", str(core.plugin_name)),
                ("version", str(core.plugin_version)),
                ("namespace", str(core.plugin_namespace)),
                ("fields", tuple(fields)),
            ]
        return MapValue(tuple(items))

    def construct(self, c: Any) -> int:
        key = id(c)
        if key not in self.constructs:
            self.constructs[key] = len(self.construct_list)
            self.construct_list.append(c)
        return self.constructs[key]

    def run(self, profiles: list[ProfileIR]) -> GraphIR:
        network = self.network
        inputs = [self.tensor(network.get_input(i), None, i) for i in range(network.num_inputs)]
        # Every tensor gets its id before any layer is read: set_input may wire a layer to a
        # tensor produced later (loop back edges, rewired layers).
        all_layers = [network.get_layer(li) for li in range(network.num_layers)]
        produced = [
            tuple(self.tensor(layer.get_output(i), li, i) for i in range(layer.num_outputs))
            for li, layer in enumerate(all_layers)
        ]
        layers: list[LayerIR] = []
        for li, layer in enumerate(all_layers):
            impl = layer._impl
            where = layer.name
            ins = tuple(self.ref(layer.get_input(i), where) for i in range(layer.num_inputs))
            outs = produced[li]
            attrs = {k: self.value(v, li, k, where) for k, v in sorted(impl.p.items())}
            private = {
                k: self.value(v, li, k, where)
                for k, v in sorted(impl.private.items())
                if not callable(v)
            }
            cidx = None if impl.construct is None else self.construct(impl.construct)
            layers.append(
                LayerIR(
                    index=li,
                    name=layer.name,
                    type=impl.ltype,
                    inputs=ins,
                    outputs=outs,
                    attrs=attrs,
                    private=private,
                    metadata=impl.metadata,
                    num_ranks=impl.num_ranks,
                    precision=impl.precision if impl.precision_set else None,
                    output_types=dict(sorted(impl.out_types.items())),
                    construct=cidx,
                )
            )
        index_of = {id(impl): i for i, impl in enumerate(self.net.layers)}
        constructs = []
        for ci, c in enumerate(self.construct_list):
            where = c.name
            constructs.append(
                ConstructIR(
                    index=ci,
                    kind=type(c.wrapper).__name__ if c.wrapper is not None else "",
                    name=c.name,
                    metadata=c.metadata,
                    num_ranks=c.num_ranks,
                    inputs=tuple(self.ref(t, where) for t in c.inputs),
                    attrs={k: self.value(v, -1, k, where) for k, v in sorted(c.p.items())},
                    layers=tuple(index_of[id(m)] for m in c.layers if id(m) in index_of),
                )
            )
        outputs = [
            self.ref(network.get_output(i), "network output") for i in range(network.num_outputs)
        ]
        shape_outputs = [self.ref(t, "shape output") for t in self.net.shape_outputs]
        return GraphIR(
            name=DEFAULT_NETWORK_NAME if _DEFAULT_NAME.fullmatch(network.name) else network.name,
            flags=int(self.net.flags),
            tensors=self.tensors,
            inputs=inputs,
            outputs=[t for t in outputs if t is not None],
            shape_outputs=[t for t in shape_outputs if t is not None],
            layers=layers,
            constructs=constructs,
            weights=self.weights,
            profiles=profiles,
        )


def lower(network: Any, profiles: list[ProfileIR]) -> GraphIR:
    """The IR of ``network`` (raises :class:`LoweringError` with the message to log)."""
    try:
        return _Lowering(network).run(profiles)
    except Unencodable as exc:
        raise LoweringError(f"Error Code 9: API Usage Error (cannot serialize {exc}.)") from None
