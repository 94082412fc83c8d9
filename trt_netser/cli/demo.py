"""``demo``: hash a small transformer block, fine-tune it (same key), edit it (new key).

The builder uses only TensorRT's public API, so it runs on ``trt_netser.offline`` (the
default here) and on real TensorRT alike. It is a module-level function with a ``trt``
parameter, so ``trt-netser hash trt_netser.cli.demo:build_block`` works too.
"""

from __future__ import annotations

from typing import Any

import click
import numpy as np
from rich.text import Text

from trt_netser.cli.render import console, echo_json, short

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Demo sizes: small so the demo is instant, big enough to look like a transformer.
D_MODEL = 64
HEADS = 4
D_FF = 256

#: Builders, networks and weight arrays of demo networks: TensorRT keeps pointers to them.
_KEEP_ALIVE: list[tuple[Any, Any, list[np.ndarray]]] = []


def _weights(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) * 0.02).astype(np.float32)


def build_block(
    trt: Any,
    *,
    seed: int = 0,
    activation: str = "GELU_TANH",
    softmax_axis: int = 3,
    with_config: bool = True,
) -> Any:
    """A pre-norm transformer block: LayerNorm, multi-head self-attention, residual,
    LayerNorm, MLP, residual. ``seed`` picks the weight values (a "fine-tune" changes only
    them); ``activation`` and ``softmax_axis`` are attributes an "edit" may change.

    Returns ``(network, config)`` with ``REFIT`` set (so weight values are not part of the
    key), or just the network when ``with_config`` is False.
    """
    rng = np.random.default_rng(seed)
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    network.name = "demo.transformer_block"
    d, h, dh = D_MODEL, HEADS, D_MODEL // HEADS
    keep: list[np.ndarray] = []  # weights must outlive the network definition

    def const(name: str, array: np.ndarray) -> Any:
        keep.append(array)
        layer = network.add_constant(array.shape, array)
        layer.name = name
        return layer.get_output(0)

    def named(layer: Any, name: str) -> Any:
        layer.name = name
        layer.get_output(0).name = name + ".out"
        return layer.get_output(0)

    def layer_norm(x: Any, name: str) -> Any:
        scale = const(name + ".gamma", np.ones((1, 1, d), np.float32))
        bias = const(name + ".beta", np.zeros((1, 1, d), np.float32))
        layer = network.add_normalization(x, scale, bias, 1 << 2)
        layer.epsilon = 1e-5
        return named(layer, name)

    def linear(x: Any, d_in: int, d_out: int, name: str) -> Any:
        w = const(name + ".weight", _weights(rng, 1, d_in, d_out))
        b = const(name + ".bias", _weights(rng, 1, 1, d_out))
        mm = named(
            network.add_matrix_multiply(x, trt.MatrixOperation.NONE, w, trt.MatrixOperation.NONE),
            name + ".matmul",
        )
        return named(network.add_elementwise(mm, b, trt.ElementWiseOperation.SUM), name)

    def heads(x: Any, name: str) -> Any:  # [B, S, D] -> [B, H, S, Dh]
        shuffle = network.add_shuffle(x)
        shuffle.reshape_dims = (0, 0, h, dh)
        shuffle.second_transpose = (0, 2, 1, 3)
        return named(shuffle, name)

    x = network.add_input("hidden_states", trt.DataType.FLOAT, (-1, -1, d))
    ln1 = layer_norm(x, "ln_1")
    q = heads(linear(ln1, d, d, "attn.q_proj"), "attn.q_heads")
    k = heads(linear(ln1, d, d, "attn.k_proj"), "attn.k_heads")
    v = heads(linear(ln1, d, d, "attn.v_proj"), "attn.v_heads")
    scores = named(
        network.add_matrix_multiply(q, trt.MatrixOperation.NONE, k, trt.MatrixOperation.TRANSPOSE),
        "attn.scores",
    )
    scale = const("attn.scale", np.full((1, 1, 1, 1), dh**-0.5, np.float32))
    scaled = named(
        network.add_elementwise(scores, scale, trt.ElementWiseOperation.PROD), "attn.scaled"
    )
    softmax = network.add_softmax(scaled)
    softmax.axes = 1 << softmax_axis
    probs = named(softmax, "attn.softmax")
    context = named(
        network.add_matrix_multiply(probs, trt.MatrixOperation.NONE, v, trt.MatrixOperation.NONE),
        "attn.context",
    )
    merge = network.add_shuffle(context)
    merge.first_transpose = (0, 2, 1, 3)
    merge.reshape_dims = (0, 0, d)
    merged = named(merge, "attn.merge_heads")
    attn = linear(merged, d, d, "attn.o_proj")
    res1 = named(network.add_elementwise(x, attn, trt.ElementWiseOperation.SUM), "residual_1")
    ln2 = layer_norm(res1, "ln_2")
    up = linear(ln2, d, D_FF, "mlp.fc_in")
    act = named(network.add_activation(up, getattr(trt.ActivationType, activation)), "mlp.act")
    down = linear(act, D_FF, d, "mlp.fc_out")
    out = network.add_elementwise(res1, down, trt.ElementWiseOperation.SUM)
    out.name = "residual_2"
    out.get_output(0).name = "output"
    network.mark_output(out.get_output(0))
    _KEEP_ALIVE.append((builder, network, keep))  # real TensorRT does not copy weights
    if not with_config:
        return network
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.REFIT)
    profile = builder.create_optimization_profile()
    profile.set_shape("hidden_states", (1, 1, d), (1, 128, d), (8, 512, d))
    config.add_optimization_profile(profile)
    return network, config


