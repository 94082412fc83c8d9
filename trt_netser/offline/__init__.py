"""Offline model of TensorRT 10.16.1's Python API: network definition, builder and engines.

``import trt_netser.offline as trt`` runs code written for ``import tensorrt as trt``
where TensorRT's native library is not available: networks, layers, tensors, constructs,
plugins, builder configurations and engines behave as documented for TensorRT 10.16.1.11
(names, read/write properties, defaults and enum values mirror the official API dump).
``Builder.build_serialized_network`` makes an offline plan (docs/offline-engine.md) that
``Runtime.deserialize_cuda_engine`` loads, a ``Refitter`` refits and an
``IExecutionContext`` runs on the CPU (docs/execution.md).

``__version__`` is ``"10.16.1.11"``, exactly the mirrored TensorRT's version string, since
client code parses it; the module has no name real TensorRT lacks. To tell the two apart,
use ``trt_netser.is_offline(trt)`` (also true for builders, networks and layers it made).

Offline-only names (not in the real bindings, documented as such): ``run`` (execute an
engine on named numpy inputs) and ``register_plugin_implementation`` (a numpy
implementation for a plugin creator's plugins). Engines run on the CPU through
``IExecutionContext`` too; offline "device" memory is host memory (an address is that of
a host buffer, e.g. ``array.ctypes.data`` of a C-contiguous numpy array).

Modelling choices where TensorRT's behaviour could not be observed:
  * default layer names are ``(Unnamed Layer* N) [Display]`` with N counting the layer
    indices TensorRT hands out in the network (an attention takes three); output tensors
    are named ``<layer>_output`` (single output); several outputs follow the layer type's
    convention (TopK/NMS ``_output``, ``_output (1)``; DynamicQuantize ``_output``,
    ``_output_1``; others ``_output_<i>``); tensors keep their name if the layer is
    renamed; networks are ``Unnamed Network N`` with N counting networks per process. The
    conventions are tables in ``_layertable.py``;
  * an attention is an IAttentionInputLayer (inputs q, k, v, [mask], [quantize scale], no
    outputs) followed by an IAttentionOutputLayer (no inputs, one output);
  * shapes are checked when they are needed (an output's shape is read), as TensorRT
    does, so attributes may be set after a layer is created;
  * native plugin creators registered by ``init_libnvinfer_plugins`` produce one output
    shaped like input 0.
"""

from __future__ import annotations

import builtins as _builtins
import typing as _typing
import warnings as _warnings

from trt_netser.offline import _enums, _interfaces
from trt_netser.offline._builder import (
    Builder,
    IBuilderConfig,
    IOptimizationProfile,
    ITimingCache,
)
from trt_netser.offline._constructs import IAttention, IIfConditional, ILoop
from trt_netser.offline._engine import (
    ICudaEngine,
    IExecutionContext,
    IRuntimeConfig,
    ISerializationConfig,
)
from trt_netser.offline._enums import *  # noqa: F403 - every TensorRT enum
from trt_netser.offline._enums import DataType, _Severity
from trt_netser.offline._hostmem import IHostMemory
from trt_netser.offline._inspector import EngineInspector
from trt_netser.offline._interfaces import *  # noqa: F403 - GPU-side interfaces (see module)
from trt_netser.offline._layers import (
    LAYER_CLASSES,
    IAttentionBoundaryLayer,
    IIfConditionalBoundaryLayer,
    ILayer,
    ILoopBoundaryLayer,
)
from trt_netser.offline._logger import ILogger, Logger
from trt_netser.offline._network import INetworkDefinition
from trt_netser.offline._plugins import (
    DimsExprs,
    DynamicPluginTensorDesc,
    FallbackString,
    IDimensionExpr,
    IErrorRecorder,
    IExprBuilder,
    InterfaceInfo,
    IPluginCapability,
    IPluginCreator,
    IPluginCreatorInterface,
    IPluginCreatorV3One,
    IPluginCreatorV3Quick,
    IPluginRegistry,
    IPluginResource,
    IPluginResourceContext,
    IPluginV2,
    IPluginV2DynamicExt,
    IPluginV2DynamicExtBase,
    IPluginV2Ext,
    IPluginV3,
    IPluginV3OneBuild,
    IPluginV3OneBuildV2,
    IPluginV3OneCore,
    IPluginV3OneRuntime,
    IPluginV3QuickAOTBuild,
    IPluginV3QuickBuild,
    IPluginV3QuickCore,
    IPluginV3QuickRuntime,
    ISymExpr,
    ISymExprs,
    IVersionedInterface,
    KernelLaunchParams,
    PluginField,
    PluginFieldCollection,
    PluginFieldCollection_,
    PluginTensorDesc,
    get_builder_plugin_registry,
    get_plugin_registry,
    init_libnvinfer_plugins,
)
from trt_netser.offline._pyarg import MODULE as _MODULE
from trt_netser.offline._refitter import Refitter
from trt_netser.offline._runtime import Runtime
from trt_netser.offline._streams import IStreamReader, IStreamReaderV2, IStreamWriter
from trt_netser.offline._tensor import ITensor
from trt_netser.offline._types import (
    Dims,
    Dims2,
    Dims3,
    Dims4,
    DimsHW,
    Permutation,
    Weights,
    nptype,
    volume,
)

