"""Local-filesystem backend: staged temp files, fsync, rename; per-key file locks."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import re
import secrets
import shutil
import socket
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3
import filelock

from trt_netser.cache._types import MAX_MANIFEST_BYTES, MAX_TIME, BadEntryError, UnsafePathError

__all__ = ["CHUNK", "LocalBackend", "RawEntry", "Staged", "hash_file", "parse_last_used"]

logger = logging.getLogger("trt_netser.cache")

CHUNK = 8 << 20
ENTRY_SUFFIX = "@"  # never valid in a key segment, so an entry dir never collides with a key dir
MANIFEST = "manifest.json"
LAST_USED = "last_used"
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer
_MKDIR_ATTEMPTS = 8
_HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64] or "host"
_STAGED = re.compile(
    r"(?P<kind>[a-z]+)-(?P<pid>\d+)-(?P<token>[0-9a-f]+)@(?P<host>[A-Za-z0-9._-]+)"
)


@dataclass
class Staged:
    """A plan written to staging (local) or held for upload (remote), with its digest."""

    size: int
    digest: str
    path: Path | None = None  # staged local file, or the caller's file for remote upload
    data: memoryview | None = None  # in-memory plan (remote only)
    cleanup: bool = True  # whether ``path`` is ours to delete


@dataclass
class RawEntry:
    """An entry location found on the store: its key and files (name -> (size, mtime))."""

    key: str
    location: str
    files: dict[str, tuple[int, float]] = field(default_factory=dict)
    directory: bool = True  # False: a file, symlink or FIFO sits where the entry dir should be

    @property
    def size(self) -> int:
        return sum(size for size, _ in self.files.values())


def hash_file(fd_or_path: int | str | os.PathLike[str]) -> tuple[str, int]:
    """Stream a file through blake3 in chunks; return (hex digest, bytes read)."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    total = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    owned = not isinstance(fd_or_path, int)
    stream = open(fd_or_path, "rb", buffering=0, closefd=owned)  # noqa: SIM115
    with stream:
        while n := stream.readinto(view):
            hasher.update(view[:n])
            total += n
    return hasher.hexdigest(), total


def parse_last_used(data: bytes | None) -> float | None:
    """The time in a ``last_used`` file, or ``None`` unless it is a sane Unix time."""
    if data is None:
        return None
    try:
        value = float(data.decode().strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return value if math.isfinite(value) and 0 <= value <= MAX_TIME else None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISREG, "regular file"),
    ):
        if test(mode):
            return name
    return "special file"  # pragma: no cover


