"""Weights names of a network: ``set_weights_name`` names the current uses of a buffer.

TensorRT 10.16 documents ``INetworkDefinition.set_weights_name`` as: "Associate a name with
all current uses of the given weights. The name must be set after the Weights are used in
the network. [...] The name applies to all Weights with matching type, value pointer, and
count." So a name belongs to the uses (layer, weights attribute) that hold those weights
when it is set, and to the weights' values pointer: a use whose weights are replaced by
another buffer is no longer named (a use given weights at the same pointer, as
TensorRT-LLM's ``np.copyto`` into the registered array, keeps its name), a use added later
is not named, and a name whose uses all hold other weights now is free again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trt_netser.offline._types import Weights, weights_key

if TYPE_CHECKING:
    from trt_netser.offline._layers import LayerImpl

Key = tuple[int, int, int]  # (values pointer, DataType, count)
Use = tuple["LayerImpl", str]  # (layer, weights attribute)


def _held(use: Use) -> Key | None:
    """The key of the weights the use holds now (None if none)."""
    w = use[0].p.get(use[1])
    return weights_key(w) if isinstance(w, Weights) and w.size else None


class WeightNames:
    """The uses of every weights buffer (by values pointer) and the names given to them."""

    __slots__ = ("_by_name", "_named", "_uses")

    def __init__(self) -> None:
        self._uses: dict[int, list[Use]] = {}  # values pointer -> uses (stale ones pruned)
        self._named: dict[Use, tuple[Key, str]] = {}  # use -> (weights key when named, name)
        self._by_name: dict[str, list[Use]] = {}

    def use(self, layer: LayerImpl, attr: str, w: Weights) -> None:
        """``layer``'s attribute ``attr`` now holds ``w``."""
        if w.size:
            self._uses.setdefault(weights_key(w)[0], []).append((layer, attr))

    def current_uses(self, pointer: int) -> list[Use]:
        """The uses that hold weights at ``pointer`` now, in the order they were made."""
        uses = self._uses.get(pointer)
        if not uses:
            return []
        live = list(dict.fromkeys(u for u in uses if (_held(u) or (None,))[0] == pointer))
        if len(live) != len(uses):
            self._uses[pointer] = live
        return live

    def name_of(self, layer: LayerImpl, attr: str, w: Weights) -> str | None:
        """The name of the weights ``w`` held by ``layer``.``attr`` (None if unnamed)."""
        entry = self._named.get((layer, attr))
        if entry is None or not w.size or entry[0] != weights_key(w):
            return None
        return entry[1]

    def _valid(self, use: Use) -> tuple[Key, str] | None:
        entry = self._named.get(use)
        return entry if entry is not None and _held(use) == entry[0] else None

    def names(self, name: str) -> list[Key]:
        """Keys of the weights that ``name`` names now (empty if it names none)."""
        found = []
        for use in self._by_name.get(name, ()):
            entry = self._valid(use)
            if entry is not None and entry[1] == name:
                found.append(entry[0])
        return found

    def all_names(self) -> set[str]:
        """Every name that names weights now."""
        return {name for name in self._by_name if self.names(name)}

    def set(self, uses: list[Use], key: Key, name: str | None) -> None:
        """Name (or, with None, unname) these uses of the weights ``key``."""
        for use in uses:
            old = self._named.pop(use, None)
            if old is not None and use in self._by_name.get(old[1], ()):
                self._by_name[old[1]].remove(use)
            if name is not None:
                self._named[use] = (key, name)
                self._by_name.setdefault(name, []).append(use)
