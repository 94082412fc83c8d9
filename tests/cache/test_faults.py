"""The engine cache under faults: one test per way issue 11 found it breaking its promises.

Each test reproduces one failure deterministically (a hostile file, a disk that fills up, an
entry removed or a parent pruned at the worst moment by "another process") and checks the
documented behaviour: nothing outside the root is touched, nothing hangs, nothing raises out
of the read path, failed writes leave nothing, and no good entry is lost.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trt_netser.cache import EngineCache
from trt_netser.cli import main

PLAN = bytes(range(256)) * 200
OTHER = bytes(reversed(range(256))) * 300
REPO = str(Path(__file__).resolve().parents[2])


def _entry(cache: EngineCache, key: str) -> Path:
    path = cache.path_for(key)
    assert isinstance(path, Path)
    return path


def _plan(cache: EngineCache, key: str) -> Path:
    [plan] = _entry(cache, key).glob("plan-*")
    return plan


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def _files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# -- 1. internal directories are never followed through symlinks ----------------------------


def test_symlinked_internal_dirs_are_never_followed(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/a", PLAN)
    victims = {}
    for name in (".staging", "quarantine", ".locks"):
        victim = tmp_path / f"user-{name.strip('.')}"
        victim.mkdir()
        (victim / "thesis.tex").write_bytes(b"years of work")
        (victim / "sub").mkdir()
        (victim / "sub" / "data.bin").write_bytes(b"\x01" * 100)
        old = time.time() - 7 * 86400  # older than stale_after: a stray by its age
        for path in victim.rglob("*"):
            os.utime(path, (old, old))
        real = cache.root / name  # type: ignore[operator]
        if real.exists():
            shutil.rmtree(real)
        real.symlink_to(victim, target_is_directory=True)
        victims[victim] = _snapshot(victim)
    fresh = EngineCache(tmp_path / "c")  # no lock objects cached from before the symlinks
    fresh.put("v1/b", OTHER)
    assert fresh.get("v1/a").plan == PLAN  # type: ignore[union-attr]
    assert fresh.get("v1/b").plan == OTHER  # type: ignore[union-attr]
    fresh.gc(clear_quarantine=True)
    fresh.verify()
    (_entry(fresh, "v1/a") / "manifest.json").write_text("{broken")
    assert fresh.get("v1/a") is None  # quarantined: into the cache's own quarantine
    fresh.gc(clear_quarantine=True)
    for victim, before in victims.items():
        assert _snapshot(victim) == before, victim
        assert _files_under(victim) == ["sub", "sub/data.bin", "thesis.tex"], victim
    for name in (".staging", "quarantine", ".locks"):
        path = fresh.root / name  # type: ignore[operator]
        assert not path.is_symlink(), name
    assert fresh.get("v1/b").plan == OTHER  # type: ignore[union-attr]


def test_symlinked_entries_dir_is_not_swept(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/a", PLAN)
    victim = tmp_path / "elsewhere"
    (victim / "k@").mkdir(parents=True)
    (victim / "k@" / "plan-x").write_bytes(b"precious")  # looks like an orphan plan
    shutil.rmtree(cache.root / "entries")  # type: ignore[operator]
    (cache.root / "entries").symlink_to(victim, target_is_directory=True)  # type: ignore[operator]
    cache.gc()
    cache.verify()
    assert (victim / "k@" / "plan-x").read_bytes() == b"precious"


def test_a_symlink_swapped_in_after_the_check_redirects_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trt_netser.cache._local import LocalBackend

    cache = EngineCache(tmp_path / "c")
    cache.put("v1/a", PLAN)
    victim = tmp_path / "user"
    victim.mkdir()
    (victim / "old.txt").write_bytes(b"keep")
    (victim / "dir").mkdir()
    (victim / "dir" / "f").write_bytes(b"keep too")
    old = time.time() - 7 * 86400
    for path in [*victim.rglob("*"), victim]:
        os.utime(path, (old, old))
    for name in (".staging", "quarantine"):
        real = cache.root / name  # type: ignore[operator]
        shutil.rmtree(real, ignore_errors=True)
        real.symlink_to(victim, target_is_directory=True)
    # The swap happens right after each check: the check passes, the symlink is there.
    monkeypatch.setattr(LocalBackend, "_own_dir", lambda self, path, create=True: True)
    cache.gc(clear_quarantine=True)
    cache.verify()
    assert _files_under(victim) == ["dir", "dir/f", "old.txt"]
    # Nor are writes: staged files, recorded uses, evictions and quarantines.
    assert not cache.put("v1/b", OTHER).stored
    assert cache.get("v1/a").plan == PLAN  # type: ignore[union-attr]
    assert not cache.remove("v1/a")
    (_entry(cache, "v1/a") / "manifest.json").write_text("{")
    assert cache.get("v1/a") is None  # not quarantined into the victim
    assert _files_under(victim) == ["dir", "dir/f", "old.txt"]


# -- 2. gc only removes what is unreferenced at the moment of removal -----------------------


def test_gc_never_deletes_a_plan_committed_during_its_scan(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("a", PLAN)
    cache.put("b", PLAN)
    # A writer of "b" is between moving its new plan in and committing its manifest while
    # gc lists the entry: gc sees the new plan unreferenced.
    new_plan = cache._backend.stage(memoryview(OTHER))  # type: ignore[union-attr]
    os.replace(new_plan.path, _entry(cache, "b") / f"plan-{new_plan.digest}")  # type: ignore[arg-type]
    writer = EngineCache(tmp_path / "c")
    done: list[int] = []

    def progress(index: int, total: int) -> None:
        if index == 1:  # gc has listed everything; the writer commits "b" now
            writer.put("b", OTHER)
        done.append(index)

    cache.gc(progress=progress)  # the CLI passes a progress callback too
    assert done == [1, 2]
    got = cache.get("b")
    assert got is not None and got.plan == OTHER
    assert cache.stats().quarantined == 0


def test_gc_does_not_evict_an_entry_republished_since_its_scan(tmp_path: Path) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("a", PLAN)
    cache.put("b", PLAN)
    past = time.time() - 10 * 86400
    for key in ("a", "b"):
        (_entry(cache, key) / "last_used").write_text(f"{past}\n")
        manifest = json.loads((_entry(cache, key) / "manifest.json").read_text())
        manifest["created"] = manifest["last_used"] = past
        (_entry(cache, key) / "manifest.json").write_text(json.dumps(manifest))
    writer = EngineCache(tmp_path / "c")

    def progress(index: int, total: int) -> None:
        if index == 2:
            writer.put("b", OTHER)  # rebuilt just now: not the old entry gc judged unused

    report = cache.gc(max_age=86400, progress=progress)
    assert report.evicted == ["a"]
    assert cache.get("b").plan == OTHER  # type: ignore[union-attr]


# -- 3. roots: empty or malformed URLs, files, missing directories ---------------------------


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("file://", "no path"),
        ("file://somehost/x", "host"),
        ("file:///tmp/x?y=1", "query"),
        ("s3://", "no path"),
        ("memory://", "no path"),
        ("://x", "not a valid URL"),
        ("1bad://x", "not a valid URL"),
    ],
)
def test_empty_or_malformed_url_is_a_clear_error(
    url: str, fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=fragment):
        EngineCache(url)
    assert list(tmp_path.iterdir()) == []  # nothing written into the current directory


def test_root_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0\n")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        EngineCache(target)
    assert target.read_text() == "root:x:0:0\n"


@pytest.mark.parametrize("command", [["ls"], ["stats"], ["verify"], ["show", "v1/k"], ["gc"]])
def test_cli_read_commands_refuse_a_missing_or_file_root(
    tmp_path: Path, command: list[str]
) -> None:
    runner = CliRunner()
    afile = tmp_path / "passwd"
    afile.write_text("x\n")
    for root, fragment in (
        (afile, "not a directory"),
        (tmp_path / "no" / "x", "no such directory"),
    ):
        result = runner.invoke(main, ["cache", "--cache", str(root), *command])
        assert result.exit_code == 2, (root, result.output)
        assert fragment in result.output and str(root) in result.output
        assert "no entries" not in result.output
    assert not (tmp_path / "no").exists()
    assert (
        runner.invoke(main, ["cache", "--cache", str(tmp_path / "no" / "x"), "path"]).exit_code == 0
    )


# -- 4. FIFOs and other non-regular files never hang a reader ------------------------------


def _bounded(call: Callable[[], Any], fifo: Path, seconds: float = 10.0) -> Any:
    """Run ``call`` in a thread; fail (after unblocking it) if it is still waiting."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    hung = thread.is_alive()
    if hung:  # a writer end lets a blocked open() return, so the thread can finish
        with open(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
        thread.join(5)
    assert not hung, f"{call} blocked on the FIFO {fifo}"
    if errors:
        raise errors[0]
    return result[0]


@pytest.mark.parametrize("victim", ["plan", "manifest.json", "last_used"])
def test_fifo_in_an_entry_never_hangs(tmp_path: Path, victim: str) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/k", PLAN)
    cache.put("v1/good", OTHER)
    cache.get("v1/k")  # writes last_used
    path = _plan(cache, "v1/k") if victim == "plan" else _entry(cache, "v1/k") / victim
    path.unlink()
    os.mkfifo(path)
    infos = _bounded(lambda: [e.key for e in cache.entries()], path)
    _bounded(lambda: cache.info("v1/k"), path)
    if victim == "last_used":
        assert infos == ["v1/good", "v1/k"]
        assert _bounded(lambda: cache.get("v1/k"), path).plan == PLAN
        assert stat.S_ISREG(os.lstat(path).st_mode)  # the hit replaced it with a file
        return
    # contains() reads only the manifest (the plan is not hashed)
    assert _bounded(lambda: cache.contains("v1/k"), path) is (victim == "plan")
    assert _bounded(lambda: cache.get("v1/k", load=False), path) is None  # quarantined
    assert cache.stats().quarantined == 1
    cache.put("v1/k", PLAN)
    (_plan(cache, "v1/k")).unlink()
    os.mkfifo(_entry(cache, "v1/k") / f"plan-{cache.info('v1/k').digest}")  # type: ignore[union-attr]
    report = _bounded(cache.verify, path)
    assert [k for k, _ in report.quarantined] == ["v1/k"]
    assert _bounded(cache.gc, path).evicted == []
    assert cache.get("v1/good").plan == OTHER  # type: ignore[union-attr]


# -- 5. hostile manifests are misses and quarantined, never exceptions ------------------------


def _valid(cache: EngineCache, key: str) -> dict[str, Any]:
    return json.loads((_entry(cache, key) / "manifest.json").read_text())


HOSTILE: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "deep nesting": lambda m: b"[" * 100_000,
    "deep nesting in extras": lambda m: (
        json.dumps(m)[:-1].encode() + b', "extras": {"x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}"
    ),
    "5000-digit integer": lambda m: b'{"format_version": ' + b"9" * 5000 + b"}",
    "created 10**400": lambda m: json.dumps({**m, "created": 10**400}).encode(),
    "plan size 10**30": lambda m: json.dumps({**m, "plan": {**m["plan"], "size": 10**30}}).encode(),
    "NaN": lambda m: json.dumps({**m, "last_used": float("nan")}).encode(),
    "extras a string": lambda m: json.dumps({**m, "extras": "abc"}).encode(),
    "build_seconds a string": lambda m: json.dumps({**m, "build_seconds": "slow"}).encode(),
    "key_components a list": lambda m: json.dumps({**m, "key_components": [1]}).encode(),
    "plan file with a slash": lambda m: json.dumps(
        {**m, "plan": {**m["plan"], "file": "plan-../../x"}}
    ).encode(),
    "key not a string": lambda m: json.dumps({**m, "key": 7}).encode(),
    "2 MiB manifest": lambda m: json.dumps({**m, "extras": {"pad": "x" * (2 << 20)}}).encode(),
    "not UTF-8": lambda m: b"\xff\xfe{}",
}