def _open_regular(path: Path, what: str) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading only if it is a regular file (never a symlink, never blocking
    on a FIFO); raise :class:`BadEntryError` for anything else, ``FileNotFoundError`` if absent."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BadEntryError(f"{what} is a symlink") from None
        if exc.errno == errno.ENOTDIR:
            raise FileNotFoundError(str(path)) from None
        if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket or a device without driver
            raise BadEntryError(f"{what} is not a regular file") from None
        raise
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise BadEntryError(f"{what} is a {_kind(st.st_mode)}, not a regular file")
    return fd, st


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove_thing(path: str | Path) -> None:
    """Delete a file, link or directory tree at ``path`` without following any symlink."""
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalBackend:
    """Entries under ``<root>/entries/<key>@/`` published with same-filesystem renames."""

    remote = False

    def __init__(self, root: Path, *, shared: bool) -> None:
        self.root = root
        self.shared = shared
        self.dir_mode = 0o2770 if shared else 0o700
        self.file_mode = 0o660 if shared else 0o600
        self.entries_dir = root / "entries"
        self.staging_dir = root / ".staging"
        self.locks_dir = root / ".locks"
        self.quarantine_dir = root / "quarantine"
        self._real_root: str | None = None

    @property
    def url(self) -> str:
        return str(self.root)

    # -- layout and safety -------------------------------------------------------------

    def _real(self) -> str:
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        return self._real_root

    def check_inside(self, path: Path) -> Path:
        """Raise :class:`UnsafePathError` if ``path`` resolves (via symlinks) outside the root."""
        real = os.path.realpath(path)
        root = self._real()
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise UnsafePathError(f"cache path {str(path)!r} resolves outside the root {root!r}")
        return path

    def check_root(self) -> None:
        """Raise ``NotADirectoryError`` if the root exists but is not a directory."""
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise NotADirectoryError(
                errno.ENOTDIR, "engine cache root exists and is not a directory", str(self.root)
            )

    def entry_dir(self, key: str) -> Path:
        return self.entries_dir.joinpath(
            *key.split("/")[:-1], key.rsplit("/", 1)[-1] + ENTRY_SUFFIX
        )

    def _make_root(self) -> None:
        if os.path.isdir(self.root):  # the root itself may be a symlink to a directory
            return
        os.makedirs(self.root, mode=self.dir_mode, exist_ok=True)
        os.chmod(self.root, self.dir_mode)
        self._write_tag()

    def _mkdir(self, path: Path) -> None:
        """Create ``path`` and missing parents below the root with the cache's dir mode.

        No component below the root may be a symlink or a non-directory. A parent that a
        concurrent ``gc`` prunes between two steps is created again (bounded retries).
        """
        parts = path.relative_to(self.root).parts
        for _attempt in range(_MKDIR_ATTEMPTS):
            try:
                self._make_root()
                current = self.root
                for part in parts:
                    current = current / part
                    try:
                        os.mkdir(current, self.dir_mode)
                    except FileExistsError:
                        st = os.lstat(current)
                        if not stat.S_ISDIR(st.st_mode):
                            self.check_inside(current)
                            raise UnsafePathError(
                                f"cache path {str(current)!r} is a {_kind(st.st_mode)}, "
                                "not a directory"
                            ) from None
                        continue
                    os.chmod(current, self.dir_mode)
                return
            except FileNotFoundError:
                continue  # a parent vanished under us (pruned by gc): start again
        raise FileNotFoundError(
            errno.ENOENT, "cache directory keeps vanishing while being created", str(path)
        )

    def _own_dir(self, path: Path, *, create: bool = True) -> bool:
        """Make sure an internal directory (``entries``, ``.staging``, ``.locks``,
        ``quarantine``) is a real directory of the root, never followed through a symlink.

        A symlink or other non-directory in its place is reported and removed (the link
        itself, never its target), then the directory is created if ``create``. Returns
        whether the directory exists now.
        """
        for _attempt in range(_MKDIR_ATTEMPTS):
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    return False
                self._mkdir(path)
                continue
            if stat.S_ISDIR(st.st_mode):
                return True
            logger.warning(
                "engine cache: %s is a %s, not a directory; replacing it (the cache never "
                "follows it)",
                path,
                _kind(st.st_mode),
            )
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        raise UnsafePathError(f"cache directory {str(path)!r} cannot be made a directory")

    @contextlib.contextmanager
    def _internal_fd(self, path: Path) -> Iterator[int]:
        """Make sure an internal directory is real (``_own_dir``) and hold it open with
        ``O_NOFOLLOW``: files are created and renamed relative to this handle, so a symlink
        swapped in after the check cannot send them outside the root."""
        self._own_dir(path)
        try:
            fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UnsafePathError(
                    f"cache directory {str(path)!r} was replaced by a symlink or a file"
                ) from None
            raise
        try:
            yield fd
        finally:
            os.close(fd)

    def _is_own_dir(self, path: Path) -> bool:
        """Whether an internal directory exists as a real directory (read-only check)."""
        try:
            return stat.S_ISDIR(os.lstat(path).st_mode)
        except OSError:
            return False

    def _write_tag(self) -> None:
        # Marks the directory as a cache for backup tools (https://bford.info/cachedir/).
        with contextlib.suppress(OSError):
            self._write_file(
                self.root / "CACHEDIR.TAG",
                b"Signature: 8a477f597d28d172789f06886806bc55\n"
                b"# This directory is a trt-netser engine cache.\n",
            )

    def ensure(self) -> None:
        for directory in (self.entries_dir, self.staging_dir, self.locks_dir):
            self._own_dir(directory)

    def _staging_name(self, kind: str) -> Path:
        return self.staging_dir / f"{kind}-{os.getpid()}-{secrets.token_hex(8)}@{_HOST}"

    def _write_file(
        self, path: Path, data: bytes, *, sync: bool = True, dir_fd: int | None = None
    ) -> None:
        """Create ``path`` exclusively and write ``data``; on any failure nothing is left.

        With ``dir_fd`` the file is created by name in that directory handle.
        """
        where: str | Path = path if dir_fd is None else path.name
        fd = os.open(
            where,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC,
            self.file_mode,
            dir_fd=dir_fd,
        )
        try:
            os.fchmod(fd, self.file_mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(where, dir_fd=dir_fd)
            raise
        os.close(fd)

    # -- locks ---------------------------------------------------------------------------

    def lock(self, key: str) -> filelock.FileLock:
        """The per-key inter-process lock (a file under ``.locks/``, never deleted)."""
        self._own_dir(self.locks_dir)
        name = blake3.blake3(key.encode()).hexdigest()[:32]
        path = self.locks_dir / f"{name}.lock"
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):  # never a real lock file: safe to drop
                logger.warning(
                    "engine cache: lock %s is a %s; replacing it", path, _kind(st.st_mode)
                )
                _remove_thing(path)
        return filelock.FileLock(path, mode=self.file_mode)

    # -- reads ---------------------------------------------------------------------------

    def _entry_checked(self, key: str) -> Path | None:
        """The key's entry dir if it is a directory, ``None`` if absent; ``BadEntryError``
        if something else is there."""
        entry = self.entry_dir(key)
        try:
            st = os.lstat(entry)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISDIR(st.st_mode):
            raise BadEntryError(f"entry path is a {_kind(st.st_mode)}, not a directory")
        self.check_inside(entry)
        return entry

    def _open_in_entry(self, key: str, name: str) -> tuple[int, os.stat_result]:
        entry = self._entry_checked(key)
        if entry is None:
            raise FileNotFoundError(str(self.entry_dir(key) / name))
        return _open_regular(entry / name, name)

    def read_manifest(self, key: str) -> bytes | None:
        """The manifest bytes, ``None`` if there is none; ``BadEntryError`` if it is not a
        regular file or is larger than ``MAX_MANIFEST_BYTES``."""
        try:
            fd, st = self._open_in_entry(key, MANIFEST)
        except FileNotFoundError:
            return None
        with open(fd, "rb", buffering=0) as stream:
            if st.st_size > MAX_MANIFEST_BYTES:
                raise BadEntryError(f"manifest is {st.st_size} bytes (max {MAX_MANIFEST_BYTES})")
            data = stream.read(MAX_MANIFEST_BYTES + 1)
        if len(data) > MAX_MANIFEST_BYTES:
            raise BadEntryError(f"manifest is larger than {MAX_MANIFEST_BYTES} bytes")
        return data

    def read_plan(self, key: str, name: str, expected_size: int) -> bytes:
        fd, st = self._open_in_entry(key, name)
        with open(fd, "rb", buffering=0) as stream:
            if st.st_size != expected_size:
                raise ValueError(f"plan is {st.st_size} bytes, manifest says {expected_size}")
            data = stream.read()
        return data

    def hash_plan(self, key: str, name: str) -> tuple[str, int, Path]:
        fd, _st = self._open_in_entry(key, name)
        try:
            digest, size = hash_file(fd)
        finally:
            os.close(fd)
        return digest, size, self.entry_dir(key) / name

    def read_last_used(self, key: str) -> float | None:
        try:
            fd, _st = self._open_in_entry(key, LAST_USED)
        except (FileNotFoundError, BadEntryError, UnsafePathError):
            return None
        with open(fd, "rb", buffering=0) as stream:
            return parse_last_used(stream.read(64))

    # -- writes --------------------------------------------------------------------------

    def stage(self, source: memoryview | Path) -> Staged:
        """Copy the plan into ``.staging/`` (fsynced), hashing it on the way."""
        self.ensure()
        path = self._staging_name("plan")
        with self._internal_fd(self.staging_dir) as staging:
            return self._stage_into(staging, path, source)

    def _stage_into(self, staging: int, path: Path, source: memoryview | Path) -> Staged:
        fd = os.open(
            path.name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC,
            self.file_mode,
            dir_fd=staging,
        )
        try:
            os.fchmod(fd, self.file_mode)
            if isinstance(source, memoryview):
                digest = blake3.blake3(source, max_threads=blake3.blake3.AUTO).hexdigest()
                view = source
                while view:
                    view = view[os.write(fd, view[:CHUNK]) :]
                size = source.nbytes
            else:
                hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
                size = 0
                with open(source, "rb") as src:
                    while chunk := src.read(CHUNK):
                        hasher.update(chunk)
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view) :]
                        size += len(chunk)
                digest = hasher.hexdigest()
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path.name, dir_fd=staging)
            raise
        os.close(fd)
        return Staged(size=size, digest=digest, path=path)

    def discard(self, staged: Staged) -> None:
        if staged.path is None or not staged.cleanup:
            return
        with self._dir_fd(staged.path.parent) as staging, contextlib.suppress(OSError):
            if staging is not None:
                os.unlink(staged.path.name, dir_fd=staging)

    def publish(self, key: str, staged: Staged, manifest: bytes, *, replace: bool) -> bool:
        """Move a staged plan and then its manifest (the commit point) into the entry.

        The caller holds the key's lock. Returns False (and publishes nothing) when an entry
        exists and ``replace`` is False. If any step fails (a full disk), what this call
        added is removed again and the previous entry, if any, is left as it was.
        """
        assert staged.path is not None
        entry = self.entry_dir(key)
        self.check_inside(entry)
        existed = self._is_own_dir(entry)
        self._mkdir(entry)
        self.check_inside(entry)
        manifest_path = entry / MANIFEST
        if os.path.lexists(manifest_path) and not _is_regular(manifest_path):
            # A directory or FIFO named manifest.json commits nothing: it is no entry to keep.
            logger.warning("engine cache: %s is not a regular file; replacing it", manifest_path)
            _remove_thing(manifest_path)
        if not replace and os.path.lexists(manifest_path):
            self.discard(staged)
            return False
        plan_name = f"plan-{staged.digest}"
        plan_path = entry / plan_name
        had_plan = os.path.lexists(plan_path)  # the same plan is there (and maybe referenced)
        staged_manifest = self._staging_name("manifest")
        try:
            with self._internal_fd(self.staging_dir) as staging:
                try:
                    # The manifest is written (and synced) before anything enters the entry,
                    # so a full disk fails here with the entry untouched.
                    self._write_file(staged_manifest, manifest, dir_fd=staging)
                    os.replace(staged.path.name, plan_path, src_dir_fd=staging)
                    os.replace(staged_manifest.name, manifest_path, src_dir_fd=staging)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(staged_manifest.name, dir_fd=staging)
                    raise
        except BaseException:
            if not had_plan:
                with contextlib.suppress(OSError):
                    os.unlink(plan_path)
            if not existed:
                self._remove_empty(entry)
            raise
        _fsync_dir(entry)
        # Plans of replaced versions: unreferenced now. A lock-free reader holding the old
        # manifest retries when its plan vanished (and an open file stays readable).
        for child in os.scandir(entry):
            if child.name.startswith("plan-") and child.name != plan_name:
                with contextlib.suppress(OSError):
                    _remove_thing(child.path)
        return True

    def _remove_empty(self, entry: Path) -> None:
        with contextlib.suppress(OSError):
            entry.rmdir()
            self._prune_parents(entry.parent)

    def touch(self, key: str, when: float) -> None:
        """Record a use: ``last_used`` replaced atomically (no fsync: losing one is harmless)."""
        entry = self.entry_dir(key)
        staged = self._staging_name("used")
        with self._internal_fd(self.staging_dir) as staging:
            self._write_file(staged, f"{when!r}\n".encode(), sync=False, dir_fd=staging)
            try:
                os.replace(staged.name, entry / LAST_USED, src_dir_fd=staging)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(staged.name, dir_fd=staging)
                raise

    def _retire(self, entry: Path) -> None:
        """Atomically move an entry dir out of sight, then delete it."""
        doomed = self._staging_name("evict")
        with self._internal_fd(self.staging_dir) as staging:
            os.rename(entry, doomed.name, dst_dir_fd=staging)
            with contextlib.suppress(OSError):
                _remove_at(staging, doomed.name, self.staging_dir)
        self._prune_parents(entry.parent)

    def _prune_parents(self, directory: Path) -> None:
        while directory != self.entries_dir and self.entries_dir in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def remove(self, key: str) -> bool:
        """Delete the key's entry; a non-directory in its place is unlinked (never followed)."""
        entry = self.entry_dir(key)
        self.check_inside(entry.parent)
        try:
            st = os.lstat(entry)
        except (FileNotFoundError, NotADirectoryError):
            return False
        try:
            if stat.S_ISDIR(st.st_mode):
                self.check_inside(entry)
                self._retire(entry)
            else:
                os.unlink(entry)
                self._prune_parents(entry.parent)
        except FileNotFoundError:
            return False
        return True

    def quarantine(self, key: str, location: str, reason: str) -> str:
        """Move an entry dir to ``quarantine/`` with a ``reason.json``; return where."""
        entry = self.entries_dir / location
        self.check_inside(entry.parent)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"{stamp}-{blake3.blake3(location.encode()).hexdigest()[:12]}-{secrets.token_hex(3)}"
        info = {"key": key, "location": location, "reason": reason, "time": time.time()}
        with self._internal_fd(self.quarantine_dir) as quarantine:
            if not stat.S_ISDIR(os.lstat(entry).st_mode):
                # A symlink, FIFO or file where an entry dir should be: move the thing aside.
                os.mkdir(name, self.dir_mode, dir_fd=quarantine)
                os.chmod(name, self.dir_mode, dir_fd=quarantine)
                os.rename(entry, f"{name}/entry", dst_dir_fd=quarantine)
            else:
                os.rename(entry, name, dst_dir_fd=quarantine)
            with contextlib.suppress(OSError):
                target = os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=quarantine)
                try:
                    data = json.dumps(info, indent=1).encode()
                    self._write_file(Path("reason.json"), data, dir_fd=target)
                finally:
                    os.close(target)
        self._prune_parents(entry.parent)
        return str(self.quarantine_dir / name)

    # -- listing and clean-up ------------------------------------------------------------

    def _list(self, path: str | Path) -> dict[str, tuple[int, float]] | None:
        """Files of one entry dir (name -> (size, mtime)), or ``None`` if it vanished."""
        files: dict[str, tuple[int, float]] = {}
        try:
            items = list(os.scandir(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        for item in items:
            with contextlib.suppress(OSError):
                st = item.stat(follow_symlinks=False)
                files[item.name] = (st.st_size, st.st_mtime)
        return files

    def list_entry(self, location: str) -> dict[str, tuple[int, float]] | None:
        """The files of one entry location, or ``None`` if it is gone or not a directory."""
        entry = self.entries_dir / location
        return self._list(entry) if self._is_own_dir(entry) else None

    def scan(self) -> Iterator[RawEntry]:
        """Every ``<key>@`` location under ``entries/`` (symlinks are reported, not followed).

        Entries and directories that vanish mid-scan (another process removed them) are
        skipped.
        """
        if not self._is_own_dir(self.entries_dir):
            if os.path.lexists(self.entries_dir):
                logger.warning("engine cache: %s is not a directory; not listed", self.entries_dir)
            return
        stack = [self.entries_dir]
        while stack:
            directory = stack.pop()
            try:
                children = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                continue
            for child in children:
                rel = os.path.relpath(child.path, self.entries_dir).replace(os.sep, "/")
                try:
                    is_dir = child.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if child.name.endswith(ENTRY_SUFFIX):
                    raw = RawEntry(key=rel[: -len(ENTRY_SUFFIX)], location=rel, directory=is_dir)
                    if is_dir:
                        files = self._list(child.path)
                        if files is None:
                            continue  # removed by another process since we listed its parent
                        raw.files = files
                    yield raw
                elif is_dir:
                    stack.append(Path(child.path))

    def sweep(self, location: str, keep: set[str], *, stale_after: float) -> tuple[int, int]:
        """Delete the files of an entry dir not named in ``keep``, and the dir itself when
        nothing is kept and it is empty; return (things removed, bytes freed).

        The caller holds the key's lock and has re-read the manifest under it, so ``keep``
        is what is referenced now (writers commit only while holding the lock).
        """
        entry = self.entries_dir / location
        self.check_inside(entry.parent)
        files = self._list(entry) if self._is_own_dir(entry) else None
        if files is None:
            return 0, 0
        removed = freed = 0
        for name, (size, _mtime) in files.items():
            if name in keep and (name != LAST_USED or _is_regular(entry / name)):
                continue
            try:
                _remove_thing(entry / name)
            except OSError:
                continue
            removed += 1
            freed += size
        if not keep:
            with contextlib.suppress(OSError):
                entry.rmdir()  # a manifest-less entry dir, now empty
                self._prune_parents(entry.parent)
                removed = max(removed, 1)
        return removed, freed

    @contextlib.contextmanager
    def _dir_fd(self, path: Path) -> Iterator[int | None]:
        """An fd of an internal directory, opened without following a symlink (``None`` if
        it is absent or not a directory): bulk deletions work relative to it, so swapping
        the directory for a symlink after the check cannot redirect them."""
        try:
            fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
        except OSError:
            yield None
            return
        try:
            yield fd
        finally:
            os.close(fd)

    def clean_staging(self, stale_after: float) -> tuple[int, int]:
        """Remove staged files of dead writers (same host) or older than ``stale_after``."""
        removed = freed = 0
        if not self._own_dir(self.staging_dir, create=False):
            return 0, 0
        now = time.time()
        with self._dir_fd(self.staging_dir) as fd:
            if fd is None:
                return 0, 0
            try:
                children = list(os.scandir(fd))
            except OSError:
                return 0, 0
            for child in children:
                try:
                    st = child.stat(follow_symlinks=False)
                except OSError:
                    continue
                match = _STAGED.fullmatch(child.name)
                stale = now - st.st_mtime > stale_after
                if match and match["host"] == _HOST:
                    pid = int(match["pid"])
                    stale = stale or (pid != os.getpid() and not _pid_alive(pid))
                if match and match["kind"] == "evict":
                    stale = True  # already retired: nobody reads it
                if not stale:
                    continue
                try:
                    freed += _remove_at(fd, child.name, self.staging_dir)
                except OSError:
                    continue
                removed += 1
        return removed, freed

    def usage(self) -> dict[str, Any]:
        q: list[Path] = []
        if self._is_own_dir(self.quarantine_dir):
            with contextlib.suppress(OSError):
                q = [Path(p.path) for p in os.scandir(self.quarantine_dir)]
        return {
            "quarantined": len(q),
            "quarantine_bytes": sum(_tree_size(p) for p in q),
            "staging_bytes": _tree_size(self.staging_dir)
            if self._is_own_dir(self.staging_dir)
            else 0,
        }

    def clear_quarantine(self) -> int:
        if not self._own_dir(self.quarantine_dir, create=False):
            return 0
        freed = 0
        with self._dir_fd(self.quarantine_dir) as fd:
            if fd is None:
                return 0
            with contextlib.suppress(OSError):
                for child in list(os.scandir(fd)):
                    with contextlib.suppress(OSError):
                        freed += _remove_at(fd, child.name, self.quarantine_dir)
        return freed


def _remove_at(fd: int, name: str, where: Path) -> int:
    """Delete ``name`` in the directory open as ``fd`` (a tree too), never following a
    symlink; return the bytes freed."""
    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=fd)
        return st.st_size
    size = 0
    for _dirpath, _dirs, files, dirfd in os.fwalk(name, dir_fd=fd):
        for item in files:
            with contextlib.suppress(OSError):
                size += os.stat(item, dir_fd=dirfd, follow_symlinks=False).st_size
    if sys.version_info >= (3, 11):
        shutil.rmtree(name, dir_fd=fd)
    else:  # pragma: no cover - Python 3.10's rmtree takes no dir_fd (it never follows links)
        shutil.rmtree(where / name)
    return size


def _tree_size(path: Path) -> int:
    try:
        st = path.lstat()
    except OSError:
        return 0
    if not stat.S_ISDIR(st.st_mode):
        return st.st_size
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total
