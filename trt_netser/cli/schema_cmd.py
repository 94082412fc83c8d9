"""``schema``: per layer type, which attributes are hashed, excluded (and why) or captured."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.text import Text

from trt_netser.cli.errors import CliError
from trt_netser.cli.render import console, echo_json

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: coverage status -> what the schema command calls it
_SHOWN = {
    "encoded": "hashed",
    "conditional": "hashed",
    "structural": "hashed",
    "excluded": "excluded",
    "captured": "captured",
    "unclassified": "UNCLASSIFIED",
}
_STYLE = {"hashed": "green", "excluded": "yellow", "captured": "cyan", "UNCLASSIFIED": "bold red"}


def _report(trt_api: str | None) -> Any:
    from trt_netser.apicoverage import available_dumps, coverage

    if trt_api in (None, "installed"):
        module = sys.modules.get("tensorrt")
        if module is None:
            try:
                import tensorrt as module  # type: ignore[no-redef,import-not-found,unused-ignore]
            except Exception:
                module = None
        if module is not None and hasattr(module, "LayerType"):
            return coverage(module)
        if trt_api == "installed":
            raise CliError("TensorRT is not importable here; pass --trt-api VERSION")
        versions = [v for v in available_dumps() if v.startswith("10.")] or available_dumps()
        trt_api = versions[-1]
    try:
        return coverage(trt_api)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _note(entry: Any) -> str:
    if entry.status in ("encoded",) and entry.reason == "discovered generically":
        return ""
    if entry.status == "conditional":
        return f"only when relevant: {entry.reason}"
    return str(entry.reason)


def _entry_json(entry: Any) -> dict[str, Any]:
    return {
        "member": entry.member,
        "kind": entry.kind,
        "status": entry.status,
        "treatment": _SHOWN[entry.status],
        "reason": entry.reason,
    }


def _layer_sections(report: Any) -> list[tuple[str, str | None, list[Any]]]:
    """(title, class, entries) for every layer, ILayer's common entries listed once."""
    # An entry is "common" only if ILayer treats the member the same way: a class that
    # redefines a property (IActivationLayer.type) is listed under its own layer type.
    common = {(e.member, e.kind, e.status, e.reason) for e in report.for_class("ILayer")}
    sections: list[tuple[str, str | None, list[Any]]] = [
        ("every layer", "ILayer", list(report.for_class("ILayer")))
    ]
    for type_name, cls in report.layer_classes.items():
        if cls is None:
            extra = [e for e in report.entries if e.owner == "LayerType" and e.member == type_name]
            sections.append((type_name, None, extra))
            continue
        own = [
            e for e in report.for_class(cls) if (e.member, e.kind, e.status, e.reason) not in common
        ]
        sections.append((type_name, cls, own))
    for owner in sorted({e.owner for e in report.entries}):
        if owner in {c for c in report.layer_classes.values() if c} | {"ILayer", "LayerType"}:
            continue
        if owner.endswith("Layer"):  # boundary base classes and the like
            own = [
                e
                for e in report.for_class(owner)
                if (e.member, e.kind, e.status, e.reason) not in common
            ]
            if own:
                sections.append((owner, owner, own))
            continue
        sections.append((owner, owner, list(report.for_class(owner))))
    return sections


@click.command("schema", context_settings=CONTEXT)
@click.option(
    "--trt-api",
    metavar="VERSION",
    help="TensorRT API to describe: a shipped dump version (e.g. 10.16.1.11, 11.0.0.114) or "
    "'installed'. Default: the importable TensorRT, else the newest 10.x dump.",
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    metavar="TYPE",
    help="Only this LayerType (e.g. SOFTMAX) or class (ISoftMaxLayer); repeatable.",
)
@click.option("--list-versions", is_flag=True, help="List the shipped API dumps and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/cli.md).")
def schema_cmd(
    trt_api: str | None, layers: tuple[str, ...], list_versions: bool, as_json: bool
) -> None:
    """Show, per layer type, which attributes are hashed, excluded (with the reason) or
    captured (write-only state recorded by trt_netser.capture).

    Attributes a layer shares with every layer (ILayer) are listed once, under "every
    layer". The network, tensor and construct classes follow the layers.

    \b
    Examples:
      trt-netser schema
      trt-netser schema --layer SOFTMAX --layer MOE
      trt-netser schema --trt-api 11.0.0.114 --json
    """
    from trt_netser.apicoverage import available_dumps

    if list_versions:
        versions = available_dumps()
        if as_json:
            echo_json({"format": "trt-netser.schema-versions", "version": 1, "versions": versions})
        else:
            console().print("\n".join(versions))
        return
    report = _report(trt_api)
    sections = _layer_sections(report)
    if layers:
        wanted = {w.upper() for w in layers}
        sections = [
            s
            for s in sections
            if s[0].upper() in wanted or (s[1] is not None and s[1].upper() in wanted)
        ]
        if not sections:
            raise CliError(
                f"no layer type or class named {', '.join(layers)} in TensorRT {report.version}"
            )
    if as_json:
        echo_json(
            {
                "format": "trt-netser.schema",
                "version": 1,
                "trt_version": report.version,
                "counts": report.counts(),
                "sections": [
                    {"title": t, "class": c, "entries": [_entry_json(e) for e in entries]}
                    for t, c, entries in sections
                ],
            }
        )
        return
    out = console()
    out.print(Text(f"TensorRT API {report.version}", style="bold"))
    for title, cls, entries in sections:
        head = Text(title, style="bold cyan")
        if cls and cls != title:
            head.append(f" ({cls})", style="dim")
        out.print(head)
        if not entries:
            out.print(Text("  (nothing beyond every layer's attributes)", style="dim"))
        for entry in entries:
            shown = _SHOWN[entry.status]
            member = entry.member + ("()" if entry.kind == "method" else "")
            line = Text("  ")
            line.append(shown.ljust(9), style=_STYLE[shown])
            line.append(" " + member)
            note = _note(entry)
            if note:
                line.append(f"  ({note})", style="dim")
            out.print(line)
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items())
    out.print(Text(f"totals over all classes: {counts}", style="dim"))
