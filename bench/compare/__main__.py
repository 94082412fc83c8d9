"""Compare trt-netser with the ONNX route and other key schemes; print Markdown tables.

    python -m bench.compare --sizes 1000 10000 100000 --budget 300
    python -m bench.compare --sizes 1000 --layer-types CONVOLUTION SHUFFLE  # quick

Everything is measured in this run on the same offline networks (see docs/comparison.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.compare.catalogue import ZOO, catalogue
from bench.compare.measure import (
    STABILITY_RUNS,
    SchemeSoundness,
    coverage,
    soundness,
    speed,
    stability,
)
from bench.compare.schemes import SCHEMES, Scheme

CATEGORY_ORDER = (
    "layer attribute",
    "output tensor attribute",
    "construct attribute",
    "input",
    "network flag",
    "wiring",
    "name",
    "plugin field",
    "write-only state",
    "structural weights",
    "weights only",
    "rebuild, name pinned",
    "rebuild, default name",
)


def _cell(n: int, total: int) -> str:
    return f"{n}/{total}" if total else "-"


def render(
    schemes: Sequence[Scheme],
    skipped: dict[str, str],
    sound: dict[str, SchemeSoundness],
    cover: dict[str, dict[str, str | None]],
    stable: dict[str, dict[str, list[str]]],
    speeds: dict[str, dict[int, dict[str, Any]]],
    n_stability: int,
) -> str:
    """All results as Markdown."""
    out: list[str] = []
    names = [s.name for s in schemes]
    constructible = [t for t, row in cover.items() if "n/a" not in row.values()]

    def counts(name: str, category_prefix: str, key: str) -> tuple[int, int]:
        total = bad = 0
        for cat, c in sound[name].by_category.items():
            if cat.startswith(category_prefix) or (
                category_prefix == "*change"
                and cat not in ("weights only", "rebuild, name pinned", "rebuild, default name")
            ):
                total += c["cases"] - c["error"] - c["irrelevant_kept"] - c["irrelevant_changed"]
                bad += c[key]
        return bad, total

    out.append("### Summary\n")
    sizes = sorted({size for per in speeds.values() for size in per})
    head = [
        "scheme",
        "layer types keyed",
        "false hits",
        "needless misses",
        "unstable in-process (pinned / default name)",
        "unstable across processes",
    ]
    head += [f"layers/s @{s:,}" for s in sizes]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for name in names:
        keyed = sum(1 for t in constructible if cover[t][name] is None)
        fh = counts(name, "*change", "false_hit")
        nm = counts(name, "weights only", "needless_miss")
        pinned = counts(name, "rebuild, name pinned", "unstable")
        default = counts(name, "rebuild, default name", "unstable")
        cross = max((len(v) for v in stable.get(name, {}).values()), default=0)
        row = [
            f"`{name}`",
            f"{keyed}/{len(constructible)}",
            _cell(*fh),
            _cell(*nm),
            f"{_cell(*pinned)} / {_cell(*default)}",
            f"{cross}/{n_stability}" if name in stable else "-",
        ]
        for size in sizes:
            r = speeds.get(name, {}).get(size)
            if r is None:
                row.append("-")
            elif r.get("seconds") is None:
                row.append(r.get("note", "did not finish"))
            else:
                row.append(f"{r['layers'] / r['seconds']:,.0f}")
        out.append("| " + " | ".join(row) + " |")
    for name, why in skipped.items():
        out.append(f"\n`{name}` was not run: {why}")

    out.append("\n### False hits and needless misses by category\n")
    out.append(
        "Each cell: bad/cases (false hits for engine changes, needless misses for "
        "weight-only changes, unstable for rebuilds); `e` = cases the scheme could "
        "not key.\n"
    )
    out.append("| category | " + " | ".join(f"`{n}`" for n in names) + " |")
    out.append("|---|" + "---|" * len(names))
    for cat in CATEGORY_ORDER:
        cells = []
        for name in names:
            c = sound[name].by_category.get(cat)
            if not c:
                cells.append("-")
                continue
            bad = c["false_hit"] + c["needless_miss"] + c["unstable"]
            cell = _cell(
                bad, c["cases"] - c["error"] - c["irrelevant_kept"] - c["irrelevant_changed"]
            )
            cells.append(cell + (f" (e {c['error']})" if c["error"] else ""))
        out.append(f"| {cat} | " + " | ".join(cells) + " |")

    out.append("\n### Speed and peak memory (LLM-shaped networks, `build_llm_like`)\n")
    out.append(
        "| scheme | " + " | ".join(f"{s:,} layers: s, layers/s, peak MiB" for s in sizes) + " |"
    )
    out.append("|---|" + "---|" * len(sizes))
    for name in names:
        cells = []
        for size in sizes:
            r = speeds.get(name, {}).get(size)
            if r is None:
                cells.append("-")
            elif r.get("seconds") is None:
                cells.append(r.get("note", "did not finish"))
            else:
                peak = "n/m" if r["peak_bytes"] is None else f"{r['peak_bytes'] / 2**20:,.1f}"
                note = f" ({r['note']})" if r.get("note") else ""
                cells.append(
                    f"{r['seconds']:.2f} s, {r['layers'] / r['seconds']:,.0f}/s, {peak}{note}"
                )
        out.append(f"| `{name}` | " + " | ".join(cells) + " |")

    out.append("\n### Coverage: layer types a scheme cannot key\n")
    for name in names:
        failed = {t: row[name] for t, row in cover.items() if row[name] not in (None, "n/a")}
        listing = "; ".join(f"{t} ({e})" for t, e in failed.items()) or "none"
        out.append(f"- `{name}`: {listing}")
    na = [t for t, row in cover.items() if "n/a" in row.values()]
    if na:
        out.append(f"- no network can hold: {', '.join(na)} (IPluginV1 was removed in TensorRT 10)")

    out.append("\n### Stability across processes\n")
    out.append(
        f"{n_stability} zoo networks (default names), built in fresh processes; "
        "count of keys that differ from the reference process "
        f"(PYTHONHASHSEED={STABILITY_RUNS[0][1]}):\n"
    )
    labels = [label for label, _, _ in STABILITY_RUNS[1:]]
    out.append("| scheme | " + " | ".join(labels) + " |")
    out.append("|---|" + "---|" * len(labels))
    for name in names:
        if name in stable:
            out.append(
                f"| `{name}` | "
                + " | ".join(f"{len(stable[name][lb])}/{n_stability}" for lb in labels)
                + " |"
            )

    out.append("\n### trt-netser's own false hits, needless misses and errors\n")
    mine = sound.get("trt-netser")
    if mine:
        for kind, items in (
            ("false hit", mine.false_hits),
            ("needless miss", mine.needless_misses),
            ("unstable", mine.unstable),
            ("could not key", mine.errors),
        ):
            for item in items:
                out.append(f"- {kind}: {item}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[1000, 10000, 100000],
        help="LLM-shaped network sizes (layers) for the speed table",
    )
    parser.add_argument(
        "--budget", type=float, default=300.0, help="seconds of keying allowed per scheme and size"
    )
    parser.add_argument("--schemes", nargs="*", default=[s.name for s in SCHEMES])
    parser.add_argument(
        "--layer-types",
        nargs="*",
        default=None,
        help="restrict the catalogue and stability runs (default: all)",
    )
    parser.add_argument("--out", help="also write the Markdown to this file")
    args = parser.parse_args(argv)

    chosen = [s for s in SCHEMES if s.name in args.schemes]
    skipped = {s.name: why for s in chosen if (why := s.unavailable())}
    schemes = [s for s in chosen if s.name not in skipped]
    types = args.layer_types or sorted(ZOO)
    started = time.perf_counter()
    log = sys.stderr

    quiet = io.StringIO()  # the offline logger reports rejected setter values on stderr
    print(f"catalogue over {len(types)} layer types ...", file=log)
    with contextlib.redirect_stderr(quiet):
        cases = catalogue(types)
        sound = soundness(cases, schemes)
        cover = coverage(schemes)
    print(f"{len(cases)} cases; stability ...", file=log)
    stable = stability(types, schemes)
    speeds: dict[str, dict[int, dict[str, Any]]] = {}
    for size in args.sizes:
        for scheme in schemes:
            print(f"speed {scheme.name} @ {size} ...", file=log)
            speeds.setdefault(scheme.name, {})[size] = speed(scheme, size, args.budget)

    text = render(schemes, skipped, sound, cover, stable, speeds, len(types))
    text += (
        f"\n{len(cases)} catalogue cases. Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, {platform.machine()}; total {time.perf_counter() - started:.0f} s.\n"
    )
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
