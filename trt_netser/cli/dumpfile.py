"""Dump files: a network's records and digests, self-contained and loadable without TensorRT.

A dump is a JSON document, gzip-compressed unless the file name ends in ``.json``
(loading sniffs the content, so either works). Schema version 1::

    {
      "format": "trt-netser.dump",         # identifies the file
      "version": 1,                         # this schema; readers refuse newer versions
      "trt_netser_version": "0.1.0",        # the writer
      "source": "model.py:build",           # the SPEC (or dump) it was made from
      "backend": "offline",                 # tensorrt | offline
      "trt_version": "10.16.1.11",          # the TensorRT API the network was built with
      "key": {                              # the cache key, or {"path": null, ...}
        "path": "v1/trt-10.16.1.11/...",    # str(key), null when no full key was made
        "components": [{"name", "digest", "value", "explanation"}, ...],
        "dict": {...} | null                # key.to_dict()
      },
      "network": {"digest": "<64 hex>", "partial": false, "issues": [], "records": N},
      "enum_names": {"DataType": {"1": "HALF", ...}, ...},   # display only
      "records": [{"kind": "layer", "digest": "<64 hex>", "cbor": "<base64>"}, ...]
    }

``records[i].cbor`` is the exact canonical CBOR of record ``i``; its blake3 is
``records[i].digest`` and the blake3 of all of them concatenated is
``network.digest``. Both are checked on load, so a dump cannot silently disagree with
the key it explains. Enum member names are not part of the encoded bytes (aliases share
values), so ``enum_names`` maps each (enum, value) seen to the name to display.

The writer is deterministic (sorted enum names, gzip mtime 0): one network, one dump.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import blake3

from trt_netser.cli.errors import CliError
from trt_netser.cli.render import progress
from trt_netser.cli.subject import Component, Item, Subject
from trt_netser.encode import decode_record
from trt_netser.errors import DumpFormatError
from trt_netser.records import EnumValue, Record, WeightsValue

FORMAT = "trt-netser.dump"
VERSION = 1
_GZIP_MAGIC = b"\x1f\x8b"


def _version() -> str:
    from trt_netser import __version__

    return __version__


def _collect_enums(value: Any, table: dict[str, dict[str, str]]) -> None:
    if isinstance(value, EnumValue):
        if value.name:
            table.setdefault(value.type, {})[str(value.value)] = value.name
    elif isinstance(value, WeightsValue):
        _collect_enums(value.dtype, table)
    elif isinstance(value, Mapping):
        for v in value.values():
            _collect_enums(v, table)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect_enums(v, table)


def _name_enums(value: Any, table: Mapping[str, Mapping[str, str]]) -> Any:
    """Re-attach display names to the enums of a decoded record."""
    if isinstance(value, EnumValue):
        name = table.get(value.type, {}).get(str(value.value), "")
        return EnumValue(value.type, value.value, name)
    if isinstance(value, WeightsValue):
        return WeightsValue(_name_enums(value.dtype, table), value.count, value.values)
    if isinstance(value, dict):
        return {k: _name_enums(v, table) for k, v in value.items()}
    if isinstance(value, list):
        return [_name_enums(v, table) for v in value]
    return value


def to_document(subject: Subject) -> dict[str, Any]:
    """The dump document (schema above) of a subject."""
    enums: dict[str, dict[str, str]] = {}
    records = []
    items = subject.load_records()
    with progress("encoding dump", len(items)) as advance:
        for item in items:
            _collect_enums(item.record.fields, enums)
            records.append(
                {
                    "kind": item.kind,
                    "digest": item.digest,
                    "cbor": base64.b64encode(item.data).decode("ascii"),
                }
            )
            advance()
    return {
        "format": FORMAT,
        "version": VERSION,
        "trt_netser_version": _version(),
        "source": subject.label,
        "backend": subject.backend,
        "trt_version": subject.trt_version,
        "key": {
            "path": subject.key_path,
            "components": [c.to_dict() for c in subject.components],
            "dict": subject.key_dict,
        },
        "network": {
            "digest": subject.digest,
            "partial": subject.partial,
            "issues": list(subject.issues),
            "records": len(records),
        },
        "enum_names": {
            t: dict(sorted(v.items(), key=lambda kv: int(kv[0]))) for t, v in sorted(enums.items())
        },
        "records": records,
    }


def write_dump(subject: Subject, path: str | os.PathLike[str]) -> int:
    """Write ``subject`` to ``path`` (gzip unless ``*.json``); return the bytes written."""
    target = Path(path)
    text = json.dumps(to_document(subject), indent=None, separators=(",", ":"))
    data = text.encode("utf-8")
    if not target.name.endswith(".json"):
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
        data = buffer.getvalue()
    try:
        if target.parent and not target.parent.exists():
            raise CliError(
                f"cannot write {str(target)!r}: directory {str(target.parent)!r} does not exist"
            )
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as exc:
        raise CliError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    return len(data)


def looks_like_dump(path: Path) -> bool:
    """Cheap sniff: gzip, or JSON mentioning the dump format, at the start of the file."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(256)
    except OSError:
        return False
    return head.startswith(_GZIP_MAGIC) or (
        head.lstrip().startswith(b"{") and FORMAT.encode() in head
    )


