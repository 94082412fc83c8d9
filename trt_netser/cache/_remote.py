"""fsspec backend (S3, GCS, memory, ...): plan objects first, manifest last as the commit point."""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import blake3
import filelock

from trt_netser.cache._local import (
    CHUNK,
    ENTRY_SUFFIX,
    LAST_USED,
    MANIFEST,
    RawEntry,
    Staged,
    hash_file,
    parse_last_used,
)
from trt_netser.cache._types import MAX_MANIFEST_BYTES, BadEntryError

__all__ = ["RemoteBackend"]

T = TypeVar("T")


def _mtime(info: dict[str, Any]) -> float:
    """Best-effort modification time of an fsspec ``info`` dict (S3, memory, local...)."""
    for name in ("LastModified", "last_modified", "mtime", "created", "updated", "timeCreated"):
        value = info.get(name)
        if value is None:
            continue
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=_dt.timezone.utc)
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


def _io(method: Callable[..., T]) -> Callable[..., T]:
    """Report storage-library failures (botocore, aiohttp, ...) as ``OSError``.

    The cache treats ``OSError`` as "the store failed" (a miss, or a write that is only
    logged); anything a remote client raises means the same.
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except (OSError, ValueError):
            raise
        except Exception as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from exc

    return wrapper


class RemoteBackend:
    """Entries under ``<url>/entries/<key>@/``; no rename, so the manifest commits the entry.

    Publication uploads ``plan-<blake3>`` (unreferenced, hence invisible, until a manifest
    names it) and then ``manifest.json``, with ``If-None-Match: *`` (fsspec ``mode="create"``)
    when the caller must not replace an existing entry. Per-key locks are local files, so
    builders on one host build once; across hosts the conditional manifest write decides.
    """

    remote = True

    def __init__(self, url: str, *, lock_dir: Path, storage_options: dict[str, Any]) -> None:
        import fsspec

        self._url = url
        self.fs, path = fsspec.core.url_to_fs(url, **storage_options)
        self.base = path.rstrip("/")
        self.lock_dir = lock_dir
        self._locks: dict[str, filelock.FileLock] = {}

    @property
    def url(self) -> str:
        return self._url

    def _entry(self, key: str) -> str:
        return f"{self.base}/entries/{key}{ENTRY_SUFFIX}"

    def entry_url(self, key: str) -> str:
        url: str = self.fs.unstrip_protocol(self._entry(key))
        return url

    def lock(self, key: str) -> filelock.FileLock:
        self.lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = blake3.blake3(key.encode()).hexdigest()[:32]
        return filelock.FileLock(self.lock_dir / f"{name}.lock", mode=0o600)

    def ensure(self) -> None:
        """Object stores need no directories."""

    # -- reads ---------------------------------------------------------------------------

    def _cat(self, path: str, limit: int | None = None) -> bytes | None:
        """The object's bytes (at most ``limit`` + 1 of them), or ``None`` if absent."""
        end = None if limit is None else limit + 1
        start = None if end is None else 0
        data: bytes
        try:
            data = self.fs.cat_file(path, start=start, end=end)
            return data
        except FileNotFoundError:
            pass
        # fsspec listing caches (s3fs dircache) can hide objects written by others: retry.
        self.fs.invalidate_cache()
        try:
            data = self.fs.cat_file(path, start=start, end=end)
            return data
        except FileNotFoundError:
            return None

    @_io
    def read_manifest(self, key: str) -> bytes | None:
        """The manifest bytes (read bounded), or ``None``; ``BadEntryError`` if oversized."""
        data = self._cat(f"{self._entry(key)}/{MANIFEST}", MAX_MANIFEST_BYTES)
        if data is not None and len(data) > MAX_MANIFEST_BYTES:
            raise BadEntryError(f"manifest is larger than {MAX_MANIFEST_BYTES} bytes")
        return data

    @_io
    def read_plan(self, key: str, name: str, expected_size: int) -> bytes:
        data = self._cat(f"{self._entry(key)}/{name}", expected_size)
        if data is None:
            raise FileNotFoundError(f"{self._entry(key)}/{name}")
        if len(data) != expected_size:
            raise ValueError(f"plan is {len(data)} bytes, manifest says {expected_size}")
        return data

    @_io
    def hash_plan(self, key: str, name: str) -> tuple[str, int, None]:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        total = 0
        with self.fs.open(f"{self._entry(key)}/{name}", "rb", block_size=CHUNK) as stream:
            while chunk := stream.read(CHUNK):
                hasher.update(chunk)
                total += len(chunk)
        return hasher.hexdigest(), total, None

    @_io
    def read_last_used(self, key: str) -> float | None:
        return parse_last_used(self._cat(f"{self._entry(key)}/{LAST_USED}", 64))

    # -- writes --------------------------------------------------------------------------

    @_io
    def stage(self, source: memoryview | Path) -> Staged:
        if isinstance(source, memoryview):
            digest = blake3.blake3(source, max_threads=blake3.blake3.AUTO).hexdigest()
            return Staged(size=source.nbytes, digest=digest, data=source)
        digest, size = hash_file(source)
        return Staged(size=size, digest=digest, path=source, cleanup=False)

    def discard(self, staged: Staged) -> None:
        """Nothing was staged remotely."""

    @_io
    def publish(self, key: str, staged: Staged, manifest: bytes, *, replace: bool) -> bool:
        entry = self._entry(key)
        manifest_path = f"{entry}/{MANIFEST}"
        if not replace and self._cat(manifest_path) is not None:
            return False  # cheap early out; the conditional write below is the real guard
        plan_path = f"{entry}/plan-{staged.digest}"
        if staged.data is not None:
            data = staged.data
            whole = isinstance(data.obj, bytes) and data.nbytes == len(data.obj)
            # botocore accepts bytes/bytearray, not memoryview: avoid a copy when we can.
            self.fs.pipe_file(plan_path, data.obj if whole else bytes(data))
        else:
            assert staged.path is not None
            self.fs.put_file(str(staged.path), plan_path)
        try:
            self.fs.pipe_file(manifest_path, manifest, mode="overwrite" if replace else "create")
        except FileExistsError:
            return False
        return True

    @_io
    def touch(self, key: str, when: float) -> None:
        self.fs.pipe_file(f"{self._entry(key)}/{LAST_USED}", f"{when!r}\n".encode())

    def _files(self, prefix: str) -> dict[str, dict[str, Any]]:
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(prefix, detail=True)
        except FileNotFoundError:
            return {}
        finally:
            self.fs.invalidate_cache()  # never keep a listing: other writers change the store
        return {name: info for name, info in found.items() if info.get("type") != "directory"}

    def _remove_prefix(self, entry: str) -> bool:
        manifest_path = f"{entry}/{MANIFEST}"
        self.fs.invalidate_cache()
        existed = bool(self.fs.exists(manifest_path))  # S3 deletes absent objects "fine"
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(manifest_path)  # un-commit first
        for name in self._files(entry + "/"):
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(name)
        return existed

    @_io
    def remove(self, key: str) -> bool:
        return self._remove_prefix(self._entry(key))

    @_io
    def quarantine(self, key: str, location: str, reason: str) -> str:
        entry = f"{self.base}/entries/{location}"
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = (
            f"{self.base}/quarantine/{stamp}-"
            f"{blake3.blake3(location.encode()).hexdigest()[:12]}-{secrets.token_hex(3)}"
        )
        for name in self._files(entry + "/"):
            with contextlib.suppress(FileNotFoundError):
                self.fs.copy(name, f"{target}/{name[len(entry) + 1 :]}")
        info = {"key": key, "location": location, "reason": reason, "time": time.time()}
        self.fs.pipe_file(f"{target}/reason.json", json.dumps(info, indent=1).encode())
        self._remove_prefix(entry)
        url: str = self.fs.unstrip_protocol(target)
        return url

    # -- listing and clean-up ------------------------------------------------------------

    @_io
    def scan(self) -> Iterator[RawEntry]:  # a list, so errors surface inside @_io
        prefix = f"{self.base}/entries/"
        entries: dict[str, RawEntry] = {}
        for name, info in sorted(self._files(prefix).items()):
            rel = name[len(prefix) :] if name.startswith(prefix) else name
            parts = rel.split("/")
            for i, part in enumerate(parts[:-1]):
                if part.endswith(ENTRY_SUFFIX):
                    location = "/".join(parts[: i + 1])
                    raw = entries.setdefault(
                        location, RawEntry(key=location[: -len(ENTRY_SUFFIX)], location=location)
                    )
                    raw.files["/".join(parts[i + 1 :])] = (int(info.get("size") or 0), _mtime(info))
                    break
        return iter(list(entries.values()))

    @_io
    def list_entry(self, location: str) -> dict[str, tuple[int, float]] | None:
        """The objects of one entry location (name -> (size, mtime)), ``None`` if none."""
        entry = f"{self.base}/entries/{location}/"
        files = {
            name[len(entry) :]: (int(info.get("size") or 0), _mtime(info))
            for name, info in self._files(entry).items()
            if name.startswith(entry)
        }
        return files or None

    @_io
    def sweep(self, location: str, keep: set[str], *, stale_after: float) -> tuple[int, int]:
        """Delete unreferenced objects of an entry (listed again now), but only old ones:
        remote writers on other hosts hold no shared lock."""
        entry = f"{self.base}/entries/{location}"
        removed = freed = 0
        now = time.time()
        for name, info in self._files(entry + "/").items():
            rel = name[len(entry) + 1 :] if name.startswith(entry + "/") else name
            if rel in keep or now - _mtime(info) <= stale_after:
                continue
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(name)
                removed += 1
                freed += int(info.get("size") or 0)
        return removed, freed

    def clean_staging(self, stale_after: float) -> tuple[int, int]:
        """Remote writers stage nothing (abandoned multipart uploads: use a bucket lifecycle rule)."""
        return 0, 0

    @_io
    def usage(self) -> dict[str, Any]:
        files = self._files(f"{self.base}/quarantine/")
        dirs = {name[len(self.base) + len("/quarantine/") :].split("/")[0] for name in files}
        return {
            "quarantined": len(dirs),
            "quarantine_bytes": sum(int(i.get("size") or 0) for i in files.values()),
            "staging_bytes": 0,
        }

    @_io
    def clear_quarantine(self) -> int:
        files = self._files(f"{self.base}/quarantine/")
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(name)
        return sum(int(i.get("size") or 0) for i in files.values())
