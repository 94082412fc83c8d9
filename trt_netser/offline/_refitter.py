"""Refitter: replaces the refittable weights of an offline engine.

Weights are addressed by name (``set_weights_name``) or by (layer name, WeightsRole), as in
TensorRT. A Refitter keeps a reference to the Weights it is given and reads them when
``refit_cuda_engine`` runs (TensorRT reads them then too, so the caller may update the
buffer in between). Errors are logged at ERROR through the refitter's logger and the call
returns False. A refit applies weights in the engine's inventory order; when weights
validation fails part-way, the weights applied before stay applied and False is returned,
as TensorRT documents ("a subset of weights may have been refitted").
"""

from __future__ import annotations

import contextlib
import mmap
import operator
from bisect import bisect_right
from itertools import accumulate
from typing import Any

import numpy as np

from trt_netser.offline._engine import ICudaEngine
from trt_netser.offline._enums import DataType, TensorLocation, WeightsRole, _Severity
from trt_netser.offline._inventory import PIN_REASONS, Entry
from trt_netser.offline._logger import ILogger, refuse_max_threads, report
from trt_netser.offline._lower import weights_u8
from trt_netser.offline._pyarg import (
    BOOL,
    FLOAT,
    INT,
    INT32,
    MODULE,
    STR,
    Arg,
    Conv,
    Mismatch,
    Sig,
    api,
    check_setter,
    enum,
    instance,
    sequence_of,
)
from trt_netser.offline._types import _NP_OF, _TRT_OF, Weights, to_weights

_WEIGHTS = Conv(f"{MODULE}.Weights", to_weights)
_FLOAT_TYPES = frozenset({DataType.FLOAT, DataType.HALF, DataType.BF16})


