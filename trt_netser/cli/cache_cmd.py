"""``cache``: list, inspect, verify, evict and locate entries of an engine cache."""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys
from typing import Any

import click
from rich.text import Text

from trt_netser.cli.errors import CliError
from trt_netser.cli.options import key_options
from trt_netser.cli.render import console, echo_json, progress

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_AGES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    """``50G`` -> bytes (K/M/G/T are powers of 1024; KB/KiB/GB/GiB are accepted too)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:I?B)?\s*", text.upper())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a size (examples: 500M, 50G, 1T, 1048576)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit])


def parse_age(text: str) -> float:
    """``7d`` -> seconds (s, m, h, d, w)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text.lower())
    if match is None:
        raise click.BadParameter(f"{text!r} is not an age (examples: 90m, 12h, 7d, 4w)")
    number, unit = match.groups()
    return float(number) * _AGES[unit or "s"]


def human_size(n: int | float) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _iso(ts: float | None) -> str | None:
    if not ts:
        return None
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).isoformat()


def open_cache(url: str | None) -> Any:
    """An EngineCache for ``url`` (or the default), with a clear error for bad URLs."""
    from trt_netser.cache import EngineCache, default_root

    root = url or default_root()
    try:
        cache = EngineCache(root, strict=True)
    except ImportError as exc:
        raise CliError(
            f"cannot open cache {root!r}: a storage library is missing ({exc}); for s3:// "
            "install trt-netser[s3]"
        ) from None
    except ValueError as exc:
        text = str(exc)
        if "protocol" in text.lower() or "known" in text.lower():
            scheme = root.split("://", 1)[0]
            raise CliError(
                f"cannot open cache {root!r}: unknown URL scheme {scheme!r} "
                "(use a directory, file://, s3://, memory:// or another fsspec protocol)"
            ) from None
        raise CliError(f"cannot open cache {root!r}: {text}") from None
    except OSError as exc:
        raise CliError(f"cannot open cache {root!r}: {exc}") from None
    return cache


def _component_values(entry: Any) -> dict[str, Any]:
    """name -> value of the key components an entry was stored with."""
    from trt_netser.cli.entry import entry_components

    return {c.name: c.value for c in entry_components(entry)}


def entry_summary(entry: Any) -> str:
    """What the entry is, from its key: TensorRT, device and extras (one line)."""
    values = _component_values(entry)
    if not values:
        return "(stored with a plain key: no components)"
    parts = []
    trt = values.get("tensorrt")
    if isinstance(trt, dict):
        cuda = trt.get("cuda_major")
        parts.append(f"TensorRT {trt.get('version')}" + (f" CUDA {cuda}" if cuda else ""))
    device = values.get("device")
    if isinstance(device, dict):
        cc, gpu = device.get("compute_capability"), device.get("gpu_name")
        parts.append(
            f"{gpu or 'no GPU'} ({'sm' + str(cc).replace('.', '') if cc else 'sm-unknown'})"
        )
    network = values.get("network")
    if isinstance(network, dict):
        parts.append(f"weights {network.get('weights')}")
    if "extras" in values:
        from trt_netser.cli.render import component_value_text

        parts.append(f"extras {component_value_text(values['extras'], 80)}")
    return ", ".join(parts)


def _entry_json(entry: Any) -> dict[str, Any]:
    values = _component_values(entry)
    return {
        "key": entry.key,
        "size": entry.size,
        "plan_size": entry.plan_size,
        "digest": entry.digest,
        "created": _iso(entry.created),
        "last_used": _iso(entry.last_used),
        "build_seconds": entry.build_seconds,
        "components": entry.components,
        # the key's extras component (what the entry was keyed with), not the manifest's
        # free-form metadata, which is "metadata"
        "extras": values.get("extras"),
        "metadata": entry.extras,
        "parts": [{"key": p, "part": p.rsplit("/", 1)[-1]} for p in entry.parts],
        "parts_size": entry.parts_size,
        "part_of": entry.part_of,
        "orphan": entry.orphan,
    }


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _part_of_text(entry: Any) -> str:
    """What a part belongs to, saying so when that entry is gone."""
    if entry.orphan:
        return f"{entry.part_of} (gone: an orphan, removed by the next cache gc)"
    return str(entry.part_of)


