"""The ``trt-netser`` command line: why did my build miss the cache, what is in this key.

Every command that prints data takes ``--json`` (a documented, versioned document; see
docs/cli.md). Errors are one sentence on stderr and a non-zero exit code (2), without a
traceback unless ``--debug`` is given (or ``TRT_NETSER_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from trt_netser.cli.errors import CliError

__all__ = ["CliError", "main"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Flags accepted anywhere on the command line (before or after the subcommand).
GLOBAL_FLAGS = {"--debug": "debug", "-v": "verbose", "--verbose": "verbose", "-vv": "verbose2"}

_DEBUG_HINT = "--debug shows the traceback"


def _debug_requested(ctx: click.Context | None = None) -> bool:
    if os.environ.get("TRT_NETSER_DEBUG", "") not in ("", "0"):
        return True
    root = ctx.find_root() if ctx is not None else click.get_current_context(silent=True)
    return bool(root is not None and root.meta.get("trt_netser.debug"))


def fail(message: str, code: int = 2, *, hint: str | None = _DEBUG_HINT) -> None:
    """Print one sentence on stderr (``trt-netser: error: ...``) and exit with ``code``."""
    from trt_netser.cli.render import console

    text = message.strip().rstrip(".")
    if hint and hint not in text:
        text = f"{text} ({hint})"
    console(stderr=True).print(f"trt-netser: error: {text}", style="red")
    sys.exit(code)


def _split_global_flags(args: list[str]) -> tuple[list[str], dict[str, int]]:
    """Take --debug and -v/--verbose out of ``args`` wherever they are (not after ``--``)."""
    rest: list[str] = []
    seen = {"debug": 0, "verbose": 0}
    for i, arg in enumerate(args):
        if arg == "--":
            rest += args[i:]
            break
        flag = GLOBAL_FLAGS.get(arg)
        if flag == "debug":
            seen["debug"] = 1
        elif flag == "verbose":
            seen["verbose"] += 1
        elif flag == "verbose2":
            seen["verbose"] += 2
        else:
            rest.append(arg)
    return rest, seen


def _configure_logging(verbosity: int) -> None:
    """-v: the library's log lines from INFO up (the engine cache's events); -vv: DEBUG."""
    import logging

    logger = logging.getLogger("trt_netser")
    previous = [h for h in logger.handlers if getattr(h, "trt_netser_cli", False)]
    for old in previous:  # one handler, however often main() runs in a process
        logger.removeHandler(old)
    if verbosity <= 0:
        if previous:
            logger.setLevel(logging.NOTSET)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("trt-netser: %(levelname)s %(name)s: %(message)s"))
    handler.trt_netser_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)


def _usage_message(exc: click.UsageError) -> str:
    ctx = exc.ctx
    where = ctx.command_path if ctx is not None else "trt-netser"
    return f"{exc.format_message().rstrip('.')} (see '{where} --help')"


class _Main(click.Group):
    """A group that turns failures into one clear sentence (tracebacks only with --debug).

    Usage errors from click use the same ``trt-netser: error:`` line as every other
    failure; ``--debug`` and ``-v``/``--verbose`` are accepted anywhere.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest, seen = _split_global_flags(list(args))
        if seen["debug"]:
            ctx.meta["trt_netser.debug"] = True
        ctx.meta["trt_netser.verbose"] = seen["verbose"]
        _configure_logging(seen["verbose"])
        return super().parse_args(ctx, rest)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            fail(_usage_message(exc), exc.exit_code, hint=None)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code, hint=None)
        except click.Abort:
            fail("interrupted", 130, hint=None)
        return None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except CliError as exc:
            if _debug_requested(ctx):
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130, hint=None)
        except BrokenPipeError:  # `trt-netser explain ... | head`
            sys.stderr.close()
            sys.exit(0)
        except Exception as exc:
            if _debug_requested(ctx):
                raise
            fail(f"unexpected {type(exc).__name__}: {exc}", 2)
        return None


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from trt_netser.cli.version import version_text

    click.echo(version_text())
    ctx.exit(0)


@click.group(cls=_Main, context_settings=CONTEXT)
@click.option(
    "--debug",
    is_flag=True,
    help="Show tracebacks instead of one-line errors (accepted anywhere; or TRT_NETSER_DEBUG=1).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what the library does on stderr (-v: INFO and up, e.g. the engine cache's "
    "events; -vv: debug too). Accepted anywhere.",
)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, the layer writer in use and the TensorRT found, and exit.",
)
def main(debug: bool, verbose: int) -> None:
    """A stable identity for TensorRT networks: hash them, explain and diff their cache
    keys, and manage the engine cache.

    A SPEC names a function that builds and returns a network (or a (network, config)
    pair): FILE.py:FUNCTION or package.module:FUNCTION. Where a command reads a network,
    a dump file written by `trt-netser dump` works too, and so does an ONNX file
    (parsed with TensorRT's OnnxParser, so only where TensorRT is installed).

    \b
    Examples:
      trt-netser demo
      trt-netser hash model.py:build
      trt-netser hash model.py:build --compute-capability 9.0 --gpu-name "NVIDIA H100 80GB HBM3"
      trt-netser explain model.py:build | less
      trt-netser dump model.py:build -o build-42.tnsd
      trt-netser diff build-41.tnsd model.py:build
      trt-netser cache lookup model.py:build
      trt-netser cache ls
    """


def _register() -> None:
    from trt_netser.cli import cache_cmd, demo, netcmds, run_cmd, schema_cmd

    for command in (
        netcmds.hash_cmd,
        netcmds.explain_cmd,
        netcmds.dump_cmd,
        netcmds.diff_cmd,
        schema_cmd.schema_cmd,
        cache_cmd.cache_group,
        demo.demo_cmd,
        run_cmd.run_cmd,
    ):
        main.add_command(command)
    from trt_netser.cli.build_cmd import build_cmd  # issue 14: build or refit

    main.add_command(build_cmd)


_register()