def _bf16_finite(values: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Which BF16 values (their uint16 bits) are finite: NaN and Inf have every exponent
    bit set."""
    np.not_equal(np.bitwise_and(values, 0x7F80), 0x7F80, out=out)
    return out


#: DataType value -> (numpy type the bytes are read as, function marking finite values)
#: for the float types weights validation checks. numpy has no bfloat16: its bits are read.
_VALIDATED: dict[int, tuple[type[np.generic], Any]] = {
    int(t): (_NP_OF[int(t)], np.isfinite) for t in _FLOAT_TYPES if int(t) in _NP_OF
}
_VALIDATED[int(DataType.BF16)] = (np.uint16, _bf16_finite)
_CHUNK = 1 << 20  # values validated per call
_SIZE = operator.attrgetter("size")
_COUNT = operator.attrgetter("_count")
_DTYPE = operator.attrgetter("dtype")
_NBYTES = operator.attrgetter("nbytes")
_NDIM = operator.attrgetter("ndim")
_PROTO_COUNT = operator.attrgetter("count")
_WEIGHTS_DTYPE = operator.attrgetter("_dtype")


#: numpy dtype -> the DataType member (the plan's objects: checks against it are identity tests)
_MEMBER_OF = {np_t: DataType.__members__[t.name] for np_t, t in _TRT_OF.items()}


_new_weights = Weights.__new__


def _array_weights(array: np.ndarray) -> Weights | None:
    """``Weights(array)`` for an array it accepts, else None (the checked call explains).

    The ndarray branch of ``Weights.__init__`` without its generic argument dispatch: a
    refit converts one array per weight (25,000 for a 50k-layer network).
    """
    dtype = _MEMBER_OF.get(array.dtype)
    if dtype is None or not array.flags.c_contiguous:
        return None
    return _flat_weights(array, dtype)


def _flat_weights(array: np.ndarray, dtype: DataType) -> Weights:
    """``Weights`` of a C-contiguous ``array`` whose numpy type is ``dtype``'s."""
    w = _new_weights(Weights)
    w._dtype, w._count = dtype, array.size
    w._array = array.ravel()  # a C-contiguous array's flat view, as reshape(-1) gives
    w._ptr = None if w._count else 0
    return w


def _label(what: str | tuple[str, WeightsRole]) -> str:
    """How an error names weights: their name, or "layer role"."""
    return what if isinstance(what, str) else f"{what[0]} {what[1]}"


def _engine_arg(value: Any) -> ICudaEngine:
    if not isinstance(value, ICudaEngine):
        raise Mismatch
    return value


class Refitter:
    """Updates weights in an :class:`ICudaEngine`."""

    __slots__ = (
        "__weakref__",
        "_by_layer",
        "_by_name",
        "_engine",
        "_entries",
        "_error_recorder",
        "_location",
        "_logger",
        "_max_threads",
        "_pending",
        "_refittable",
        "_refittable_list",
        "_validation",
    )

    @api(
        "Refitter",
        Sig(
            [
                Arg("engine", Conv(f"{MODULE}.ICudaEngine", _engine_arg)),
                Arg("logger", instance(ILogger)),
            ],
            "None",
        ),
    )
    def __init__(self, engine: ICudaEngine, logger: ILogger) -> None:
        self._engine = engine
        self._logger = logger
        self._error_recorder: Any = None
        self._max_threads = 1
        self._validation = True
        self._pending: dict[int, Weights] = {}
        self._location: dict[int, TensorLocation] = {}
        self._refittable = engine._plan.refittable
        entries = engine._plan.inventory if self._refittable else []
        self._entries: list[Entry] = list(entries)
        #: the refittable entries, in inventory order (the order a refit applies them in)
        self._refittable_list = [e for e in self._entries if e.refittable]
        self._by_name: dict[str, list[Entry]] = {}
        self._by_layer: dict[tuple[str, int], list[Entry]] = {}
        by_name, by_layer = self._by_name, self._by_layer
        for e in self._entries:
            if e.name is not None:
                by_name.setdefault(e.name, []).append(e)
            if e.role is not None:
                key = (e.layer, e.role._value)
                found = by_layer.get(key)
                if found is None:
                    by_layer[key] = [e]
                else:
                    found.append(e)
        if not self._refittable:
            self._error(
                "IRefitter::createInferRefitter: Error Code 3: API Usage Error (Parameter check "
                "failed, condition: engine.isRefittable(). The engine was not built with kREFIT, "
                "kREFIT_IDENTICAL, kREFIT_INDIVIDUAL or kSTRIP_PLAN, so it cannot be refit.)"
            )

    def _error(self, msg: str) -> None:
        report(self._logger, _Severity.ERROR, msg)

    def _not_refittable(self, api_name: str) -> bool:
        if self._refittable:
            return False
        self._error(
            f"IRefitter::{api_name}: Error Code 3: API Usage Error (Parameter check failed, "
            "condition: engine.isRefittable(). The engine is not refittable.)"
        )
        return True

    # -- setting weights --------------------------------------------------------------------
    def _check(
        self,
        api_name: str,
        what: str | tuple[str, WeightsRole],
        entries: list[Entry],
        weights: Weights,
    ) -> bool:
        """Refittability, dtype and count of ``weights`` against every addressed use.

        ``what`` names the weights in errors; a (layer, role) pair is formatted only when an
        error is logged (a refit makes one call per weight and most log nothing).
        """
        for pinned in entries:
            if not pinned.refittable:
                why = PIN_REASONS.get(pinned.reason or "", "they were baked into the engine")
                self._error(
                    f"IRefitter::{api_name}: Error Code 3: API Usage Error ({_label(what)}: The weights "
                    f"cannot be refitted. The builder made them part of the engine: {why}.)"
                )
                return False
        weights_table = self._engine._plan.weights
        dtype, count = weights._dtype, weights._count  # the properties, without the calls
        for e in entries:
            proto = weights_table[e.weights]
            if dtype is not proto.dtype and dtype != proto.dtype:
                self._error(
                    f"IRefitter::{api_name}: Error Code 3: API Usage Error (Parameter check failed, "
                    f"condition: weights.type == expectedType. {_label(what)}: the weights have type "
                    f"{weights.dtype}, the engine expects {proto.dtype}.)"
                )
                return False
            if count != proto.count:
                self._error(
                    f"IRefitter::{api_name}: Error Code 3: API Usage Error (Parameter check failed, "
                    f"condition: weights.count == expectedCount. {_label(what)}: the weights have "
                    f"{weights.size} elements, the engine expects {proto.count}.)"
                )
                return False
        return True

    def _set(self, entries: list[Entry], weights: Weights, location: TensorLocation) -> None:
        for e in entries:
            self._pending[e.weights] = weights
            self._location[e.weights] = location

    @api(
        "Refitter",
        Sig([Arg("name", STR), Arg("weights", _WEIGHTS)], "bool"),
        Sig(
            [Arg("name", STR), Arg("weights", _WEIGHTS), Arg("location", enum(TensorLocation))],
            "bool",
        ),
    )
    def set_named_weights(
        self, name: str, weights: Weights, location: TensorLocation = TensorLocation.HOST
    ) -> bool:
        """Set new weights for every use of the weights named ``name``."""
        if self._not_refittable("setNamedWeights"):
            return False
        entries = self._known_name(name, "setNamedWeights")
        if entries is None or not self._check("setNamedWeights", name, entries, weights):
            return False
        self._set(entries, weights, location)
        return True

    def _known_name(self, name: str, api_name: str) -> list[Entry] | None:
        entries = self._by_name.get(name)
        if entries is None:
            self._error(
                f"IRefitter::{api_name}: Error Code 3: API Usage Error (Parameter check failed, "
                f"condition: {name}: the engine has no weights with this name.)"
            )
        return entries

    def set_weights(self, *args: Any, **kwargs: Any) -> bool:
        """Set new weights of a layer, addressed by its name and the weights' role.

        ``set_weights(layer_name: str, role: WeightsRole, weights: Weights) -> bool``; a
        numpy array converts to Weights implicitly. The common positional call skips the
        generic argument matching (a refit of a large model makes one call per weight).
        """
        if not kwargs and len(args) == 3:
            layer_name, role, weights = args
            if type(layer_name) is str and type(role) is WeightsRole:
                if type(weights) is np.ndarray:
                    if self._refittable and self._set_array(layer_name, role, weights):
                        return True
                    converted = _array_weights(weights)
                    if converted is not None:
                        return self._set_weights(layer_name, role, converted)
                elif type(weights) is Weights:
                    return self._set_weights(layer_name, role, weights)
        return _checked_set_weights(self, *args, **kwargs)

    def _set_array(self, layer_name: str, role: WeightsRole, array: np.ndarray) -> bool:
        """Set ``array`` as the weights of the one refittable use it fits, if that is all a
        call does: False (nothing set, nothing logged) sends the call the general way.

        The conversion and checks of ``_array_weights`` and ``_set_weights`` in one frame,
        for the refit of a large model (one call per weight, 25,000 for 50k layers).
        """
        entries = self._by_layer.get((layer_name, role._value))
        if entries is None or len(entries) != 1:
            return False
        e = entries[0]
        proto = self._engine._plan.weights[e.weights]
        dtype = _MEMBER_OF.get(array.dtype)
        count = array.size
        if not (
            e.refittable
            and dtype is proto.dtype
            and count == proto.count
            and array.flags.c_contiguous
        ):
            return False
        self._pending[e.weights] = _flat_weights(array, dtype)
        self._location[e.weights] = TensorLocation.HOST
        return True

    def _set_weights(self, layer_name: str, role: WeightsRole, weights: Weights) -> bool:
        if not self._refittable and self._not_refittable("setWeights"):
            return False
        entries = self._by_layer.get((layer_name, role._value))
        if entries is None:
            self._error(
                "IRefitter::setWeights: Error Code 3: API Usage Error (Parameter check failed, "
                f"condition: {layer_name} {role}: network does not have (or does not use) this "
                "layer or no such role for this layer.)"
            )
            return False
        if len(entries) == 1:  # the common case, checked inline (one call per weight)
            e = entries[0]
            proto = self._engine._plan.weights[e.weights]
            if e.refittable and weights._dtype is proto.dtype and weights._count == proto.count:
                self._pending[e.weights] = weights
                self._location[e.weights] = TensorLocation.HOST
                return True
        if not self._check("setWeights", (layer_name, role), entries, weights):
            return False
        self._set(entries, weights, TensorLocation.HOST)
        return True

    @api("Refitter", Sig([Arg("weights_name", STR)], "bool"))
    def unset_named_weights(self, weights_name: str) -> bool:
        """Forget weights set for ``weights_name`` (False if none were set)."""
        entries = self._by_name.get(weights_name, [])
        was_set = any(e.weights in self._pending for e in entries)
        for e in entries:
            self._pending.pop(e.weights, None)
            self._location.pop(e.weights, None)
        return was_set

    @api("Refitter", Sig([Arg("weights_name", STR)], f"{MODULE}.Weights"))
    def get_named_weights(self, weights_name: str) -> Weights:
        """The weights set for ``weights_name``; empty weights and an ERROR if none were set."""
        for e in self._by_name.get(weights_name, []):
            if e.weights in self._pending:
                return self._pending[e.weights]
        self._error(
            f"IRefitter::getNamedWeights: Error Code 3: API Usage Error (Parameter check failed, "
            f"condition: {weights_name}: weights with this name have not been set.)"
        )
        return Weights()

    @api("Refitter", Sig([Arg("weights_name", STR)], f"{MODULE}.TensorLocation"))
    def get_weights_location(self, weights_name: str) -> TensorLocation:
        """Where the weights set for ``weights_name`` live; HOST and an ERROR if none were set."""
        for e in self._by_name.get(weights_name, []):
            if e.weights in self._location:
                return self._location[e.weights]
        self._error(
            f"IRefitter::getWeightsLocation: Error Code 3: API Usage Error (Parameter check "
            f"failed, condition: {weights_name}: weights with this name have not been set.)"
        )
        return TensorLocation.HOST

    @api("Refitter", Sig([Arg("weights_name", STR)], f"{MODULE}.Weights"))
    def get_weights_prototype(self, weights_name: str) -> Weights:
        """Weights with the dtype and count the engine expects (count -1 for unknown names)."""
        entries = [e for e in self._by_name.get(weights_name, []) if e.refittable]
        if not entries:
            return Weights(DataType.FLOAT, 0, -1)
        proto = self._engine._plan.weights[entries[0].weights]
        return Weights(proto.dtype, 0, proto.count)

    # -- what is refittable and what is missing ------------------------------------------------------
    def _refittable_entries(self) -> list[Entry]:
        return self._refittable_list

    def get_all(self) -> tuple[list[str], list[WeightsRole]]:
        """(layer names, roles) of every refittable weight."""
        pairs = [(e.layer, e.role) for e in self._refittable_entries() if e.role is not None]
        return [layer for layer, _ in pairs], [role for _, role in pairs]

    def get_all_weights(self) -> list[str]:
        """Names of every named refittable weight (each name once, inventory order)."""
        return list(dict.fromkeys(e.name for e in self._refittable_entries() if e.name))

    def _missing(self) -> list[Entry]:
        entries = self._refittable_list
        if len(self._pending) == len(entries):  # every refittable entry's weights are set
            return []
        table = self._engine._plan.weights
        touched = {e.group for e in entries if e.weights in self._pending}
        return [
            e
            for e in entries
            if e.weights not in self._pending
            and (e.group in touched or table[e.weights].data is None)
        ]

    def get_missing(self) -> tuple[list[str], list[WeightsRole]]:
        """(layer names, roles) of weights that must still be set before a refit."""
        pairs = [(e.layer, e.role) for e in self._missing() if e.role is not None]
        return [layer for layer, _ in pairs], [role for _, role in pairs]

    def get_missing_weights(self) -> list[str]:
        """Names of weights that must still be set ("" for unnamed weights)."""
        return list(dict.fromkeys(e.name or "" for e in self._missing()))

    # -- refit ----------------------------------------------------------------------------------------
    def refit_cuda_engine(self) -> bool:
        """Apply the weights set so far; False if weights are missing or fail validation."""
        if self._not_refittable("refitCudaEngine"):
            return False
        missing = self._missing()
        if missing:
            listed = ", ".join(
                f"{e.name or e.layer} ({e.role.name if e.role is not None else '?'})"
                for e in missing[:8]
            )
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            self._error(
                "IRefitter::refitCudaEngine: Error Code 3: API Usage Error (Parameter check "
                f"failed, condition: getMissingWeights() == 0. {len(missing)} weights are missing: "
                f"{listed}{more}.)"
            )
            return False
        table = self._engine._plan.weights
        pending = self._pending
        todo = [
            (e, table[e.weights], w)
            for e in self._refittable_list
            if (w := pending.get(e.weights)) is not None
        ]
        changed = len(todo)
        ws, protos = [t[2] for t in todo], [t[1] for t in todo]
        same = list(map(_COUNT, ws)) == list(map(_PROTO_COUNT, protos)) and all(
            map(operator.is_, map(_WEIGHTS_DTYPE, ws), map(_DTYPE, protos))
        )
        if not same:  # rare (another DataType object, or changed): find the first, exactly
            changed = next(
                (
                    i
                    for i, (_, proto, w) in enumerate(todo)
                    if w._count != proto.count
                    or (w._dtype is not proto.dtype and w._dtype != proto.dtype)
                ),
                len(todo),
            )
        buffer, offsets = _copy_weights([w for _, _, w in todo[:changed]])
        invalid = _first_invalid(todo[:changed], buffer, offsets) if self._validation else None
        view = buffer.data  # a read-only memoryview of the engine's copy
        applied = todo[:changed] if invalid is None else todo[:invalid]
        data = map(view.__getitem__, map(slice, offsets, offsets[1:]))
        for (_, proto, _), d in zip(applied, data, strict=False):
            proto.data = d  # in inventory order, up to the first weights that fail
        if invalid is not None:
            e = todo[invalid][0]
            self._error(
                f"IRefitter::refitCudaEngine: Error Code 3: API Usage Error (weights "
                f"validation failed for {e.name or e.layer} "
                f"({e.role.name if e.role is not None else '?'}): the weights contain NaN "
                "or Inf. The engine may have been partially refit.)"
            )
            return False
        if changed < len(todo):
            e = todo[changed][0]
            self._error(
                f"IRefitter::refitCudaEngine: Error Code 3: API Usage Error ({e.name or e.layer}: "
                "the weights changed type or size after they were set.)"
            )
            return False
        return True

    @api("Refitter", Sig([Arg("stream_handle", INT)], "bool"))
    def refit_cuda_engine_async(self, stream_handle: int) -> bool:
        """Same as :meth:`refit_cuda_engine` (offline work completes before returning)."""
        return self.refit_cuda_engine()

    # -- deprecated dynamic ranges -------------------------------------------------------------------
    @api("Refitter", Sig([Arg("tensor_name", STR), Arg("range", sequence_of(FLOAT))], "bool"))
    def set_dynamic_range(self, tensor_name: str, range: Any) -> bool:
        """[DEPRECATED] Offline engines hold no dynamic ranges: ERROR, False."""
        self._error(
            f"IRefitter::setDynamicRange: Error Code 3: API Usage Error ({tensor_name}: the engine "
            "has no refittable dynamic range for this tensor.)"
        )
        return False

    @api("Refitter", Sig([Arg("tensor_name", STR)], "tuple"))
    def get_dynamic_range(self, tensor_name: str) -> tuple[float, float]:
        """[DEPRECATED] (0.0, 0.0): offline engines hold no dynamic ranges."""
        return (0.0, 0.0)

    def get_tensors_with_dynamic_range(self) -> list[str]:
        """[DEPRECATED] No tensor has a refittable dynamic range offline."""
        return []

    # -- properties -----------------------------------------------------------------------------------
    @property
    def logger(self) -> ILogger:
        """The logger given at construction."""
        return self._logger

    @property
    def error_recorder(self) -> Any:
        """Error recorder (None by default)."""
        return self._error_recorder

    @error_recorder.setter
    def error_recorder(self, value: Any) -> None:
        self._error_recorder = value

    @property
    def max_threads(self) -> int:
        """Maximum threads the refitter may use (default 1)."""
        return self._max_threads

    @max_threads.setter
    def max_threads(self, value: int) -> None:
        threads = check_setter("Refitter", INT32, value)
        if not refuse_max_threads(self._logger, "IRefitter", threads):
            self._max_threads = threads

    @property
    def weights_validation(self) -> bool:
        """Whether new weights are validated (finite values) during refit (default True)."""
        return self._validation

    @weights_validation.setter
    def weights_validation(self, value: bool) -> None:
        self._validation = check_setter("Refitter", BOOL, value)


def _copy_weights(weights: list[Weights]) -> tuple[np.ndarray, list[int]]:
    """The bytes of ``weights``, copied into one read-only buffer, and their offsets in it
    (``len(weights) + 1`` of them: weights ``i`` are ``buffer[offsets[i]:offsets[i + 1]]``).

    One copy of every weight (TensorRT copies refit weights into the engine too), made at
    once: one allocation instead of one per weight, and one buffer to validate.
    """
    arrays: list[Any] = [w._array for w in weights]
    try:  # None has no size
        whole = list(map(_SIZE, arrays)) == list(map(_COUNT, weights))
        same = whole and len(set(map(_DTYPE, arrays))) == 1 and set(map(_NDIM, arrays)) == {1}
    except AttributeError:
        same = False
    if same:
        # The common case: every buffer whole and flat (``count`` values of its DataType's
        # numpy type, or its ``nbytes`` raw bytes), all of one numpy type: concatenated as
        # they are, without a byte view of each.
        offsets = list(accumulate(map(_NBYTES, arrays), initial=0))
        buffer = _zeroed(offsets[-1])
        np.concatenate(arrays, out=buffer.view(arrays[0].dtype))
    else:
        parts = [weights_u8(w) for w in weights]
        offsets = list(accumulate((p.size for p in parts), initial=0))
        buffer = _zeroed(offsets[-1])
        if parts:
            np.concatenate(parts, out=buffer)
    buffer.flags.writeable = False
    return buffer, offsets


def _zeroed(size: int) -> np.ndarray:
    """A new zeroed uint8 buffer of ``size`` bytes, its pages mapped at once where possible.

    Not numpy's allocator: numpy asks for transparent huge pages for large arrays, and the
    kernel's synchronous compaction then cost up to 0.15 s per 64 MiB refit here. Mapping
    the pages in one call (MAP_POPULATE) avoids one page fault per 4 KiB while copying.
    """
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if size and populate:
        with contextlib.suppress(OSError):
            flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate
            return np.frombuffer(mmap.mmap(-1, size, flags=flags), np.uint8)
    return np.frombuffer(bytearray(size), np.uint8)


def _first_invalid(
    todo: list[tuple[Entry, Any, Weights]], buffer: np.ndarray, offsets: list[int]
) -> int | None:
    """Index of the first of ``todo`` whose float values hold NaN or Inf (weights validation).

    ``buffer`` holds exactly the values ``Weights.numpy()`` gives, so each run of
    neighbours of one validated type is checked by one call over their bytes.
    """
    runs: list[list[Any]] = []  # [(numpy type, finite test), first index, end index]
    for i, (_, proto, _) in enumerate(todo):
        check = _VALIDATED.get(proto.dtype._value)
        if check is None:
            continue
        if runs and runs[-1][0] is check and runs[-1][2] == i:
            runs[-1][2] = i + 1
        else:
            runs.append([check, i, i + 1])
    finite = np.empty(_CHUNK, bool)  # reused: no buffer-sized temporary
    for (np_t, is_finite), first, end in runs:
        itemsize = np.dtype(np_t).itemsize
        start = offsets[first]
        count = (offsets[end] - start) // itemsize
        values = np.frombuffer(buffer, dtype=np_t, count=count, offset=start)
        for i in range(0, count, _CHUNK):
            chunk = is_finite(values[i : i + _CHUNK], out=finite[: min(_CHUNK, count - i)])
            if not chunk.all():
                bad = start + (i + int(np.argmin(chunk))) * itemsize  # byte of the first NaN/Inf
                return bisect_right(offsets, bad, first, end) - 1
    return None


def _set_weights_signature(
    self: Refitter, layer_name: str, role: WeightsRole, weights: Weights
) -> bool:
    return self._set_weights(layer_name, role, weights)


_set_weights_signature.__name__ = "set_weights"
_checked_set_weights = api(
    "Refitter",
    Sig(
        [Arg("layer_name", STR), Arg("role", enum(WeightsRole)), Arg("weights", _WEIGHTS)],
        "bool",
    ),
)(_set_weights_signature)

Refitter.__module__ = MODULE
