"""Immutable records: `typing.NamedTuple` classes that compare equal only to their own type.

The IR, diagnostics, spans and the target profile were frozen dataclasses. That is a start-up
cost every `osmo2argo validate` and `compile` pays before reading a byte of the spec: importing
`dataclasses` imports `inspect` (and with it `ast`, `dis`, `tokenize`), about 40 ms of CPU, and
each `@dataclass(frozen=True, slots=True)` exec()s generated source for its methods, about
1.5-2 ms a class; with ~45 classes on the validate path that was a third of its CPU time. A
`typing.NamedTuple` class costs about 0.25 ms to create and its instances are created faster.

A NamedTuple is a tuple, though: `Span("a", 1, 2) == ("a", 1, 2)`, and two record types with equal
values would compare (and hash) equal. `typed_equality` restores what the dataclasses did: a
record equals only a record of the same type with equal fields, and the hash covers the type.
Ordering stays a tuple's (dataclasses refused `<`; nothing here sorts records by themselves).
"""

from __future__ import annotations

from typing import Any, TypeVar

R = TypeVar("R", bound=type)


def _eq(self: tuple[Any, ...], other: object) -> Any:
    if type(self) is type(other):
        return tuple.__eq__(self, other)
    if isinstance(other, tuple):  # another record, or a plain tuple: never equal
        return False
    return NotImplemented  # anything else may know how to compare itself to a tuple


def _ne(self: tuple[Any, ...], other: object) -> Any:
    if type(self) is type(other):
        return tuple.__ne__(self, other)
    if isinstance(other, tuple):
        return True
    return NotImplemented


def _hash(self: tuple[Any, ...]) -> int:
    return hash((type(self).__name__, tuple.__hash__(self)))


_METHODS = (("__eq__", _eq), ("__ne__", _ne), ("__hash__", _hash))


def typed_equality(cls: R) -> R:
    """Class decorator for a NamedTuple: equal (and hashed) as its own type, not as a tuple."""
    for name, method in _METHODS:
        setattr(cls, name, method)
    return cls
