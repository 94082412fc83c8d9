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


def _debug_requested(ctx: click.Context) -> bool:
    if os.environ.get("TRT_NETSER_DEBUG", "") not in ("", "0"):
        return True
    return bool(ctx.params.get("debug"))


def fail(message: str, code: int = 2) -> None:
    """Print one sentence on stderr and exit with ``code``."""
    from trt_netser.cli.render import console

    text = message.strip().rstrip(".")
    console(stderr=True).print(f"trt-netser: error: {text}", style="red")
    sys.exit(code)


class _Main(click.Group):
    """A group that turns failures into one clear sentence (tracebacks only with --debug)."""

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
            fail("interrupted", 130)
        except BrokenPipeError:  # `trt-netser explain ... | head`
            sys.stderr.close()
            sys.exit(0)
        except Exception as exc:
            if _debug_requested(ctx):
                raise
            fail(
                f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                2,
            )
        return None


def _version() -> str:
    from trt_netser import __version__

    return __version__


@click.group(cls=_Main, context_settings=CONTEXT)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(_version(), "-V", "--version", prog_name="trt-netser")
def main(debug: bool) -> None:
    """A stable identity for TensorRT networks: hash them, explain and diff their cache
    keys, and manage the engine cache.

    A SPEC names a function that builds and returns a network (or a (network, config)
    pair): FILE.py:FUNCTION or package.module:FUNCTION. Where a command reads a network,
    a dump file written by `trt-netser dump` works too.

    \b
    Examples:
      trt-netser demo
      trt-netser hash model.py:build
      trt-netser explain model.py:build | less
      trt-netser dump model.py:build -o build-42.tnsd
      trt-netser diff build-41.tnsd model.py:build
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
