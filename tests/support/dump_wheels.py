"""Regenerate ``trt_netser/data/trt_api/<version>.json`` from the official bindings wheels.

Why: the coverage and fidelity tests compare trt-netser (and ``trt_netser.offline``)
against TensorRT's real Python API across versions. The dumps are made by our own tool,
:mod:`trt_netser.apidump`, from the real compiled modules: each wheel is downloaded with
``pip download --no-deps``, unpacked, and imported in its own subprocess (only one
bindings version can be imported per process) with the link-time stub libraries of
:mod:`tests.support.real_trt`.

Run from the repository root (needs gcc and access to the package registry)::

    python -m tests.support.dump_wheels [--only 10.16.1.11] [--wheel-dir DIR]

The last version of each major is dumped with docstrings (they state many defaults),
the others with names only, like the reference dumps in ``../shared/trt-api``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.real_trt import extract_wheel, run_real

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "trt_netser" / "data" / "trt_api"


@dataclass(frozen=True)
class Wheel:
    """One official bindings wheel to dump."""

    package: str
    version: str
    docstrings: bool


WHEELS: tuple[Wheel, ...] = (
    Wheel("tensorrt-cu12-bindings", "10.0.1", False),
    Wheel("tensorrt-cu12-bindings", "10.3.0", False),
    Wheel("tensorrt-cu12-bindings", "10.8.0.43", False),
    Wheel("tensorrt-cu12-bindings", "10.13.3.9", False),
    Wheel("tensorrt-cu12-bindings", "10.16.1.11", True),
    Wheel("tensorrt-cu13-bindings", "11.0.0.114", False),
    Wheel("tensorrt-cu13-bindings", "11.4.0.106", True),
)

_DUMP_CODE = """
import sys
sys.path.insert(0, {root!r})
from trt_netser.apidump import main
sys.exit(main(["--module", "tensorrt_bindings", "-o", {out!r}] + {extra!r}))
"""


def download(wheel: Wheel, wheel_dir: Path) -> Path:
    """Download ``wheel`` for this interpreter into ``wheel_dir`` and return its path.

    Raises ``RuntimeError`` naming the version when the registry does not have it.
    """
    dest = wheel_dir / f"{wheel.package}-{wheel.version}"
    dest.mkdir(parents=True, exist_ok=True)
    found = sorted(dest.glob("*.whl"))
    if not found:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-q",
                "-d",
                str(dest),
                f"{wheel.package}=={wheel.version}",
            ],
            capture_output=True,
            text=True,
        )
        found = sorted(dest.glob("*.whl"))
        if proc.returncode != 0 or not found:
            raise RuntimeError(
                f"{wheel.package}=={wheel.version} could not be downloaded: "
                f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}"
            )
    return found[0]


def dump_wheel(wheel: Wheel, wheel_dir: Path, out_dir: Path = OUT_DIR) -> Path:
    """Download, unpack and dump one wheel; return the JSON file written."""
    whl = download(wheel, wheel_dir)
    site_dir = extract_wheel(whl, wheel_dir / f"site-{wheel.version}")
    out = out_dir / f"{wheel.version}.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    code = _DUMP_CODE.format(
        root=str(REPO_ROOT),
        out=str(out),
        extra=["--docstrings"] if wheel.docstrings else [],
    )
    proc = run_real(code, site_dir)
    if proc.returncode != 0:
        raise RuntimeError(f"dumping {wheel.version} failed:\n{proc.stderr}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Dump every wheel in :data:`WHEELS` (or ``--only`` some); report failures by version."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="dump only this version (repeatable)")
    parser.add_argument(
        "--wheel-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "trt-netser-wheels",
        help="where downloaded wheels are kept between runs",
    )
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    failed = 0
    for wheel in WHEELS:
        if args.only and wheel.version not in args.only:
            continue
        try:
            out = dump_wheel(wheel, args.wheel_dir, args.out_dir)
        except RuntimeError as exc:
            failed += 1
            print(f"FAILED {wheel.package}=={wheel.version}: {exc}", file=sys.stderr)
            continue
        print(f"dumped {wheel.package}=={wheel.version} -> {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
