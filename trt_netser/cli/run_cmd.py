"""``trt-netser run``: a reference run of a SPEC's network on the CPU.

Builds the network with the offline model, runs the engine on the inputs of an ``.npz``
and writes the outputs (with ``--outputs all`` every layer's output, named as in the
network) to an ``.npz``, so a real engine's numbers can be compared layer by layer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from trt_netser.cli.errors import CliError
from trt_netser.cli.spec import call_builder, resolve_function, use_backend

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _load_feeds(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise CliError(f"inputs file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"{path} is not a readable .npz file: {exc}") from None


def _add_profile(trt: Any, network: Any, config: Any, feeds: dict[str, np.ndarray]) -> None:
    """Without any optimization profile, dynamic inputs get min = opt = max = the feed's shape."""
    if config.num_optimization_profiles:
        return
    dynamic = [
        network.get_input(i)
        for i in range(network.num_inputs)
        if -1 in tuple(network.get_input(i).shape)
    ]
    if not dynamic:
        return
    profile = network.builder.create_optimization_profile()
    for t in dynamic:
        if t.name not in feeds:
            raise CliError(f"input '{t.name}' is not in the inputs file")
        shape = tuple(feeds[t.name].shape)
        profile.set_shape(t.name, shape, shape, shape)
    config.add_optimization_profile(profile)


class _Logger:
    """Collects the runtime's ERROR messages for the one-line error."""

    def __init__(self, trt: Any) -> None:
        outer = self

        class Logger(trt.ILogger):  # type: ignore[misc]  # base is the run-time-chosen module's
            def __init__(self) -> None:
                trt.ILogger.__init__(self)

            def log(self, severity: Any, msg: str) -> None:
                if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR):
                    outer.errors.append(msg)

        self.errors: list[str] = []
        self.logger = Logger()


@click.command("run", context_settings=CONTEXT)
@click.argument("spec")
@click.option(
    "--inputs",
    "inputs",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="An .npz holding one array per network input, by input name.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("outputs.npz"),
    show_default=True,
    help="Where to write the outputs (.npz).",
)
@click.option(
    "--dtype",
    type=click.Choice(["engine", "float64"]),
    default="engine",
    show_default=True,
    help="engine: TensorRT's types (float16 rounding...); float64: every float in float64.",
)
@click.option(
    "--outputs",
    "which",
    type=click.Choice(["network", "all"]),
    default="network",
    show_default=True,
    help="network: the marked outputs; all: every layer's output too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary of what was written.")
def run_cmd(spec: str, inputs: Path, output: Path, dtype: str, which: str, as_json: bool) -> None:
    """Build SPEC's network offline, run it on the CPU and write the outputs to an .npz.

    \b
    Examples:
      trt-netser run model.py:build --inputs feeds.npz -o ref.npz
      trt-netser run model.py:build --inputs feeds.npz --dtype float64 --outputs all
    """
    feeds = _load_feeds(inputs)
    with use_backend("offline") as backend:
        trt = backend.module
        fn = resolve_function(spec)
        network, config, _ = call_builder(fn, spec, trt)
        if config is None:
            config = network.builder.create_builder_config()
        _add_profile(trt, network, config, feeds)
        if config.get_flag(trt.BuilderFlag.STRIP_PLAN):  # a reference run needs the weights
            config.clear_flag(trt.BuilderFlag.STRIP_PLAN)
        log = _Logger(trt)
        plan = network.builder.build_serialized_network(network, config)
        if plan is None:
            raise CliError(f"building {spec} failed (the builder's logger says why)")
        engine = trt.Runtime(log.logger).deserialize_cuda_engine(plan)
        if engine is None:
            raise CliError(f"the engine of {spec} cannot be deserialized: {'; '.join(log.errors)}")
        try:
            results = trt.run(
                engine, feeds, reference=dtype == "float64", all_tensors=which == "all"
            )
        except ValueError as exc:
            raise CliError(f"bad inputs: {exc}") from None
        except Exception as exc:
            raise CliError(f"running {spec} failed: {exc}") from None
    try:
        with output.open("wb") as f:
            np.savez(f, **results)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc}") from None
    tensors = [
        {"name": k, "shape": list(v.shape), "dtype": str(v.dtype)} for k, v in results.items()
    ]
    summary = {"output": str(output), "dtype": dtype, "tensors": tensors}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for t in tensors:
        click.echo(f"{t['name']}: {tuple(t['shape'])} {t['dtype']}")
    click.echo(f"wrote {len(results)} tensors to {output}")
