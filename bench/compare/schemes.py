"""The key schemes compared: trt-netser and the baselines it replaces.

Every scheme maps a built network to a hex key. A scheme raising means it cannot process
that network (a coverage finding). All schemes run on the same module (``trt_netser.offline``
unless the caller passes another) and see the same network objects.

* ``trt-netser``: :func:`trt_netser.hash_network` (weight-blind, strict).
* ``onnx-polygraphy``: Polygraphy 0.53.6's ``OnnxLikeFromNetwork`` (the TensorRT-network to
  ONNX-like export behind ``polygraphy convert --convert-to onnx-like-trt-network``), the
  model's ``SerializeToString()``, sha256. The route the original proposal suggested.
* ``onnx-stripped``: the same export with the values of the learned-weight attributes
  (``kernel``, ``bias``, ``weights``, ``scale``, ``shift``; Polygraphy writes numpy
  weights as ONNX ``FLOATS``) replaced by their count: the charitable, weight-blind
  version of that route, separating what the export cannot express from what a fix
  could strip.
* ``names-edges``: layer names and their input/output tensor names, in layer order (what
  TensorRT-LLM's ``Network._get_network_hash`` covers), sha256.
* ``op-types``: Torch-TensorRT's engine-cache ``get_hash`` transposed to TensorRT: one
  ``placeholder_input_i`` per input, one ``op_target`` token per layer (layer type, plus the
  operation enum where the layer has one, as an FX target names ``aten.add`` vs ``aten.mul``),
  then the input specs (shape, dtype), sha256.
* ``naive-json``: ``json.dumps`` of every readable public attribute of every (downcast)
  layer and of the network's inputs and outputs with ``default=str``, sha256: what a quick
  implementation does. ``str()`` of numpy weights prints (truncated) values; of construct
  objects (``ILoop``, ``IAttention``) a memory address.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

KeyFn = Callable[[ModuleType, Any, Any], str]


@dataclass(frozen=True)
class Scheme:
    """A named key function ``key(trt, builder, network) -> hex``."""

    name: str
    key: KeyFn
    summary: str
    requires: tuple[str, ...] = ()

    def unavailable(self) -> str | None:
        """Why this scheme cannot run here (a missing optional package), or None."""
        for module in self.requires:
            try:
                __import__(module)
            except ImportError as exc:
                return f"{module} is not installed ({exc})"
        return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _layers(network: Any) -> Iterator[Any]:
    for i in range(network.num_layers):
        yield network.get_layer(i)


def _downcast(trt: ModuleType, layer: Any) -> Any:
    """Give ``layer`` its concrete class, as every TensorRT walker must (Polygraphy too)."""
    from trt_netser.walk import trt_api

    cls = trt_api(trt).classes_by_type.get(int(layer.type))
    if cls is not None:
        layer.__class__ = cls
    return layer


# --------------------------------------------------------------------------- trt-netser


def trt_netser_key(trt: ModuleType, builder: Any, network: Any) -> str:
    from trt_netser import hash_network

    return str(hash_network(network))


# --------------------------------------------------------------------------- ONNX route


@contextlib.contextmanager
def as_tensorrt(trt: ModuleType) -> Iterator[None]:
    """Make ``import tensorrt`` return ``trt`` while Polygraphy resolves its lazy imports.

    Polygraphy caches a module once resolved; the previous ``sys.modules`` entry is put
    back on exit so other code in the process is unaffected.
    """
    missing = object()
    previous = sys.modules.get("tensorrt", missing)
    sys.modules["tensorrt"] = trt
    try:
        yield
    finally:
        if previous is missing:
            sys.modules.pop("tensorrt", None)
        else:
            sys.modules["tensorrt"] = previous  # type: ignore[assignment]


def onnx_like_model(trt: ModuleType, builder: Any, network: Any) -> Any:
    """Polygraphy's ONNX-like ``ModelProto`` of ``network``."""
    with as_tensorrt(trt):
        from polygraphy.backend.trt import OnnxLikeFromNetwork
        from polygraphy.logger import G_LOGGER

        G_LOGGER.module_severity = G_LOGGER.CRITICAL + 1  # silence, errors still raise
        return OnnxLikeFromNetwork((builder, network))()


def onnx_polygraphy_key(trt: ModuleType, builder: Any, network: Any) -> str:
    return _sha256(onnx_like_model(trt, builder, network).SerializeToString())


