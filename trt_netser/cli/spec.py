"""Turn a SPEC (``model.py:build``, ``pkg.module:build`` or a dump file) into a Subject.

The build function runs inside ``trt_netser.capture(trt)`` with the chosen backend
installed as ``sys.modules["tensorrt"]`` (offline only when asked or when real TensorRT
cannot be imported), so unmodified ``import tensorrt as trt`` code works on a machine
without TensorRT.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from trt_netser.cli.errors import CliError
from trt_netser.cli.subject import Component, Subject, jsonable, network_component

BACKENDS = ("auto", "tensorrt", "offline")
_counter = itertools.count()

#: What a user is told when an ONNX file (or a SPEC calling trt.OnnxParser) meets a
#: backend without TensorRT's ONNX parser.
ONNX_NEEDS_PARSER = (
    "ONNX files need TensorRT's ONNX parser (trt.OnnxParser), which only real TensorRT "
    "has: install it (pip install 'trt-netser[tensorrt]') or, on a machine that has it, "
    "write a dump with `trt-netser dump model.onnx -o model.tnsd` and use that here"
)

#: Status callback: tells the spinner what is happening (importing, building, hashing).
Status = Callable[[str], None]


def _quiet(_text: str) -> None:
    return None


@dataclass(frozen=True)
class KeyOptions:
    """What the key is computed for when it is not this process's environment.

    The device and TensorRT fields predict the key a GPU host computes (the offline
    backend knows no GPU); ``extras`` is the user data passed as ``cache_key(extras=)``.
    """

    trt_version: str | None = None
    compute_capability: str | None = None
    gpu_name: str | None = None
    cuda_version: str | None = None
    extras: Mapping[str, Any] | None = None

    @property
    def predicts(self) -> bool:
        """Whether any environment field is given (the key is then a prediction)."""
        return any(
            v is not None
            for v in (self.trt_version, self.compute_capability, self.gpu_name, self.cuda_version)
        )

    def environment(self, module: ModuleType | None) -> Any:
        """The Environment to key with, or None for this process's own."""
        if not self.predicts:
            return None
        from trt_netser.portability import environment

        try:
            return environment(
                module,
                trt_version=self.trt_version,
                compute_capability=self.compute_capability,
                gpu_name=self.gpu_name,
                cuda_version=self.cuda_version,
            )
        except (TypeError, ValueError) as exc:
            raise CliError(f"cannot use the given environment: {exc}") from None


@dataclass(frozen=True)
class Backend:
    """The TensorRT module a build runs against, and its name (tensorrt or offline)."""

    name: str
    module: ModuleType


def _offline() -> ModuleType:
    try:
        import trt_netser.offline as offline
    except ImportError as exc:  # pragma: no cover - broken installs only
        raise CliError(f"the offline backend cannot be imported: {exc}") from None
    if not hasattr(offline, "INetworkDefinition"):
        raise CliError("the offline backend (trt_netser.offline) is not available in this install")
    return offline


def _real_tensorrt() -> ModuleType | None:
    """The real ``tensorrt`` module, or None when it cannot be imported here."""
    current = sys.modules.get("tensorrt")
    if current is not None and current.__name__ == "trt_netser.offline":
        del sys.modules["tensorrt"]  # injected by an earlier offline run in this process
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module("tensorrt")
    except Exception:  # ImportError, OSError (libnvinfer missing), stub packages raising
        if current is not None:
            sys.modules["tensorrt"] = current
        return None
    if not hasattr(module, "INetworkDefinition"):
        return None
    return module


@contextmanager
def use_backend(name: str) -> Iterator[Backend]:
    """Install the backend as ``tensorrt`` for the duration of the block, then restore."""
    if name not in BACKENDS:
        raise CliError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    saved = sys.modules.get("tensorrt")
    try:
        module = None if name == "offline" else _real_tensorrt()
        if module is None and name == "tensorrt":
            raise CliError(
                "the tensorrt backend was requested but TensorRT cannot be imported here "
                "(use --backend offline)"
            )
        if module is not None:
            backend = Backend("tensorrt", module)
        else:
            backend = Backend("offline", _offline())
            sys.modules["tensorrt"] = backend.module
        yield backend
    finally:
        if saved is None:
            sys.modules.pop("tensorrt", None)
        else:
            sys.modules["tensorrt"] = saved


