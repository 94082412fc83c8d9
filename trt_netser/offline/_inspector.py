"""EngineInspector: prints the layers of an offline engine, as much as its verbosity allows.

TensorRT prints what the build's ``profiling_verbosity`` kept: nothing (NONE), the layer
names (LAYER_NAMES_ONLY, the default) or names with parameters (DETAILED). An offline
engine fuses nothing, so its layers are the network's layers; DETAILED shows each layer's
type, inputs and outputs (name, dimensions, data type) and metadata.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from trt_netser.offline._engine import format_dtype_name
from trt_netser.offline._enums import (
    LayerInformationFormat,
    ProfilingVerbosity,
    TensorLocation,
    _Severity,
)
from trt_netser.offline._logger import report
from trt_netser.offline._plugins import IErrorRecorder
from trt_netser.offline._pyarg import INT, MODULE, Arg, Sig, api, check_setter, enum, instance

if TYPE_CHECKING:
    from trt_netser.offline._engine import ICudaEngine, IExecutionContext

_FORMAT = enum(LayerInformationFormat)


class EngineInspector:
    """An engine inspector which prints out the layer information of an engine or a context."""

    __slots__ = ("__weakref__", "_context", "_engine", "_error_recorder")
    _context: IExecutionContext | None
    _engine: ICudaEngine
    _error_recorder: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{MODULE}.EngineInspector: No constructor defined!")

    @classmethod
    def _make(cls, engine: ICudaEngine) -> EngineInspector:
        obj = object.__new__(cls)
        obj._engine = engine
        obj._context = None
        obj._error_recorder = None
        return obj

    def _layer(self, index: int) -> str | dict[str, Any]:
        ir = self._engine._plan.ir
        layer = ir.layers[index]
        verbosity = self._engine.profiling_verbosity
        if verbosity != ProfilingVerbosity.DETAILED:
            return layer.name

        def desc(tid: int | None) -> dict[str, Any] | None:
            if tid is None:
                return None
            t = ir.tensors[tid]
            shape = list(t.shape)
            if self._context is not None and tid in self._engine._plan.head.tensors:
                shape = list(self._context.get_tensor_shape(t.name))
            host = t.is_shape or t.location == TensorLocation.HOST
            # the keys and their order as in the developer guide's inspector output
            return {
                "Name": t.name,
                "Location": "Host" if host else "Device",
                "Dimensions": shape,
                "Format/Datatype": f"Row major linear {format_dtype_name(t.dtype)} format",
            }

        return {
            "Name": layer.name,
            "LayerType": layer.type.name,
            "Inputs": [desc(t) for t in layer.inputs],
            "Outputs": [desc(t) for t in layer.outputs],
            "Metadata": layer.metadata,
        }

    def _bindings(self) -> list[str]:
        engine = self._engine
        return [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]

    @staticmethod
    def _oneline(info: str | dict[str, Any]) -> str:
        return info if isinstance(info, str) else json.dumps(info)

    @api(
        "EngineInspector",
        Sig([Arg("layer_index", INT), Arg("format", _FORMAT)], "str"),
    )
    def get_layer_information(self, layer_index: int, format: LayerInformationFormat) -> str:
        """Information about one layer, in ONELINE or JSON format."""
        if self._engine.profiling_verbosity == ProfilingVerbosity.NONE:
            return ""
        if not 0 <= layer_index < self._engine.num_layers:
            report(
                self._engine._logger,
                _Severity.ERROR,
                "IEngineInspector::getLayerInformation: Error Code 3: API Usage Error (Parameter "
                f"check failed, condition: layerIndex >= 0 && layerIndex < "
                f"{self._engine.num_layers}.)",
            )
            return ""
        info = self._layer(layer_index)
        if format == LayerInformationFormat.JSON:
            return json.dumps(info)
        return self._oneline(info)

    @api("EngineInspector", Sig([Arg("format", _FORMAT)], "str"))
    def get_engine_information(self, format: LayerInformationFormat) -> str:
        """Information about every layer of the engine, in ONELINE or JSON format."""
        if self._engine.profiling_verbosity == ProfilingVerbosity.NONE:
            return ""
        layers = [self._layer(i) for i in range(self._engine.num_layers)]
        if format == LayerInformationFormat.JSON:
            # "Layers" before "Bindings", as TensorRT writes them (insertion order: deterministic)
            return json.dumps({"Layers": layers, "Bindings": self._bindings()})
        return "".join(self._oneline(info) + "\n" for info in layers)

    @property
    def execution_context(self) -> Any:
        """The execution context being inspected (None: the engine)."""
        return self._context

    @execution_context.setter
    def execution_context(self, value: Any) -> None:
        from trt_netser.offline._engine import IExecutionContext

        conv = instance(IExecutionContext, optional=True)
        self._context = check_setter("EngineInspector", conv, value)

    @property
    def error_recorder(self) -> Any:
        """Error recorder (None by default)."""
        return self._error_recorder

    @error_recorder.setter
    def error_recorder(self, value: Any) -> None:
        conv = instance(IErrorRecorder, optional=True)
        self._error_recorder = check_setter("EngineInspector", conv, value)


EngineInspector.__module__ = MODULE
