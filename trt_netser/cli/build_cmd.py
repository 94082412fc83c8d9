"""``trt-netser build SPEC``: build or refit through the cache, and say what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from trt_netser.cli.errors import CliError

if TYPE_CHECKING:
    from trt_netser.pipeline._policy import RefitPolicy

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _document(result: Any, spec: str, backend: str) -> dict[str, Any]:
    return {
        "format": "trt-netser.build",
        "version": 1,
        "spec": spec,
        "backend": backend,
        **result.to_dict(),
    }


def _render(result: Any) -> None:
    from trt_netser.cli.render import console

    out = console()
    out.print(f"{result.outcome.value}  {result.entry_key}")
    if result.refit_flag_added:
        out.print("  config: BuilderFlag.REFIT added (the config had no refit flag)")
    if result.reason:
        out.print(f"  reason: {result.reason}")
    if result.quarantined:
        out.print(f"  quarantined: {result.quarantined}")
    if result.weights_refit:
        out.print(f"  refit: {result.weights_refit} weights, {result.weight_bytes} bytes")
    if result.weight_streaming:
        budget = ", ".join(f"{k}={v}" for k, v in result.weight_streaming.items())
        out.print(f"  weight streaming (runtime, not keyed): {budget}")
    timings = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in result.timings.items())
    out.print(f"  timings: {timings} (total {result.timings.total:.3f} s)")
    if result.explanation is not None:
        for line in result.explanation.lines()[1:]:
            out.print(f"  {line.strip()}")
    for warning in result.warnings:
        console(stderr=True).print(f"trt-netser: warning: {warning}", style="yellow")


@click.command("build", context_settings=CONTEXT)
@click.argument("spec")
@click.option(
    "--cache",
    "url",
    metavar="URL_OR_PATH",
    help="Cache root (default: $TRT_NETSER_CACHE or the user cache directory).",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "tensorrt", "offline"]),
    default="auto",
    show_default=True,
    help="TensorRT to build with (see `trt-netser hash --help`).",
)
@click.option(
    "--refit",
    type=click.Choice(["add", "keep"]),
    default="add",
    show_default=True,
    help="add: set REFIT on a config without refit flags; keep: leave the config.",
)
@click.option("--weightless", is_flag=True, help="Store the plan without refittable weights.")
@click.option("--verify", is_flag=True, help="On a hit, also build fresh and compare plans.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the plan here.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/pipeline.md).")
def build_cmd(
    spec: str,
    url: str | None,
    backend: str,
    refit: RefitPolicy,  # click.Choice above admits exactly these
    weightless: bool,
    verify: bool,
    output: str | None,
    as_json: bool,
) -> None:
    """Build SPEC's engine, or refit the cached one: print the outcome, the timings and,
    on a miss, the nearest cached entry and what differs from it.

    \b
    Examples:
      trt-netser build model.py:build
      trt-netser build model.py:build --cache s3://builds/trt-cache --json
    """
    from trt_netser.cli.cache_cmd import open_cache
    from trt_netser.cli.render import echo_json
    from trt_netser.cli.spec import call_builder, resolve_function, use_backend
    from trt_netser.pipeline import BuildError, build_engine

    cache = open_cache(url)
    with use_backend(backend) as chosen:
        fn = resolve_function(spec)
        network, config, profiles = call_builder(fn, spec, chosen.module)
        builder = getattr(network, "builder", None)
        if builder is None:
            raise CliError(f"{spec}: the network has no builder (network.builder is None)")
        if config is None:
            config = builder.create_builder_config()
        options: dict[str, Any] = {} if profiles is None else {"profiles": profiles}
        try:
            result = build_engine(
                builder,
                network,
                config,
                cache=cache,
                refit=refit,
                weightless=weightless,
                verify=verify,
                **options,
            )
        except BuildError as exc:
            raise CliError(f"{spec}: {exc}") from None
        if output:
            try:
                with open(output, "wb") as stream:
                    stream.write(memoryview(result.plan).cast("B"))
            except OSError as exc:
                raise CliError(f"cannot write {output!r}: {exc.strerror or exc}") from None
    if as_json:
        echo_json(_document(result, spec, chosen.name))
    else:
        _render(result)
