"""Options and loading shared by the commands that read networks (and ``cache lookup``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import click

from trt_netser.cli.render import console, progress
from trt_netser.cli.spec import BACKENDS, KeyOptions, load_subject
from trt_netser.cli.subject import Subject


def backend_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="auto",
        show_default=True,
        help="TensorRT to build SPECs with: auto uses real TensorRT when importable, "
        "else the offline model (injected as the `tensorrt` module).",
    )(fn)


def partial_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--allow-partial",
        is_flag=True,
        help="Hash even if some engine-relevant state cannot be read (the digest is "
        "then marked partial and never equals a complete one).",
    )(fn)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")(fn)


def parse_extras(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``("model=llama", "batch=8")`` -> ``{"model": "llama", "batch": 8}``: a VALUE that
    is JSON (numbers, true/false, null, quoted strings, lists) is read as JSON, anything
    else is a string, so the dict equals what code passes as ``cache_key(extras=)``."""
    extras: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(
                f"{pair!r} is not KEY=VALUE (example: --extras model=llama-3-8b)",
                param_hint="--extras",
            )
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        extras[name] = value
    return extras


#: (option, environment variable, metavar, help) of the options that say which machine
#: the key is computed for; all are KeyOptions fields.
KEY_OPTIONS = (
    (
        "--trt-version",
        "TRT_NETSER_TRT_VERSION",
        "VERSION",
        "TensorRT version of the host to compute the key for, e.g. 10.16.1.11 (default: the backend's).",
    ),
    (
        "--compute-capability",
        "TRT_NETSER_COMPUTE_CAPABILITY",
        "X.Y",
        "GPU compute capability of that host, e.g. 9.0 (the offline backend knows none: sm-unknown).",
    ),
    (
        "--gpu-name",
        "TRT_NETSER_GPU_NAME",
        "NAME",
        "GPU model name as TensorRT hosts report it, e.g. 'NVIDIA H100 80GB HBM3'.",
    ),
    (
        "--cuda-version",
        "TRT_NETSER_CUDA_VERSION",
        "X.Y",
        "CUDA runtime version of that host, e.g. 12.8 (only the major is hashed).",
    ),
)


def key_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the environment options and --extras; the command receives ``key_opts``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        extras = parse_extras(kwargs.pop("extras"))
        fields = {
            name[2:].replace("-", "_"): kwargs.pop(name[2:].replace("-", "_"))
            for name, *_ in KEY_OPTIONS
        }
        kwargs["key_opts"] = KeyOptions(**fields, extras=extras or None)
        return fn(*args, **kwargs)

    wrapper = click.option(
        "--extras",
        "extras",
        multiple=True,
        metavar="KEY=VALUE",
        envvar="TRT_NETSER_EXTRAS",
        help="User data hashed into the key, as cache_key(extras=...) (repeatable; "
        "VALUE is JSON if it parses, else a string; env: TRT_NETSER_EXTRAS, space-separated).",
    )(wrapper)
    for name, env, metavar, text in reversed(KEY_OPTIONS):
        wrapper = click.option(name, envvar=env, metavar=metavar, help=f"{text} Env: {env}.")(
            wrapper
        )
    return wrapper


def get_subject(
    spec: str,
    backend: str,
    allow_partial: bool,
    *,
    key_opts: KeyOptions | None = None,
    records: bool = True,
) -> Subject:
    """Load a SPEC or dump, with a spinner saying what is happening (import, the user's
    build function, hashing) while a big network is built and walked."""
    with progress(f"loading {spec}", None, counts=False) as advance:
        subject = load_subject(
            spec,
            backend,
            strict=not allow_partial,
            options=key_opts,
            records=records,
            status=lambda text: advance(description=text),
        )
    if subject.partial:
        err = console(stderr=True)
        err.print(
            f"trt-netser: warning: {spec}: partial hash, {len(subject.issues)} problem(s); "
            f"first: {subject.issues[0] if subject.issues else '?'}",
            style="yellow",
        )
    return subject


def device_known(subject: Subject) -> bool:
    """Whether the key's device component names a GPU (an offline key does not, unless
    --compute-capability was given)."""
    device = subject.component("device")
    value = device.value if device is not None else None
    return isinstance(value, dict) and value.get("compute_capability") is not None


def offline_note(subject: Subject) -> str | None:
    """The sentence ``hash`` prints for a key computed on the offline backend."""
    if not subject.offline_key:
        return None
    if not device_known(subject):
        return (
            "offline key: computed with the offline TensorRT model, which knows no GPU "
            "(device sm-unknown), so no GPU host computes this key; pass that host's "
            "--compute-capability, --gpu-name and --cuda-version (and --trt-version) to "
            "get the key it would compute"
        )
    device = subject.component("device")
    value = device.value if device is not None and isinstance(device.value, dict) else {}
    gpu = value.get("gpu_name") or "an unnamed GPU"
    return (
        f"offline key: computed with the offline TensorRT model for {gpu} "
        f"(compute capability {value.get('compute_capability')}), the key that host computes "
        "if the rest of its environment matches"
    )
