"""pybind11-style argument checking for the offline API.

Every public method declares its overloads as :class:`Sig` objects built from typed
:class:`Conv` converters. Calls with wrong Python types raise ``TypeError`` worded like
pybind11 ("f(): incompatible function arguments. The following argument types are
supported: ..."), so bad input never produces a traceback from deep inside the module.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import numpy as np

MODULE = "trt_netser.offline"
_NO_DEFAULT: Any = object()
#: A one-parameter method's argument when the call passed none (see ``api``).
_ABSENT: Any = object()
F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    _V = TypeVar("_V")

    class Setting(Generic[_V]):
        """A read/write property that a class gets from a table (``setattr`` after the class
        body), as type checkers should see it: declare ``name: Setting[T]`` in the class
        body under ``TYPE_CHECKING``. Exists for type checkers only."""

        def __get__(self, obj: object, owner: type | None = None) -> _V: ...
        def __set__(self, obj: object, value: _V) -> None: ...


class Mismatch(Exception):
    """A value cannot be converted to a parameter's type (try the next overload)."""


class Conv:
    """A parameter type: a display name for signatures and a conversion function, and
    optionally the one type whose values ``fn`` returns unchanged (``exact``: calls with
    such a value skip the conversion)."""

    __slots__ = ("exact", "fn", "tname")

    def __init__(self, tname: str, fn: Callable[[Any], Any], exact: type | None = None) -> None:
        self.tname = tname
        self.fn = fn
        self.exact = exact

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


def _int(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float | str | bytes) or value is None:
        raise Mismatch
    try:
        return operator.index(value)
    except TypeError:
        raise Mismatch from None


def _float(value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, bool | int | float | np.integer | np.floating):
        return float(value)
    if hasattr(value, "__float__") and not isinstance(value, str | bytes):
        return float(value)
    raise Mismatch


def _bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    if value is None:
        return False
    if isinstance(value, bool | int | float | np.bool_ | np.integer | np.floating):
        return bool(value)
    raise Mismatch


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    raise Mismatch


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _ints(value: Any) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise Mismatch
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise Mismatch
    return tuple(_int(v) for v in value)


def _ranged(bits: int, signed: bool) -> Callable[[Any], int]:
    """An int converter that, like pybind11's caster for a C++ integer of ``bits`` bits,
    rejects values the C++ type cannot hold (a negative ``size_t``, a 2**31 ``int32_t``)."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def conv(value: Any) -> int:
        number = _int(value)
        if not low <= number <= high:
            raise Mismatch
        return number

    return conv


INT = Conv("typing.SupportsInt", _int, exact=int)
#: C++ ``int32_t`` / ``int64_t`` / ``uint32_t`` / ``size_t`` parameters (pybind11 shows
#: them all as SupportsInt).
INT32 = Conv("typing.SupportsInt", _ranged(32, signed=True))
INT64 = Conv("typing.SupportsInt", _ranged(64, signed=True))
UINT32 = Conv("typing.SupportsInt", _ranged(32, signed=False))
SIZE_T = Conv("typing.SupportsInt", _ranged(64, signed=False))
FLOAT = Conv("typing.SupportsFloat", _float)
BOOL = Conv("bool", _bool)
STR = Conv("str", _str)
OPT_STR = Conv("str", _opt_str)
INTS = Conv("collections.abc.Sequence[typing.SupportsInt]", _ints)
OBJECT = Conv("object", lambda v: v)


def enum(cls: type) -> Conv:
    """Exactly an instance of the pybind11 enum ``cls`` (no implicit conversion from int)."""

    def conv(value: Any) -> Any:
        if type(value) is not cls:
            raise Mismatch
        return value

    return Conv(f"{MODULE}.{cls.__qualname__}", conv)


def instance(cls: type, *, optional: bool = False, name: str | None = None) -> Conv:
    """An instance of ``cls`` (pybind11 also lets ``None`` through for pointer parameters)."""

    def conv(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if value is None and optional:
            return None
        raise Mismatch

    return Conv(f"{MODULE}.{name or cls.__qualname__}", conv, exact=cls)


def sequence_of(item: Conv) -> Conv:
    """A Python sequence (list/tuple/...) whose items convert with ``item``."""

    def conv(value: Any) -> list[Any]:
        if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
            raise Mismatch
        return [item(v) for v in value]

    return Conv(f"collections.abc.Sequence[{item.tname}]", conv)


class Arg:
    """One parameter of a signature."""

    __slots__ = ("conv", "default", "name")

    def __init__(self, name: str, conv: Conv, default: Any = _NO_DEFAULT) -> None:
        self.name = name
        self.conv = conv
        self.default = default

    def render(self) -> str:
        text = f"{self.name}: {self.conv.tname}"
        if self.default is not _NO_DEFAULT:
            text += f" = {self.default!r}"
        return text


class Sig:
    """One overload: parameters and the return type's display name."""

    __slots__ = ("_names", "_params", "args", "returns")

    def __init__(self, args: list[Arg], returns: str) -> None:
        self.args = args
        self.returns = returns
        self._names = frozenset(a.name for a in args)
        self._params = tuple((a.conv.fn, a.default) for a in args)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Convert call arguments to a name->value dict, or raise :class:`Mismatch`."""
        if len(args) > len(self.args):
            raise Mismatch
        if not self._names.issuperset(kwargs):
            raise Mismatch
        out: dict[str, Any] = {}
        for i, arg in enumerate(self.args):
            if i < len(args):
                if arg.name in kwargs:
                    raise Mismatch
                raw = args[i]
            elif arg.name in kwargs:
                raw = kwargs[arg.name]
            elif arg.default is not _NO_DEFAULT:
                raw = arg.default
            else:
                raise Mismatch
            out[arg.name] = arg.conv(raw)
        return out

    def bind_positional(self, args: tuple[Any, ...]) -> list[Any]:
        """:meth:`bind` without keyword arguments: the converted values in parameter order."""
        params = self._params
        n = len(args)
        if n > len(params):
            raise Mismatch
        out: list[Any] = []
        for i, (conv, default) in enumerate(params):
            if i < n:
                out.append(conv(args[i]))
            elif default is not _NO_DEFAULT:
                out.append(conv(default))
            else:
                raise Mismatch
        return out

    def render(self, owner: str) -> str:
        params = ", ".join([f"self: {MODULE}.{owner}"] + [a.render() for a in self.args])
        return f"({params}) -> {self.returns}"


def incompatible(
    fname: str, lines: list[str], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> TypeError:
    """The pybind11 TypeError for a call that matched no overload."""
    listed = "\n".join(f"    {i}. {line}" for i, line in enumerate(lines, 1))
    invoked = ", ".join(repr(a) for a in args)
    if kwargs:
        invoked += "; kwargs: " + ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return TypeError(
        f"{fname}(): incompatible function arguments. The following argument types are "
        f"supported:\n{listed}\n\nInvoked with: {invoked}"
    )


def _positional_ok(fn: Callable[..., Any], sig: Sig) -> bool:
    """Whether ``fn(self, *values)`` binds like ``fn(self, **dict(zip(names, values)))``."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_posonlyargcount > 1:
        return False
    names: tuple[str, ...] = code.co_varnames[1 : code.co_argcount]
    return names[: len(sig.args)] == tuple(a.name for a in sig.args)


