"""Shared pytest fixtures (kept minimal on purpose)."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.real_trt import have_compiler, installed_bindings, run_real

RealRunner = Callable[..., "subprocess.CompletedProcess[str]"]

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    """Refuse any test's connection or name lookup beyond the loopback range.

    Why: the only network these tests may use is their own servers on loopback (moto's S3);
    a docs snippet or a default endpoint must fail loudly here, not reach the internet.
    """
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            raise OSError(f"tests may not resolve {host!r}: loopback only")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise OSError(f"tests may not connect to {address!r}: loopback only")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.getaddrinfo = real_getaddrinfo
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def real_trt(tmp_path_factory: pytest.TempPathFactory) -> RealRunner:
    """Run code where ``import tensorrt_bindings`` is the real 10.x module (stub-loaded).

    Why a session fixture: the stub libraries are compiled once per test session into a
    private temporary directory, so tests cost one interpreter start each, not a gcc run.
    Skips (with the reason) when gcc or the bindings wheel is missing.
    """
    if not have_compiler():
        pytest.skip("gcc is not available to build the TensorRT stub libraries")
    site_dir = installed_bindings()
    if site_dir is None:
        pytest.skip("tensorrt_bindings (tensorrt-cu12-bindings) is not installed")
    stub_dir = tmp_path_factory.mktemp("trt-stubs")  # run_real compiles into it on first use

    def run(
        code: str, site: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run_real(code, site or site_dir, stub_dir=stub_dir, timeout=timeout)

    return run