__version__ = "10.16.1.11"

globals().update(LAYER_CLASSES)

# DataType shortcuts, as in ``tensorrt``.
float32 = DataType.FLOAT
float16 = DataType.HALF
bfloat16 = DataType.BF16
int8 = DataType.INT8
int32 = DataType.INT32
int64 = DataType.INT64
bool = DataType.BOOL
uint8 = DataType.UINT8
fp8 = DataType.FP8
int4 = DataType.INT4
fp4 = DataType.FP4
e8m0 = DataType.E8M0
# Leftovers of the real module's own initialisation loop (present in the official dump).
attr = "VERBOSE"
value = _Severity.VERBOSE


def common_enter(this: object) -> object:
    """Context managers are deprecated and have no effect: entering one warns (a
    DeprecationWarning with the real module's text, an error under ``-W error``)."""
    # stacklevel 1, as the real module warns (the location is this module, not the caller)
    _warnings.warn(  # noqa: B028
        "Context managers for TensorRT types are deprecated. "
        "Memory will be freed automatically when the reference count reaches 0.",
        DeprecationWarning,
    )
    return this


def common_exit(this: object, exc_type: object, exc_value: object, traceback: object) -> None:
    """Context managers are deprecated and have no effect."""


def _logger_exit(this: object, exc_type: object, exc_value: object, traceback: object) -> None:
    """ILogger's ``__exit__`` (a lambda in the real module: the logger has no destructor)."""


# The real ``tensorrt/__init__.py`` installs these on exactly these classes (the classes'
# own ``__enter__``/``__exit__`` stay for type checkers); EngineInspector, Refitter and the
# configs have none.
for _cls, _exit in (
    (ILogger, _logger_exit),
    (ICudaEngine, common_exit),
    (IExecutionContext, common_exit),
    (Runtime, common_exit),
    (IHostMemory, common_exit),
    (Builder, common_exit),
    (INetworkDefinition, common_exit),
    (_interfaces.OnnxParser, common_exit),
    (IBuilderConfig, common_exit),
):
    # setattr: mypy refuses assigning to a method of a class object
    setattr(_cls, "__enter__", common_enter)  # noqa: B010
    setattr(_cls, "__exit__", _exit)  # noqa: B010
del _cls, _exit


