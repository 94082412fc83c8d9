"""The suite's loopback-only guard (tests/conftest.py) refuses names and addresses outside it."""

from __future__ import annotations

import socket

import pytest


def test_remote_names_and_addresses_are_refused() -> None:
    with pytest.raises(OSError, match="loopback only"):
        socket.getaddrinfo("builds.s3.us-west-2.amazonaws.com", 443)
    with pytest.raises(OSError, match="loopback only"):
        socket.create_connection(("10.0.0.1", 80), timeout=1)


def test_loopback_is_allowed() -> None:
    assert socket.getaddrinfo("127.0.0.1", 80)
    assert socket.getaddrinfo("localhost", 80)