class _CacheGroup(click.Group):
    """Maps storage failures of any subcommand to one clear sentence."""

    def invoke(self, ctx: click.Context) -> Any:
        from trt_netser.cache import CacheError, UnsafePathError

        try:
            return super().invoke(ctx)
        except (CacheError, UnsafePathError) as exc:
            raise CliError(f"cache {ctx.obj.get('root', '')}: {exc}") from exc
        except (FileNotFoundError, PermissionError) as exc:
            raise CliError(f"cache {ctx.obj.get('root', '')}: {exc}") from exc


@click.group("cache", cls=_CacheGroup, context_settings=CONTEXT)
@click.option(
    "--cache",
    "url",
    metavar="URL_OR_PATH",
    help="Cache root: a directory, file://, s3://bucket/prefix, memory://... "
    "Default: $TRT_NETSER_CACHE, else the user cache directory.",
)
@click.pass_context
def cache_group(ctx: click.Context, url: str | None) -> None:
    """Manage an engine cache, local or remote.

    \b
    Examples:
      trt-netser cache ls
      trt-netser cache --cache s3://builds/trt-cache stats
      trt-netser cache gc --max-size 50G
      trt-netser cache verify
    """
    from trt_netser.cache import default_root

    ctx.ensure_object(dict)
    ctx.obj["url"] = url
    ctx.obj["root"] = url or default_root()


def _cache(ctx: click.Context, *, must_exist: bool = True) -> Any:
    """The cache of ``--cache``; a local root that does not exist is an error unless the
    command only names paths (``path``), so a mistyped root never reads as "no entries"."""
    cache = open_cache(ctx.obj.get("url"))
    if must_exist and not cache.is_remote and not os.path.isdir(cache.root):
        raise CliError(
            f"cannot open cache {str(cache.root)!r}: no such directory (nothing was cached there)"
        )
    return cache


