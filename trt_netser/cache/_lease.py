"""Build leases held in a remote (fsspec) store, so builders on other hosts wait.

A per-key lock file only serializes builders on one host. On a remote store a builder
takes a *lease* in the store itself: an object ``<base>/leases/<blake3(key)[:32]>/<gen>``
created with a conditional put (``If-None-Match: *``, fsspec ``mode="create"``), holding
its owner and an expiry that a thread renews every ``ttl / 3`` seconds. Generations only
grow: to take over an expired lease (a dead builder stops renewing) a builder creates
generation ``gen + 1``, and exactly one conditional put of it succeeds, so two builders
never both own a key. Waiters poll until the entry is published or the lease expires.

Expiry is the holder's wall clock plus ``ttl``: hosts' clocks must agree within a small
fraction of ``ttl`` (NTP does that; the default ``ttl`` is 60 s).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import blake3

__all__ = ["Lease", "acquire_lease"]

logger = logging.getLogger("trt_netser.cache")

_WIDTH = 12  # digits of a generation number (sorts as text)


class Lease:
    """A held lease: renewed in the background until :meth:`release`."""

    def __init__(self, fs: Any, directory: str, key: str, gen: int, ttl: float, owner: str):
        self.fs = fs
        self.directory = directory
        self.key = key
        self.gen = gen
        self.ttl = ttl
        self.owner = owner
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease {key}", daemon=True)
        self._thread.start()

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.gen:0{_WIDTH}d}"

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if _current(self.fs, self.directory) != self.gen:
                    self.lost = True
                    logger.warning("lease on %r was taken over (renewed too late?)", self.key)
                    return
                self.fs.pipe_file(self.path, _body(self.key, self.owner, self.gen, self.ttl))
            except Exception as exc:  # keep trying: a transient store error is not a loss
                logger.warning("could not renew the lease on %r: %s", self.key, exc)

    def release(self) -> None:
        """Stop renewing and delete this and older generations."""
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            for name in _generations(self.fs, self.directory):
                if name <= self.gen:
                    self.fs.rm_file(f"{self.directory}/{name:0{_WIDTH}d}")

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _body(key: str, owner: str, gen: int, ttl: float) -> bytes:
    return json.dumps(
        {
            "key": key,
            "owner": owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "generation": gen,
            "expires": time.time() + ttl,
        },
        sort_keys=True,
    ).encode()


def _generations(fs: Any, directory: str) -> list[int]:
    fs.invalidate_cache()
    try:
        names = fs.ls(directory, detail=False)
    except FileNotFoundError:
        return []
    finally:
        fs.invalidate_cache()
    out = []
    for name in names:
        tail = str(name).rstrip("/").rsplit("/", 1)[-1]
        if tail.isdigit():
            out.append(int(tail))
    return sorted(out)


def _current(fs: Any, directory: str) -> int:
    found = _generations(fs, directory)
    return found[-1] if found else -1


def _expired(fs: Any, path: str) -> bool:
    try:
        data = json.loads(fs.cat_file(path))
        return float(data["expires"]) <= time.time()
    except FileNotFoundError:
        return True
    except (ValueError, KeyError, TypeError):
        return True  # an unreadable lease cannot be renewed by anyone: treat as dead


def acquire_lease(
    fs: Any,
    base: str,
    key: str,
    *,
    ttl: float = 60.0,
    poll: float = 0.5,
    timeout: float | None = None,
    ready: Callable[[], bool] | None = None,
) -> Lease | None:
    """Take the build lease on ``key``, waiting while a live builder holds it.

    Returns None (without a lease) as soon as ``ready()`` is true, i.e. the entry was
    published meanwhile. Raises ``TimeoutError`` after ``timeout`` seconds.
    """
    if ttl <= 0 or poll <= 0:
        raise ValueError(f"ttl and poll must be positive, not {ttl!r} and {poll!r}")
    directory = f"{base}/leases/{blake3.blake3(key.encode()).hexdigest()[:32]}"
    owner = secrets.token_hex(8)
    start = time.monotonic()
    while True:
        if ready is not None and ready():
            return None
        gen = _current(fs, directory)
        if gen < 0 or _expired(fs, f"{directory}/{gen:0{_WIDTH}d}"):
            path = f"{directory}/{gen + 1:0{_WIDTH}d}"
            try:
                fs.pipe_file(path, _body(key, owner, gen + 1, ttl), mode="create")
            except FileExistsError:
                pass  # another builder took this generation first
            else:
                if gen >= 0:
                    logger.warning("took over the expired build lease on %r", key)
                return Lease(fs, directory, key, gen + 1, ttl, owner)
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"the build lease on {key!r} is still held after {timeout} s")
        time.sleep(poll)
