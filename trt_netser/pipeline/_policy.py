"""How the pipeline makes builds refittable: the refit flags as a policy table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["REFIT_FLAGS", "RefitPolicy", "RefitSetup", "apply_refit_policy"]

#: The mutually exclusive refit flags, in TensorRT's order, and what a hit does with each.
REFIT_FLAGS: Mapping[str, str] = {
    "REFIT": "every weight may change: a hit is refit with the network's weights",
    "REFIT_INDIVIDUAL": "only weights marked with mark_weights_refittable are refit; the "
    "others are pinned (their values are checked against the entry)",
    "REFIT_IDENTICAL": "the engine may only be refit with the weights it was built with: "
    "the key hashes every value, so a hit is refit (or used) with identical weights",
}

#: ``refit=`` option -> what happens to a config that has no refit flag.
RefitPolicy = Literal["add", "keep"]
REFIT_POLICIES: Mapping[str, str] = {
    "add": "set BuilderFlag.REFIT before the key is computed (the default: fine-tunes hit)",
    "keep": "keep the config as given: without a refit flag the key hashes every weight "
    "value, so a hit needs identical weights and is used as is",
}


@dataclass(frozen=True)
class RefitSetup:
    """The refit flag in force after the policy, and whether the pipeline added it."""

    flag: str | None
    added: bool
    strip_plan: bool
    weight_streaming: bool


def _flag(trt: Any, name: str) -> Any:
    return getattr(trt.BuilderFlag, name, None)


def _is_set(trt: Any, config: Any, name: str) -> bool:
    member = _flag(trt, name)
    if member is None:
        return False
    try:
        return bool(config.get_flag(member))
    except Exception:
        return False


def apply_refit_policy(trt: Any, config: Any, policy: RefitPolicy) -> RefitSetup:
    """Read the config's refit flags; with ``policy="add"`` set REFIT when none is set."""
    if policy not in REFIT_POLICIES:
        raise ValueError(f"refit must be one of {', '.join(REFIT_POLICIES)}, not {policy!r}")
    present = [name for name in REFIT_FLAGS if _is_set(trt, config, name)]
    added = False
    if not present and policy == "add":
        config.set_flag(trt.BuilderFlag.REFIT)
        present, added = ["REFIT"], True
    return RefitSetup(
        flag=present[0] if present else None,
        added=added,
        strip_plan=_is_set(trt, config, "STRIP_PLAN"),
        weight_streaming=_is_set(trt, config, "WEIGHT_STREAMING"),
    )
