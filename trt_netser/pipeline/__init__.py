"""Build or refit: get a TensorRT engine from the cache by refitting it, or build it.

``build_engine`` is the whole pipeline (key, lock, lookup, checks, refit, or build and
store); ``refit_if_cached`` is the hit path alone, for build scripts that keep their own
build call. Everything here uses only TensorRT's public Python API. See docs/pipeline.md.
"""

from __future__ import annotations

from trt_netser.pipeline._entry import (
    EXTRAS_KEY,
    EntryMeta,
    Inventory,
    PinnedWeight,
    describe_entry,
)
from trt_netser.pipeline._explain import MissExplanation
from trt_netser.pipeline._flow import (
    BuildError,
    PipelineWarning,
    build_engine,
    dump_key,
    refit_if_cached,
    store_engine,
    variant_key,
)
from trt_netser.pipeline._outcome import FAILURES, OUTCOMES, BuildResult, Outcome, Timings
from trt_netser.pipeline._policy import REFIT_FLAGS, REFIT_POLICIES
from trt_netser.pipeline._weights import WEIGHT_ROLES, NetworkWeights, WeightSource, collect_weights

__all__ = [
    "EXTRAS_KEY",
    "FAILURES",
    "OUTCOMES",
    "REFIT_FLAGS",
    "REFIT_POLICIES",
    "WEIGHT_ROLES",
    "BuildError",
    "BuildResult",
    "EntryMeta",
    "Inventory",
    "MissExplanation",
    "NetworkWeights",
    "Outcome",
    "PinnedWeight",
    "PipelineWarning",
    "Timings",
    "WeightSource",
    "build_engine",
    "collect_weights",
    "describe_entry",
    "dump_key",
    "refit_if_cached",
    "store_engine",
    "variant_key",
]