@cache_group.command("ls", context_settings=CONTEXT)
@click.option(
    "--sort",
    type=click.Choice(["used", "size", "created", "key"]),
    default="used",
    show_default=True,
    help="Order (most recent / largest first).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def ls_cmd(ctx: click.Context, sort: str, as_json: bool) -> None:
    """List cache entries: key, size, last use, creation, build time.

    \b
    Examples:
      trt-netser cache ls
      trt-netser cache ls --sort size --json
    """
    from trt_netser.cache._family import variant_parent

    cache = _cache(ctx)
    with progress("listing cache", None):
        listed = list(cache.entries())
    order = {
        "used": lambda e: -e.last_used,
        "size": lambda e: -e.total_size,
        "created": lambda e: -e.created,
        "key": lambda e: e.key,
    }[sort]
    # an entry's parts (dump, refit record) are shown with it; orphans (their entry is
    # gone) are listed apart, for gc to remove
    entries = sorted((e for e in listed if e.part_of is None), key=order)
    orphans = sorted((e for e in listed if e.orphan), key=order)
    if as_json:
        echo_json(
            {
                "format": "trt-netser.cache-ls",
                "version": 1,
                "root": str(cache.root),
                "entries": [_entry_json(e) for e in entries],
                "orphans": [_entry_json(e) for e in orphans],
            }
        )
        return
    out = console()
    if not entries and not orphans:
        out.print(f"no entries in {cache.root}")
        return
    # Keys are long and must stay copy-pasteable: they go last and are never wrapped.
    out.print(
        Text(f"{'size':>10}  {'last used':19}  {'created':19}  {'build':>7}  key", style="bold")
    )
    for e in entries + orphans:
        build = f"{e.build_seconds:.1f}s" if e.build_seconds is not None else "-"
        out.print(
            f"{human_size(e.total_size):>10}  {_when(e.last_used):19}  {_when(e.created):19}  "
            f"{build:>7}  {e.key}"
        )
        if e.orphan:
            summary = f"orphan: its entry {e.part_of} is gone (cache gc removes it)"
        else:
            summary = entry_summary(e)
            parent = variant_parent(e.key)
            if parent is not None and not e.components:
                summary = f"pinned variant of {parent} (an entry of its own)"
            if e.parts:
                names = ", ".join(p.rsplit("/", 1)[-1] for p in e.parts)
                summary += f"; with its {names} ({human_size(e.parts_size)})"
        out.print(Text(f"{'':10}  {summary}", style="dim"))
    total = sum(e.total_size for e in entries + orphans)
    parts = sum(len(e.parts) for e in entries)
    counted = f"{len(entries)} entries" + (f" (and {_many(parts, 'part')})" if parts else "")
    if orphans:
        counted += f", {_many(len(orphans), 'orphan')}"
    out.print(Text(f"{counted}, {human_size(total)} in {cache.root}", style="dim"))


def _find(cache: Any, key: str) -> Any:
    from trt_netser.cache import validate_key

    try:
        validate_key(key)
    except (TypeError, ValueError) as exc:
        raise CliError(str(exc)) from None
    info = cache.info(key)
    if info is None:
        raise CliError(f"no entry for key {key!r} in {cache.root}", exit_code=1)
    return info


@cache_group.command("show", context_settings=CONTEXT)
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def show_cmd(ctx: click.Context, key: str, as_json: bool) -> None:
    """Show one entry: its manifest and the key components it was stored with.

    \b
    Example:
      trt-netser cache show v1/trt-10.16.1.11/sm90/0123.../4567...
    """
    cache = _cache(ctx)
    info = _find(cache, key)
    if as_json:
        echo_json(
            {
                "format": "trt-netser.cache-entry",
                "version": 1,
                "root": str(cache.root),
                "path": str(cache.path_for(key)),
                **_entry_json(info),
                "manifest": info.manifest,
            }
        )
        return
    out = console()
    rows = [
        ("key", info.key),
        ("path", str(cache.path_for(key))),
        ("plan", f"{human_size(info.plan_size)}, blake3 {info.digest}"),
        (
            "on disk",
            human_size(info.size)
            + (f" ({human_size(info.total_size)} with its parts)" if info.parts else ""),
        ),
        ("created", _when(info.created)),
        ("last used", _when(info.last_used)),
        ("build time", f"{info.build_seconds:.1f}s" if info.build_seconds is not None else "-"),
    ]
    if info.parts:
        rows.append(("parts", ", ".join(p.rsplit("/", 1)[-1] for p in info.parts)))
    if info.part_of is not None:
        rows.append(("part of", _part_of_text(info)))
    for name, value in rows:
        out.print(Text.assemble((name.ljust(11), "bold"), value))
    components = (info.components or {}).get("components") or []
    if components:
        out.print(Text("key components:", style="bold"))
        for c in components:
            value = c.get("value")
            from trt_netser.cli.render import component_value_text

            out.print(
                Text.assemble(
                    (f"  [{str(c.get('digest', ''))[:12]}] ", "dim"),
                    (str(c.get("name")), "bold magenta"),
                    ": " + component_value_text(value, 120),
                )
            )
    _print_metadata(out, info.extras, cache)


def _print_metadata(out: Any, extras: Any, cache: Any) -> None:
    """The entry's free-form metadata; the pipeline's part as its refit inventory and
    pinned weights (``describe_entry``), so a user sees what a hit will refit."""
    if not extras:
        return
    from trt_netser.pipeline import EXTRAS_KEY, describe_entry

    rest = dict(extras) if isinstance(extras, dict) else {"": extras}
    if EXTRAS_KEY in rest:
        lines = describe_entry(extras, cache.get)  # a record stored apart is read too
        if lines:
            del rest[EXTRAS_KEY]
            out.print(Text("pipeline:", style="bold"))
            for line in lines:
                out.print(Text("  " + line))
        else:
            out.print(
                Text.assemble(
                    ("pipeline:  ", "bold"),
                    "metadata is malformed or of a newer format (shown raw below)",
                )
            )
    if rest:
        out.print(Text.assemble(("metadata   ", "bold"), str(rest)))


def _plan_problem(cache: Any, info: Any) -> str | None:
    """Why an entry's plan does not match its manifest, or None (reads, never changes)."""
    import blake3
    import fsspec

    name = (info.manifest.get("plan") or {}).get("file")
    if not isinstance(name, str):
        return "the manifest names no plan file"
    where = cache.path_for(info.key)
    target = f"{where}/{name}" if isinstance(where, str) else str(where / name)
    hasher, size = blake3.blake3(), 0
    try:
        with fsspec.open(target, "rb") as stream:
            while chunk := stream.read(1 << 20):
                hasher.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        return "plan file is missing"
    except OSError as exc:
        return f"unreadable: {exc}"
    if size != info.plan_size:
        return f"plan is {size} bytes, the manifest says {info.plan_size}"
    if hasher.hexdigest() != info.digest:
        return "plan does not match its blake3 digest"
    return None


def _dry_verify(cache: Any, advance: Any) -> Any:
    """What ``verify`` would find, changing nothing: no quarantine, no stray removal."""
    from trt_netser.cache import VerifyReport

    report = VerifyReport()
    entries = list(cache.entries())
    for done, info in enumerate(entries, 1):
        report.checked += 1
        problem = _plan_problem(cache, info)
        if problem is None:
            report.ok.append(info.key)
        else:
            report.quarantined.append((info.key, problem))
        advance(done=done, total=len(entries))
    from trt_netser.cache._family import needed_parts

    good = set(report.ok)
    for info in entries:  # as verify: an entry whose refit record is gone never hits
        missing = [
            f"its {part.name} {child!r} is missing"
            for part, child in needed_parts(info.key, info.manifest)
            if child not in good
        ]
        if info.key in good and missing:
            report.ok.remove(info.key)
            report.quarantined.append((info.key, missing[0]))
    return report


@cache_group.command("verify", context_settings=CONTEXT)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only report: hash every plan but quarantine and remove nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def verify_cmd(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Hash every plan against its manifest; quarantine corrupt entries.

    Exit status 1 if any entry had to be quarantined (with --dry-run: would have to be;
    a dry run does not look for leftovers of dead writers).

    \b
    Examples:
      trt-netser cache verify --dry-run
      trt-netser cache verify
    """
    cache = _cache(ctx)
    with progress("verifying cache", None) as advance:
        if dry_run:
            report = _dry_verify(cache, advance)
        else:
            report = cache.verify(progress=lambda done, total: advance(done=done, total=total))
    if as_json:
        echo_json(
            {
                "format": "trt-netser.cache-verify",
                "version": 1,
                "root": str(cache.root),
                "checked": report.checked,
                "ok": len(report.ok),
                "quarantined": [{"key": k, "reason": r} for k, r in report.quarantined],
                "skipped": [{"key": k, "reason": r} for k, r in report.skipped],
                "strays_removed": report.strays_removed,
                "stray_bytes": report.stray_bytes,
                "clean": report.clean,
                "dry_run": dry_run,
            }
        )
    else:
        out = console()
        would = "would be quarantined" if dry_run else "quarantined"
        strays = (
            "(dry run: nothing changed)"
            if dry_run
            else f"{report.strays_removed} stray file(s) removed ({human_size(report.stray_bytes)})"
        )
        out.print(
            f"checked {report.checked} entries in {cache.root}: {len(report.ok)} ok, "
            f"{len(report.quarantined)} {would}, {len(report.skipped)} skipped"
            + (f" {strays}" if dry_run else f", {strays}")
        )
        for k, reason in report.quarantined:
            out.print(
                Text(
                    f"  {'would quarantine' if dry_run else 'quarantined'} {k}: {reason}",
                    style="red",
                )
            )
        for k, reason in report.skipped:
            out.print(Text(f"  skipped {k}: {reason}", style="yellow"))
    if not report.clean:
        sys.exit(1)


@cache_group.command("gc", context_settings=CONTEXT)
@click.option(
    "--max-size", metavar="SIZE", help="Evict least recently used entries above this (50G)."
)
@click.option("--max-age", metavar="AGE", help="Evict entries unused for this long (30d).")
@click.option("--clear-quarantine", is_flag=True, help="Also empty the quarantine.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only list what would be evicted (entries only: leftovers and the quarantine "
    "are neither counted nor removed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def gc_cmd(
    ctx: click.Context,
    max_size: str | None,
    max_age: str | None,
    clear_quarantine: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Evict least-recently-used entries until the cache fits in --max-size, and entries
    unused for --max-age; remove leftovers of killed writers.

    SIZE takes K, M, G, T suffixes (powers of 1024); AGE takes s, m, h, d, w.

    \b
    Examples:
      trt-netser cache gc --max-size 50G
      trt-netser cache gc --max-age 30d --clear-quarantine
    """
    size = parse_size(max_size) if max_size is not None else None
    age = parse_age(max_age) if max_age is not None else None
    if size is None and age is None and not clear_quarantine:
        console(stderr=True).print(
            "trt-netser: note: no --max-size or --max-age: only leftovers are removed",
            style="dim",
        )
    cache = _cache(ctx)
    with progress("collecting garbage", None) as advance:
        if dry_run:
            report = _dry_gc(cache, size, age)
        else:
            report = cache.gc(
                size,
                max_age=age,
                clear_quarantine=clear_quarantine,
                progress=lambda done, total: advance(done=done, total=total),
            )
    if as_json:
        echo_json(
            {
                "format": "trt-netser.cache-gc",
                "version": 1,
                "root": str(cache.root),
                "bytes_before": report.bytes_before,
                "bytes_after": report.bytes_after,
                "bytes_freed": report.bytes_freed,
                "evicted": list(report.evicted),
                "skipped_locked": list(report.skipped_locked),
                "strays_removed": report.strays_removed,
                "parts_removed": report.parts_removed,
                "orphans_removed": list(report.orphans_removed),
                "dry_run": dry_run,
            }
        )
        return
    out = console()
    verb = "would evict" if dry_run else "evicted"
    parts = f" (and {_many(report.parts_removed, 'part')})" if report.parts_removed else ""
    out.print(
        f"{verb} {len(report.evicted)} entries{parts}, {'would free' if dry_run else 'freed'} "
        f"{human_size(report.bytes_freed)}: "
        f"{human_size(report.bytes_before)} -> {human_size(report.bytes_after)} in {cache.root}"
        + (" (dry run: nothing changed)" if dry_run else "")
    )
    for key in report.evicted:
        out.print(Text(f"  {verb} {key}", style="dim"))
    for key in report.orphans_removed:
        gone = "would remove" if dry_run else "removed"
        out.print(Text(f"  {gone} orphan {key} (its entry is gone)", style="dim"))
    for key in report.skipped_locked:
        out.print(Text(f"  in use, kept {key}", style="yellow"))


def _dry_gc(cache: Any, max_bytes: int | None, max_age: float | None) -> Any:
    """What ``gc`` would evict (entries with their parts) and which orphans it would
    remove; nothing is changed."""
    return cache.gc(max_bytes, max_age=max_age, dry_run=True)


@cache_group.command("rm", context_settings=CONTEXT)
@click.argument("keys", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def rm_cmd(ctx: click.Context, keys: tuple[str, ...], as_json: bool) -> None:
    """Remove entries by key, each with its parts (dump, refit record). Removing a part
    or a pinned variant leaves the entry it belongs to. Exit status 1 if any key had no
    entry.

    \b
    Example:
      trt-netser cache rm v1/trt-10.16.1.11/sm90/0123.../4567...
    """
    from trt_netser.cache import validate_key

    cache = _cache(ctx)
    removed: list[str] = []
    missing: list[str] = []
    with_parts: dict[str, list[str]] = {}
    for key in keys:
        try:
            validate_key(key)
        except (TypeError, ValueError) as exc:
            raise CliError(str(exc)) from None
        info = cache.info(key)
        if cache.remove(key):
            removed.append(key)
            if info is not None and info.parts:  # the entry's parts go with it
                with_parts[key] = [p for p in info.parts if not cache.contains(p)]
        else:
            missing.append(key)
    if as_json:
        echo_json(
            {
                "format": "trt-netser.cache-rm",
                "version": 1,
                "root": str(cache.root),
                "removed": removed,
                "parts_removed": [p for k in removed for p in with_parts.get(k, [])],
                "missing": missing,
            }
        )
    else:
        out = console()
        for key in removed:
            names = ", ".join(p.rsplit("/", 1)[-1] for p in with_parts.get(key, []))
            out.print(f"removed {key}" + (f" (with its {names})" if names else ""))
        for key in missing:
            console(stderr=True).print(f"trt-netser: no entry for key {key!r}", style="yellow")
    if missing:
        sys.exit(1)


@cache_group.command("stats", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def stats_cmd(ctx: click.Context, as_json: bool) -> None:
    """Entry count and disk usage (entries, plans, quarantine, staging).

    \b
    Example:
      trt-netser cache stats --json
    """
    cache = _cache(ctx)
    with progress("measuring cache", None):
        stats = cache.stats()
    fields = {
        "root": stats.root,
        "entries": stats.entries,
        "bytes": stats.bytes,
        "plan_bytes": stats.plan_bytes,
        "quarantined": stats.quarantined,
        "quarantine_bytes": stats.quarantine_bytes,
        "staging_bytes": stats.staging_bytes,
        "parts": stats.parts,
        "orphans": stats.orphans,
    }
    if as_json:
        echo_json({"format": "trt-netser.cache-stats", "version": 1, **fields})
        return
    out = console()
    out.print(Text.assemble(("root         ", "bold"), stats.root))
    counted = str(stats.entries) + (f" (and {_many(stats.parts, 'part')})" if stats.parts else "")
    if stats.orphans:
        counted += (
            f", {_many(stats.orphans, 'orphan')} (parts whose entry is gone: gc removes them)"
        )
    out.print(Text.assemble(("entries      ", "bold"), counted))
    out.print(
        Text.assemble(
            ("size         ", "bold"),
            f"{human_size(stats.bytes)} ({human_size(stats.plan_bytes)} of plans)",
        )
    )
    out.print(
        Text.assemble(
            ("quarantine   ", "bold"),
            f"{stats.quarantined} entries, {human_size(stats.quarantine_bytes)}",
        )
    )
    out.print(Text.assemble(("staging      ", "bold"), human_size(stats.staging_bytes)))


@cache_group.command("path", context_settings=CONTEXT)
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def path_cmd(ctx: click.Context, key: str | None, as_json: bool) -> None:
    """Print the cache root, or where the entry for KEY lives (whether or not it exists).

    \b
    Examples:
      trt-netser cache path
      cd "$(trt-netser cache path)"
    """
    cache = _cache(ctx, must_exist=False)
    if key is None:
        where = str(cache.root)
    else:
        from trt_netser.cache import validate_key

        try:
            validate_key(key)
        except (TypeError, ValueError) as exc:
            raise CliError(str(exc)) from None
        where = str(cache.path_for(key))
    if as_json:
        echo_json(
            {
                "format": "trt-netser.cache-path",
                "version": 1,
                "root": str(cache.root),
                "key": key,
                "path": where,
                "exists": cache.contains(key) if key else None,
            }
        )
        return
    click.echo(where)


# --------------------------------------------------------------------------- lookup


def _nearest(subject: Any, entries: list[Any], root: str, count: int) -> list[tuple[Any, Any]]:
    """The entries whose keys share the most component digests with ``subject``'s."""
    from trt_netser.cli.diff import diff_subjects
    from trt_netser.cli.entry import entry_subject

    mine = {c.name: c.digest for c in subject.components}
    scored = []
    for info in entries:
        other = entry_subject(info, root)
        same = sum(1 for c in other.components if mine.get(c.name) == c.digest)
        scored.append((-same, -info.last_used, info.key, other))
    scored.sort(key=lambda row: row[:3])
    return [(other, diff_subjects(subject, other)) for *_, other in scored[:count]]


def _lookup_json(subject: Any, hit: Any, near: list[tuple[Any, Any]], root: str) -> dict[str, Any]:
    return {
        "format": "trt-netser.cache-lookup",
        "version": 1,
        "root": root,
        "source": subject.label,
        "key": subject.key_path,
        "hit": hit is not None,
        "entry": _entry_json(hit) if hit is not None else None,
        "nearest": [
            {
                "key": other.key_path,
                "differing": [c.name for c in result.components],
                "first_divergence": result.first,
                "components": [c.to_dict() for c in result.components],
            }
            for other, result in near
        ],
    }


@cache_group.command("lookup", context_settings=CONTEXT)
@click.argument("spec")
@click.option("--nearest", default=3, show_default=True, help="Entries to show on a miss.")
@click.option(
    "--backend",
    type=click.Choice(("auto", "tensorrt", "offline")),
    default="auto",
    show_default=True,
    help="TensorRT to build SPECs with (as for hash).",
)
@key_options
@click.option("--allow-partial", is_flag=True, help="Hash even if some state is unreadable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
@click.pass_context
def lookup_cmd(
    ctx: click.Context,
    spec: str,
    nearest: int,
    backend: str,
    key_opts: Any,
    allow_partial: bool,
    as_json: bool,
) -> None:
    """Would SPEC hit the cache? Compute its key and look it up.

    A hit prints the entry (exit 0). A miss (exit 1) prints the entries whose keys are
    nearest (most equal components) and, for each, which key components differ and how:
    the answer to "why did my build miss the cache?". The environment options and
    --extras compute the key a GPU host would (see hash). SPEC may be a dump.

    \b
    Examples:
      trt-netser cache lookup model.py:build
      trt-netser cache --cache s3://builds/trt-cache lookup model.py:build \\
          --compute-capability 9.0 --gpu-name "NVIDIA H100 80GB HBM3" --cuda-version 12.8
    """
    from trt_netser.cli.options import get_subject

    subject = get_subject(spec, backend, allow_partial, key_opts=key_opts, records=False)
    if subject.key_path is None:
        raise CliError(
            f"{spec} gives no full cache key (no builder config was returned), so it "
            "cannot be looked up: return (network, config)"
        )
    cache = _cache(ctx)
    root = str(cache.root)
    hit = cache.info(subject.key_path)
    near: list[tuple[Any, Any]] = []
    if hit is None:
        with progress("reading cache entries", None, counts=False):
            entries = [e for e in cache.entries() if e.part_of is None]  # no dumps, records
            near = _nearest(subject, entries, root, max(nearest, 0))
    if as_json:
        echo_json(_lookup_json(subject, hit, near, root))
        sys.exit(0 if hit is not None else 1)
    out = console()
    if hit is not None:
        out.print(Text.assemble(("hit   ", "bold green"), subject.key_path))
        build = f", built in {hit.build_seconds:.1f}s" if hit.build_seconds is not None else ""
        out.print(
            Text(
                f"      plan {human_size(hit.plan_size)}{build}, last used "
                f"{_when(hit.last_used)}, in {root}",
                style="dim",
            )
        )
        sys.exit(0)
    out.print(Text.assemble(("miss  ", "bold red"), subject.key_path))
    from trt_netser.cli.options import offline_note

    note = offline_note(subject)
    if note:
        console(stderr=True).print(f"trt-netser: note: {note}", style="dim")
    if not near:
        out.print(Text(f"      the cache {root} has no entries", style="dim"))
        sys.exit(1)
    out.print(Text(f"nearest entries in {root}:", style="bold"))
    for other, result in near:
        names = ", ".join(c.name for c in result.components) or "nothing (same key)"
        out.print(Text.assemble("  ", (str(other.key_path), ""), ("  differs in: ", "dim"), names))
        for change in result.components:
            old = change.old.digest[:12] if change.old else "(absent)"
            new = change.new.digest[:12] if change.new else "(absent)"
            out.print(Text(f"      ≠ {change.name}  {old} (SPEC) vs {new} (entry)", style="yellow"))
            for path, a, b in change.details[:8]:
                out.print(f"          {path}: {a} (SPEC) vs {b} (entry)")
            if len(change.details) > 8:
                out.print(f"          ... {len(change.details) - 8} more (use --json)")
    sys.exit(1)
