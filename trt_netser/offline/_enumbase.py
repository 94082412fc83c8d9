"""The pybind11 enum behaviour that TensorRT's bindings expose, in plain Python.

pybind11 enums are not Python ``enum.Enum``: members compare equal only to members of the
same enum type, are not iterable, only some (flag-like) enums order within their type, keep aliases in
``__members__`` (``.name`` is the first-registered name) and accept any integer,
including unknown ones whose ``.name`` is ``"???"``.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

E = TypeVar("E", bound="PybindEnum")


class _Member:
    """Placeholder in a class body: ``FP16 = member(0)`` becomes a real member.

    ``PybindEnum.__init_subclass__`` replaces every placeholder by a member of the class,
    so ``__get__`` never runs; it tells type checkers that ``E.FP16`` is an ``E``.
    """

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def __get__(self, obj: object, owner: type[E]) -> E:
        raise AttributeError("enum member placeholder read before its class was complete")


def member(value: int) -> _Member:
    """Declare an enum member with its integer value (class-body helper)."""
    return _Member(value)


def _as_int(value: object) -> int | None:
    """pybind11's ``SupportsInt`` conversion: ints, numpy integers, ``__index__``; not floats."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float | str | bytes):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]  # TypeError for non-SupportsIndex is the check
    except TypeError:
        return None


class _EnumMeta(type):
    """Metaclass: ``E.__members__`` is a fresh dict on every access, as in pybind11."""

    _members: dict[str, Any]  # set on every enum class by PybindEnum.__init_subclass__

    @property
    def __members__(cls) -> dict[str, Any]:
        return dict(cls._members)


class PybindEnum(metaclass=_EnumMeta):
    """Base of every offline TensorRT enum (see the module docstring for the semantics)."""

    __slots__ = ("_value",)
    _members: ClassVar[dict[str, Any]] = {}
    _names: ClassVar[dict[int, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        members: dict[str, PybindEnum] = {}
        names: dict[int, str] = {}
        for key, val in list(cls.__dict__.items()):
            if isinstance(val, _Member):
                inst = object.__new__(cls)
                inst._value = val.value
                setattr(cls, key, inst)
                members[key] = inst
                names.setdefault(val.value, key)
        cls._members = members
        cls._names = names

    def __init__(self, value: Any) -> None:
        as_int = _as_int(value)
        if as_int is None:
            raise TypeError(
                "__init__(): incompatible constructor arguments. The following argument types "
                f"are supported:\n    1. {type(self).__module__}.{type(self).__qualname__}"
                f"(value: typing.SupportsInt)\n\nInvoked with: {value!r}"
            )
        self._value = as_int

    @property
    def name(self) -> str:
        """First-registered member name for this value, ``"???"`` if there is none."""
        return type(self)._names.get(self._value, "???")

    @property
    def value(self) -> int:
        """The integer value."""
        return self._value

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self._value}>"

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __int__(self) -> int:
        return self._value

    def __index__(self) -> int:
        return self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._value == self._value

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    if TYPE_CHECKING:
        # What ``E.__members__`` and ``member.__members__`` give: a property here (for
        # members) would hide the metaclass's from type checkers on ``E.__members__``.
        __members__: ClassVar[dict[str, Any]]
    else:

        @property
        def __members__(self) -> dict[str, Any]:
            return dict(type(self)._members)

    def __getstate__(self) -> int:
        return self._value

    def __setstate__(self, state: int) -> None:
        self._value = state

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (type(self), (self._value,))


class OrderedPybindEnum(PybindEnum):
    """A pybind11 enum that also orders (within its own type), like BuilderFlag or Severity."""

    __slots__ = ()

    def _cmp_value(self, other: object) -> int:
        if type(other) is not type(self):
            raise TypeError("Expected an enumeration of matching type!")
        return other._value

    def __lt__(self, other: object) -> bool:
        return self._value < self._cmp_value(other)

    def __le__(self, other: object) -> bool:
        return self._value <= self._cmp_value(other)

    def __gt__(self, other: object) -> bool:
        return self._value > self._cmp_value(other)

    def __ge__(self, other: object) -> bool:
        return self._value >= self._cmp_value(other)
