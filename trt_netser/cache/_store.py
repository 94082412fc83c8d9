"""``EngineCache``: a verified, atomically published, LRU-evicted store of TensorRT plans."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
import filelock

from trt_netser.cache._family import (
    Families,
    group,
    needed_parts,
    part_keys,
    part_of,
    split_part,
)
from trt_netser.cache._keys import CacheKeyLike, key_components, validate_key
from trt_netser.cache._local import LAST_USED, MANIFEST, LocalBackend, RawEntry
from trt_netser.cache._remote import RemoteBackend
from trt_netser.cache._types import (
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    MAX_MANIFEST_BYTES,
    BadEntryError,
    CacheEntry,
    CacheError,
    CacheStats,
    EntryInfo,
    GcReport,
    ManifestError,
    UnsafePathError,
    VerifyReport,
    encode_manifest,
    is_newer,
    load_manifest,
    validate_manifest,
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


@dataclass(frozen=True)
class _Read:
    """What one look at a key's manifest found (internal).

    ``raw`` is the manifest bytes (``None``: no manifest), ``manifest`` the validated object,
    ``newer`` marks a manifest of a newer format (a miss, left alone), ``problem`` says why
    the entry is corrupt. Two reads with equal ``raw`` and ``problem`` saw the same state.
    """

    raw: bytes | None = None
    manifest: dict[str, Any] | None = None
    newer: bool = False
    problem: str | None = None

    @property
    def absent(self) -> bool:
        return self.raw is None and self.problem is None

    def same(self, other: _Read) -> bool:
        return self.raw == other.raw and self.problem == other.problem


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.DOTALL)


def _local_path(url: str) -> str:
    """The path of a ``file://`` URL; ``ValueError`` for an empty or malformed one."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"cache root {url!r}: a file:// URL names no host other than localhost "
            "(write file:///absolute/path)"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"cache root {url!r}: a file:// URL takes no query or fragment")
    path = urllib.parse.unquote(parts.path)
    if not path or "\0" in path:
        raise ValueError(f"cache root {url!r}: the file:// URL has no path")
    return path


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


#: Upper bound of the manifest bytes the plan's record (file, size, blake3) adds.
_PLAN_RECORD_BYTES = 256


