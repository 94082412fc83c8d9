"""Golden digests: an accidental change of the stream format fails loudly.

If a change is intended, bump ``trt_netser.records.SCHEMA_VERSION`` and regenerate:

    python -m tests.hashing.test_golden
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trt_netser.offline as trt
from trt_netser import hash_network
from trt_netser.records import SCHEMA_VERSION

from .golden import GOLDEN

GOLDEN_FILE = Path(__file__).with_name("golden.json")


def current() -> dict[str, object]:
    return {
        "schema": SCHEMA_VERSION,
        "trt_api": trt.__version__,
        "digests": {name: hash_network(build(trt)) for name, build in sorted(GOLDEN.items())},
    }


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_digest(name: str) -> None:
    golden = json.loads(GOLDEN_FILE.read_text())
    assert golden["schema"] == SCHEMA_VERSION, (
        "SCHEMA_VERSION changed: regenerate golden.json (python -m tests.hashing.test_golden)"
    )
    assert hash_network(GOLDEN[name](trt)) == golden["digests"][name], (
        f"the digest of the fixed network {name!r} changed: if the stream format changed on "
        "purpose, bump SCHEMA_VERSION and regenerate golden.json; otherwise this is a bug"
    )


if __name__ == "__main__":
    GOLDEN_FILE.write_text(json.dumps(current(), indent=2, sort_keys=True) + "\n")
    print(GOLDEN_FILE.read_text())
