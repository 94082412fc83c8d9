"""Chaos run of the engine cache: SIGKILLed writers, racing gc/verify loops, hostile files.

Usage: python bench/bench_cache_chaos.py [--seconds 300] [--seed 1] [--writers 4]

Writer processes publish (``put``, ``get_or_build``) and read plans on a few keys that share
parent directories; ``gc`` and ``verify`` loops run against them (gc with a progress
callback, as the CLI does); the driver SIGKILLs writers and loops at random and plants
hostile files (FIFOs, hostile manifests, empty or malformed entries, flipped bits) in a
separate ``hostile/`` part of the key space, and symlinks the internal directories to a
victim directory outside the root before the processes start (and swaps ``.staging`` and
``quarantine`` for such symlinks again while they run). At the end it stops everything,
runs ``verify()`` and ``gc()`` once more and counts:

- ``lost``: keys with a committed write (logged after ``put`` returned ``stored=True``)
  that end without a valid entry, plus good entries quarantined along the way;
- ``wrong``: plans returned (during the run or at the end) that are not the bytes their
  manifest's writer published for that key;
- ``leftovers``: staged files, empty directories, stray files in entries, hostile entries
  still in ``entries/``, non-regular lock files, or changes to the victim directory.

The figures in docs/cache.md come from here; tests/cache/test_chaos.py runs a bounded
version in the test suite. All three must be zero.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])
KEYS = [f"chaos/g{g}/s{s}/k{k}" for g in range(2) for s in range(2) for k in range(2)]
HOSTILE = [f"hostile/h{i}" for i in range(4)]


def plan_for(seed: int, size: int) -> bytes:
    """Deterministic plan bytes for a writer's ``seed`` (so any reader can check them)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 1024  # 32 KiB
    return (block * (size // len(block) + 1))[:size]


def _right(key: str, plan: bytes | None, extras: dict[str, object]) -> bool:
    seed = extras.get("seed")
    return (
        plan is not None
        and isinstance(seed, int)
        and extras.get("key") == key
        and plan == plan_for(seed, len(plan))
    )


# -- worker processes ---------------------------------------------------------------------


def _log(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def writer(root: str, worker: int, log_path: str, seed: int) -> None:
    """Publish and read plans on ``KEYS`` forever (until SIGKILLed), logging each step."""
    from trt_netser.cache import EngineCache

    rng = random.Random(seed)
    cache = EngineCache(root)
    log = _log(log_path)
    n = 0
    while True:
        key = rng.choice(KEYS)
        pseed = worker * 1_000_000 + n
        n += 1
        size = rng.randrange(16 << 10, 384 << 10)
        extras = {"seed": pseed, "key": key}
        roll = rng.random()
        if roll < 0.3:
            got = cache.get(key)
            if got is not None and not _right(key, got.plan, got.extras):
                os.write(log, f"WRONG {key}\n".encode())
            continue
        os.write(log, f"begin {key} {pseed}\n".encode())
        if roll < 0.75:
            entry = cache.put(key, plan_for(pseed, size), extras=extras)
        else:
            entry = cache.get_or_build(key, lambda p=pseed, s=size: plan_for(p, s), extras=extras)
        if not _right(key, entry.plan, entry.extras):
            os.write(log, f"WRONG {key}\n".encode())
        elif entry.stored and entry.extras.get("seed") == pseed:
            os.write(log, f"done {key} {pseed}\n".encode())


def loop(root: str, mode: str, log_path: str) -> None:
    """Run ``gc`` or ``verify`` passes forever, logging each pass and any good entry lost."""
    from trt_netser.cache import EngineCache

    cache = EngineCache(root)
    log = _log(log_path)
    while True:
        if mode == "gc":
            cache.gc(progress=lambda done, total: time.sleep(0.001))
        else:
            for key, reason in cache.verify().quarantined:
                if key.startswith("chaos/"):
                    os.write(log, f"QUARANTINED {key} {reason!r}\n".encode())
        os.write(log, f"pass {mode}\n".encode())


# -- the driver ---------------------------------------------------------------------------


@dataclass
class Figures:
    """What a chaos run reached."""

    seconds: float = 0.0
    trials: int = 0  # writes attempted (put / get_or_build)
    commits: int = 0  # writes that returned stored=True
    reads: int = 0  # entries checked at the end
    kills: int = 0  # SIGKILLs sent while running
    races: int = 0  # gc and verify passes completed while writers ran
    corruptions: int = 0  # hostile files planted
    swaps: int = 0  # internal directories swapped for symlinks while running
    quarantined: int = 0  # hostile entries quarantined (by readers, verify or the end)
    lost: int = 0
    wrong: int = 0
    leftovers: int = 0

    def line(self) -> str:
        return ", ".join(
            f"{k}={v:.1f}" if k == "seconds" else f"{k}={v}" for k, v in asdict(self).items()
        )


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _victim(path: Path, rng: random.Random) -> dict[str, bytes]:
    """A user's directory outside the cache, with old files a careless gc would delete."""
    (path / "sub").mkdir(parents=True)
    files = {"notes.txt": b"keep me", "sub/data.bin": rng.randbytes(4096)}
    for name, data in files.items():
        (path / name).write_bytes(data)
    old = time.time() - 30 * 86400
    for item in path.rglob("*"):
        os.utime(item, (old, old))
    return files


def _swap(root: Path, name: str, victim: Path, moved: Path) -> None:
    """While everything runs, replace an internal directory by a symlink to ``victim``
    (the real one is moved out of the root, with whatever writers had in it)."""
    with contextlib.suppress(OSError):
        os.rename(root / name, moved)
    with contextlib.suppress(OSError):
        (root / name).symlink_to(victim, target_is_directory=True)


def _hostile(root: Path, rng: random.Random, n: int) -> None:
    """Plant one hostile thing in the ``hostile/`` key space."""
    from trt_netser.cache import EngineCache

    cache = EngineCache(root)
    key = rng.choice(HOSTILE)
    cache.put(key, rng.randbytes(rng.randrange(1, 4096)))
    entry = cache.path_for(key)
    assert isinstance(entry, Path)
    try:
        [plan] = entry.glob("plan-*")
        manifest_path = entry / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
    except (ValueError, OSError):
        return  # someone (a verify loop) moved it meanwhile
    kind = rng.choice(
        [
            "fifo-plan",
            "fifo-manifest",
            "fifo-last_used",
            "deep",
            "bigint",
            "overflow",
            "wrong-types",
            "flip",
            "truncate",
            "manifest-dir",
            "empty-dir",
            "entry-file",
            "entry-fifo",
            "huge",
        ]
    )
    elsewhere = root / "entries" / "hostile" / f"x{n}@"
    try:
        if kind.startswith("fifo-"):
            victim = {"fifo-plan": plan, "fifo-manifest": manifest_path}.get(
                kind, entry / "last_used"
            )
            victim.unlink(missing_ok=True)
            os.mkfifo(victim)
        elif kind == "deep":
            manifest_path.write_bytes(b"[" * 100_000)
        elif kind == "bigint":
            manifest_path.write_bytes(b'{"format_version": ' + b"7" * 5000 + b"}")
        elif kind == "overflow":
            manifest_path.write_text(json.dumps({**manifest, "created": 10**400}))
        elif kind == "wrong-types":
            manifest_path.write_text(
                json.dumps({**manifest, "extras": "abc", "build_seconds": "slow"})
            )
        elif kind == "huge":
            manifest_path.write_text(json.dumps({**manifest, "extras": {"x": "y" * (3 << 20)}}))
        elif kind == "flip":
            data = bytearray(plan.read_bytes())
            data[len(data) // 2] ^= 0x40
            plan.write_bytes(bytes(data))
        elif kind == "truncate":
            plan.write_bytes(plan.read_bytes()[:-1])
        elif kind == "manifest-dir":
            manifest_path.unlink()
            manifest_path.mkdir()
        elif kind == "empty-dir":
            elsewhere.mkdir(parents=True, exist_ok=True)
        elif kind == "entry-file":
            elsewhere.parent.mkdir(parents=True, exist_ok=True)
            elsewhere.write_bytes(b"not a directory")
        elif kind == "entry-fifo":
            elsewhere.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(elsewhere)
    except OSError:
        return  # raced with a verify loop that moved the entry: nothing planted


def _read_logs(logs: Path) -> tuple[dict[str, set[int]], dict[str, set[int]], int, int, int]:
    begun: dict[str, set[int]] = {}
    done: dict[str, set[int]] = {}
    wrong = passes = quarantined_good = 0
    for path in logs.glob("*.log"):
        for line in path.read_text().splitlines():
            word, *rest = line.split(" ", 2)
            if word == "begin":
                begun.setdefault(rest[0], set()).add(int(rest[1]))
            elif word == "done":
                done.setdefault(rest[0], set()).add(int(rest[1]))
            elif word == "WRONG":
                wrong += 1
            elif word == "pass":
                passes += 1
            elif word == "QUARANTINED":
                quarantined_good += 1
    return begun, done, wrong, passes, quarantined_good


def _leftovers(root: Path, cache: object) -> list[str]:
    from trt_netser.cache import EngineCache

    assert isinstance(cache, EngineCache)
    found: list[str] = []
    staging = root / ".staging"
    found += [f"staged {p.name}" for p in staging.iterdir()] if staging.is_dir() else []
    for name in (".staging", ".locks", "quarantine", "entries"):
        if (root / name).is_symlink():
            found.append(f"{name} is a symlink")
    locks = root / ".locks"
    for lock in locks.iterdir() if locks.is_dir() else []:
        if not lock.is_file() or lock.is_symlink():
            found.append(f"lock {lock.name} is not a regular file")
    entries = {e.location: e for e in cache.entries()}
    for dirpath, dirs, files in os.walk(root / "entries"):
        here = Path(dirpath)
        rel = here.relative_to(root / "entries").as_posix()
        if not dirs and not files:
            found.append(f"empty directory {rel}")
        if here.name.endswith("@"):
            info = entries.get(rel)
            if info is None:
                found.append(f"entry without a valid manifest: {rel}")
                continue
            allowed = {"manifest.json", "last_used", f"plan-{info.digest}"}
            found += [f"stray {rel}/{f}" for f in sorted(set(files) - allowed)]
            found += [f"stray dir {rel}/{d}" for d in dirs]
            dirs.clear()
        else:
            found += [f"stray file {rel}/{f}" for f in files]
    return found


def run_chaos(
    root: Path,
    *,
    seed: int,
    seconds: float,
    writers: int = 3,
    gc_loops: int = 1,
    verify_loops: int = 1,
    report: bool = True,
) -> Figures:
    """Run the chaos described in the module docstring for about ``seconds``."""
    from trt_netser.cache import EngineCache

    rng = random.Random(seed)
    figures = Figures()
    work = root.parent / f"{root.name}-chaos"
    logs = work / "logs"
    logs.mkdir(parents=True)
    victims = {name: work / f"victim{name}" for name in (".staging", "quarantine", ".locks")}
    expected = {name: _victim(path, rng) for name, path in victims.items()}
    root.mkdir(parents=True, exist_ok=True)
    for name, path in victims.items():
        (root / name).symlink_to(path, target_is_directory=True)

    def spawn_writer(i: int) -> subprocess.Popen[bytes]:
        return _spawn(
            "writer", str(root), str(i), str(logs / f"w{i}.log"), str(rng.randrange(2**32))
        )

    def spawn_loop(mode: str, i: int) -> subprocess.Popen[bytes]:
        return _spawn("loop", str(root), mode, str(logs / f"{mode}{i}.log"))

    start = time.monotonic()
    next_id = writers
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for i in range(writers):
        procs[f"w{i}"] = spawn_writer(i)
    for i in range(gc_loops):
        procs[f"gc{i}"] = spawn_loop("gc", i)
    for i in range(verify_loops):
        procs[f"verify{i}"] = spawn_loop("verify", i)
    try:
        while time.monotonic() - start < seconds:
            time.sleep(rng.uniform(0.05, 0.3))
            roll = rng.random()
            if roll < 0.4:
                name = rng.choice([n for n in procs if n.startswith("w")])
                _kill(procs.pop(name))
                procs[f"w{next_id}"] = spawn_writer(next_id)
                next_id += 1
                figures.kills += 1
            elif roll < 0.5:
                name = rng.choice([n for n in procs if not n.startswith("w")])
                _kill(procs[name])
                mode = "gc" if name.startswith("gc") else "verify"
                procs[name] = spawn_loop(mode, next_id)
                next_id += 1
                figures.kills += 1
            elif roll < 0.55:
                # .locks is never swapped: a lock file that moves while held cannot exclude
                # anyone (docs/cache.md: lock files are never deleted).
                name = rng.choice([".staging", "quarantine"])
                _swap(root, name, victims[name], work / f"moved-{figures.swaps}")
                figures.swaps += 1
            else:
                _hostile(root, rng, figures.corruptions)
                figures.corruptions += 1
    finally:
        for proc in procs.values():
            _kill(proc)
    figures.seconds = time.monotonic() - start
    begun, done, wrong, passes, quarantined_good = _read_logs(logs)
    figures.trials = sum(len(v) for v in begun.values())
    figures.commits = sum(len(v) for v in done.values())
    figures.races = passes
    figures.wrong = wrong
    figures.lost = quarantined_good

    cache = EngineCache(root)
    cache.verify()
    cache.gc()
    final = cache.verify()
    figures.quarantined = cache.stats().quarantined
    for key in KEYS:
        entry = cache.get(key)
        if entry is None:
            figures.lost += 1 if key in done else 0
            continue
        figures.reads += 1
        seed_of = entry.extras.get("seed")
        if not _right(key, entry.plan, entry.extras) or seed_of not in begun.get(key, set()):
            figures.wrong += 1
    for qdir in (root / "quarantine").iterdir() if (root / "quarantine").is_dir() else []:
        with_reason = qdir / "reason.json"
        if with_reason.is_file() and json.loads(with_reason.read_text())["key"].startswith(
            "chaos/"
        ):
            figures.lost += 1  # a good entry was moved aside
    problems = _leftovers(root, cache)
    if not final.clean:
        problems += [f"second verify quarantined {k}: {r}" for k, r in final.quarantined]
    for name, path in victims.items():
        now = {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
        if now != expected[name] or sorted(p.name for p in path.iterdir()) != ["notes.txt", "sub"]:
            problems.append(f"victim of {name} changed")
    figures.leftovers = len(problems)
    if report:
        print(f"chaos (seed {seed}): {figures.line()}")
        for problem in problems[:20]:
            print(f"  leftover: {problem}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--gc-loops", type=int, default=2)
    parser.add_argument("--verify-loops", type=int, default=1)
    parser.add_argument("--dir", help="work directory (default: a fresh temporary one)")
    args = parser.parse_args()
    import tempfile

    base = Path(args.dir or tempfile.mkdtemp(prefix="trt-chaos-"))
    try:
        figures = run_chaos(
            base / "cache",
            seed=args.seed,
            seconds=args.seconds,
            writers=args.writers,
            gc_loops=args.gc_loops,
            verify_loops=args.verify_loops,
        )
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    sys.exit(0 if figures.lost == figures.wrong == figures.leftovers == 0 else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "writer":
        writer(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "loop":
        loop(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