def _same_version(manifest: dict[str, Any], entry: CacheEntry) -> bool:
    """Whether ``manifest`` is the very version ``entry`` was read from (a rebuild may
    give the same plan bytes, so the publication time tells versions apart too)."""
    return bool(
        manifest["plan"]["blake3"] == entry.digest
        and manifest.get("created") == entry.manifest.get("created")
    )


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
        match = _SCHEME.fullmatch(text)
        if match is None and "://" in text:
            raise ValueError(f"cache root {text!r} is not a valid URL (expected scheme://path)")
        if match is not None and match[1].lower() != "file":
            if not match[2].strip("/"):
                raise ValueError(f"cache root {text!r}: the {match[1]}:// URL has no path")
            if lock_dir is None:
                import platformdirs

                digest = blake3.blake3(text.encode()).hexdigest()[:16]
                lock_dir = Path(platformdirs.user_cache_dir("trt-netser")) / "remote-locks" / digest
            self._backend = RemoteBackend(
                text, lock_dir=Path(lock_dir), storage_options=dict(storage_options or {})
            )
        else:
            if match is not None:
                text = _local_path(text)
            self._backend = LocalBackend(Path(text).expanduser().absolute(), shared=self.shared)
            self._backend.check_root()

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

    def _acquire(self, k: str, timeout: float) -> filelock.FileLock | None:
        """The key's lock, held; ``None`` if it is busy or cannot be had (logged at DEBUG)."""
        try:
            lock = self._lock(k)
            lock.acquire(timeout=timeout)
        except (OSError, UnsafePathError, filelock.Timeout, RuntimeError) as exc:
            # RuntimeError: filelock refuses a second lock object for a file this thread
            # already holds (e.g. build() uses another EngineCache on the same root).
            logger.debug("engine cache lock for %r not taken: %s", k, exc)
            return None
        return lock

    def _wait(self) -> float:
        return -1 if self.lock_timeout is None else self.lock_timeout

    def _failed(self, what: str, k: str, exc: BaseException) -> None:
        self._counts["errors"] += 1
        if self.strict:
            raise CacheError(f"engine cache {what} failed for {k!r}: {exc}") from exc
        logger.warning("engine cache %s failed for %r (%s: %s)", what, k, type(exc).__name__, exc)

    # -- reading -------------------------------------------------------------------------

    def _read(self, k: str) -> _Read:
        """Look at the key's manifest once: absent, newer, corrupt (saying why) or valid.

        Storage failures (``OSError``, ``UnsafePathError``) propagate; hostile content never
        does: it is a ``problem``.
        """
        try:
            raw = self._backend.read_manifest(k)
        except BadEntryError as exc:
            return _Read(problem=str(exc))
        if raw is None:
            return _Read()
        try:
            manifest = load_manifest(raw)
            if is_newer(manifest):
                return _Read(raw=raw, newer=True)
            validate_manifest(manifest)
        except ManifestError as exc:
            return _Read(raw=raw, problem=str(exc))
        if manifest["key"] != k:
            return _Read(raw=raw, problem=f"manifest is for key {manifest['key'][:200]!r}")
        return _Read(raw=raw, manifest=manifest)

    def _check(self, k: str, manifest: dict[str, Any], *, load: bool) -> CacheEntry:
        """Verify the plan a valid manifest names; raise ``_Corrupt`` saying why not.

        ``FileNotFoundError`` (plan gone: maybe replaced meanwhile) and storage failures
        propagate.
        """
        plan = manifest["plan"]
        try:
            if load:
                data = self._backend.read_plan(k, plan["file"], plan["size"])
                digest = blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()
                size, path = len(data), None
            else:
                data = None
                digest, size, path = self._backend.hash_plan(k, plan["file"])
        except (FileNotFoundError, UnsafePathError):
            raise
        except ValueError as exc:  # BadEntryError too: a FIFO, directory or symlink plan
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

    def _quarantine(self, k: str, location: str, reason: str, seen: _Read | None) -> str | None:
        """Move a bad entry aside unless a writer changed it meanwhile; log either way.

        ``seen`` is what the caller found at ``k``'s own location: under the key's lock the
        manifest is read again and the entry is moved only if it is still the same.
        """
        lock = self._acquire(k, 2.0)
        if lock is None:
            logger.warning("engine cache entry %r is bad (%s); not quarantined: busy", k, reason)
            return None
        try:
            if location == k + "@" and seen is not None and not self._read(k).same(seen):
                return None  # replaced by a writer since we looked: not ours to move
            manifest = seen.manifest if seen is not None else None
            parts = self._parts_of(k, manifest) if location == k + "@" else []
            where = self._backend.quarantine(k, location, reason)
            logger.warning("engine cache entry %r is bad (%s): moved to %s", k, reason, where)
            moved = self._drop_parts(k, parts, manifest, 2.0, reason=f"part of {k!r}: {reason}")
            if moved:
                logger.info("engine cache moved the parts of %r along: %s", k, ", ".join(moved))
        except (OSError, UnsafePathError) as exc:
            logger.warning(
                "engine cache entry %r is bad (%s); quarantine failed: %s", k, reason, exc
            )
            return None
        finally:
            lock.release()
        return where

    def _lookup(self, k: str, *, load: bool) -> CacheEntry | None:
        """The verified entry or ``None``; quarantines corrupt entries; counts nothing."""
        if self._backend.remote:
            load = True  # no local file to hand out: fetch and verify the bytes
        try:
            for _attempt in range(3):
                seen = self._read(k)
                if seen.absent:
                    return None
                if seen.newer:
                    logger.info("engine cache entry %r has a newer manifest version: miss", k)
                    return None
                if seen.problem is not None:
                    self._quarantine(k, k + "@", seen.problem, seen)
                    return None
                assert seen.manifest is not None
                try:
                    return self._check(k, seen.manifest, load=load)
                except FileNotFoundError:
                    if not self._read(k).same(seen):
                        continue  # replaced while we read: look again
                    self._quarantine(k, k + "@", "plan file is missing", seen)
                except _Corrupt as exc:
                    self._quarantine(k, k + "@", str(exc), seen)
                return None
        except (OSError, UnsafePathError) as exc:
            self._failed("read", k, exc)
        return None

    def _hit(self, k: str, entry: CacheEntry, start: float) -> CacheEntry:
        self._counts["hits"] += 1
        logger.debug(
            "engine cache hit for %r (%d bytes, verified in %.3f s)",
            k,
            entry.size,
            time.perf_counter() - start,
        )
        try:
            self._backend.touch(k, time.time())
        except (OSError, UnsafePathError) as exc:  # read-only caches still serve hits
            logger.debug("engine cache could not record use of %r: %s", k, exc)
        return entry

    def _miss(self, k: str) -> None:
        self._counts["misses"] += 1
        logger.debug("engine cache miss for %r", k)

    def get(self, key: Key, *, load: bool = True) -> CacheEntry | None:
        """The verified entry for ``key``, or ``None`` on a miss (absent, corrupt, unreadable).

        The plan's blake3 digest is checked on every read; a corrupt entry is quarantined.
        ``load=False`` verifies the local plan file by streaming and returns its ``path``
        instead of the bytes (remote stores have no local file: they return the verified
        bytes either way). A hit records the use for LRU eviction.
        """
        k = validate_key(key)
        start = time.perf_counter()
        entry = self._lookup(k, load=load)
        if entry is None:
            self._miss(k)
            return None
        return self._hit(k, entry, start)

    def contains(self, key: Key) -> bool:
        """Whether a committed entry with a well-formed manifest exists (plan not hashed)."""
        k = validate_key(key)
        try:
            return self._read(k).manifest is not None
        except (OSError, UnsafePathError):
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
        entry = self._put(k, source, plan, manifest, replace=replace)
        logger.info(
            "engine cache %s %r (%d bytes)",
            "stored" if entry.stored else "could not store",
            k,
            entry.size,
        )
        return entry

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
        manifest = {
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
        # refuse what every reader would reject as corrupt (the plan's record adds ~200 B)
        size = len(encode_manifest(manifest)) + _PLAN_RECORD_BYTES
        if size > MAX_MANIFEST_BYTES:
            raise ValueError(
                f"put({k!r}): the manifest would be about {size} bytes, more than the "
                f"{MAX_MANIFEST_BYTES} a reader accepts: extras too large"
            )
        return manifest

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
            with lock.acquire(timeout=self._wait()):
                published = self._backend.publish(
                    k, staged, encode_manifest(manifest), replace=replace
                )
            staged = None
            if not published:
                existing = self._lookup(k, load=True)
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
        start = time.perf_counter()
        entry = self._lookup(k, load=True)
        if entry is not None:
            return self._hit(k, entry, start)
        lock = self._acquire(k, self._wait())
        if lock is None:
            logger.warning("engine cache lock for %r unavailable: building unlocked", k)
        try:
            if lock is not None:
                entry = self._lookup(k, load=True)  # another builder may have published
                if entry is not None:
                    return self._hit(k, entry, start)
            self._miss(k)
            start = time.perf_counter()
            plan = build()
            seconds = time.perf_counter() - start
            source = _plan_source(plan, f"get_or_build({k!r}): build()")
            manifest = self._manifest(k, components, seconds, extras)
            entry = self._put(k, source, plan, manifest, replace=False)
            logger.info(
                "engine cache built %r in %.1f s (%d bytes, %s)",
                k,
                seconds,
                entry.size,
                "stored" if entry.stored else "not stored",
            )
            return entry
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
        self,
        key: Key,
        *,
        ttl: float = 60.0,
        poll: float = 0.5,
        timeout: float | None = None,
        stale: CacheEntry | None = None,
    ) -> Any:
        """On a remote store, take the key's build lease (``_lease.py``), waiting while a
        live builder on any host holds it; None once the entry exists, or on local stores
        (the lock file already covers every builder there).

        ``stale`` is an entry the caller found unusable and will replace: while the key
        still holds that very version it does not count as existing, so builders that
        replace a failed entry take the lease (and wait for each other) too."""
        k = validate_key(key)
        if not isinstance(self._backend, RemoteBackend):
            return None
        from trt_netser.cache._lease import acquire_lease

        def ready() -> bool:
            if stale is None:
                return self.contains(k)
            try:
                seen = self._read(k)
            except (OSError, UnsafePathError):
                return False
            return seen.manifest is not None and not _same_version(seen.manifest, stale)

        return acquire_lease(
            self._backend.fs,
            self._backend.base,
            k,
            ttl=ttl,
            poll=poll,
            timeout=timeout,
            ready=ready,
        )

    def quarantine(self, key: Key, reason: str, *, entry: CacheEntry | None = None) -> str | None:
        """Move the entry for ``key`` to ``quarantine/`` (with ``reason``); return where.

        For callers that found a verified entry unusable (e.g. a plan TensorRT cannot
        deserialize). With ``entry`` (what ``get`` returned) only that version is moved: if
        another writer has replaced it meanwhile, nothing is. ``None`` if nothing was moved.
        """
        k = validate_key(key)
        seen = self._read(k)
        if seen.absent:
            return None
        if (
            entry is not None
            and seen.manifest is not None
            and not _same_version(seen.manifest, entry)
        ):
            return None  # replaced since the caller read it: not the bad version
        return self._quarantine(k, k + "@", str(reason), seen)

    def remove(self, key: Key) -> bool:
        """Delete the entry for ``key`` and its parts (``_family.PARTS``: its dump and
        refit record); True if there was an entry. Removing a part or a pinned variant
        leaves the entry it was stored beside alone."""
        k = validate_key(key)
        try:
            with self._lock(k).acquire(timeout=self._wait()):
                seen = self._current(k)
                parts = self._parts_of(k, seen.manifest)
                existed = self._backend.remove(k)  # the entry first: an interruption
                self._drop_parts(k, parts, seen.manifest, self._wait())  # leaves orphans
                return existed
        except (OSError, UnsafePathError, filelock.Timeout) as exc:
            self._failed("remove", k, exc)
            return False

    # -- families: an entry and its parts (``_family.py``) -------------------------------

    def _parts_of(self, k: str, manifest: dict[str, Any] | None) -> list[tuple[str, _Read]]:
        """The parts of entry ``k`` present now, with what their manifests hold."""
        found = []
        for _part, child in part_keys(k):
            seen = self._current(child)
            if seen.manifest is not None and part_of(child, seen.manifest, manifest) == k:
                found.append((child, seen))
        return found

    def _drop_parts(
        self,
        k: str,
        parts: list[tuple[str, _Read]],
        manifest: dict[str, Any] | None,
        timeout: float,
        *,
        reason: str | None = None,
    ) -> list[str]:
        """Remove (with ``reason``: quarantine) the parts of entry ``k``, which the caller
        has just removed while holding ``k``'s lock; return the keys of those gone.

        Each part is removed under its own lock and only if it is still what was listed.
        On a remote store, whose locks are per host, a part newer than the entry's removed
        version (``manifest``) is left too: it belongs to a version another host is
        writing; if that never commits, the part is an orphan that ``gc`` removes. (Local
        writers store an entry's parts holding the entry's lock, which the caller holds.)
        """
        remote = self._backend.remote
        bound = None if manifest is None or not remote else manifest.get("created")
        done = []
        for child, seen in parts:
            assert seen.manifest is not None
            if bound is not None and float(seen.manifest.get("created") or 0.0) > float(bound):
                continue
            lock = self._acquire(child, timeout)
            if lock is None:
                continue
            try:
                if not self._current(child).same(seen):
                    continue  # replaced since it was listed: not the part of what went
                if reason is None:
                    gone = self._backend.remove(child)
                else:
                    self._backend.quarantine(child, child + "@", reason)
                    gone = True
            except (OSError, UnsafePathError) as exc:
                logger.warning("engine cache could not remove %r, part of %r: %s", child, k, exc)
                continue
            finally:
                lock.release()
            if gone:
                done.append(child)
        return done

    def _families(self, rows: Sequence[tuple[RawEntry, _Read | None]]) -> Families:
        return group(
            {
                raw.key: (seen.manifest if seen is not None else None)
                for raw, seen in rows
                if raw.location == raw.key + "@"
            }
        )

    def _remove_orphan(self, key: str, parent: str, seen: _Read | None) -> bool:
        """Remove a part whose entry is gone: under the entry's lock, taken without waiting
        (the pipeline writes an entry's parts while holding it), once it is still absent
        there; on remote stores (no shared lock) only parts older than ``stale_after``."""
        if seen is None or seen.manifest is None:
            return False
        created = float(seen.manifest.get("created") or 0.0)
        if self._backend.remote and time.time() - created <= self.stale_after:
            return False
        lock = self._acquire(parent, 0)
        if lock is None:
            return False
        try:
            if not self._current(parent).absent:
                return False  # its entry was published meanwhile
            return bool(self._drop_parts(parent, [(key, seen)], None, 0))
        finally:
            lock.release()

    # -- listing, verification, eviction -------------------------------------------------

    def _scan(self) -> Iterator[tuple[RawEntry, _Read | None]]:
        """Every entry location with a look at its manifest (``None``: the location has no
        manifest file, or is not a directory; ``RawEntry.directory`` says which)."""
        for raw in self._backend.scan():
            seen = None
            if raw.directory and MANIFEST in raw.files:
                try:
                    validate_key(raw.key)
                    seen = self._read(raw.key)
                except ValueError as exc:
                    seen = _Read(problem=f"not a valid key: {exc}")
                except (OSError, UnsafePathError) as exc:
                    seen = _Read(problem=f"unreadable: {exc}")
            yield raw, seen

    def _info(self, raw: RawEntry, manifest: dict[str, Any], **family: Any) -> EntryInfo:
        try:
            used = self._backend.read_last_used(raw.key)
        except (OSError, ValueError):
            used = None
        created = float(manifest.get("created") or 0.0)
        last_used = max(created, float(manifest.get("last_used") or created), used or 0.0)
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
            **family,
        )

    def entries(self) -> Iterator[EntryInfo]:
        """Committed entries with valid manifests (plans are not hashed: see ``verify``).

        Parts (an entry's dump and refit record) are listed too, with ``part_of`` naming
        their entry (``orphan`` if it is gone); an entry lists its ``parts``."""
        try:
            rows = list(self._scan())
        except OSError as exc:
            self._failed("listing", str(self.root), exc)
            return
        families = self._families(rows)
        by_key = {raw.key: raw for raw, _seen in rows}
        orphans = set(families.orphans)
        for raw, seen in rows:
            if seen is None or seen.manifest is None:
                continue
            parts = tuple(families.parts.get(raw.key, ()))
            yield self._info(
                raw,
                seen.manifest,
                part_of=families.owner.get(raw.key),
                orphan=raw.key in orphans,
                parts=parts,
                parts_size=sum(by_key[p].size for p in parts),
            )

    def info(self, key: Key) -> EntryInfo | None:
        """``EntryInfo`` for one key (no plan hashing, no use recorded), or ``None``."""
        k = validate_key(key)
        location = k + "@"
        try:
            seen = self._read(k)
            if seen.manifest is None:
                return None
            rows = [(RawEntry(k, location, self._backend.list_entry(location) or {}), seen)]
            neighbours = [child for _part, child in part_keys(k)]
            found = split_part(k)
            if found is not None:
                neighbours.append(found[1])
            for other in neighbours:
                near = self._current(other)
                if not near.absent:
                    files = self._backend.list_entry(other + "@") or {}
                    rows.append((RawEntry(other, other + "@", files), near))
        except (OSError, UnsafePathError) as exc:
            self._failed("listing", k, exc)
            return None
        families = self._families(rows)
        sizes = {raw.key: raw.size for raw, _seen in rows}
        parts = tuple(families.parts.get(k, ()))
        return self._info(
            rows[0][0],
            seen.manifest,
            part_of=families.owner.get(k),
            orphan=k in families.orphans,
            parts=parts,
            parts_size=sum(sizes[p] for p in parts),
        )

    def _sweep(self, raw: RawEntry, seen: _Read | None) -> tuple[int, int]:
        """Delete files of an entry that no manifest references (killed writers' leftovers),
        and the entry dir itself if it has no manifest and ends up empty.

        Only under the key's lock, taken without waiting (every writer holds it from moving
        its plan in to committing its manifest), and only after reading the manifest again
        under it: what the scan saw may be out of date by then.
        """
        if not raw.directory or not self._strays_seen(raw, seen):
            return 0, 0
        lock = self._acquire(raw.key, 0)
        if lock is None:
            return 0, 0  # a writer is publishing this key right now
        try:
            try:
                validate_key(raw.key)
                now = self._read(raw.key)
            except (OSError, ValueError):
                return 0, 0
            if now.manifest is not None:
                keep = {MANIFEST, LAST_USED, now.manifest["plan"]["file"]}
            elif now.absent:
                keep = set()  # manifest-less: everything in it is a leftover
            else:
                return 0, 0  # newer or corrupt: left to verify/quarantine
            return self._backend.sweep(raw.location, keep, stale_after=self.stale_after)
        except (OSError, UnsafePathError) as exc:
            logger.debug("engine cache could not sweep %r: %s", raw.key, exc)
            return 0, 0
        finally:
            lock.release()

    @staticmethod
    def _strays_seen(raw: RawEntry, seen: _Read | None) -> bool:
        """Whether the scan saw anything a sweep could remove (cheap pre-check: what appears
        after the scan is for the next pass; what is removed is re-checked under the lock)."""
        if MANIFEST not in raw.files:
            return True
        if seen is None or seen.manifest is None:
            return False
        keep = {MANIFEST, LAST_USED, seen.manifest["plan"]["file"]}
        return any(name not in keep for name in raw.files)

    def verify(self, *, progress: Progress | None = None) -> VerifyReport:
        """Hash every entry; quarantine bad ones; clean strays of dead writers.

        ``progress(done, total)`` is called after each entry (for progress bars).
        """
        report = VerifyReport()
        good: dict[str, _Read] = {}  # the entries that verified, as they were read
        removed, freed = self._backend.clean_staging(self.stale_after)
        report.strays_removed += removed
        report.stray_bytes += freed
        for raw, seen in _reporting(self._scan(), progress):
            try:
                validate_key(raw.key)
            except ValueError as exc:
                report.checked += 1
                self._quarantine_report(report, raw, str(exc), None)
                continue
            if not raw.directory:
                report.checked += 1
                self._quarantine_report(report, raw, "entry path is not a directory", None)
                continue
            if seen is None:  # no manifest file: leftovers of a killed writer, or empty
                removed, freed = self._sweep(raw, seen)
                report.strays_removed += removed
                report.stray_bytes += freed
                continue
            report.checked += 1
            if seen.absent:
                report.skipped.append((raw.key, "manifest vanished"))
                continue
            if seen.newer:
                report.skipped.append((raw.key, "newer manifest version"))
                continue
            if seen.problem is not None:
                self._quarantine_report(report, raw, seen.problem, seen)
                continue
            assert seen.manifest is not None
            try:
                self._check(raw.key, seen.manifest, load=False)
            except FileNotFoundError:
                if not self._current(raw.key).same(seen):
                    report.skipped.append((raw.key, "replaced during verification"))
                else:
                    self._quarantine_report(report, raw, "plan file is missing", seen)
                continue
            except _Corrupt as exc:
                self._quarantine_report(report, raw, str(exc), seen)
                continue
            except (OSError, UnsafePathError) as exc:
                self._quarantine_report(report, raw, f"unreadable: {exc}", seen)
                continue
            report.ok.append(raw.key)
            good[raw.key] = seen
            removed, freed = self._sweep(raw, seen)
            if removed:
                report.strays_removed += removed
                report.stray_bytes += freed
        self._verify_needed_parts(report, good)
        return report

    def _verify_needed_parts(self, report: VerifyReport, good: dict[str, _Read]) -> None:
        """Quarantine the entries found good whose needed part (``_family.PARTS``: the refit
        record) is gone or was just quarantined: they could never hit."""
        for k, seen in good.items():
            missing = [
                f"its {part.name} {child!r} is missing"
                for part, child in needed_parts(k, seen.manifest)
                if self._current(child).manifest is None  # (no key check: it may be long)
            ]
            if missing and k in report.ok and seen.manifest is not None:
                report.ok.remove(k)
                self._quarantine_report(report, RawEntry(k, k + "@"), missing[0], seen)
                for _part, child in part_keys(k):  # moved along with it
                    if child in report.ok and self._current(child).manifest is None:
                        report.ok.remove(child)

    def _current(self, k: str) -> _Read:
        """``_read`` that reports storage failures as a problem instead of raising."""
        try:
            return self._read(k)
        except (OSError, UnsafePathError) as exc:
            return _Read(problem=f"unreadable: {exc}")

    def _quarantine_report(
        self, report: VerifyReport, raw: RawEntry, reason: str, seen: _Read | None
    ) -> None:
        where = self._quarantine(raw.key, raw.location, reason, seen)
        if where is None:
            report.skipped.append((raw.key, reason))
        else:
            report.quarantined.append((raw.key, reason))

    def _last_use(self, raw: RawEntry, seen: _Read | None) -> float:
        """When an entry was last used, for LRU order; broken entries count as oldest."""
        if seen is not None and seen.manifest is not None:
            return self._info(raw, seen.manifest).last_used
        if seen is None and raw.directory:  # manifest-less and locked: a writer at work
            return max((m for _s, m in raw.files.values()), default=0.0)
        return 0.0

    def gc(
        self,
        max_bytes: int | None = None,
        *,
        max_age: float | None = None,
        clear_quarantine: bool = False,
        progress: Progress | None = None,
        dry_run: bool = False,
    ) -> GcReport:
        """Evict least-recently-used entries until they fit in ``max_bytes``.

        Also evicts entries unused for ``max_age`` seconds, removes leftovers of killed
        writers (not those of live ones) and parts whose entry is gone (orphans) and, if
        asked, empties ``quarantine/``. An entry is judged with its parts (``_family.py``):
        by its own last use and by its size plus theirs, and evicted with them; a part is
        never evicted alone. Sizes and last-use times are read from the store, so entries
        of other processes count. Nothing is removed on the strength of the scan alone:
        strays are re-checked and evictions confirmed under the key's lock.
        ``progress(done, total)`` is called after each entry is examined. ``dry_run``
        reports the evictions and orphans only and changes nothing (leftovers and the
        quarantine are left out).
        """
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0
        ):
            raise ValueError(f"max_bytes must be a non-negative int, not {max_bytes!r}")
        report = GcReport()
        if not dry_run:
            removed, freed = self._backend.clean_staging(self.stale_after)
            report.strays_removed += removed
            report.stray_bytes += freed
            if clear_quarantine:
                report.stray_bytes += self._backend.clear_quarantine()
        rows: list[tuple[RawEntry, _Read | None]] = []
        for raw, seen in _reporting(self._scan(), progress):
            if not dry_run and raw.directory and (seen is None or seen.manifest is not None):
                removed, freed = self._sweep(raw, seen)
                report.stray_bytes += freed
                report.strays_removed += removed
                if seen is None and removed:
                    continue  # a manifest-less dir, now gone
                raw = self._relisted(raw) if removed else raw
            rows.append((raw, seen))
            report.bytes_before += raw.size
        families = self._families(rows)
        by_key = {raw.key: (raw, seen) for raw, seen in rows}
        total = report.bytes_before
        for key in families.orphans:  # nothing can use them: their entry is gone
            raw, seen = by_key[key]
            if dry_run or self._remove_orphan(key, families.owner[key], seen):
                total -= raw.size
                report.orphans_removed.append(key)
        candidates = []
        for raw, seen in rows:
            if families.is_part(raw.key):
                continue
            parts = [by_key[p] for p in families.parts.get(raw.key, ())]
            size = raw.size + sum(part.size for part, _seen in parts)
            candidates.append((self._last_use(raw, seen), raw, seen, parts, size))
        candidates.sort(key=lambda item: (item[0], item[1].key))
        now = time.time()
        for used, raw, seen, parts, size in candidates:
            too_big = max_bytes is not None and total > max_bytes
            too_old = max_age is not None and now - used > max_age
            if not (too_big or too_old):
                continue
            if dry_run:
                total -= size
                report.evicted.append(raw.key)
                report.parts_removed += len(parts)
                continue
            lock = self._acquire(raw.key, 0)
            if lock is None:
                report.skipped_locked.append(raw.key)
                continue
            try:
                gone = self._evict(raw, seen)
                dropped = []
                if gone:
                    manifest = seen.manifest if seen is not None else None
                    dropped = self._drop_parts(
                        raw.key, [(part.key, s) for part, s in parts if s], manifest, 0
                    )
            finally:
                lock.release()
            if gone:
                total -= raw.size + sum(by_key[p][0].size for p in dropped)
                report.evicted.append(raw.key)
                report.parts_removed += len(dropped)
        report.bytes_after = total
        return report

    def _relisted(self, raw: RawEntry) -> RawEntry:
        """``raw`` with its files listed again (after a sweep removed some)."""
        try:
            files = self._backend.list_entry(raw.location)
        except OSError:
            files = None
        return RawEntry(key=raw.key, location=raw.location, files=files or {})

    def _evict(self, raw: RawEntry, seen: _Read | None) -> bool:
        """Remove an entry the caller holds the lock of, if it is still what gc judged."""
        try:
            if raw.directory and raw.location == raw.key + "@":
                validate_key(raw.key)
                now = self._current(raw.key)
                if seen is None and not now.absent:
                    return False  # manifest-less at the scan (a writer at work), committed now
                if seen is not None and not now.same(seen):
                    return False  # republished since the scan: not the entry judged old
            if isinstance(self._backend, LocalBackend):
                return self._backend.remove(raw.key) if raw.location == raw.key + "@" else False
            return self._backend.remove(raw.key)
        except (OSError, ValueError) as exc:
            logger.warning("engine cache could not evict %r: %s", raw.key, exc)
            return False

    def stats(self) -> CacheStats:
        """Entry count and bytes (from the store) plus this process's hit/miss counters.

        ``entries`` counts entries, not their parts (``parts``) nor parts whose entry is
        gone (``orphans``); ``bytes`` and ``plan_bytes`` count everything in ``entries/``.

        Each ``get`` and ``get_or_build`` call counts one hit or one miss (a build).
        """
        count = total = plans = 0
        rows = list(self._scan())
        families = self._families(rows)
        for raw, seen in rows:
            total += raw.size
            if seen is not None and seen.manifest is not None:
                count += not families.is_part(raw.key)
                plans += int(seen.manifest["plan"]["size"])
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
            parts=len(families.owner) - len(families.orphans),
            orphans=len(families.orphans),
        )


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
    items: Iterator[tuple[RawEntry, _Read | None]],
    progress: Progress | None,
) -> Iterator[tuple[RawEntry, _Read | None]]:
    """Yield ``items``, calling ``progress(done, total)`` after each (the scan is read
    first so the total is known; manifests are small)."""
    if progress is None:
        yield from items
        return
    listed = list(items)
    for done, item in enumerate(listed, 1):
        yield item
        progress(done, len(listed))