#: The layer properties that hold learned weights (Polygraphy exports numpy weights as
#: FLOATS attributes under these names; other FLOATS, e.g. resize scales, are structure).
WEIGHT_ATTRIBUTES = frozenset({"kernel", "bias", "weights", "scale", "shift"})


def onnx_stripped_key(trt: ModuleType, builder: Any, network: Any) -> str:
    model = onnx_like_model(trt, builder, network)
    floats = 6  # onnx.AttributeProto.FLOATS
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.type == floats and attr.name in WEIGHT_ATTRIBUTES:
                count = len(attr.floats)
                attr.ClearField("floats")
                attr.i = count  # keep the count: it is structure
    return _sha256(model.SerializeToString())


# --------------------------------------------------------------------------- names/edges


def _name(tensor: Any) -> str:
    return "None" if tensor is None else str(tensor.name)


def names_edges_key(trt: ModuleType, builder: Any, network: Any) -> str:
    parts = []
    for layer in _layers(network):
        inputs = ",".join(_name(layer.get_input(s)) for s in range(layer.num_inputs))
        outputs = ",".join(_name(layer.get_output(s)) for s in range(layer.num_outputs))
        parts.append(f"{layer.name}|{inputs}|{outputs}")
    return _sha256("\n".join(parts).encode())


# --------------------------------------------------------------------------- op types

#: The attribute that plays the role of an FX node's target per layer type.
_OP_ATTRIBUTE = {
    "ACTIVATION": "type",
    "POOLING": "type",
    "ELEMENTWISE": "op",
    "UNARY": "op",
    "REDUCE": "op",
    "CUMULATIVE": "op",
    "TOPK": "op",
    "GATHER": "mode",
    "SCATTER": "mode",
}


def op_types_key(trt: ModuleType, builder: Any, network: Any) -> str:
    tokens = [f"placeholder_input_{i}" for i in range(network.num_inputs)]
    for layer in _layers(network):
        kind = str(layer.type).split(".")[-1]
        target = kind
        attr = _OP_ATTRIBUTE.get(kind)
        if attr is not None:
            target += "." + str(getattr(_downcast(trt, layer), attr)).split(".")[-1]
        tokens.append(f"call_function_{target}")
    specs = "".join(
        f"Input(shape={tuple(t.shape)}, dtype={t.dtype})"
        for t in (network.get_input(i) for i in range(network.num_inputs))
    )
    return _sha256(" ".join(tokens).encode()) + _sha256(specs.encode())


# --------------------------------------------------------------------------- naive JSON


def _readable(obj: Any) -> dict[str, Any]:
    out = {}
    for attr in dir(obj):
        if attr.startswith("_"):
            continue
        value = getattr(obj, attr)
        if not callable(value):
            out[attr] = value
    return out


def _tensor(tensor: Any) -> Any:
    return None if tensor is None else _readable(tensor)


def naive_json_key(trt: ModuleType, builder: Any, network: Any) -> str:
    doc = {
        "network": _readable(network),
        "inputs": [_tensor(network.get_input(i)) for i in range(network.num_inputs)],
        "outputs": [_tensor(network.get_output(i)) for i in range(network.num_outputs)],
        "layers": [
            {
                **_readable(_downcast(trt, layer)),
                "inputs": [_name(layer.get_input(s)) for s in range(layer.num_inputs)],
                "outputs": [_tensor(layer.get_output(s)) for s in range(layer.num_outputs)],
            }
            for layer in _layers(network)
        ],
    }
    return _sha256(json.dumps(doc, default=str, sort_keys=True).encode())


SCHEMES: tuple[Scheme, ...] = (
    Scheme("trt-netser", trt_netser_key, "canonical walk, CBOR, blake3 (this project)"),
    Scheme(
        "onnx-polygraphy",
        onnx_polygraphy_key,
        "Polygraphy OnnxLikeFromNetwork, SerializeToString, sha256",
        ("polygraphy", "onnx", "onnx_graphsurgeon"),
    ),
    Scheme(
        "onnx-stripped",
        onnx_stripped_key,
        "the same, learned weight values replaced by their count",
        ("polygraphy", "onnx", "onnx_graphsurgeon"),
    ),
    Scheme("names-edges", names_edges_key, "layer and tensor names in order (TensorRT-LLM)"),
    Scheme("op-types", op_types_key, "op/target per layer + input specs (Torch-TensorRT)"),
    Scheme("naive-json", naive_json_key, "json.dumps(every attribute, default=str), sha256"),
)

BY_NAME: dict[str, Scheme] = {s.name: s for s in SCHEMES}
