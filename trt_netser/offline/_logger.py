"""ILogger / Logger: how TensorRT reports errors (an ILogger subclass's ``log`` is called)."""

from __future__ import annotations

import sys
from typing import Any, TypeAlias

from trt_netser.offline._enums import _Severity
from trt_netser.offline._pyarg import Arg, Sig, api, check_setter, enum

_SEV = enum(_Severity)
_LETTER = {0: "F", 1: "E", 2: "W", 3: "I", 4: "V"}


class ILogger:
    """Abstract base Logger class for the :class:`Builder`; subclasses implement ``log``."""

    Severity: TypeAlias = _Severity  # an alias, so ``severity: trt.ILogger.Severity`` type-checks
    INTERNAL_ERROR = _Severity.INTERNAL_ERROR
    ERROR = _Severity.ERROR
    WARNING = _Severity.WARNING
    INFO = _Severity.INFO
    VERBOSE = _Severity.VERBOSE

    def __init__(self) -> None:
        pass

    def log(self, severity: _Severity, msg: str) -> None:
        """Logs a message; must be overridden by a derived class."""
        raise RuntimeError('Tried to call pure virtual function "ILogger::log"')

    def __enter__(self) -> ILogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class Logger(ILogger):
    """Logger that prints messages at or above ``min_severity`` (like TensorRT's, to stderr)."""

    Severity: TypeAlias = _Severity  # an alias, so ``severity: trt.ILogger.Severity`` type-checks
    INTERNAL_ERROR = _Severity.INTERNAL_ERROR
    ERROR = _Severity.ERROR
    WARNING = _Severity.WARNING
    INFO = _Severity.INFO
    VERBOSE = _Severity.VERBOSE

    @api("Logger", Sig([Arg("min_severity", _SEV, _Severity.WARNING)], "None"))
    def __init__(self, min_severity: _Severity = _Severity.WARNING) -> None:
        ILogger.__init__(self)
        self._min_severity = min_severity

    @property
    def min_severity(self) -> _Severity:
        """Minimum severity of messages that are printed."""
        return self._min_severity

    @min_severity.setter
    def min_severity(self, value: _Severity) -> None:
        self._min_severity = check_setter("Logger", _SEV, value)

    def log(self, severity: _Severity, msg: str) -> None:
        """Print ``msg`` if ``severity`` is at least ``min_severity``."""
        if int(severity) <= int(self._min_severity):
            print(f"[TRT] [{_LETTER.get(int(severity), '?')}] {msg}", file=sys.stderr)


def report(logger: ILogger | None, severity: _Severity, msg: str) -> None:
    """Send a message to the user's logger; a raising logger must not break the network."""
    if logger is None:
        return
    try:
        logger.log(severity, msg)
    except Exception as exc:  # pybind11 prints and swallows exceptions from Python overrides
        print(f"[TRT] logger raised {type(exc).__name__}: {exc}", file=sys.stderr)


def refuse_max_threads(logger: ILogger | None, interface: str, threads: int) -> bool:
    """Whether ``threads`` is refused as a max_threads setting (logged as TensorRT does).

    IBuilder, IRuntime and IRefitter::setMaxThreads (NvInfer.h, NvInferRuntime.h): "A value
    less than 1 triggers a kINVALID_ARGUMENT error"; the setting is left unchanged.
    """
    if threads >= 1:
        return False
    report(
        logger,
        _Severity.ERROR,
        f"{interface}::setMaxThreads: Error Code 3: API Usage Error (Parameter check failed, "
        f"condition: maxThreads >= 1. maxThreads is {threads}.)",
    )
    return True
