"""``trt-netser --version``: the package, its layer writer and the TensorRT it finds."""

from __future__ import annotations


def writer_line() -> str:
    """Whether the compiled layer writer (``trt_netser._layerwriter``) is in use."""
    from trt_netser import walk

    compiled = walk._compiled
    if compiled is None:
        return (
            "layer writer: pure Python (trt_netser._layerwriter was not compiled; "
            "same digests, slower)"
        )
    return "layer writer: compiled (trt_netser._layerwriter)"


def tensorrt_line() -> str:
    """Which TensorRT ``--backend auto`` would use: the real bindings, else the offline model."""
    from trt_netser.backend import describe_backend
    from trt_netser.cli.spec import _offline, _real_tensorrt

    real = _real_tensorrt()
    if real is not None:
        where = getattr(real, "__file__", None)
        return f"tensorrt: {describe_backend(real)}, real" + (f" at {where}" if where else "")
    return f"tensorrt: none importable; --backend auto uses {describe_backend(_offline())}"


def version_text() -> str:
    from trt_netser import __version__

    return "\n".join(
        [
            f"trt-netser {__version__}",
            writer_line(),
            tensorrt_line(),
        ]
    )


__all__ = ["version_text"]