def _fail(path: str, why: str) -> DumpFormatError:
    return DumpFormatError(f"{path} is not a valid trt-netser dump: {why}")


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse a dump file, checking only its envelope and version."""
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{where} is a directory, not a dump file") from None
    except OSError as exc:
        raise CliError(f"cannot read {where}: {exc.strerror or exc}") from None
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise _fail(where, f"gzip data is corrupt ({exc})") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(where, f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _fail(where, f"format is {doc.get('format') if isinstance(doc, dict) else None!r}")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(where, f"version is {version!r}")
    if version > VERSION:
        writer = doc.get("trt_netser_version", "a newer trt-netser")
        raise DumpFormatError(
            f"{where} uses dump schema version {version} (written by trt-netser {writer}), "
            f"but this trt-netser {_version()} reads only version {VERSION}: upgrade trt-netser"
        )
    return doc


def _components(doc: Mapping[str, Any], where: str) -> list[Component]:
    key = doc.get("key")
    if not isinstance(key, Mapping) or not isinstance(key.get("components"), list):
        raise _fail(where, "'key.components' is missing")
    out = []
    for c in key["components"]:
        if not isinstance(c, Mapping) or not isinstance(c.get("name"), str):
            raise _fail(where, "a key component has no name")
        out.append(
            Component(
                c["name"], str(c.get("digest", "")), c.get("value"), str(c.get("explanation", ""))
            )
        )
    return out


def load_dump(path: str | os.PathLike[str], *, records: bool = True) -> Subject:
    """Load a dump, verify every record digest and the network digest, and decode records.

    ``records=False`` verifies the digests (every record's bytes and the network
    digest) but defers decoding the records until ``Subject.load_records()``: ``hash``
    and an equal ``diff`` need only the digests.
    """
    where = str(path)
    doc = read_document(path)
    network = doc.get("network")
    entries = doc.get("records")
    enums = doc.get("enum_names") or {}
    if not isinstance(network, Mapping) or not isinstance(network.get("digest"), str):
        raise _fail(where, "'network.digest' is missing")
    if not isinstance(entries, list) or not isinstance(enums, Mapping):
        raise _fail(where, "'records' is missing")
    stream = blake3.blake3()
    raw: list[tuple[bytes, str]] = []
    with progress("verifying dump", len(entries)) as advance:
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise _fail(where, f"record {i} is not an object")
            try:
                data = base64.b64decode(str(entry.get("cbor", "")), validate=True)
            except (binascii.Error, ValueError):
                raise _fail(where, f"record {i} has invalid base64") from None
            digest = blake3.blake3(data).hexdigest()
            if digest != entry.get("digest"):
                raise _fail(where, f"record {i} does not match its digest (the file was altered)")
            stream.update(data)
            raw.append((data, digest))
            advance()
    if stream.hexdigest() != network["digest"]:
        raise _fail(
            where, "the records do not hash to the network digest (records missing or reordered)"
        )

    def decode() -> list[Item]:
        items: list[Item] = []
        with progress("decoding dump", len(raw)) as advance:
            for i, (data, digest) in enumerate(raw):
                try:
                    record = decode_record(data)
                except (DumpFormatError, StopIteration) as exc:
                    raise _fail(where, f"record {i} cannot be decoded ({exc})") from None
                items.append(
                    Item(Record(record.kind, _name_enums(record.fields, enums)), data, digest)
                )
                advance()
        return items

    key = doc["key"] if isinstance(doc.get("key"), Mapping) else {}
    subject = Subject(
        label=where,
        origin="dump",
        backend=str(doc.get("backend", "unknown")),
        trt_version=str(doc.get("trt_version", "unknown")),
        digest=network["digest"],
        items=[],
        components=_components(doc, where),
        key_path=key.get("path") if isinstance(key.get("path"), str) else None,
        key_dict=key.get("dict") if isinstance(key.get("dict"), dict) else None,
        partial=bool(network.get("partial", False)),
        issues=[str(x) for x in network.get("issues") or []],
    )
    if records:
        subject.items = decode()
    else:

        def decode_later() -> list[Item]:
            try:
                return decode()
            except DumpFormatError as exc:
                raise CliError(str(exc)) from None

        subject.loader = decode_later
    return subject
