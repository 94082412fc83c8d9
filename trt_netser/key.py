"""``CacheKey``: named, individually hashed, explainable components.

In the spirit of JAX's compilation cache key, a key is an ordered list of named
components (schema, tensorrt, device, network, config, extras), each hashed on its own
and then hashed one after another into the key's digest, so a miss can be explained
component by component (``key.explain()``, ``key.diff(other)``), like PyTorch Inductor's
``[hash] component: value`` lines.

``str(key)`` is the storage path (see docs/key.md)::

    v<schema>/trt-<version>/<device>/<network digest[:32]>/<build digest[:32]>

where ``<version>`` is the full TensorRT version (``10.16.1.11``) or ``<major>-vc`` for
version-compatible engines, ``<device>`` is ``sm90`` (compute capability 9.0),
``hw-ampere-plus`` for hardware-compatible engines or ``sm-unknown``, and the build digest
covers every other component (schema, tensorrt, device, config, extras), so two keys
with the same path have the same components.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import blake3

from trt_netser.api import hash_network
from trt_netser.config import (
    build_config_record,
    canonical_data,
    describe_builder_config,
    unwrap_config,
)
from trt_netser.encode import encode_record
from trt_netser.policy import WeightsMode, WeightsPolicy
from trt_netser.portability import Environment, environment
from trt_netser.records import EnumValue, Record
from trt_netser.walk import trt_module_of, unwrap_network

#: Version of the key layout (path segments and component set). Bump on any change.
KEY_FORMAT = 1

#: Names of the components, in hashing order.
COMPONENTS: tuple[str, ...] = ("schema", "tensorrt", "device", "network", "config", "extras")

#: Which weight values the network component hashes, by the refit flags of the config.
#: The first rule whose flag is set wins; without any, :data:`NO_REFIT_RULE` applies.
REFIT_RULES: tuple[tuple[str, WeightsMode, str], ...] = (
    (
        "REFIT_IDENTICAL",
        "all",
        "the engine may only be refit with the weights it was built with (other weights "
        "give undefined results), so the weight values are part of its identity",
    ),
    (
        "REFIT_INDIVIDUAL",
        "all",
        "only weights marked refittable may change, the others are baked in; the walker "
        "cannot yet hash 'unmarked values only', so every value is hashed (safe, over-keys)",
    ),
    (
        "REFIT",
        "structure",
        "every weight can be refit: a hit with other weight values is refit, not rebuilt",
    ),
)
#: Rules that hash structure only when the caller verifies pinned weights itself
#: (``cache_key(..., pinned_verified=True)``): flag -> reason.
PINNED_VERIFIED_RULES: Mapping[str, str] = {
    "REFIT_INDIVIDUAL": "only weights marked refittable may change; the caller checks the "
    "values of every other (baked-in) weight against the entry, so values are not hashed",
}
NO_REFIT_RULE: tuple[str, WeightsMode, str] = (
    "",
    "all",
    "not refittable (STRIP_PLAN alone means refit with identical weights): the weights "
    "are baked into the engine, so their values are part of its identity",
)

#: TensorRT-LLM BuildConfig fields that set builder flags (used when no IBuilderConfig).
BUILD_CONFIG_FLAGS: Mapping[str, str] = {
    "use_refit": "REFIT",
    "use_strip_plan": "STRIP_PLAN",
    "weight_streaming": "WEIGHT_STREAMING",
}

#: How the device component widens with ``hardware_compatibility_level``:
#: level name -> (device fields hashed, reason). Unknown levels hash everything.
HARDWARE_COMPATIBILITY: Mapping[str, tuple[tuple[str, ...], str]] = {
    "NONE": (
        ("compute_capability", "gpu_name"),
        "the engine runs on the GPU model it was built for",
    ),
    "SAME_COMPUTE_CAPABILITY": (
        ("compute_capability",),
        "the engine runs on any GPU of the same compute capability",
    ),
    "AMPERE_PLUS": ((), "the engine runs on Ampere (sm80) and every later GPU"),
}

_SEGMENT = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9._+\-]*")


@dataclass(frozen=True)
class KeyComponent:
    """One named part of a key: its digest, a JSON-able value and what it stands for."""

    name: str
    digest: str
    value: Any
    explanation: str

    def summary(self, width: int = 120) -> str:
        """The value on one line, shortened to ``width`` characters."""
        text = _one_line(self.value)
        return text if len(text) <= width else text[: width - 3] + "..."

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "value": self.value,
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class CacheKey:
    """A cache key: ordered components, the storage path and the total digest."""

    components: tuple[KeyComponent, ...]
    path: str

    def __str__(self) -> str:
        return self.path

    @property
    def digest(self) -> str:
        """blake3 over (name, digest) of every component, one after another."""
        hasher = blake3.blake3()
        for c in self.components:
            hasher.update(c.name.encode() + b"\0" + c.digest.encode() + b"\n")
        return hasher.hexdigest()

    def component(self, name: str) -> KeyComponent:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no key component {name!r}; components: {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def explain(self) -> list[str]:
        """One ``[hash] component: value  # explanation`` line per component."""
        return [
            f"[{c.digest[:16]}] {c.name}: {c.summary()}  # {c.explanation}" for c in self.components
        ]

    def diff(self, other: CacheKey) -> tuple[str, ...]:
        """Names of the components whose digests differ (or exist in only one key)."""
        if not isinstance(other, CacheKey):
            raise TypeError(f"can only diff against a CacheKey, not {type(other).__name__}")
        mine = {c.name: c.digest for c in self.components}
        theirs = {c.name: c.digest for c in other.components}
        order = list(self.names) + [n for n in other.names if n not in mine]
        return tuple(n for n in order if mine.get(n) != theirs.get(n))

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-able data, for the cache manifest and the CLI."""
        return {
            "format": KEY_FORMAT,
            "key": self.path,
            "digest": self.digest,
            "components": [c.to_dict() for c in self.components],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CacheKey:
        """Rebuild a key from :meth:`to_dict` output (e.g. a manifest), to diff against."""
        if not isinstance(data, Mapping) or data.get("format") != KEY_FORMAT:
            raise ValueError(f"not a trt-netser key of format {KEY_FORMAT}")
        components = tuple(
            KeyComponent(str(c["name"]), str(c["digest"]), c.get("value"), str(c["explanation"]))
            for c in data["components"]
        )
        return cls(components, str(data["key"]))


# --------------------------------------------------------------------------- helpers


def _jsonable(value: Any) -> Any:
    if isinstance(value, EnumValue):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _one_line(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_one_line(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_one_line(v) for v in value) + "]"
    return str(value)


def _digest(name: str, canonical: Any) -> str:
    record = Record("key_component", {"name": name, "value": canonical})
    return blake3.blake3(encode_record(record)).hexdigest()


def _component(name: str, canonical: Any, explanation: str) -> KeyComponent:
    return KeyComponent(name, _digest(name, canonical), _jsonable(canonical), explanation)


def _segment(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._+\-]", "-", text).lstrip(".") or "unknown"
    if not _SEGMENT.fullmatch(cleaned):  # pragma: no cover - lstrip guarantees it
        raise ValueError(f"cannot make a path segment of {text!r}")
    return cleaned


def _is_build_config(obj: Any) -> bool:
    return callable(getattr(obj, "to_dict", None)) and not callable(getattr(obj, "get_flag", None))


def refit_rule(flag_names: Iterable[str]) -> tuple[str, WeightsMode, str]:
    """The rule of :data:`REFIT_RULES` for a set of BuilderFlag member names."""
    names = set(flag_names)
    for rule in REFIT_RULES:
        if rule[0] in names:
            return rule
    return NO_REFIT_RULE


def _set_flag_names(flags: list[EnumValue], module: Any) -> set[str]:
    """Every BuilderFlag name (aliases included) whose value is among ``flags``."""
    values = {f.value for f in flags}
    builder_flag = getattr(module, "BuilderFlag", None)
    members = getattr(builder_flag, "__members__", {})
    return {name for name, member in members.items() if int(member) in values}


def _weights_mode(
    requested: WeightsMode | WeightsPolicy | None, rule: tuple[str, WeightsMode, str]
) -> WeightsMode | WeightsPolicy:
    if requested is None:
        return rule[1]
    mode = requested.mode if isinstance(requested, WeightsPolicy) else requested
    if mode not in ("structure", "all"):
        raise ValueError(f"weights must be 'structure', 'all' or a WeightsPolicy, not {mode!r}")
    if rule[1] == "all" and mode != "all":
        flag = rule[0] or "no REFIT flag"
        raise ValueError(
            f"weights={mode!r} is unsafe for this config ({flag}): {rule[2]}; "
            "use weights='all' or leave weights unset"
        )
    return requested


# --------------------------------------------------------------------------- the key


def cache_key(
    network: Any,
    config: Any,
    *,
    build_config: Any = None,
    profiles: Iterable[Any] | None = None,
    environment: Environment | None = None,
    extras: Mapping[str, Any] | None = None,
    strict: bool = True,
    weights: WeightsMode | WeightsPolicy | None = None,
    library_identity: bool = False,
    pinned_verified: bool = False,
) -> CacheKey:
    """The cache key of building ``network`` with ``config`` in ``environment``.

    ``network`` is a TensorRT ``INetworkDefinition`` or a TensorRT-LLM ``Network``;
    ``config`` an ``IBuilderConfig`` (or TensorRT-LLM ``BuilderConfig``) or a TensorRT-LLM
    ``BuildConfig`` (also accepted as ``build_config=`` next to an ``IBuilderConfig``).
    ``profiles`` are the config's optimization profiles (TensorRT cannot read them back).
    ``environment`` defaults to this process's (:func:`trt_netser.environment`).
    ``extras`` is any user data (hashed canonically). ``weights`` defaults to what the
    refit flags allow (:data:`REFIT_RULES`); asking for less is a ValueError.
    ``library_identity=True`` also hashes the digests of libnvinfer and plugin libraries.
    ``pinned_verified=True`` is for callers that check the values of every weight the
    engine bakes in against the entry before using it (``trt_netser.build_engine`` does):
    then REFIT_INDIVIDUAL hashes structure only (see :data:`PINNED_VERIFIED_RULES`).
    """
    net = unwrap_network(network)
    module = trt_module_of(net)
    if config is None and build_config is None:
        raise TypeError("config must be an IBuilderConfig or a TensorRT-LLM BuildConfig, not None")
    if config is not None and _is_build_config(config):
        if build_config is not None:
            raise TypeError("config is a BuildConfig: pass the IBuilderConfig as config")
        config, build_config = None, config
    if extras is None:
        extras = {}
    if not isinstance(extras, Mapping):
        raise TypeError(f"extras must be a dict, not {type(extras).__name__}")
    if not all(isinstance(k, str) for k in extras):
        raise TypeError("extras keys must be str")
    if not isinstance(library_identity, bool):
        raise TypeError(f"library_identity must be a bool, not {type(library_identity).__name__}")

    env = environment if environment is not None else _environment_for(module)
    if not isinstance(env, Environment):
        raise TypeError(f"environment must be an Environment, not {type(env).__name__}")
    module_version = str(getattr(module, "__version__", "")).split("+", 1)[0]
    if module_version and env.trt_version != module_version:
        raise ValueError(
            f"environment.trt_version {env.trt_version!r} differs from the TensorRT module "
            f"of the network ({module_version!r}): the config and network are read through "
            "that module's API, so the key would not be the target's"
        )

    # ---- config (read first: its flags decide the other components)
    config_value: dict[str, Any] = {}
    flag_names: set[str] = set()
    hw_level: EnumValue | None = None
    if config is not None:
        config = unwrap_config(config)
        described = describe_builder_config(config, net, profiles=profiles, strict=strict)
        fields = described.record.fields
        flag_names = _set_flag_names(fields.get("flags", []), module)
        level = fields.get("properties", {}).get("hardware_compatibility_level")
        hw_level = level if isinstance(level, EnumValue) else None
        config_value["flags"] = list(fields.get("flags", []))
        config_value["profiles"] = len(fields.get("profiles", []))
        config_value["builder_config"] = {"digest": described.digest, **fields}
        if described.issues:
            config_value["issues"] = list(described.issues)
    elif profiles is not None:
        raise ValueError("profiles= needs an IBuilderConfig (config=)")
    if build_config is not None:
        record = build_config_record(build_config)
        data = record.fields["fields"]
        flag_names |= {flag for field, flag in BUILD_CONFIG_FLAGS.items() if data.get(field)}
        config_value["build_config"] = {
            "digest": blake3.blake3(encode_record(record)).hexdigest(),
            **record.fields,
        }
    if config is None:
        config_value["flags"] = sorted(flag_names)
    rule = refit_rule(flag_names)
    if not isinstance(pinned_verified, bool):
        raise TypeError(f"pinned_verified must be a bool, not {type(pinned_verified).__name__}")
    if pinned_verified and weights is None and rule[0] in PINNED_VERIFIED_RULES:
        rule = (rule[0], "structure", PINNED_VERIFIED_RULES[rule[0]])
    mode = _weights_mode(weights, rule)
    config_value["refit"] = {
        "flag": rule[0] or None,
        "weights": mode.mode if isinstance(mode, WeightsPolicy) else mode,
    }

    # ---- tensorrt
    version_compatible = "VERSION_COMPATIBLE" in flag_names
    exclude_lean = "EXCLUDE_LEAN_RUNTIME" in flag_names
    widened = version_compatible and not exclude_lean
    trt_value: dict[str, Any] = {
        "version": env.trt_major if widened else env.trt_version,
        "version_compatible": widened,
        "cuda_major": env.cuda_major,
        "platform": env.platform,
        "plugins": list(env.plugins),
        "trtllm_version": env.trtllm_version,
    }
    if library_identity:
        trt_value["library"] = env.trt_library
        trt_value["plugin_digests"] = list(env.plugin_digests)
    if widened:
        trt_explanation = (
            f"TensorRT {env.trt_major}.x, CUDA {env.cuda_major}, {env.platform}: "
            "VERSION_COMPATIBLE engines run on later TensorRT of the same major "
            f"(built by {env.trt_version})"
        )
    else:
        trt_explanation = (
            f"TensorRT {env.trt_version}, CUDA {env.cuda_major}, {env.platform}: engines "
            "deserialize only with the exact version"
            + (" (EXCLUDE_LEAN_RUNTIME keeps it exact)" if version_compatible else "")
        )

    # ---- device
    level_name = hw_level.name if hw_level is not None else "NONE"
    if hw_level is not None and hw_level.value == 0:
        level_name = "NONE"
    known = HARDWARE_COMPATIBILITY.get(level_name)
    device_fields: tuple[str, ...]
    if known is None:
        device_fields, reason = ("compute_capability", "gpu_name"), "unknown compatibility level"
    else:
        device_fields, reason = known
    device_value: dict[str, Any] = {
        name: getattr(env, name)
        for name in ("compute_capability", "gpu_name")
        if name in device_fields
    }
    if level_name != "NONE":
        device_value["hardware_compatibility_level"] = hw_level
    if "compute_capability" in device_fields:
        device_segment = env.sm or "sm-unknown"
    else:
        device_segment = "hw-" + level_name.lower().replace("_", "-")
    device_explanation = f"{reason} ({level_name})"

    # ---- network
    digest = hash_network(net, strict=strict, weights=mode)
    network_value = {
        "digest": str(digest),
        "weights": config_value["refit"]["weights"],
        "partial": digest.partial,
    }

    components = (
        _component(
            "schema",
            {"schema": env.schema, "key_format": KEY_FORMAT},
            "trt-netser record schema and key layout",
        ),
        _component("tensorrt", trt_value, trt_explanation),
        _component("device", device_value, device_explanation),
        KeyComponent(
            "network",
            str(digest),
            network_value,
            "canonical network stream, weight values "
            + ("included: " if config_value["refit"]["weights"] == "all" else "excluded: ")
            + rule[2],
        ),
        _component("config", config_value, "IBuilderConfig / BuildConfig, excluded fields dropped"),
        _component("extras", canonical_data(dict(extras), "extras"), "user-supplied extras"),
    )
    build = blake3.blake3()
    for c in components:
        if c.name != "network":
            build.update(c.name.encode() + b"\0" + c.digest.encode() + b"\n")
    trt_segment = f"trt-{env.trt_major}-vc" if widened else f"trt-{env.trt_version}"
    path = "/".join(
        (
            f"v{env.schema}",
            _segment(trt_segment),
            _segment(device_segment),
            str(digest)[:32],
            build.hexdigest()[:32],
        )
    )
    return CacheKey(components, path)


def _environment_for(module: Any) -> Environment:
    return environment(module)


#: What ``value_changes`` reports for a map key present on one side only.
ABSENT = "(absent)"


def value_changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """``(path, old, new)`` for every leaf where two component values differ.

    Descends string-keyed maps (a key on one side only reads :data:`ABSENT` on the other)
    and equal-length lists; anything else is compared whole. Used to say which field of a
    key component changed (``trt-netser diff``, a pipeline miss's explanation).
    """
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[tuple[str, Any, Any]] = []
        for k in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{k}" if path else str(k)
            out += value_changes(old.get(k, ABSENT), new.get(k, ABSENT), sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (x, y) in enumerate(zip(old, new, strict=True)):
            out += value_changes(x, y, f"{path}[{i}]")
        return out
    return [] if old == new else [(path, old, new)]


__all__ = [
    "ABSENT",
    "COMPONENTS",
    "HARDWARE_COMPATIBILITY",
    "KEY_FORMAT",
    "REFIT_RULES",
    "CacheKey",
    "KeyComponent",
    "cache_key",
    "refit_rule",
    "value_changes",
]