if _typing.TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def run(
    engine: ICudaEngine,
    feeds: Mapping[str, Any],
    *,
    reference: _builtins.bool = False,  # ``bool`` is trt.bool (DataType.BOOL) in this module
    all_tensors: _builtins.bool = False,
) -> dict[str, Any]:
    """OFFLINE-ONLY (the real bindings have no such function): run an engine on the CPU.

    ``feeds`` maps input names to arrays; returns the outputs (every layer's output too
    with ``all_tensors``) by name, computed in float64 with ``reference``. Client code
    written for TensorRT uses ``IExecutionContext`` instead, which runs offline as well.
    """
    from trt_netser.offline._execute.context import run as _run

    return _run(engine, feeds, reference=reference, all_tensors=all_tensors)


def register_plugin_implementation(creator: Any, implementation: Any) -> None:
    """OFFLINE-ONLY (the real bindings have no such function): a numpy implementation for
    the plugins of ``creator`` (a plugin creator, or ``(name, version, namespace)``).

    ``implementation(node, inputs) -> outputs`` is called with the layer's description
    (``node.attrs["plugin"]``) and input arrays; None unregisters it.
    """
    from trt_netser.offline._execute.plugins import register

    register(creator, implementation)


def get_nv_onnx_parser_version() -> int:
    """The ONNX parser is not part of the offline model: version 0."""
    return 0


for _obj in list(globals().values()):
    if isinstance(_obj, type) and _obj.__module__.startswith("trt_netser.offline._"):
        _obj.__module__ = _MODULE
del _obj

__all__ = [
    *_enums.__all__,
    *_interfaces.__all__,
    "ITimingCache",
    *LAYER_CLASSES,
    "Builder",
    "IBuilderConfig",
    "IOptimizationProfile",
    "EngineInspector",
    "ICudaEngine",
    "IExecutionContext",
    "IHostMemory",
    "IRuntimeConfig",
    "ISerializationConfig",
    "Refitter",
    "Runtime",
    "IStreamReader",
    "IStreamReaderV2",
    "IStreamWriter",
    "DynamicPluginTensorDesc",
    "FallbackString",
    "IErrorRecorder",
    "IPluginResourceContext",
    "ISymExpr",
    "ISymExprs",
    "KernelLaunchParams",
    "PluginTensorDesc",
    "IAttention",
    "IIfConditional",
    "ILoop",
    "IAttentionBoundaryLayer",
    "IIfConditionalBoundaryLayer",
    "ILayer",
    "ILoopBoundaryLayer",
    "ILogger",
    "Logger",
    "INetworkDefinition",
    "ITensor",
    "DimsExprs",
    "IDimensionExpr",
    "IExprBuilder",
    "InterfaceInfo",
    "IPluginCapability",
    "IPluginCreator",
    "IPluginCreatorInterface",
    "IPluginCreatorV3One",
    "IPluginCreatorV3Quick",
    "IPluginRegistry",
    "IPluginResource",
    "IPluginV2",
    "IPluginV2DynamicExt",
    "IPluginV2DynamicExtBase",
    "IPluginV2Ext",
    "IPluginV3",
    "IPluginV3OneBuild",
    "IPluginV3OneBuildV2",
    "IPluginV3OneCore",
    "IPluginV3OneRuntime",
    "IPluginV3QuickAOTBuild",
    "IPluginV3QuickBuild",
    "IPluginV3QuickCore",
    "IPluginV3QuickRuntime",
    "IVersionedInterface",
    "PluginField",
    "PluginFieldCollection",
    "PluginFieldCollection_",
    "get_builder_plugin_registry",
    "get_plugin_registry",
    "init_libnvinfer_plugins",
    "Dims",
    "Dims2",
    "Dims3",
    "Dims4",
    "DimsHW",
    "Permutation",
    "Weights",
    "nptype",
    "volume",
    "float32",
    "float16",
    "bfloat16",
    "int8",
    "int32",
    "int64",
    "bool",
    "uint8",
    "fp8",
    "int4",
    "fp4",
    "e8m0",
    "attr",
    "value",
    "common_enter",
    "common_exit",
    "get_nv_onnx_parser_version",
    "__version__",
]
