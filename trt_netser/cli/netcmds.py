"""``hash``, ``explain``, ``dump`` and ``diff``: commands that read networks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from rich.text import Text

from trt_netser.cli.diff import DiffResult, diff_subjects, flatten
from trt_netser.cli.dumpfile import write_dump
from trt_netser.cli.errors import CliError
from trt_netser.cli.render import (
    Labels,
    component_line,
    component_value_text,
    console,
    echo_json,
    explain_line,
    progress,
    record_body,
    record_title,
    shared_lines,
    short,
    subject_summary,
)
from trt_netser.cli.spec import BACKENDS, load_subject
from trt_netser.cli.subject import Subject, jsonable

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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


def get_subject(spec: str, backend: str, allow_partial: bool) -> Subject:
    """Load a SPEC or dump, with a spinner while a big network is walked."""
    with progress(f"hashing {spec}", None, force=False):
        subject = load_subject(spec, backend, strict=not allow_partial)
    if subject.partial:
        err = console(stderr=True)
        err.print(
            f"trt-netser: warning: {spec}: partial hash, {len(subject.issues)} problem(s); "
            f"first: {subject.issues[0] if subject.issues else '?'}",
            style="yellow",
        )
    return subject


# --------------------------------------------------------------------------- hash


def _hash_json(subject: Subject) -> dict[str, Any]:
    return {
        "format": "trt-netser.hash",
        "version": 1,
        **subject_summary(subject),
        "key": subject.key_path,
        "network": subject.digest,
        "partial": subject.partial,
        "issues": subject.issues,
        "components": [c.to_dict() for c in subject.components],
    }


@click.command("hash", context_settings=CONTEXT)
@click.argument("spec")
@backend_option
@partial_option
@json_option
def hash_cmd(spec: str, backend: str, allow_partial: bool, as_json: bool) -> None:
    """Print the cache key of SPEC and each key component's digest, one per line.

    Without a builder config (the SPEC returns only a network) this is the network-only
    hash. SPEC may also be a dump file.

    \b
    Examples:
      trt-netser hash model.py:build
      trt-netser hash my_pkg.models:build_llama --backend offline --json
      trt-netser hash build-41.tnsd
    """
    subject = get_subject(spec, backend, allow_partial)
    if as_json:
        echo_json(_hash_json(subject))
        return
    out = console()
    width = max(len(c.name) for c in subject.components)
    width = max(width, 3)
    if subject.key_path:
        out.print(Text.assemble(("key".ljust(width) + "  ", "bold"), subject.key_path))
    else:
        console(stderr=True).print(
            "trt-netser: note: network-only hash (no builder config was returned, so no "
            "full cache key)",
            style="dim",
        )
    for c in subject.components:
        out.print(Text.assemble((c.name.ljust(width) + "  ", "bold"), c.digest))


# --------------------------------------------------------------------------- explain


def _explain_json(subject: Subject) -> dict[str, Any]:
    labels = Labels(subject.items)
    return {
        **_hash_json(subject),
        "format": "trt-netser.explain",
        "records": [
            {
                "index": i,
                "kind": item.kind,
                "digest": item.digest,
                "title": record_title(item.record),
                "text": record_body(item.record, labels),
                "fields": jsonable(item.record.fields),
            }
            for i, item in enumerate(subject.items)
        ],
    }


@click.command("explain", context_settings=CONTEXT)
@click.argument("spec")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(
        ["header", "network", "input", "construct", "layer", "output", "weights", "end"]
    ),
    help="Show only records of this kind (repeatable); lines are then complete.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Repeat attribute values shared by every tensor / layer on each line "
    "(by default they are listed once).",
)
@backend_option
@partial_option
@json_option
def explain_cmd(
    spec: str,
    kinds: tuple[str, ...],
    full: bool,
    backend: str,
    allow_partial: bool,
    as_json: bool,
) -> None:
    """Show every record that goes into the key, with its digest, in the order hashed.

    One `[digest] record: content` line per record (like PyTorch Inductor's cache
    debug lines): key components first, then the network stream: header, network,
    inputs, layers (canonical topological order) with names, types, shapes and
    attributes with enum names, outputs, weights and end. Digests are blake3 of each
    record's canonical bytes (first 12 hex digits; --json has all 64).

    \b
    Examples:
      trt-netser explain model.py:build
      trt-netser explain model.py:build --kind layer | grep SOFTMAX
      trt-netser explain build-41.tnsd --json
    """
    subject = get_subject(spec, backend, allow_partial)
    if as_json:
        doc = _explain_json(subject)
        if kinds:
            doc["records"] = [r for r in doc["records"] if r["kind"] in kinds]
        echo_json(doc)
        return
    out = console()
    labels = Labels(subject.items, elide=not (full or kinds))
    if not kinds:
        if subject.key_path:
            out.print(Text.assemble(("key ", "bold"), subject.key_path))
        for c in subject.components:
            if c.name == "network" or not isinstance(c.value, dict) or not c.value:
                value = "" if c.name == "network" else component_value_text(c.value)
                out.print(component_line(c.name, c.digest, value))
                continue
            out.print(
                component_line(c.name, c.digest, f"({c.explanation})" if c.explanation else "")
            )
            for path, value in flatten(c.value).items():
                out.print(Text(f"    {path}: {component_value_text(value, 200)}"))
    for line in shared_lines(labels):
        out.print(line)
    for item in subject.items:
        if kinds and item.kind not in kinds:
            continue
        out.print(explain_line(item, labels))
    if not kinds:
        out.print(
            Text.assemble(
                ("network ", "bold"),
                subject.digest,
                (f"  ({len(subject.items)} records)", "dim"),
            )
        )


# --------------------------------------------------------------------------- dump


@click.command("dump", context_settings=CONTEXT)
@click.argument("spec")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Dump file to write (gzip-compressed JSON; plain JSON if it ends in .json).",
)
@backend_option
@partial_option
@json_option
def dump_cmd(spec: str, output: str, backend: str, allow_partial: bool, as_json: bool) -> None:
    """Write a self-contained dump of SPEC's records, digests and key to a file.

    The dump holds each record's exact canonical bytes (so digests are re-verified when
    it is loaded), the key components and the enum names for display. It loads without
    TensorRT: use it with explain, hash and diff, attach it to bug reports, keep one per
    build. Format: docs/cli.md (schema version 1).

    \b
    Examples:
      trt-netser dump model.py:build -o build-42.tnsd
      trt-netser dump model.py:build -o build-42.json     # uncompressed
      trt-netser diff build-41.tnsd build-42.tnsd
    """
    subject = get_subject(spec, backend, allow_partial)
    size = write_dump(subject, output)
    if as_json:
        echo_json(
            {
                "format": "trt-netser.dump-result",
                "version": 1,
                **subject_summary(subject),
                "path": output,
                "bytes": size,
                "records": len(subject.items),
                "key": subject.key_path,
                "network": subject.digest,
            }
        )
        return
    console().print(
        f"wrote {output}: {len(subject.items)} records, {size:,} bytes, "
        f"{'key ' + subject.key_path if subject.key_path else 'network ' + subject.digest}"
    )


# --------------------------------------------------------------------------- diff


def render_diff(result: DiffResult, *, limit: int | None = None) -> None:
    """Human output of a diff: components, first divergence, grouped network changes."""
    out = console()
    a, b = result.a, result.b
    for tag, s in (("A", a), ("B", b)):
        ident = f"key {s.key_path}" if s.key_path else f"network {short(s.digest)}"
        out.print(Text.assemble((f"{tag}: ", "bold"), f"{s.label}  ", (ident, "dim")))
    out.print(Text("key components:", style="bold"))
    changed = {c.name for c in result.components}
    names = [c.name for c in a.components] + [
        c.name for c in b.components if a.component(c.name) is None
    ]
    width = max((len(n) for n in names), default=8)
    for name in names:
        x, y = a.component(name), b.component(name)
        if name not in changed:
            out.print(Text(f"  = {name.ljust(width)}  {short(x.digest) if x else ''}", style="dim"))
            continue
        old = short(x.digest) if x else "(absent)"
        new = short(y.digest) if y else "(absent)"
        out.print(
            Text.assemble(("  ≠ ", "yellow"), (name.ljust(width), "bold"), f"  {old} -> {new}")
        )
        change = next(c for c in result.components if c.name == name)
        for path, o, n in change.details[:20]:
            out.print(f"      {path}: {o} -> {n}")
        if len(change.details) > 20:
            out.print(f"      ... {len(change.details) - 20} more")
    if result.first:
        out.print(Text.assemble(("first divergence: ", "bold red"), result.first))
    if not result.network_equal:
        counts = result.counts()
        how: dict[str, int] = {}
        for pair in result.pairs:
            how[pair.how] = how.get(pair.how, 0) + 1
        aligned = ", ".join(f"{n} by {h}" for h, n in sorted(how.items())) or "none"
        out.print(
            Text(
                f"network: {counts['layers_changed']} layer(s) changed, "
                f"{counts['layers_added']} added, {counts['layers_removed']} removed "
                f"(layers aligned: {aligned})",
                style="bold",
            )
        )
        groups: dict[tuple[str, str, str], list[Any]] = {}
        for change in result.changes:
            groups.setdefault((change.section, change.status, change.where), []).append(change)
        shown = 0
        for (_section, status, where), changes in groups.items():
            if limit is not None and shown >= limit:
                out.print(f"  ... {len(groups) - shown} more (use --all or --json)")
                break
            shown += 1
            mark, style = {"added": ("+", "green"), "removed": ("-", "red")}.get(
                status, ("~", "yellow")
            )
            if status in ("added", "removed"):
                detail = changes[0].new if status == "added" else changes[0].old
                out.print(
                    Text.assemble((f"  {mark} {where}", style), f": {detail}" if detail else "")
                )
                continue
            out.print(Text(f"  {mark} {where}", style=style))
            for change in changes:
                out.print(f"      {change.what}: {change.old} -> {change.new}")
    elif result.components:
        out.print(Text("network: identical", style="dim"))
    verdict = "keys are equal" if result.equal else "keys differ"
    if result.compared == "network":
        verdict = verdict.replace("keys", "network digests") + " (no full key on both sides)"
    out.print(Text(verdict, style="bold green" if result.equal else "bold red"))


@click.command("diff", context_settings=CONTEXT)
@click.argument("a")
@click.argument("b")
@click.option("--all", "show_all", is_flag=True, help="Show every change (default: first 200).")
@backend_option
@partial_option
@json_option
def diff_cmd(
    a: str, b: str, show_all: bool, backend: str, allow_partial: bool, as_json: bool
) -> None:
    """Explain why A and B have different keys (dumps or SPECs).

    Lists the key components that differ, names the first divergence, then aligns the
    networks (by user names, then by structure) and lists added, removed and changed
    layers with each attribute's old and new value, rewired inputs, and changed
    network inputs, outputs and flags. Exit status: 0 keys equal, 1 different, 2 error.

    \b
    Examples:
      trt-netser diff build-41.tnsd build-42.tnsd
      trt-netser diff build-41.tnsd model.py:build
      trt-netser diff old.py:build new.py:build --json
    """
    left = get_subject(a, backend, allow_partial)
    right = get_subject(b, backend, allow_partial)
    result = diff_subjects(left, right)
    if as_json:
        echo_json(result.to_dict())
    else:
        render_diff(result, limit=None if show_all else 200)
    sys.exit(0 if result.equal else 1)


__all__ = ["CliError", "diff_cmd", "dump_cmd", "explain_cmd", "hash_cmd", "render_diff"]
