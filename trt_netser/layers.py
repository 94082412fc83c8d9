"""A network's layers read once: each downcast to its class, with its LayerType.

Three readers visit every layer of a network to key and refit one build: the config's
per-layer device types, the walk, and the pipeline's weight collection. Reading a layer
(``get_layer``, ``ILayer.type``, the documented ``__class__`` downcast) costs about a
microsecond, a new wrapper each time, so inside :func:`sharing_layer_reads` they share
the first reading of a network. Layers are append-only in TensorRT (there is no
``remove_layer``), so a reading stays valid while the layer count is unchanged, and a
grown network is read again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from trt_netser.errors import UnhashableNetworkError

if TYPE_CHECKING:  # walk imports this module
    from trt_netser.walk import TrtApi

__all__ = ["LayerReading", "layer_reading", "read_layers", "sharing_layer_reads"]


class LayerReading:
    """Every layer of ``network`` in insertion order (``layers``), downcast to the class
    of its LayerType where the module has one, and that LayerType (``types``)."""

    __slots__ = ("layers", "network", "types")

    def __init__(self, network: Any, layers: list[Any], types: list[Any]) -> None:
        self.network = network
        self.layers = layers
        self.types = types

    def __len__(self) -> int:
        return len(self.layers)


def read_layers(net: Any, api: TrtApi) -> LayerReading:
    """Read every layer of ``net``: its LayerType through ``api.layer_type_getter``
    (``ILayer.type``, not a downcast class's own ``type`` property) and, by it, its class
    in ``api.classes_by_type``."""
    get_type = api.layer_type_getter.__get__
    classes = api.classes_by_type
    get_layer = net.get_layer
    layers: list[Any] = []
    types: list[Any] = []
    for i in range(net.num_layers):
        layer = get_layer(i)
        if layer is None:
            raise UnhashableNetworkError(f"get_layer({i}) returned None")
        layer_type = get_type(layer, type(layer))
        cls = classes.get(int(layer_type))
        if cls is not None and type(layer) is not cls:
            layer.__class__ = cls  # TensorRT's documented downcast of an ILayer
        layers.append(layer)
        types.append(layer_type)
    return LayerReading(net, layers, types)


#: The readings of the innermost :func:`sharing_layer_reads` block (None outside one).
_SHARED: ContextVar[list[LayerReading] | None] = ContextVar("trt_netser_layers", default=None)


@contextmanager
def sharing_layer_reads() -> Iterator[None]:
    """Within the block, :func:`layer_reading` of one network reads its layers once.

    For one caller's sequence of reads of a network it does not change in between (the
    pipeline: key, then weight collection; it decorates the pipeline's entry points). Per
    context (thread, task): nothing leaks out.
    """
    token = _SHARED.set([])
    try:
        yield
    finally:
        _SHARED.reset(token)


def layer_reading(net: Any, api: TrtApi) -> LayerReading:
    """The layers of ``net``: the shared reading inside :func:`sharing_layer_reads` (read
    now if this is the first), else a fresh one."""
    shared = _SHARED.get()
    if shared is None:
        return read_layers(net, api)
    count = net.num_layers
    for reading in shared:
        if reading.network is net and len(reading.layers) == count:
            return reading
    reading = read_layers(net, api)
    shared[:] = [r for r in shared if r.network is not net]
    shared.append(reading)
    return reading
