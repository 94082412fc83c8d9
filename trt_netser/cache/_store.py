"""``EngineCache``: a verified, atomically published, LRU-evicted store of TensorRT plans."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import blake3
import filelock

from trt_netser.cache._keys import CacheKeyLike, key_components, validate_key
from trt_netser.cache._local import MANIFEST, LocalBackend, RawEntry
from trt_netser.cache._remote import RemoteBackend
from trt_netser.cache._types import (
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    CacheEntry,
    CacheError,
    CacheStats,
    EntryInfo,
    GcReport,
    ManifestError,
    UnsafePathError,
    VerifyReport,
    encode_manifest,
    parse_manifest,
)

__all__ = ["ENV_VAR", "EngineCache", "default_root"]

logger = logging.getLogger("trt_netser.cache")

ENV_VAR = "TRT_NETSER_CACHE"

Key = str | CacheKeyLike
#: bytes, any contiguous buffer (``bytearray``, ``memoryview``, TensorRT's ``IHostMemory``),
#: or a path to a plan file.
Plan = Any


class _Corrupt(Exception):
    """An entry failed verification (internal)."""


def default_root() -> str:
    """``$TRT_NETSER_CACHE`` if set, else the platform's user cache dir for ``trt-netser``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    import platformdirs

    return platformdirs.user_cache_dir("trt-netser", appauthor=False)


def _version() -> str:
    try:
        from trt_netser import __version__

        return __version__
    except Exception:  # pragma: no cover - partial installs
        return "unknown"


def _plan_source(plan: object, what: str) -> memoryview | Path:
    """Normalise a plan given as bytes, a buffer (e.g. ``IHostMemory``) or a file path."""
    if isinstance(plan, (str, os.PathLike)):
        path = Path(plan)
        if not path.is_file():
            raise FileNotFoundError(f"{what}: plan file {str(path)!r} does not exist")
        return path
    if plan is None:
        raise TypeError(f"{what}: plan is None (expected bytes, a buffer or a file path)")
    try:
        view = memoryview(plan)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{what}: plan must be bytes, a buffer or a file path, not {type(plan).__name__}"
        ) from None
    if not view.contiguous:
        raise ValueError(f"{what}: plan buffer is not contiguous")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


