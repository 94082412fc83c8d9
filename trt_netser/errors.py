"""Errors and warnings raised by trt-netser."""

from __future__ import annotations


class TrtNetserError(Exception):
    """Base class of every error trt-netser raises on purpose."""


class UnhashableNetworkError(TrtNetserError):
    """A network's state that decides the engine can neither be read nor was captured.

    The message names the layer (canonical index, name, class) and what is missing, so the
    fix is clear: build the network inside :func:`trt_netser.capture`, or pass
    ``strict=False`` to accept a partial hash.
    """


class PartialHashWarning(UserWarning):
    """Issued by ``strict=False`` hashing when some engine-relevant state was unreadable."""


class DumpFormatError(TrtNetserError):
    """A dump or stream could not be decoded (corrupt, truncated, or from a newer schema)."""