@pytest.mark.parametrize("make", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_manifest_is_a_miss_and_quarantined(
    tmp_path: Path, make: Callable[[dict[str, Any]], bytes]
) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/k", PLAN, extras={"a": 1})
    cache.put("v1/good", OTHER)
    (_entry(cache, "v1/k") / "manifest.json").write_bytes(make(_valid(cache, "v1/k")))
    assert not cache.contains("v1/k")
    assert [e.key for e in cache.entries()] == ["v1/good"]
    assert cache.info("v1/k") is None
    assert cache.stats().entries == 1
    assert cache.gc().evicted == []
    assert cache.get("v1/k") is None
    assert cache.stats().quarantined == 1
    assert cache.get("v1/good").plan == OTHER  # type: ignore[union-attr]
    assert cache.verify().clean
    # The CLI lists the remaining entry.
    result = CliRunner().invoke(main, ["cache", "--cache", str(cache.root), "ls", "--json"])
    assert result.exit_code == 0, result.output
    assert [e["key"] for e in json.loads(result.output)["entries"]] == ["v1/good"]


@pytest.mark.parametrize("make", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_manifest_is_quarantined_by_verify(
    tmp_path: Path, make: Callable[[dict[str, Any]], bytes]
) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/k", PLAN)
    (_entry(cache, "v1/k") / "manifest.json").write_bytes(make(_valid(cache, "v1/k")))
    report = cache.verify()
    assert [k for k, _ in report.quarantined] == ["v1/k"]


def test_newer_writers_fields_and_free_form_extras_are_kept(cache: EngineCache) -> None:
    extras = {"refit": {"weights": {"digest": "ab" * 32, "layers": [1, 2, {"n": None}]}}}
    cache.put("v1/k", PLAN, extras=extras)
    manifest = _valid(cache, "v1/k")
    manifest["written_by_a_newer_trt_netser"] = {"anything": [1, 2]}
    (_entry(cache, "v1/k") / "manifest.json").write_text(json.dumps(manifest))
    got = cache.get("v1/k")
    assert got is not None and got.extras == extras
    assert cache.info("v1/k").extras == extras  # type: ignore[union-attr]
    manifest["format_version"] = 2  # a newer format: a miss, left alone
    manifest["plan"] = "something else entirely"
    (_entry(cache, "v1/k") / "manifest.json").write_text(json.dumps(manifest))
    assert cache.get("v1/k") is None
    assert (_entry(cache, "v1/k") / "manifest.json").exists()
    assert cache.verify().skipped == [("v1/k", "newer manifest version")]


@pytest.mark.parametrize(
    "make", ["deep nesting", "created 10**400", "extras a string", "2 MiB manifest"]
)
def test_hostile_manifest_on_a_remote_store(
    any_cache: EngineCache, tmp_path: Path, make: str
) -> None:
    any_cache.put("v1/k", PLAN)
    any_cache.put("v1/good", OTHER)
    if any_cache.is_remote:
        fs = any_cache._backend.fs  # type: ignore[union-attr]
        path = any_cache._backend._entry("v1/k") + "/manifest.json"  # type: ignore[union-attr]
        manifest = json.loads(fs.cat_file(path))
        fs.pipe_file(path, HOSTILE[make](manifest))
    else:
        path = _entry(any_cache, "v1/k") / "manifest.json"
        path.write_bytes(HOSTILE[make](json.loads(path.read_text())))
    assert not any_cache.contains("v1/k")
    assert [e.key for e in any_cache.entries()] == ["v1/good"]
    assert any_cache.gc().evicted == []
    assert any_cache.get("v1/k") is None
    assert any_cache.stats().quarantined == 1
    assert any_cache.verify().clean


# -- 6. entries vanishing mid-scan ------------------------------------------------------------


def test_gc_and_verify_survive_entries_removed_mid_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = EngineCache(tmp_path / "c")
    for key in ("v1/a", "v1/b", "v1/c"):
        cache.put(key, PLAN + key.encode())
    other = EngineCache(tmp_path / "c")
    real_scandir = os.scandir
    armed = [False]
    removed: list[str] = []

    def scandir(path: Any = ".") -> Iterator[os.DirEntry[str]]:
        # Another process removes the entry just before this one lists it.
        if armed[0] and str(path).endswith("b@"):
            armed[0] = False
            other.remove("v1/b")
            removed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    armed[0] = True
    report = cache.verify()
    assert sorted(report.ok) == ["v1/a", "v1/c"] and report.clean
    cache.put("v1/b", PLAN)
    armed[0] = True
    gc = cache.gc(0)
    assert len(removed) == 2
    assert sorted(gc.evicted) == ["v1/a", "v1/c"]


# -- 7. a user who may not use the cache still gets an engine --------------------------------

_NO_ACCESS = """
import sys
from trt_netser.cache import EngineCache
cache = EngineCache(sys.argv[1])
entry = cache.get_or_build("v1/k", lambda: b"built-engine")
assert entry.plan == b"built-engine" and entry.stored is False, entry
assert cache.get("v1/k") is None
print("ok")
"""


def test_get_or_build_without_permission_builds_uncached(tmp_path: Path) -> None:
    root = tmp_path / "c"
    EngineCache(root).put("v1/other", PLAN)  # a private cache of another user
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-c", _NO_ACCESS, str(root)]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        caps = "-dac_override,-dac_read_search"
        command = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    root.chmod(0)
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    finally:
        root.chmod(0o700)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout
    assert "Permission denied" in proc.stderr  # warned, on the trt_netser.cache logger
    assert EngineCache(root).get("v1/other").plan == PLAN  # type: ignore[union-attr]


# -- 8, 9. a full disk: failed puts leave nothing, hits leak no temporaries ----------------


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[str]]:
    """``disk_full("manifest-")``: writes to staged files of that kind fail with ENOSPC."""
    real_write = os.write
    failed: list[str] = []
    kinds: list[str] = []

    def write(fd: int, data: Any) -> int:
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if any(f"/.staging/{kind}" in name for kind in kinds):
            failed.append(name)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)

    def arm(kind: str) -> list[str]:
        kinds.append(kind)
        return failed

    return arm