class EngineCache:
    """A cache of serialized TensorRT engines (plans) keyed by ``trt_netser`` cache keys.

    ``root`` is a directory, a ``file://`` URL, or any fsspec URL (``s3://bucket/prefix``,
    ``memory://...``) for a remote store shared by a build farm. It defaults to
    ``$TRT_NETSER_CACHE`` or the user cache dir. Local directories are private (0o700/0o600)
    unless ``shared=True`` (setgid 0o2770/0o660, for a group). Read failures are misses and
    write failures are logged (the caller keeps its engine) unless ``strict=True``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        shared: bool = False,
        strict: bool = False,
        lock_timeout: float | None = None,
        stale_after: float = 3600.0,
        storage_options: dict[str, Any] | None = None,
        lock_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if root is None:
            root = default_root()
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a path or URL string, not {type(root).__name__}")
        text = os.fspath(root)
        if not text:
            raise ValueError("root must not be empty")
        self.shared = bool(shared)
        self.strict = bool(strict)
        self.lock_timeout = lock_timeout
        self.stale_after = float(stale_after)
        self._counts = {"hits": 0, "misses": 0, "puts": 0, "errors": 0}
        self._locks: dict[str, filelock.FileLock] = {}
        self._locks_guard = threading.Lock()
        self._backend: LocalBackend | RemoteBackend
        if isinstance(text, str) and "://" in text and not text.startswith("file://"):
            if lock_dir is None:
                import platformdirs

                digest = blake3.blake3(text.encode()).hexdigest()[:16]
                lock_dir = Path(platformdirs.user_cache_dir("trt-netser")) / "remote-locks" / digest
            self._backend = RemoteBackend(
                text, lock_dir=Path(lock_dir), storage_options=dict(storage_options or {})
            )
        else:
            if text.startswith("file://"):
                text = text[len("file://") :]
            self._backend = LocalBackend(Path(text).expanduser().absolute(), shared=self.shared)

    # -- small helpers -------------------------------------------------------------------

    @property
    def root(self) -> Path | str:
        """The cache root: a local ``Path`` or the remote URL."""
        return self._backend.root if isinstance(self._backend, LocalBackend) else self._backend.url

    @property
    def is_remote(self) -> bool:
        """True for fsspec (non-local) stores."""
        return self._backend.remote

    def __repr__(self) -> str:
        return f"EngineCache({str(self.root)!r}, shared={self.shared})"

    def path_for(self, key: Key) -> Path | str:
        """Where the entry for ``key`` lives (a directory, or a URL prefix for remote stores)."""
        k = validate_key(key)
        if isinstance(self._backend, LocalBackend):
            return self._backend.check_inside(self._backend.entry_dir(k))
        return self._backend.entry_url(k)

    def _lock(self, k: str) -> filelock.FileLock:
        with self._locks_guard:
            lock = self._locks.get(k)
            if lock is None:
                lock = self._locks[k] = self._backend.lock(k)
            return lock

    def _failed(self, what: str, k: str, exc: BaseException) -> None:
        self._counts["errors"] += 1
        if self.strict:
            raise CacheError(f"engine cache {what} failed for {k!r}: {exc}") from exc
        logger.warning("engine cache %s failed for %r (%s: %s)", what, k, type(exc).__name__, exc)

    # -- reading -------------------------------------------------------------------------

    def _check(self, k: str, raw: bytes, *, load: bool) -> CacheEntry:
        """Verify an entry whose manifest bytes are ``raw``; raise ``_Corrupt`` saying why."""
        try:
            manifest = parse_manifest(raw)
        except ManifestError as exc:
            raise _Corrupt(str(exc)) from None
        if manifest["key"] != k:
            raise _Corrupt(f"manifest is for key {manifest['key']!r}")
        plan = manifest["plan"]
        try:
            if load:
                data = self._backend.read_plan(k, plan["file"], plan["size"])
                digest = blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()
                size, path = len(data), None
            else:
                data = None
                digest, size, path = self._backend.hash_plan(k, plan["file"])
        except FileNotFoundError:
            raise
        except UnsafePathError:
            raise
        except ValueError as exc:
            raise _Corrupt(str(exc)) from None
        if size != plan["size"]:
            raise _Corrupt(f"plan is {size} bytes, manifest says {plan['size']}")
        if digest != plan["blake3"]:
            raise _Corrupt(
                f"plan blake3 {digest[:16]}... does not match manifest {plan['blake3'][:16]}..."
            )
        if path is None and isinstance(self._backend, LocalBackend):
            path = self._backend.entry_dir(k) / plan["file"]
        return CacheEntry(key=k, manifest=manifest, plan=data, path=path)

    def _quarantine(self, k: str, location: str, reason: str, raw: bytes | None) -> str | None:
        """Move a bad entry aside unless a writer changed it meanwhile; log either way."""
        lock = self._lock(k)
        try:
            lock.acquire(timeout=2.0)
        except (filelock.Timeout, OSError) as exc:
            logger.warning("engine cache entry %r is bad (%s); not quarantined: %s", k, reason, exc)
            return None
        try:
            if location == k + "@" and self._backend.read_manifest(k) != raw:
                return None  # replaced by a writer since we looked: not ours to move
            where = self._backend.quarantine(k, location, reason)
        except OSError as exc:
            logger.warning(
                "engine cache entry %r is bad (%s); quarantine failed: %s", k, reason, exc
            )
            return None
        finally:
            lock.release()
        logger.warning("engine cache entry %r is bad (%s): moved to %s", k, reason, where)
        return where

    def get(self, key: Key, *, load: bool = True) -> CacheEntry | None:
        """The verified entry for ``key``, or ``None`` on a miss (absent, corrupt, unreadable).

        The plan's blake3 digest is checked on every read; a corrupt entry is quarantined.
        ``load=False`` verifies the local plan file by streaming and returns its ``path``
        instead of the bytes. A hit records the use for LRU eviction.
        """
        k = validate_key(key)
        entry = None
        try:
            for _attempt in range(3):
                raw = self._backend.read_manifest(k)
                if raw is None:
                    break
                if _newer(raw):
                    logger.info("engine cache entry %r has a newer manifest version: miss", k)
                    break
                try:
                    entry = self._check(k, raw, load=load)
                except FileNotFoundError:
                    if self._backend.read_manifest(k) != raw:
                        continue  # replaced while we read: look again
                    self._quarantine(k, k + "@", "plan file is missing", raw)
                except _Corrupt as exc:
                    self._quarantine(k, k + "@", str(exc), raw)
                break
        except (OSError, UnsafePathError) as exc:
            self._failed("read", k, exc)
            entry = None
        if entry is None:
            self._counts["misses"] += 1
            return None
        self._counts["hits"] += 1
        try:
            self._backend.touch(k, time.time())
        except OSError as exc:  # read-only caches still serve hits
            logger.debug("engine cache could not record use of %r: %s", k, exc)
        return entry

    def contains(self, key: Key) -> bool:
        """Whether a committed entry with a well-formed manifest exists (plan not hashed)."""
        k = validate_key(key)
        try:
            raw = self._backend.read_manifest(k)
            if raw is None:
                return False
            return parse_manifest(raw)["key"] == k
        except (OSError, ValueError):
            return False

    __contains__ = contains

    # -- writing -------------------------------------------------------------------------

    def put(
        self,
        key: Key,
        plan: Plan,
        *,
        build_seconds: float | None = None,
        extras: dict[str, Any] | None = None,
        replace: bool = True,
    ) -> CacheEntry:
        """Publish ``plan`` (bytes, a buffer such as ``IHostMemory``, or a file path) atomically.

        With ``replace=False`` an existing entry wins and is returned instead (conditional
        publish). If writing fails the error is logged and the returned entry has
        ``stored=False`` (``strict=True`` raises :class:`CacheError` instead).
        """
        k = validate_key(key)
        components = key_components(key)
        source = _plan_source(plan, f"put({k!r})")
        manifest = self._manifest(k, components, build_seconds, extras)
        return self._put(k, source, plan, manifest, replace=replace)

    def _manifest(
        self,
        k: str,
        components: dict[str, Any] | None,
        build_seconds: float | None,
        extras: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if build_seconds is not None:
            if isinstance(build_seconds, bool) or not isinstance(build_seconds, (int, float)):
                raise TypeError(
                    f"build_seconds must be a number, not {type(build_seconds).__name__}"
                )
            if not math.isfinite(build_seconds) or build_seconds < 0:
                raise ValueError(f"build_seconds must be finite and >= 0, not {build_seconds!r}")
        if extras is not None and not isinstance(extras, dict):
            raise TypeError(f"extras must be a dict, not {type(extras).__name__}")
        for name, value in (("extras", extras), ("key.to_dict()", components)):
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{name} must be JSON-serialisable: {exc}") from None
        now = time.time()
        return {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_VERSION,
            "key": k,
            "key_components": components,
            "plan": {},
            "trt_netser_version": _version(),
            "created": now,
            "last_used": now,
            "build_seconds": None if build_seconds is None else float(build_seconds),
            "extras": dict(extras or {}),
        }

    def _put(
        self,
        k: str,
        source: memoryview | Path,
        plan: Any,
        manifest: dict[str, Any],
        *,
        replace: bool,
    ) -> CacheEntry:
        staged = None
        try:
            staged = self._backend.stage(source)
            manifest["plan"] = {
                "file": f"plan-{staged.digest}",
                "size": staged.size,
                "blake3": staged.digest,
            }
            lock = self._lock(k)
            with lock.acquire(timeout=-1 if self.lock_timeout is None else self.lock_timeout):
                published = self._backend.publish(
                    k, staged, encode_manifest(manifest), replace=replace
                )
            staged = None
            if not published:
                existing = self.get(k)
                if existing is not None:
                    return existing
                raise CacheError("an existing entry won the publish race but does not verify")
            self._counts["puts"] += 1
            path = None
            if isinstance(self._backend, LocalBackend):
                path = self._backend.entry_dir(k) / manifest["plan"]["file"]
            return CacheEntry(
                k, manifest, plan=plan if isinstance(plan, bytes) else None, path=path
            )
        except (OSError, UnsafePathError, filelock.Timeout) as exc:
            if staged is not None:
                self._backend.discard(staged)
            self._failed("write", k, exc)
            if not manifest["plan"]:
                manifest["plan"] = {"file": "", "size": _nbytes(source), "blake3": ""}
            data = bytes(source) if isinstance(source, memoryview) else None
            return CacheEntry(
                k,
                manifest,
                plan=data,
                path=source if isinstance(source, Path) else None,
                stored=False,
            )

    def get_or_build(
        self,
        key: Key,
        build: Callable[[], Plan],
        *,
        extras: dict[str, Any] | None = None,
    ) -> CacheEntry:
        """Return the cached entry, or build it exactly once across racing processes.

        On a miss the key's lock is taken, the cache re-checked (another builder may have
        published meanwhile), then ``build()`` runs and its plan is published. Waiters hit.
        Cache failures degrade to building without caching; ``build`` errors propagate.
        """
        k = validate_key(key)
        components = key_components(key)
        if not callable(build):
            raise TypeError(f"build must be callable, not {type(build).__name__}")
        entry = self.get(k)
        if entry is not None:
            return entry
        lock: filelock.FileLock | None = self._lock(k)
        try:
            assert lock is not None
            lock.acquire(timeout=-1 if self.lock_timeout is None else self.lock_timeout)
        except (OSError, filelock.Timeout) as exc:
            logger.warning("engine cache lock for %r unavailable (%s): building unlocked", k, exc)
            lock = None
        try:
            if lock is not None:
                entry = self.get(k)
                if entry is not None:
                    return entry
            start = time.perf_counter()
            plan = build()
            seconds = time.perf_counter() - start
            source = _plan_source(plan, f"get_or_build({k!r}): build()")
            manifest = self._manifest(k, components, seconds, extras)
            return self._put(k, source, plan, manifest, replace=False)
        finally:
            if lock is not None:
                lock.release()

    # -- for the build-or-refit pipeline (additive: a public lock and quarantine) ----------

    @contextlib.contextmanager
    def lock(self, key: Key, *, timeout: float | None = None) -> Iterator[None]:
        """Hold the key's inter-process lock (the one ``put`` and ``get_or_build`` take).

        Reentrant in one process. ``timeout`` defaults to the cache's ``lock_timeout``
        (None: wait forever); raises ``filelock.Timeout`` or ``OSError`` when not taken.
        """
        k = validate_key(key)
        wait = self.lock_timeout if timeout is None else timeout
        with self._lock(k).acquire(timeout=-1 if wait is None else wait):
            yield

    def lease(
        self, key: Key, *, ttl: float = 60.0, poll: float = 0.5, timeout: float | None = None
    ) -> Any:
        """On a remote store, take the key's build lease (``_lease.py``), waiting while a
        live builder on any host holds it; None once the entry exists, or on local stores
        (the lock file already covers every builder there)."""
        k = validate_key(key)
        if not isinstance(self._backend, RemoteBackend):
            return None
        from trt_netser.cache._lease import acquire_lease

        return acquire_lease(
            self._backend.fs,
            self._backend.base,
            k,
            ttl=ttl,
            poll=poll,
            timeout=timeout,
            ready=lambda: self.contains(k),
        )

    def quarantine(self, key: Key, reason: str, *, entry: CacheEntry | None = None) -> str | None:
        """Move the entry for ``key`` to ``quarantine/`` (with ``reason``); return where.

        For callers that found a verified entry unusable (e.g. a plan TensorRT cannot
        deserialize). With ``entry`` (what ``get`` returned) only that version is moved: if
        another writer has replaced it meanwhile, nothing is. ``None`` if nothing was moved.
        """
        k = validate_key(key)
        try:
            raw = self._backend.read_manifest(k)
        except (OSError, UnsafePathError) as exc:
            self._failed("quarantine", k, exc)
            return None
        if raw is None:
            return None
        if entry is not None:
            try:
                current = parse_manifest(raw)
            except ManifestError:
                current = None
            if current is not None and (
                current["plan"]["blake3"] != entry.digest
                or current.get("created") != entry.manifest.get("created")
            ):
                return None  # replaced since the caller read it: not the bad version
        return self._quarantine(k, k + "@", str(reason), raw)

    def remove(self, key: Key) -> bool:
        """Delete the entry for ``key``; True if there was one."""
        k = validate_key(key)
        try:
            with self._lock(k).acquire(
                timeout=-1 if self.lock_timeout is None else self.lock_timeout
            ):
                return self._backend.remove(k)
        except (OSError, UnsafePathError, filelock.Timeout) as exc:
            self._failed("remove", k, exc)
            return False

    # -- listing, verification, eviction -------------------------------------------------

    def _scan(self) -> Iterator[tuple[RawEntry, bytes | None, dict[str, Any] | None]]:
        for raw in self._backend.scan():
            data = manifest = None
            if MANIFEST in raw.files:
                try:
                    validate_key(raw.key)
                    data = self._backend.read_manifest(raw.key)
                    manifest = parse_manifest(data) if data is not None else None
                except (OSError, ValueError):
                    manifest = None
            yield raw, data, manifest

    def _info(self, raw: RawEntry, manifest: dict[str, Any]) -> EntryInfo:
        try:
            used = self._backend.read_last_used(raw.key)
        except (OSError, ValueError):
            used = None
        created = float(manifest.get("created", 0.0))
        last_used = max(created, float(manifest.get("last_used", created)), used or 0.0)
        build = manifest.get("build_seconds")
        return EntryInfo(
            key=raw.key,
            location=raw.location,
            size=raw.size,
            plan_size=int(manifest["plan"]["size"]),
            digest=str(manifest["plan"]["blake3"]),
            created=created,
            last_used=last_used,
            build_seconds=None if build is None else float(build),
            components=manifest.get("key_components"),
            extras=dict(manifest.get("extras") or {}),
            manifest=manifest,
        )

    def entries(self) -> Iterator[EntryInfo]:
        """Committed entries with readable manifests (plans are not hashed: see ``verify``)."""
        try:
            for raw, _data, manifest in self._scan():
                if manifest is not None and manifest["key"] == raw.key:
                    yield self._info(raw, manifest)
        except OSError as exc:
            self._failed("listing", str(self.root), exc)

    def info(self, key: Key) -> EntryInfo | None:
        """``EntryInfo`` for one key (no plan hashing, no use recorded), or ``None``."""
        k = validate_key(key)
        return next((e for e in self.entries() if e.key == k), None)

    def _sweep(self, raw: RawEntry, manifest: dict[str, Any] | None) -> int:
        """Delete files of an entry that no manifest references (killed writers' leftovers)."""
        keep = {MANIFEST, "last_used"} if manifest is not None else set()
        if manifest is not None:
            keep.add(manifest["plan"]["file"])
        names = [n for n in raw.files if n not in keep]
        if not names:
            return 0
        lock = self._lock(raw.key)
        try:
            lock.acquire(timeout=0)
        except (filelock.Timeout, OSError):
            return 0  # a writer is publishing this key right now
        try:
            return self._backend.delete_files(raw, names, stale_after=self.stale_after)
        finally:
            lock.release()

    def verify(self, *, progress: Progress | None = None) -> VerifyReport:
        """Hash every entry; quarantine bad ones; clean strays of dead writers.

        ``progress(done, total)`` is called after each entry (for progress bars).
        """
        report = VerifyReport()
        removed, freed = self._backend.clean_staging(self.stale_after)
        report.strays_removed += removed
        report.stray_bytes += freed
        for raw, data, manifest in _reporting(self._scan(), progress):
            try:
                validate_key(raw.key)
            except ValueError as exc:
                report.checked += 1
                self._quarantine_report(report, raw, str(exc), None)
                continue
            if MANIFEST not in raw.files:
                before = len(raw.files)
                freed = self._sweep(raw, None)
                report.strays_removed += before if freed or not raw.files else 0
                report.stray_bytes += freed
                continue
            report.checked += 1
            if data is None:
                report.skipped.append((raw.key, "manifest vanished"))
                continue
            if _newer(data):
                report.skipped.append((raw.key, "newer manifest version"))
                continue
            try:
                self._check(raw.key, data, load=False)
            except FileNotFoundError:
                if self._backend.read_manifest(raw.key) != data:
                    report.skipped.append((raw.key, "replaced during verification"))
                else:
                    self._quarantine_report(report, raw, "plan file is missing", data)
                continue
            except _Corrupt as exc:
                self._quarantine_report(report, raw, str(exc), data)
                continue
            except (OSError, UnsafePathError) as exc:
                self._quarantine_report(report, raw, f"unreadable: {exc}", data)
                continue
            report.ok.append(raw.key)
            freed = self._sweep(raw, manifest)
            if freed:
                report.strays_removed += 1
                report.stray_bytes += freed
        return report

    def _quarantine_report(
        self, report: VerifyReport, raw: RawEntry, reason: str, data: bytes | None
    ) -> None:
        where = self._quarantine(raw.key, raw.location, reason, data)
        if where is None:
            report.skipped.append((raw.key, reason))
        else:
            report.quarantined.append((raw.key, reason))

    def gc(
        self,
        max_bytes: int | None = None,
        *,
        max_age: float | None = None,
        clear_quarantine: bool = False,
        progress: Progress | None = None,
    ) -> GcReport:
        """Evict least-recently-used entries until they fit in ``max_bytes``.

        Also evicts entries unused for ``max_age`` seconds, removes leftovers of killed
        writers (not those of live ones) and, if asked, empties ``quarantine/``. Sizes and
        last-use times are read from the store, so entries of other processes count.
        ``progress(done, total)`` is called after each entry is examined.
        """
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0
        ):
            raise ValueError(f"max_bytes must be a non-negative int, not {max_bytes!r}")
        report = GcReport()
        removed, freed = self._backend.clean_staging(self.stale_after)
        report.strays_removed += removed
        report.stray_bytes += freed
        if clear_quarantine:
            report.stray_bytes += self._backend.clear_quarantine()
        candidates: list[tuple[float, RawEntry]] = []
        for raw, _data, manifest in _reporting(self._scan(), progress):
            if manifest is None or manifest["key"] != raw.key:
                # Orphans (no or broken manifest): old leftovers are swept, the rest count.
                freed = self._sweep(raw, None) if MANIFEST not in raw.files else 0
                report.stray_bytes += freed
                report.strays_removed += 1 if freed else 0
                if freed:
                    continue
                newest = max((m for _s, m in raw.files.values()), default=0.0)
                candidates.append((0.0 if MANIFEST in raw.files else newest, raw))
                report.bytes_before += raw.size
                continue
            freed = self._sweep(raw, manifest)
            report.stray_bytes += freed
            report.strays_removed += 1 if freed else 0
            candidates.append((self._info(raw, manifest).last_used, raw))
            report.bytes_before += raw.size
        candidates.sort(key=lambda item: (item[0], item[1].key))
        total = report.bytes_before
        now = time.time()
        for used, raw in candidates:
            too_big = max_bytes is not None and total > max_bytes
            too_old = max_age is not None and now - used > max_age
            if not (too_big or too_old):
                continue
            lock = self._lock(raw.key)
            try:
                lock.acquire(timeout=0)
            except (filelock.Timeout, OSError):
                report.skipped_locked.append(raw.key)
                continue
            try:
                gone = self._evict(raw)
            finally:
                lock.release()
            if gone:
                total -= raw.size
                report.evicted.append(raw.key)
        report.bytes_after = total
        return report

    def _evict(self, raw: RawEntry) -> bool:
        try:
            if isinstance(self._backend, LocalBackend):
                return self._backend.remove(raw.key) if raw.location == raw.key + "@" else False
            return self._backend.remove(raw.key)
        except (OSError, UnsafePathError) as exc:
            logger.warning("engine cache could not evict %r: %s", raw.key, exc)
            return False

    def stats(self) -> CacheStats:
        """Entry count and bytes (from the store) plus this process's hit/miss counters."""
        count = total = plans = 0
        for raw, _data, manifest in self._scan():
            total += raw.size
            if manifest is not None:
                count += 1
                plans += int(manifest["plan"]["size"])
        usage = self._backend.usage()
        return CacheStats(
            root=str(self.root),
            entries=count,
            bytes=total,
            plan_bytes=plans,
            quarantined=usage["quarantined"],
            quarantine_bytes=usage["quarantine_bytes"],
            staging_bytes=usage["staging_bytes"],
            **self._counts,
        )


def _newer(raw: bytes) -> bool:
    """Whether manifest bytes declare a format version this code does not know."""
    try:
        version = json.loads(raw).get("format_version")
    except (ValueError, AttributeError):
        return False
    return isinstance(version, int) and version > MANIFEST_VERSION


def _nbytes(source: memoryview | Path) -> int:
    if isinstance(source, memoryview):
        return source.nbytes
    try:
        return source.stat().st_size
    except OSError:
        return 0


#: A progress callback: ``progress(done, total)``.
Progress = Callable[[int, int], None]


def _reporting(
    items: Iterator[tuple[RawEntry, bytes | None, dict[str, Any] | None]],
    progress: Progress | None,
) -> Iterator[tuple[RawEntry, bytes | None, dict[str, Any] | None]]:
    """Yield ``items``, calling ``progress(done, total)`` after each (the scan is read
    first so the total is known; manifests are small)."""
    if progress is None:
        yield from items
        return
    listed = list(items)
    for done, item in enumerate(listed, 1):
        yield item
        progress(done, len(listed))
