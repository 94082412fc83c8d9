"""The build-or-refit pipeline for TensorRT-LLM's legacy build flow (duck-typed).

Importable without TensorRT-LLM: nothing here imports it. The call sequence it expects
is TensorRT-LLM's own (``tensorrt_llm.Builder``, its ``Network``, a ``BuilderConfig``)::

    import tensorrt, tensorrt_llm, trt_netser
    from trt_netser.integrations import tensorrt_llm as tns

    builder = tensorrt_llm.Builder()
    builder_config = builder.create_builder_config(**build_config.to_dict()...)
    network = builder.create_network()
    network.plugin_config = build_config.plugin_config
    with trt_netser.capture(tensorrt), tensorrt_llm.net_guard(network):
        network.set_named_parameters(model.named_parameters())
        model(**model.prepare_inputs(...))
    result = tns.build_engine(builder, network, builder_config, build_config=build_config,
                              cache="s3://builds/trt-cache")
    engine_buffer = result.plan        # what builder.build_engine(...) would have returned

On a miss it calls ``builder.build_engine(network, builder_config)`` (TensorRT-LLM's own
build, which adds its optimization profiles) and stores the engine; on a hit it refits
the cached engine by the model's named parameters (``network.named_parameters``), as
``tensorrt_llm.Builder.refit_engine`` does. Pass ``build_config`` so the
BuildConfig (max batch size, sequence lengths, plugin config...) is part of the key: the
profiles TensorRT-LLM derives from it are added inside its build, after the key.

Names: TensorRT-LLM names layers after source lines (``..._L630/...``); with
``names="strip-line-numbers"`` (the default here) those parts are dropped before the
key is computed and the engine built, so an upgrade that only moves lines keeps the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trt_netser.pipeline import BuildResult
from trt_netser.pipeline import build_engine as _build_engine
from trt_netser.pipeline import refit_if_cached as _refit_if_cached
from trt_netser.pipeline._flow import CacheArg
from trt_netser.pipeline._names import NamePolicy

__all__ = ["build_engine", "named_weights", "refit_if_cached"]


class _Builder:
    """Looks like a ``tensorrt.Builder`` to the pipeline; builds through TensorRT-LLM."""

    def __init__(self, llm_builder: Any, network: Any, builder_config: Any) -> None:
        self._llm_builder = llm_builder
        self._network = network
        self._builder_config = builder_config
        trt_builder = getattr(llm_builder, "trt_builder", None)
        self.logger = getattr(trt_builder, "logger", None)

    def build_serialized_network(self, network: Any, config: Any) -> Any:
        return self._llm_builder.build_engine(self._network, self._builder_config)


def _parameter_value(param: Any) -> Any:
    """The buffer of a TensorRT-LLM ``Parameter`` (or a plain array), without copying."""
    for attr in ("raw_value", "_value"):
        value = getattr(param, attr, None)
        if value is not None and hasattr(value, "__array_interface__"):
            return value
    get = getattr(param, "_get_weights", None)
    if callable(get):
        return get()
    return param


def named_weights(network: Any, named_parameters: Any = None) -> dict[str, Any]:
    """Weights name -> buffer, from ``named_parameters`` or ``network.named_parameters``."""
    source = named_parameters
    if source is None:
        source = getattr(network, "named_parameters", None)
        if callable(source):
            source = source()
    if source is None:
        return {}
    items: Iterable[tuple[str, Any]] = source.items() if isinstance(source, Mapping) else source
    return {str(name): _parameter_value(param) for name, param in items}


def _trt_config(builder_config: Any) -> Any:
    return getattr(builder_config, "trt_builder_config", builder_config)


def build_engine(
    builder: Any,
    network: Any,
    builder_config: Any,
    *,
    build_config: Any = None,
    named_parameters: Any = None,
    cache: CacheArg = None,
    names: NamePolicy = "strip-line-numbers",
    **options: Any,
) -> BuildResult:
    """:func:`trt_netser.build_engine` for ``tensorrt_llm.Builder`` / ``Network`` /
    ``BuilderConfig``; the engine's weight names are the model's named parameters."""
    return _build_engine(
        _Builder(builder, network, builder_config),
        network,
        _trt_config(builder_config),
        cache=cache,
        weight_names=named_weights(network, named_parameters),
        names=names,
        build_config=build_config,
        **options,
    )


def refit_if_cached(
    builder: Any,
    network: Any,
    builder_config: Any,
    *,
    build_config: Any = None,
    named_parameters: Any = None,
    cache: CacheArg = None,
    names: NamePolicy = "strip-line-numbers",
    **options: Any,
) -> Any | None:
    """The hit path alone for TensorRT-LLM: the refit cached engine, or None."""
    return _refit_if_cached(
        _Builder(builder, network, builder_config),
        network,
        _trt_config(builder_config),
        cache=cache,
        weight_names=named_weights(network, named_parameters),
        names=names,
        build_config=build_config,
        **options,
    )