def test_put_that_fails_after_the_plan_leaves_nothing(
    tmp_path: Path, disk_full: Callable[[str], list[str]]
) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/old", PLAN)
    cache.put("v1/replaced", PLAN)

    def files() -> list[str]:  # lock files are kept by design (one per key ever written)
        return [f for f in _files_under(cache.root) if not f.startswith(".locks/")]  # type: ignore[arg-type]

    before = files()
    failed = disk_full("manifest-")
    fresh = cache.put("v1/new", OTHER)
    replaced = cache.put("v1/replaced", OTHER)
    built = cache.get_or_build("v1/built", lambda: OTHER)
    assert failed and not fresh.stored and not replaced.stored and not built.stored
    assert built.plan == OTHER
    assert files() == before
    assert cache.get("v1/replaced").plan == PLAN  # type: ignore[union-attr]
    assert cache.get("v1/old").plan == PLAN  # type: ignore[union-attr]
    assert cache.get("v1/new") is None


def test_hits_on_a_full_disk_leak_no_temporary_files(
    tmp_path: Path, disk_full: Callable[[str], list[str]]
) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/k", PLAN)
    failed = disk_full("used-")
    for _ in range(100):
        assert cache.get("v1/k").plan == PLAN  # type: ignore[union-attr]
    assert len(failed) == 100
    assert list((cache.root / ".staging").iterdir()) == []  # type: ignore[operator]


