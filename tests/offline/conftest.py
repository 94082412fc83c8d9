"""Fixtures for the offline-model tests: a recording logger and a fresh network."""

from __future__ import annotations

from typing import Any

import pytest

import trt_netser.offline as trt


class ListLogger(trt.ILogger):
    """An ILogger subclass (as users write them) that records every message."""

    def __init__(self) -> None:
        trt.ILogger.__init__(self)
        self.messages: list[tuple[Any, str]] = []

    def log(self, severity: Any, msg: str) -> None:
        self.messages.append((severity, msg))

    @property
    def errors(self) -> list[str]:
        return [m for s, m in self.messages if s == trt.ILogger.Severity.ERROR]


def is_invalid_dims(dims: Any) -> bool:
    """Whether ``dims`` is TensorRT's invalid Dims (nbDims == -1) as the bindings show it:
    ``len()`` raises ValueError, no element can be read, it equals no tuple."""
    try:
        len(dims)
    except ValueError as exc:
        return "should return >= 0" in str(exc) and list(iter(dims)) == [] and dims != ()
    return False


@pytest.fixture
def logger() -> ListLogger:
    return ListLogger()


@pytest.fixture
def builder(logger: ListLogger) -> Any:
    return trt.Builder(logger)


@pytest.fixture
def net(builder: Any) -> Any:
    return builder.create_network(0)
