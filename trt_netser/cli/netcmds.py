"""``hash``, ``explain``, ``dump`` and ``diff``: commands that read networks."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.text import Text

from trt_netser.cli.diff import DiffResult, diff_subjects, flatten
from trt_netser.cli.dumpfile import write_dump
from trt_netser.cli.errors import CliError
from trt_netser.cli.options import (
    backend_option,
    device_known,
    get_subject,
    json_option,
    key_options,
    offline_note,
    partial_option,
)
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
from trt_netser.cli.spec import KeyOptions
from trt_netser.cli.subject import Subject, jsonable

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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
        "offline_key": subject.offline_key,
        "device_known": device_known(subject),
        "components": [c.to_dict() for c in subject.components],
    }


@click.command("hash", context_settings=CONTEXT)
@click.argument("spec")
@backend_option
@key_options
@partial_option
@json_option
def hash_cmd(
    spec: str, backend: str, key_opts: KeyOptions, allow_partial: bool, as_json: bool
) -> None:
    """Print the cache key of SPEC and each key component's digest, one per line.

    Without a builder config (the SPEC returns only a network) this is the network-only
    hash. SPEC may also be a dump file, or an ONNX file (parsed with TensorRT's
    OnnxParser, keyed with a default builder config, as trtexec builds it).

    A key computed on the offline backend says so: it knows no GPU, so give the GPU
    host's --compute-capability, --gpu-name, --cuda-version (and --trt-version) to get
    the key that host computes.

    \b
    Examples:
      trt-netser hash model.py:build
      trt-netser hash model.py:build --compute-capability 9.0 \\
          --gpu-name "NVIDIA H100 80GB HBM3" --cuda-version 12.8 --extras model=llama
      trt-netser hash my_pkg.models:build_llama --backend offline --json
      trt-netser hash build-41.tnsd
      trt-netser hash model.onnx
    """
    subject = get_subject(spec, backend, allow_partial, key_opts=key_opts, records=False)
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
    note = offline_note(subject)
    if note:
        console(stderr=True).print(f"trt-netser: note: {note}", style="dim")


# --------------------------------------------------------------------------- explain


def _explain_json(subject: Subject) -> dict[str, Any]:
    labels = Labels(subject.items)  # empty when only key components were asked for
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


#: Record kinds of the network stream, then the key components --kind also selects.
RECORD_KINDS = ("header", "network", "input", "construct", "layer", "output", "weights", "end")
COMPONENT_KINDS = {
    "key": None,  # every component
    "config": ("config",),
    "environment": ("schema", "tensorrt", "device"),
    "extras": ("extras",),
}
KINDS = [*RECORD_KINDS, *(k for k in COMPONENT_KINDS if k not in RECORD_KINDS)]

#: Key component fields never shortened, even without --full: those most likely to
#: differ between GPUs or builds, which a user is looking for.
NEVER_SHORTENED = ("memory_pools",)


def _component_lines(subject: Subject, names: tuple[str, ...] | None, full: bool) -> list[Text]:
    lines = []
    for c in subject.components:
        if names is not None and c.name not in names:
            continue
        if c.name == "network" or not isinstance(c.value, dict) or not c.value:
            value = (
                "" if c.name == "network" else component_value_text(c.value, 10**9 if full else 160)
            )
            lines.append(component_line(c.name, c.digest, value))
            continue
        lines.append(
            component_line(c.name, c.digest, f"({c.explanation})" if c.explanation else "")
        )
        for path, value in flatten(c.value).items():
            keep = full or any(part in path.split(".") for part in NEVER_SHORTENED)
            lines.append(Text(f"    {path}: {component_value_text(value, 10**9 if keep else 200)}"))
    return lines


@click.command("explain", context_settings=CONTEXT)
@click.argument("spec")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KINDS),
    help="Show only records of this kind (repeatable); lines are then complete. "
    "'key' is every key component, 'config' the builder config, 'environment' the "
    "schema, tensorrt and device components.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Repeat attribute values shared by every tensor / layer on each line "
    "(by default they are listed once) and never shorten a key component's value.",
)
@backend_option
@key_options
@partial_option
@json_option
def explain_cmd(
    spec: str,
    kinds: tuple[str, ...],
    full: bool,
    backend: str,
    key_opts: KeyOptions,
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
    record_kinds = tuple(k for k in kinds if k in RECORD_KINDS)
    component_kinds = [k for k in kinds if k in COMPONENT_KINDS]
    only_components = bool(kinds) and not record_kinds
    subject = get_subject(
        spec, backend, allow_partial, key_opts=key_opts, records=not only_components
    )
    names: tuple[str, ...] | None = None
    if component_kinds and "key" not in component_kinds:
        names = tuple(n for k in component_kinds for n in COMPONENT_KINDS[k] or ())
    if as_json:
        doc = _explain_json(subject)
        if kinds:
            doc["records"] = [r for r in doc["records"] if r["kind"] in record_kinds]
            if component_kinds:
                doc["components"] = [
                    c for c in doc["components"] if names is None or c["name"] in names
                ]
        echo_json(doc)
        return
    out = console()
    labels = Labels(subject.items, elide=not (full or kinds))
    if not kinds:
        if subject.key_path:
            out.print(Text.assemble(("key ", "bold"), subject.key_path))
        for line in _component_lines(subject, None, full):
            out.print(line)
    elif component_kinds:
        for line in _component_lines(subject, names, True):
            out.print(line)
    if only_components:
        return
    for line in shared_lines(labels):
        out.print(line)
    for item in subject.items:
        if kinds and item.kind not in record_kinds:
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
@key_options
@partial_option
@json_option
def dump_cmd(
    spec: str,
    output: str,
    backend: str,
    key_opts: KeyOptions,
    allow_partial: bool,
    as_json: bool,
) -> None:
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
    subject = get_subject(spec, backend, allow_partial, key_opts=key_opts)
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
    entry_side = "cache" in (a.origin, b.origin)  # an entry keeps no records to align
    if not result.network_equal and not entry_side:
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
        for item in result.changes:
            groups.setdefault((item.section, item.status, item.where), []).append(item)
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
    elif result.network_equal and result.components:
        out.print(Text("network: identical", style="dim"))
    verdict = "keys are equal" if result.equal else "keys differ"
    if result.compared == "network":
        verdict = verdict.replace("keys", "network digests") + " (no full key on both sides)"
    out.print(Text(verdict, style="bold green" if result.equal else "bold red"))


@click.command("diff", context_settings=CONTEXT)
@click.argument("a")
@click.argument("b")
@click.option("--all", "show_all", is_flag=True, help="Show every change (default: first 200).")
@click.option(
    "--cache",
    "url",
    metavar="URL_OR_PATH",
    help="Cache in which an A or B that is a key path (v1/...) is looked up. "
    "Default: $TRT_NETSER_CACHE, else the user cache directory.",
)
@backend_option
@key_options
@partial_option
@json_option
def diff_cmd(
    a: str,
    b: str,
    show_all: bool,
    url: str | None,
    backend: str,
    key_opts: KeyOptions,
    allow_partial: bool,
    as_json: bool,
) -> None:
    """Explain why A and B have different keys (dumps, SPECs or cache entries).

    Lists the key components that differ, names the first divergence, then aligns the
    networks (by user names, then by structure) and lists added, removed and changed
    layers with each attribute's old and new value, rewired inputs, and changed
    network inputs, outputs and flags. Equal network digests stop there: the records
    are not described. A or B may be the key of a cache entry (see --cache), whose
    components are compared (an entry keeps no records). The environment options and
    --extras apply to SPECs. Exit status: 0 keys equal, 1 different, 2 error.

    \b
    Examples:
      trt-netser diff build-41.tnsd build-42.tnsd
      trt-netser diff build-41.tnsd model.py:build
      trt-netser diff old.py:build new.py:build --json
      trt-netser diff model.py:build v1/trt-10.16.1.11/sm90/0123.../4567...
    """
    left = _diff_side(a, url, backend, key_opts, allow_partial)
    right = _diff_side(b, url, backend, key_opts, allow_partial)
    with progress("comparing", None, counts=False) as advance:
        if left.digest != right.digest:
            advance(description="describing the records of both networks to align them")
        result = diff_subjects(left, right)
    if as_json:
        echo_json(result.to_dict())
    else:
        render_diff(result, limit=None if show_all else 200)
    sys.exit(0 if result.equal else 1)


def _diff_side(
    arg: str, url: str | None, backend: str, key_opts: KeyOptions, allow_partial: bool
) -> Subject:
    """One side of a diff: a cache entry for a key path, else a SPEC or dump."""
    from pathlib import Path

    from trt_netser.cli.entry import load_entry, looks_like_key

    if looks_like_key(arg) and not Path(arg).exists():
        return load_entry(arg, url)
    is_dump = Path(arg).is_file() and not arg.endswith((".py", ".onnx"))
    opts = None if is_dump else key_opts
    return get_subject(arg, backend, allow_partial, key_opts=opts, records=False)


__all__ = ["CliError", "diff_cmd", "dump_cmd", "explain_cmd", "hash_cmd", "render_diff"]