# -- 10. empty and malformed entry locations ------------------------------------------------


@pytest.mark.parametrize("sweeper", ["verify", "gc"])
def test_empty_entry_dirs_are_removed(tmp_path: Path, sweeper: str) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/k", PLAN)
    empty = cache.root / "entries" / "v1" / "deep" / "empty@"  # type: ignore[operator]
    empty.mkdir(parents=True)
    getattr(cache, sweeper)()
    assert not empty.exists() and not empty.parent.exists()
    digest = cache.info("v1/k").digest  # type: ignore[union-attr]
    assert _files_under(cache.root / "entries") == [  # type: ignore[operator]
        "v1",
        "v1/k@",
        "v1/k@/manifest.json",
        f"v1/k@/plan-{digest}",
    ]


def _manifest_dir(cache: EngineCache, key: str) -> None:
    path = _entry(cache, key) / "manifest.json"
    path.unlink()
    path.mkdir()


def _entry_is_file(cache: EngineCache, key: str) -> None:
    shutil.rmtree(_entry(cache, key))
    _entry(cache, key).write_bytes(b"not a directory")


def _entry_is_fifo(cache: EngineCache, key: str) -> None:
    shutil.rmtree(_entry(cache, key))
    os.mkfifo(_entry(cache, key))


@pytest.mark.parametrize("damage", [_manifest_dir, _entry_is_file, _entry_is_fifo])
def test_malformed_entry_locations_are_quarantined(
    tmp_path: Path, damage: Callable[[EngineCache, str], None]
) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("v1/k", PLAN)
    damage(cache, "v1/k")
    assert cache.get("v1/k") is None
    assert cache.stats().quarantined == 1  # moved aside, not a miss forever
    assert not os.path.lexists(_entry(cache, "v1/k"))
    cache.put("v1/k", OTHER)
    assert cache.get("v1/k").plan == OTHER  # type: ignore[union-attr]
    damage(cache, "v1/k")
    assert [k for k, _ in cache.verify().quarantined] == ["v1/k"]


