"""Local-filesystem backend: staged temp files, fsync, rename; per-key file locks."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3
import filelock

from trt_netser.cache._types import UnsafePathError

__all__ = ["CHUNK", "LocalBackend", "RawEntry", "Staged", "hash_file"]

CHUNK = 8 << 20
ENTRY_SUFFIX = "@"  # never valid in a key segment, so an entry dir never collides with a key dir
MANIFEST = "manifest.json"
LAST_USED = "last_used"
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
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

    def entry_dir(self, key: str) -> Path:
        return self.entries_dir.joinpath(
            *key.split("/")[:-1], key.rsplit("/", 1)[-1] + ENTRY_SUFFIX
        )

    def _mkdir(self, path: Path) -> None:
        """Create ``path`` and missing parents below the root with the cache's dir mode."""
        missing: list[Path] = []
        probe = path
        while not probe.is_dir():
            if probe.is_symlink() or probe.exists():
                raise UnsafePathError(f"cache path {str(probe)!r} exists and is not a directory")
            missing.append(probe)
            if probe == self.root or probe.parent == probe:
                break
            probe = probe.parent
        if probe.is_dir():
            self.check_inside(probe)  # never create anything below a symlink leading out
        for directory in reversed(missing):
            if directory == self.root:
                directory.mkdir(parents=True, exist_ok=True)
            else:
                with contextlib.suppress(FileExistsError):
                    directory.mkdir()
            os.chmod(directory, self.dir_mode)
            if directory == self.root:
                self._write_tag()
        self.check_inside(path)

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
            if not directory.is_dir():
                self._mkdir(directory)

    def _staging_name(self, kind: str) -> Path:
        return self.staging_dir / f"{kind}-{os.getpid()}-{secrets.token_hex(8)}@{_HOST}"

    def _write_file(self, path: Path, data: bytes, *, sync: bool = True) -> None:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, self.file_mode
        )
        try:
            os.fchmod(fd, self.file_mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    # -- locks ---------------------------------------------------------------------------

    def lock(self, key: str) -> filelock.FileLock:
        """The per-key inter-process lock (a file under ``.locks/``, never deleted)."""
        if not self.locks_dir.is_dir():
            self._mkdir(self.locks_dir)
        name = blake3.blake3(key.encode()).hexdigest()[:32]
        return filelock.FileLock(self.locks_dir / f"{name}.lock", mode=self.file_mode)

    # -- reads ---------------------------------------------------------------------------

    def _open_in_entry(self, key: str, name: str) -> int:
        entry = self.entry_dir(key)
        self.check_inside(entry)
        try:
            return os.open(entry / name, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(f"refusing to follow symlink {str(entry / name)!r}") from None
            if exc.errno == errno.ENOTDIR:
                raise FileNotFoundError(str(entry / name)) from None
            raise

    def read_manifest(self, key: str) -> bytes | None:
        try:
            fd = self._open_in_entry(key, MANIFEST)
        except FileNotFoundError:
            return None
        with open(fd, "rb", buffering=0) as stream:
            return stream.read()

    def read_plan(self, key: str, name: str, expected_size: int) -> bytes:
        fd = self._open_in_entry(key, name)
        with open(fd, "rb", buffering=0) as stream:
            size = os.fstat(fd).st_size
            if size != expected_size:
                raise ValueError(f"plan is {size} bytes, manifest says {expected_size}")
            data = stream.read()
        return data

    def hash_plan(self, key: str, name: str) -> tuple[str, int, Path]:
        fd = self._open_in_entry(key, name)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError(f"plan {name!r} is not a regular file")
            digest, size = hash_file(fd)
        finally:
            os.close(fd)
        return digest, size, self.entry_dir(key) / name

    def read_last_used(self, key: str) -> float | None:
        try:
            fd = self._open_in_entry(key, LAST_USED)
        except (FileNotFoundError, UnsafePathError):
            return None
        with open(fd, "rb", buffering=0) as stream:
            text = stream.read(64)
        try:
            value = float(text.decode().strip())
        except ValueError:
            return None
        return value if value == value else None

    # -- writes --------------------------------------------------------------------------

    def stage(self, source: memoryview | Path) -> Staged:
        """Copy the plan into ``.staging/`` (fsynced), hashing it on the way."""
        self.ensure()
        path = self._staging_name("plan")
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, self.file_mode
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
                os.unlink(path)
            raise
        os.close(fd)
        return Staged(size=size, digest=digest, path=path)

    def discard(self, staged: Staged) -> None:
        if staged.path is not None and staged.cleanup:
            with contextlib.suppress(OSError):
                os.unlink(staged.path)

    def publish(self, key: str, staged: Staged, manifest: bytes, *, replace: bool) -> bool:
        """Move a staged plan and then its manifest (the commit point) into the entry.

        The caller holds the key's lock. Returns False (and publishes nothing) when an entry
        exists and ``replace`` is False.
        """
        assert staged.path is not None
        entry = self.entry_dir(key)
        self._mkdir(entry)
        manifest_path = entry / MANIFEST
        if not replace and (manifest_path.exists() or manifest_path.is_symlink()):
            self.discard(staged)
            return False
        plan_name = f"plan-{staged.digest}"
        os.replace(staged.path, entry / plan_name)
        staged_manifest = self._staging_name("manifest")
        self._write_file(staged_manifest, manifest)
        os.replace(staged_manifest, manifest_path)
        _fsync_dir(entry)
        # Plans of replaced versions: unreferenced now. A lock-free reader holding the old
        # manifest retries when its plan vanished (and an open file stays readable).
        for child in os.scandir(entry):
            if child.name.startswith("plan-") and child.name != plan_name:
                with contextlib.suppress(OSError):
                    os.unlink(child.path)
        return True

    def touch(self, key: str, when: float) -> None:
        """Record a use: ``last_used`` replaced atomically (no fsync: losing one is harmless)."""
        entry = self.entry_dir(key)
        if not self.staging_dir.is_dir():
            self._mkdir(self.staging_dir)
        staged = self._staging_name("used")
        self._write_file(staged, f"{when!r}\n".encode(), sync=False)
        try:
            os.replace(staged, entry / LAST_USED)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(staged)
            raise

    def _retire(self, entry: Path) -> None:
        """Atomically move an entry dir out of sight, then delete it."""
        if not self.staging_dir.is_dir():
            self._mkdir(self.staging_dir)
        doomed = self._staging_name("evict")
        os.rename(entry, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        self._prune_parents(entry.parent)

    def _prune_parents(self, directory: Path) -> None:
        while directory != self.entries_dir and self.entries_dir in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def remove(self, key: str) -> bool:
        entry = self.entry_dir(key)
        self.check_inside(entry)
        if not entry.is_dir() or entry.is_symlink():
            return False
        try:
            self._retire(entry)
        except FileNotFoundError:
            return False
        return True

    def quarantine(self, key: str, location: str, reason: str) -> str:
        """Move an entry dir to ``quarantine/`` with a ``reason.json``; return where."""
        entry = self.entries_dir / location
        self.check_inside(entry.parent)
        if not self.quarantine_dir.is_dir():
            self._mkdir(self.quarantine_dir)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.quarantine_dir / (
            f"{stamp}-{blake3.blake3(location.encode()).hexdigest()[:12]}-{secrets.token_hex(3)}"
        )
        if entry.is_symlink() or not entry.is_dir():
            # A symlink or a file where an entry dir should be: move the thing itself aside.
            self._mkdir(target)
            os.rename(entry, target / "entry")
        else:
            os.rename(entry, target)
        info = {"key": key, "location": location, "reason": reason, "time": time.time()}
        with contextlib.suppress(OSError):
            self._write_file(target / "reason.json", json.dumps(info, indent=1).encode())
        self._prune_parents(entry.parent)
        return str(target)

    # -- listing and clean-up ------------------------------------------------------------

    def scan(self) -> Iterator[RawEntry]:
        """Every ``<key>@`` location under ``entries/`` (symlinks are reported, not followed)."""
        if not self.entries_dir.is_dir():
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
                if child.name.endswith(ENTRY_SUFFIX):
                    raw = RawEntry(key=rel[: -len(ENTRY_SUFFIX)], location=rel)
                    if child.is_dir(follow_symlinks=False):
                        for item in os.scandir(child.path):
                            with contextlib.suppress(OSError):
                                st = item.stat(follow_symlinks=False)
                                raw.files[item.name] = (st.st_size, st.st_mtime)
                    else:
                        raw.files["<not a directory>"] = (0, 0.0)
                    yield raw
                elif child.is_dir(follow_symlinks=False):
                    stack.append(Path(child.path))

    def delete_files(self, raw: RawEntry, names: list[str], *, stale_after: float) -> int:
        """Delete unreferenced files of an entry; the caller holds the key's lock."""
        freed = 0
        entry = self.entries_dir / raw.location
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(entry / name)
                freed += raw.files.get(name, (0, 0.0))[0]
        if names:
            with contextlib.suppress(OSError):
                entry.rmdir()  # an orphan dir that is now empty
                self._prune_parents(entry.parent)
        return freed

    def clean_staging(self, stale_after: float) -> tuple[int, int]:
        """Remove staged files of dead writers (same host) or older than ``stale_after``."""
        removed = freed = 0
        if not self.staging_dir.is_dir():
            return 0, 0
        now = time.time()
        for child in os.scandir(self.staging_dir):
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
            size = _tree_size(Path(child.path))
            try:
                if child.is_dir(follow_symlinks=False):
                    shutil.rmtree(child.path)
                else:
                    os.unlink(child.path)
            except OSError:
                continue
            removed += 1
            freed += size
        return removed, freed

    def usage(self) -> dict[str, Any]:
        q = (
            [Path(p.path) for p in os.scandir(self.quarantine_dir)]
            if self.quarantine_dir.is_dir()
            else []
        )
        return {
            "quarantined": len(q),
            "quarantine_bytes": sum(_tree_size(p) for p in q),
            "staging_bytes": _tree_size(self.staging_dir),
        }

    def clear_quarantine(self) -> int:
        freed = _tree_size(self.quarantine_dir)
        if self.quarantine_dir.is_dir():
            for child in os.scandir(self.quarantine_dir):
                if child.is_dir(follow_symlinks=False):
                    shutil.rmtree(child.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(child.path)
        return freed


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
