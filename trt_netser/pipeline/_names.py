"""Generated layer names that must not decide the key: the naming policy as a table.

TensorRT-LLM names layers after the Python source line that created them
(``.../attention/constant_L1151/CONSTANT_0``), so an upgrade that only moves lines changes
every such name, hence the digest, although the engine is the same. Where refit goes by
weight names (TensorRT-LLM's named parameters), those line numbers carry no meaning, and
``strip-line-numbers`` removes them from layer and tensor names before the key is
computed and the engine is built (so build and refit see the same names). A name that
would collide with another after stripping is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from trt_netser.walk import unwrap_network

__all__ = ["NAME_POLICIES", "NamePolicy", "apply_name_policy"]

NamePolicy = Literal["keep", "strip-line-numbers"]

#: policy -> (pattern removed from generated names, why)
NAME_POLICIES: Mapping[str, tuple[re.Pattern[str] | None, str]] = {
    "keep": (None, "names are hashed as given (the default outside TensorRT-LLM)"),
    "strip-line-numbers": (
        re.compile(r"_L\d+(?=/|_|$)"),
        "TensorRT-LLM's '_L<line>' suffixes name source lines, not engine structure; "
        "refit goes by weight names, so they are removed",
    ),
}


def _renamed(name: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub("", name)


def apply_name_policy(network: Any, policy: NamePolicy) -> int:
    """Rename the network's layers and inner tensors by ``policy``; return how many."""
    if policy not in NAME_POLICIES:
        raise ValueError(f"names must be one of {', '.join(NAME_POLICIES)}, not {policy!r}")
    pattern = NAME_POLICIES[policy][0]
    if pattern is None:
        return 0
    net: Any = unwrap_network(network)  # a TensorRT network: read through its public API
    layers = [net.get_layer(i) for i in range(int(net.num_layers))]
    io = {net.get_input(i).name for i in range(int(net.num_inputs))}
    io |= {net.get_output(i).name for i in range(int(net.num_outputs))}
    changed = _rename([(layer, str(layer.name)) for layer in layers], pattern, set())
    tensors = []
    seen: set[int] = set()
    for layer in layers:
        for j in range(int(layer.num_outputs)):
            tensor = layer.get_output(j)
            if tensor is None or id(tensor) in seen or tensor.name in io:
                continue
            seen.add(id(tensor))
            tensors.append((tensor, str(tensor.name)))
    return changed + _rename(tensors, pattern, io)


def _rename(items: list[tuple[Any, str]], pattern: re.Pattern[str], reserved: set[str]) -> int:
    """Rename items whose stripped name stays unique among all names (old and new)."""
    wanted = {id(obj): _renamed(name, pattern) for obj, name in items}
    counts: dict[str, int] = {}
    for obj, _name in items:
        final = wanted[id(obj)]
        counts[final] = counts.get(final, 0) + 1
    originals = {name for _obj, name in items}
    changed = 0
    for obj, name in items:
        new = wanted[id(obj)]
        if new == name or counts[new] > 1 or new in reserved or (new in originals):
            continue
        obj.name = new
        changed += 1
    return changed
