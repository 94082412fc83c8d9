"""``build_engine`` and ``refit_if_cached``: get an engine from the cache, or build it.

The flow (docs/pipeline.md): make the config refittable (policy), compute the key, look
it up without the lock; on a miss take the key's lock, look again (another rank may have
built meanwhile) and build and store while holding it, so waiters hit. A hit is checked
(metadata, pinned digests, inventory, prototypes) and refit; any failure rebuilds, and
quarantines the entry when it was at fault. A partially refit engine is never returned.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal, Union

from trt_netser.config import unwrap_config
from trt_netser.key import cache_key
from trt_netser.layers import sharing_layer_reads
from trt_netser.pipeline._entry import (
    EntryMeta,
    Inventory,
    MetaError,
    MissingMetaError,
    check_pinned,
    pin,
    pinned_digest,
    pinned_sources,
)
from trt_netser.pipeline._names import NamePolicy, apply_name_policy
from trt_netser.pipeline._outcome import FAILURES, BuildResult, Outcome, Timings
from trt_netser.pipeline._policy import RefitPolicy, RefitSetup, apply_refit_policy
from trt_netser.pipeline._record import resolve_extras, stored_extras
from trt_netser.pipeline._refit import HitError, engine_inventory, engine_signature, refit_engine
from trt_netser.pipeline._weights import NetworkWeights, collect_weights
from trt_netser.walk import trt_module_of, unwrap_network

if TYPE_CHECKING:
    from trt_netser.cache import EngineCache

#: What ``cache=`` accepts: an EngineCache, a root path or URL, None (the default cache)
#: or False (no cache).
CacheArg = Union["EngineCache", str, "PathLike[str]", Literal[False], None]

__all__ = ["BuildError", "PipelineWarning", "build_engine", "refit_if_cached", "store_engine"]

logger = logging.getLogger("trt_netser.pipeline")

#: Suffix of the cache key under which an entry's weightless network dump is stored.
DUMP_SEGMENT = "dump"
#: Prefix of the last key segment of a pinned-weights variant.
VARIANT_PREFIX = "pinned-"


class BuildError(RuntimeError):
    """TensorRT could not build the network (its logger has the errors)."""


class PipelineWarning(UserWarning):
    """The cache could not be used; the engine was built (and maybe not stored)."""


@dataclass
class _Pinned:
    """The entry's baked-in weights differ from the network's: use or build a variant."""

    variant_key: str
    problems: list[str]


@dataclass
class _Failed:
    code: str
    message: str
    quarantined: str | None
    entry: Any = None  # the version that failed (a CacheEntry)

    def replaced_by(self, other: Any) -> bool:
        """Whether ``other`` is another version than the one that failed (a rebuild can
        give the same plan bytes: the publication time tells them apart)."""
        if self.entry is None:
            return True
        return bool(
            getattr(other, "digest", None) != getattr(self.entry, "digest", None)
            or getattr(other, "created", None) != getattr(self.entry, "created", None)
        )


def _warn(result: BuildResult | None, message: str) -> None:
    logger.warning("%s", message)
    warnings.warn(message, PipelineWarning, stacklevel=4)
    if result is not None:
        result.warnings.append(message)


def variant_key(key: str, pinned: list[Any] | tuple[Any, ...]) -> str:
    """Where the variant of ``key`` with these pinned values lives (beside the entry)."""
    return f"{key}/{VARIANT_PREFIX}{pinned_digest(tuple(pinned))[:32]}"


def dump_key(key: str) -> str:
    """Where the weightless dump of the entry ``key`` lives."""
    return f"{key}/{DUMP_SEGMENT}"


def _serialize(trt: Any, engine: Any, *, exclude_weights: bool = False) -> Any:
    """Serialize keeping the engine refittable (INCLUDE_REFIT), optionally weightless."""
    flags = getattr(trt, "SerializationFlag", None)
    make = getattr(engine, "create_serialization_config", None)
    if flags is None or not callable(make):
        if exclude_weights:
            raise HitError("serialize", "this TensorRT cannot serialize without weights")
        return engine.serialize()
    config = make()
    if hasattr(flags, "INCLUDE_REFIT") and bool(getattr(engine, "refittable", False)):
        config.set_flag(flags.INCLUDE_REFIT)
    if exclude_weights:
        config.set_flag(flags.EXCLUDE_WEIGHTS)
    plan = engine.serialize_with_config(config)
    if plan is None:
        raise HitError("serialize", "the engine could not be serialized")
    return plan


def _weight_streaming(engine: Any) -> dict[str, Any]:
    """The runtime weight-streaming budget (not part of the key), read defensively."""
    out: dict[str, Any] = {}
    for name in (
        "streamable_weights_size",
        "weight_streaming_budget_v2",
        "minimum_weight_streaming_budget",
    ):
        try:
            value = getattr(engine, name)
        except Exception:
            continue
        if isinstance(value, int):
            out[name] = int(value)
    return out


def _same_plan(a: Any, b: Any) -> bool:
    return bytes(memoryview(a).cast("B")) == bytes(memoryview(b).cast("B"))


class _Run:
    """State of one ``build_engine`` call (so each phase is one small method)."""

    def __init__(
        self,
        builder: Any,
        network: Any,
        config: Any,
        cache: Any,
        trt_logger: Any,
        options: dict[str, Any],
    ) -> None:
        self.builder = builder
        self.network = network
        self.net = unwrap_network(network)
        self.trt = trt_module_of(self.net)
        self.config = config
        self.cache = cache
        self.options = options
        self.timings = Timings()
        self.trt_logger = trt_logger
        self._runtime: Any = None
        self._weights: NetworkWeights | None = None
        self.setup: RefitSetup | None = None
        self.key: Any = None
        self.cache_failed: str | None = None
        self._fresh: Any = None
        self.lease_ttl = 60.0
        self.weight_names: Mapping[str, Any] | None = None

    # -- helpers -----------------------------------------------------------------------

    @property
    def runtime(self) -> Any:
        if self._runtime is None:
            self._runtime = self.trt.Runtime(self.trt_logger)
        return self._runtime

    @property
    def weights(self) -> NetworkWeights:
        if self._weights is None:
            with self.timings.phase("collect"):
                self._weights = collect_weights(self.net, self.weight_names)
        return self._weights

    def result(self, outcome: Outcome, entry_key: str, **fields: Any) -> BuildResult:
        assert self.setup is not None
        return BuildResult(
            key=self.key,
            outcome=outcome,
            entry_key=entry_key,
            timings=self.timings,
            refit_flag=self.setup.flag,
            refit_flag_added=self.setup.added,
            **fields,
        )

    def lookup(self, k: str) -> Any:
        """The verified entry or None; a cache error is remembered (plain build)."""
        if self.cache is None:
            return None
        with self.timings.phase("lookup"):
            try:
                return self.cache.get(k)
            except Exception as exc:  # CacheError from strict caches, anything else
                self.cache_failed = f"cache read failed: {type(exc).__name__}: {exc}"
                return None

    @contextlib.contextmanager
    def locked(self, k: str, stale: Any = None) -> Iterator[None]:
        """Hold the key's lock and, on remote stores, its build lease; ``stale`` is the
        entry that failed and will be replaced (it does not count as published)."""
        if self.cache is None or self.cache_failed:
            yield
            return
        start = time.perf_counter()
        try:
            lock = self.cache.lock(k)
            lock.__enter__()
        except Exception as exc:
            self.timings["lock"] = self.timings.get("lock", 0.0) + time.perf_counter() - start
            logger.warning("engine cache lock for %r unavailable (%s): building unlocked", k, exc)
            yield
            return
        lease = None
        try:
            if getattr(self.cache, "is_remote", False):
                poll = min(0.5, self.lease_ttl / 4)
                lease = self.cache.lease(k, ttl=self.lease_ttl, poll=poll, stale=stale)
        except Exception as exc:
            logger.warning("build lease on %r unavailable (%s): building without it", k, exc)
        self.timings["lock"] = self.timings.get("lock", 0.0) + time.perf_counter() - start
        try:
            yield
        finally:
            if lease is not None:
                lease.release()
            lock.__exit__(None, None, None)

    def quarantine(self, k: str, reason: str, entry: Any) -> str | None:
        if self.cache is None:
            return None
        try:
            where: str | None = self.cache.quarantine(k, reason, entry=entry)
            return where
        except Exception as exc:
            logger.warning("could not quarantine %r (%s): %s", k, reason, exc)
            return None

    # -- the hit path --------------------------------------------------------------------

    def try_hit(self, k: str, entry: Any, *, variant: bool, verify: bool) -> Any:
        """A BuildResult, a _Pinned (use a variant) or a _Failed (rebuild)."""
        assert self.setup is not None
        try:
            try:
                get = self.cache.get if self.cache is not None else None
                with self.timings.phase("lookup"):  # the record, and reading it, are lookup
                    meta = EntryMeta.from_extras(resolve_extras(entry.extras, get))
            except MetaError as exc:
                code = "no-metadata" if isinstance(exc, MissingMetaError) else "bad-metadata"
                raise HitError(code, str(exc)) from None
            weights = self.weights
            unreadable = [p for p in meta.pinned if p.digest is None]
            if unreadable:
                raise HitError("unpinnable", f"pinned weight {unreadable[0].where} has no digest")
            with self.timings.phase("pinned"):
                problems = check_pinned(weights, meta.pinned)
            if problems:
                if variant:  # its key names these pinned values: they cannot differ
                    raise HitError("pinned-mismatch", problems[0])
                places = {(p.layer, p.prop) for p in meta.pinned}
                current = pin([s for s in weights.sources if (s.layer, s.prop) in places])
                return _Pinned(variant_key(k, current), problems)
            identical = meta.inventory.empty or (
                self.setup.flag in (None, "REFIT_IDENTICAL") and not meta.weightless
            )
            with self.timings.phase("deserialize"):
                engine = self.runtime.deserialize_cuda_engine(entry.plan)
            if engine is None:
                raise HitError("deserialize", "TensorRT could not deserialize the cached plan")
            fields: dict[str, Any] = {"variant": variant, "weightless": meta.weightless}
            if self.setup.weight_streaming:
                fields["weight_streaming"] = _weight_streaming(engine)
            if identical:
                result = self.result(Outcome.HIT_IDENTICAL, k, engine=engine, **fields)
                result._plan = entry.plan
            else:
                with self.timings.phase("refit"):
                    count, nbytes = refit_engine(self.trt, engine, weights, meta, self.trt_logger)
                result = self.result(
                    Outcome.HIT_REFIT,
                    k,
                    engine=engine,
                    weights_refit=count,
                    weight_bytes=nbytes,
                    **fields,
                )
                trt = self.trt
                result._serialize = lambda: _serialize(trt, engine)
            if verify:
                self.verify(result)
            return result
        except HitError as exc:
            return self.failed(k, entry, exc.code, str(exc))
        except BuildError:
            raise  # the verification build failed: the network, not the entry
        except Exception as exc:  # never let a broken entry break the build
            logger.exception("hit path for %r failed", k)
            return self.failed(k, entry, "error", f"{type(exc).__name__}: {exc}")

    def failed(self, k: str, entry: Any, code: str, message: str) -> _Failed:
        failure = FAILURES[code]
        where = None
        if failure.entry_at_fault:
            where = self.quarantine(k, f"{code}: {message}", entry)
        logger.warning("engine cache hit %r not usable (%s: %s): rebuilding", k, code, message)
        return _Failed(code, message, where, entry)

    def verify(self, result: BuildResult) -> None:
        """Verification mode: a fresh build must give the refit engine's plan, or (real
        TensorRT's builds are not bit-for-bit deterministic) an engine with the same
        I/O signature, profiles and refit inventory."""
        with self.timings.phase("verify"):
            fresh = self.builder.build_serialized_network(self.net, self.config)
            if fresh is None:
                raise BuildError("verification build failed (see the TensorRT logger)")
            if _same_plan(result.plan, fresh):
                result.verified = "plan"
                return
            engine = self.runtime.deserialize_cuda_engine(fresh)
            same = engine is not None and engine_signature(
                self.trt, engine, self.trt_logger
            ) == engine_signature(self.trt, result.engine, self.trt_logger)
        self._fresh = fresh
        if not same:
            raise HitError("verify", "the cached engine differs from a fresh build's")
        result.verified = "signature"

    # -- the miss path -------------------------------------------------------------------

    def build(self) -> Any:
        with self.timings.phase("build"):
            plan = self.builder.build_serialized_network(self.net, self.config)
        if plan is None:
            raise BuildError(
                "TensorRT could not build the network (build_serialized_network returned "
                "None; the builder's logger has the errors)"
            )
        return plan

    def build_and_store(
        self,
        k: str,
        outcome: Outcome,
        *,
        reason: str | None = None,
        failure: _Failed | None = None,
        variant_of: str | None = None,
        plan: Any = None,
        deserialize: bool = False,
        weightless: bool = False,
        store_dump: bool = False,
        explain: bool = False,
    ) -> BuildResult:
        assert self.setup is not None
        start = time.perf_counter()
        if plan is None:
            plan = self.build()
        build_seconds = time.perf_counter() - start
        fields: dict[str, Any] = {}
        with self.timings.phase("inspect"):
            engine = self.runtime.deserialize_cuda_engine(plan)
        meta = None
        stored_plan = plan
        if engine is None:
            _warn(None, f"the built plan of {k!r} cannot be deserialized here: not stored")
        else:
            meta, stored_plan = self.describe_engine(engine, plan, k, variant_of, weightless)
            if self.setup.weight_streaming:
                fields["weight_streaming"] = _weight_streaming(engine)
            if meta.weightless and deserialize and not meta.inventory.empty:
                with self.timings.phase("refit"):
                    refit_engine(self.trt, engine, self.weights, meta, self.trt_logger)
        result = self.result(
            outcome,
            k,
            reason=reason if failure is None else f"{failure.code}: {failure.message}",
            failure=None if failure is None else failure.code,
            quarantined=None if failure is None else failure.quarantined,
            variant=variant_of is not None,
            weightless=bool(meta and meta.weightless),
            engine=engine if deserialize else None,
            **fields,
        )
        result._plan = plan
        if self.cache_failed:
            result.outcome = Outcome.CACHE_ERROR_BUILT
            result.reason = self.cache_failed
            _warn(result, f"engine cache unusable, built without it: {self.cache_failed}")
            return result
        if explain and variant_of is None and failure is None and self.cache is not None:
            from trt_netser.pipeline._explain import explain_miss

            with self.timings.phase("explain"):
                result.explanation = explain_miss(self, k)
            if result.explanation is not None:
                for line in result.explanation.lines():  # as JAX's explain_cache_misses logs
                    logger.info("%s", line)
                if result.reason is None:
                    result.reason = result.explanation.summary
        ambiguous = sorted(
            {
                ly
                for ly, r, _d, _c in meta.inventory.layers
                if (ly, r) in self.weights.duplicate_layers
            }
            if meta is not None
            else ()
        )
        if ambiguous:
            _warn(
                result,
                f"layer names {', '.join(map(repr, ambiguous[:3]))} are not unique, so the "
                "refitter cannot address their weights: the engine is not stored",
            )
            meta = None
        if meta is not None and self.cache is not None:
            if store_dump and variant_of is None:
                meta = self.store_dump(k, meta)
            result.stored = self.store(result, k, stored_plan, build_seconds, meta)
        return result

    def describe_engine(
        self, engine: Any, plan: Any, k: str, variant_of: str | None, weightless: bool
    ) -> tuple[EntryMeta, Any]:
        """Inventory and pinned digests of a freshly built engine (and the plan to store)."""
        assert self.setup is not None
        with self.timings.phase("inspect"):
            if bool(getattr(engine, "refittable", False)):
                refitter = self.trt.Refitter(engine, self.trt_logger)
                inventory = engine_inventory(refitter, self.weights)
                del refitter
            else:
                inventory = Inventory()
            pinned = pin(pinned_sources(self.weights, inventory))
            stripped = self.setup.strip_plan and not inventory.empty
            stored = plan
            if weightless and not stripped and not inventory.empty:
                stored = _serialize(self.trt, engine, exclude_weights=True)
        network = self.key.component("network").digest if hasattr(self.key, "component") else ""
        meta = EntryMeta(
            refit_flag=self.setup.flag,
            weightless=stripped or (weightless and not inventory.empty),
            inventory=inventory,
            pinned=pinned,
            network_digest=network,
            variant_of=variant_of,
            weight_streaming=self.setup.weight_streaming,
        )
        return meta, stored

    def store(
        self, result: BuildResult, k: str, plan: Any, seconds: float, meta: EntryMeta
    ) -> bool:
        error: str | None
        with self.timings.phase("store"):
            try:
                target = self.key if k == str(self.key) else k  # components for explain
                extras = stored_extras(meta, k, self.cache.put)
                stored = self.cache.put(target, plan, build_seconds=seconds, extras=extras)
            except Exception as exc:
                stored = None
                error = f"{type(exc).__name__}: {exc}"
            else:
                error = None if getattr(stored, "stored", True) else "see the trt_netser.cache log"
        if error is not None:
            result.outcome = Outcome.CACHE_ERROR_BUILT
            result.reason = f"cache write failed: {error}"
            _warn(result, f"engine cache write of {k!r} failed ({error}): engine not stored")
            return False
        return True

    def store_dump(self, k: str, meta: EntryMeta) -> EntryMeta:
        from trt_netser.pipeline._dump import dump_bytes

        with self.timings.phase("dump"):
            try:
                data = dump_bytes(self)
                if data is None:
                    return meta
                entry = self.cache.put(dump_key(k), data, extras={"trt_netser.dump_of": k})
            except Exception as exc:
                logger.warning("could not store the dump of %r: %s", k, exc)
                return meta
        if not getattr(entry, "stored", True):
            return meta
        return EntryMeta(**{**meta.__dict__, "dump_key": dump_key(k)})


def _open_cache(cache: Any) -> Any:
    if cache is None:
        from trt_netser.cache import EngineCache

        return EngineCache()
    if isinstance(cache, str) or hasattr(cache, "__fspath__"):
        from trt_netser.cache import EngineCache

        return EngineCache(cache)
    return cache


def _prepare(
    builder: Any,
    network: Any,
    config: Any,
    cache: Any,
    logger_: Any,
    refit: RefitPolicy,
    weightless: bool,
    key_options: dict[str, Any],
    weight_names: Mapping[str, Any] | None = None,
    names: NamePolicy = "keep",
) -> _Run:
    net = unwrap_network(network)
    trt = trt_module_of(net)
    apply_name_policy(net, names)  # before the key: build and refit see the same names
    if logger_ is None:
        logger_ = getattr(builder, "logger", None) if builder is not None else None
    if logger_ is None:
        logger_ = trt.Logger(trt.Logger.WARNING)
    run = _Run(
        builder,
        network,
        config,
        _open_cache(cache) if cache is not False else None,
        logger_,
        key_options,
    )
    run.weight_names = weight_names
    run.setup = apply_refit_policy(trt, unwrap_config(config), refit)
    if weightless and run.setup.flag is None:
        raise ValueError(
            "weightless=True needs a refittable build: use refit='add' or set a refit flag"
        )
    key_options.setdefault("pinned_verified", True)  # the hit path checks pinned values
    with run.timings.phase("key"):
        run.key = cache_key(network, config, **key_options)
    return run


@sharing_layer_reads()  # the key's readers and collect_weights read each layer once
def build_engine(
    builder: Any,
    network: Any,
    config: Any,
    *,
    cache: CacheArg = None,
    logger: Any = None,
    refit: RefitPolicy = "add",
    weightless: bool = False,
    verify: bool = False,
    deserialize: bool = False,
    explain: bool = True,
    store_dump: bool = True,
    lease_ttl: float = 60.0,
    weight_names: Mapping[str, Any] | None = None,
    names: NamePolicy = "keep",
    **key_options: Any,
) -> BuildResult:
    """Get the engine of ``network`` built with ``config``: refit from the cache, or build.

    ``cache`` is an :class:`~trt_netser.EngineCache`, a root path/URL, None (the default
    cache) or False (no cache). ``refit="add"`` (default) sets ``BuilderFlag.REFIT`` on a
    config without a refit flag before the key is computed; ``"keep"`` leaves it. With
    ``weightless=True`` entries are stored without refittable weights (EXCLUDE_WEIGHTS).
    ``verify=True`` also builds fresh on a hit and compares plans. ``key_options`` go to
    :func:`trt_netser.cache_key` (``profiles``, ``extras``, ``build_config``, ...).
    On remote stores a miss builds under a lease in the store renewed every
    ``lease_ttl / 3`` s, so builders on other hosts wait and then hit. ``weight_names``
    maps weights names to the buffers given to ``set_weights_name`` (else the capture's
    records are used); ``names="strip-line-numbers"`` drops TensorRT-LLM's generated
    ``_L<line>`` name parts before the key is computed. Raises :class:`BuildError` when
    TensorRT cannot build the network.
    """
    run = _prepare(
        builder, network, config, cache, logger, refit, weightless, key_options, weight_names, names
    )
    run.lease_ttl = float(lease_ttl)
    k = str(run.key)
    options = {
        "deserialize": deserialize,
        "weightless": weightless,
        "store_dump": store_dump,
        "explain": explain,
    }
    return _obtain(run, k, None, verify, options)


def _obtain(
    run: _Run, k: str, variant_of: str | None, verify: bool, options: dict[str, Any]
) -> BuildResult:
    variant = variant_of is not None
    entry = run.lookup(k)
    if entry is None:
        with run.locked(k):
            entry = run.lookup(k)
            if entry is None:
                outcome = Outcome.HIT_PINNED_MISMATCH_BUILT if variant else Outcome.MISS_BUILT
                reason = options.pop("pinned_reason", None)
                return run.build_and_store(
                    k,
                    outcome,
                    reason=reason,
                    variant_of=variant_of,
                    explain=options["explain"] and not variant,
                    deserialize=options["deserialize"],
                    weightless=options["weightless"],
                    store_dump=options["store_dump"],
                )
    got = run.try_hit(k, entry, variant=variant, verify=verify)
    if isinstance(got, BuildResult):
        return got
    if isinstance(got, _Pinned):
        options["pinned_reason"] = got.problems[0] + (
            f" (and {len(got.problems) - 1} more)" if len(got.problems) > 1 else ""
        )
        result = _obtain(run, got.variant_key, k, verify, options)
        if result.outcome is Outcome.HIT_PINNED_MISMATCH_BUILT and result.reason is None:
            result.reason = options.get("pinned_reason")
        return result
    fresh = run._fresh
    outcome = (
        Outcome.HIT_VERIFY_FAILED_REBUILT
        if got.code == "verify"
        else Outcome.HIT_REFIT_FAILED_REBUILT
    )
    with run.locked(k, stale=got.entry):  # the failed entry may still be there
        again = run.lookup(k) if fresh is None else None
        if again is not None and got.replaced_by(again):
            # another rank replaced the bad entry while this one failed: try that one
            retry = run.try_hit(k, again, variant=variant, verify=verify)
            if isinstance(retry, BuildResult):
                return retry
        return run.build_and_store(
            k,
            outcome,
            failure=got,
            variant_of=variant_of,
            plan=fresh,
            deserialize=options["deserialize"],
            weightless=options["weightless"],
            store_dump=options["store_dump"] and not variant,
        )


@sharing_layer_reads()  # the key's readers and collect_weights read each layer once
def refit_if_cached(
    builder: Any,
    network: Any,
    config: Any,
    *,
    cache: CacheArg = None,
    logger: Any = None,
    refit: RefitPolicy = "add",
    weight_names: Mapping[str, Any] | None = None,
    names: NamePolicy = "keep",
    **key_options: Any,
) -> Any | None:
    """The hit path alone: the cached engine refit with the network's weights, or None.

    For build scripts that keep their own build call: call it between network
    construction and building, build as usual when it returns None. Like
    :func:`build_engine` it sets REFIT on a config without refit flags (``refit="add"``)
    so the script's own build is refittable and keyed the same. Entries at fault are
    quarantined; a partially refit engine is never returned.
    """
    run = _prepare(
        builder, network, config, cache, logger, refit, False, key_options, weight_names, names
    )
    k = str(run.key)
    for _depth in range(2):
        entry = run.lookup(k)
        if entry is None:
            return None
        got = run.try_hit(k, entry, variant=_depth == 1, verify=False)
        if isinstance(got, BuildResult):
            return got.engine
        if not isinstance(got, _Pinned):
            return None
        k = got.variant_key
    return None


@sharing_layer_reads()  # the key's readers and collect_weights read each layer once
def store_engine(
    builder: Any,
    network: Any,
    config: Any,
    plan: Any,
    *,
    cache: CacheArg = None,
    logger: Any = None,
    refit: RefitPolicy = "add",
    weightless: bool = False,
    store_dump: bool = True,
    weight_names: Mapping[str, Any] | None = None,
    names: NamePolicy = "keep",
    **key_options: Any,
) -> BuildResult:
    """Store a plan the script built itself (after :func:`refit_if_cached` returned None).

    The plan must come from ``builder.build_serialized_network(network, config)`` with
    the config as :func:`refit_if_cached` left it (REFIT added). The entry gets the same
    metadata as one stored by :func:`build_engine`, so later calls refit it.
    """
    if plan is None:
        raise BuildError("store_engine() got no plan (build_serialized_network returned None)")
    run = _prepare(
        builder, network, config, cache, logger, refit, weightless, key_options, weight_names, names
    )
    k = str(run.key)
    with run.locked(k):
        return run.build_and_store(
            k, Outcome.MISS_BUILT, plan=plan, weightless=weightless, store_dump=store_dump
        )