def build_finetuned(trt: Any) -> Any:
    """The block after a fine-tune: other weight values, same structure."""
    return build_block(trt, seed=1)


def build_edited(trt: Any) -> Any:
    """The block after an edit: the MLP activation is RELU instead of GELU_TANH."""
    return build_block(trt, activation="RELU")


def _subjects() -> dict[str, Any]:
    from trt_netser.cli.spec import call_builder, describe, use_backend

    out = {}
    with use_backend("offline") as backend:
        for label, fn in (
            ("base", build_block),
            ("finetuned", build_finetuned),
            ("edited", build_edited),
        ):
            spec = f"trt_netser.cli.demo:{fn.__name__}"
            network, config, profiles = call_builder(fn, spec, backend.module)
            out[label] = describe(
                network, config, label=spec, backend=backend.name, profiles=profiles
            )
    return out


@click.command("demo", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
def demo_cmd(as_json: bool) -> None:
    """Hash a small transformer block on the offline backend, then show that a fine-tune
    (new weight values) keeps the key and an edit (one attribute) changes it, and why.

    The network builders are in trt_netser.cli.demo and take a `trt` parameter, so you
    can run any command on them: `trt-netser explain trt_netser.cli.demo:build_block`.

    \b
    Examples:
      trt-netser demo
      trt-netser demo --json
      trt-netser diff trt_netser.cli.demo:build_block trt_netser.cli.demo:build_edited
    """
    from trt_netser.cli.demo_run import finetune_check
    from trt_netser.cli.diff import diff_subjects
    from trt_netser.cli.netcmds import render_diff

    subjects = _subjects()
    base, tuned, edited = subjects["base"], subjects["finetuned"], subjects["edited"]
    ran = finetune_check()  # the hit is refit and computes what a fresh build computes
    tuned_diff = diff_subjects(base, tuned)
    edit_diff = diff_subjects(base, edited)
    if as_json:
        echo_json(
            {
                "format": "trt-netser.demo",
                "version": 1,
                "trt_version": base.trt_version,
                "base": {"key": base.key_path, "network": base.digest},
                "finetuned": {
                    "key": tuned.key_path,
                    "network": tuned.digest,
                    "same_key": tuned_diff.equal,
                    "cache": [ran.first, ran.second],
                    "outputs_equal_fresh_build": ran.outputs_equal,
                },
                "edited": {
                    "key": edited.key_path,
                    "network": edited.digest,
                    "same_key": edit_diff.equal,
                    "diff": edit_diff.to_dict(),
                },
            }
        )
        return
    out = console()
    layers = sum(1 for i in base.items if i.kind == "layer")

    def heading(text: str) -> None:
        out.print()
        out.print(Text(text, style="bold underline"))

    out.print(
        Text(
            f"trt-netser demo: a transformer block ({layers} layers, d_model={D_MODEL}, "
            f"{HEADS} heads) built with the offline TensorRT {base.trt_version} model",
            style="bold",
        )
    )
    heading("1. hash (trt-netser hash trt_netser.cli.demo:build_block)")
    out.print(Text.assemble(("key       ", "bold"), str(base.key_path)))
    for c in base.components:
        out.print(Text.assemble((c.name.ljust(10), "bold"), c.digest))
    heading("2. fine-tune: new weight values, REFIT build (build_finetuned)")
    out.print(Text.assemble(("key       ", "bold"), str(tuned.key_path)))
    verdict = (
        "same key: the cached engine is refit with the new weights, not rebuilt"
        if tuned_diff.equal
        else "DIFFERENT key (unexpected)"
    )
    out.print(Text(verdict, style="green" if tuned_diff.equal else "bold red"))
    ok = ran.outputs_equal and ran.differs_from_base
    out.print(
        Text(
            f"ran both on the CPU: base {ran.first}, fine-tune {ran.second}; the refit engine's "
            f"outputs {ran.shape} "
            + ("equal a fresh build's bit for bit" if ok else "DIFFER from a fresh build's"),
            style="green" if ok else "bold red",
        )
    )
    heading("3. edit: the MLP activation GELU_TANH -> RELU (build_edited)")
    out.print(Text.assemble(("key       ", "bold"), str(edited.key_path)))
    out.print(
        Text(
            "different key: a cached engine would compute the wrong function"
            if not edit_diff.equal
            else "SAME key (unexpected)",
            style="yellow" if not edit_diff.equal else "bold red",
        )
    )
    heading(
        "   why (trt-netser diff trt_netser.cli.demo:build_block trt_netser.cli.demo:build_edited)"
    )
    render_diff(edit_diff)
    out.print()
    out.print(
        Text(
            f"next: trt-netser explain trt_netser.cli.demo:build_block   "
            f"(every record, digest {short(base.digest)}...)",
            style="dim",
        )
    )
