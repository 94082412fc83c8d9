"""Every IBuilderConfig / IOptimizationProfile property and method is classified."""

from __future__ import annotations

import copy

import pytest

import trt_netser.offline as trt
from trt_netser.apicoverage import available_dumps, load_dump
from trt_netser.config import config_coverage


def test_all_dumps_are_covered():
    assert available_dumps()[0] == "10.0.1" and available_dumps()[-1] == "11.4.0.106"


@pytest.mark.parametrize("version", available_dumps())
def test_nothing_unclassified(version):
    report = config_coverage(version)
    assert report.unclassified == ()
    names = {(e.owner, e.member) for e in report.entries}
    dump = load_dump(version)
    for owner in ("IBuilderConfig", "IOptimizationProfile"):
        info = dump["classes"][owner]
        for name in [*info["properties"], *info["methods"]]:
            if name != "__init__":
                assert (owner, name) in names


def test_offline_module_is_covered():
    assert config_coverage(trt).unclassified == ()


def test_a_new_method_is_unclassified():
    dump = copy.deepcopy(load_dump("10.16.1.11"))
    dump["classes"]["IBuilderConfig"]["methods"] = [
        *dump["classes"]["IBuilderConfig"]["methods"],
        "set_future_knob",
    ]
    report = config_coverage(dump)
    assert [(e.owner, e.member) for e in report.unclassified] == [
        ("IBuilderConfig", "set_future_knob")
    ]


def test_a_new_property_is_hashed_generically():
    dump = copy.deepcopy(load_dump("10.16.1.11"))
    dump["classes"]["IBuilderConfig"]["properties"]["future_level"] = "rw"
    entry = next(e for e in config_coverage(dump).entries if e.member == "future_level")
    assert entry.status == "encoded"


def test_excluded_entries_have_reasons():
    for version in available_dumps():
        for entry in config_coverage(version).entries:
            if entry.status != "encoded":
                assert len(entry.reason) > 20, entry