def api(owner: str, *sigs: Sig) -> Callable[[F], F]:
    """Decorate a method whose parameters are checked against ``sigs`` (pybind overloads).

    The implementation receives the converted values as keyword arguments (or
    positionally, when its parameters are the overload's, in the same order).
    Overloads are tried in order; the first one whose arguments convert wins.
    """

    def deco(fn: F) -> F:
        name = fn.__name__

        def fail(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TypeError:
            return incompatible(name, [s.render(owner) for s in sigs], (self, *args), kwargs)

        def call_kw(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            for sig in sigs:
                try:
                    values = sig.bind(args, kwargs)
                except (Mismatch, ValueError):
                    continue
                return fn(self, **values)
            raise fail(self, args, kwargs)

        by_pos = tuple(_positional_ok(fn, sig) for sig in sigs)
        only = sigs[0] if len(sigs) == 1 else None
        if (
            only is not None
            and by_pos[0]
            and len(only.args) in (1, 2)
            and all(a.default is _NO_DEFAULT for a in only.args)
        ):
            # The common case: one overload of one or two required parameters.
            convs = tuple(a.conv.fn for a in only.args)
            if len(convs) == 1:
                (conv0,) = convs
                exact = only.args[0].conv.exact

                @functools.wraps(fn)
                def wrapper(self: Any, value: Any = _ABSENT, /, *args: Any, **kwargs: Any) -> Any:
                    # ``value`` is positional-only, so every call form still reaches the
                    # checks below (a keyword lands in kwargs); the first test alone lets
                    # get_output(0) and the like through without building an args tuple.
                    if type(value) is exact and not args and not kwargs:
                        return fn(self, value)
                    if value is not _ABSENT:
                        args = (value, *args)
                    if kwargs or len(args) != 1:
                        return call_kw(self, args, kwargs)
                    try:
                        value = conv0(value)
                    except (Mismatch, ValueError):
                        pass
                    else:
                        return fn(self, value)
                    raise fail(self, args, kwargs)

            else:
                conv0, conv1 = convs

                @functools.wraps(fn)
                def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                    if kwargs or len(args) != 2:
                        return call_kw(self, args, kwargs)
                    try:
                        value0 = conv0(args[0])
                        value1 = conv1(args[1])
                    except (Mismatch, ValueError):
                        pass
                    else:
                        return fn(self, value0, value1)
                    raise fail(self, args, kwargs)

        else:
            # Per overload: None to pass the values positionally, else the parameter names.
            overloads = tuple(
                (sig, None if pos else tuple(a.name for a in sig.args))
                for sig, pos in zip(sigs, by_pos, strict=True)
            )

            @functools.wraps(fn)
            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                if kwargs:
                    return call_kw(self, args, kwargs)
                for sig, names in overloads:
                    try:
                        values = sig.bind_positional(args)
                    except (Mismatch, ValueError):
                        continue
                    if names is None:
                        return fn(self, *values)
                    return fn(self, **dict(zip(names, values, strict=True)))
                raise fail(self, args, kwargs)

        return cast(F, wrapper)

    return deco


def check_setter(owner: str, conv: Conv, value: Any) -> Any:
    """Convert a value assigned to a property, raising pybind11's setter TypeError."""
    try:
        return conv(value)
    except (Mismatch, ValueError):
        raise incompatible(
            "", [f"(self: {MODULE}.{owner}, arg0: {conv.tname}) -> None"], (value,), {}
        ) from None