# -- 11. a put racing gc's pruning of empty parents -----------------------------------------


def test_put_survives_gc_pruning_a_parent_it_just_saw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = EngineCache(tmp_path / "c")
    cache.put("p/q/other", PLAN)
    cache.remove("p/q/other")
    parent = cache.root / "entries" / "p" / "q"  # type: ignore[operator]
    parent.mkdir(parents=True, exist_ok=True)  # left empty, about to be pruned
    real_mkdir = os.mkdir
    pruned: list[str] = []

    def mkdir(path: Any, mode: int = 0o777, **kwargs: Any) -> None:
        if str(path).endswith("k@") and not pruned:
            # A concurrent gc prunes the empty parent after the writer probed it.
            os.rmdir(Path(path).parent)
            pruned.append(str(path))
        real_mkdir(path, mode, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    entry = cache.put("p/q/k", OTHER)
    assert pruned and entry.stored
    assert cache.get("p/q/k").plan == OTHER  # type: ignore[union-attr]


def test_puts_and_gc_loops_in_threads_never_fail_spuriously(tmp_path: Path) -> None:
    """A smoke run of the same race with real threads (the test above forces the window)."""
    cache = EngineCache(tmp_path / "c")
    gcs = EngineCache(tmp_path / "c")
    stop = threading.Event()
    failures: list[str] = []
    passes = [0]

    def gc_loop() -> None:
        while not stop.is_set():
            gcs.gc()
            passes[0] += 1

    thread = threading.Thread(target=gc_loop)
    thread.start()
    try:
        for i in range(60):
            key = f"p{i % 3}/q{i % 5}/k{i}"
            if not cache.put(key, PLAN[: 100 + i]).stored:
                failures.append(key)
            cache.remove(key)  # leaves empty parents for gc to prune
    finally:
        stop.set()
        thread.join()
    assert passes[0] > 0
    assert failures == []


# -- 12. lazy gets on remote stores -----------------------------------------------------------


def test_lazy_get_on_remote_stores_is_usable(any_cache: EngineCache) -> None:
    any_cache.put("v1/k", PLAN)
    entry = any_cache.get("v1/k", load=False)
    assert entry is not None
    assert entry.read() == PLAN
    with entry.open() as stream:
        assert stream.read() == PLAN


# -- stats and logging ------------------------------------------------------------------------


def test_one_miss_counts_once_and_each_event_logs_one_line(
    cache: EngineCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trt_netser.cache")

    def lines(word: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if word in r.getMessage()]

    cache.get_or_build("v1/k", lambda: PLAN)
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.puts) == (0, 1, 1)
    assert len(lines("cache miss for")) == 1 and len(lines("built")) == 1
    assert lines("built")[0].startswith("engine cache built 'v1/k'")
    cache.get_or_build("v1/k", lambda: PLAN)
    cache.get("v1/k")
    stats = cache.stats()
    assert (stats.hits, stats.misses) == (2, 1)
    assert len(lines("cache hit for")) == 2 and len(lines("cache miss for")) == 1
    caplog.clear()
    assert cache.get("v1/none") is None
    assert len(lines("cache miss for")) == 1 and cache.stats().misses == 2
    (_entry(cache, "v1/k") / "manifest.json").write_text("{")
    caplog.clear()
    assert cache.get("v1/k") is None
    assert len(lines("moved to")) == 1 and len(lines("cache miss for")) == 1
    levels = {r.levelno for r in caplog.records if r.name == "trt_netser.cache"}
    assert levels <= {logging.DEBUG, logging.INFO, logging.WARNING}


@pytest.mark.parametrize("replace", [True, False])
def test_put_over_a_manifest_that_is_not_a_file_publishes(tmp_path: Path, replace: bool) -> None:
    cache = EngineCache(tmp_path / "c", strict=True)
    cache.put("v1/k", PLAN)
    _manifest_dir(cache, "v1/k")
    assert cache.put("v1/k", OTHER, replace=replace).stored
    assert cache.get("v1/k").plan == OTHER  # type: ignore[union-attr]


def test_gc_never_evicts_an_entry_committed_after_its_scan(cache: EngineCache) -> None:
    # gc saw a writer's entry directory before its manifest (the writer holds the key's
    # lock); the writer commits before gc gets to evict: the new entry is not evicted
    writer = EngineCache(cache.root, strict=True)
    key = "v1/late/entry"
    directory = Path(str(cache.path_for(key)))
    directory.mkdir(parents=True)
    (directory / ("plan-" + "0" * 64)).write_bytes(b"being written")
    lock = writer.lock(key)
    lock.__enter__()
    held = [lock]

    def commits_meanwhile(done: int, total: int) -> None:
        if held:
            held.pop().__exit__(None, None, None)
            writer.put(key, b"the writer's plan")

    report = cache.gc(max_bytes=0, progress=commits_meanwhile)
    assert key not in report.evicted
    got = writer.get(key)
    assert got is not None and got.plan == b"the writer's plan"