# --------------------------------------------------------------------------- SPEC


def split_spec(spec: str) -> tuple[str, str]:
    """``"model.py:build"`` -> ``("model.py", "build")``; raise CliError if malformed."""
    target, sep, func = spec.rpartition(":")
    if not sep or not target or not func:
        raise CliError(
            f"SPEC {spec!r} needs a function name: write FILE.py:FUNCTION or "
            "package.module:FUNCTION (or give a dump file)"
        )
    if not func.isidentifier():
        raise CliError(f"SPEC {spec!r}: {func!r} is not a Python function name")
    return target, func


def _import_file(path: Path) -> ModuleType:
    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.is_dir():
        raise CliError(f"{path} is a directory; a SPEC names a Python file and a function")
    name = f"_trt_netser_spec_{next(_counter)}_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise CliError(f"{path} cannot be imported as Python")
    module = importlib.util.module_from_spec(module_spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except CliError:
        raise
    except SyntaxError as exc:
        raise CliError(f"{path} has a syntax error on line {exc.lineno}: {exc.msg}") from None
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise CliError(f"importing {path} raised {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(name, None)
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _import_module(name: str) -> ModuleType:
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise CliError(f"no module named {name!r} (and no file of that name)") from None
        raise CliError(f"importing {name} raised ModuleNotFoundError: {exc}") from exc
    except Exception as exc:
        raise CliError(f"importing {name} raised {type(exc).__name__}: {exc}") from exc
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def resolve_function(spec: str) -> Callable[..., Any]:
    """Import the SPEC's file or module and return its build function."""
    target, func = split_spec(spec)
    looks_like_file = target.endswith(".py") or os.sep in target or "/" in target
    module = _import_file(Path(target)) if looks_like_file else _import_module(target)
    fn: Any = getattr(module, func, None)
    if fn is None:
        raise CliError(f"{target} has no function {func!r}")
    if not callable(fn):
        raise CliError(f"{target}:{func} is a {type(fn).__name__}, not a function")
    function: Callable[..., Any] = fn
    return function


def call_builder(
    fn: Callable[..., Any], spec: str, trt: ModuleType
) -> tuple[Any, Any, list[Any] | None]:
    """Call the build function (passing ``trt=`` if it takes it).

    Returns (network, config, profiles): config is None if only a network was returned,
    profiles are those added to the config during the call (None if none were seen).
    """
    kwargs: dict[str, Any] = {}
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "trt" in params:
        kwargs["trt"] = trt
    missing = [
        p.name
        for p in params.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name != "trt"
    ]
    if missing:
        raise CliError(
            f"{spec} takes required parameter(s) {', '.join(missing)}; a build function "
            "may only take 'trt' (the TensorRT module)"
        )
    from trt_netser.capturing import capture
    from trt_netser.config import recorded_profiles

    try:
        with capture(trt):  # also records the config's optimization profiles
            result = fn(**kwargs)
    except CliError:
        raise
    except Exception as exc:
        if _is_onnx_parser_failure(exc, trt):
            raise CliError(f"{spec}: {ONNX_NEEDS_PARSER}") from exc
        raise CliError(f"{spec} raised {type(exc).__name__}: {exc}") from exc
    network, config = result, None
    if isinstance(result, tuple):
        if len(result) != 2:
            raise CliError(
                f"{spec} returned a tuple of {len(result)} items; return a network or "
                "(network, config)"
            )
        network, config = result
    if network is None or not hasattr(network, "num_layers"):
        raise CliError(
            f"{spec} returned {type(network).__name__}, not a TensorRT network "
            "(return the INetworkDefinition, or (network, config))"
        )
    seen = recorded_profiles(config) if config is not None else None
    return network, config, (list(seen) if seen is not None else None)


def _is_onnx_parser_failure(exc: BaseException, trt: ModuleType) -> bool:
    """Whether ``exc`` comes from using ``trt.OnnxParser`` on a backend that has none
    (absent: AttributeError; present but refusing, as an offline stand-in may: an error
    raised while constructing it)."""
    from trt_netser.backend import is_offline

    if not is_offline(trt) and hasattr(trt, "OnnxParser"):
        return False
    if isinstance(exc, AttributeError) and (
        getattr(exc, "name", None) == "OnnxParser" or "OnnxParser" in str(exc)
    ):
        return True
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        qualname = getattr(code, "co_qualname", code.co_name)
        owner = tb.tb_frame.f_locals.get("self")
        if "OnnxParser" in qualname or type(owner).__name__ == "OnnxParser":
            return True
        tb = tb.tb_next
    return "OnnxParser" in str(exc)


def build_onnx(path: Path, trt: ModuleType) -> tuple[Any, Any]:
    """Parse an ONNX file with ``trt.OnnxParser`` into a network, as trtexec and
    Polygraphy do, with a default builder config (trtexec's default build)."""
    from trt_netser.backend import is_offline

    if is_offline(trt) or not hasattr(trt, "OnnxParser"):
        raise CliError(f"{path}: {ONNX_NEEDS_PARSER}")
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    try:
        parser = trt.OnnxParser(network, logger)
    except Exception as exc:
        raise CliError(f"{path}: {ONNX_NEEDS_PARSER} ({type(exc).__name__}: {exc})") from exc
    if not parser.parse_from_file(str(path)):
        errors = [str(parser.get_error(i)) for i in range(int(parser.num_errors))]
        first = errors[0] if errors else "no error was reported"
        raise CliError(
            f"{path}: TensorRT's ONNX parser failed with {len(errors)} error(s); first: {first}"
        )
    config = builder.create_builder_config()
    _KEEP_ALIVE.append((builder, parser, logger))  # the network uses the parser's weights
    return network, config


_KEEP_ALIVE: list[Any] = []


# --------------------------------------------------------------------------- key


def _key_components(
    network: Any,
    config: Any,
    strict: bool,
    profiles: list[Any] | None,
    options: KeyOptions,
    module: ModuleType | None,
) -> tuple[str | None, list[Component], Any]:
    """The full cache key when ``trt_netser.key`` and a config are available."""
    if config is None:
        return None, [], None
    try:
        from trt_netser.key import cache_key
    except ImportError:
        return None, [], None
    key = cache_key(
        network,
        config,
        strict=strict,
        profiles=profiles,
        environment=options.environment(module),
        extras=dict(options.extras) if options.extras else None,
    )
    components = [
        Component(str(c.name), str(c.digest), jsonable(c.value), str(getattr(c, "explanation", "")))
        for c in key.components
    ]
    try:
        key_dict = jsonable(key.to_dict())
    except Exception:
        key_dict = None
    return str(key), components, key_dict


def describe(
    network: Any,
    config: Any,
    *,
    label: str,
    backend: str,
    strict: bool = True,
    profiles: list[Any] | None = None,
    options: KeyOptions | None = None,
    module: ModuleType | None = None,
    records: bool = True,
    status: Status = _quiet,
) -> Subject:
    """Hash a built network (and its key, if possible) into a Subject.

    With a key, the records are those of the key's network component: the same weights
    mode (the refit flags decide whether weight values are hashed), hence the same digest.
    ``records=False`` defers describing the records (a second walk) until a command
    asks for them (``Subject.load_records``): ``hash`` needs only the key.
    """
    from trt_netser.api import describe_network, hash_network
    from trt_netser.errors import PartialHashWarning, TrtNetserError

    options = options or KeyOptions()
    if options.extras and config is None:
        raise CliError(f"{label}: --extras needs a full key, but no builder config was returned")
    if options.predicts and config is None:
        raise CliError(
            f"{label}: the environment options need a full key, but no builder config was "
            "returned (return (network, config))"
        )
    status(f"hashing the network of {label} ({_layers(network)} layers)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialHashWarning)
            key_path, components, key_dict = _key_components(
                network, config, strict, profiles, options, module
            )
            weights = "structure"
            net = next((c for c in components if c.name == "network"), None)
            if net is not None and isinstance(net.value, dict):
                weights = str(net.value.get("weights", "structure"))
            if records:
                status(f"describing the records of {label}")
                description = describe_network(network, strict=strict, weights=weights)  # type: ignore[arg-type]
                digest, partial = str(description.digest), description.partial
                issues, trt_version = list(description.digest.issues), description.trt_version
            elif net is not None and isinstance(net.value, dict):
                digest, partial = net.digest, bool(net.value.get("partial", False))
                issues, trt_version = [], _trt_version(module)
                if partial:  # rare: walk again for the problems the warning names
                    found = hash_network(network, strict=False, weights=weights)  # type: ignore[arg-type]
                    issues = list(found.issues)
            else:
                found = hash_network(network, strict=strict, weights=weights)  # type: ignore[arg-type]
                digest, partial = str(found), bool(found.issues)
                issues, trt_version = list(found.issues), _trt_version(module)
    except TrtNetserError as exc:
        raise CliError(f"{label}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise CliError(f"{label}: {exc}") from exc
    if not components:
        components = [network_component(digest, partial)]
    elif records and net is not None and net.digest != digest:
        raise CliError(
            f"{label}: the key's network digest {net.digest[:12]} differs from the described "
            f"stream {digest[:12]} (is the build function deterministic?)"
        )
    subject = Subject(
        label=label,
        origin="spec",
        backend=backend,
        trt_version=trt_version,
        digest=digest,
        items=[],
        components=components,
        key_path=key_path,
        key_dict=key_dict,
        partial=partial,
        issues=issues,
    )
    if records:
        subject.items = list(description.records)
    else:

        def later() -> list[Any]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PartialHashWarning)
                try:
                    found = describe_network(network, strict=strict, weights=weights)  # type: ignore[arg-type]
                except (TrtNetserError, TypeError, ValueError) as exc:
                    raise CliError(f"{label}: {exc}") from exc
            if str(found.digest) != digest:
                raise CliError(
                    f"{label}: the key's network digest {digest[:12]} differs from the "
                    f"described stream {str(found.digest)[:12]} (is the network being changed?)"
                )
            subject.issues = list(found.digest.issues)
            return list(found.records)

        subject.loader = later
    return subject


def _layers(network: Any) -> str:
    try:
        return f"{int(network.num_layers):,}"
    except Exception:
        return "?"


def _trt_version(module: ModuleType | None) -> str:
    version = str(getattr(module, "__version__", "") or "unknown")
    return version.split("+", 1)[0]


def load_subject(
    spec: str,
    backend: str = "auto",
    *,
    strict: bool = True,
    options: KeyOptions | None = None,
    records: bool = True,
    status: Status = _quiet,
) -> Subject:
    """A SPEC (build function), dump file or ONNX file, hashed and ready for any command.

    ``records=False`` defers the per-record description (see :func:`describe`).
    """
    from trt_netser.cli.dumpfile import load_dump, looks_like_dump
    from trt_netser.errors import DumpFormatError

    path = Path(spec)
    if spec.lower().endswith(".onnx") and ":" not in spec.rsplit(".", 1)[-1]:
        with use_backend(backend) as chosen:
            status(f"parsing {spec} with TensorRT's ONNX parser")
            network, config = build_onnx(path, chosen.module)
            return describe(
                network,
                config,
                label=spec,
                backend=chosen.name,
                strict=strict,
                options=options,
                module=chosen.module,
                records=records,
                status=status,
            )
    if ":" not in spec or (path.is_file() and not spec.endswith(".py")):
        if path.is_file() and not spec.endswith(".py"):
            if not looks_like_dump(path):
                raise CliError(f"{spec} is neither a trt-netser dump nor a SPEC (FILE.py:FUNCTION)")
            if options is not None and (options.predicts or options.extras):
                raise CliError(
                    f"{spec} is a dump: its key was computed when it was written, so the "
                    "environment options and --extras do not apply to it"
                )
            status(f"reading dump {spec}")
            try:
                return load_dump(path, records=records)
            except DumpFormatError as exc:
                raise CliError(str(exc)) from None
        if not path.exists() and ":" not in spec:
            raise CliError(f"{spec}: no such file (a SPEC is FILE.py:FUNCTION or a dump file)")
    with use_backend(backend) as chosen:
        status(f"importing {spec.rpartition(':')[0]}")
        fn = resolve_function(spec)
        status(f"running your build function {spec} (on {chosen.name})")
        network, config, profiles = call_builder(fn, spec, chosen.module)
        return describe(
            network,
            config,
            label=spec,
            backend=chosen.name,
            strict=strict,
            profiles=profiles,
            options=options,
            module=chosen.module,
            records=records,
            status=status,
        )
